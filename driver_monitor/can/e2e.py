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


class E2ELayoutError(ValueError):
    """A message asks for E2E protection (E2E_DataID) but its CRC / counter are not where
    Profile 2 keeps them: its frames cannot be checked (and accepting them unchecked hid it)."""


def _bit_positions(signal: cdb.Signal) -> frozenset[int]:
    """The payload bits a signal occupies, as byte * 8 + bit (bit 0 = least significant),
    whatever its byte order: a Motorola `7|8@0+` and an Intel `0|8@1+` are the same byte 0."""
    if signal.byte_order == "little_endian":
        return frozenset(range(signal.start, signal.start + signal.length))
    bits, bit = [], signal.start  # DBC big-endian: start is the MSB, then down a byte's bits
    for _ in range(signal.length):
        bits.append(bit)
        bit = bit + 15 if bit % 8 == 0 else bit - 1
    return frozenset(bits)


_CRC_BITS = frozenset(range(0, 8))  # byte 0
_COUNTER_BITS = frozenset(range(8, 12))  # byte 1, bits 0-3


def e2e_profile(message: cdb.Message) -> E2EProfile | None:
    """The message's E2E fields, or None when the DBC does not protect it (no E2E_DataID).

    A protected message has the E2E_DataID attribute, a `*_CRC` signal on byte 0 and a
    `*_Counter` signal on bits 0-3 of byte 1 (the Profile 2 layout, in either byte order);
    E2ELayoutError when it has the attribute and not that layout."""
    attrs = message.dbc.attributes if message.dbc is not None else {}
    if DATA_ID_ATTRIBUTE not in attrs:
        return None
    crc = next((s for s in message.signals if s.name.endswith("_CRC")), None)
    counter = next((s for s in message.signals if s.name.endswith("_Counter")), None)
    if crc is None or counter is None or _bit_positions(crc) != _CRC_BITS or _bit_positions(counter) != _COUNTER_BITS:
        raise E2ELayoutError(
            f"{message.name} has {DATA_ID_ATTRIBUTE} but not the E2E Profile 2 layout (a *_CRC signal on byte 0, "
            f"a 4-bit *_Counter signal on bits 0-3 of byte 1): its frames cannot be checked")
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
    frame is dropped and the sequence goes on from its counter, so the next frame is accepted
    only if it follows that one (Profile 2's resynchronisation on a frame in sequence). A stale
    frame replayed twice stays dropped: re-initialising on the frame after a jump accepted
    its second copy and set the speed back to an old value."""

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
            self.last = counter  # resync on the next frame in sequence after this one
            return "skipped_counter"
        self.last = counter
        return None

    def reset(self) -> None:
        self.last = None
