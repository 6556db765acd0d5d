"""Signals -> CAN frames through a DBC with cantools, adding each message's alive counter and,
where the DBC protects the message, its AUTOSAR E2E Profile 2 CRC (can/e2e.py).

Knows nothing about what the signals mean: the DMS output (outputs/can_sink.py) and the
vehicle simulator (can/logs.py) both encode through it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import can
import cantools.database.can as cdb

from driver_monitor.can.e2e import (
    COUNTER_MODULO,
    E2ELayoutError,
    E2EProfile,
    counter_signal,
    e2e_profile,
    protect,
)
from driver_monitor.errors import InputError


class FrameEncoder:
    """`encode(name, signals, t)` -> can.Message. Every message keeps its own alive counter
    (+1 per frame, modulo 16) in its E2E counter signal or, without E2E, in a 4-bit
    `*_Counter` signal when it has one.

    require_e2e: every message in `names` must carry the E2E fields (the DMS frames do, by
    contract, docs/can.md); raises InputError naming the DBC otherwise."""

    def __init__(self, db: cdb.Database, names: Iterable[str], dbc_path: str = "DBC", require_e2e: bool = False):
        self.db = db
        self.messages: dict[str, cdb.Message] = {}
        self.profiles: dict[str, E2EProfile | None] = {}
        self.counter_signals: dict[str, str | None] = {}
        for name in names:
            try:
                msg = db.get_message_by_name(name)
            except KeyError:
                raise InputError(f"{dbc_path}: no message {name} (see docs/can.md)") from None
            try:
                profile = e2e_profile(msg)
            except E2ELayoutError as exc:
                raise InputError(f"{dbc_path}: {exc}") from None
            if profile is None and require_e2e:
                raise InputError(f"{dbc_path}: {name} lacks the E2E fields (*_CRC, *_Counter, E2E_DataID)")
            self.messages[name] = msg
            self.profiles[name] = profile
            self.counter_signals[name] = profile.counter_signal if profile is not None else counter_signal(msg)
        self.counters = dict.fromkeys(self.messages, 0)

    def period_s(self, name: str, default_s: float) -> float:
        """The message's GenMsgCycleTime in seconds, or default_s when the DBC has none."""
        ms = self.messages[name].cycle_time
        return ms / 1000.0 if ms else default_s

    def encode(self, name: str, signals: Mapping[str, Any], t: float) -> can.Message:
        msg = self.messages[name]
        profile = self.profiles[name]
        values = dict(signals)
        counter = self.counters[name]
        self.counters[name] = (counter + 1) % COUNTER_MODULO
        if self.counter_signals[name] is not None:
            values[self.counter_signals[name]] = counter
        if profile is not None:
            values[profile.crc_signal] = 0
        data = msg.encode(values, strict=True)
        if profile is not None:
            data = protect(data, profile.data_id)
        return can.Message(timestamp=t, arbitration_id=msg.frame_id, is_extended_id=msg.is_extended_frame,
                           data=data, dlc=len(data))
