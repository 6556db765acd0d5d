"""End-to-end protection of CAN frames: AUTOSAR E2E Profile 2 layout (docs/can.md "E2E").

A protected message in a DBC has
  - a CRC signal: 8 bits at byte 0 (name ending in `_CRC`),
  - an alive counter: 4 bits at byte 1, bits 0-3 (name ending in `_Counter`), 0..15, +1 per frame,
  - the message attribute `E2E_DataID` (0..255).
CRC = CRC-8H2F (poly 0x2F, init 0xFF, xor-out 0xFF; crccheck's Crc8Autosar) over bytes
1..DLC-1 followed by the data ID byte; computed by cantools.autosar.end_to_end
(Profile 2 with a constant DataIDList: every counter value uses the message's one data ID).
The receiver checks the CRC, then the counter: a repeated counter is a stale frame, a jump
of more than `max_counter_jump` means frames were lost (Profile 2 MaxDeltaCounter).
"""

from __future__ import annotations

from dataclasses import dataclass

import cantools.database.can as cdb
from cantools.autosar.end_to_end import compute_profile2_crc

DATA_ID_ATTRIBUTE = "E2E_DataID"
COUNTER_MODULO = 16


@dataclass(frozen=True, slots=True)
class E2EProfile:
    """Where a message keeps its E2E fields, read from its DBC definition."""

    crc_signal: str
    counter_signal: str
    data_id: int


def e2e_profile(message: cdb.Message) -> E2EProfile | None:
    """The message's E2E fields, or None when the DBC does not protect it.

    A message counts as protected when it has the E2E_DataID attribute, a `*_CRC` signal at
    bits 0-7 and a `*_Counter` signal at bits 8-11 (the Profile 2 layout)."""
    attrs = message.dbc.attributes if message.dbc is not None else {}
    if DATA_ID_ATTRIBUTE not in attrs:
        return None
    crc = next((s for s in message.signals if s.name.endswith("_CRC")), None)
    counter = next((s for s in message.signals if s.name.endswith("_Counter")), None)
    if crc is None or counter is None:
        return None
    if (crc.start, crc.length, counter.start, counter.length) != (0, 8, 8, 4):
        return None
    return E2EProfile(crc.name, counter.name, int(attrs[DATA_ID_ATTRIBUTE].value))


def counter_signal(message: cdb.Message) -> str | None:
    """A 4-bit alive counter without a CRC is still checked for repeats and jumps."""
    sig = next((s for s in message.signals if s.name.endswith("_Counter")), None)
    return sig.name if sig is not None and sig.length == 4 else None


def protect(payload: bytes, data_id: int) -> bytes:
    """Write the Profile 2 CRC into byte 0 of an encoded payload (counter already in byte 1)."""
    crc = compute_profile2_crc(bytes(payload), data_id)
    out = bytearray(payload)
    out[0] = crc
    return bytes(out)


def crc_ok(payload: bytes, data_id: int) -> bool:
    return len(payload) >= 2 and compute_profile2_crc(bytes(payload), data_id) == payload[0]


def counter_of(payload: bytes) -> int:
    return payload[1] & 0x0F


class CounterCheck:
    """Receiver-side alive-counter check of one message (Profile 2 state machine, simplified):
    the first frame initialises; then delta 0 = repeated (stale) frame, delta 1..max_jump = ok
    (delta > 1 means frames were lost but within the tolerated gap), larger = lost sync: the
    frame is dropped and the next one re-initialises."""

    def __init__(self, max_jump: int = 1):
        self.max_jump = max_jump
        self.last: int | None = None

    def check(self, counter: int) -> str | None:
        """None when the frame is fine, else the reason it is rejected."""
        if self.last is None:
            self.last = counter
            return None
        delta = (counter - self.last) % COUNTER_MODULO
        if delta == 0:
            return "repeated_counter"
        if delta > self.max_jump:
            self.last = None  # resync on the next frame
            return "skipped_counter"
        self.last = counter
        return None

    def reset(self) -> None:
        self.last = None
