"""StressDetector: baseline, level with hysteresis at exact times, `stress` events, heart-rate
source choice (external over camera), abstention, facial and blink cues, and the default
pipeline wiring."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping

import pytest

from driver_monitor.config import Config, load_config
from driver_monitor.config.stress import StressConfig
from driver_monitor.detectors.base import DetectorInput
from driver_monitor.detectors.calibration import Calibration
from driver_monitor.detectors.stress.cues import finite_or_nan
from driver_monitor.detectors.stress.detector import StressDetector
from driver_monitor.detectors.stress.signals import skin_trace
from driver_monitor.messages import Event, Features, Scalar, VehicleState
from driver_monitor.pipeline import build_detectors

CAL = Calibration()
FPS = 10.0


def frames(duration_s: float, fps: float = FPS) -> Iterator[float]:
    for k in range(int(round(duration_s * fps)) + 1):
        yield k / fps


def drive(
    detector: StressDetector,
    times: Iterator[float],
    features: Callable[[float], Features],
    external_bpm: Callable[[float], float | None] = lambda t: None,
    upstream: Callable[[float], Mapping[str, Scalar]] = lambda t: {},
) -> tuple[list[Event], dict[float, dict[str, Scalar]]]:
    events: list[Event] = []
    cols: dict[float, dict[str, Scalar]] = {}
    for t in times:
        inp = DetectorInput(features(t), VehicleState(t=t, external_heart_rate_bpm=external_bpm(t)), CAL, upstream=upstream(t))
        events.extend(detector.update(inp))
        cols[round(t, 3)] = detector.columns()
    return events, cols


def no_face(t: float) -> Features:
    return Features(t=t, face_present=False)


def test_external_heart_rate_step_levels_and_event_at_exact_times() -> None:
    # Only the external heart rate is available (no face): score = (hr - 70) / 10 bpm,
    # smoothed with tau = 3 s. 70 bpm for 100 s (baseline: first 60 s), 90 bpm from 100 s to
    # 120 s, then 70 again. The baseline's slow follow is switched off so the score is exact.
    config = StressConfig.model_validate({"baseline": {"adapt_time_constant_s": 36000.0}})
    det = StressDetector(config)
    hr = lambda t: 90.0 if 100.0 <= t < 120.0 else 70.0  # noqa: E731
    events, cols = drive(det, frames(150.0), no_face, hr)
    assert cols[59.0]["stress_level"] is None and cols[59.0]["stress_confidence"] == 0.0
    assert cols[61.0]["stress_level"] == 0
    assert cols[61.0]["heart_rate_source"] == "external" and cols[61.0]["heart_rate_bpm"] == 70.0
    # The filter applies a new sample over the interval before it (from 99.9 s):
    # score = 2 (1 - exp(-(t - 99.9)/3)) is >= 0.75 from 101.31 s and >= 1.5 from 104.06 s.
    assert cols[101.3]["stress_level"] == 0 and cols[101.4]["stress_level"] == 1
    assert cols[104.0]["stress_level"] == 1 and cols[104.1]["stress_level"] == 2
    # Down (decay from 119.9 s): below 1.5 - 0.25 hysteresis from 121.31 s, below 0.75 - 0.25
    # from 124.06 s.
    assert cols[121.3]["stress_level"] == 2 and cols[121.4]["stress_level"] == 1
    assert cols[124.0]["stress_level"] == 1 and cols[124.1]["stress_level"] == 0
    # start_after_s 5 at level >= 2, end_after_s 15 below it.
    assert [(e.t, e.phase) for e in events] == [(109.1, "start"), (136.4, "end")]
    start, end = events
    assert start.detail["onset_t"] == 104.1 and start.detail["level"] == 2 and start.detail["advisory"] is True
    assert start.detail["baseline_heart_rate_bpm"] == pytest.approx(70.0, abs=0.01)
    assert start.detail["heart_rate_source"] == "external"
    assert end.detail["onset_t"] == 121.4 and end.detail["max_level"] == 2
    assert end.detail["duration_s"] == pytest.approx(121.4 - 104.1)


def test_level_does_not_flicker_near_a_threshold() -> None:
    det = StressDetector(StressConfig())
    # After the baseline, hr wobbles +-1 bpm around 78.5 bpm (score ~0.85 +- 0.1): level 1
    # is reached once and kept, never dropped back to 0 (needs < 0.5).
    hr = lambda t: 70.0 if t < 80 else 78.5 + (1.0 if int(t * 2) % 2 else -1.0)  # noqa: E731
    _, cols = drive(det, frames(140.0), no_face, hr)
    levels = [c["stress_level"] for t, c in cols.items() if t >= 95.0]
    assert set(levels) == {1}


def test_camera_heart_rate_step_70_to_100_raises_the_level_within_20_s() -> None:
    det = StressDetector(StressConfig())
    trace = skin_trace(150.0, 30.0, lambda t: 70.0 if t < 90.0 else 100.0, ibi_jitter_s=0.02, seed=3)
    feats = {round(float(t), 4): f for t, f in zip(trace.t, trace.features(), strict=True)}
    events, cols = drive(det, iter(feats), lambda t: feats[round(t, 4)])
    before = [c for t, c in cols.items() if 75.0 <= t < 90.0]
    assert all(c["stress_level"] == 0 and c["heart_rate_source"] == "camera" for c in before)
    assert all(abs(c["heart_rate_bpm"] - 70) <= 3 for c in before)
    raised = [t for t, c in cols.items() if t >= 90.0 and (c["stress_level"] or 0) >= 1]
    assert raised and raised[0] <= 110.0
    assert [e.phase for e in events] == ["start"]
    assert 90.0 < events[0].detail["onset_t"] <= 110.0
    assert det.finish(150.0)[0].detail["truncated"] is True


def test_external_heart_rate_is_preferred_while_it_reports() -> None:
    det = StressDetector(StressConfig())
    trace = skin_trace(30.0, 30.0, 66.0, seed=11)
    feats = {round(float(t), 4): f for t, f in zip(trace.t, trace.features(), strict=True)}
    # The CAN wearable reports 0 (= none in the example DBC) until 20 s, then 81 bpm.
    ext = lambda t: 81.0 if t >= 20.0 else 0.0  # noqa: E731
    _, cols = drive(det, iter(feats), lambda t: feats[round(t, 4)], ext)
    at15 = cols[15.0]
    assert at15["heart_rate_source"] == "camera" and abs(at15["heart_rate_bpm"] - 66) <= 3
    at25 = cols[25.0]
    assert at25["heart_rate_source"] == "external" and at25["heart_rate_bpm"] == 81.0
    assert at25["heart_rate_quality"] == 1.0 and abs(at25["heart_rate_camera_bpm"] - 66) <= 3


def test_nir_camera_abstains_and_says_so() -> None:
    det = StressDetector(StressConfig())
    trace = skin_trace(80.0, 30.0, 70.0, monochrome=True, seed=12)
    feats = {round(float(t), 4): f for t, f in zip(trace.t, trace.features(), strict=True)}
    _, cols = drive(det, iter(feats), lambda t: feats[round(t, 4)])
    for t in (20.0, 79.0):
        c = cols[t]
        assert c["heart_rate_source"] == "none" and math.isnan(c["heart_rate_bpm"])
        assert c["heart_rate_camera_status"] == "monochrome" and c["heart_rate_quality"] == 0.0
        # No face cues in these features and no heart rate: no level at all, not a guess.
        assert c["stress_level"] is None and c["stress_confidence"] == 0.0


def face(brow_down: float = 0.1, mouth_press: float = 0.05, eye_squint: float = 0.2) -> Callable[[float], Features]:
    return lambda t: Features(t=t, face_present=True, brow_down=brow_down, mouth_press=mouth_press, eye_squint=eye_squint)


def test_facial_tension_against_the_baseline_raises_the_level() -> None:
    det = StressDetector(StressConfig())
    calm, tense = face(), face(brow_down=0.5, mouth_press=0.45)

    def feats(t: float) -> Features:
        return tense(t) if t >= 80.0 else calm(t)

    _, cols = drive(det, frames(130.0), feats)
    assert cols[79.0]["stress_level"] == 0 and cols[79.0]["heart_rate_source"] == "none"
    # brow +0.4 and press +0.4 = 2.67 units each (capped at 4), squint 0: mean over
    # weights 0.3 + 0.3 + 0.2 = 2.0 once smoothed; level 2 is reached, level 3 is not.
    assert cols[129.0]["stress_level"] == 2
    assert cols[129.0]["stress_score"] == pytest.approx(2.0, abs=0.02)
    # Three of the six cues' weights (no expression model configured) are present.
    assert cols[129.0]["stress_confidence"] == pytest.approx(0.8 / 3.1, abs=1e-6)


def test_the_same_expression_is_calm_for_a_driver_whose_baseline_it_is() -> None:
    det = StressDetector(StressConfig())
    _, cols = drive(det, frames(130.0), face(brow_down=0.5, mouth_press=0.45))
    assert {c["stress_level"] for t, c in cols.items() if t >= 61.0} == {0}


def test_blink_rate_from_drowsiness_is_read_defensively() -> None:
    det = StressDetector(StressConfig())

    def upstream(t: float) -> Mapping[str, Scalar]:
        if t < 5.0:
            return {}  # column not there (drowsiness without blink rate)
        if t < 10.0:
            return {"blink_rate_per_min": None}
        if t < 80.0:
            return {"blink_rate_per_min": 15.0}
        return {"blink_rate_per_min": 30.0}  # doubled: +100 % = 2 units

    _, cols = drive(det, frames(130.0), no_face, upstream=upstream)
    assert cols[4.0]["stress_level"] is None
    assert cols[79.0]["stress_level"] == 0
    assert cols[129.0]["stress_level"] == 2 and cols[129.0]["stress_score"] == pytest.approx(2.0, abs=0.02)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(12.5, 12.5), (7, 7.0), (None, math.nan), (math.nan, math.nan), ("12", math.nan), (True, math.nan), (math.inf, math.nan)],
)
def test_finite_or_nan(value: object, expected: float) -> None:
    got = finite_or_nan(value)
    assert (math.isnan(got) and math.isnan(expected)) or got == expected


def test_default_pipeline_has_the_stress_columns() -> None:
    config: Config = load_config()
    detectors = build_detectors(config)
    stress = [d for d in detectors if isinstance(d, StressDetector)]
    assert len(stress) == 1
    # After the drowsiness detector, whose blink rate it reads.
    names = [type(d).__name__ for d in detectors]
    assert names.index("StressDetector") > names.index("DrowsinessDetector")
    cols = stress[0].columns()
    for key in ("heart_rate_bpm", "heart_rate_quality", "heart_rate_source", "stress_level", "stress_confidence"):
        assert key in cols
    assert cols["heart_rate_source"] == "none" and cols["stress_level"] is None and math.isnan(cols["heart_rate_bpm"])


def test_baseline_is_learned_only_while_driving() -> None:
    # Parked (speed 0) at a resting 60 bpm for 100 s, then driving at 72 bpm: the baseline is
    # the driving one, so driving at 72 is calm (a parked baseline would read +12 bpm).
    det = StressDetector(StressConfig())
    events: list[Event] = []
    cols: dict[float, dict[str, Scalar]] = {}
    for t in frames(200.0):
        parked = t < 100.0
        vehicle = VehicleState(t=t, speed_kph=0.0 if parked else 50.0, external_heart_rate_bpm=60.0 if parked else 72.0)
        events.extend(det.update(DetectorInput(no_face(t), vehicle, CAL)))
        cols[round(t, 3)] = det.columns()
    assert cols[99.0]["stress_level"] is None  # nothing learned while parked
    assert cols[159.0]["stress_level"] is None and cols[161.0]["stress_level"] == 0
    assert {c["stress_level"] for t, c in cols.items() if t >= 161.0} == {0}
    assert events == []


def test_external_beat_intervals_give_rmssd_and_its_drop_is_stress() -> None:
    # A chest strap sends one interval per beat: alternating 800 / 840 ms (RMSSD exactly
    # 40 ms) for 120 s, then 800 / 810 ms (RMSSD 10 ms, a 75 % drop = 2.5 units) with the
    # heart rate unchanged; one 1640 ms interval (a missed beat) is edited out.
    det = StressDetector(StressConfig())
    cols: dict[float, dict[str, Scalar]] = {}
    next_beat, k = 0.0, 0
    for t in frames(200.0):
        rr: list[float] = []
        while next_beat <= t:
            if 50.0 <= next_beat < 50.8:
                value = 1640.0
            else:
                value = (800.0 if k % 2 == 0 else 840.0) if next_beat < 120.0 else (800.0 if k % 2 == 0 else 810.0)
            rr.append(value)
            next_beat += value / 1000.0
            k += 1
        vehicle = VehicleState(t=t, external_heart_rate_bpm=73.0, external_rr_intervals_ms=tuple(rr))
        det.update(DetectorInput(no_face(t), vehicle, CAL))
        cols[round(t, 3)] = det.columns()
    assert math.isnan(cols[3.0]["hrv_rmssd_ms"])  # fewer than hrv_min_beats intervals yet
    assert cols[40.0]["hrv_rmssd_ms"] == pytest.approx(40.0)
    assert cols[60.0]["hrv_rmssd_ms"] == pytest.approx(40.0)  # the missed beat is edited out
    assert cols[119.0]["stress_level"] == 0
    assert cols[160.0]["hrv_rmssd_ms"] == pytest.approx(10.0)
    # score = (heart rate 0 + RMSSD 2.5) / 2 = 1.25 -> level 1
    assert cols[199.0]["stress_level"] == 1 and cols[199.0]["stress_score"] == pytest.approx(1.25, abs=0.01)


def test_external_rmssd_expires_when_intervals_stop() -> None:
    det = StressDetector(StressConfig())
    cols: dict[float, dict[str, Scalar]] = {}
    for t in frames(20.0):
        rr = (800.0,) if round(t * 10) % 8 == 0 and t < 10.0 else ()
        det.update(DetectorInput(no_face(t), VehicleState(t=t, external_heart_rate_bpm=75.0, external_rr_intervals_ms=rr), CAL))
        cols[round(t, 3)] = det.columns()
    assert cols[9.6]["hrv_rmssd_ms"] == pytest.approx(0.0)  # steady 800 ms beats
    # Last interval at 9.6 s; max_age_s 3 -> none after 12.6 s.
    assert cols[12.6]["hrv_rmssd_ms"] == pytest.approx(0.0)
    assert math.isnan(cols[12.7]["hrv_rmssd_ms"])


def test_disabled_detector_reports_nothing() -> None:
    det = StressDetector(StressConfig(enabled=False))
    events, cols = drive(det, frames(80.0), face(), lambda t: 90.0)
    assert events == []
    assert cols[79.0]["heart_rate_source"] == "none" and cols[79.0]["stress_level"] is None
    assert math.isnan(cols[79.0]["heart_rate_bpm"])


def test_an_event_closed_by_a_camera_fault_needs_a_new_hold_before_it_starts_again() -> None:
    # The pipeline closes open events when the camera fails (detector.finish) and does not
    # update the detectors while the fault lasts (112-113 s here). The level is still 2 after
    # it: a new event starts once it has held start_after_s 5 s again, onset at 113.0, not at
    # once with the closed event's onset (104.1, before that event's end at 112.0).
    config = StressConfig.model_validate({"baseline": {"adapt_time_constant_s": 36000.0}})
    det = StressDetector(config)
    hr = lambda t: 90.0 if t >= 100.0 else 70.0  # noqa: E731
    events, _ = drive(det, (t for t in frames(112.0) if t < 112.0), no_face, hr)
    events += det.finish(112.0)
    later, cols = drive(det, (t for t in frames(130.0) if t >= 113.0), no_face, hr)
    events += later + det.finish(130.0)
    assert cols[113.0]["stress_level"] == 2
    assert [(e.t, e.phase, e.detail["onset_t"]) for e in events] == [
        (109.1, "start", 104.1), (112.0, "end", 112.0), (118.0, "start", 113.0), (130.0, "end", 130.0)]


def test_start_and_end_holds_are_not_a_frame_late_from_rounding() -> None:
    # Frame times k / 10: 12.2 - 7.2 and 28.4 - 13.4 are a rounding short of 5 s and 15 s;
    # the event still starts and ends on those frames (EpisodeClock's 1e-9), not one later.
    assert 12.2 - 7.2 < 5.0 and 28.4 - 13.4 < 15.0
    config = StressConfig.model_validate({"baseline": {"baseline_s": 5.0, "adapt_time_constant_s": 36000.0},
                                          "level": {"smoothing_time_constant_s": 0.0}})
    det = StressDetector(config)
    hr = lambda t: 90.0 if 7.2 <= t < 13.4 else 70.0  # noqa: E731  score 2 (level 2) at once
    events, cols = drive(det, frames(40.0), no_face, hr)
    assert cols[7.1]["stress_level"] == 0 and cols[7.2]["stress_level"] == 2 and cols[13.4]["stress_level"] == 0
    assert [(e.t, e.phase, e.detail["onset_t"]) for e in events] == [(12.2, "start", 7.2), (28.4, "end", 13.4)]


def test_stop_and_go_time_stopped_does_not_count_towards_the_baseline() -> None:
    # 5 s driving, 5 s stopped, from 0 s on (10 fps): the baseline's 60 s of driving are
    # 0.1-4.9 s (4.9 s: the first frame has no interval), then 5 s per stretch from 10 s on,
    # complete with the frame at 120.0. Each stop used to credit max_gap_s (2 s) to the first
    # frame after it: ready at 84.8 s, after 44 s of driving.
    det = StressDetector(StressConfig())
    cols: dict[float, dict[str, Scalar]] = {}
    for t in frames(130.0):
        moving = round(t * 10) % 100 < 50
        vehicle = VehicleState(t=t, speed_kph=50.0 if moving else 0.0, external_heart_rate_bpm=70.0)
        det.update(DetectorInput(no_face(t), vehicle, CAL))
        cols[round(t, 3)] = det.columns()
    assert cols[114.9]["stress_level"] is None and cols[120.0]["stress_level"] == 0
    assert det.cues["heart_rate"].baseline.learned_s == pytest.approx(60.0)


def test_an_absurd_blendshape_value_is_no_reading_not_a_baseline_for_the_journey() -> None:
    # One frame of a hand-made feature table reads browDown 1e300 at 100 s (after the
    # baseline). Taken, the 5 s smoothing and the baseline's slow follow carried it into
    # the baseline (~1e296): the cue's evidence was 0 for the rest of the journey, however
    # the brows moved. As the anger detector does, a score outside 0..1 is no reading.
    det = StressDetector(StressConfig())
    brow = lambda t: 1e300 if t == 100.0 else (0.55 if t >= 150.0 else 0.1)  # noqa: E731
    _, cols = drive(det, frames(149.9), lambda t: face(brow_down=brow(t))(t))
    assert det.cues["brow_down"].baseline.mean == pytest.approx(0.1) and det.cues["brow_down"].evidence == pytest.approx(0.0, abs=1e-9)
    assert {c["stress_level"] for t, c in cols.items() if t >= 61.0} == {0}
    # From 150 s the brows are 0.45 (3 units of 0.15) above it: with the face cues' weights
    # (0.3 + 0.3 + 0.2) the score settles at 3 x 0.3 / 0.8 = 1.125, level 1.
    _, cols = drive(det, (t for t in frames(200.0) if t >= 150.0), lambda t: face(brow_down=brow(t))(t))
    assert cols[199.0]["stress_level"] == 1 and cols[199.0]["stress_score"] == pytest.approx(1.115, abs=0.005)
