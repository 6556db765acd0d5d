"""Comfort actions for the advisory emotional conditions (anger, daydreaming; docs/policy.md
"Comfort"): their own ladders, cooldown and hourly rate limit, and they never pre-empt or
delay a safety warning. Policy engine driven at exact times (tests/policy_sim.py)."""

from __future__ import annotations

import pytest
from policy_sim import Sim, policy_config

from driver_monitor.config import ConfigError, parse_config
from driver_monitor.messages import DriverState, Features, FrameResult, VehicleState
from driver_monitor.outputs.fields import WARNING_REASONS, warning_fields


def test_anger_ladder_light_and_volume_then_fresh_air() -> None:
    sim = Sim(hz=2)
    sim.until(10.0)
    sim.step(("anger", "start"))
    sim.until(80.0)
    assert sim.actions(9.5) == set()
    assert sim.actions(10.0) == {"ambient_light", "media_volume_down"} and sim.at(10.0).level == 1
    assert sim.actions(69.5) == {"ambient_light", "media_volume_down"}
    assert sim.actions(70.0) == {"ambient_light", "media_volume_down", "climate_comfort"}
    assert sim.at(70.0).condition == "anger"


def test_daydreaming_needs_speed_and_speaks_only_after_two_minutes() -> None:
    sim = Sim(hz=2, speed_kph=50.0)
    sim.until(10.0)
    sim.step(("daydreaming", "start"))
    sim.until(20.0)
    assert sim.actions(15.0) == set()  # gate: 60 km/h
    sim.speed_kph = 100.0
    sim.until(200.0)
    assert sim.actions(20.0) == {"climate_comfort"}
    assert sim.actions(139.5) == {"climate_comfort"}
    assert sim.actions(140.0) == {"climate_comfort", "spoken_break_suggestion"}


def test_cooldown_then_at_most_two_episodes_an_hour() -> None:
    sim = Sim(hz=1)
    for start in (0.0, 1000.0, 2000.0, 3000.0, 3700.0):
        sim.until(start)
        sim.step(("anger", "start"))
        sim.until(start + 20.0)
        sim.step(("anger", "end"))
    sim.until(3800.0)
    # 1st at 0 (ends 30 after 10 s clearing), 2nd at 1000 (cooldown 900 s over at 930),
    # 3rd at 2000 held back: two started within the hour; 4th at 3000 also (0 and 1000);
    # at 3700 the hour since 0 is over, but 1000 still counts: one in the hour, so it runs.
    starts = [t for t, name, phase, _ in sim.action_log() if name == "ambient_light" and phase == "start"]
    assert starts == [0.0, 1000.0, 3700.0]


def test_a_safety_warning_is_neither_pre_empted_nor_delayed_by_comfort() -> None:
    def run(with_anger: bool) -> Sim:
        sim = Sim(hz=10)
        sim.until(5.0)
        sim.step(*([("anger", "start")] if with_anger else []))
        sim.until(20.0)
        sim.step(("sleep", "start"))
        sim.until(40.0)
        return sim

    calm, angry = run(False), run(True)
    for t in (20.0, 22.9, 23.0, 30.0, 39.9):
        hmi = {"visual_icon", "chime", "voice_prompt", "haptic_seat", "haptic_wheel"}
        assert angry.actions(t) & hmi == calm.actions(t) & hmi, t  # same warning at the same frame
        assert angry.at(t).condition == "sleep" and angry.at(t).level == calm.at(t).level
    assert angry.actions(19.9) == {"ambient_light", "media_volume_down"}


def test_a_spoken_suggestion_yields_to_a_warning() -> None:
    sim = Sim(hz=10)
    sim.until(1.0)
    sim.step(("daydreaming", "start"))
    sim.until(125.0)
    sim.step(("long_distraction", "start"))
    sim.until(130.0)
    assert "spoken_break_suggestion" not in sim.actions(120.9)
    assert "spoken_break_suggestion" in sim.actions(121.0)  # 120 s into the episode
    assert "spoken_break_suggestion" not in sim.actions(125.0)  # the warning speaks now
    assert {"visual_icon", "chime"} <= sim.actions(125.0) and sim.at(125.0).condition == "long_distraction"


def test_comfort_reasons_on_the_wire() -> None:
    sim = Sim(hz=2)
    sim.step(("anger", "start"))
    state = sim.at(0.0)
    result = FrameResult(0.0, Features(t=0.0, face_present=True), VehicleState(t=0.0), DriverState(0.0, True), [], state)
    fields = warning_fields(result)
    assert fields.reason == WARNING_REASONS["anger"] == 12
    assert fields.actions == {"ambient_light", "media_volume_down"}


@pytest.mark.parametrize("text, line", [
    ("policy:\n  conditions:\n    anger:\n      ladder: [{delay_s: 0, actions: [chime]}]\n",
     "conditions.anger is advisory only"),
    ("policy:\n  conditions:\n    daydreaming: {max_episodes_per_hour: 0}\n",
     "policy.conditions.daydreaming.max_episodes_per_hour"),
])
def test_comfort_config_is_checked(text, line) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(text)
    assert line in str(err.value)


def test_defaults_rate_limit_the_comfort_conditions() -> None:
    c = policy_config().conditions
    assert (c.anger.max_episodes_per_hour, c.daydreaming.max_episodes_per_hour, c.sleep.max_episodes_per_hour) == (2, 2, None)
