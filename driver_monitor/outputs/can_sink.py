"""CAN output: DMS_Status / DMS_Warning / DMS_Heartbeat on any python-can bus (docs/can.md).

Runs inside a ThreadedOutput: `write(result)` may block on the bus up to send_timeout_s, but
only this output's thread. Frames are due in input time (vehicle.schedule) and carry their
due time as timestamp; `tx_log_path` also writes them to a CAN log (candump -l `.log`, BLF,
ASC by suffix) in input time, which `cantools decode config/driver_monitor.dbc` reads.

A failed send is counted and the frame dropped; after `FAILURES_BEFORE_REOPEN` failures in a
row the bus is shut down and reopened with exponential backoff, so a bus-off controller or a
vanished USB adapter recovers without a restart.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import can

from driver_monitor.config.vehicle import CanConfig
from driver_monitor.errors import InputError
from driver_monitor.vehicle.can_tx import HEARTBEAT, STATUS, WARNING, DmsCanEncoder
from driver_monitor.vehicle.dbc import DMS_DBC_PATH, load_dbc
from driver_monitor.vehicle.schedule import OutputSchedule

log = logging.getLogger(__name__)

FAILURES_BEFORE_REOPEN = 3
LOG_INTERVAL_S = 5.0  # wall time between repeated bus-problem log lines

FaultsProvider = Callable[[], frozenset[str]]


def open_bus(config: CanConfig) -> can.BusABC:
    """Open the configured bus; raises InputError with one line naming interface and channel."""
    kwargs: dict[str, Any] = dict(config.options)
    if config.bitrate is not None and config.interface not in ("virtual", "udp_multicast"):
        kwargs["bitrate"] = config.bitrate
    try:
        return can.Bus(interface=config.interface, channel=config.channel, **kwargs)
    except Exception as exc:  # interfaces raise OSError, CanError, ImportError, ValueError...
        first = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
        raise InputError(f"CAN {config.interface} channel {config.channel}: cannot open ({first})") from None


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
        dbc_path = config.dbc_path if config.dbc_path is not None else DMS_DBC_PATH
        self.encoder = DmsCanEncoder(load_dbc(dbc_path), str(dbc_path))
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
        self._backoff_s = config.reopen_backoff_min_s
        self._next_open_wall = 0.0
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
            except (OSError, ValueError) as exc:
                self.close()
                raise InputError(f"{tx_log_path}: cannot write the CAN log ({exc})") from None

    def write(self, result: Any) -> None:
        if self._t_first is None:
            self._t_first = result.t
        for due in self.schedule.update(result):
            faults = self.faults() if due.kind == "heartbeat" else frozenset()
            msg = self.encoder.encode_due(due, faults, due.t - self._t_first)
            msg.is_rx = False  # logged as sent ("T" in candump -l)
            msg.channel = self._log_channel
            if self._tx_log is not None:
                self._tx_log.on_message_received(msg)
            self._send(msg)

    def _send(self, msg: can.Message) -> None:
        if self.bus is None and self._own_bus and time.monotonic() >= self._next_open_wall:
            try:
                self.bus = open_bus(self.config)
                self.reopens += 1
                self._backoff_s = self.config.reopen_backoff_min_s
                log.info("CAN %s %s: reopened", self.config.interface, self.config.channel)
            except InputError as exc:
                self._bus_down(str(exc))
        if self.bus is None:
            self.send_failures += 1
            return
        try:
            self.bus.send(msg, timeout=self.config.send_timeout_s)
        except (can.CanError, OSError, ValueError) as exc:
            self.send_failures += 1
            self._consecutive_failures += 1
            self._rate_limited(f"CAN send failed ({exc.__class__.__name__}: {exc}); {self.send_failures} frames dropped so far")
            if self._consecutive_failures >= FAILURES_BEFORE_REOPEN and self._own_bus:
                self._shutdown_bus()
                self._bus_down("too many failed sends")
            return
        self._consecutive_failures = 0
        self.sent += 1

    def _bus_down(self, why: str) -> None:
        self._next_open_wall = time.monotonic() + self._backoff_s
        self._rate_limited(f"CAN bus down: {why}; retry in {self._backoff_s:.1f} s")
        self._backoff_s = min(self._backoff_s * 2, self.config.reopen_backoff_max_s)

    def _rate_limited(self, text: str) -> None:
        now = time.monotonic()
        if now - self._last_log_wall >= LOG_INTERVAL_S:
            self._last_log_wall = now
            log.warning("%s", text)

    def _shutdown_bus(self) -> None:
        if self.bus is not None:
            try:
                self.bus.shutdown()
            except Exception as exc:  # a dead adapter may fail to close too
                log.debug("CAN shutdown failed: %s", exc)
            self.bus = None

    def status_detail(self) -> dict[str, Any]:
        return {"frames sent": self.sent, "send failures": self.send_failures,
                "bus": "closed" if self._closed else ("up" if self.bus is not None else "down"),
                "reopens": self.reopens}

    def close(self) -> None:
        self._closed = True
        if self._tx_log is not None:
            self._tx_log.stop()
            self._tx_log = None
        if self._own_bus:
            self._shutdown_bus()
