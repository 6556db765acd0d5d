"""The policy inside the Pipeline, driven through Pipeline.process_features with synthetic
Features (no video): actions and PolicyState in the FrameResult at exact times, the warning
fed back to the detectors one frame later, and the speed gate end to end."""

from __future__ import annotations

import dataclasses

import pytest

from driver_monitor.config import parse_config
from driver_monitor.detectors.base import DetectorInput
from driver_monitor.messages import Event, Features, Scalar, VehicleState
from driver_monitor.pipeline import FrameResult, Pipeline

ACTIVE_AT_ONCE = "policy:\n  monitoring: {activation_s: 0}\n"


def open_eyes_features(t: float, closed: bool = False) -> Features:
    blink = 0.95 if closed else 0.05
    ear = 0.05 if closed else 0.3
    return Features(
        t, True, head_yaw_deg=0.0, head_pitch_deg=0.0, head_roll_deg=0.0, head_z_cm=-60.0,
        eye_blink_left=blink, eye_blink_right=blink, ear_left=ear, ear_right=ear,
        gaze_yaw_deg=0.0, gaze_pitch_deg=0.0, eye_look_down=0.1, eye_squint=0.1, jaw_open=0.05,
        mouth_aspect_ratio=0.05, face_width_px=200.0, image_brightness=100.0, face_brightness=120.0,
    )


class WarningSpy:
    """A detector that records what the pipeline feeds back from the policy."""

    def __init__(self) -> None:
        self.seen: dict[float, float | None] = {}

    def update(self, inp: DetectorInput) -> list[Event]:
        self.seen[round(inp.features.t, 6)] = inp.warning_active_since_t
        return []

    def columns(self) -> dict[str, Scalar]:
        return {}

    def finish(self, t: float) -> list[Event]:
        return []


def run(config_text: str, frames: list[tuple[Features, VehicleState]], spy: WarningSpy | None = None) -> list[FrameResult]:
    pipeline = Pipeline(parse_config(config_text), tracker=None)  # type: ignore[arg-type]
    if spy is not None:
        pipeline.detectors.append(spy)
    results = [pipeline.process_features(f, v) for f, v in frames]
    results[-1].events.extend(pipeline.finish())
    return results


def test_driver_absent_is_told_at_the_exact_time_and_fed_back():
    # Face until 0.9, then gone: presence fires driver_absent at 1.0 + 2.0 s (absent_after_s).
    frames = [(open_eyes_features(i / 10) if i < 10 else Features(i / 10, False), VehicleState(i / 10, speed_kph=80.0))
              for i in range(80)]
    spy = WarningSpy()
    results = run(ACTIVE_AT_ONCE, frames, spy)
    by_t = {round(r.t, 6): r for r in results}
    assert by_t[2.9].policy is not None and by_t[2.9].policy.condition is None
    at = by_t[3.0]
    assert ("event", "driver_absent", "start") in [(e.kind, e.name, e.phase) for e in at.events]
    assert at.policy.condition == "driver_absent" and at.policy.actions == {"visual_icon", "chime"}
    actions = [(e.name, e.phase, dict(e.detail)) for e in at.events if e.kind == "action"]
    assert actions == [
        ("chime", "start", {"condition": "driver_absent", "level": 2, "stage": 0}),
        ("visual_icon", "start", {"condition": "driver_absent", "level": 2, "stage": 0}),
    ]
    assert by_t[7.0].policy.actions == {"visual_icon", "voice_prompt", "haptic_seat"}  # stage 1 at +4 s
    # degraded monitoring is not a warning the unresponsive rule waits on
    assert all(v is None for v in spy.seen.values())
    ends = [(e.name, e.phase, e.detail.get("truncated")) for e in results[-1].events if e.kind == "action"]
    assert ends == [("haptic_seat", "end", True), ("visual_icon", "end", True), ("voice_prompt", "end", True)]


