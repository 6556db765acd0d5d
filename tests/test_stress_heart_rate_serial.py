"""Serial heart-rate sensor: the documented line format, and the reader against a real peer
(a socat pty pair) and pyserial's loop://."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial
from serial_peer import stop_socat

from driver_monitor.messages import VehicleState
from driver_monitor.vehicle.heart_rate_serial import (
    HeartRateReading,
    HeartRateSerialReader,
    HeartRateTimeline,
    LineError,
    format_line,
    parse_line,
)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"HR,72\n", HeartRateReading(72.0)),
        (b"HR,71.5,845,838\r\n", HeartRateReading(71.5, (845, 838))),
        (format_line(64.0, (930, 940)), HeartRateReading(64.0, (930, 940))),
        (b"HR,0\n", HeartRateReading(None)),  # no contact
        (b"# sensor v1.2\n", None),
        (b"\r\n", None),
    ],
)
def test_parse_good_lines(line: bytes, expected: HeartRateReading | None) -> None:
    assert parse_line(line) == expected


def test_checksum_is_nmea_xor() -> None:
    assert format_line(71.5, (845, 838)) == b"HR,71.5,845,838*21\n"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"HR,71.5,845,838*22\n", "checksum mismatch"),
        (b"HR,72*7\n", "two hex digits"),
        (b"HR,72*ZZ\n", "not hex"),
        (b"BPM 72\n", "not a heart-rate line"),
        (b"HR,seventy\n", "not a number"),
        (b"HR,400\n", "out of range"),
        (b"HR,nan\n", "out of range"),
        (b"HR,72,0\n", "rr_ms out of range"),
        (b"\xff\xfe\x00garbage\n", "not a heart-rate line"),
        (b"HR,72" + b",800" * 70 + b"\n", "285 bytes in one line, more than 256"),
        (b"\x13" * 3000 + b"\n", "3000 bytes in one line, more than 256"),
    ],
)
def test_bad_lines_say_why(line: bytes, reason: str) -> None:
    with pytest.raises(LineError, match=reason) as info:
        parse_line(line)
    assert len(str(info.value)) < 120  # one readable line in the log and the status


def wait_for(predicate, timeout_s: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


@pytest.fixture()
def pty_pair(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    if shutil.which("socat") is None:
        pytest.skip("socat not installed")
    a, b = tmp_path / "ttyDMS", tmp_path / "ttySENSOR"
    proc = subprocess.Popen(["socat", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: a.exists() and b.exists()), "socat did not create the pty pair"
        yield a, b
    finally:
        stop_socat(proc)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_reader_over_a_real_pty_pair(pty_pair: tuple[Path, Path]) -> None:
    dms, sensor_path = pty_pair
    clock = FakeClock()
    with HeartRateSerialReader(str(dms), max_age_s=3.0, clock=clock) as reader, \
            serial.Serial(str(sensor_path), 115200, timeout=1) as sensor:
        assert reader.latest_bpm() is None
        # pyserial flushes the input queue when it opens a port: write only once the reader's
        # thread has it open (CI lost the first line to that race once).
        assert wait_for(lambda: reader.opens == 1)
        # Noise first (a bad checksum, garbage), then a good line split across two writes.
        sensor.write(b"HR,71.5,845,838*22\nrubbish\n")
        sensor.write(b"HR,7")
        sensor.flush()
        time.sleep(0.05)
        sensor.write(b"3,820*" + format_line(73.0, (820,))[-3:])
        sensor.flush()
        assert wait_for(lambda: reader.lines_ok == 1)
        assert reader.lines_bad == 2 and "rubbish" in (reader.last_error or "")
        assert reader.latest_bpm() == 73.0
        assert reader.latest()[0] == HeartRateReading(73.0, (820,))
        # A frame captured before the line arrived (t on the reader's clock) does not see it.
        assert reader.apply(VehicleState(t=99.99)) == VehicleState(t=99.99)
        # The beat intervals are handed over once, with the first frame at or after their arrival.
        assert reader.apply(VehicleState(t=100.0)).external_rr_intervals_ms == (820.0,)
        assert reader.apply(VehicleState(t=100.1)).external_rr_intervals_ms == ()
        # CAN's value wins when there is one; otherwise the serial one fills in.
        assert reader.apply(VehicleState(t=100.1)).external_heart_rate_bpm == 73.0
        assert reader.apply(VehicleState(t=100.1, external_heart_rate_bpm=70.0)).external_heart_rate_bpm == 70.0
        # Stale max_age_s after it was received, judged at the frame's time.
        assert reader.apply(VehicleState(t=103.0)).external_heart_rate_bpm == 73.0
        assert reader.apply(VehicleState(t=103.01)).external_heart_rate_bpm is None
        clock.now += 3.5
        assert reader.latest_bpm() is None
        # Lost contact: bpm 0 means none, not zero.
        sensor.write(b"HR,0\n")
        sensor.flush()
        assert wait_for(lambda: reader.lines_ok == 2)
        assert reader.latest_bpm() is None


def test_a_recorded_line_is_already_seen_by_a_frame_at_its_time(pty_pair: tuple[Path, Path]) -> None:
    # `record` writes each line with its receive time (the tap), and the replay gives a frame
    # every reading received by its time. Live, the frame must see the same: when the line is
    # written, the reading is already there for a frame at that time. (Stamped before the
    # disk write and handed over after it, a loaded machine let a frame at t=7.199 slip in
    # between: the live run missed the reading its replay took, tests/test_record.py.)
    dms, sensor_path = pty_pair
    seen: list[tuple[float, VehicleState]] = []
    readers: list[HeartRateSerialReader] = []

    def tap(line: bytes, t: float) -> None:
        seen.append((t, readers[0].apply(VehicleState(t=t))))

    with HeartRateSerialReader(str(dms), max_age_s=3.0, clock=FakeClock(), tap=tap) as reader, \
            serial.Serial(str(sensor_path), 115200, timeout=1) as sensor:
        readers.append(reader)
        assert wait_for(lambda: reader.opens == 1)
        sensor.write(format_line(73.0, (820,)))
        sensor.flush()
        assert wait_for(lambda: len(seen) == 1)
    ((t, state),) = seen
    assert t == 100.0 and state.external_heart_rate_bpm == 73.0 and state.external_rr_intervals_ms == (820.0,)


def test_a_line_read_after_a_frame_of_the_same_millisecond_goes_to_the_next_frame(
        pty_pair: tuple[Path, Path]) -> None:
    # `record`'s clock has a 1 ms grid: a line read just after the frame at 3.314 s was judged
    # still reads 3.314. Stamped so, the live frame missed it and the replay gave it to that
    # frame (CI: tests/test_record.py, heart rate 71 live, 73 replayed at 3.314 s). It is
    # stamped on the next grid point instead, and the next frame takes it, live and replayed.
    dms, sensor_path = pty_pair
    clock = FakeClock()
    clock.now = 3.314
    stamps: list[float] = []
    with HeartRateSerialReader(str(dms), max_age_s=3.0, clock=clock, tap=lambda line, t: stamps.append(t)) as reader, \
            serial.Serial(str(sensor_path), 115200, timeout=1) as sensor:
        assert wait_for(lambda: reader.opens == 1)
        live = [reader.apply(VehicleState(t=3.314))]
        sensor.write(format_line(73.0, (820,)))
        sensor.flush()
        assert wait_for(lambda: len(stamps) == 1)
        live.append(reader.apply(VehicleState(t=3.315)))
    assert stamps == [3.315]
    replay = HeartRateTimeline(max_age_s=3.0)
    replay.add(stamps[0], parse_line(format_line(73.0, (820,))))
    replayed = [replay.apply(VehicleState(t=3.314)), replay.apply(VehicleState(t=3.315))]
    assert replayed == live
    assert live[0].external_heart_rate_bpm is None and live[1].external_heart_rate_bpm == 73.0
    assert live[1].external_rr_intervals_ms == (820.0,)


def test_reader_reopens_and_reports_an_unopenable_port(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-tty"
    with HeartRateSerialReader(str(missing), backoff_min_s=0.05) as reader:
        assert wait_for(lambda: reader.last_error is not None)
        assert str(missing) in (reader.last_error or "") and "cannot open" in (reader.last_error or "")
        assert reader.latest_bpm() is None and reader.opens == 0


def test_a_port_that_fails_to_close_does_not_end_the_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    # A USB sensor pulled out: reading fails, and so may closing the port. The close's error
    # ended the reader thread, so the sensor was gone for the rest of the run once it came back.
    class VanishedPort:
        def read(self, n: int) -> bytes:
            raise serial.SerialException("device reports readiness to read but returned no data")

        def close(self) -> None:
            raise OSError(5, "Input/output error")

    monkeypatch.setattr(serial, "serial_for_url", lambda *a, **k: VanishedPort())
    with HeartRateSerialReader("/dev/ttyUSB7", backoff_min_s=0.01, backoff_max_s=0.01) as reader:
        assert wait_for(lambda: reader.opens >= 3)
        assert "heart-rate sensor port failed" in (reader.last_error or "")


def test_loop_url_opens() -> None:
    # loop:// echoes what the same port writes; the reader owns its port, so this only checks
    # that pyserial URLs (loop://, socket://, rfc2217://) are accepted as ports.
    with HeartRateSerialReader("loop://") as reader:
        assert wait_for(lambda: reader.opens == 1)
        assert reader.last_error is None


def test_heart_rate_cli_prints_what_the_sensor_sends(pty_pair: tuple[Path, Path]) -> None:
    dms, sensor_path = pty_pair
    proc = subprocess.Popen([sys.executable, "-m", "driver_monitor", "heart-rate", str(dms), "--seconds", "3"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # The sensor repeats its three lines until the CLI has finished (its start-up time
        # varies with the machine's load; lines sent before it opened the port are lost).
        with serial.Serial(str(sensor_path), 115200, timeout=1, write_timeout=1) as sensor:
            deadline = time.monotonic() + 30.0
            while proc.poll() is None and time.monotonic() < deadline:
                sensor.write(format_line(68.0, (880, 875)) + b"HR,68*00\nHR,0\n")
                sensor.flush()
                time.sleep(0.3)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert any(line.endswith("68 bpm  rr 880, 875 ms") for line in lines)
    assert any("bad: checksum mismatch (line 38, sent 00)" in line for line in lines)
    assert any(line.endswith("no contact") for line in lines)
    readings, bad = (int(v) for v in re.fullmatch(r"(\d+) readings, (\d+) bad lines in 3 s", lines[-1]).groups())
    assert readings >= 2 and bad >= 1


def test_heart_rate_cli_unopenable_port_is_one_line(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "driver_monitor", "heart-rate", str(tmp_path / "nope"), "--seconds", "1"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith("error: ") and len(proc.stderr.strip().splitlines()) == 1
    assert "nope: cannot open the heart-rate sensor port" in proc.stderr
