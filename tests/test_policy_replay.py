"""The policy end to end on real video: `driver-monitor replay` of a real recording
(attentive driver, then the face gone) through MediaPipe, the detectors, the policy and the
event log. With monitoring active from the first frame (no CAN log: unknown speed counts
as moving), the attentive part gives no action, and the driver_absent ladder acts at the
exact times its config says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from driver_monitor.cli import main
from driver_monitor.outputs.event_log import read_event_log
from driver_monitor.recording.format import open_recording
from driver_monitor.recording.writer import RecordingWriter
from driver_monitor.sources.video_file import read_frames

REPO = Path(__file__).resolve().parents[1]
DT_S = 0.08  # the recording's frame period (12.5 fps GIF source)
EMPTY_FRAMES = 90  # 7.2 s without a face


@pytest.fixture(scope="module")
def replayed(tmp_path_factory) -> tuple[float, list[dict]]:
    root = tmp_path_factory.mktemp("policy_replay")
    src = open_recording(REPO / "recordings" / "male_frontal")
    frames = read_frames(src.video_path, timestamps_s=src.timestamps_s)
    rec = root / "rec"
    writer = RecordingWriter(rec, 480, 270)
    for frame in frames:
        writer.add_frame(frame.t, frame.image)
    gone_t = round(frames[-1].t + DT_S, 3)
    # An empty seat: a live picture without a face. (Black frames would be a dark, frozen
    # lens: a camera fault, which hides no driver; pipeline camera health.)
    rng = np.random.default_rng(7)
    for k in range(EMPTY_FRAMES):
        writer.add_frame(round(gone_t + k * DT_S, 3), rng.integers(40, 200, (270, 480, 3), dtype=np.uint8))
    writer.close()
    config = root / "policy.yaml"
    config.write_text("policy:\n  monitoring: {activation_s: 0}\n")
    code = main(["replay", str(rec), "--config", str(config), "--out", str(root / "out"), "--no-progress"])
    assert code == 0
    return gone_t, read_event_log(root / "out" / "events.jsonl")


def test_attentive_driver_gets_no_action(replayed):
    gone_t, events = replayed
    assert [e for e in events if e["kind"] == "action" and e["t"] < gone_t] == []
    assert {"t": 0.0, "kind": "state", "name": "monitoring_active", "detail": {"active": True}} in events


def test_driver_absent_ladder_acts_at_the_configured_times(replayed):
    gone_t, events = replayed
    absent = next(e for e in events if e["name"] == "driver_absent" and e.get("phase") == "start")
    # presence.absent_after_s = 2.0 after the first frame without a face (frame-aligned)
    assert absent["t"] == pytest.approx(gone_t + 2.0, abs=1e-3)
    starts = [(e["t"], e["name"], e["detail"]["condition"], e["detail"]["stage"])
              for e in events if e["kind"] == "action" and e.get("phase") == "start"]
    t0 = absent["t"]
    # stage 0 at once (visual_icon, chime); stage 1 at +4 s (voice_prompt, haptic_seat)
    assert starts == [
        (t0, "chime", "driver_absent", 0),
        (t0, "visual_icon", "driver_absent", 0),
        (pytest.approx(t0 + 4.0, abs=1e-3), "haptic_seat", "driver_absent", 1),
        (pytest.approx(t0 + 4.0, abs=1e-3), "voice_prompt", "driver_absent", 1),
    ]
    ended = {e["name"] for e in events if e["kind"] == "action" and e.get("phase") == "end"}
    assert ended == {"chime", "visual_icon", "haptic_seat", "voice_prompt"}  # closed at the end of input
