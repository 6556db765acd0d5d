"""Live vehicle input, command-line overrides and one-line errors of the vehicle I/O layer."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import can
import pytest

from driver_monitor.assembly import Mode, RunIo
from driver_monitor.can.logs import VehicleCanEncoder
from driver_monitor.can.rx import LiveCanVehicleSource
from driver_monitor.cli import main as cli_main
from driver_monitor.config import Config
from driver_monitor.config.overrides import with_io_overrides
from driver_monitor.config.vehicle import VehicleConfig
from driver_monitor.errors import ConfigError, InputError
from driver_monitor.messages import VehicleState
from driver_monitor.recording.format import open_recording

REPO = Path(__file__).resolve().parents[1]


class _Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


@contextmanager
def _live_source(**kwargs: Any) -> Iterator[tuple[can.BusABC, LiveCanVehicleSource]]:
    """(the car's end of a fresh virtual bus, a LiveCanVehicleSource reading the other end)."""
    channel = f"veh-{uuid.uuid4().hex[:8]}"
    car = can.Bus(interface="virtual", channel=channel)
    dms = can.Bus(interface="virtual", channel=channel)
    source = LiveCanVehicleSource(dms, VehicleConfig(), **kwargs)
    try:
        yield car, source
    finally:
        source.close()
        car.shutdown()
        dms.shutdown()


def _wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 2.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def test_live_source_reads_a_virtual_bus_and_times_out_by_its_clock() -> None:
    clock = _Clock()
    enc = VehicleCanEncoder()
    with _live_source(clock=clock) as (car, source):
        car.send(enc.encode("VEH_Speed", VehicleState(t=0, speed_kph=42.0), 0.0))
        car.send(enc.encode("VEH_Hmi", VehicleState(t=0, driver_ack=True), 0.0))
        # both frames in (without asking for t = 100 before they are)
        _wait_until(lambda: source.frames >= 2, "nothing received")
        state = source.state_at(100.0)
        assert (state.speed_kph, state.driver_ack) == (42.0, True)
        assert source.state_at(100.06).speed_kph == 42.0  # 3 x 20 ms
        assert source.state_at(100.07).speed_kph is None
        assert source.state_at(100.15).driver_ack is True and source.state_at(100.151).driver_ack is False
        # a frame with a bad CRC is counted, not applied
        bad = enc.encode("VEH_Speed", VehicleState(t=0, speed_kph=99.0), 0.0)
        bad.data[0] ^= 0xFF
        clock.t = 101.0
        car.send(bad)
        _wait_until(lambda: source.errors > 0, "the bad frame not counted")
        assert source.decoder.counts["bad_crc"] == 1 and source.state_at(101.0).speed_kph is None


def test_a_recorded_frame_is_already_seen_by_a_frame_at_its_time() -> None:
    # `record` writes each CAN frame with its receive time (the tap) and the replay gives a
    # camera frame every signal received by its time; live, the camera frame must see the
    # same: when the CAN frame is written, its signal is already there at that time.
    seen: list[tuple[float, float | None]] = []
    sources: list[LiveCanVehicleSource] = []

    def tap(msg: can.Message, t: float) -> None:
        seen.append((t, sources[0].state_at(t).speed_kph))

    with _live_source(clock=_Clock(), tap=tap) as (car, source):
        sources.append(source)
        car.send(VehicleCanEncoder().encode("VEH_Speed", VehicleState(t=0, speed_kph=42.0), 0.0))
        _wait_until(lambda: bool(seen), "nothing received")
        assert seen == [(100.0, 42.0)]


def test_a_frame_read_after_a_camera_frame_of_the_same_millisecond_goes_to_the_next_one() -> None:
    # `record`'s clock has a 1 ms grid: a CAN frame read just after the camera frame at
    # 3.314 s was judged still reads 3.314; live that camera frame did not see it, a replay of
    # the log would. It is stamped 3.315 instead: the next camera frame takes it, both ways.
    clock = _Clock()
    clock.t = 3.314
    stamps: list[float] = []
    with _live_source(clock=clock, tap=lambda msg, t: stamps.append(t)) as (car, source):
        before = source.state_at(3.314)
        car.send(VehicleCanEncoder().encode("VEH_Speed", VehicleState(t=0, speed_kph=42.0), 0.0))
        _wait_until(lambda: bool(stamps), "nothing received")
        assert stamps == [3.315]
        assert before.speed_kph is None and source.state_at(3.315).speed_kph == 42.0


def test_command_line_overrides_switch_outputs_on_and_validate() -> None:
    config = with_io_overrides(Config(), "udp_multicast", "239.74.1.1", "loop://")
    assert (config.can.enabled, config.can.interface, config.can.channel) == (True, "udp_multicast", "239.74.1.1")
    assert (config.serial.enabled, config.serial.port) == (True, "loop://")
    untouched = with_io_overrides(Config())
    assert not untouched.can.enabled and not untouched.serial.enabled
    with pytest.raises(ConfigError) as info:
        with_io_overrides(Config(), can_interface="cann")
    assert len(info.value.problems) == 1
    assert info.value.problems[0].startswith("can.interface: unknown python-can interface 'cann'")


def test_replay_with_an_unopenable_bus_is_one_line_and_no_traceback(capsys, tmp_path, clips_dir) -> None:
    clip = clips_dir / "head-pose-face-detection-female.gif"
    rc = cli_main(["replay", str(clip), "--out", str(tmp_path / "o"), "--no-progress",
                   "--can-interface", "socketcan", "--can-channel", "nocan7"])
    err = capsys.readouterr().err
    assert rc == 1
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert lines == [lines[0]] and lines[0].startswith("error: CAN socketcan channel nocan7: cannot open")
    assert "Traceback" not in err


def test_replay_with_a_bad_interface_name_is_a_config_error(capsys, tmp_path, clips_dir) -> None:
    clip = clips_dir / "head-pose-face-detection-female.gif"
    rc = cli_main(["replay", str(clip), "--out", str(tmp_path / "o"), "--can-interface", "cann"])
    assert rc == 2
    assert "error: can.interface: unknown python-can interface 'cann'" in capsys.readouterr().err


def test_corrupt_can_log_in_a_recording_is_one_line_input_error(tmp_path) -> None:
    rec = tmp_path / "rec"
    shutil.copytree(REPO / "recordings" / "male_frontal", rec)
    (rec / "can.blf").write_bytes(b"LOGG but not really")
    with pytest.raises(InputError, match=r"can\.blf: cannot read the CAN log"):
        RunIo.open(Config(), Mode.REPLAY, tmp_path / "out", open_recording(rec))


def test_io_faults_report_new_rx_errors_and_drops_once_per_consumer() -> None:
    io = RunIo(Mode.REPLAY)

    class _Src:
        errors = 0

        def status(self) -> None:
            return None

    io.vehicle.can = _Src()
    assert io.faults("can") == frozenset()
    io.vehicle.can.errors = 2
    assert io.faults("can") == {"vehicle_rx_errors"}
    assert io.faults("serial") == {"vehicle_rx_errors"}
    assert io.faults("can") == frozenset()  # nothing new since the last heartbeat


def test_check_config_loads_the_dbcs_and_checks_the_vehicle_mapping(capsys, tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("can:\n  dbc_path: /nonexistent/dms.dbc\n"
                   "vehicle:\n  signals:\n    gear: {message: VEH_Body, signal: Gear}\n")
    assert cli_main(["check-config", str(bad)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "error: can.dbc_path: /nonexistent/dms.dbc: no such DBC file",
        "error: vehicle.signals.gear.signal: no signal 'Gear' in message VEH_Body of "
        f"{REPO / 'driver_monitor' / 'data' / 'vehicle_example.dbc'}",
    ]
    broken = tmp_path / "broken.dbc"
    broken.write_text("BO_ 1 X: 8 A\n SG_ S : 0|8@1+ (1,0) [0|1] \"\" B\nthis is not a DBC line\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"vehicle:\n  dbc_path: {broken}\n")
    assert cli_main(["check-config", str(cfg)]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: vehicle.dbc_path: {broken}: not a valid DBC (")


def test_replay_with_a_missing_serial_port_is_one_line(capsys, tmp_path, clips_dir) -> None:
    clip = clips_dir / "head-pose-face-detection-female.gif"
    rc = cli_main(["replay", str(clip), "--out", str(tmp_path / "o"), "--no-progress",
                   "--serial-port", str(tmp_path / "ttyNOPE")])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err
    [line] = [e for e in err.splitlines() if e.startswith("error:")]
    assert line.startswith(f"error: serial {tmp_path / 'ttyNOPE'}: cannot open (")


def test_an_adapter_that_opens_but_fails_every_receive_is_reopened_with_a_doubling_wait(monkeypatch) -> None:
    """The open reset the backoff: an adapter in bus-off was reopened every min_s for ever."""
    from driver_monitor.backoff import Backoff
    from driver_monitor.can import rx

    class _Broken(can.BusABC):
        def __init__(self) -> None:
            super().__init__(channel="broken")

        def _recv_internal(self, timeout):
            raise can.CanOperationError("bus-off")

        def send(self, msg, timeout=None) -> None:
            pass

    monkeypatch.setattr(rx, "REOPEN_AFTER_FAILING_S", 0.02)
    backoff = Backoff(0.01, 0.04)
    source = LiveCanVehicleSource(_Broken, VehicleConfig(), backoff=backoff)
    try:
        _wait_until(lambda: source.reopens >= 3, "three reopens")
        # every drop since the first open counts: the wait grew to its maximum
        assert backoff.failures >= 3 and backoff.wait_s == 0.04
    finally:
        source.close()
