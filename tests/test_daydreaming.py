"""Daydreaming detector (docs/emotion.md): gaze concentrated on the road centre, its spread
narrowed and no mirror or cluster check, against the driver's own baseline at that speed
(Victor, Harbluk & Engstrom 2005). Synthetic upstream streams at 10 fps, exact times."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from driver_monitor.config.daydreaming import DaydreamingConfig
from driver_monitor.detectors.base import DetectorInput
from driver_monitor.detectors.calibration import Calibration
from driver_monitor.detectors.emotion.daydreaming import DaydreamingDetector
from driver_monitor.messages import Event, Features, Scalar, VehicleState

FPS = 10
CAL = Calibration()
# no_check_s beyond the 30 s window makes the check clock the last cue to hold, so the
# times below follow from the script alone.
CONFIG = DaydreamingConfig(no_check_s=35.0)


def scanning(t: float) -> tuple[float, float, str]:
    """Attentive: the gaze wanders +-5 deg over the road scene, a 1 s left-mirror check every
    10 s (10.0-11.0, 20.0-21.0, ... 90.0-91.0), and one more at 150.0; a fixed stare on the
    road centre between 91 and 150."""
    i = round(t * FPS)
    if (100 <= i < 910 and i % 100 < 10) or 1500 <= i < 1510:
        return 45.0, 5.0, "left_mirror"
    if i >= 910:
        return 0.0, 0.0, "road"
    return 5.0 * math.sin(2 * math.pi * t / 4.0), 0.0, "road"


def drive(until_s: float, gaze: Callable[[float], tuple[float, float, str]] = scanning,
          speed: Callable[[float], float | None] = lambda t: 100.0,
          calibrating: Callable[[float], bool] = lambda t: False,
          blink_rate: Callable[[float], float] = lambda t: 15.0,
          config: DaydreamingConfig = CONFIG) -> tuple[list[Event], dict[float, dict[str, Scalar]]]:
    det = DaydreamingDetector(config)
    events: list[Event] = []
    cols: dict[float, dict[str, Scalar]] = {}
    for i in range(round(until_s * FPS) + 1):
        t = i / FPS
        yaw, pitch, zone = gaze(t)
        up = {"gaze_yaw_deg_abs": yaw, "gaze_pitch_deg_abs": pitch, "gaze_zone": zone,
              "calibrating": calibrating(t), "blink_rate_per_min": blink_rate(t)}
        events += det.update(DetectorInput(Features(t=t, face_present=True), VehicleState(t=t, speed_kph=speed(t)), CAL,
                                           upstream=up))
        cols[t] = det.columns()
    events += det.finish(until_s)
    return events, cols


def test_a_stare_without_checks_is_daydreaming_at_exact_times() -> None:
    events, cols = drive(160.0)
    assert cols[59.0]["daydreaming_abstain"] == "no_baseline" and cols[61.0]["daydreaming_abstain"] == "none"
    # The first 60 s of gaze: checks at 10-11, ... 50-51 and the frame at 60.0 off centre.
    assert cols[61.0]["daydreaming_baseline_prc"] == 0.915
    assert [cols[t]["daydreaming_level"] for t in (61.0, 89.0, 125.8)] == [0, 0, 0]
    # The last check's run ends at 90.9; 35 s later the window (95.9-125.9) is all stare.
    assert cols[125.9]["daydreaming_level"] == 2  # + a fixation of 34.9 s (>= long_fixation_s 5)
    assert cols[125.9]["daydreaming_prc"] == 1.0 and cols[125.9]["daydreaming_gaze_sd_deg"] == 0.0
    start, end = [e for e in events if e.name == "daydreaming"]
    assert (start.t, start.phase, start.detail["onset_t"], start.detail["level"]) == (130.9, "start", 125.9, 2)
    assert start.detail["baseline_prc"] == 0.915
    # The mirror check at 150.0 counts once held 0.2 s (mirror_glance_min_s): gone at 150.2,
    # ended 5 s (end_after_s) later.
    # (The glance itself ends the long fixation at once: level 1 until then.)
    assert [cols[t]["daydreaming_level"] for t in (149.9, 150.0, 150.1, 150.2)] == [2, 1, 1, 0]
    assert (end.t, end.phase, end.detail["onset_t"], end.detail["duration_s"]) == (155.2, "end", 150.2, pytest.approx(24.3))


def test_a_changed_blink_rate_adds_a_level() -> None:
    _, cols = drive(130.0, blink_rate=lambda t: 25.0 if t >= 100 else 15.0)  # +67 % >= 30 %
    assert cols[125.9]["daydreaming_level"] == 3


def test_an_attentive_driver_scanning_mirrors_never_daydreams() -> None:
    always_scanning = lambda t: scanning(t % 90.0)  # noqa: E731
    events, cols = drive(300.0, always_scanning, config=DaydreamingConfig())
    assert events == []
    assert {cols[t]["daydreaming_level"] for t in cols if t >= 61.0} == {0}


@pytest.mark.parametrize("why, kwargs", [
    ("slow", {"speed": lambda t: 50.0}),  # below min_speed_kph 60
    ("slow", {"speed": lambda t: None}),  # unknown speed: the baseline belongs to a speed
    ("calibrating", {"calibrating": lambda t: True}),
])
def test_never_judged_slow_stopped_or_calibrating(why, kwargs) -> None:
    events, cols = drive(160.0, **kwargs)
    assert events == [] and {c["daydreaming_abstain"] for c in cols.values()} == {why}


def test_stopping_restarts_the_window_and_the_check_clock() -> None:
    # Stopped at the lights 120-125: the stare after it is judged from 125 on, a new window.
    events, cols = drive(160.0, speed=lambda t: 0.0 if 120.0 <= t < 125.0 else 100.0)
    assert cols[124.0]["daydreaming_abstain"] == "slow"
    assert cols[125.0]["daydreaming_abstain"] == "filling" and cols[154.9]["daydreaming_abstain"] == "filling"
    assert [e for e in events if e.phase == "start"] == []  # 150.0 checks a mirror before 35 s pass


def test_a_new_speed_band_learns_its_own_baseline() -> None:
    _, cols = drive(160.0, speed=lambda t: 130.0 if t >= 100.0 else 100.0)
    assert cols[126.0]["daydreaming_abstain"] == "no_baseline"


def test_an_absurd_gaze_angle_is_no_measurement_not_a_dead_window() -> None:
    # One frame of a hand-made table reads gaze yaw 1e200 at 70 s. Summed, its square made
    # the window's sums inf and, once dropped, NaN: the stare was never judged daydreaming.
    # Unmeasured, the stare reads as in the first test.
    gaze = lambda t: (1e200, 0.0, "road") if t == 70.0 else scanning(t)  # noqa: E731
    events, cols = drive(160.0, gaze)
    assert cols[125.9]["daydreaming_level"] == 2
    assert [(e.t, e.phase) for e in events if e.name == "daydreaming"] == [(130.9, "start"), (155.2, "end")]