def test_warning_start_reaches_the_detectors_one_frame_later():
    # Eyes closed from 1.0 at 80 km/h: whatever the drowsiness detector's exact timing, the
    # first gaze-related warning's start is what the detectors see from the next frame on.
    frames = [(open_eyes_features(i / 10, closed=i >= 10), VehicleState(i / 10, speed_kph=80.0)) for i in range(120)]
    spy = WarningSpy()
    results = run(ACTIVE_AT_ONCE, frames, spy)
    first = next(r for r in results if r.policy is not None and r.policy.warning_since_t is not None)
    assert first.policy.warning_since_t == first.t and first.policy.level >= 2
    assert spy.seen[round(first.t, 6)] is None
    assert spy.seen[round(first.t + 0.1, 6)] == first.t
    # eyes shut for 11 s at speed: the ladders have reached an intervention by the end
    assert "hazard_lights" in results[-2].policy.actions and results[-2].policy.level == 3


def test_below_the_speed_gate_eyes_closed_give_no_action():
    frames = [(open_eyes_features(i / 10, closed=i >= 10), VehicleState(i / 10, speed_kph=15.0)) for i in range(120)]
    results = run(ACTIVE_AT_ONCE, frames)
    assert [e for r in results for e in r.events if e.kind == "action"] == []
    assert any(e.name == "sleep" for r in results for e in r.events)  # the detector did fire
    assert all(r.policy is not None and r.policy.level == 0 for r in results)


def test_default_activation_waits_one_minute_and_disabled_policy_gives_none():
    frames = [(Features(i / 2, False), VehicleState(i / 2, speed_kph=None)) for i in range(140)]
    results = run("", frames)
    first = next(r for r in results if any(e.kind == "action" for e in r.events))
    assert first.t == 60.0 and first.policy.condition == "driver_absent"  # unknown speed = moving
    assert ("state", "monitoring_active") in [(e.kind, e.name) for e in first.events]
    off = run("policy: {enabled: false}\n", frames[:10])
    assert all(r.policy is None for r in off) and not any(e.kind == "action" for r in off for e in r.events)


def test_reload_keeps_monitoring_and_follows_the_new_ladder():
    # Default activation (60 s) with unknown speed, face gone from the start: driver_absent
    # is shown from 60.0. A reload then must not switch monitoring off for another minute.
    pipeline = Pipeline(parse_config(""), tracker=None)  # type: ignore[arg-type]
    for i in range(130):
        pipeline.process_features(Features(i / 2, False), VehicleState(i / 2))
    assert pipeline.policy_engine is not None and pipeline.policy_engine.state.monitoring_active
    new_text = "policy:\n  conditions:\n    driver_absent:\n      ladder: [{delay_s: 0, actions: [visual_icon]}]\n"
    new = parse_config(new_text)
    presence = pipeline.detectors[0]
    closing = pipeline.reconfigure(new)
    # Only the policy changed: the presence detector is kept with its open driver_absent (a
    # rebuilt one closed it, and the warning went off for the 2 s a new one takes to fire).
    assert closing == [] and pipeline.detectors[0] is presence
    result = pipeline.emit(64.6, closing)  # the daemon hands the closing events on like this
    assert result.policy is not None and result.policy.monitoring_active
    after = [pipeline.process_features(Features(65.0 + i / 2, False), VehicleState(65.0 + i / 2)) for i in range(8)]
    # The new ladder (icon only) from the next frame on, without a gap.
    assert [(r.t, set(r.policy.actions)) for r in after[:5]] == [(65.0 + i / 2, {"visual_icon"}) for i in range(5)]
    # A changed presence section rebuilds that detector alone: its open event ends, truncated.
    distraction = pipeline.detectors[2]
    closing = pipeline.reconfigure(parse_config(new_text + "presence: {absent_after_s: 3.0}\n"))
    assert [(e.name, e.phase, e.detail.get("truncated")) for e in closing] == [("driver_absent", "end", True)]
    assert pipeline.detectors[0] is not presence and pipeline.detectors[2] is distraction
    off = pipeline.reconfigure(parse_config("policy: {enabled: false}\n"))
    assert [(e.name, e.phase) for e in off if e.kind == "action"] == [("visual_icon", "end")]
    assert pipeline.policy_engine is None and pipeline.warning_active_since_t is None


def _driver_change_frame(t: float, speed_kph: float | None) -> tuple[Features, VehicleState]:
    """Driver 1 looks ahead (head pitch 0) until 130 s, the seat is empty 130-170 s, then
    driver 2, sitting lower, looks ahead at head pitch 16 deg."""
    if 130.0 <= t < 170.0:
        return Features(t, False), VehicleState(t, speed_kph=speed_kph)
    f = open_eyes_features(t)
    if t >= 170.0:
        f = dataclasses.replace(f, head_pitch_deg=16.0)
    return f, VehicleState(t, speed_kph=speed_kph)


