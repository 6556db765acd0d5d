"""The project's names in one place: event, state, condition, action and column names.

Every name here is part of a contract a user or integrator reads: the event log
(docs/event-log.md), the per-frame table (docs/features.md), the policy config
(docs/policy.md) and the CAN / serial value tables (docs/can.md). They are `StrEnum`s, so a
member IS its string (`EventName.SLEEP == "sleep"`, `json.dumps` writes "sleep") and code
that compares with a plain string keeps working; a misspelt member is an AttributeError at
import instead of a silently wrong name.

Nothing here imports anything of the project: every layer may use it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal


class EventName(StrEnum):
    """`kind: "event"` names: what the detectors (and the camera health stage) found."""

    BLINK = "blink"
    MICROSLEEP = "microsleep"
    SLEEP = "sleep"
    YAWN = "yawn"
    NOD = "nod"
    DROWSY = "drowsy"
    LONG_DISTRACTION = "long_distraction"
    VISUAL_TIME_SHARING = "visual_time_sharing"
    PHONE_USE = "phone_use"
    UNRESPONSIVE = "unresponsive"
    STRESS = "stress"
    # Advisory emotional / attentional states (docs/emotion.md): comfort actions only.
    ANGER = "anger"
    DAYDREAMING = "daydreaming"
    DRIVER_ABSENT = "driver_absent"
    EYES_UNAVAILABLE = "eyes_unavailable"
    CAMERA_FAULT = "camera_fault"


class StateName(StrEnum):
    """`kind: "state"` names: changes of a slow state (docs/event-log.md)."""

    CALIBRATED = "calibrated"
    # The driver's road-ahead direction is not known yet: distraction is not judged.
    CALIBRATING = "calibrating"
    JOURNEY_START = "journey_start"
    MONITORING_ACTIVE = "monitoring_active"
    DRIVER_ACK = "driver_ack"
    MONITORING_OFF = "monitoring_off"


# The conditions the policy acts on, named after the detector events they come from, in
# the order of the policy config (docs/policy.md).
CONDITIONS: tuple[EventName, ...] = (
    EventName.UNRESPONSIVE,
    EventName.SLEEP,
    EventName.MICROSLEEP,
    EventName.PHONE_USE,
    EventName.LONG_DISTRACTION,
    EventName.VISUAL_TIME_SHARING,
    EventName.DROWSY,
    EventName.DRIVER_ABSENT,
    EventName.EYES_UNAVAILABLE,
    EventName.CAMERA_FAULT,
    EventName.STRESS,
    EventName.ANGER,
    EventName.DAYDREAMING,
)
# Monitoring is degraded (not the driver's state): Euro NCAP asks to tell the driver within
# 10 s (REFERENCE.md "degraded monitoring").
DEGRADED_CONDITIONS: frozenset[EventName] = frozenset(
    {EventName.EYES_UNAVAILABLE, EventName.DRIVER_ABSENT, EventName.CAMERA_FAULT}
)
# Advisory only: comfort actions, never warnings or interventions (REFERENCE.md "Heart rate
# and stress", "Emotion, anger and daydreaming": the evidence is weaker than for eye closure).
ADVISORY_CONDITIONS: frozenset[EventName] = frozenset({EventName.STRESS, EventName.ANGER, EventName.DAYDREAMING})
# What the driver is doing (the detectors' judgement of a picture); a camera fault makes
# these stale (the picture they came from can no longer be trusted), unlike the conditions
# about the monitoring itself.
DRIVER_STATE_EVENTS: frozenset[EventName] = frozenset(EventName) - {EventName.CAMERA_FAULT}

# The policy's action vocabulary (docs/policy.md "Actions"), in wire order: bit i of the
# serial actions field, DBC signals Act_<CamelCase>. New actions are appended, never
# reordered.
Action = Literal[
    "visual_icon",
    "chime",
    "voice_prompt",
    "haptic_seat",
    "haptic_wheel",
    "suggest_break",
    "adas_sensitivity",
    "hazard_lights",
    "slow_down_request",
    "mrm_request",
    "calm_cabin",
    # Comfort actions with their settings in policy.comfort (docs/policy.md "Comfort"):
    "ambient_light",  # ambient light to the configured colour
    "media_volume_down",  # media volume lowered by the configured dB
    "spoken_break_suggestion",  # a calm spoken suggestion to take a break
    "climate_comfort",  # climate: the configured fresh air / temperature change
]
ACTIONS: tuple[str, ...] = Action.__args__  # type: ignore[attr-defined]
# Comfort actions: the only ones an advisory condition (stress, anger, daydreaming) may use.
# Their evidence from a camera is weak and individual: advisory only, never a trigger for
# warnings or interventions (REFERENCE.md "Heart rate and stress", "Emotion, anger and
# daydreaming"). Calming, never manipulative (docs/policy.md "Comfort").
COMFORT_ACTIONS: frozenset[str] = frozenset(
    {"suggest_break", "calm_cabin", "ambient_light", "media_volume_down", "spoken_break_suggestion", "climate_comfort"})
# Actions that tell the driver something (for the degraded-monitoring notice rule).
DRIVER_NOTICE_ACTIONS: frozenset[str] = frozenset({"visual_icon", "chime", "voice_prompt", "haptic_seat", "haptic_wheel"})


class Column(StrEnum):
    """Per-frame detector columns that another stage reads (docs/features.md lists all).

    Only the columns with a reader outside their detector are named here; a detector's
    other columns are its own business and go to the feature table as they are."""

    FACE_PRESENT = "face_present"
    # drowsiness
    EYES_CLOSED = "eyes_closed"
    EYE_CLOSURE = "eye_closure"
    LOOKING_DOWN = "looking_down"
    BLINK_RATE_PER_MIN = "blink_rate_per_min"
    PERCLOS_60S = "perclos_60s"
    KSS_LEVEL = "kss_level"
    # distraction
    CALIBRATING = "calibrating"
    EYES_ON_ROAD = "eyes_on_road"
    EYES_OFF_ROAD_S = "eyes_off_road_s"
    DISTRACTION_LEVEL = "distraction_level"
    # stress
    HEART_RATE_BPM = "heart_rate_bpm"
    HEART_RATE_QUALITY = "heart_rate_quality"
    STRESS_LEVEL = "stress_level"
    # distraction, read by daydreaming
    GAZE_YAW_DEG_ABS = "gaze_yaw_deg_abs"
    GAZE_PITCH_DEG_ABS = "gaze_pitch_deg_abs"
    GAZE_ZONE = "gaze_zone"
    # drowsiness, read by anger
    EYES_JUDGEABLE = "eyes_judgeable"
    MOUTH_OPEN = "mouth_open"
    # anger, daydreaming
    ANGER_LEVEL = "anger_level"
    DAYDREAMING_LEVEL = "daydreaming_level"


# The optional expression model's per-frame columns (perception/expression.py): this prefix +
# a signal name. They are perception outputs that the stress detector reads.
EXPRESSION_PREFIX = "expression_"


class Detector(StrEnum):
    """The detector stages of the pipeline, in the order they run on each frame."""

    PRESENCE = "presence"
    DROWSINESS = "drowsiness"
    DISTRACTION = "distraction"
    STRESS = "stress"
    ANGER = "anger"
    DAYDREAMING = "daydreaming"


class PrivateSignal(StrEnum):
    """The emotional and physiological outputs the `privacy` config section switches
    (docs/emotion.md "Privacy"): off, kept in memory, or written to the outputs."""

    HEART_RATE = "heart_rate"
    HRV = "hrv"
    STRESS = "stress"
    ANGER = "anger"
    DAYDREAMING = "daydreaming"


# Each signal's per-frame columns (all start with the prefix) and its event / condition name.
PRIVATE_COLUMN_PREFIXES: dict[PrivateSignal, str] = {
    PrivateSignal.HEART_RATE: "heart_rate_",
    PrivateSignal.HRV: "hrv_",
    PrivateSignal.STRESS: "stress_",
    PrivateSignal.ANGER: "anger_",
    PrivateSignal.DAYDREAMING: "daydreaming_",
}
PRIVATE_EVENTS: dict[PrivateSignal, EventName] = {
    PrivateSignal.STRESS: EventName.STRESS,
    PrivateSignal.ANGER: EventName.ANGER,
    PrivateSignal.DAYDREAMING: EventName.DAYDREAMING,
}
