"""`extract`: the tracker once per drive (issue 15). Tables keyed by the drive's content and the
extraction (feature code, face model, pre-feature settings), the same tables whatever runs
them, done drives skipped, an interrupted run resumed, bad input in one line."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from driver_monitor.cli import main
from driver_monitor.config import load_config, parse_config
from driver_monitor.errors import InputError
from driver_monitor.fleet.extract import content_sha256, extraction_key, find_drives
from driver_monitor.fleet.feature_replay import replay_features

pytestmark = pytest.mark.slow


def table_rows(path: Path) -> str:
    return repr(pq.read_table(path).to_pylist())  # NaN == NaN in the comparison


def test_each_drive_gets_a_directory_keyed_by_content_and_extraction(fleet_drives, fleet_features, tmp_path):
    config = load_config()
    key = extraction_key(config)
    dirs = sorted(p.name for p in fleet_features.iterdir())
    expected = sorted(f"{name}-{content_sha256(d)[:12]}-{key[:8]}"
                      for name, d in ((n, find_drives([p])[0]) for n, p in fleet_drives.items()))
    assert dirs == expected
    for name, rec in fleet_drives.items():
        (drive_dir,) = [p for p in fleet_features.iterdir() if p.name.startswith(name + "-")]
        assert sorted(p.name for p in drive_dir.iterdir()) == ["events.jsonl", "features.parquet", "labels.jsonl", "run.yaml"]
        assert (drive_dir / "labels.jsonl").read_text() == (rec / "labels.jsonl").read_text()
        run = yaml.safe_load((drive_dir / "run.yaml").read_text())
        assert run["extraction"] == {"content_sha256": content_sha256(find_drives([rec])[0]), "key": key}
        # The table decides what the extraction's replay decided.
        replay_features(drive_dir, config, tmp_path / name, progress=False)
        assert (tmp_path / name / "events.jsonl").read_text() == (drive_dir / "events.jsonl").read_text()


def test_the_key_follows_the_settings_before_the_features_only():
    config = load_config()
    later = parse_config("distraction:\n  long_distraction:\n    threshold_s: 4.0\n")
    earlier = parse_config("camera:\n  dark_lens_s: 3.0\n")
    assert extraction_key(later) == extraction_key(config) != extraction_key(earlier)
    # How replay schedules the tracker changes no feature; which tracker runs does.
    scheduling = parse_config("perception:\n  staged_replay: false\n  landmark_threads: 1\n")
    backend = parse_config("perception:\n  backend: mediapipe\n")
    assert extraction_key(scheduling) == extraction_key(config) != extraction_key(backend)


def test_done_drives_are_skipped_and_an_interrupted_run_resumes(fleet_drives, fleet_features, tmp_path, capsys):
    out = tmp_path / "features"
    shutil.copytree(fleet_features, out)
    mixed = next(p for p in out.iterdir() if p.name.startswith("fleet_mixed-"))
    before = table_rows(mixed / "features.parquet")
    # A run killed while the mixed drive was written: its half-written directory, and no table.
    shutil.move(mixed, out / f".partial-{mixed.name}-0badf00d")
    args = ["extract", *map(str, fleet_drives.values()), "--out", str(out), "--no-progress"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "done      1 (" in text and "skipped   1 (extracted before)" in text
    assert "removed   1 unfinished drive(s) of an interrupted run" in text
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in fleet_features.iterdir())
    assert table_rows(mixed / "features.parquet") == before
    assert main(args) == 0
    assert "done      0 (" in capsys.readouterr().out


def test_a_relabelled_drive_is_skipped_but_its_labels_copy_follows(fleet_drives, fleet_features, tmp_path, capsys):
    """eval and sweep read the copy beside the table: it kept the labels of the first run."""
    drives = tmp_path / "drives"
    shutil.copytree(fleet_drives["visual_time_sharing"], drives / "visual_time_sharing")
    out = tmp_path / "features"
    shutil.copytree(fleet_features, out)
    labels = drives / "visual_time_sharing" / "labels.jsonl"
    lines = labels.read_text().splitlines()
    labels.write_text("\n".join(lines[:1]) + "\n")
    args = ["extract", str(drives / "visual_time_sharing"), "--out", str(out), "--no-progress"]
    assert main(args) == 0
    assert "skipped   1 (extracted before)" in capsys.readouterr().out
    (done,) = [p for p in out.iterdir() if p.name.startswith("visual_time_sharing-")]
    assert (done / "labels.jsonl").read_text() == labels.read_text() and len(lines) > 1
    labels.unlink()
    assert main(args) == 0
    assert not (done / "labels.jsonl").exists()


def test_two_processes_extract_the_same_tables(fleet_drives, fleet_features, tmp_path, capsys):
    out = tmp_path / "features"
    assert main(["extract", *map(str, fleet_drives.values()), "--out", str(out), "--jobs", "2", "--no-progress"]) == 0
    assert "(2 local processes)" in capsys.readouterr().out
    for drive_dir in fleet_features.iterdir():
        assert table_rows(out / drive_dir.name / "features.parquet") == table_rows(drive_dir / "features.parquet")
        assert (out / drive_dir.name / "events.jsonl").read_text() == (drive_dir / "events.jsonl").read_text()


def test_a_corrupt_drive_fails_in_one_line_and_the_others_are_done(tmp_path, capsys):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x01garbage" * 100)
    clip = Path(__file__).resolve().parents[1] / "data" / "clips" / "head-pose-face-detection-male.gif"
    (tmp_path / "c.yaml").write_text("video:\n  gif_fps: 12.5\n")
    assert main(["extract", str(broken), str(clip), "--out", str(tmp_path / "out"), "-c", str(tmp_path / "c.yaml"),
                 "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert "done      1 (62 frames" in out and "failed    1" in out
    (error,) = [line for line in out.splitlines() if line.startswith("  error:")]
    assert error.startswith(f"  error: {broken}: ")
    assert [p.name for p in (tmp_path / "out").iterdir()][0].startswith("head-pose-face-detection-male-")


def test_a_drive_cut_short_is_not_kept_and_the_line_says_so(real_dir, tmp_path, capsys):
    """A video that ends in the middle of a frame: replay keeps what came before; extract keeps
    nothing (its half-made directory is removed), and the line must not send the user there."""
    cut = tmp_path / "cut.mp4"
    cut.write_bytes((real_dir / "desk_talking.mp4").read_bytes()[:200_000])
    assert main(["extract", str(cut), "--out", str(tmp_path / "out"), "--no-progress"]) == 1
    (error,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  error:")]
    assert error.startswith(f"  error: {cut}: ") and error.endswith(
        "(nothing kept: a drive is kept only when it is read to its end)"), error
    assert ".partial" not in error and list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("make, expected", [
    (lambda d: d / "nothing.txt", r"nothing\.txt: not a recording directory, a video file"),
    (lambda d: (d / "empty").mkdir() or d / "empty", r"empty: no recording directories or video files in it"),
])
def test_an_input_that_is_no_drive_is_one_line(tmp_path, make, expected):
    path = make(tmp_path)
    if path.suffix == ".txt":
        path.write_text("# nothing listed\n")
        expected = r"nothing\.txt: the list names no drive"
    with pytest.raises(InputError, match=expected):
        find_drives([path])


def test_two_drives_of_one_name_are_one_line(tmp_path):
    for side in ("a", "b"):
        (tmp_path / side / "drive").mkdir(parents=True)
        (tmp_path / side / "drive" / "video.mp4").write_bytes(b"")
    with pytest.raises(InputError) as refused:
        find_drives([tmp_path / "a" / "drive", tmp_path / "b"])
    assert str(refused.value) == (f"two drives are named 'drive' ({tmp_path / 'a' / 'drive'}, {tmp_path / 'b' / 'drive'}): "
                                  "give each drive its own name")


def test_drive_directories_are_named_for_humans_and_machines(fleet_features):
    for p in fleet_features.iterdir():
        assert re.fullmatch(r"(fleet_mixed|visual_time_sharing)-[0-9a-f]{12}-[0-9a-f]{8}", p.name)


def test_a_backend_that_falls_back_is_keyed_as_the_tracker_that_ran(fleet_drives, tmp_path, monkeypatch, caplog):
    """litert configured but not loadable here: the features are MediaPipe's, so the
    directory carries MediaPipe's key and run.yaml says mediapipe (a machine where litert
    loads must not reuse them as litert's)."""
    import driver_monitor.perception.backends.factory as factory
    from driver_monitor.errors import ModelError
    from driver_monitor.fleet.extract import ExtractionWorker

    def broken(config):
        raise ModelError("face_landmarks_detector.tflite: cannot be read")

    monkeypatch.setattr(factory, "create_model_tracker", broken)
    config = load_config()
    assert config.perception.backend.value == "litert"
    worker = ExtractionWorker(config, tmp_path, one_core=True)
    mediapipe_key = extraction_key(parse_config("perception:\n  backend: mediapipe\n"))
    assert worker.key == mediapipe_key != extraction_key(config)
    assert "perception.backend litert unavailable, using mediapipe" in caplog.text
    result = worker.run(find_drives([fleet_drives["visual_time_sharing"]])[0])
    assert result.status == "done" and result.directory.name.endswith(mediapipe_key[:8])
    run = yaml.safe_load((result.directory / "run.yaml").read_text())
    assert run["config"]["settings"]["perception"]["backend"] == "mediapipe"


def test_an_interrupted_pool_ends_its_workers_at_once():
    """SIGTERM reaches the command's process alone (cli.py takes it as Ctrl-C), where Ctrl-C
    reaches the workers too: the pool used to wait for each worker to finish the item it was
    on (a whole drive's extraction) before the interruption got out. Here each item is 60 s."""
    import signal
    import time

    from driver_monitor.fleet.executor import Engine

    def interrupt(_signum, _frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    start = time.monotonic()
    try:
        signal.setitimer(signal.ITIMER_REAL, 3.0)  # the workers (spawned) are busy by then
        with pytest.raises(KeyboardInterrupt):
            list(Engine(jobs=2).run_tasks(time.sleep, [60.0, 60.0]))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - start < 15.0