def test_a_new_driver_after_the_seat_was_left_empty_is_calibrated_afresh():
    """Driver 1 drives 120 s looking ahead (head pitch 0), stops, leaves the seat for 40 s (a
    new journey); driver 2, sitting lower, looks ahead at head pitch 16 deg. Kept, driver 1's
    settled road-ahead direction made driver 2 look away for good: long_distraction at 174 s,
    unresponsive at 177 s, never ended, and an intervention once monitoring was active."""
    results = run("", [_driver_change_frame(i / 10, 0.0 if 120.0 <= i / 10 < 180.0 else 80.0) for i in range(3000)])
    events = [e for r in results for e in r.events]
    assert not [e for e in events if e.kind == "event" and e.name in ("long_distraction", "unresponsive")]
    assert not [e for e in events if e.kind == "action" and e.name in ("hazard_lights", "mrm_request")]
    journeys = [(e.t, e.detail["reason"]) for e in events if e.name == "journey_start"]
    assert journeys == [(0.0, "start"), (162.0, "driver_absent")]
    calibrating = [(round(e.t, 6), e.detail["calibrating"]) for e in events if e.name == "calibrating"]
    assert calibrating == [(0.0, True), (1.0, False), (162.1, True), (180.8, False)]
    [first, second] = [e.detail for e in events if e.name == "calibrated"]
    assert (first["neutral_pitch_deg"], second["neutral_pitch_deg"]) == (0.0, 16.0)


@pytest.mark.parametrize("policy", ["", "policy: {enabled: false}\n"])
def test_a_new_driver_is_calibrated_afresh_without_a_vehicle_speed_too(policy):
    """The same change of drivers on a unit without vehicle signals (speed unknown, as on an
    aftermarket camera with no CAN), or with the policy switched off: no journey can start
    (a journey's driver change needs a known standstill), so driver 1's settled road ahead
    stayed, and driver 2, attentive, got long_distraction at 174 s and unresponsive at 177 s
    for good (warnings from 174 s). A driver absent for journey.new_after_driver_absent_s (30 s) while the speed is
    not known to be moving now makes the calibration and the per-driver baselines learn afresh
    (no new journey: the activation minute and the ACKs are the policy's)."""
    def speed(t: float) -> float | None:
        return None if not policy else (0.0 if 120.0 <= t < 180.0 else 80.0)

    results = run(policy, [_driver_change_frame(i / 10, speed(i / 10)) for i in range(3000)])
    events = [e for r in results for e in r.events]
    assert not [e for e in events if e.kind == "event" and e.name in ("long_distraction", "unresponsive")]
    assert [(e.t, e.detail["reason"]) for e in events if e.name == "journey_start"] == ([(0.0, "start")] if not policy else [])
    calibrating = [(round(e.t, 6), e.detail["calibrating"]) for e in events if e.name == "calibrating"]
    # driver_absent from 132.0 (2 s), 30 s of it: learned afresh at 162.0 (after the detectors
    # ran: the next frame says so); driver 2's gaze is steady 0.8 s after he sits down (speed
    # unknown: moving; 80 % of the last second's frames) or once the car moves again.
    assert calibrating == [(0.0, True), (1.0, False), (162.1, True), (170.8 if not policy else 180.8, False)]
    [first, second] = [e.detail for e in events if e.name == "calibrated"]
    assert (first["neutral_pitch_deg"], second["neutral_pitch_deg"]) == (0.0, 16.0)


def test_a_face_lost_while_the_car_is_known_to_move_keeps_the_calibration():
    """40 s without a face at 80 km/h is the same driver (a covered camera): not learned afresh."""
    def frame(t: float) -> tuple[Features, VehicleState]:
        if 130.0 <= t < 170.0:
            return Features(t, False), VehicleState(t, speed_kph=80.0)
        return open_eyes_features(t), VehicleState(t, speed_kph=80.0)

    results = run("", [frame(i / 10) for i in range(2000)])
    events = [e for r in results for e in r.events]
    assert [round(e.t, 6) for e in events if e.name == "calibrating"] == [0.0, 1.0]
    assert len([e for e in events if e.name == "calibrated"]) == 1


