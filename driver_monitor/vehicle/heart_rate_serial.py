"""External heart-rate sensor on a serial line (chest strap / wheel sensor bridge, a
microcontroller, a BLE-to-UART adapter): a thin I/O adapter around pyserial.

Line format (ASCII, one reading per line, docs/stress.md "Serial heart-rate sensor"):

    HR,<bpm>[,<rr_ms>...][*<checksum>]\\n

    bpm       heart rate, decimal (e.g. 72 or 72.5); 0 = no contact / no reading
    rr_ms     optional beat-to-beat intervals since the last line, integers in ms
    checksum  optional: two hex digits, XOR of every byte before the '*' (as NMEA 0183)

    lines starting with '#' are comments; '\\r\\n' endings are accepted; a line longer
    than MAX_LINE_BYTES (256) is noise (wrong baud rate) and dropped.

    examples: "HR,72\\n"  "HR,71.5,845,838*21\\n"  "HR,0\\n" (strap lost contact)

A reading older than `max_age_s` is stale: `latest_bpm()` returns None, so the detector falls
back to the camera. A frame at time t sees the readings received by t (a line that arrives
while the loop is still busy with that frame counts from the next one), so a replay of the
recorded lines (`heart_rate.csv`, vehicle/heart_rate_log.py) decides exactly as the live run. Bad lines are counted and logged (at most once per LOG_INTERVAL_S), never
raised: the running daemon never dies of a noisy line. The port is reopened with backoff after
it disappears (USB adapter unplugged).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

import serial

from driver_monitor.backoff import Backoff
from driver_monitor.errors import InputError
from driver_monitor.messages import VehicleState
from driver_monitor.timebase import receive_stamp

log = logging.getLogger(__name__)

LOG_INTERVAL_S = 5.0
READ_TIMEOUT_S = 0.1
MAX_LINE_BYTES = 256  # a longer "line" is noise (wrong baud rate): dropped
MAX_PENDING_RR = 64  # ~1 min of beats
# bpm above this cannot be a human heart rate: a corrupt line, not a reading.
MAX_PLAUSIBLE_BPM = 300.0


@dataclass(frozen=True, slots=True)
class HeartRateReading:
    bpm: float | None  # None: no contact (bpm 0 on the line)
    rr_ms: tuple[int, ...] = ()


class LineError(ValueError):
    """A line that is not a reading; the message says why in one line."""


def parse_line(raw: bytes | str) -> HeartRateReading | None:
    """One line (with or without its ending) -> a reading, None for a blank or comment line;
    raises LineError for anything else."""
    text = raw.decode("ascii", errors="replace") if isinstance(raw, bytes) else raw
    text = text.strip("\r\n ")
    if len(text) > MAX_LINE_BYTES:
        # Whether the reader saw such a line whole depended on how the bytes arrived (cut at
        # MAX_LINE_BYTES without its end, taken whole in one read), and its text filled the
        # log line and the status.
        raise LineError(f"{len(text)} bytes in one line, more than {MAX_LINE_BYTES} (wrong baud rate?): {repr(text)[:40]}...")
    if not text or text.startswith("#"):
        return None
    if "*" in text:
        body, _, checksum = text.rpartition("*")
        if len(checksum) != 2:
            raise LineError(f"checksum must be two hex digits: {text!r}")
        try:
            expected = int(checksum, 16)
        except ValueError:
            raise LineError(f"checksum is not hex: {text!r}") from None
        actual = 0
        for byte in body.encode("ascii", errors="replace"):
            actual ^= byte
        if actual != expected:
            raise LineError(f"checksum mismatch (line {actual:02X}, sent {expected:02X}): {text!r}")
        text = body
    fields = text.split(",")
    if fields[0] != "HR" or len(fields) < 2:
        raise LineError(f"not a heart-rate line (expected HR,<bpm>...): {text!r}")
    try:
        bpm = float(fields[1])
        rr = tuple(int(v) for v in fields[2:])
    except ValueError:
        raise LineError(f"not a number: {text!r}") from None
    if not math.isfinite(bpm) or not 0.0 <= bpm <= MAX_PLAUSIBLE_BPM:
        raise LineError(f"bpm out of range 0..{MAX_PLAUSIBLE_BPM:g}: {text!r}")
    if any(not 0 < v < 5000 for v in rr):
        raise LineError(f"rr_ms out of range 1..4999: {text!r}")
    return HeartRateReading(bpm if bpm > 0 else None, rr)


def format_line(bpm: float, rr_ms: tuple[int, ...] = (), checksum: bool = True) -> bytes:
    """The line a sensor sends (for simulators, tests and the docs' examples)."""
    body = ",".join(["HR", f"{bpm:g}", *(str(v) for v in rr_ms)])
    if checksum:
        cs = 0
        for byte in body.encode("ascii"):
            cs ^= byte
        body += f"*{cs:02X}"
    return (body + "\n").encode("ascii")


# Two receive times closer than this are the same instant (heart_rate.csv keeps µs).
SAME_TIME_S = 1e-6
# Readings received but not yet asked for; a loop that stopped asking keeps the newest.
MAX_PENDING_READINGS = 256

# Every line the sensor sends (good or bad, without its end) with its receive time: a
# recording's heart_rate.csv, the event clips' ring buffer. Called on the reader's thread.
LineTap = Callable[[bytes, float], None]


class HeartRateTimeline:
    """The readings in receive-time order and what the pipeline takes from them at a frame's
    time t: the newest reading received by t (stale after max_age_s) and the beat intervals
    received by t that no earlier frame took. Pure; the serial reader feeds it from its
    thread, a recording's heart_rate.csv in a replay."""

    def __init__(self, max_age_s: float, max_pending: int | None = MAX_PENDING_READINGS):
        self.max_age_s = max_age_s
        self._pending: deque[tuple[float, HeartRateReading]] = deque(maxlen=max_pending)
        self._current: HeartRateReading | None = None
        self._current_t = -math.inf

    def add(self, t: float, reading: HeartRateReading) -> None:
        self._pending.append((t, reading))

    def apply(self, vehicle: VehicleState) -> VehicleState:
        """The vehicle state with the heart rate filled in when CAN gave none, and the beat
        intervals received since the previous frame (each is handed over once)."""
        rr: list[float] = []
        while self._pending and self._pending[0][0] <= vehicle.t + SAME_TIME_S:
            self._current_t, self._current = self._pending.popleft()
            rr.extend(float(v) for v in self._current.rr_ms)
        changes: dict[str, object] = {}
        if vehicle.external_heart_rate_bpm is None:
            reading = self._current
            if reading is not None and reading.bpm is not None and vehicle.t - self._current_t <= self.max_age_s + SAME_TIME_S:
                changes["external_heart_rate_bpm"] = reading.bpm
        rr = rr[-MAX_PENDING_RR:]
        if rr and not vehicle.external_rr_intervals_ms:
            changes["external_rr_intervals_ms"] = tuple(rr)
        return dataclasses.replace(vehicle, **changes) if changes else vehicle


class HeartRateSerialReader:
    """Reads the sensor in a background thread; `apply` merges what it received by a frame's
    time into that frame's VehicleState (external_heart_rate_bpm, beat intervals)."""

    def __init__(self, url: str, baudrate: int = 115_200, max_age_s: float = 3.0,
                 clock: Callable[[], float] = time.monotonic,
                 backoff_min_s: float = 0.5, backoff_max_s: float = 10.0, tap: LineTap | None = None):
        self.url = url
        self.baudrate = baudrate
        self.max_age_s = max_age_s
        self.clock = clock
        self.backoff_min_s = backoff_min_s
        self.backoff_max_s = backoff_max_s
        self.lines_ok = 0
        self.lines_bad = 0
        self.opens = 0
        self.last_error: str | None = None
        self.tap = tap
        self._latest: HeartRateReading | None = None
        self._latest_t = -math.inf
        self._timeline = HeartRateTimeline(max_age_s)
        self._lock = threading.Lock()
        self._asked_t = -math.inf  # the latest frame time `apply` was asked for
        self._stop = threading.Event()
        self._last_log = -math.inf
        self._thread = threading.Thread(target=self._run, name="heart-rate-serial", daemon=True)
        self._thread.start()

    # -- what the live loop reads ----------------------------------------------------------

    def latest(self) -> tuple[HeartRateReading | None, float]:
        """The last reading and its receive time on `clock` (None, -inf before any)."""
        with self._lock:
            return self._latest, self._latest_t

    def latest_bpm(self, now: float | None = None) -> float | None:
        """The heart rate if a reading with contact arrived within max_age_s, else None."""
        reading, t = self.latest()
        now = self.clock() if now is None else now
        if reading is None or reading.bpm is None or now - t > self.max_age_s:
            return None
        return reading.bpm

    def apply(self, vehicle: VehicleState) -> VehicleState:
        """What was received by vehicle.t (the frame's time, on this reader's clock) merged
        into the frame's vehicle state (HeartRateTimeline.apply)."""
        with self._lock:
            self._asked_t = max(self._asked_t, vehicle.t)
            return self._timeline.apply(vehicle)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2.0)

    def __enter__(self) -> HeartRateSerialReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the reader thread ------------------------------------------------------------------

    def status(self) -> dict[str, object]:
        """What `driver-monitor status` shows of the sensor: readings, bad lines, port."""
        return {"port": self.url, "lines_ok": self.lines_ok, "lines_bad": self.lines_bad,
                "opens": self.opens, "last_error": self.last_error}

    def _run(self) -> None:
        backoff = Backoff(self.backoff_min_s, self.backoff_max_s)
        while not self._stop.is_set():
            try:
                port = serial.serial_for_url(self.url, baudrate=self.baudrate, timeout=READ_TIMEOUT_S)
            except (serial.SerialException, OSError, ValueError) as exc:
                self._problem(f"{self.url}: cannot open the heart-rate sensor port ({exc})")
                self._stop.wait(backoff.failed())
                continue
            self.opens += 1
            backoff.reset()
            try:
                self._read(port)
            except Exception as exc:  # the port, or any bytes on it: never the end of the reader
                self._problem(f"{self.url}: heart-rate sensor port failed ({exc}); reopening")
                self._stop.wait(backoff.failed())
            finally:
                # A port whose device vanished may fail to close too: the reader reopens all
                # the same (an exception here ended the thread, and the sensor for the run).
                with contextlib.suppress(Exception):
                    port.close()

    def _read(self, port: serial.SerialBase) -> None:
        buf = bytearray()
        while not self._stop.is_set():
            chunk = port.read(max(1, port.in_waiting or 1))
            if not chunk:
                continue
            buf += chunk
            while b"\n" in buf:
                line, _, rest = bytes(buf).partition(b"\n")
                buf = bytearray(rest)
                self._line(line)
            if len(buf) > MAX_LINE_BYTES:
                self.lines_bad += 1
                self._problem(f"{self.url}: {len(buf)} bytes without a line end (wrong baud rate?); dropped")
                buf.clear()

    def _line(self, line: bytes) -> None:
        try:
            reading, error = parse_line(line), None
        except LineError as exc:
            reading, error = None, exc
        # Stamp and hand over in one step, under the lock `apply` takes: a frame whose time is
        # after the stamp then sees the reading, live as in the replay of the recording made
        # from the same stamp. (Stamped before the tap's disk write, a loaded machine let a
        # frame slip between the two: the live run missed a reading its replay took.)
        with self._lock:
            t = receive_stamp(self.clock(), self._asked_t)  # timebase.py: never on a frame already asked
            if reading is not None:
                self._latest, self._latest_t = reading, t
                self._timeline.add(t, reading)
        if self.tap is not None:
            try:
                self.tap(line.rstrip(b"\r"), t)
            except Exception as exc:  # a recorder's problem never ends the reader
                self._problem(f"{self.url}: recording a heart-rate line failed: {exc}")
        if error is not None:
            self.lines_bad += 1
            self._problem(f"{self.url}: bad heart-rate line: {error}")
        elif reading is not None:
            self.lines_ok += 1

    def _problem(self, message: str) -> None:
        self.last_error = message
        now = time.monotonic()
        if now - self._last_log >= LOG_INTERVAL_S:
            self._last_log = now
            log.warning("%s", message)


