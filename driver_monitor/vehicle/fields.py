"""What the CAN and serial outputs say about one FrameResult (pure, shared by both encoders).

The codes here are the wire values of config/driver_monitor.dbc (SystemState, DriverState,
WarningReason) and of the serial frames (docs/serial-protocol.md); a test keeps the DBC's
value tables and these tables identical.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from driver_monitor.policy.actions import ACTIONS as POLICY_ACTIONS

# SystemState
SYSTEM_INIT, SYSTEM_ACTIVE, SYSTEM_INACTIVE, SYSTEM_DEGRADED, SYSTEM_FAULT = 0, 1, 2, 3, 4

# DriverState, most severe first: the first active condition names the driver's state.
DRIVER_STATES: dict[str, int] = {
    "Attentive": 0,
    "Distracted": 1,
    "Drowsy": 2,
    "Asleep": 3,
    "Unresponsive": 4,
    "Absent": 5,
    "EyesUnavailable": 6,
    "Unknown": 15,
}
_DRIVER_STATE_ORDER: tuple[tuple[str, str], ...] = (
    ("camera_fault", "Unknown"),
    ("unresponsive", "Unresponsive"),
    ("sleep", "Asleep"),
    ("microsleep", "Asleep"),
    ("driver_absent", "Absent"),
    ("eyes_unavailable", "EyesUnavailable"),
    ("long_distraction", "Distracted"),
    ("visual_time_sharing", "Distracted"),
    ("phone_use", "Distracted"),
    ("drowsy", "Drowsy"),
)

# WarningReason: policy condition -> code. Unknown conditions are sent as Other (255).
WARNING_REASONS: dict[str | None, int] = {
    None: 0,
    "sleep": 1,
    "microsleep": 2,
    "unresponsive": 3,
    "long_distraction": 4,
    "visual_time_sharing": 5,
    "phone_use": 6,
    "drowsy": 7,
    "eyes_unavailable": 8,
    "driver_absent": 9,
    "camera_fault": 10,
    "stress": 11,
}
REASON_OTHER = 255

# Action bit order on the serial link (bit i) and DBC signal names (Act_<CamelCase>): the
# policy's vocabulary in its order (new actions are appended there, never reordered).
ACTIONS: tuple[str, ...] = POLICY_ACTIONS

# Heartbeat fault bits (serial bit i; DBC signal Fault_<CamelCase>).
FAULTS: tuple[str, ...] = (
    "camera_fault",
    "eyes_unavailable",
    "vehicle_signal_timeout",
    "vehicle_rx_errors",
    "output_drops",
    "no_face",
)

# Wire "unavailable" values.
KSS_UNAVAILABLE = 0
LEVEL_UNAVAILABLE = 15


def camel(name: str) -> str:
    """long_distraction -> LongDistraction (DBC names from the project's snake_case names)."""
    return "".join(part.capitalize() for part in name.split("_"))


@dataclass(frozen=True, slots=True)
class StatusFields:
    t: float
    system_state: int
    driver_state: int
    face_present: bool
    monitoring_active: bool
    ack_suppressed: bool
    speed_unknown: bool
    kss: int  # 1..9, KSS_UNAVAILABLE
    distraction_level: int  # 0..14, LEVEL_UNAVAILABLE
    stress_level: int
    eyes_off_road_s: float | None
    perclos_percent: float | None
    policy_level: int


@dataclass(frozen=True, slots=True)
class WarningFields:
    t: float
    level: int
    reason: int
    actions: frozenset[str]
    ack_suppressed: bool
    active_time_s: float


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, (str, bool)):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def _level(value: Any, top: int = 14) -> int:
    x = _number(value)
    return LEVEL_UNAVAILABLE if x is None else max(0, min(top, int(round(x))))


def active_names(result: Any) -> frozenset[str]:
    return frozenset(result.state.active)


def system_state(result: Any) -> int:
    active = active_names(result)
    policy = result.policy
    if "camera_fault" in active:
        return SYSTEM_FAULT
    if policy is not None and not policy.monitoring_active:
        return SYSTEM_INACTIVE
    if "eyes_unavailable" in active:
        return SYSTEM_DEGRADED
    return SYSTEM_ACTIVE


def driver_state(result: Any) -> int:
    active = active_names(result)
    for condition, name in _DRIVER_STATE_ORDER:
        if condition in active:
            return DRIVER_STATES[name]
    kss = _number(result.state.values.get("kss_level"))
    if kss is not None and kss >= 7:  # KSS >= 7 is "sleepy" (EU 2021/1341 DDAW may warn at 7)
        return DRIVER_STATES["Drowsy"]
    return DRIVER_STATES["Attentive"]


def status_fields(result: Any) -> StatusFields:
    values = result.state.values
    policy = result.policy
    kss = _number(values.get("kss_level"))
    eor = _number(values.get("eyes_off_road_s"))
    perclos = _number(values.get("perclos_60s"))
    face = values.get("face_present", result.state.face_present)
    return StatusFields(
        t=result.t,
        system_state=system_state(result),
        driver_state=driver_state(result),
        face_present=bool(face),
        monitoring_active=bool(policy.monitoring_active) if policy is not None else True,
        ack_suppressed=bool(policy.suppressed_by_ack) if policy is not None else False,
        speed_unknown=result.vehicle.speed_kph is None,
        kss=KSS_UNAVAILABLE if kss is None else max(1, min(9, int(round(kss)))),
        distraction_level=_level(values.get("distraction_level")),
        stress_level=_level(values.get("stress_level")),
        eyes_off_road_s=None if eor is None else max(0.0, eor),
        # perclos_60s is a fraction 0..1 on the pipeline; the wire carries percent.
        perclos_percent=None if perclos is None else max(0.0, min(100.0, 100.0 * perclos)),
        policy_level=int(policy.level) if policy is not None else 0,
    )


def warning_fields(result: Any) -> WarningFields:
    policy = result.policy
    if policy is None:
        return WarningFields(result.t, 0, 0, frozenset(), False, 0.0)
    since = policy.warning_since_t
    return WarningFields(
        t=result.t,
        level=int(policy.level),
        reason=WARNING_REASONS.get(policy.condition, REASON_OTHER),
        actions=frozenset(a for a in policy.actions if a in ACTIONS),
        ack_suppressed=bool(policy.suppressed_by_ack),
        active_time_s=max(0.0, result.t - since) if since is not None and policy.level > 0 else 0.0,
    )


def faults_of(result: Any, extra: Iterable[str] = ()) -> frozenset[str]:
    """Fault flags from the result itself plus those the I/O layer reports (rx errors, drops)."""
    active = active_names(result)
    faults = set(extra)
    if "camera_fault" in active:
        faults.add("camera_fault")
    if "eyes_unavailable" in active:
        faults.add("eyes_unavailable")
    if result.vehicle.speed_kph is None:
        faults.add("vehicle_signal_timeout")
    if not result.state.face_present:
        faults.add("no_face")
    return frozenset(f for f in faults if f in FAULTS)
