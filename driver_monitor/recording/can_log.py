"""The CAN log of a recording: every frame seen on the bus, in Vector BLF (python-can's
BLFWriter), with the receive times the live pipeline used.

Times are recording time (s from the recording start, the frames' clock), written relative
to a marker at 0, so the log's time of recording time 0 — meta.yaml `can_start_time_s` — is
0 and a replay feeds every frame to the decoder at the time the live run did. A BLF header
holds its start as a wall-clock SYSTEMTIME only after a clean close; relative times need
none, so a log cut off by a kill reads back with the same times.

Kill safety: frames are packed into small zlib containers (python-can writes a container when
its buffer fills); the file is unbuffered and a container is also written every
FLUSH_INTERVAL_S of recording time, so a killed recording loses at most that much CAN.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable
from pathlib import Path

import can
from can.io.blf import BLFWriter

from driver_monitor.errors import InputError, one_line
from driver_monitor.recording.files import PRIVATE_MODE

CAN_LOG_NAME = "can.blf"
START_MARKER = "driver-monitor recording start"
# Uncompressed bytes per container: ~350 classic frames; python-can's default (128 KiB)
# would hold ~10 s of a busy bus in memory.
CONTAINER_BYTES = 16 * 1024
FLUSH_INTERVAL_S = 1.0


class _BlfWriter(BLFWriter):
    def write_container(self) -> None:
        """Write the frames buffered so far as a container now (python-can's own `_flush`)."""
        self._flush()


class CanLogWriter:
    """Thread-safe: `add(msg, t)` from the CAN receive thread, `close()` from the loop. A
    write error (disk full) stops the log and is kept in `error`; it never raises in add."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.frames = 0
        self.error: str | None = None
        self._lock = threading.Lock()
        self._last_flush_t = 0.0
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE)
            self._writer: _BlfWriter | None = _BlfWriter(os.fdopen(fd, "w+b", buffering=0),
                                                         max_container_size=CONTAINER_BYTES)
            self._writer.log_event(START_MARKER, timestamp=0.0)  # the log's time 0 = recording time 0
        except OSError as exc:
            raise InputError(f"{self.path}: cannot write the CAN log ({exc.strerror})") from None

    def add(self, msg: can.Message, t: float) -> None:
        with self._lock:
            if self._writer is None:
                return
            stamped = can.Message(timestamp=t, arbitration_id=msg.arbitration_id, is_extended_id=msg.is_extended_id,
                                  is_remote_frame=msg.is_remote_frame, is_error_frame=msg.is_error_frame,
                                  is_fd=msg.is_fd, bitrate_switch=msg.bitrate_switch,
                                  error_state_indicator=msg.error_state_indicator, dlc=msg.dlc, data=msg.data,
                                  channel=msg.channel, is_rx=msg.is_rx)
            try:
                self._writer.on_message_received(stamped)
                self.frames += 1
                if t - self._last_flush_t >= FLUSH_INTERVAL_S:
                    self._writer.write_container()
                    self._last_flush_t = t
            except (OSError, ValueError) as exc:
                self._fail(exc)

    def add_all(self, frames: Iterable[tuple[float, can.Message]]) -> None:
        for t, msg in frames:
            self.add(msg, t)

    def close(self) -> None:
        with self._lock:
            writer, self._writer = self._writer, None
            if writer is None:
                return
            try:
                writer.stop()
            except (OSError, ValueError) as exc:
                self.error = self.error or f"{self.path}: {one_line(exc)}"

    def _fail(self, exc: BaseException) -> None:
        self.error = f"{self.path}: writing the CAN log failed ({getattr(exc, 'strerror', None) or one_line(exc)})"
        writer, self._writer = self._writer, None
        if writer is not None and writer.file is not None:
            with contextlib.suppress(OSError):
                writer.file.close()  # what reached the file stays readable
