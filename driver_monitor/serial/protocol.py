"""The serial frame format (docs/serial-protocol.md) and its Python reference decoder.

On the wire every frame is COBS(body) followed by one 0x00 delimiter, so a receiver that
lost sync (garbage, a cut frame, a port opened mid-frame) resynchronises at the next 0x00.

    body = version:u8 | type:u8 | seq:u8 | payload | crc:u16 little-endian
    crc  = CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, xor-out 0) over
           version..payload

All multi-byte fields are little-endian. `seq` counts each sender's frames 0..255 (a gap
means frames were lost). A receiver accepts a payload longer than it knows (fields appended
by a newer minor revision) and rejects a shorter one; a different `version` is rejected.
"""

from __future__ import annotations

import logging
import struct
from collections import Counter
from dataclasses import dataclass
from typing import Any

from cobs import cobs
from crccheck.crc import Crc16CcittFalse

log = logging.getLogger(__name__)

VERSION = 1
DELIMITER = b"\x00"
MAX_BODY = 64  # longest body a receiver buffers; longer input is garbage and skipped

TYPE_STATUS = 0x01
TYPE_WARNING = 0x02
TYPE_HEARTBEAT = 0x03
TYPE_ACK = 0x10  # from the vehicle side: the driver pressed / released the ACK button

# payload layouts (struct format, field names)
PAYLOADS: dict[int, tuple[str, tuple[str, ...]]] = {
    TYPE_STATUS: ("<IBBBBBBHHB", ("t_ms", "system_state", "driver_state", "flags", "kss",
                                  "distraction_level", "stress_level", "eyes_off_road_cs",
                                  "perclos_permille", "policy_level")),
    TYPE_WARNING: ("<IBBHBH", ("t_ms", "level", "reason", "actions", "flags", "active_time_ds")),
    TYPE_HEARTBEAT: ("<IBHBB", ("t_ms", "system_state", "faults", "version_major", "version_minor")),
    TYPE_ACK: ("<IB", ("t_ms", "pressed")),
}
TYPE_NAMES = {TYPE_STATUS: "status", TYPE_WARNING: "warning", TYPE_HEARTBEAT: "heartbeat", TYPE_ACK: "ack"}

# status flags
FLAG_FACE_PRESENT, FLAG_MONITORING_ACTIVE, FLAG_ACK_SUPPRESSED, FLAG_SPEED_UNKNOWN = 1, 2, 4, 8
# "unavailable" raw values
U8_UNAVAILABLE = 0xFF
U16_UNAVAILABLE = 0xFFFF

_CRC = Crc16CcittFalse


def crc16(data: bytes) -> int:
    return int(_CRC.calc(data))


def encode_frame(frame_type: int, seq: int, payload: bytes) -> bytes:
    body = bytes([VERSION, frame_type, seq & 0xFF]) + payload
    body += struct.pack("<H", crc16(body))
    return cobs.encode(body) + DELIMITER


def pack(frame_type: int, seq: int, **fields: int) -> bytes:
    fmt, names = PAYLOADS[frame_type]
    return encode_frame(frame_type, seq, struct.pack(fmt, *(fields[n] for n in names)))


@dataclass(frozen=True, slots=True)
class SerialFrame:
    version: int
    type: int
    seq: int
    fields: dict[str, int]
    payload: bytes

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(self.type, f"0x{self.type:02x}")


class FrameDecoder:
    """Stream -> frames. feed() any bytes (partial frames, garbage); complete valid frames come
    out, bad ones are dropped and counted in `counts` by reason; never raises."""

    def __init__(self, max_body: int = MAX_BODY):
        self.max_body = max_body
        self._buf = bytearray()
        self._overflow = False
        self.counts: Counter[str] = Counter()

    @property
    def errors(self) -> int:
        return sum(n for k, n in self.counts.items() if k != "ok")

    def reset(self) -> None:
        """Forget a frame begun on a connection that is gone (the counts stay)."""
        self._buf.clear()
        self._overflow = False

    def feed(self, data: bytes) -> list[SerialFrame]:
        out: list[SerialFrame] = []
        for byte in data:
            if byte != 0:
                if len(self._buf) < self.max_body + 2:  # COBS adds 1 byte per 254
                    self._buf.append(byte)
                else:
                    self._overflow = True
                continue
            chunk, overflow = bytes(self._buf), self._overflow
            self._buf.clear()
            self._overflow = False
            if overflow:
                self.counts["too_long"] += 1
            elif chunk:
                frame = self._decode(chunk)
                if frame is not None:
                    out.append(frame)
        return out

    def _decode(self, chunk: bytes) -> SerialFrame | None:
        try:
            body = cobs.decode(chunk)
        except cobs.DecodeError:
            self.counts["cobs_error"] += 1
            return None
        if len(body) < 5:
            self.counts["too_short"] += 1
            return None
        (crc,) = struct.unpack_from("<H", body, len(body) - 2)
        if crc16(body[:-2]) != crc:
            self.counts["bad_crc"] += 1
            return None
        version, frame_type, seq = body[0], body[1], body[2]
        if version != VERSION:
            self.counts["bad_version"] += 1
            return None
        payload = body[3:-2]
        fields: dict[str, int] = {}
        layout = PAYLOADS.get(frame_type)
        if layout is not None:
            fmt, names = layout
            size = struct.calcsize(fmt)
            if len(payload) < size:
                self.counts["bad_length"] += 1
                return None
            fields = dict(zip(names, struct.unpack_from(fmt, payload), strict=True))
        else:
            self.counts["unknown_type"] += 1
            return None
        self.counts["ok"] += 1
        return SerialFrame(version, frame_type, seq, fields, payload)


def describe(frame: SerialFrame) -> dict[str, Any]:
    """Human-readable view of a decoded frame (for logs and the docs' examples)."""
    return {"type": frame.type_name, "seq": frame.seq, **frame.fields}
