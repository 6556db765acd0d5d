"""What the policy engine's actions do (docs/policy.md "Actions"): their levels, and which
ones the driver sees, hears or feels. The vocabulary itself (Action, ACTIONS) is in
driver_monitor/names.py, where the config validates ladders against it.
"""

from __future__ import annotations

from driver_monitor.names import ACTIONS, COMFORT_ACTIONS, DRIVER_NOTICE_ACTIONS, Action

__all__ = [
    "ACTIONS", "ACTION_LEVEL", "COMFORT_ACTIONS", "DRIVER_NOTICE_ACTIONS", "HMI_ACTIONS", "VEHICLE_ACTIONS",
    "Action", "level_of",
]

# PolicyState.level: 0 none, 1 advisory, 2 warning, 3 intervention. A stage's level is the
# highest level of its actions: a warning asks the driver to react now (sound, voice,
# haptics), an intervention acts on the vehicle (Euro NCAP "unresponsive driver": hazards,
# slow down / minimum-risk manoeuvre, REFERENCE.md).
LEVEL_NONE, LEVEL_ADVISORY, LEVEL_WARNING, LEVEL_INTERVENTION = 0, 1, 2, 3
ACTION_LEVEL: dict[str, int] = {
    "visual_icon": LEVEL_ADVISORY,
    "suggest_break": LEVEL_ADVISORY,
    "calm_cabin": LEVEL_ADVISORY,
    "adas_sensitivity": LEVEL_ADVISORY,
    # Comfort actions (docs/policy.md "Comfort"): advisory, never a warning.
    "ambient_light": LEVEL_ADVISORY,
    "media_volume_down": LEVEL_ADVISORY,
    "spoken_break_suggestion": LEVEL_ADVISORY,
    "climate_comfort": LEVEL_ADVISORY,  # earlier FCW / LDW: helps without bothering the driver
    "chime": LEVEL_WARNING,
    "voice_prompt": LEVEL_WARNING,
    "haptic_seat": LEVEL_WARNING,
    "haptic_wheel": LEVEL_WARNING,
    "hazard_lights": LEVEL_INTERVENTION,
    "slow_down_request": LEVEL_INTERVENTION,
    "mrm_request": LEVEL_INTERVENTION,
}

# What the driver sees, hears or feels: only the highest-priority condition drives these, so
# concurrent conditions never stack sounds and icons. The remaining actions are vehicle-side
# measures (ADAS sensitivity, hazards, slow-down, MRM, cabin comfort): they are the union over
# every condition that asks for one, so a higher-priority warning never switches off, say,
# the raised FCW sensitivity a drowsy driver needs.
HMI_ACTIONS: frozenset[str] = frozenset(
    {"visual_icon", "chime", "voice_prompt", "haptic_seat", "haptic_wheel", "suggest_break", "spoken_break_suggestion"}
)
VEHICLE_ACTIONS: frozenset[str] = frozenset(ACTIONS) - HMI_ACTIONS


def level_of(actions: frozenset[str] | set[str] | list[str] | tuple[str, ...]) -> int:
    return max((ACTION_LEVEL[a] for a in actions), default=LEVEL_NONE)
