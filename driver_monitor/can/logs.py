"""CAN logs of the vehicle's signals: reading a recording's log as a VehicleState source
(replay), and writing one (the simulator's synthetic drives).

`CanLogVehicleSource` feeds the log through the same VehicleSignalDecoder as the live bus;
`state_at(t)` is asked once per video frame with the frame's time, so the vehicle signals
stay in sync with the video whatever the speed of the replay.

`VehicleCanEncoder` plays the car's side: it encodes VehicleStates through the same vehicle
DBC and signal mapping the daemon reads with (counter + CRC where the DBC declares them).
Tests use it as the peer on a bus; `write_vehicle_can_log` uses it to put a can.blf / .asc /
.log into a recording.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import can
import cantools.database.can as cdb

from driver_monitor.can.dbc import cycle_time_s
from driver_monitor.can.rx import BOOL_FIELDS, SAME_TIME_S, VehicleSignalDecoder
from driver_monitor.can.tx import FrameEncoder
from driver_monitor.config.vehicle import VehicleConfig
from driver_monitor.errors import InputError, one_line
from driver_monitor.messages import VehicleState

log = logging.getLogger(__name__)

# Log timestamps this large are absolute clock times (epoch seconds), not recording times.
ABSOLUTE_TIME_THRESHOLD_S = 1e6

# Log time of recording time 0 in logs written here: an absolute clock (BLF keeps absolute
# times with ms resolution in its header; times near the epoch do not survive it). Readers
# subtract the recording's meta.yaml `can_start_time_s` (docs/recording.md).
DEFAULT_LOG_START_TIME_S = 1_700_000_000.0


class VehicleCanEncoder:
    def __init__(self, config: VehicleConfig | None = None, db: cdb.Database | None = None):
        config = config if config is not None else VehicleConfig()
        # The decoder validates the mapping against the DBC (ConfigError naming the key).
        self._decoder = VehicleSignalDecoder(config, db)
        self.config = config
        self.db = self._decoder.db
        self.messages: dict[str, cdb.Message] = {}
        self.fields_of: dict[str, list[tuple[str, Any]]] = {}
        for field, mapping in config.signals:
            if mapping is None:
                continue
            msg = self.db.get_message_by_name(mapping.message)
            self.messages[msg.name] = msg
            self.fields_of.setdefault(msg.name, []).append((field, mapping))
        self._frames = FrameEncoder(self.db, self.messages)
        self._gear_choice = {v: k for k, v in config.gear_names.items()}

    def cycle_s(self, name: str) -> float:
        return cycle_time_s(self.messages[name], self.config.default_cycle_time_s)

    def encode(self, name: str, state: VehicleState, t: float) -> can.Message | None:
        """One frame of message `name` describing `state`, or None when the car would send
        nothing (speed unknown: the message goes silent so the receiver times out)."""
        msg = self.messages[name]
        signals: dict[str, Any] = {s.name: _neutral(s) for s in msg.signals}
        for field, mapping in self.fields_of[name]:
            value = getattr(state, field)
            signal = msg.get_signal_by_name(mapping.signal)
            if field in BOOL_FIELDS:
                if value is None:
                    return None
                signals[signal.name] = _bool_choice(signal, bool(value), mapping.true_values)
            elif field == "gear":
                if value is None:
                    return None
                signals[signal.name] = self._gear_choice[value]
            else:  # numbers
                if value is None:
                    choices = signal.choices or {}
                    if not choices:
                        return None
                    signals[signal.name] = next(iter(choices.values()))
                else:
                    signals[signal.name] = _saturate(signal, float(value))
        return self._frames.encode(name, signals, t)


def _saturate(signal: cdb.Signal, value: float) -> float:
    """A car's ECU sends the end of the signal's range for a value beyond it (330 km/h on a
    0..320 signal); cantools' strict encoding raised, and the bench peer died with a traceback."""
    if signal.maximum is not None:
        value = min(value, float(signal.maximum))
    if signal.minimum is not None:
        value = max(value, float(signal.minimum))
    return value


def _neutral(signal: cdb.Signal) -> Any:
    lo = signal.minimum if signal.minimum is not None else 0
    return max(0, lo) if not signal.choices else next(iter(signal.choices.values()))


def _bool_choice(signal: cdb.Signal, value: bool, true_values: list[str]) -> Any:
    if not true_values:
        return int(value)
    names = [str(c) for c in (signal.choices or {}).values()]
    if value:
        return true_values[0]
    return next((n for n in names if n not in true_values), 0)


def vehicle_frames(
    states: Sequence[VehicleState],
    encoder: VehicleCanEncoder,
    start_time_s: float = 0.0,
) -> list[can.Message]:
    """Frames every message would carry on the bus from states[0].t to states[-1].t, each at
    its own DBC cycle, each describing the newest state with t <= its send time. Timestamps are
    start_time_s + recording time."""
    if not states:
        return []
    states = sorted(states, key=lambda s: s.t)
    t_first, t_last = states[0].t, states[-1].t
    out: list[can.Message] = []
    for name in encoder.messages:
        period = encoder.cycle_s(name)
        i, k = 0, 0
        while True:
            t = t_first + k * period
            if t > t_last + 1e-9:
                break
            while i + 1 < len(states) and states[i + 1].t <= t + 1e-9:
                i += 1
            frame = encoder.encode(name, states[i], start_time_s + t)
            if frame is not None:
                out.append(frame)
            k += 1
    out.sort(key=lambda m: m.timestamp)
    return out


