"""The policy section of the config: defaults in default.yaml equal the models', partial
overrides keep a condition's own defaults, and every rule the engine relies on is enforced
when the file is loaded (one line naming the key)."""

from __future__ import annotations

import pytest
import yaml

from driver_monitor.config import DEFAULT_CONFIG_PATH, ConfigError, parse_config
from driver_monitor.config.policy import CONDITIONS, PolicyConfig


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    return info.value.problems


def test_default_yaml_policy_section_equals_the_model_defaults():
    data = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())["policy"]
    assert PolicyConfig.model_validate(data) == PolicyConfig()
    # every condition is spelled out in the file, every key of it too
    assert sorted(data["conditions"]) == sorted(CONDITIONS)
    keys = set(PolicyConfig().conditions.sleep.model_dump())
    for name in CONDITIONS:
        assert set(data["conditions"][name]) == keys, name


def test_documented_defaults_from_reference():
    c = PolicyConfig()
    assert (c.monitoring.activation_speed_kph, c.monitoring.activation_s) == (10.0, 60.0)
    for name in ("sleep", "microsleep", "unresponsive", "long_distraction", "visual_time_sharing", "phone_use"):
        cond = getattr(c.conditions, name)
        assert cond.min_speed_kph == 20.0 and cond.clear_on_forward_gaze and cond.clear_after_s == 1.0
    assert c.conditions.drowsy.min_speed_kph == 50.0
    assert c.conditions.drowsy.value_min == 7.0 and c.conditions.drowsy.start_stage_by_level == {8.0: 1, 9.0: 2}


def test_partial_override_keeps_the_conditions_own_defaults():
    c = parse_config("policy:\n  conditions:\n    sleep: {priority: 95}\n    drowsy: {min_speed_kph: 70}\n").policy
    assert c.conditions.sleep.priority == 95
    assert c.conditions.sleep.ladder == PolicyConfig().conditions.sleep.ladder
    assert c.conditions.drowsy.min_speed_kph == 70.0 and c.conditions.drowsy.value_key == "kss_level"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("policy:\n  conditions:\n    stress:\n      ladder: [{delay_s: 0, actions: [calm_cabin, chime]}]\n",
         "policy: conditions.stress is advisory only: comfort actions (ambient_light, calm_cabin, climate_comfort, media_volume_down, spoken_break_suggestion, suggest_break) allowed, not chime"),
        ("policy:\n  conditions:\n    stress:\n      ladder: [{delay_s: 0, actions: [hazard_lights]}]\n",
         "policy: conditions.stress is advisory only: comfort actions (ambient_light, calm_cabin, climate_comfort, media_volume_down, spoken_break_suggestion, suggest_break) allowed, not hazard_lights"),
        ("policy:\n  conditions:\n    stress: {ack_actions: [visual_icon]}\n",
         "policy: conditions.stress is advisory only: comfort actions (ambient_light, calm_cabin, climate_comfort, media_volume_down, spoken_break_suggestion, suggest_break) allowed, not visual_icon"),
        ("policy:\n  conditions:\n    eyes_unavailable:\n      ladder: [{delay_s: 12, actions: [visual_icon]}]\n",
         "policy: conditions.eyes_unavailable: degraded monitoring must tell the driver (visual_icon, chime, ...) within degraded_notice_within_s = 10 s"),
        ("policy:\n  conditions:\n    camera_fault:\n      ladder: [{delay_s: 0, actions: [adas_sensitivity]}]\n",
         "policy: conditions.camera_fault: degraded monitoring must tell the driver (visual_icon, chime, ...) within degraded_notice_within_s = 10 s"),
        ("policy:\n  conditions:\n    phone_use: {priority: 90}\n",
         "policy: conditions.phone_use.priority 90 equals conditions.sleep.priority; priorities must differ"),
        ("policy:\n  conditions:\n    sleep:\n      ladder: [{delay_s: 3, actions: []}, {delay_s: 3, actions: [chime]}]\n",
         "policy.conditions.sleep: ladder delay_s must strictly increase from stage to stage"),
        ("policy:\n  conditions:\n    sleep:\n      ladder: [{delay_s: 0, actions: [klaxon]}]\n",
         "policy.conditions.sleep.ladder.0.actions.0: Input should be 'visual_icon', 'chime', 'voice_prompt', 'haptic_seat', 'haptic_wheel', 'suggest_break', 'adas_sensitivity', 'hazard_lights', 'slow_down_request', 'mrm_request', 'calm_cabin', 'ambient_light', 'media_volume_down', 'spoken_break_suggestion' or 'climate_comfort' (got 'klaxon')"),
        ("policy:\n  conditions:\n    sleep: {priorty: 5}\n", "policy.conditions.sleep.priorty: unknown key (did you mean 'priority'? every key with its default: driver-monitor config --default)"),
        ("policy:\n  conditions:\n    slep: {}\n", "policy.conditions.slep: unknown key (did you mean 'sleep'? every key with its default: driver-monitor config --default)"),
        ("policy:\n  conditions:\n    drowsy: {repeat_every_s: 100}\n",
         "policy.conditions.drowsy: repeat_every_s must be longer than the last stage's delay_s"),
        ("policy:\n  conditions:\n    drowsy: {value_min: null}\n",
         "policy.conditions.drowsy: value_key and value_min go together (both null or both set)"),
        ("policy:\n  conditions:\n    microsleep: {recurrence_start_stage: 2}\n",
         "policy.conditions.microsleep: recurrence_start_stage 2 is beyond the ladder's 2 stages"),
        ("policy:\n  conditions:\n    drowsy: {start_stage_by_level: {9: 4}}\n",
         "policy.conditions.drowsy: start_stage_by_level 9: stage 4 is beyond the ladder's 4 stages"),
        ("policy:\n  conditions:\n    sleep: {ladder: []}\n",
         "policy.conditions.sleep.ladder: List should have at least 1 item after validation, not 0"),
        ("policy:\n  monitoring: {activation_s: -1}\n",
         "policy.monitoring.activation_s: Input should be greater than or equal to 0 (got -1)"),
    ],
)
def test_rules_are_enforced_with_one_line_naming_the_key(text, line):
    assert problems(text) == [line]