@dataclass
class WatchSummary:
    lines_ok: int = 0
    lines_bad: int = 0
    last_bpm: float | None = None


def watch(url: str, baudrate: int, seconds: float, out: TextIO, clock: Callable[[], float] = time.monotonic) -> WatchSummary:
    """Read the sensor for `seconds` and print every line as the reader sees it (the
    `driver-monitor heart-rate` check for integrators). InputError if the port cannot open."""
    try:
        port = serial.serial_for_url(url, baudrate=baudrate, timeout=READ_TIMEOUT_S)
    except (serial.SerialException, OSError, ValueError) as exc:
        raise InputError(f"{url}: cannot open the heart-rate sensor port ({exc})") from None
    summary = WatchSummary()
    start = clock()
    buf = b""
    try:
        while clock() - start < seconds:
            buf += port.read(max(1, port.in_waiting or 1))
            while b"\n" in buf:
                line, _, buf = buf.partition(b"\n")
                stamp = f"{clock() - start:7.2f} s"
                try:
                    reading = parse_line(line)
                except LineError as exc:
                    summary.lines_bad += 1
                    print(f"{stamp}  bad: {exc}", file=out)
                    continue
                if reading is None:
                    continue
                summary.lines_ok += 1
                summary.last_bpm = reading.bpm
                bpm = "no contact" if reading.bpm is None else f"{reading.bpm:g} bpm"
                rr = f"  rr {', '.join(str(v) for v in reading.rr_ms)} ms" if reading.rr_ms else ""
                print(f"{stamp}  {bpm}{rr}", file=out)
            if len(buf) > MAX_LINE_BYTES:
                summary.lines_bad += 1
                print(f"{clock() - start:7.2f} s  bad: {len(buf)} bytes without a line end (wrong baud rate?)", file=out)
                buf = b""
    except (serial.SerialException, OSError) as exc:
        raise InputError(f"{url}: heart-rate sensor port failed ({exc})") from None
    finally:
        port.close()
    return summary
