"""The distraction detector inside the real Pipeline (process_features: no video), with the
drowsiness detector before it and the policy engine after it."""

from __future__ import annotations

import pytest
from distraction_drive import features

from driver_monitor.config import load_config
from driver_monitor.messages import VehicleState
from driver_monitor.pipeline import Pipeline

FPS = 30.0


def _config(**distraction):
    config = load_config()
    policy = config.policy.model_copy(
        update={"monitoring": config.policy.monitoring.model_copy(update={"activation_s": 0.0})}
    )
    update = {"policy": policy}
    if distraction:
        section = config.distraction
        update["distraction"] = section.model_copy(
            update={k: getattr(section, k).model_copy(update=v) for k, v in distraction.items()}
        )
    return config.model_copy(update=update)


def _run(pipeline: Pipeline, segments, speed_kph: float | None = 80.0):
    results = []
    start, frame = 0.0, 0
    for duration, where in segments:
        end = start + duration
        while (t := frame / FPS) < end - 1e-9:
            results.append(pipeline.process_features(features(t, where), VehicleState(t=t, speed_kph=speed_kph)))
            frame += 1
        start = end
    return results


def _events(results, name, phase="start"):
    return [e for r in results for e in r.events if e.kind == "event" and e.name == name and e.phase == phase]


def test_pipeline_exposes_the_distraction_columns_and_events():
    # Camera mount auto: 2 s on the road give the road ahead (steady 1.5 s), then a glance.
    pipeline = Pipeline(_config(), tracker=None)
    results = _run(pipeline, [(2.0, "road"), (4.0, "infotainment"), (2.0, "road")])
    (start,) = _events(results, "long_distraction")
    assert start.t == pytest.approx(5.0) and start.detail["onset_t"] == pytest.approx(2.0)
    during = next(r for r in results if r.t >= 5.5)
    assert "long_distraction" in during.state.active
    values = during.state.values
    assert values["gaze_zone"] == "infotainment" and values["eyes_on_road"] is False
    assert values["eyes_off_road_s"] == pytest.approx(3.5) and values["distraction_level"] == 2
    row = during.row()
    for key in ("gaze_yaw_deg_abs", "gaze_pitch_deg_abs", "gaze_zone", "eyes_on_road", "eyes_off_road_s", "attend_buffer_s", "distraction_level"):
        assert key in row
    assert "long_distraction" not in results[-1].state.active


def test_policy_warning_comes_back_and_raises_unresponsive_3_s_later():
    # The long distraction at 5.0 makes the policy warn (chime); the warning start reaches
    # the detectors one frame late; the eyes stay away, so unresponsive fires 3 s after it.
    pipeline = Pipeline(_config(unresponsive={"away_or_closed_s": 30.0}), tracker=None)
    results = _run(pipeline, [(2.0, "road"), (9.0, "infotainment")])
    warned = [r for r in results if r.policy is not None and r.policy.warning_since_t is not None]
    assert warned, "the policy never warned"
    w = warned[0].policy.warning_since_t
    assert w == pytest.approx(5.0)
    (start,) = _events(results, "unresponsive")
    assert start.detail["reason"] == "no_return_after_warning"
    assert start.detail["warning_since_t"] == pytest.approx(w) and start.t == pytest.approx(w + 3.0)


def test_events_are_raised_whatever_the_speed_with_a_known_mount():
    config = _config()
    mount = config.camera.mount.model_copy(update={"placement": "steering_column"})
    config = config.model_copy(update={"camera": config.camera.model_copy(update={"mount": mount})})
    pipeline = Pipeline(config, tracker=None)
    # The steering column sees the road ahead at pitch -15: this driver looks 15 deg above it
    # for a second, then at the infotainment screen.
    results = _run(pipeline, [(1.0, {"head_pitch_deg": -15.0}), (4.0, "infotainment")], speed_kph=0.0)
    (start,) = _events(results, "long_distraction")
    assert start.t == pytest.approx(4.0) and results[0].state.values["calibrating"] is False


def test_an_unknown_mount_is_learned_only_at_speed():
    # Parked, a driver looks anywhere: the road ahead is learned at speed (or unknown speed),
    # so a parked car with an `auto` mount stays calibrating and raises no distraction.
    pipeline = Pipeline(_config(), tracker=None)
    results = _run(pipeline, [(2.0, "road"), (4.0, "infotainment")], speed_kph=0.0)
    assert _events(results, "long_distraction") == []
    assert all(r.state.values["calibrating"] for r in results)
    assert all(r.state.values["distraction_level"] is None for r in results)


SHUT = {"eye_blink_left": 0.8, "eye_blink_right": 0.8, "ear_left": 0.0, "ear_right": 0.0, "eye_look_down": 0.73}
UNJUDGED = {"eye_blink_left": float("nan"), "eye_blink_right": float("nan"), "ear_left": float("nan"),
            "ear_right": float("nan")}


def test_eyes_unjudgeable_during_a_sleep_do_not_end_the_intervention():
    # Eyes closed 60-75 s at 80 km/h, the head forward; 68.0-69.6 the eyes cannot be judged
    # (the face is still tracked). Nothing shows them open before 75: unresponsive and its
    # hazard lights / slow-down go on until 1 s of forward gaze after 75 (they stopped at
    # 69.5 and the minimum-risk manoeuvre request never came).
    pipeline = Pipeline(_config(), tracker=None)
    results = _run(pipeline, [(60.0, "road"), (8.0, SHUT), (1.6, UNJUDGED), (5.4, SHUT), (3.0, "road")])
    # Sleep at 63 warns; the gaze is not back 3 s later.
    (start,) = _events(results, "unresponsive")
    assert start.t == pytest.approx(64.0) and start.detail["reason"] == "no_return_after_warning"
    (end,) = _events(results, "unresponsive", "end")
    assert end.t == pytest.approx(76.0) and end.detail["onset_t"] == pytest.approx(75.0)
    actions = [(e.name, e.phase, e.t) for r in results for e in r.events if e.kind == "action"]
    for name in ("hazard_lights", "slow_down_request"):
        assert [(a[1], pytest.approx(a[2])) for a in actions if a[0] == name] == [("start", 64.0), ("end", 76.0)]
    # The sleep ladder's minimum-risk manoeuvre request, 10 s after the sleep warning.
    assert ("mrm_request", "start", pytest.approx(73.0)) in actions
