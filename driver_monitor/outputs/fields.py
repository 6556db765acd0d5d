"""What the CAN and serial outputs say about one FrameResult (pure, shared by both encoders).

The codes here are the wire values of config/driver_monitor.dbc (SystemState, DriverState,
WarningReason) and of the serial frames (docs/serial-protocol.md); a test keeps the DBC's
value tables and these tables identical.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from driver_monitor import __version__
from driver_monitor.messages import FrameResult
from driver_monitor.names import ACTIONS as POLICY_ACTIONS
from driver_monitor.names import Column, EventName
from driver_monitor.numbers import finite_or_none
from driver_monitor.privacy import WITHHELD

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
_DRIVER_STATE_ORDER: tuple[tuple[EventName, str], ...] = (
    (EventName.CAMERA_FAULT, "Unknown"),
    (EventName.UNRESPONSIVE, "Unresponsive"),
    (EventName.SLEEP, "Asleep"),
    (EventName.MICROSLEEP, "Asleep"),
    (EventName.DRIVER_ABSENT, "Absent"),
    (EventName.EYES_UNAVAILABLE, "EyesUnavailable"),
    (EventName.LONG_DISTRACTION, "Distracted"),
    (EventName.VISUAL_TIME_SHARING, "Distracted"),
    (EventName.PHONE_USE, "Distracted"),
    (EventName.DROWSY, "Drowsy"),
)

# WarningReason: policy condition -> code. Unknown conditions are sent as Other (255).
WARNING_REASONS: dict[str | None, int] = {
    None: 0,
    EventName.SLEEP: 1,
    EventName.MICROSLEEP: 2,
    EventName.UNRESPONSIVE: 3,
    EventName.LONG_DISTRACTION: 4,
    EventName.VISUAL_TIME_SHARING: 5,
    EventName.PHONE_USE: 6,
    EventName.DROWSY: 7,
    EventName.EYES_UNAVAILABLE: 8,
    EventName.DRIVER_ABSENT: 9,
    EventName.CAMERA_FAULT: 10,
    EventName.STRESS: 11,
    # Revision 1.1 (issue 19): the advisory emotional conditions, and the reason a comfort
    # action carries when privacy keeps its condition in memory (privacy.WITHHELD).
    EventName.ANGER: 12,
    EventName.DAYDREAMING: 13,
    WITHHELD: 254,
}
REASON_OTHER = 255

# Action bit order on the serial link (bit i) and DBC signal names (Act_<CamelCase>): the
# policy's vocabulary in its order (new actions are appended there, never reordered).
ACTIONS: tuple[str, ...] = POLICY_ACTIONS

# Heartbeat fault bits (serial bit i; DBC signal Fault_<CamelCase>); new bits are appended.
FAULT_CAMERA = EventName.CAMERA_FAULT.value
FAULT_EYES_UNAVAILABLE = EventName.EYES_UNAVAILABLE.value
FAULT_VEHICLE_SIGNAL_TIMEOUT = "vehicle_signal_timeout"  # speed unknown
FAULT_VEHICLE_RX_ERRORS = "vehicle_rx_errors"  # bad vehicle frames since the last heartbeat
FAULT_OUTPUT_DROPS = "output_drops"  # an output queue dropped results since the last heartbeat
FAULT_NO_FACE = "no_face"
FAULT_VEHICLE_BUS_DOWN = "vehicle_bus_down"  # the vehicle CAN input cannot be opened or is silent
FAULTS: tuple[str, ...] = (
    FAULT_CAMERA,
    FAULT_EYES_UNAVAILABLE,
    FAULT_VEHICLE_SIGNAL_TIMEOUT,
    FAULT_VEHICLE_RX_ERRORS,
    FAULT_OUTPUT_DROPS,
    FAULT_NO_FACE,
    FAULT_VEHICLE_BUS_DOWN,
)

# Wire "unavailable" values.
KSS_UNAVAILABLE = 0
LEVEL_UNAVAILABLE = 15


def version_numbers() -> tuple[int, int]:
    """The package version's major and minor number as the heartbeats carry them (u8 each)."""
    parts = [int(p) if p.isdigit() else 0 for p in __version__.split(".")[:2]] + [0, 0]
    return min(parts[0], 255), min(parts[1], 255)


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