# Neutral action units of two rendered faces (docs/emotion.md "What the landmarker reads"):
# astronaut and biden; biden's neutral is 0.46 browDown, 0.21 eyeSquint, 0.46 mouthPress above
# astronaut's, every anger group "shown" against astronaut's neutral.
ASTRONAUT = dict(brow_down=0.055, eye_squint=0.31, eye_wide=0.017, mouth_press=0.154, mouth_roll=0.028,
                 nose_sneer=0.0, jaw_forward=0.0)
BIDEN = dict(brow_down=0.515, eye_squint=0.521, eye_wide=0.003, mouth_press=0.611, mouth_roll=0.228,
             nose_sneer=0.0, jaw_forward=0.0)


def test_a_new_driver_learns_their_own_neutral_face_and_calm_heart_rate():
    """Driver 1 (astronaut's neutral face, 70 bpm on an external sensor) drives 120 s, stops and
    leaves the seat for 40 s (journey_start driver_absent at 162 s); driver 2 (biden's neutral
    face, resting 95 bpm) drives on with a neutral face. Kept, driver 1's baselines made driver
    2's neutral face anger (level 3 from 170.0, event at 173.0) and his resting heart rate stress
    (event at 178.4), both for the rest of the journey, with comfort actions."""
    def frame(t: float) -> tuple[Features, VehicleState]:
        speed = 0.0 if 120.0 <= t < 180.0 else 80.0
        if 130.0 <= t < 170.0:
            return Features(t, False), VehicleState(t, speed_kph=speed)
        units, bpm = (ASTRONAUT, 70.0) if t < 130.0 else (BIDEN, 95.0)
        return (dataclasses.replace(open_eyes_features(t), **units),
                VehicleState(t, speed_kph=speed, external_heart_rate_bpm=bpm))

    results = run("privacy: {anger: output}\n", [frame(i / 10) for i in range(3500)])
    events = [e for r in results for e in r.events]
    assert [(e.t, e.detail["reason"]) for e in events if e.name == "journey_start"] == [
        (0.0, "start"), (162.0, "driver_absent")]
    assert not [e for e in events if e.name in ("anger", "stress")]
    assert not [e for e in events if e.kind == "action" and e.detail.get("condition") in ("anger", "stress")]
    values = {round(r.t, 1): r.state.values for r in results}
    # Driver 1's neutral was learned by 30.0 s; driver 2's is learned from nothing once the car
    # moves again (learning needs >= 10 km/h: 180.0 s credits the 0.1 s since 179.9), 30 s of
    # frames later; stress's calm baseline after its 60 s, credited the same way (the time
    # stopped before 179.9 is not: stress_level None until then).
    assert values[161.9]["anger_neutral_learned_s"] == pytest.approx(30.0)
    assert values[162.1]["anger_neutral_learned_s"] == 0.0  # the detectors ran at 162.0 before the policy
    assert values[209.8]["anger_abstain"] == "learning" and values[209.9]["anger_abstain"] == "none"
    assert values[209.9]["anger_level"] == 0 and values[340.0]["anger_level"] == 0
    assert values[239.8]["stress_level"] is None and values[239.9]["stress_level"] == 0
    assert values[340.0]["stress_level"] == 0


def test_an_episode_open_when_a_new_driver_may_take_over_ends_there():
    """Angry at a stop (judged while stopped), the ignition is switched off at 50 s and on at
    60 s: the new journey (ignition_on) closes the anger episode at 60.0 (reason journey_start)
    and the next driver's neutral is learned from the start."""
    def frame(t: float) -> tuple[Features, VehicleState]:
        face = dataclasses.replace(open_eyes_features(t), **ASTRONAUT)
        if t >= 40.0:
            face = dataclasses.replace(face, brow_down=0.455, eye_squint=0.61, mouth_press=0.454)
        return face, VehicleState(t, speed_kph=80.0 if t < 40.0 else 0.0, ignition_on=not 50.0 <= t < 60.0)

    results = run("privacy: {anger: output}\n", [frame(i / 10) for i in range(700)])
    events = [e for r in results for e in r.events if e.name == "anger"]
    assert [(e.t, e.phase) for e in events] == [(43.1, "start"), (60.0, "end")]
    assert events[1].detail["reason"] == "journey_start" and events[1].detail["truncated"] is True
    assert results[601].state.values["anger_abstain"] == "learning"  # 60.1: after the reset
