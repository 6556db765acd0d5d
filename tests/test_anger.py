"""Anger / frustration detector (docs/emotion.md): EMFACS AU4 + AU5/7 + AU23/24 held against the
driver's own neutral expression, abstaining where the same units have other causes. Synthetic
feature streams at 10 fps, exact times and values."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import replace

import pytest

from driver_monitor.config.anger import AngerConfig
from driver_monitor.detectors.base import DetectorInput
from driver_monitor.detectors.calibration import Calibration
from driver_monitor.detectors.emotion.anger import AngerDetector
from driver_monitor.messages import Event, Features, Scalar, VehicleState

FPS = 10
CAL = Calibration()
NEUTRAL = Features(
    t=0.0, face_present=True, head_yaw_deg=0.0, head_pitch_deg=0.0, head_roll_deg=0.0,
    brow_down=0.30, eye_squint=0.20, eye_wide=0.05, mouth_press=0.10, mouth_roll=0.05, nose_sneer=0.02,
    jaw_forward=0.02, jaw_open=0.02, face_brightness=120.0,
)
# AU4 + AU7 + AU24 each 0.3 above this driver's neutral (the EMFACS anger prototype).
ANGRY = dict(brow_down=0.60, eye_squint=0.50, mouth_press=0.40)


def drive(
    until_s: float,
    face: Callable[[float], Features],
    detector: AngerDetector | None = None,
    speed_kph: float | None = 80.0,
    upstream: Callable[[float], Mapping[str, Scalar]] = lambda t: {},
    start_s: float = 0.0,
) -> tuple[AngerDetector, list[Event], dict[float, dict[str, Scalar]]]:
    detector = detector if detector is not None else AngerDetector(AngerConfig())
    events: list[Event] = []
    columns: dict[float, dict[str, Scalar]] = {}
    for i in range(round(start_s * FPS), round(until_s * FPS) + 1):
        t = i / FPS
        events += detector.update(DetectorInput(replace(face(t), t=t), VehicleState(t=t, speed_kph=speed_kph), CAL,
                                                upstream=upstream(t)))
        columns[t] = detector.columns()
    return detector, events, columns


def angry_between(a: float, b: float, **extra: float) -> Callable[[float], Features]:
    def face(t: float) -> Features:
        return replace(NEUTRAL, **ANGRY, **extra) if a <= t < b else NEUTRAL
    return face


def test_neutral_is_learned_over_30_s_then_judged() -> None:
    det, events, cols = drive(40.0, lambda t: NEUTRAL)
    assert cols[29.9]["anger_abstain"] == "learning" and cols[29.9]["anger_level"] is None
    assert cols[30.0]["anger_abstain"] == "none" and cols[30.0]["anger_level"] == 0
    assert det.neutral.centre["brow_down"] == pytest.approx(0.30)
    assert det.neutral.spread["brow_down"] == 0.0  # a still face: the min_spread floor applies
    assert events == []


def test_anger_levels_and_event_at_exact_times() -> None:
    _, events, cols = drive(70.0, angry_between(40.0, 60.0))
    # Each unit's smoothed rise after k+1 frames is 0.3 (1 - exp(-(k+1) 0.1 / 0.5)); shown from
    # 0.06 (min_rise = 3 x the 0.02 spread floor): 0.0544 at 40.0, 0.0989 at 40.1 = 4.95
    # spreads (level 1), 0.1354 = 6.77 at 40.2 (>= 5: level 2), 0.165 = 8.26 at 40.3 (>= 8: 3).
    assert [cols[t]["anger_level"] for t in (39.9, 40.0, 40.1, 40.2, 40.3)] == [0, 0, 1, 2, 3]
    assert cols[40.1]["anger_score"] == pytest.approx(0.3 * (1 - math.exp(-0.4)) / 0.02)
    starts = [e for e in events if e.phase == "start"]
    assert [(e.t, e.detail["onset_t"], e.detail["level"]) for e in starts] == [(43.1, 40.1, 3)]
    # 3.1 s in, the rise is 0.3 (1 - exp(-6.4)) = 0.2995: 14.975 spreads.
    assert starts[0].detail["evidence"] == {"brow_down": 14.975, "eye_squint": 14.975, "mouth_press": 14.975}
    assert starts[0].detail["advisory"] is True
    # Back to neutral at 60: the rise falls under 0.06 when 0.3 exp(-(k+1) 0.2) < 0.06: k = 8,
    # 60.8; the event ends 5 s later.
    assert cols[60.7]["anger_level"] == 1 and cols[60.8]["anger_level"] == 0
    ends = [e for e in events if e.phase == "end"]
    assert [(e.t, e.detail["duration_s"], e.detail["max_level"]) for e in ends] == [(65.8, pytest.approx(20.7), 3)]


def test_a_brow_alone_or_a_short_grimace_is_not_anger() -> None:
    _, events, cols = drive(60.0, lambda t: replace(NEUTRAL, brow_down=0.8) if t >= 40 else NEUTRAL)
    assert cols[50.0]["anger_level"] == 0 and events == []
    _, events, cols = drive(60.0, angry_between(40.0, 42.0))  # held 2 s < start_after_s 3 s
    assert cols[41.0]["anger_level"] == 3 and events == []


@pytest.mark.parametrize("why, face, upstream", [
    ("talking", lambda t: replace(NEUTRAL, **ANGRY, jaw_open=0.05 + 0.25 * (round(t * 10) % 3 == 0)), {}),
    ("yawning", lambda t: replace(NEUTRAL, **ANGRY, jaw_open=0.6), {}),
    ("glare", lambda t: replace(NEUTRAL, **ANGRY, face_brightness=170.0), {}),  # > 1.3 x 120
    ("face_away", lambda t: replace(NEUTRAL, **ANGRY, head_yaw_deg=30.0), {}),
    ("eyes_unavailable", lambda t: replace(NEUTRAL, **ANGRY), {"eyes_judgeable": False}),  # sunglasses
])
def test_abstains_where_the_units_have_other_causes(why, face, upstream) -> None:
    det, events, cols = drive(40.0, lambda t: NEUTRAL)
    _, events, cols = drive(60.0, face, det, upstream=lambda t: upstream, start_s=40.1)
    # Talking is seen once the jaw has moved (its first syllable at 40.2); the others at once.
    judged = [t for t in cols if t >= 40.2]
    assert {cols[t]["anger_abstain"] for t in judged} == {why}
    assert {cols[t]["anger_level"] for t in judged} == {None}
    assert events == []


def test_glare_hold_and_the_absolute_brightness_limit() -> None:
    det, _, _ = drive(40.0, lambda t: NEUTRAL)
    face = lambda t: replace(NEUTRAL, face_brightness=210.0) if t < 45.0 else NEUTRAL  # noqa: E731
    _, _, cols = drive(50.0, face, det, start_s=40.1)
    assert cols[44.9]["anger_abstain"] == "glare"
    assert cols[46.9]["anger_abstain"] == "glare" and cols[47.0]["anger_abstain"] == "none"  # glare_hold_s 2


def test_heart_rate_arousal_raises_the_level_by_one_never_makes_anger_alone() -> None:
    hr = lambda t: {"heart_rate_bpm": 85.0 if t >= 40.0 else 70.0, "heart_rate_quality": 0.9}  # noqa: E731
    det, events, cols = drive(50.0, angry_between(40.0, 60.0), upstream=hr)
    assert det.neutral_heart_rate_bpm == pytest.approx(70.0)
    assert cols[40.1]["anger_level"] == 2  # 1 from the face + 1 from 15 bpm of arousal
    _, events, cols = drive(50.0, lambda t: NEUTRAL, upstream=hr)
    assert cols[45.0]["anger_level"] == 0 and events == []


def test_nothing_is_learned_while_stopped() -> None:
    _, _, cols = drive(40.0, lambda t: NEUTRAL, speed_kph=0.0)
    assert cols[40.0]["anger_abstain"] == "learning" and cols[40.0]["anger_neutral_learned_s"] == 0.0


def test_finish_closes_an_open_episode() -> None:
    det, events, _ = drive(50.0, angry_between(40.0, 60.0))
    end = det.finish(50.0)
    assert [(e.name, e.phase, e.detail["truncated"], e.detail["duration_s"]) for e in end] == [
        ("anger", "end", True, pytest.approx(9.9))]


def test_face_away_is_judged_from_the_neutral_pose_while_the_road_ahead_is_unknown() -> None:
    # An aftermarket camera seen from 25 deg aside (camera.mount auto, still `calibrating`):
    # the driver's neutral is learned at that pose, and a turn of 25 deg more is away.
    learning = Calibration(road_ahead="unknown")
    det = AngerDetector(AngerConfig())
    for i in range(round(45.0 * FPS) + 1):
        t = i / FPS
        yaw = 50.0 if t >= 40.0 else 25.0
        det.update(DetectorInput(replace(NEUTRAL, t=t, head_yaw_deg=yaw), VehicleState(t=t, speed_kph=80.0), learning))
        if t == 39.9:
            assert det.columns()["anger_abstain"] == "none"
    assert det.columns()["anger_abstain"] == "face_away"
    assert det.neutral.centre["head_yaw_deg"] == 25.0


def test_unread_action_units_are_unknown_not_their_last_reading_held() -> None:
    """Angry 40-50 s, then the face is still seen but its blendshapes are not read (NaN). Held,
    the angry readings kept level 3 and the episode open for as long as they were unread (200 s
    here). They count for one frame gap (max_frame_gap_s 0.5: 50.0-50.4), then the detector
    abstains (no_units) and the episode ends 5 s later."""
    unread = {u: math.nan for u in ("brow_down", "eye_squint", "eye_wide", "mouth_press", "mouth_roll",
                                     "nose_sneer", "jaw_forward")}
    face = lambda t: NEUTRAL if t < 40 else replace(NEUTRAL, **ANGRY) if t < 50 else replace(NEUTRAL, **unread)  # noqa: E731
    _, events, cols = drive(200.0, face)
    assert (cols[50.4]["anger_level"], cols[50.4]["anger_abstain"]) == (3, "none")
    assert {(cols[t]["anger_level"], cols[t]["anger_abstain"]) for t in cols if t >= 50.5} == {(None, "no_units")}
    assert [(e.t, e.phase, e.detail["onset_t"]) for e in events] == [(43.1, "start", 40.1), (55.5, "end", 50.5)]


def test_one_unread_unit_leaves_its_group_to_the_others() -> None:
    """mouthPress unread while mouthRoll and the rest are read: the mouth group is still judged."""
    face = lambda t: replace(NEUTRAL, mouth_press=math.nan, mouth_roll=0.35, brow_down=0.6, eye_squint=0.5) if t >= 40 else NEUTRAL  # noqa: E731
    _, events, cols = drive(50.0, face)
    assert cols[45.0]["anger_abstain"] == "none" and cols[45.0]["anger_level"] == 3
    assert [(e.t, e.phase) for e in events] == [(43.1, "start")]


def test_absurd_blendshape_values_are_no_reading() -> None:
    """A hand-made table's 1e308 (or -1, inf) is no blendshape score (0..1): taken, the evidence
    overflowed to inf (level 3, an `anger` event with evidence inf, not valid JSON). Unread, the
    detector abstains once the last real reading is a frame gap old (40.5)."""
    absurd = dict(brow_down=1e308, eye_squint=math.inf, mouth_press=-1.0)
    _, events, cols = drive(50.0, lambda t: replace(NEUTRAL, **absurd) if t >= 40 else NEUTRAL)
    assert cols[40.4]["anger_level"] == 0 and cols[40.5]["anger_abstain"] == "no_units"
    assert all(math.isnan(cols[t]["anger_score"]) for t in cols if t >= 40.5)
    assert events == []


@pytest.mark.parametrize("unit", ["jaw_forward", "eye_wide", "nose_sneer"])
def test_a_unit_never_read_does_not_keep_the_neutral_from_being_learned(unit: str) -> None:
    """A feature table without one unit's column (NaN throughout) while the other units of
    its group are read: the neutral is learned from the units read, and that unit is left
    out. Requiring every unit, the neutral was never learned: `learning` for the whole drive."""
    face = lambda t: replace(angry_between(40.0, 50.0)(t), **{unit: math.nan})  # noqa: E731
    det, events, cols = drive(60.0, face)
    assert cols[29.9]["anger_abstain"] == "learning" and cols[30.0]["anger_abstain"] == "none"
    assert math.isnan(det.neutral.centre[unit]) and det.neutral.centre["brow_down"] == pytest.approx(0.30)
    assert [(e.t, e.phase, e.detail["onset_t"]) for e in events] == [(43.1, "start", 40.1), (55.8, "end", 50.8)]
    assert set(events[0].detail["evidence"]) == {"brow_down", "eye_squint", "mouth_press"}
