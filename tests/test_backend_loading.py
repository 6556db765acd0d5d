"""Building a tracker backend from the config: the configured one, one clear line for bad
input, and a fallback to MediaPipe (with one warning line) when a backend cannot load."""

from __future__ import annotations

import logging
import shutil
import sys

import numpy as np
import pytest

from driver_monitor.config import parse_config
from driver_monitor.config.perception import PerceptionConfig, TrackerBackend
from driver_monitor.errors import ConfigError, ModelError
from driver_monitor.messages import Frame
from driver_monitor.perception.backends import onnx_models
from driver_monitor.perception.backends.model_tracker import ModelFaceTracker
from driver_monitor.perception.model import VENDORED_MODEL_PATH
from driver_monitor.perception.tracker import MediaPipeFaceTracker, create_tracker


def _config(**values) -> PerceptionConfig:
    return PerceptionConfig.model_validate(values)


def test_the_default_backend_is_litert_and_builds_without_mediapipe():
    tracker = create_tracker(PerceptionConfig())
    try:
        assert isinstance(tracker, ModelFaceTracker) and tracker.backend is TrackerBackend.litert
        assert "mediapipe" not in type(tracker).__module__
    finally:
        tracker.close()


@pytest.mark.parametrize("name,kind", [("mediapipe", MediaPipeFaceTracker), ("onnxruntime", ModelFaceTracker)])
def test_each_backend_name_builds_its_tracker(name, kind):
    tracker = create_tracker(_config(backend=name))
    try:
        assert isinstance(tracker, kind)
    finally:
        tracker.close()


def test_an_unknown_backend_name_is_one_line_naming_the_key():
    with pytest.raises(ConfigError) as err:
        parse_config("perception:\n  backend: tensorflow\n")
    assert err.value.problems == ["perception.backend: Input should be 'mediapipe', 'litert' or 'onnxruntime' (got 'tensorflow')"]


def test_a_missing_bundle_is_one_line_for_every_backend(tmp_path):
    for backend in ("litert", "onnxruntime", "mediapipe"):
        with pytest.raises(ModelError, match=r"^face model .*nope.task: not found"):
            create_tracker(_config(backend=backend, model_path=str(tmp_path / "nope.task")))


def test_a_corrupt_vendored_onnx_file_falls_back_to_mediapipe_with_one_warning(tmp_path, monkeypatch, caplog):
    shutil.copytree(onnx_models.ONNX_DIR, tmp_path / "onnx")
    landmarks = tmp_path / "onnx" / "face_landmarks_detector.onnx"
    landmarks.write_bytes(landmarks.read_bytes()[:1000])  # a truncated copy
    monkeypatch.setattr(onnx_models, "ONNX_DIR", tmp_path / "onnx")
    with caplog.at_level(logging.WARNING):
        tracker = create_tracker(_config(backend="onnxruntime"))
    try:
        assert isinstance(tracker, MediaPipeFaceTracker)
    finally:
        tracker.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith("perception.backend onnxruntime unavailable, using mediapipe: ONNX model ")
    assert "face_landmarks_detector.onnx: corrupt (sha256 " in warnings[0] and "\n" not in warnings[0]


def test_a_missing_runtime_falls_back_to_mediapipe(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)  # import fails as if not installed
    with caplog.at_level(logging.WARNING):
        tracker = create_tracker(PerceptionConfig())
    try:
        assert isinstance(tracker, MediaPipeFaceTracker)
    finally:
        tracker.close()
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warning.startswith("perception.backend litert unavailable, using mediapipe: LiteRT is not importable")


def test_an_execution_provider_this_machine_lacks_falls_back_naming_it(caplog):
    with caplog.at_level(logging.WARNING):
        tracker = create_tracker(_config(backend="onnxruntime", onnx_providers=["NoSuchExecutionProvider"]))
    try:
        assert isinstance(tracker, MediaPipeFaceTracker)
    finally:
        tracker.close()
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert "onnxruntime has no NoSuchExecutionProvider here (available: " in warning


