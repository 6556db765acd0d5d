"""Video files as a frame source: container times, GIF rate, sidecar times, bad input."""

import numpy as np
import pytest

from driver_monitor.cli import main
from driver_monitor.errors import InputError
from driver_monitor.recording.format import open_recording
from driver_monitor.recording.writer import RecordingWriter
from driver_monitor.sources.video_file import VideoFileSource, read_frames


def test_mp4_times_come_from_the_container(clips_dir):
    frames = read_frames(clips_dir / "selfie_segmentation_web.mp4")
    assert len(frames) == 225
    assert frames[0].t == 0.0
    assert frames[1].t == pytest.approx(0.04)
    assert frames[-1].t == pytest.approx(224 * 0.04)
    assert frames[0].image.shape == (360, 640, 3) and frames[0].image.dtype == np.uint8


def test_gif_is_read_at_the_configured_rate(clips_dir):
    frames = read_frames(clips_dir / "iris_tracking_example.gif", gif_fps=16.7)
    assert len(frames) == 69
    assert [f.t for f in frames[:3]] == pytest.approx([0.0, 1 / 16.7, 2 / 16.7])
    assert frames[0].image.shape[2] == 3  # RGB, even though the GIF decodes as BGRA


def _write_recording(root, times, size=(64, 48)):
    writer = RecordingWriter(root, *size)
    rng = np.random.default_rng(0)
    for t in times:
        writer.add_frame(t, rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    writer.close({"source": "test"})
    return root


def test_recording_keeps_irregular_times_exact_to_the_ms(tmp_path):
    times = [0.0, 0.033, 0.067, 0.101, 0.2, 0.201, 0.5]
    root = _write_recording(tmp_path / "rec", times)
    rec = open_recording(root)
    assert rec.timestamps_s == times
    # Both the sidecar and the MKV container carry the same millisecond times.
    assert [f.t for f in read_frames(rec.video_path)] == pytest.approx(times, abs=1e-9)
    assert [f.t for f in read_frames(rec.video_path, timestamps_s=rec.timestamps_s)] == times
    assert rec.meta["format"] == "driver-monitor-recording"


def test_times_strictly_increase_even_if_the_container_repeats_them(tmp_path):
    root = _write_recording(tmp_path / "rec", [0.0, 0.04, 0.08])
    source = VideoFileSource(root / "video.mkv", timestamps_s=[0.0, 0.0, 0.0005])
    times = [f.t for f in source]
    assert times == pytest.approx([0.0, 0.001, 0.002])
    assert source.retimed_frames == 2


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"nope.mp4: no such file$"):
        VideoFileSource(tmp_path / "nope.mp4")


def test_non_video_file(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("not a video\n" * 100)
    with pytest.raises(InputError, match=r"notes.mp4: not a readable video \(Invalid data"):
        VideoFileSource(path)


def test_unreadable_path(tmp_path):
    with pytest.raises(InputError, match="is a directory"):
        VideoFileSource(tmp_path)


def test_truncated_mkv_is_reported_not_silently_shortened(tmp_path):
    root = _write_recording(tmp_path / "rec", [i * 0.04 for i in range(100)], size=(160, 120))
    data = (root / "video.mkv").read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) // 2])
    source = VideoFileSource(cut)
    got = []
    with pytest.raises(InputError, match=r"cut.mkv: truncated video: frames end at"):
        for frame in source:
            got.append(frame)
    assert 10 < len(got) < 100  # the frames before the cut were delivered


def _cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_replay_of_a_truncated_recording_flushes_what_it_processed(tmp_path, capsys):
    rec = tmp_path / "rec"
    src = open_recording(_repo_recordings() / "male_frontal")
    writer = RecordingWriter(rec, 480, 270)
    for frame in read_frames(src.video_path, timestamps_s=src.timestamps_s):
        writer.add_frame(frame.t, frame.image)
    writer.close()
    data = (rec / "video.mkv").read_bytes()
    (rec / "video.mkv").write_bytes(data[: len(data) * 2 // 3])
    code, out, err = _cli(capsys, "replay", str(rec), "--out", str(tmp_path / "out"), "--no-progress")
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert lines[0].startswith(f"error: {rec / 'video.mkv'}: truncated video:")
    assert "frames before it were written" in lines[0]
    rows = (tmp_path / "out" / "features.csv").read_text().splitlines()
    assert 10 < len(rows) - 1 < 62  # a header plus the frames decoded before the cut
    assert (tmp_path / "out" / "events.jsonl").exists()


def test_replay_of_a_non_video_is_one_line(tmp_path, capsys):
    path = tmp_path / "movie.avi"
    path.write_bytes(b"\x00\x01garbage" * 1000)
    code, out, err = _cli(capsys, "replay", str(path), "--out", str(tmp_path / "out"))
    assert code == 1
    assert err.strip() == f"error: {path}: not a readable video (Invalid data found when processing input)"


def test_replay_of_a_missing_input_is_one_line(tmp_path, capsys):
    code, _, err = _cli(capsys, "replay", str(tmp_path / "gone.mp4"), "--out", str(tmp_path / "out"))
    assert code == 1
    assert err.strip() == f"error: {tmp_path / 'gone.mp4'}: no such file"


def test_recording_directory_without_video(tmp_path, capsys):
    (tmp_path / "rec").mkdir()
    code, _, err = _cli(capsys, "replay", str(tmp_path / "rec"), "--out", str(tmp_path / "out"))
    assert code == 1
    assert err.startswith(f"error: {tmp_path / 'rec'}: no video file")


def test_bad_timestamp_sidecar_names_file_and_line(tmp_path, capsys):
    root = _write_recording(tmp_path / "rec", [0.0, 0.04, 0.08])
    (root / "timestamps.csv").write_text("frame,t_s\n0,0.0\n1,0.04\n2,0.03\n")
    code, _, err = _cli(capsys, "replay", str(root), "--out", str(tmp_path / "out"))
    assert code == 1
    assert err.strip() == f"error: {root / 'timestamps.csv'}:4: times must strictly increase (0.03 after 0.04)"


def _repo_recordings():
    from pathlib import Path

    return Path(__file__).resolve().parents[1] / "recordings"