def test_a_disabled_condition_may_share_a_priority():
    c = parse_config("policy:\n  conditions:\n    phone_use: {priority: 90, enabled: false}\n").policy
    assert c.conditions.phone_use.enabled is False


def test_can_and_serial_encoders_know_every_action_and_condition():
    fields = pytest.importorskip("driver_monitor.outputs.fields")
    from driver_monitor.policy.actions import ACTIONS

    assert set(fields.ACTIONS) == set(ACTIONS)  # every action has a CAN signal and a serial bit
    assert set(CONDITIONS) <= set(fields.WARNING_REASONS)  # every condition has a reason code



@pytest.mark.parametrize(
    ("key", "line"),
    [
        ("stress_levl", "policy.conditions.stress.value_key: no detector gives this per-frame value "
                        "(did you mean 'stress_level'? the columns are in docs/features.md) (got 'stress_levl')"),
        ("pulse", "policy.conditions.stress.value_key: no detector gives this per-frame value "
                  "(the columns are in docs/features.md) (got 'pulse')"),
    ],
)
def test_a_value_key_no_detector_gives_is_refused(tmp_path, capsys, key, line):
    # The condition compared a value that never came (None: inactive) with value_min, so a
    # misspelt key validated and the condition never activated by its level, without a word.
    # check-config (and the daemon's load) refuse it, and so does every pipeline (replay).
    from driver_monitor.cli import main
    from driver_monitor.pipeline import Pipeline

    text = f"policy:\n  conditions:\n    stress: {{value_key: '{key}', value_min: 2}}\n"
    path = tmp_path / "c.yaml"
    path.write_text(text)
    assert main(["check-config", str(path)]) == 2
    assert capsys.readouterr().err.splitlines() == [f"error: {line}"]
    with pytest.raises(ConfigError) as info:
        Pipeline(parse_config(text), None, image_models=False)
    assert info.value.problems == [line]


@pytest.mark.parametrize("key", ["stress_level", "kss_score", "perclos_60s", "expression_anger"])
def test_a_value_key_of_any_detector_column_or_the_expression_model_is_taken(key):
    from driver_monitor.pipeline import value_key_problems

    config = parse_config(f"policy:\n  conditions:\n    stress: {{value_key: {key}, value_min: 2}}\n")
    assert value_key_problems(config) == []
