"""VehicleState -> vehicle CAN frames (the inverse of can_rx), and CAN logs for recordings.

`VehicleCanEncoder` plays the car's side: it encodes VehicleStates through the same vehicle
DBC and signal mapping the daemon reads with (counter + CRC where the DBC declares them).
Tests use it as the peer on a bus; `write_vehicle_can_log` uses it to put a can.blf / .asc /
.log into a recording (the simulator's synthetic drives).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import can
import cantools.database.can as cdb

from driver_monitor.config.vehicle import VehicleConfig
from driver_monitor.errors import InputError
from driver_monitor.messages import VehicleState
from driver_monitor.vehicle.can_rx import BOOL_FIELDS, VehicleSignalDecoder
from driver_monitor.vehicle.dbc import cycle_time_s
from driver_monitor.vehicle.e2e import COUNTER_MODULO, e2e_profile, protect

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
        self.counters = dict.fromkeys(self.messages, 0)
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
                    signals[signal.name] = float(value)
        profile = e2e_profile(msg)
        counter = self.counters[name]
        self.counters[name] = (counter + 1) % COUNTER_MODULO
        if profile is not None:
            signals[profile.crc_signal] = 0
            signals[profile.counter_signal] = counter
        else:
            for s in msg.signals:
                if s.name.endswith("_Counter"):
                    signals[s.name] = counter
        data = msg.encode(signals, strict=True)
        if profile is not None:
            data = protect(data, profile.data_id)
        return can.Message(timestamp=t, arbitration_id=msg.frame_id, is_extended_id=msg.is_extended_frame, data=data)


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
