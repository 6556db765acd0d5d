"""Vehicle signals in: decode the user's vehicle DBC into VehicleState (docs/can.md "Vehicle"),
and the thread that reads them from a live bus.

`VehicleSignalDecoder` is pure apart from logging: `feed(message, t)` with the receive time,
`state_at(t)`: the values received at or before t (a frame received after t, while the live
loop was still busy with the frame captured at t, counts from the next frame on, exactly as
in a replay of the recorded log; issue 16). Every bad frame (unknown length, bad CRC, repeated or skipped alive counter,
undecodable, value out of range) is dropped and counted by reason, and logged at most once
per `log_interval_s` of input time; nothing raises. A field not refreshed for
`timeout_cycles` cycles of its message becomes None (unknown); unknown speed is treated as
moving by every consumer.

The ACK button is read as presses, not only as the newest level (`_AckButton`): a press seen
only in frames between two asks (a tap between two camera frames) is pressed at the next ask,
and a button still held when its frames come back after a silence is no new press (the policy
acknowledges on a rising edge: it took the level's drop at the timeout and its return for one).

`LiveCanVehicleSource` reads a live bus in its own thread and survives any bytes: a datagram
or frame python-can cannot unpack (its receive raises) is counted and skipped, a frame the
decoder chokes on is counted and skipped, and a bus that keeps failing or cannot be opened is
shut down and reopened with backoff. A dead or silent bus is a state (`status()`), shown in
`driver-monitor status`, the heartbeat's fault bits and the log, never a thread that quietly
ended (issue 13: one malformed datagram used to end vehicle input for good).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import can
import cantools.database.can as cdb

from driver_monitor.backoff import Backoff
from driver_monitor.can.bus import shutdown_quietly
from driver_monitor.can.dbc import VEHICLE_EXAMPLE_DBC_PATH, cycle_time_s, load_dbc
from driver_monitor.can.e2e import (
    CounterCheck,
    E2ELayoutError,
    E2EProfile,
    counter_of,
    counter_signal,
    crc_ok,
    e2e_profile,
)
from driver_monitor.config.vehicle import SignalMap, VehicleConfig
from driver_monitor.errors import ConfigError, DriverMonitorError, one_line
from driver_monitor.messages import VehicleState
from driver_monitor.timebase import receive_stamp

log = logging.getLogger(__name__)

BOOL_FIELDS = ("indicator_left", "indicator_right", "driver_ack", "ignition_on")
ACK_FIELD = "driver_ack"
NUMBER_FIELDS = ("speed_kph", "external_heart_rate_bpm")
# Times closer than this are the same instant: a recorded log stores receive times to the
# nanosecond (BLF), so a frame received at a frame's own time must count in both.
SAME_TIME_S = 1e-6
# Values kept per signal that are newer than the last time asked for (a live bus delivers
# ~5 per frame at 100 Hz); an input nobody asks for keeps only the newest ones.
MAX_PENDING_VALUES = 256


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
            if mapping.true_values:
                names = [str(c) for c in (signal.choices or {}).values()]
                unknown = [v for v in mapping.true_values if v not in names]
                if len(unknown) == len(mapping.true_values):
                    # None can ever match, the field read False on every frame: the ignition "off"
                    # for good, and with it monitoring, without a word. (Some names missing is
                    # fine: the default ["On", "Start"] on a DBC whose ignition has no "Start".)
                    table = f"its value names: {', '.join(names)}" if names else "it has no VAL_ value table"
                    problems.append(f"{key}.true_values: {', '.join(map(repr, unknown))} not a value of signal "
                                    f"{signal.name} in {self.dbc_path} ({table})")
                    continue
            rx = by_name.get(message.name)
            if rx is None:
                try:
                    profile = e2e_profile(message) if config.check_e2e else None
                except E2ELayoutError as exc:
                    problems.append(f"{key}.message: {exc} in {self.dbc_path} (or set vehicle.check_e2e: false)")
                    continue
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
        # Per field: (receive t, value), oldest first; state_at keeps the newest one at or
        # before the time asked and drops what it supersedes.
        self._history: dict[str, deque[tuple[float, Any]]] = {}
        self._ack = _AckButton()
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

    def is_vehicle_frame(self, msg: can.Message) -> bool:
        """A frame of a message the signal mapping reads (its ID is in the vehicle DBC)."""
        return (msg.arbitration_id, bool(msg.is_extended_id)) in self._by_id

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
            if b.signal.name not in decoded:
                # A multiplexed signal of another page: this frame says nothing about it (read
                # as absent it switched the ignition off, or raised on a number).
                continue
            value = self._convert(b, decoded[b.signal.name], t)
            if value is _INVALID:
                continue
            self._history.setdefault(b.field, deque(maxlen=MAX_PENDING_VALUES)).append((t, value))
            if b.field == ACK_FIELD:
                self._ack.received.append((t, bool(value)))

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
        if not math.isfinite(value):  # an IEEE-float signal's all-ones "not available" is NaN
            self._drop("not_finite", t, f"{field}={value} from {b.signal.name}")
            return _INVALID
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
        self._ack.take_presses(t)  # before the loop below drops what a later value supersedes
        for field, history in self._history.items():
            while len(history) > 1 and history[1][0] <= t + SAME_TIME_S:
                history.popleft()  # superseded by a value also received by t
            received_t, value = history[0]
            if received_t > t + SAME_TIME_S:
                continue  # only values received after t
            if t - received_t <= self.config.timeout_cycles * self._cycle_of[field] + SAME_TIME_S:
                fresh[field] = value
        return VehicleState(
            t=t,
            speed_kph=fresh.get("speed_kph"),
            indicator_left=fresh.get("indicator_left"),
            indicator_right=fresh.get("indicator_right"),
            gear=fresh.get("gear"),
            driver_ack=self._ack.pressed_at(fresh.get(ACK_FIELD) is True),
            ignition_on=fresh.get("ignition_on"),
            external_heart_rate_bpm=fresh.get("external_heart_rate_bpm"),
        )


class _AckButton:
    """The ACK button from its frames (VEH_Hmi, every 50 ms in the example DBC), as what the
    policy needs: one rising edge per press (PolicyEngine acknowledges on the edge).

    - A press whose frames all came between two asks (a tap shorter than a frame period: a
      10 fps camera, or the 0.1 s results of a camera fault) is pressed at the next ask; the
      newest value alone, False again by then, lost it.
    - A button held when its frames stop (bus silent, frames dropped, longer than the
      timeout) reads released (the level times out, as every field does) and is not pressed
      again by frames that come back still held: only a release that is received, then a
      press, is one. Read as the newest level, the return after the silence was a fresh edge
      and acknowledged whatever warning had started meanwhile.
    """

    def __init__(self) -> None:
        self.received: deque[tuple[float, bool]] = deque(maxlen=MAX_PENDING_VALUES)  # not yet taken
        self._level = False  # the button as the frames taken so far say (kept through a silence)
        self._pressed = False  # a release -> press edge among the frames taken by the last ask
        self._shown = False  # the last ask said pressed, and the press is still held

    def take_presses(self, t: float) -> None:
        pressed = False
        while self.received and self.received[0][0] <= t + SAME_TIME_S:
            _, value = self.received.popleft()
            if value and not self._level:
                pressed = True
            self._level = value
        self._pressed = pressed

    def pressed_at(self, held: bool) -> bool:
        """`held`: the newest value by t is fresh and pressed."""
        out = self._pressed or (self._shown and held)
        self._shown = out and held
        self._pressed = False
        return out


class _Invalid:
    pass


_INVALID = _Invalid()


# A receive that keeps raising (not one bad datagram among good frames, but a bus that
# fails every call: adapter gone, socket closed) for this long without a good frame is shut
# down and reopened with backoff. Bad datagrams between good frames never reopen the bus.
REOPEN_AFTER_FAILING_S = 1.0
# Wall time between repeated problem lines of the receive thread.
LOG_INTERVAL_S = 5.0
RECV_TIMEOUT_S = 0.1

BusOpener = Callable[[], can.BusABC]
# Every frame the live bus delivers, with the receive time the decoder got (a recording's
# CAN log, the event clips' ring buffer). Called on the receive thread.
CanTap = Callable[[can.Message, float], None]


@dataclass(frozen=True, slots=True)
class RxStatus:
    """What `driver-monitor status` and the heartbeat learn about the vehicle input."""

    bus: str  # how the bus is named (interface and channel)
    state: str  # "up" (vehicle frames arrive), "silent" (open, none for silent_after_s), "down"
    frames: int  # vehicle frames received (messages of the signal mapping)
    rx_errors: int  # datagrams / frames that could not be read or decoded (all reasons)
    reopens: int
    last_error: str | None

    @property
    def ok(self) -> bool:
        return self.state == "up"

    def text(self) -> str:
        err = f", last error: {self.last_error}" if self.last_error and not self.ok else ""
        return f"{self.bus}: {self.state}, {self.frames} frames, {self.rx_errors} errors, reopens {self.reopens}{err}"


class LiveCanVehicleSource:
    """Vehicle signals from a live bus, read by a thread of its own (not python-can's
    Notifier, whose thread ends at the first exception a receive raises). Receive times
    come from `clock`, the clock the camera frames are stamped with."""

    def __init__(self, bus: can.BusABC | BusOpener, config: VehicleConfig, bus_name: str = "vehicle CAN",
                 backoff: Backoff | None = None, silent_after_s: float = 2.0,
                 clock: Callable[[], float] = time.monotonic, tap: CanTap | None = None):
        """bus: a function that opens the bus (reopened with backoff when it fails), or an
        open bus (a test's peer). tap: sees every frame received, vehicle or not."""
        self.decoder = VehicleSignalDecoder(config)  # ConfigError / InputError before any thread
        self.bus_name = bus_name
        self.clock = clock
        self.silent_after_s = silent_after_s
        self._open_bus: BusOpener = (lambda: bus) if isinstance(bus, can.BusABC) else bus
        self.tap = tap
        self._backoff = backoff if backoff is not None else Backoff(0.5, 10.0)
        self._lock = threading.Lock()
        self._asked_t = -math.inf  # the latest frame time `state_at` was asked for
        self._stop = threading.Event()
        self._bus: can.BusABC | None = None
        self.frames = 0
        self.recv_errors = 0  # receives that raised (a datagram python-can cannot unpack, ...)
        self.reopens = 0
        self.reader_restarts = 0
        self.last_error: str | None = None
        self._opened_once = False
        self._last_frame_t: float | None = None
        self._up_since_t: float | None = None  # when the bus was last opened
        self._silent_logged = False
        self._last_log: dict[str, float] = {}
        self._thread = self._start_reader()

    # ---- what the frame loop reads ---------------------------------------------------
    @property
    def errors(self) -> int:
        """Frames or datagrams dropped so far: unreadable ones and the decoder's drops."""
        with self._lock:
            return self.recv_errors + self.decoder.errors

    def state_at(self, t: float) -> VehicleState:
        if not self._thread.is_alive() and not self._stop.is_set():
            self.reader_restarts += 1  # belt and braces: the loop below catches everything
            self._problem("reader", "vehicle CAN: the receive thread ended; restarting it")
            self._thread = self._start_reader()
        with self._lock:
            self._asked_t = max(self._asked_t, t)
            return self.decoder.state_at(t)

    def status(self) -> RxStatus:
        with self._lock:
            return RxStatus(self.bus_name, self._state(self.clock()), self.frames,
                            self.recv_errors + self.decoder.errors, self.reopens, self.last_error)

    def summary_line(self) -> str:
        return self.status().text()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1.0)
        with self._lock:
            bus, self._bus = self._bus, None
        shutdown_quietly(bus)

    # ---- the receive thread ----------------------------------------------------------
    def _start_reader(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, name="vehicle-can-rx", daemon=True)
        thread.start()
        return thread

    def _state(self, now: float) -> str:
        if self._bus is None:
            return "down"
        last = self._last_frame_t if self._last_frame_t is not None else self._up_since_t
        if last is not None and now - last > self.silent_after_s:
            return "silent"
        return "up"

    def _run(self) -> None:
        failing_since: float | None = None
        while not self._stop.is_set():
            try:
                if self._bus is None and not self._open():
                    self._stop.wait(min(RECV_TIMEOUT_S, max(0.01, self._backoff.remaining_s())))
                    continue
                bus = self._bus
                assert bus is not None
                try:
                    msg = bus.recv(RECV_TIMEOUT_S)
                except Exception as exc:  # any bytes on the wire: count, skip, keep reading
                    now = self.clock()
                    with self._lock:
                        self.recv_errors += 1
                        self.last_error = one_line(exc)
                    failing_since = failing_since if failing_since is not None else now
                    self._problem("recv", f"vehicle CAN: dropped what {self.bus_name} received: "
                                          f"{self.last_error} ({self.recv_errors} so far)")
                    if now - failing_since >= REOPEN_AFTER_FAILING_S:
                        self._drop_bus(f"receive failing for {now - failing_since:.1f} s")
                        failing_since = None
                    continue
                failing_since = None
                if self._backoff.failures:
                    self._backoff.reset()
                if msg is not None:
                    self._feed(msg)
                self._check_silence()  # other ECUs' frames (or our own echo) are not the vehicle
            except Exception as exc:  # never let the reader die of anything
                with self._lock:
                    self.recv_errors += 1
                    self.last_error = one_line(exc)
                self._problem("loop", f"vehicle CAN: receive loop error: {self.last_error}")
                self._stop.wait(RECV_TIMEOUT_S)

    def _open(self) -> bool:
        if not self._backoff.due():
            return False
        try:
            bus = self._open_bus()
        except DriverMonitorError as exc:
            with self._lock:
                self.last_error = str(exc)
            wait = self._backoff.failed()
            self._problem("open", f"vehicle signals unavailable: {exc} (speed unknown: treated as moving); "
                                  f"retry in {wait:.1f} s")
            return False
        # The backoff is reset by a receive that works (_run), not by the open: an adapter
        # that opens and fails every receive was reopened every min_s.
        with self._lock:
            self._bus = bus
            self._up_since_t = self.clock()
            self._silent_logged = False
            if self._opened_once:
                self.reopens += 1
        if self._opened_once:
            log.info("vehicle signals: %s open again", self.bus_name)
        self._opened_once = True
        return True

    def _drop_bus(self, why: str) -> None:
        with self._lock:
            bus, self._bus = self._bus, None
            self.last_error = why
        shutdown_quietly(bus)
        wait = self._backoff.failed()
        self._problem("down", f"vehicle CAN: {self.bus_name} {why}; reopening in {wait:.1f} s")

    def _feed(self, msg: can.Message) -> None:
        # Stamped under the lock `state_at` takes and decoded in the same step: a frame whose
        # time is after the stamp sees the message, live as in the replay of the recording
        # made from the same stamp (stamped before the tap's disk write, a loaded machine let a
        # frame slip between the two). The tap gets the same stamp afterwards.
        with self._lock:
            t = receive_stamp(self.clock(), self._asked_t)  # timebase.py: never on a frame already asked
            if self.decoder.is_vehicle_frame(msg):  # not other ECUs' frames, nor our own echo
                self.frames += 1
                if self._silent_logged:
                    log.info("vehicle CAN: %s receiving again", self.bus_name)
                self._last_frame_t, self._silent_logged = t, False
            try:
                self.decoder.feed(msg, t)
            except Exception as exc:  # a frame the decoder cannot take: counted as a drop
                self.decoder.counts["unreadable"] += 1
                self.last_error = one_line(exc)
                self._problem("feed", f"vehicle CAN: dropped an unreadable frame ({self.last_error})")
        if self.tap is not None:
            try:
                self.tap(msg, t)
            except Exception as exc:  # a recorder's problem is the recorder's: never the reader's end
                self._problem("tap", f"vehicle CAN: recording a frame failed: {one_line(exc)}")

    def _check_silence(self) -> None:
        with self._lock:
            silent = self._state(self.clock()) == "silent" and not self._silent_logged
            if silent:
                self._silent_logged = True
        if silent:
            log.warning("vehicle CAN: %s silent: nothing received for %.1f s (speed unknown: treated as moving)",
                        self.bus_name, self.silent_after_s)

    def _problem(self, key: str, text: str) -> None:
        now = time.monotonic()
        if now - self._last_log.get(key, -LOG_INTERVAL_S) >= LOG_INTERVAL_S:
            self._last_log[key] = now
            log.warning("%s", text)
