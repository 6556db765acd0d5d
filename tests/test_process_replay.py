"""Process replay (openpilot's idea, issue 16): recordings/process_replay is a drive recorded by
`driver-monitor record` (a synthetic driver with a microsleep as the camera, a car on a CAN bus
whose speed gates open and close, a serial heart-rate sensor). Replaying it must keep giving the
reference decisions, event for event, time for time. A change that alters them on purpose
updates the reference with it: `python scripts/process_replay.py --update` (and says so in the
commit); a change that alters them by accident fails here."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from driver_monitor.config import load_config
from driver_monitor.outputs.event_log import read_event_log
from driver_monitor.recording.format import open_recording
from driver_monitor.replay import replay

FIXTURE = Path(__file__).resolve().parents[1] / "recordings" / "process_replay"

pytestmark = pytest.mark.slow


def test_the_recorded_drive_replays_to_the_reference_decisions(tmp_path: Path) -> None:
    rec = open_recording(FIXTURE)
    meta = yaml.safe_load((FIXTURE / "meta.yaml").read_text())
    # A `record` output: complete, its CAN log on the recording's clock, the sensor's lines.
    assert rec.complete and meta["can_start_time_s"] == 0.0 and rec.can_log_path is not None
    assert rec.heart_rate_log_path is not None and meta["frames"] == len(rec.timestamps_s or [])
    summary = replay(FIXTURE, load_config(FIXTURE / "config.yaml"), tmp_path, progress=False)
    assert summary.error is None and "0 frames used" not in " ".join(summary.outputs)
    replayed = read_event_log(tmp_path / "events.jsonl")
    reference = read_event_log(FIXTURE / "reference_events.jsonl")
    assert replayed == reference, "decisions changed: python scripts/process_replay.py shows how"
    # What the reference holds (so that an empty or trivial reference cannot pass).
    names = {(e["kind"], e["name"], e.get("phase")) for e in reference}
    assert {("event", "microsleep", "start"), ("action", "chime", "start"), ("state", "monitoring_active", None)} <= names
