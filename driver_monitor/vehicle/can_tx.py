"""Encode the daemon's CAN frames with cantools from config/driver_monitor.dbc, adding the
alive counter and the E2E CRC (driver_monitor.vehicle.e2e). Pure apart from the counters."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import can
import cantools.database.can as cdb

from driver_monitor import __version__
from driver_monitor.errors import InputError
from driver_monitor.vehicle.e2e import COUNTER_MODULO, E2EProfile, e2e_profile, protect
from driver_monitor.vehicle.fields import (
    ACTIONS,
    DRIVER_STATES,
    FAULTS,
    StatusFields,
    WarningFields,
    camel,
    faults_of,
    status_fields,
    system_state,
    warning_fields,
)
from driver_monitor.vehicle.schedule import Due

STATUS, WARNING, HEARTBEAT = "DMS_Status", "DMS_Warning", "DMS_Heartbeat"
EYES_OFF_ROAD_UNAVAILABLE_S = 25.5  # raw 255
EYES_OFF_ROAD_MAX_S = 25.4
PERCLOS_UNAVAILABLE = 127.5  # raw 255
WARNING_ACTIVE_MAX_S = 127.0


def _version_numbers() -> tuple[int, int]:
    parts = [int(p) if p.isdigit() else 0 for p in __version__.split(".")[:2]] + [0, 0]
    return min(parts[0], 255), min(parts[1], 255)


class DmsCanEncoder:
    """FrameResult -> can.Message for each DMS frame; each message keeps its own counter."""

    def __init__(self, db: cdb.Database, dbc_path: str = "driver_monitor.dbc"):
        self.db = db
        self.messages: dict[str, cdb.Message] = {}
        self.profiles: dict[str, E2EProfile] = {}
        for name in (STATUS, WARNING, HEARTBEAT):
            try:
                msg = db.get_message_by_name(name)
            except KeyError:
                raise InputError(f"{dbc_path}: no message {name} (see docs/can.md)") from None
            profile = e2e_profile(msg)
            if profile is None:
                raise InputError(f"{dbc_path}: {name} lacks the E2E fields (*_CRC, *_Counter, E2E_DataID)")
            self.messages[name] = msg
            self.profiles[name] = profile
        self.counters = dict.fromkeys(self.messages, 0)
        self.version = _version_numbers()

    def period_s(self, name: str, default_s: float) -> float:
        ms = self.messages[name].cycle_time
        return ms / 1000.0 if ms else default_s

    def encode_due(self, due: Due, extra_faults: Iterable[str] = (), uptime_s: float = 0.0) -> can.Message:
        if due.kind == "status":
            return self.status(status_fields(due.result), due.t)
        if due.kind == "warning":
            return self.warning(warning_fields(due.result), due.t)
        return self.heartbeat(due.result, due.t, extra_faults, uptime_s)

    def status(self, f: StatusFields, t: float) -> can.Message:
        eor = EYES_OFF_ROAD_UNAVAILABLE_S if f.eyes_off_road_s is None else min(EYES_OFF_ROAD_MAX_S, f.eyes_off_road_s)
        perclos = PERCLOS_UNAVAILABLE if f.perclos_percent is None else f.perclos_percent
        signals = {
            "SystemState": f.system_state,
            "DriverState": f.driver_state,
            "FacePresent": int(f.face_present),
            "MonitoringActive": int(f.monitoring_active),
            "AckSuppressed": int(f.ack_suppressed),
            "VehicleSpeedUnknown": int(f.speed_unknown),
            "DrowsinessKSS": f.kss,
            "DistractionLevel": f.distraction_level,
            "StressLevel": f.stress_level,
            "PolicyLevel": f.policy_level,
            "EyesOffRoadTime": round(eor, 1),
            "PERCLOS": round(perclos * 2) / 2,
        }
        return self._encode(STATUS, signals, t)

    def warning(self, w: WarningFields, t: float) -> can.Message:
        signals: dict[str, Any] = {
            "WarningLevel": w.level,
            "WarningAckSuppressed": int(w.ack_suppressed),
            "WarningReason": w.reason,
            "WarningActiveTime": round(min(WARNING_ACTIVE_MAX_S, w.active_time_s) * 2) / 2,
        }
        for action in ACTIONS:
            signals[f"Act_{camel(action)}"] = int(action in w.actions)
        return self._encode(WARNING, signals, t)

    def heartbeat(self, result: Any, t: float, extra_faults: Iterable[str] = (), uptime_s: float = 0.0) -> can.Message:
        faults = faults_of(result, extra_faults)
        signals: dict[str, Any] = {
            "HeartbeatSystemState": system_state(result),
            "SoftwareVersionMajor": self.version[0],
            "SoftwareVersionMinor": self.version[1],
            "Uptime": int(max(0.0, min(65535.0, uptime_s))),
        }
        for fault in FAULTS:
            signals[f"Fault_{camel(fault)}"] = int(fault in faults)
        return self._encode(HEARTBEAT, signals, t)

    def _encode(self, name: str, signals: dict[str, Any], t: float) -> can.Message:
        msg = self.messages[name]
        profile = self.profiles[name]
        counter = self.counters[name]
        self.counters[name] = (counter + 1) % COUNTER_MODULO
        data = msg.encode({**signals, profile.crc_signal: 0, profile.counter_signal: counter}, strict=True)
        data = protect(data, profile.data_id)
        return can.Message(
            timestamp=t,
            arbitration_id=msg.frame_id,
            is_extended_id=msg.is_extended_frame,
            data=data,
            dlc=len(data),
        )


__all__ = ["DmsCanEncoder", "DRIVER_STATES", "HEARTBEAT", "STATUS", "WARNING"]
