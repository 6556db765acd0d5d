"""The vendored face model: present, sha256-checked, and a clear line when it is not right."""

import hashlib
import shutil

import pytest

from driver_monitor.cli import main
from driver_monitor.errors import ModelError
from driver_monitor.perception.model import (
    FACE_LANDMARKER_SHA256,
    VENDORED_MODEL_PATH,
    resolve_model_path,
)


def test_vendored_model_matches_its_hash_and_has_its_licence():
    assert hashlib.sha256(VENDORED_MODEL_PATH.read_bytes()).hexdigest() == FACE_LANDMARKER_SHA256
    assert resolve_model_path() == VENDORED_MODEL_PATH
    licence = VENDORED_MODEL_PATH.parent / "LICENSE-Apache-2.0"
    assert "Apache License" in licence.read_text()


def test_missing_model_is_one_line(tmp_path):
    with pytest.raises(ModelError, match=r"face model .*nope.task: not found"):
        resolve_model_path(tmp_path / "nope.task")


def test_corrupt_model_fails_the_hash(tmp_path):
    bad = tmp_path / "face_landmarker.task"
    data = bytearray(VENDORED_MODEL_PATH.read_bytes())
    data[1000] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"corrupt \(sha256"):
        resolve_model_path(bad, expected_sha256=FACE_LANDMARKER_SHA256)


def test_user_model_that_mediapipe_cannot_load_is_one_line(tmp_path, capsys):
    bad = tmp_path / "broken.task"
    bad.write_bytes(VENDORED_MODEL_PATH.read_bytes()[:5000])
    config = tmp_path / "c.yaml"
    config.write_text(f"perception:\n  model_path: {bad}\n")
    clip = tmp_path / "clip.mkv"
    shutil.copy(VENDORED_MODEL_PATH.parents[3] / "recordings" / "male_frontal" / "video.mkv", clip)
    code = main(["replay", str(clip), "--config", str(config), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1
    assert err[0] == f"error: face model {bad}: corrupt (not a readable .task zip bundle)"
