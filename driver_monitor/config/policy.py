"""Config of the policy engine: per-condition escalation ladders, speed gates, clearing,
cooldowns, repeats, ACK, recurrence, journeys (docs/policy.md).

Every default cites ../shared/REFERENCE.md ([REF: topic]). The comments above the fields
and above each entry of CONDITION_DEFAULTS are the ones default.yaml shows: it is generated
from this module (config/defaults.py).
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from pydantic import Field, model_validator

from driver_monitor.config.base import Section
from driver_monitor.names import (
    ADVISORY_CONDITIONS,
    COMFORT_ACTIONS,
    CONDITIONS,
    DEGRADED_CONDITIONS,
    DRIVER_NOTICE_ACTIONS,
    Action,
)

__all__ = ["ADVISORY_CONDITIONS", "CONDITIONS", "DEGRADED_CONDITIONS", "ConditionPolicy", "PolicyConfig"]


class Stage(Section):
    # Seconds after the condition's episode started (when the detector fired) at which this
    # stage replaces the previous one. Actions are the stage's full set (not cumulative).
    delay_s: float = Field(ge=0.0, le=3600.0)
    actions: list[Action] = []

    @model_validator(mode="after")
    def _unique(self) -> Stage:
        if len(set(self.actions)) != len(self.actions):
            raise ValueError("actions listed twice")
        return self


class ConditionPolicy(Section):
    enabled: bool = True
    # Higher wins the driver-facing actions when conditions overlap (unique per condition).
    priority: int = Field(0, ge=0, le=1000)
    # Speed gate: the condition's actions are only given at or above this speed (unknown
    # speed = moving). 0 = no gate beyond monitoring activation.
    min_speed_kph: float = Field(0.0, ge=0.0, le=250.0)
    # An instantaneous detector event (phase None, e.g. a microsleep reported when it ended)
    # keeps the condition active this long.
    hold_s: float = Field(3.0, ge=0.0, le=600.0)
    # Optional per-frame level that also makes the condition active: DriverState value
    # `value_key` >= `value_min` (e.g. drowsy: kss_level >= 7). null = not used.
    value_key: str | None = None
    value_min: float | None = None
    # Level (event detail "level" or the value above) -> lowest ladder stage to start at.
    start_stage_by_level: dict[float, int] = {}
    # Clearing hysteresis: the episode ends once the condition has been inactive this long,
    # or, with clear_on_forward_gaze, once eyes_on_road has been true this long without a
    # break (time since the condition ended when the gaze is not measured). A warning of such
    # a condition also starts the detectors' unresponsive clock (warning_since_t).
    clear_after_s: float = Field(1.0, ge=0.0, le=600.0)
    clear_on_forward_gaze: bool = False
    # A new episode within this time after the last one ended is held back until it passes.
    cooldown_s: float = Field(0.0, ge=0.0, le=86400.0)
    # Rate limit: at most this many episodes start within any hour of the journey; one more
    # is held back until the oldest is an hour old (null = no limit). The comfort conditions
    # use it so calming never turns into nagging (docs/policy.md "Comfort").
    max_episodes_per_hour: int | None = Field(None, ge=1, le=3600)
    # While an episode lasts, restart its ladder every repeat_every_s (null = never), at
    # most max_repeats times per episode; a driver ACK stops repeats for the journey.
    repeat_every_s: float | None = Field(None, gt=0.0, le=86400.0)
    max_repeats: int = Field(0, ge=0, le=1000)
    # Whether a driver ACK may quieten this condition until the next journey, and what the
    # driver still gets after it (e.g. the icon).
    ack_allowed: bool = False
    ack_actions: list[Action] = []
    # Recurrence: the recurrence_count-th episode within recurrence_window_s starts at
    # recurrence_start_stage (0 = off).
    recurrence_count: int = Field(0, ge=0, le=100)
    recurrence_window_s: float = Field(600.0, gt=0.0, le=86400.0)
    recurrence_start_stage: int = Field(0, ge=0)
    ladder: list[Stage] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> ConditionPolicy:
        delays = [s.delay_s for s in self.ladder]
        if any(b <= a for a, b in zip(delays, delays[1:], strict=False)):
            raise ValueError("ladder delay_s must strictly increase from stage to stage")
        n = len(self.ladder)
        if self.recurrence_start_stage >= n:
            raise ValueError(f"recurrence_start_stage {self.recurrence_start_stage} is beyond the ladder's {n} stages")
        for level, stage in self.start_stage_by_level.items():
            if not 0 <= stage < n:
                raise ValueError(f"start_stage_by_level {level:g}: stage {stage} is beyond the ladder's {n} stages")
        if self.repeat_every_s is not None and self.repeat_every_s <= delays[-1]:
            raise ValueError("repeat_every_s must be longer than the last stage's delay_s")
        if (self.value_key is None) != (self.value_min is None):
            raise ValueError("value_key and value_min go together (both null or both set)")
        return self


def _stage(delay_s: float, *actions: str) -> dict[str, Any]:
    return {"delay_s": delay_s, "actions": list(actions)}


# Per-condition defaults; the comment above each entry is the one default.yaml shows. A
# condition given in a config file is merged key by key over these, so `sleep: {priority: 5}`
# keeps the sleep ladder.
CONDITION_DEFAULTS: dict[str, dict[str, Any]] = {
    # Eyes closed >= 6 s, eyes away >= 6 s, or gaze not back within 3 s of a warning:
    # intervene with hazards and slow down / minimum-risk manoeuvre [REF: unresponsive driver];
    # responses from 20 km/h [REF: speed gates]; ends on 1 s forward gaze [REF: intervention end].
    "unresponsive": {
        "priority": 100, "min_speed_kph": 20.0, "clear_after_s": 1.0, "clear_on_forward_gaze": True,
        "ladder": [
            _stage(0.0, "visual_icon", "chime", "voice_prompt", "haptic_seat", "haptic_wheel",
                   "hazard_lights", "slow_down_request"),
            _stage(10.0, "visual_icon", "voice_prompt", "haptic_seat", "haptic_wheel",
                   "hazard_lights", "slow_down_request", "mrm_request"),
        ],
    },
    # Sleep fires at >= 3 s closure [REF: sleep]; 3 s later the eyes have been closed 6 s,
    # the unresponsive threshold [REF: unresponsive driver], so the ladder intervenes.
    "sleep": {
        "priority": 90, "min_speed_kph": 20.0, "clear_after_s": 1.0, "clear_on_forward_gaze": True,
        "ladder": [
            _stage(0.0, "visual_icon", "chime", "voice_prompt", "haptic_seat"),
            _stage(3.0, "visual_icon", "voice_prompt", "haptic_seat", "haptic_wheel",
                   "hazard_lights", "slow_down_request"),
            _stage(10.0, "visual_icon", "voice_prompt", "haptic_seat", "haptic_wheel",
                   "hazard_lights", "slow_down_request", "mrm_request"),
        ],
    },
    # Microsleep = 1-2 s closure [REF: microsleep], often reported once when it ends:
    # held 3 s. The 3rd within 10 min starts at the break suggestion.
    "microsleep": {
        "priority": 80, "min_speed_kph": 20.0, "hold_s": 3.0, "clear_after_s": 1.0,
        "clear_on_forward_gaze": True,
        "recurrence_count": 3, "recurrence_window_s": 600.0, "recurrence_start_stage": 1,
        "ladder": [
            _stage(0.0, "visual_icon", "chime", "haptic_seat"),
            _stage(5.0, "visual_icon", "voice_prompt", "suggest_break", "adas_sensitivity"),
        ],
    },
    # Phone use is a kind of visual time sharing [REF: phone use]; from 20 km/h.
    "phone_use": {
        "priority": 70, "min_speed_kph": 20.0, "clear_after_s": 1.0, "clear_on_forward_gaze": True,
        "recurrence_count": 3, "recurrence_window_s": 600.0, "recurrence_start_stage": 1,
        "ladder": [
            _stage(0.0, "visual_icon", "chime"),
            _stage(5.0, "visual_icon", "voice_prompt", "adas_sensitivity"),
        ],
    },
    # Fires at >= 3 s off road [REF: long distraction]; openpilot escalates to an audible
    # prompt at 5 s and its terminal alert at 11 s off road [REF: openpilot], i.e. +2 s, +8 s.
    "long_distraction": {
        "priority": 65, "min_speed_kph": 20.0, "clear_after_s": 1.0, "clear_on_forward_gaze": True,
        "recurrence_count": 3, "recurrence_window_s": 300.0, "recurrence_start_stage": 1,
        "ladder": [
            _stage(0.0, "visual_icon", "chime"),
            _stage(2.0, "visual_icon", "voice_prompt", "haptic_seat", "adas_sensitivity"),
            _stage(8.0, "visual_icon", "voice_prompt", "haptic_seat", "haptic_wheel", "adas_sensitivity"),
        ],
    },
    # >= 10 s off road within 30 s [REF: short distraction (VATS)]; from 20 km/h.
    "visual_time_sharing": {
        "priority": 60, "min_speed_kph": 20.0, "clear_after_s": 1.0, "clear_on_forward_gaze": True,
        "recurrence_count": 3, "recurrence_window_s": 600.0, "recurrence_start_stage": 1,
        "ladder": [
            _stage(0.0, "visual_icon", "chime"),
            _stage(5.0, "visual_icon", "voice_prompt", "adas_sensitivity"),
        ],
    },
    # Impairment responses from 50 km/h [REF: speed gates] (DDAW would be 70 km/h: set
    # min_speed_kph: 70). DDAW warns at KSS >= 8, may at 7, and warnings may escalate until
    # acknowledged [REF: DDAW drowsiness]: KSS 7 advises, 8 warns, 9 adds seat haptics; the
    # ladder escalates after 1 and 2 min, then quietens to the icon and repeats every 5 min.
    "drowsy": {
        "priority": 55, "min_speed_kph": 50.0, "hold_s": 60.0,
        "value_key": "kss_level", "value_min": 7.0, "start_stage_by_level": {8.0: 1, 9.0: 2},
        "clear_after_s": 30.0, "cooldown_s": 0.0, "repeat_every_s": 300.0, "max_repeats": 3,
        "ack_allowed": True, "ack_actions": ["visual_icon", "adas_sensitivity"],
        "ladder": [
            _stage(0.0, "visual_icon", "suggest_break"),
            _stage(60.0, "visual_icon", "chime", "voice_prompt", "suggest_break", "adas_sensitivity"),
            _stage(120.0, "visual_icon", "voice_prompt", "haptic_seat", "suggest_break", "adas_sensitivity"),
            _stage(130.0, "visual_icon", "adas_sensitivity"),
        ],
    },
    # Degraded monitoring: tell the driver within 10 s [REF: degraded monitoring]; from
    # 10 km/h, when monitoring is active [REF: speed gates]. No intervention: a knocked
    # camera must not stop the car; unresponsive covers a driver who really is gone.
    "driver_absent": {
        "priority": 50, "min_speed_kph": 10.0, "clear_after_s": 0.5,
        "ladder": [
            _stage(0.0, "visual_icon", "chime"),
            _stage(4.0, "visual_icon", "voice_prompt", "haptic_seat"),
            _stage(10.0, "visual_icon"),
        ],
    },
    "eyes_unavailable": {
        "priority": 45, "min_speed_kph": 10.0, "clear_after_s": 2.0,
        "ack_allowed": True, "ack_actions": ["visual_icon"],
        # 1.5 s after the detector's 8 s (drowsiness.eyes.unavailable_after_s): 9.5 s from
        # the eyes' loss, inside Euro NCAP's 10 s (checked in config/root.py).
        "ladder": [
            _stage(1.5, "visual_icon", "chime"),
            _stage(6.0, "visual_icon"),
        ],
    },
    "camera_fault": {
        "priority": 40, "min_speed_kph": 10.0, "clear_after_s": 2.0,
        "ack_allowed": True, "ack_actions": ["visual_icon"],
        "ladder": [
            _stage(0.0, "visual_icon", "chime"),
            _stage(3.0, "visual_icon"),
        ],
    },
    # Advisory only, comfort actions only, never interventions [REF: Heart rate and stress];
    # at most once per 10 min. stress_level is not used by default (its scale is the stress
    # detector's; set value_key/value_min to use it).
    "stress": {
        "priority": 10, "min_speed_kph": 10.0, "clear_after_s": 10.0, "cooldown_s": 600.0,
        "ack_allowed": True, "ack_actions": [],
        "ladder": [
            _stage(0.0, "calm_cabin"),
            _stage(60.0, "calm_cabin", "suggest_break"),
        ],
    },
    # Anger / frustration and daydreaming (docs/emotion.md): advisory, weaker evidence than
    # stress, comfort actions only [REF: Emotion, anger and daydreaming]. Lowest priorities:
    # any safety condition wins the driver's attention; calming, never lecturing: light and
    # volume first, fresh air after a minute; 15 min apart, at most twice an hour.
    "anger": {
        "priority": 9, "min_speed_kph": 10.0, "clear_after_s": 10.0, "cooldown_s": 900.0, "max_episodes_per_hour": 2,
        "ack_allowed": True, "ack_actions": [],
        "ladder": [
            _stage(0.0, "ambient_light", "media_volume_down"),
            _stage(60.0, "ambient_light", "media_volume_down", "climate_comfort"),
        ],
    },
    # Eyes on the road, mind elsewhere, at speed: fresh air first, a spoken break suggestion
    # if it lasts 2 min; 20 min apart, at most twice an hour.
    "daydreaming": {
        "priority": 8, "min_speed_kph": 60.0, "clear_after_s": 5.0, "cooldown_s": 1200.0, "max_episodes_per_hour": 2,
        "ack_allowed": True, "ack_actions": [],
        "ladder": [
            _stage(0.0, "climate_comfort"),
            _stage(120.0, "climate_comfort", "spoken_break_suggestion"),
        ],
    },
}


class ConditionsConfig(Section):
    """Per condition (named after the detector event it follows): when it acts and how it
    escalates (docs/policy.md). A condition given in a file is merged key by key over its
    defaults, so `sleep: {priority: 5}` keeps the sleep ladder. The keys are explained at
    the first condition; actions: visual_icon, chime, voice_prompt, haptic_seat,
    haptic_wheel, suggest_break, adas_sensitivity, hazard_lights, slow_down_request,
    mrm_request, calm_cabin; comfort (advisory conditions only): ambient_light,
    media_volume_down, spoken_break_suggestion, climate_comfort."""

    unresponsive: ConditionPolicy
    sleep: ConditionPolicy
    microsleep: ConditionPolicy
    phone_use: ConditionPolicy
    long_distraction: ConditionPolicy
    visual_time_sharing: ConditionPolicy
    drowsy: ConditionPolicy
    driver_absent: ConditionPolicy
    eyes_unavailable: ConditionPolicy
    camera_fault: ConditionPolicy
    stress: ConditionPolicy
    anger: ConditionPolicy
    daydreaming: ConditionPolicy

    @model_validator(mode="before")
    @classmethod
    def _merge_defaults(cls, data: Any) -> Any:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            return data  # pydantic reports the wrong type
        merged: dict[str, Any] = {}
        for name, defaults in CONDITION_DEFAULTS.items():
            given = data.get(name)
            if isinstance(given, dict):
                merged[name] = {**deepcopy(defaults), **given}
            elif given is None:
                merged[name] = deepcopy(defaults)
            else:
                merged[name] = given
        merged.update({k: v for k, v in data.items() if k not in CONDITION_DEFAULTS})  # -> unknown key
        return merged

    def items(self) -> list[tuple[str, ConditionPolicy]]:
        return [(name, getattr(self, name)) for name in CONDITIONS]


class MonitoringConfig(Section):
    # Monitoring becomes active once the vehicle has been at >= activation_speed_kph for
    # activation_s in this journey (cumulated; unknown speed counts as moving)
    # [REF: speed gates "monitoring active after 1 min at >= 10 km/h"].
    activation_speed_kph: float = Field(10.0, ge=0.0, le=250.0)
    activation_s: float = Field(60.0, ge=0.0, le=3600.0)
    # A condition's speed gate opens at its min_speed_kph and closes only below
    # min_speed_kph - this, so a speed hovering at the gate does not toggle warnings (our
    # choice: about the speedometer's own tolerance).
    speed_gate_hysteresis_kph: float = Field(2.0, ge=0.0, le=50.0)


class JourneyConfig(Section):
    # A new journey (ACK suppression, recurrence history and monitoring activation reset)
    # starts at each ignition on [REF: acknowledgement "resets each journey"], or after a
    # standstill this long, or after the driver was absent this long at standstill (driver
    # change). Speeds below standstill_kph count as standstill; unknown speed never does.
    # 10 min and 30 s are our choice: no standard gives a number.
    standstill_kph: float = Field(1.0, ge=0.0, le=20.0)
    new_after_standstill_s: float = Field(600.0, gt=0.0, le=86400.0)
    new_after_driver_absent_s: float = Field(30.0, gt=0.0, le=86400.0)


class PolicyConfig(Section):
    enabled: bool = True
    monitoring: MonitoringConfig = MonitoringConfig()
    journey: JourneyConfig = JourneyConfig()
    # Degraded monitoring must reach the driver within this time of the detector firing
    # [REF: degraded monitoring]: checked against the ladders of DEGRADED_CONDITIONS.
    degraded_notice_within_s: float = Field(10.0, gt=0.0, le=60.0)
    conditions: ConditionsConfig = ConditionsConfig()

    @model_validator(mode="after")
    def _rules(self) -> PolicyConfig:
        priorities: dict[int, str] = {}
        for name, cond in self.conditions.items():
            if not cond.enabled:
                continue
            if cond.priority in priorities:
                raise ValueError(
                    f"conditions.{name}.priority {cond.priority} equals conditions.{priorities[cond.priority]}.priority; priorities must differ"
                )
            priorities[cond.priority] = name
            if name in ADVISORY_CONDITIONS:
                used = {a for s in cond.ladder for a in s.actions} | set(cond.ack_actions)
                extra = sorted(used - COMFORT_ACTIONS)
                if extra:
                    raise ValueError(
                        f"conditions.{name} is advisory only: comfort actions ({', '.join(sorted(COMFORT_ACTIONS))}) allowed, not {', '.join(extra)}"
                    )
            if name in DEGRADED_CONDITIONS:
                first = next((s for s in cond.ladder if DRIVER_NOTICE_ACTIONS & set(s.actions)), None)
                if first is None or first.delay_s > self.degraded_notice_within_s:
                    raise ValueError(
                        f"conditions.{name}: degraded monitoring must tell the driver (visual_icon, chime, ...) within degraded_notice_within_s = {self.degraded_notice_within_s:g} s"
                    )
        return self