def write_vehicle_can_log(
    states: Sequence[VehicleState],
    path: str | Path,
    config: VehicleConfig | None = None,
    start_time_s: float = DEFAULT_LOG_START_TIME_S,
) -> float:
    """Write a CAN log (.blf, .asc, .log, .csv by suffix, via can.Logger) of `states` encoded
    with the vehicle DBC of `config` (default: the example DBC and mapping).

    Returns the log time of recording time 0; store it as `can_start_time_s` in the
    recording's meta.yaml so replay aligns the log with the video (docs/recording.md)."""
    path = Path(path)
    encoder = VehicleCanEncoder(config)
    frames = vehicle_frames(states, encoder, start_time_s)
    try:
        logger = can.Logger(str(path))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot write a CAN log ({exc})") from None
    with logger:
        for frame in frames:
            logger.on_message_received(frame)
    return start_time_s


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
            raise InputError(f"{self.path}: cannot read the CAN log ({one_line(exc)})") from None
        if start_time_s is None:
            first = self._pending.timestamp if self._pending is not None else 0.0
            start_time_s = first if first >= ABSOLUTE_TIME_THRESHOLD_S else 0.0
            if first >= ABSOLUTE_TIME_THRESHOLD_S:
                log.warning("%s: no can_start_time_s in meta.yaml; assuming the log starts with the video", self.path)
        self.start_time_s = start_time_s
        self.frames = 0
        self._broken = False
        self._first_asked_t: float | None = None  # the video's first frame time
        self._last_frame_t: float | None = None  # recording time of the last frame fed
        self.cut_short = _blf_cut_short(self._reader, self.path)
        if self.cut_short:
            log.warning("%s: %s", self.path, self.cut_short)

    @property
    def errors(self) -> int:
        return self.decoder.errors

    def state_at(self, t: float) -> VehicleState:
        if self._first_asked_t is None:
            self._first_asked_t = t
        while self._pending is not None and self._pending.timestamp - self.start_time_s <= t + SAME_TIME_S:
            msg = self._pending
            self._last_frame_t = msg.timestamp - self.start_time_s
            self.decoder.feed(msg, self._last_frame_t)
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
                        self.path, self.frames, one_line(exc))
            return None

    def status(self) -> None:
        """A log has no bus that could be down (vehicle/inputs.VehicleSource)."""
        return None

    def summary_line(self) -> str:
        """What the log gave the replay, including what it could not: frames of messages the
        vehicle mapping does not read, and a log none of whose frames came within the video's
        times (a wrong can_start_time_s: the log was ignored without a word)."""
        counts = dict(self.decoder.counts)
        dropped = {k: v for k, v in counts.items() if k not in ("accepted", "ignored")}
        extra = ", ".join(f"{k} {v}" for k, v in sorted(dropped.items()))
        used = counts.get("accepted", 0)
        line = f"vehicle CAN log {self.path.name}: {used} frames used{', dropped: ' + extra if extra else ''}"
        if counts.get("ignored"):
            line += f", {counts['ignored']} frames of messages the vehicle mapping does not read"
        if self._pending is not None and self.frames == 0:
            line += (f", NONE within the video's times (its first frame at {self._pending.timestamp - self.start_time_s:.3f} s "
                     "of the recording): check can_start_time_s in meta.yaml")
        elif (self._pending is None and self._last_frame_t is not None and self._first_asked_t is not None
              and self._last_frame_t < self._first_asked_t - SAME_TIME_S):
            # All of it before the first frame: fed at once, the signals then timed out for
            # the whole drive (a log of relative times under an absolute can_start_time_s).
            line += (f", NONE within the video's times (its last frame at {self._last_frame_t:.3f} s of the "
                     "recording, before the video starts): check can_start_time_s in meta.yaml")
        if self.cut_short:
            line += f", {self.cut_short}"
        return line

    def close(self) -> None:
        stop = getattr(self._reader, "stop", None)
        if stop is not None:
            stop()


def _blf_cut_short(reader: Any, path: Path) -> str | None:
    """A BLF file shorter than its header says: python-can's reader stops at the cut without
    raising, so the drive would lose its last vehicle signals without a word. A writer that
    never closed the file (a killed recording) leaves the header's size at the header's own
    144 bytes: that is an unfinished log, not a cut one."""
    declared = getattr(reader, "file_size", None)
    if not isinstance(reader, can.BLFReader) or not isinstance(declared, int):
        return None
    actual = path.stat().st_size
    if declared > actual:
        return f"cut short: its header says {declared} bytes, the file has {actual} (the frames after the cut are lost)"
    return None


def open_log_source(path: str | Path, config: VehicleConfig, meta: dict[str, Any]) -> CanLogVehicleSource:
    start = meta.get("can_start_time_s")
    if isinstance(start, bool) or (start is not None and not isinstance(start, (int, float))) or (
            start is not None and not math.isfinite(start)):
        raise InputError(f"{path}: meta.yaml can_start_time_s must be a number (got {start!r})")
    return CanLogVehicleSource(path, config, None if start is None else float(start))
