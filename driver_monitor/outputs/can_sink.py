"""CAN output: DMS_Status / DMS_Warning / DMS_Heartbeat on any python-can bus (docs/can.md).

`DmsCanEncoder` says a FrameResult in the signals of config/driver_monitor.dbc (through the
wire meaning of outputs/fields.py) and encodes them with their alive counters and E2E CRCs
(can/tx.py). `CanSink` runs inside a ThreadedOutput: `write(result)` may block on the bus up
to send_timeout_s, but only this output's thread. Frames are due in input time
(outputs/schedule.py) and carry their due time as timestamp; `tx_log_path` also writes them
to a CAN log (candump -l `.log`, BLF, ASC by suffix) in input time, which `cantools decode
config/driver_monitor.dbc` reads.

A failed send is counted and the frame dropped; after `FAILURES_BEFORE_REOPEN` failures in a
row the bus is shut down and reopened with exponential backoff, so a bus-off controller or a
vanished USB adapter recovers without a restart.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import can
import cantools.database.can as cdb

from driver_monitor.backoff import Backoff
from driver_monitor.can.bus import describe_bus, open_bus, shutdown_quietly
from driver_monitor.can.dbc import DMS_DBC_PATH, load_dbc
from driver_monitor.can.tx import FrameEncoder
from driver_monitor.config.vehicle import CanConfig
from driver_monitor.errors import InputError, one_line
from driver_monitor.messages import Event, FrameResult
from driver_monitor.outputs.fields import (
    ACTIONS,
    FAULTS,
    StatusFields,
    WarningFields,
    camel,
    faults_of,
    status_fields,
    system_state,
    version_numbers,
    warning_fields,
)
from driver_monitor.outputs.files import make_private
from driver_monitor.outputs.schedule import Due, OutputSchedule

log = logging.getLogger(__name__)

STATUS, WARNING, HEARTBEAT = "DMS_Status", "DMS_Warning", "DMS_Heartbeat"
# Wire "unavailable" values (raw 255; the DBC's VAL_ tables name them "Unavailable").
EYES_OFF_ROAD_UNAVAILABLE_S = 25.5
EYES_OFF_ROAD_MAX_S = 25.4
PERCLOS_UNAVAILABLE = 127.5
WARNING_ACTIVE_MAX_S = 127.0

FAILURES_BEFORE_REOPEN = 3
LOG_INTERVAL_S = 5.0  # wall time between repeated bus-problem log lines

FaultsProvider = Callable[[], frozenset[str]]


class DmsCanEncoder:
    """FrameResult -> can.Message for each DMS frame; each message keeps its own counter."""

    def __init__(self, db: cdb.Database, dbc_path: str = "driver_monitor.dbc"):
        self.frames = FrameEncoder(db, (STATUS, WARNING, HEARTBEAT), dbc_path, require_e2e=True)
        self.db = db
        self.version = version_numbers()

    @property
    def counters(self) -> dict[str, int]:
        return self.frames.counters

    def period_s(self, name: str, default_s: float) -> float:
        return self.frames.period_s(name, default_s)

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
        return self.frames.encode(STATUS, signals, t)

    def warning(self, w: WarningFields, t: float) -> can.Message:
        signals: dict[str, Any] = {
            "WarningLevel": w.level,
            "WarningAckSuppressed": int(w.ack_suppressed),
            "WarningReason": w.reason,
            "WarningActiveTime": round(min(WARNING_ACTIVE_MAX_S, w.active_time_s) * 2) / 2,
        }
        for action in ACTIONS:
            signals[f"Act_{camel(action)}"] = int(action in w.actions)
        return self.frames.encode(WARNING, signals, t)

    def heartbeat(self, result: FrameResult, t: float, extra_faults: Iterable[str] = (),
                  uptime_s: float = 0.0) -> can.Message:
        faults = faults_of(result, extra_faults)
        signals: dict[str, Any] = {
            "HeartbeatSystemState": system_state(result),
            "SoftwareVersionMajor": self.version[0],
            "SoftwareVersionMinor": self.version[1],
            "Uptime": int(max(0.0, min(65535.0, uptime_s))),
        }
        for fault in FAULTS:
            signals[f"Fault_{camel(fault)}"] = int(fault in faults)
        return self.frames.encode(HEARTBEAT, signals, t)


def dms_encoder(config: CanConfig) -> DmsCanEncoder:
    """The encoder of the configured DMS DBC (InputError naming the file when it is unfit)."""
    dbc_path = config.dbc_path if config.dbc_path is not None else DMS_DBC_PATH
    return DmsCanEncoder(load_dbc(dbc_path), str(dbc_path))


class CanSink:
    def __init__(
        self,
        config: CanConfig,
        tx_log_path: str | Path | None = None,
        faults: FaultsProvider | None = None,
        bus: can.BusABC | None = None,
        require_bus: bool = True,
    ):
        self.config = config
        self.encoder = dms_encoder(config)
        self.schedule = OutputSchedule(
            self.encoder.period_s(STATUS, 0.1),
            self.encoder.period_s(WARNING, 0.2),
            self.encoder.period_s(HEARTBEAT, 1.0),
        )
        self.faults = faults if faults is not None else (lambda: frozenset())
        self.sent = 0
        self.send_failures = 0
        self.reopens = 0
        self._consecutive_failures = 0
        self._backoff = Backoff(config.reopen_backoff_min_s, config.reopen_backoff_max_s)
        self._last_log_wall = -LOG_INTERVAL_S
        self._t_first: float | None = None
        self._own_bus = bus is None
        self._closed = False
        # candump -l needs a channel word without spaces
        self._log_channel = config.channel if config.channel and not any(c.isspace() for c in config.channel) else "dms"
        self.bus: can.BusABC | None = bus
        if self.bus is None:
            try:
                self.bus = open_bus(config)
            except InputError as exc:
                if require_bus:
                    raise
                self._bus_down(str(exc))
        self._tx_log: can.Listener | None = None
        if tx_log_path is not None:
            try:
                self._tx_log = can.Logger(str(tx_log_path))
                make_private(tx_log_path)  # the driver's states, as events.jsonl (outputs/files.py)
            except (OSError, ValueError) as exc:
                self.close()
                raise InputError(f"{tx_log_path}: cannot write the CAN log ({exc})") from None

    def write(self, result: FrameResult) -> None:
        if self._t_first is None:
            self._t_first = result.t
        for due in self.schedule.update(result):
            faults = self.faults() if due.kind == "heartbeat" else frozenset()
            msg = self.encoder.encode_due(due, faults, due.t - self._t_first)
            msg.is_rx = False  # logged as sent ("T" in candump -l)
            msg.channel = self._log_channel
            if self._send(msg):
                if self._tx_log is not None:  # what went on the bus, not what was dropped
                    self._tx_log.on_message_received(msg)
            elif due.kind == "warning":
                self.schedule.warning_lost()

    def _send(self, msg: can.Message) -> bool:
        if self.bus is None and self._own_bus and self._backoff.due():
            try:
                self.bus = open_bus(self.config)
                self.reopens += 1
                # The backoff is reset by a frame that goes out, not by the open: a bus in
                # bus-off opens fine and fails every send (reopened every min_s otherwise).
                self._consecutive_failures = 0
                log.info("%s: reopened", describe_bus(self.config))
            except InputError as exc:
                self._bus_down(str(exc))
        if self.bus is None:
            self.send_failures += 1
            return False
        try:
            self.bus.send(msg, timeout=self.config.send_timeout_s)
        except (can.CanError, OSError, ValueError) as exc:
            self.send_failures += 1
            self._consecutive_failures += 1
            self._rate_limited(f"CAN send failed ({exc.__class__.__name__}: {one_line(exc)}); {self.send_failures} frames dropped so far")
            if self._consecutive_failures >= FAILURES_BEFORE_REOPEN and self._own_bus:
                self._shutdown_bus()
                self._bus_down("too many failed sends")
            return False
        self._consecutive_failures = 0
        self._backoff.reset()
        self.sent += 1
        return True

    def _bus_down(self, why: str) -> None:
        wait = self._backoff.failed()
        self._rate_limited(f"CAN bus down: {why}; retry in {wait:.1f} s")

    def _rate_limited(self, text: str) -> None:
        now = time.monotonic()
        if now - self._last_log_wall >= LOG_INTERVAL_S:
            self._last_log_wall = now
            log.warning("%s", text)

    def _shutdown_bus(self) -> None:
        shutdown_quietly(self.bus)
        self.bus = None

    def status_detail(self) -> dict[str, Any]:
        interface = self.config.interface
        if interface == "virtual":  # the default: say so, a channel given alone lands here
            interface += " (in-process: nobody outside this process hears it)"
        return {"interface": interface, "channel": self.config.channel,
                "frames sent": self.sent, "send failures": self.send_failures,
                "bus": "closed" if self._closed else ("up" if self.bus is not None else "down"),
                "reopens": self.reopens}

    def write_events(self, events: Sequence[Event]) -> None:
        """End-of-input events have no frame of their own: nothing to send."""

    def close(self) -> None:
        self._closed = True
        if self._tx_log is not None:
            self._tx_log.stop()
            self._tx_log = None
        if self._own_bus:
            self._shutdown_bus()
