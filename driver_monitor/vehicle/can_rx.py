"""Vehicle signals in: decode the user's vehicle DBC into VehicleState (docs/can.md "Vehicle").

Pure apart from logging: `feed(message, t)` with the receive time, `state_at(t)`. Every bad
frame (unknown length, bad CRC, repeated or skipped alive counter, undecodable, value out of
range) is dropped and counted by reason, and logged at most once per `log_interval_s` of
input time; nothing raises. A field not refreshed for `timeout_cycles` cycles of its message
becomes None (unknown); unknown speed is treated as moving by every consumer.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import can
import cantools.database.can as cdb

from driver_monitor.config.vehicle import SignalMap, VehicleConfig
from driver_monitor.errors import ConfigError
from driver_monitor.messages import VehicleState
from driver_monitor.vehicle.dbc import VEHICLE_EXAMPLE_DBC_PATH, cycle_time_s, load_dbc
from driver_monitor.vehicle.e2e import (
    CounterCheck,
    E2EProfile,
    counter_of,
    counter_signal,
    crc_ok,
    e2e_profile,
)

log = logging.getLogger(__name__)

BOOL_FIELDS = ("indicator_left", "indicator_right", "driver_ack", "ignition_on")
NUMBER_FIELDS = ("speed_kph", "external_heart_rate_bpm")


class RateLimitedLog:
    """Log a problem at most once per interval of input time, with the count since the last line."""

    def __init__(self, logger: logging.Logger, interval_s: float):
        self.logger = logger
        self.interval_s = interval_s
        self._last_t: dict[str, float] = {}
        self._suppressed: Counter[str] = Counter()

    def warning(self, key: str, t: float, message: str) -> None:
        last = self._last_t.get(key)
        if last is not None and t - last < self.interval_s:
            self._suppressed[key] += 1
            return
        more = self._suppressed.pop(key, 0)
        self._last_t[key] = t
        self.logger.warning("%s%s", message, f" (+{more} more since the last report)" if more else "")


@dataclass
class _Binding:
    field: str
    mapping: SignalMap
    signal: cdb.Signal


@dataclass
class _RxMessage:
    message: cdb.Message
    bindings: list[_Binding]
    cycle_s: float
    profile: E2EProfile | None
    counter: CounterCheck | None
    counter_name: str | None


class VehicleSignalDecoder:
    def __init__(self, config: VehicleConfig, db: cdb.Database | None = None):
        self.config = config
        path = config.dbc_path if config.dbc_path is not None else VEHICLE_EXAMPLE_DBC_PATH
        self.dbc_path = Path(path)
        self.db = db if db is not None else load_dbc(path, VEHICLE_EXAMPLE_DBC_PATH)
        self._by_id: dict[tuple[int, bool], _RxMessage] = {}
        problems: list[str] = []
        by_name: dict[str, _RxMessage] = {}
        for field, mapping in config.signals:
            if mapping is None:
                continue
            key = f"vehicle.signals.{field}"
            try:
                message = self.db.get_message_by_name(mapping.message)
            except KeyError:
                problems.append(f"{key}.message: no message {mapping.message!r} in {self.dbc_path}")
                continue
            try:
                signal = message.get_signal_by_name(mapping.signal)
            except KeyError:
                problems.append(f"{key}.signal: no signal {mapping.signal!r} in message {mapping.message} of {self.dbc_path}")
                continue
            rx = by_name.get(message.name)
            if rx is None:
                profile = e2e_profile(message) if config.check_e2e else None
                cname = counter_signal(message) if config.check_e2e else None
                rx = _RxMessage(
                    message,
                    [],
                    cycle_time_s(message, config.default_cycle_time_s),
                    profile,
                    CounterCheck(config.max_counter_jump) if cname else None,
                    cname,
                )
                by_name[message.name] = rx
                self._by_id[(message.frame_id, message.is_extended_frame)] = rx
            rx.bindings.append(_Binding(field, mapping, signal))
        if problems:
            raise ConfigError(problems)
        self._values: dict[str, Any] = {}
        self._received_t: dict[str, float] = {}
        self._cycle_of: dict[str, float] = {b.field: rx.cycle_s for rx in by_name.values() for b in rx.bindings}
        self.counts: Counter[str] = Counter()  # accepted / dropped frames and values by reason
        self._log = RateLimitedLog(log, config.log_interval_s)

    @property
    def errors(self) -> int:
        """Frames and values dropped so far (all reasons)."""
        return sum(n for k, n in self.counts.items() if k not in ("accepted", "ignored"))

    def _drop(self, reason: str, t: float, what: str) -> None:
        self.counts[reason] += 1
        self._log.warning(reason, t, f"vehicle CAN: dropped {what}: {reason.replace('_', ' ')}")

    def feed(self, msg: can.Message, t: float) -> None:
        """One received frame at input time t."""
        rx = self._by_id.get((msg.arbitration_id, bool(msg.is_extended_id)))
        if rx is None or msg.is_error_frame or msg.is_remote_frame:
            self.counts["ignored"] += 1
            return
        data = bytes(msg.data)
        name = rx.message.name
        if len(data) != rx.message.length:
            self._drop("wrong_length", t, f"{name} with {len(data)} bytes (DBC: {rx.message.length})")
            return
        if rx.profile is not None and not crc_ok(data, rx.profile.data_id):
            self._drop("bad_crc", t, f"{name}")
            return
        try:
            decoded = rx.message.decode(data, decode_choices=True, scaling=True)
        except Exception as exc:  # cantools raises several error types for bad payloads
            self._drop("undecodable", t, f"{name} ({exc.__class__.__name__})")
            return
        if rx.counter is not None and rx.counter_name is not None:
            # Profile 2 keeps it in byte 1; a counter-only message may keep it anywhere.
            raw = decoded.get(rx.counter_name)
            counter = counter_of(data) if rx.profile is not None else int(getattr(raw, "value", raw) or 0)
            problem = rx.counter.check(counter)
            if problem is not None:
                self._drop(problem, t, f"{name} (counter {counter})")
                return
        self.counts["accepted"] += 1
        for b in rx.bindings:
            value = self._convert(b, decoded.get(b.signal.name), t)
            if value is _INVALID:
                continue
            self._values[b.field] = value
            self._received_t[b.field] = t

    def _convert(self, b: _Binding, raw: Any, t: float) -> Any:
        choice = raw.name if hasattr(raw, "name") and hasattr(raw, "value") else (raw if isinstance(raw, str) else None)
        field = b.field
        if field == "gear":
            if choice is not None:
                return self.config.gear_names.get(choice)
            return None
        if field in BOOL_FIELDS:
            if b.mapping.true_values:
                return choice in b.mapping.true_values if choice is not None else False
            number = raw.value if choice is not None and hasattr(raw, "value") else raw
            return bool(number)
        # numeric fields: a value-table entry ("None", "Invalid", ...) means not available
        if choice is not None:
            return None
        value = float(raw)
        lo = b.mapping.min_value if b.mapping.min_value is not None else b.signal.minimum
        hi = b.mapping.max_value if b.mapping.max_value is not None else b.signal.maximum
        if b.signal.minimum is not None and b.mapping.min_value is not None:
            lo = max(lo, b.signal.minimum)
        if b.signal.maximum is not None and b.mapping.max_value is not None:
            hi = min(hi, b.signal.maximum)
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            self._drop("out_of_range", t, f"{field}={value:g} from {b.signal.name} (allowed {lo}..{hi})")
            return _INVALID
        return value

    def state_at(self, t: float) -> VehicleState:
        fresh: dict[str, Any] = {}
        for field, value in self._values.items():
            age = t - self._received_t[field]
            if age <= self.config.timeout_cycles * self._cycle_of[field] + 1e-9:
                fresh[field] = value
        return VehicleState(
            t=t,
            speed_kph=fresh.get("speed_kph"),
            indicator_left=fresh.get("indicator_left"),
            indicator_right=fresh.get("indicator_right"),
            gear=fresh.get("gear"),
            driver_ack=bool(fresh.get("driver_ack", False)),
            ignition_on=fresh.get("ignition_on"),
            external_heart_rate_bpm=fresh.get("external_heart_rate_bpm"),
        )


class _Invalid:
    pass


_INVALID = _Invalid()
