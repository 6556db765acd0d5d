"""Blink statistics and the pieces under the drowsiness detector, driven directly."""

from __future__ import annotations

import math

import pytest

from driver_monitor.config.drowsiness import BlinkConfig, KssConfig, PerclosConfig
from driver_monitor.detectors.blinks import BlinkTracker
from driver_monitor.detectors.eye_closure import ClosureEpisode
from driver_monitor.detectors.kss import KssLevel, piecewise
from driver_monitor.detectors.perclos import TimeShareWindow


def test_blink_rate_and_mean_duration_over_the_window():
    tracker = BlinkTracker(BlinkConfig(), 1.0, PerclosConfig())
    fps = 20.0
    events = []
    for i in range(int(70 * fps) + 1):
        t = i / fps
        ep = ClosureEpisode(t - 0.3, t) if i > 0 and i % int(4 * fps) == 0 else None  # 0.3 s every 4 s
        events += tracker.update(t, True, ep)
        if t == pytest.approx(19.0):
            assert math.isnan(tracker.rate_per_min)  # 20 s judged needed
    assert len(events) == 17 and all(e.detail["duration_s"] == pytest.approx(0.3) for e in events)
    assert tracker.rate_per_min == pytest.approx(15.0, abs=0.3)  # one per 4 s
    assert tracker.mean_duration_s == pytest.approx(0.3)


def test_abandoned_and_too_long_closures_are_not_blinks():
    tracker = BlinkTracker(BlinkConfig(), 1.0, PerclosConfig())
    assert tracker.update(1.0, True, ClosureEpisode(0.5, 0.8, abandoned=True)) == []
    assert tracker.update(3.0, True, ClosureEpisode(1.5, 2.9)) == []  # 1.4 s: microsleep
    assert tracker.update(4.0, True, ClosureEpisode(3.99, 3.995)) == []  # 5 ms: noise
    assert tracker.count == 0


def test_time_share_window_is_time_weighted_and_slides():
    w = TimeShareWindow(10.0, 0.5)
    for i in range(301):  # 30 s at 10 fps, closed during [5, 7)
        t = i / 10.0
        w.update(t, True, 5.0 <= t < 7.0)
        if i == 100:
            assert w.judged_s == pytest.approx(10.0) and w.closed_s == pytest.approx(2.0)
    assert w.closed_s == pytest.approx(0.0, abs=1e-9) and w.judged_s == pytest.approx(10.0)


def test_time_share_window_caps_frame_gaps():
    w = TimeShareWindow(60.0, 0.5)
    w.update(0.0, True, True)
    w.update(5.0, True, True)  # a 5 s stall counts 0.5 s
    assert w.closed_s == pytest.approx(0.5)


def test_kss_level_formula():
    c = KssConfig()
    assert piecewise(0.0, c.perclos_points) == 0.0
    assert piecewise(0.15, c.perclos_points) == pytest.approx(4.0)
    assert piecewise(math.nan, c.perclos_points) == 0.0
    kss = KssLevel(c)
    assert kss.update(0.0, math.nan, math.nan) == 3
    assert kss.update(1.0, 0.15, math.nan) == 7  # PERCLOS drowsy band alone: 7
    assert kss.update(2.0, 0.0, 0.5) == 7  # slow blinking (0.5 s mean) alone: 7
    for t in (10.0, 20.0, 30.0, 40.0):
        kss.add_yawn(t)
    assert kss.update(41.0, 0.0, 0.0) == 7  # four yawns in 5 min: 7
    kss.add_nod(42.0)
    assert kss.update(42.0, 0.3, 0.6) == 9  # capped
    assert kss.update(400.0, 0.0, 0.0) == 3  # the windows forget


def test_a_tiny_rate_min_judged_s_waits_for_judged_time_instead_of_dividing_by_zero():
    # rate_min_judged_s validates down to any positive number; at 1e-9 the first frame (no
    # judged time yet) divided by zero: a ZeroDivisionError that ended the replay (or the daemon).
    tracker = BlinkTracker(BlinkConfig(rate_min_judged_s=1e-9), 1.0, PerclosConfig())
    assert tracker.update(0.0, True, None) == []
    assert math.isnan(tracker.rate_per_min) and math.isnan(tracker.mean_duration_s)
    tracker.update(0.1, True, None)
    assert tracker.rate_per_min == 0.0


def test_a_blink_rate_that_needs_more_judged_time_than_its_window_holds_is_refused():
    # The window never holds more judged time than rate_window_s: the rate (and the stress and
    # daydreaming cues built on it) would stay unknown for the whole drive without a word.
    with pytest.raises(ValueError, match=r"rate_min_judged_s \(.* s\) must be at most rate_window_s"):
        BlinkConfig(rate_window_s=30.0, rate_min_judged_s=40.0)
    assert BlinkConfig(rate_window_s=30.0, rate_min_judged_s=30.0).rate_min_judged_s == 30.0
