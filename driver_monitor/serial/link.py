"""The serial port itself (pyserial): open by URL, write with a timeout, read the ACK button,
reopen with exponential backoff after the port disappears (USB adapter unplugged, pty closed).

Writes come from the serial output's thread; a reader thread decodes incoming frames
(docs/serial-protocol.md) and latches ACK presses until `take_ack()` collects them.
`take_ack()` is called by the frame loop: the latch has a lock of its own, never the port's,
which a write holds for up to write_timeout_s (a board that does not read) and an open for as
long as the URL takes to connect.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

import serial

from driver_monitor.backoff import Backoff
from driver_monitor.errors import one_line
from driver_monitor.serial.protocol import DELIMITER, TYPE_ACK, FrameDecoder

log = logging.getLogger(__name__)

LOG_INTERVAL_S = 5.0
READ_TIMEOUT_S = 0.05


class SerialLink:
    def __init__(self, url: str, baudrate: int = 115_200, write_timeout_s: float = 0.05,
                 backoff_min_s: float = 0.5, backoff_max_s: float = 10.0, read: bool = True):
        self.url = url
        self.baudrate = baudrate
        self.write_timeout_s = write_timeout_s
        self.backoff_min_s = backoff_min_s
        self._backoff = Backoff(backoff_min_s, backoff_max_s)
        self._port: serial.SerialBase | None = None
        self._lock = threading.Lock()  # the port: open, write, close
        self._ack_lock = threading.Lock()  # the ACK latch only: never held over I/O
        self._last_log = -LOG_INTERVAL_S
        self.decoder = FrameDecoder()
        self.opens = 0
        self.write_failures = 0
        self.bytes_written = 0
        # The board may hold the start of a frame that never ended (a write that timed out
        # part-way, a port that went mid-frame): the next write begins with a delimiter.
        self._resync = True
        self._ack_pressed = False
        self._ack_count = 0
        self._stop = threading.Event()
        self._reader: threading.Thread | None = None
        self._reading: serial.SerialBase | None = None  # the port the decoder's bytes came from
        self.last_error: str | None = None
        self._rx_errors_logged = 0
        self._last_rx_log = -LOG_INTERVAL_S
        self._try_open()
        if read:
            self._reader = threading.Thread(target=self._read_loop, name="serial-reader", daemon=True)
            self._reader.start()

    @property
    def is_open(self) -> bool:
        return self._port is not None

    def _try_open(self) -> bool:
        if self._port is not None:
            # Without the lock: the reader must not wait behind a write that blocks (a board
            # that does not read), or an ACK press waited as long as the output kept writing.
            return True
        with self._lock:
            if self._port is not None:
                return True
            if not self._backoff.due():
                return False
            try:
                port = serial.serial_for_url(self.url, baudrate=self.baudrate, timeout=READ_TIMEOUT_S,
                                             write_timeout=self.write_timeout_s)
            except (serial.SerialException, OSError, ValueError) as exc:
                self._failed(f"cannot open ({one_line(exc)})")
                return False
            self._port = port
            self._resync = True
            self.opens += 1
            # The backoff is reset by a write that goes through (write), not by the open: a
            # port that opens and fails every write would be reopened every min_s.
            if self.opens > 1:
                log.info("serial %s: reopened", self.url)
            return True

    def _failed(self, why: str) -> None:
        """Called with the lock held: close, log (rate-limited) and schedule the next open."""
        self.last_error = why
        if self._port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                self._port.close()
            self._port = None
        wait = self._backoff.failed()
        now = time.monotonic()
        if now - self._last_log >= LOG_INTERVAL_S:
            self._last_log = now
            log.warning("serial %s: %s; retrying in %.1f s", self.url, why, wait)

    def write(self, data: bytes) -> bool:
        """Write one or more whole frames; False (counted) when the port is down or stuck."""
        if not self._try_open():
            self.write_failures += 1
            return False
        with self._lock:
            port = self._port
            if port is None:
                self.write_failures += 1
                return False
            try:
                # A leading 0x00 ends a cut frame at the board (an empty frame is skipped):
                # without it the board took this frame's bytes as the cut one's rest and
                # dropped both, and the sink never knew this frame was lost.
                port.write(DELIMITER + data if self._resync else data)
            except serial.SerialTimeoutException:
                # Flow control stuck / nobody reading: drop this frame, keep the port. pyserial
                # may have put part of it out before the timeout.
                self.write_failures += 1
                self._resync = True
                return False
            except (serial.SerialException, OSError) as exc:
                self.write_failures += 1
                self._failed(f"write failed ({one_line(exc)})")
                return False
            except Exception as exc:  # URL handlers raise their own types (loop://: queue.Full)
                self.write_failures += 1
                self._failed(f"write failed ({exc.__class__.__name__}: {one_line(exc)})")
                return False
            self._backoff.reset()
            self._resync = False
        self.bytes_written += len(data)
        return True

    def _read_loop(self) -> None:
        while not self._stop.is_set():
            if not self._try_open():
                self._stop.wait(min(0.1, self.backoff_min_s))
                continue
            port = self._port
            if port is None:
                continue
            try:
                data = port.read(256)
            except (serial.SerialException, OSError, TypeError) as exc:
                # TypeError: pyserial's posix read on a closed fd during reopen
                with self._lock:
                    if self._port is port:
                        self._failed(f"read failed ({one_line(exc)})")
                continue
            if not data:
                continue
            if port is not self._reading:
                # A frame the board began before the port went (the cable pulled mid-frame)
                # never ends: its bytes prefixed the first frame of the new connection, and the
                # first ACK press after a replug failed its CRC and was lost.
                self.decoder.reset()
                self._reading = port
            for frame in self.decoder.feed(data):
                if frame.type == TYPE_ACK and frame.fields.get("pressed"):
                    with self._ack_lock:
                        self._ack_pressed = True
                        self._ack_count += 1
            if self.decoder.errors > self._rx_errors_logged:
                now = time.monotonic()
                if now - self._last_rx_log >= LOG_INTERVAL_S:
                    self._last_rx_log = now
                    self._rx_errors_logged = self.decoder.errors
                    bad = {k: v for k, v in self.decoder.counts.items() if k != "ok"}
                    log.warning("serial %s: dropped %d bad received frames so far (%s)", self.url,
                                self.decoder.errors, ", ".join(f"{k} {v}" for k, v in sorted(bad.items())))

    def take_ack(self) -> bool:
        """True once per ACK press seen since the last call; never waits for the port."""
        with self._ack_lock:
            pressed, self._ack_pressed = self._ack_pressed, False
        return pressed

    @property
    def ack_count(self) -> int:
        return self._ack_count

    def close(self) -> None:
        self._stop.set()
        if self._reader is not None:
            self._reader.join(1.0)
        with self._lock:
            if self._port is not None:
                with contextlib.suppress(serial.SerialException, OSError):
                    self._port.close()
                self._port = None

