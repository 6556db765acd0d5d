"""driver_absent at exact times, whatever the frame rate (openpilot test_monitoring style)."""

import pytest

from driver_monitor.config.presence import PresenceConfig
from driver_monitor.detectors.base import DetectorInput
from driver_monitor.detectors.calibration import Calibration
from driver_monitor.detectors.presence import PresenceDetector
from driver_monitor.messages import Features, VehicleState

CONFIG = PresenceConfig(absent_after_s=2.0, present_after_s=0.5)


def run(face_at, duration_s, fps, config=CONFIG):
    detector = PresenceDetector(config)
    events = []
    n = int(round(duration_s * fps))
    for i in range(n + 1):
        t = i / fps
        f = Features(t=t, face_present=face_at(t))
        events += detector.update(DetectorInput(f, VehicleState(t=t), Calibration()))
    return events, detector


@pytest.mark.parametrize("fps", [15, 30, 60])
def test_absent_starts_after_two_seconds_and_ends_after_half_a_second(fps):
    # Face gone from 1.0 s to 5.0 s.
    events, _ = run(lambda t: not (1.0 - 1e-9 <= t < 5.0 - 1e-9), 8.0, fps)
    assert [(e.name, e.phase) for e in events] == [("driver_absent", "start"), ("driver_absent", "end")]
    start, end = events
    period = 1 / fps
    assert start.t == pytest.approx(3.0, abs=period + 1e-9)
    assert start.detail["onset_t"] == pytest.approx(1.0, abs=period + 1e-9)
    assert end.t == pytest.approx(5.5, abs=period + 1e-9)
    assert end.detail["onset_t"] == pytest.approx(5.0, abs=period + 1e-9)


def test_a_short_loss_is_not_an_absence():
    events, detector = run(lambda t: not (1.0 <= t < 2.9), 5.0, 30)
    assert events == []
    assert detector.columns() == {"driver_absent": False}


def test_flicker_back_shorter_than_present_after_does_not_end_absence():
    # Gone 0-4 s, one 0.2 s glimpse at 4.0-4.2 s, gone again until 6 s.
    def face(t):
        return 4.0 <= t < 4.2 or t >= 6.0

    events, _ = run(face, 8.0, 30)
    assert [(e.phase, round(e.t, 2)) for e in events] == [("start", 2.0), ("end", 6.5)]


def test_open_absence_is_closed_at_end_of_input():
    events, detector = run(lambda t: t < 1.0, 5.0, 30)
    assert [e.phase for e in events] == ["start"]
    closing = detector.finish(5.0)
    assert [(e.phase, e.t, e.detail) for e in closing] == [("end", 5.0, {"truncated": True})]
