"""Where VehicleStates come from: a CAN log in a recording (replay) or a live bus (run).

Both feed the same VehicleSignalDecoder; `state_at(t)` is asked once per video frame with
the frame's time, so the vehicle signals stay in sync with the video whatever the speed of
the replay.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import can

from driver_monitor.config.vehicle import VehicleConfig
from driver_monitor.errors import InputError
from driver_monitor.messages import VehicleState
from driver_monitor.vehicle.can_rx import VehicleSignalDecoder

log = logging.getLogger(__name__)

# Log timestamps this large are absolute clock times (epoch seconds), not recording times.
ABSOLUTE_TIME_THRESHOLD_S = 1e6


class VehicleSource(Protocol):
    def state_at(self, t: float) -> VehicleState: ...

    def close(self) -> None: ...

    @property
    def errors(self) -> int: ...


class CanLogVehicleSource:
    """Vehicle signals from a CAN log (BLF / ASC / candump .log / CSV, read with can.LogReader).

    Log time L maps to recording time L - start_time_s. start_time_s is the recording's
    meta.yaml `can_start_time_s`; without it, a log with relative times (< 1e6 s) starts at
    recording time 0 and a log with absolute times is assumed to start with the video."""

    def __init__(self, path: str | Path, config: VehicleConfig, start_time_s: float | None = None):
        self.path = Path(path)
        self.decoder = VehicleSignalDecoder(config)
        kwargs: dict[str, Any] = {}
        if self.path.suffix.lower() == ".asc":
            kwargs["relative_timestamp"] = False
        try:
            self._reader = can.LogReader(str(self.path), **kwargs)
            self._messages: Iterator[can.Message] = iter(self._reader)
            self._pending: can.Message | None = next(self._messages, None)
        except Exception as exc:  # python-can raises many types for unreadable logs
            raise InputError(f"{self.path}: cannot read the CAN log ({_one_line(exc)})") from None
        if start_time_s is None:
            first = self._pending.timestamp if self._pending is not None else 0.0
            start_time_s = first if first >= ABSOLUTE_TIME_THRESHOLD_S else 0.0
            if first >= ABSOLUTE_TIME_THRESHOLD_S:
                log.warning("%s: no can_start_time_s in meta.yaml; assuming the log starts with the video", self.path)
        self.start_time_s = start_time_s
        self.frames = 0
        self._broken = False

    @property
    def errors(self) -> int:
        return self.decoder.errors

    def state_at(self, t: float) -> VehicleState:
        while self._pending is not None and self._pending.timestamp - self.start_time_s <= t + 1e-9:
            msg = self._pending
            self.decoder.feed(msg, msg.timestamp - self.start_time_s)
            self.frames += 1
            self._pending = self._next()
        return self.decoder.state_at(t)

    def _next(self) -> can.Message | None:
        if self._broken:
            return None
        try:
            return next(self._messages, None)
        except Exception as exc:  # a truncated / corrupt tail: keep what was read
            self._broken = True
            log.warning("%s: CAN log unreadable after %d frames (%s); vehicle signals time out from here",
                        self.path, self.frames, _one_line(exc))
            return None

    def close(self) -> None:
        stop = getattr(self._reader, "stop", None)
        if stop is not None:
            stop()


class LiveCanVehicleSource:
    """Vehicle signals from a live bus: a python-can Notifier thread feeds the decoder with
    receive times from `clock` (the same clock the camera frames are stamped with)."""

    def __init__(self, bus: can.BusABC, config: VehicleConfig, clock: Callable[[], float] = time.monotonic):
        self.decoder = VehicleSignalDecoder(config)
        self.clock = clock
        self._lock = threading.Lock()
        self._bus = bus
        self._notifier = can.Notifier(bus, [self._on_message], timeout=0.1)

    @property
    def errors(self) -> int:
        return self.decoder.errors

    def _on_message(self, msg: can.Message) -> None:
        with self._lock:
            self.decoder.feed(msg, self.clock())

    def state_at(self, t: float) -> VehicleState:
        with self._lock:
            return self.decoder.state_at(t)

    def close(self) -> None:
        self._notifier.stop()


def open_log_source(path: str | Path, config: VehicleConfig, meta: dict[str, Any]) -> CanLogVehicleSource:
    start = meta.get("can_start_time_s")
    if start is not None and not isinstance(start, (int, float)):
        raise InputError(f"{path}: meta.yaml can_start_time_s must be a number (got {start!r})")
    return CanLogVehicleSource(path, config, None if start is None else float(start))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__
