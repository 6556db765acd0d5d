"""The annotated video, checked frame by frame against its input: same number of frames,
each at its input frame's time (ms exact, irregular timing kept), with the overlay drawn.
Real video through MediaPipe (recordings/selfie_writing, and a jittered-time copy of part
of it)."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from driver_monitor.cli import main
from driver_monitor.config import load_config
from driver_monitor.outputs.event_log import read_event_log
from driver_monitor.recording.format import open_recording
from driver_monitor.recording.writer import RecordingWriter
from driver_monitor.report.commands import annotate_video
from driver_monitor.report.drive_report import ReportRequest, write_report
from driver_monitor.sources.video_file import read_frames

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
SELFIE = REPO / "recordings" / "selfie_writing"


@pytest.fixture(scope="module")
def jittered(tmp_path_factory) -> Path:
    """40 frames of the selfie clip at irregular times (25 fps with +-9 ms of jitter and one
    dropped frame): the annotated copy must keep these times, not a nominal frame rate."""
    frames = read_frames(open_recording(SELFIE).video_path)[40:80]
    rng = np.random.default_rng(3)
    times = np.round(np.arange(40) * 0.04 + rng.uniform(-0.009, 0.009, 40), 3)
    times[0] = 0.0
    times[20:] += 0.04  # a frame missing from the camera
    root = tmp_path_factory.mktemp("jitter") / "rec"
    writer = RecordingWriter(root, frames[0].image.shape[1], frames[0].image.shape[0])
    for t, f in zip(times, frames, strict=True):
        writer.add_frame(float(t), f.image)
    writer.close()
    return root


def _times(path: Path) -> list[float]:
    return [f.t for f in read_frames(path)]


@pytest.fixture(scope="module")
def selfie(tmp_path_factory) -> tuple[Path, Path]:
    """recordings/selfie_writing replayed with --annotate: (output directory, annotated video)."""
    out = tmp_path_factory.mktemp("selfie") / "out"
    video = out / "annotated.mp4"
    assert main(["replay", str(SELFIE), "--out", str(out), "--no-progress", "--annotate", str(video)]) == 0
    return out, video


def test_every_frame_keeps_its_time_in_the_annotated_video(selfie):
    _, video = selfie
    rec = open_recording(SELFIE)
    inputs = read_frames(rec.video_path, timestamps_s=rec.timestamps_s)
    outputs = read_frames(video)
    assert len(outputs) == len(inputs) == 225
    assert max(abs(a.t - b.t) for a, b in zip(inputs, outputs, strict=True)) < 0.0005
    # The overlay is there: the text panel darkens the top-left corner, the eyes get contours.
    diff = np.abs(outputs[60].image.astype(int) - inputs[60].image.astype(int))
    assert diff[:40, :120].mean() > 30
    assert diff[40:, :].mean() < 12  # the rest of the picture is the input (lossy codec aside)
    assert (diff[40:, :].max(axis=2) > 120).sum() > 200  # contours, axes, gaze ray


def test_face_pictures_only_when_asked(selfie, tmp_path):
    out, _ = selfie
    plain = write_report(ReportRequest(out, tmp_path / "plain.html"))
    assert "data:image/jpeg" not in plain.path.read_text()
    with_video = write_report(ReportRequest(out, tmp_path / "video.html", video=SELFIE))
    text = with_video.path.read_text()
    events = [e for e in read_event_log(out / "events.jsonl")
              if e["kind"] == "event" and e.get("phase") in ("start", None) and e["name"] != "blink"]
    assert [e["name"] for e in events] == ["phone_use"]
    pictures = re.findall(r'<img alt="([a-z_]+) at ([0-9.]+) s" src="data:image/jpeg;base64,([^"]+)"', text)
    assert [(name, float(t)) for name, t, _ in pictures] == [("phone_use", round(events[0]["t"], 2))]
    jpeg = cv2.imdecode(np.frombuffer(base64.b64decode(pictures[0][2]), np.uint8), cv2.IMREAD_COLOR)
    assert jpeg.shape[0] == 96 and 60 <= jpeg.shape[1] <= 130  # a face crop, not the 640x360 frame


def test_irregular_times_and_the_replay_options(jittered, tmp_path, capsys):
    out_dir = tmp_path / "out"
    video = tmp_path / "a.mkv"
    assert main(["replay", str(jittered), "--out", str(out_dir), "--no-progress", "--report", "--annotate", str(video)]) == 0
    printed = capsys.readouterr().out
    assert f"annotated     {video} (40 frames)" in printed and f"report        {out_dir / 'report.html'}" in printed
    expected = open_recording(jittered).timestamps_s
    got = _times(video)
    assert len(got) == len(expected) == 40
    assert max(abs(a - b) for a, b in zip(got, expected, strict=True)) < 0.0005
    assert (out_dir / "report.html").stat().st_size > 100_000
    # `annotate` decides what `replay --annotate` decided: same frames, same pictures.
    again = tmp_path / "b.mkv"
    assert main(["annotate", str(jittered), "-o", str(again)]) == 0
    a, b = read_frames(video), read_frames(again)
    assert [f.t for f in a] == [f.t for f in b]
    assert max(np.abs(x.image.astype(int) - y.image.astype(int)).mean() for x, y in zip(a, b, strict=True)) < 1.0


def test_bad_annotate_requests_get_one_line(jittered, tmp_path, capsys):
    cases = [
        (["annotate", str(jittered), "-o", str(tmp_path / "a.gif")], f"error: {tmp_path / 'a.gif'}: the annotated video must be .mp4, .mkv or .mov"),
        (["annotate", str(tmp_path / "none.mp4"), "-o", str(tmp_path / "a.mp4")], f"error: {tmp_path / 'none.mp4'}: no such file"),
    ]
    for argv, expected in cases:
        assert main(argv) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [expected]
    assert not (tmp_path / "a.mp4").exists()


def test_annotating_never_drives_the_vehicle_outputs(jittered, tmp_path):
    """With CAN on in the config, a replay sends DMS frames on the bus; annotating the same
    input with the same config sends none (annotating is not driving)."""
    import can

    from driver_monitor.replay import replay

    config = load_config(None)
    config = config.model_copy(update={"can": config.can.model_copy(update={"enabled": True, "interface": "virtual",
                                                                            "channel": "dm-annotate-test"})})
    with can.Bus(interface="virtual", channel="dm-annotate-test", receive_own_messages=False) as bus:
        replay(jittered, config, tmp_path / "replayed", progress=False)
        sent = [m for m in iter(lambda: bus.recv(timeout=0.2), None)]
        assert len(sent) >= 10  # the control: DMS_Status at 10 Hz over 1.6 s, heartbeats
        frames, _ = annotate_video(jittered, tmp_path / "c.mp4", config)
        assert frames == 40
        assert bus.recv(timeout=0.5) is None