def _level(value: Any, top: int = 14) -> int:
    x = finite_or_none(value)
    return LEVEL_UNAVAILABLE if x is None else max(0, min(top, int(round(x))))


def active_names(result: FrameResult) -> frozenset[str]:
    return frozenset(result.state.active)


def system_state(result: FrameResult) -> int:
    active = active_names(result)
    policy = result.policy
    if EventName.CAMERA_FAULT in active:
        return SYSTEM_FAULT
    if policy is not None and not policy.monitoring_active:
        return SYSTEM_INACTIVE
    if EventName.EYES_UNAVAILABLE in active:
        return SYSTEM_DEGRADED
    return SYSTEM_ACTIVE


def driver_state(result: FrameResult) -> int:
    active = active_names(result)
    for condition, name in _DRIVER_STATE_ORDER:
        if condition in active:
            return DRIVER_STATES[name]
    kss = finite_or_none(result.state.values.get(Column.KSS_LEVEL))
    if kss is not None and kss >= 7:  # KSS >= 7 is "sleepy" (EU 2021/1341 DDAW may warn at 7)
        return DRIVER_STATES["Drowsy"]
    return DRIVER_STATES["Attentive"]


def status_fields(result: FrameResult) -> StatusFields:
    values = result.state.values
    policy = result.policy
    kss = finite_or_none(values.get(Column.KSS_LEVEL))
    eor = finite_or_none(values.get(Column.EYES_OFF_ROAD_S))
    perclos = finite_or_none(values.get(Column.PERCLOS_60S))
    face = values.get(Column.FACE_PRESENT, result.state.face_present)
    return StatusFields(
        t=result.t,
        system_state=system_state(result),
        driver_state=driver_state(result),
        face_present=bool(face),
        monitoring_active=bool(policy.monitoring_active) if policy is not None else True,
        ack_suppressed=bool(policy.suppressed_by_ack) if policy is not None else False,
        speed_unknown=finite_or_none(result.vehicle.speed_kph) is None,  # NaN too, as the policy reads it
        kss=KSS_UNAVAILABLE if kss is None else max(1, min(9, int(round(kss)))),
        distraction_level=_level(values.get(Column.DISTRACTION_LEVEL)),
        stress_level=_level(values.get(Column.STRESS_LEVEL)),
        eyes_off_road_s=None if eor is None else max(0.0, eor),
        # perclos_60s is a fraction 0..1 on the pipeline; the wire carries percent.
        perclos_percent=None if perclos is None else max(0.0, min(100.0, 100.0 * perclos)),
        policy_level=int(policy.level) if policy is not None else 0,
    )


def warning_fields(result: FrameResult) -> WarningFields:
    policy = result.policy
    if policy is None:
        return WarningFields(result.t, 0, 0, frozenset(), False, 0.0)
    since = policy.shown_since_t
    return WarningFields(
        t=result.t,
        level=int(policy.level),
        reason=WARNING_REASONS.get(policy.condition, REASON_OTHER),
        actions=frozenset(a for a in policy.actions if a in ACTIONS),
        ack_suppressed=bool(policy.suppressed_by_ack),
        active_time_s=max(0.0, result.t - since) if since is not None and policy.level > 0 else 0.0,
    )


def faults_of(result: FrameResult, extra: Iterable[str] = ()) -> frozenset[str]:
    """Fault flags from the result itself plus those the I/O layer reports (rx errors, drops,
    a vehicle bus that is down)."""
    active = active_names(result)
    faults = set(extra)
    if EventName.CAMERA_FAULT in active:
        faults.add(FAULT_CAMERA)
    if EventName.EYES_UNAVAILABLE in active:
        faults.add(FAULT_EYES_UNAVAILABLE)
    if result.vehicle.speed_kph is None:
        faults.add(FAULT_VEHICLE_SIGNAL_TIMEOUT)
    if not result.state.face_present:
        faults.add(FAULT_NO_FACE)
    return frozenset(f for f in faults if f in FAULTS)