def test_onnx_conversions_exist_only_for_the_vendored_bundle(tmp_path):
    other = tmp_path / "mine.task"
    shutil.copy(VENDORED_MODEL_PATH, other)
    with pytest.raises(ModelError, match=r"mine.task: the onnxruntime backend has ONNX conversions of the vendored bundle only"):
        from driver_monitor.perception.backends.bundle import open_bundle

        onnx_models.load_onnx_models(open_bundle(other))


def test_a_user_bundle_runs_on_litert(tmp_path):
    """A bundle of the user's own (here a copy) is not hash-checked and loads on LiteRT."""
    other = tmp_path / "mine.task"
    shutil.copy(VENDORED_MODEL_PATH, other)
    with create_tracker(_config(model_path=str(other))) as tracker:
        assert isinstance(tracker, ModelFaceTracker)
        assert tracker.track(Frame(0.0, np.zeros((120, 160, 3), np.uint8))) is None  # no face, no error


def _bundle_with(tmp_path, part: str, other: str):
    """A copy of the vendored bundle whose `part` holds the model `other` (a valid tflite of
    other shapes: what a user's bundle of other models would be)."""
    import zipfile

    from driver_monitor.perception.backends.bundle import BUNDLE_PARTS

    with zipfile.ZipFile(VENDORED_MODEL_PATH) as source:
        parts = {name: source.read(name) for name in BUNDLE_PARTS}
    path = tmp_path / "mine.task"
    with zipfile.ZipFile(path, "w") as bundle:
        for name, data in parts.items():
            bundle.writestr(name, parts[other] if name == part else data)
    return path


@pytest.mark.parametrize("part,other,message", [
    ("face_landmarks_detector.tflite", "face_detector.tflite",
     "face_landmarks_detector: not the model expected there (input 1x128x128x3, expected 1x256x256x3; "
     "outputs 1x896x16, 1x896x1, expected 1434 and 1 values)"),
    ("face_blendshapes.tflite", "face_detector.tflite",
     "face_blendshapes: not the model expected there (input 1x128x128x3, expected 1x146x2; "
     "outputs 1x896x16, 1x896x1, expected 52 values)"),
    ("face_detector.tflite", "face_blendshapes.tflite",
     "face_detector: not the model expected there (input 1x146x2, expected 1x128x128x3; "
     "outputs 52, expected 14336 and 896 values)"),
])
def test_a_user_bundle_of_other_models_is_one_line_at_start_up(tmp_path, caplog, part, other, message):
    """Before, LiteRT built such a tracker and raised on every frame with a face (a ValueError
    from the tensor copy) without falling back, and MediaPipe built the first two, its graph
    failing on the first face and staying failed. Now both refuse it when built, naming the
    model: one line at start-up."""
    path = _bundle_with(tmp_path, part, other)
    for backend in ("litert", "mediapipe"):
        caplog.clear()
        with caplog.at_level(logging.WARNING), pytest.raises(ModelError) as err:
            create_tracker(_config(backend=backend, model_path=str(path)))
        assert str(err.value) == f"{path}: {message}"
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert warnings == ([f"perception.backend litert unavailable, using mediapipe: {path}: {message}"]
                            if backend == "litert" else [])


def test_the_daemon_runs_on_mediapipe_when_its_backend_cannot_load(tmp_path, daemons):
    """A live daemon configured for a GPU it does not have: one warning line, then it runs."""
    from camera_clips import write_clip
    from daemon_harness import BASE_CONFIG, DaemonProcess

    camera = write_clip(tmp_path / "camera.avi", "noise", seconds=0.8, fps=25.0, size=(160, 120))
    config = BASE_CONFIG.format(absent_after_s=0.5) + (
        "perception:\n  backend: onnxruntime\n  onnx_providers: [CUDAExecutionProvider]\n"
    )
    d = DaemonProcess(tmp_path, camera, config)
    daemons.append(d)
    ready = d.wait_ready()
    d.wait_status("active: driver_absent", timeout=10.0, after=ready.t)
    text = d.stderr_text()
    warnings = [line for line in text.splitlines() if "perception.backend onnxruntime unavailable, using mediapipe" in line]
    assert len(warnings) == 1 and "onnxruntime has no CUDAExecutionProvider here" in warnings[0]
    rc, _ = d.stop()
    assert rc == 0 and "Traceback" not in d.stderr_text()
