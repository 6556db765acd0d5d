"""The daemon's small parts: sd_notify datagrams (path and abstract sockets), the watchdog
interval, the state file behind `driver-monitor status`, and the log repeat limiter."""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from serial_peer import stop_socat

from driver_monitor.cli import main
from driver_monitor.log_setup import RepeatLimiter
from driver_monitor.runtime_state import format_state, read_state, resolve_state_dir, write_state
from driver_monitor.sd_notify import Notifier, watchdog_interval_s


def bound_socket(address: str | bytes) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(address)
    s.settimeout(2.0)
    return s


def test_notify_path_socket_sends_one_datagram_per_message(tmp_path: Path) -> None:
    path = tmp_path / "notify"
    listener = bound_socket(str(path))
    n = Notifier(str(path))
    assert n.ready("starting up")
    assert n.watchdog()
    assert n.reloading()
    assert n.stopping("bye")
    got = [listener.recv(4096).decode() for _ in range(4)]
    assert got[0] == "READY=1\nSTATUS=starting up"
    assert got[1] == "WATCHDOG=1"
    lines = got[2].split("\n")
    assert lines[0] == "RELOADING=1" and lines[1].startswith("MONOTONIC_USEC=") and int(lines[1].split("=")[1]) > 0
    assert got[3] == "STOPPING=1\nSTATUS=bye"
    n.close()
    listener.close()


def test_notify_abstract_socket() -> None:
    name = f"driver-monitor-test-{uuid.uuid4().hex}"
    listener = bound_socket(b"\0" + name.encode())
    n = Notifier("@" + name)
    assert n.status("12.0 fps; a\nb")
    assert listener.recv(4096) == b"STATUS=12.0 fps; a b"  # no newline can split a value
    n.close()
    listener.close()


def test_notify_without_socket_is_a_no_op_and_a_dead_socket_does_not_raise(tmp_path: Path) -> None:
    assert not Notifier("").enabled and not Notifier("").ready()
    n = Notifier(str(tmp_path / "nobody-listens"))
    assert n.enabled and not n.watchdog()  # logged once, never raised


def test_watchdog_interval_is_half_the_timeout_for_this_process() -> None:
    assert watchdog_interval_s({}) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "3000000"}) == 1.5
    assert watchdog_interval_s({"WATCHDOG_USEC": "3000000", "WATCHDOG_PID": str(os.getpid())}) == 1.5
    assert watchdog_interval_s({"WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "1"}, pid=2) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "0"}) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "soon"}) is None


def test_state_dir_resolution() -> None:
    assert resolve_state_dir("/x/y", {"RUNTIME_DIRECTORY": "/run/a"}) == Path("/x/y")
    assert resolve_state_dir(None, {"RUNTIME_DIRECTORY": "/run/a:/run/b"}) == Path("/run/a")
    assert resolve_state_dir(None, {}) == Path("/run/driver-monitor")


def test_state_file_round_trip_and_status_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = {"pid": os.getpid(), "phase": "running", "updated_wall": 1000.0, "camera_source": "/dev/video0",
             "camera_open": True, "camera_faults": ["frozen_image"], "frames": 42, "skipped_frames": 3,
             "fps": 24.5, "face_present": True, "active": ["long_distraction"], "config_path": "/etc/dm.yaml",
             "reloads": 1, "reload_error": "presence.absent_after_s: bad",
             "outputs": {"can": "can: 40 written, 0 dropped, 0 errors, bus down"}}
    write_state(tmp_path, state)
    assert read_state(tmp_path) == state
    text = format_state(state, now_wall=1002.0)
    assert f"running, pid {os.getpid()}, updated 2.0 s ago" in text
    assert "faults: frozen_image" in text and "42 processed, 3 skipped, 24.5 frames/s" in text
    assert "active: long_distraction" in text and "reload error  presence.absent_after_s: bad" in text
    assert text.splitlines()[-1] == "  output        can: 40 written, 0 dropped, 0 errors, bus down"
    assert "road ahead    ?" in text  # an older state file without it
    assert main(["status", "--state-dir", str(tmp_path)]) == 0
    assert "faults: frozen_image" in capsys.readouterr().out


def test_status_says_calibrating_until_the_road_ahead_is_known() -> None:
    base = {"pid": os.getpid(), "phase": "running", "updated_wall": 1000.0}
    calibrating = {"source": "unknown", "calibrating": True, "calibrated": False, "yaw_deg": 0.0, "pitch_deg": 0.0}
    text = format_state({**base, "road_ahead": calibrating}, now_wall=1001.0)
    assert "  road ahead    calibrating (not known yet: distraction not judged)" in text.splitlines()
    learned = {"source": "learned", "calibrating": False, "calibrated": True, "yaw_deg": 17.5, "pitch_deg": 22.0}
    text = format_state({**base, "road_ahead": learned}, now_wall=1001.0)
    assert "  road ahead    learned: yaw 17.5 deg, pitch 22 deg, driver calibrated" in text.splitlines()


def test_status_flags_a_dead_process_and_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "stale state" in format_state({"pid": 2**22 + 12345, "phase": "running", "updated_wall": 0.0})
    # A live pid that holds no lock on the directory (pid 1, a reused pid) is stale too, and
    # a state that names no running daemon exits 3 (LSB "not running", as systemctl status).
    from driver_monitor.runtime_state import StateDirLock

    write_state(tmp_path / "s", {"pid": 1, "phase": "running", "updated_wall": 0.0, "frames": {"processed": 1}})
    (tmp_path / "s" / StateDirLock.NAME).write_text("1\n")
    assert main(["status", "--state-dir", str(tmp_path / "s")]) == 3
    out = capsys.readouterr().out
    assert "(process 1 is gone: stale state)" in out
    assert "  frames        ? processed, 0 skipped, ? frames/s" in out.splitlines()  # not the raw mapping
    lock = StateDirLock.take(tmp_path / "s")
    assert lock is not None and StateDirLock.held(tmp_path / "s") is True
    lock.release()
    assert StateDirLock.held(tmp_path / "s") is False
    assert main(["status", "--state-dir", str(tmp_path / "none")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "state.json: no state file" in err and "Traceback" not in err


def test_repeat_limiter_holds_back_repeats_and_counts_them() -> None:
    now = [0.0]
    limiter = RepeatLimiter(max_lines=2, window_s=10.0, clock=lambda: now[0])

    def record(msg: str) -> logging.LogRecord:
        return logging.LogRecord("x", logging.WARNING, __file__, 1, msg, None, None)

    passed = []
    for t in (0.0, 1.0, 2.0, 3.0, 9.9):
        now[0] = t
        r = record("camera fault: no_frame")
        if limiter.filter(r):
            passed.append((t, r.getMessage()))
    now[0] = 4.0
    assert limiter.filter(record("another line"))  # other text: own budget
    now[0] = 10.5
    r = record("camera fault: no_frame")
    assert limiter.filter(r)
    assert passed == [(0.0, "camera fault: no_frame"), (1.0, "camera fault: no_frame")]
    assert r.getMessage() == "camera fault: no_frame (3 similar lines held back in the last 10 s)"


def test_vehicle_can_missing_at_start_is_retried_with_backoff() -> None:
    import time

    import can

    from driver_monitor.backoff import Backoff
    from driver_monitor.can.rx import LiveCanVehicleSource
    from driver_monitor.config import load_config
    from driver_monitor.errors import InputError

    attempts: list[float] = []
    now = [100.0]

    def open_bus() -> can.BusABC:
        attempts.append(now[0])
        if len(attempts) < 3:
            raise InputError("CAN socketcan channel can0: cannot open (No such device)")
        return can.Bus(interface="virtual", channel="dms-test-retry")

    def settle(count: int) -> None:  # the reader thread wakes at least every 0.1 s
        deadline = time.monotonic() + 0.5
        while len(attempts) < count and time.monotonic() < deadline:
            time.sleep(0.01)

    source = LiveCanVehicleSource(open_bus, load_config().vehicle, backoff=Backoff(0.5, 10.0, clock=lambda: now[0]))
    try:
        settle(1)
        for t in (100.4, 100.5, 101.0, 101.4, 101.5):
            now[0] = t
            settle(len(attempts) + 1)
        # Tries at 100.0, then 0.5 s later, then 1.0 s after that: open at the third.
        assert attempts == [100.0, 100.5, 101.5]
        # The reader thread marks the bus up right after the open; give it a moment on a busy machine.
        deadline = time.monotonic() + 2.0
        while source.status().state == "down" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert source.status().state != "down"
    finally:
        source.close()


def test_status_finds_the_state_dir_named_in_the_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state_dir = tmp_path / "state"
    write_state(state_dir, {"pid": os.getpid(), "phase": "running", "updated_wall": 0.0, "frames": 7})
    cfg = tmp_path / "dm.yaml"
    cfg.write_text(f"service:\n  state_dir: {state_dir}\n")
    assert main(["status", "--config", str(cfg), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["frames"] == 7


def test_serial_heart_rate_sensor_reaches_the_vehicle_state(tmp_path: Path) -> None:
    """stress.external.serial_port: the daemon reads the sensor over a real pty pair and
    hands its heart rate to the pipeline in the VehicleState; a CAN value would win."""
    import shutil
    import subprocess
    import time

    from driver_monitor.assembly import open_heart_rate
    from driver_monitor.config import parse_config
    from driver_monitor.messages import VehicleState
    from driver_monitor.vehicle.inputs import VehicleInputs

    if shutil.which("socat") is None:
        pytest.skip("socat not installed")
    dms, sensor = tmp_path / "ttyDMS", tmp_path / "ttySENSOR"
    socat = subprocess.Popen(["socat", f"pty,raw,echo=0,link={dms}", f"pty,raw,echo=0,link={sensor}"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    d = VehicleInputs()
    try:
        deadline = time.monotonic() + 5.0
        while not (dms.exists() and sensor.exists()) and time.monotonic() < deadline:
            time.sleep(0.02)
        config = parse_config(f"stress:\n  external:\n    serial_port: {dms}\n")
        d.heart_rate = open_heart_rate(config)
        assert d.heart_rate is not None
        bpm = None
        with open(sensor, "wb", buffering=0) as board:
            while bpm is None and time.monotonic() < deadline:
                board.write(b"HR,72,830,840\n")
                time.sleep(0.05)
                state = d.at(time.monotonic())  # a frame's time, on the reader's clock
                bpm = state.external_heart_rate_bpm if state is not None else None
        assert bpm == 72.0
        d.can = type("Can", (), {"state_at": lambda self, t: VehicleState(t=t, external_heart_rate_bpm=65.0)})()
        assert d.at(time.monotonic()).external_heart_rate_bpm == 65.0
    finally:
        if d.heart_rate is not None:
            d.heart_rate.close()
        stop_socat(socat)


def test_state_dir_lock_is_exclusive_names_its_holder_and_is_freed(tmp_path: Path) -> None:
    from driver_monitor.errors import InputError
    from driver_monitor.runtime_state import StateDirLock

    held = StateDirLock.take(tmp_path / "run")
    assert held is not None and (tmp_path / "run" / "daemon.lock").read_text() == f"{os.getpid()}\n"
    with pytest.raises(InputError, match=rf"another driver-monitor \(pid {os.getpid()}\) keeps its state here"):
        StateDirLock.take(tmp_path / "run")
    held.release()
    again = StateDirLock.take(tmp_path / "run")
    assert again is not None
    again.release()


def test_a_full_state_directory_is_one_warning_and_the_lock_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Writing the pid on a full disk (ENOSPC) raised out of `run`: a traceback, no daemon.
    import errno

    from driver_monitor.errors import InputError
    from driver_monitor.runtime_state import StateDirLock

    def full(fd: int, data: bytes, offset: int) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "pwrite", full)
    with caplog.at_level(logging.WARNING, logger="driver_monitor.runtime_state"):
        held = StateDirLock.take(tmp_path / "run")
    assert held is not None
    assert [r.getMessage() for r in caplog.records] == [
        f"state directory {tmp_path / 'run'} not writable (No space left on device): no state file while it lasts"]
    with pytest.raises(InputError, match=r"another driver-monitor \(another process\) keeps its state here"):
        StateDirLock.take(tmp_path / "run")
    held.release()


def test_a_frame_a_stage_raises_on_is_one_counted_line_not_a_dead_daemon(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing in the frame loop caught an exception: one value no check foresaw (a NaN speed
    from CAN reached int() in the daydreaming detector) ended the daemon. Now that frame is
    skipped, counted and said once in the rate-limited log; the loop goes on."""
    import logging
    import types

    from driver_monitor.messages import Frame
    from driver_monitor.runtime_state import DaemonStatus
    from driver_monitor.service import Daemon
    from driver_monitor.vehicle.inputs import VehicleInputs

    class Raising:
        last_result = None
        active: set[str] = set()
        calls = 0

        def process(self, *_):
            Raising.calls += 1
            raise ValueError("cannot convert float NaN to integer")

        def idle(self, *_):
            raise AssertionError("a frame was there")

    daemon = Daemon.__new__(Daemon)
    daemon.pipeline = Raising()
    frames = iter([Frame(t=1.0, image=np.zeros((48, 64, 3), np.uint8)), Frame(t=1.1, image=np.zeros((48, 64, 3), np.uint8))])
    status = types.SimpleNamespace(fault=None, fault_detail=None, open=True)
    daemon.camera = types.SimpleNamespace(latest=lambda timeout: next(frames), status=status, period_s=0.1)
    daemon.io = types.SimpleNamespace(vehicle=VehicleInputs(), frame_taps=[])
    daemon.status = DaemonStatus(None, None, write_file=False)
    daemon.clock = lambda: 2.0
    with caplog.at_level(logging.ERROR, logger="driver_monitor.service"):
        daemon._step(first=True)
        daemon._step()
    assert Raising.calls == 2 and daemon.status.frame_errors == 2
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "frame at t=1.000 not processed: ValueError: cannot convert float NaN to integer"
    assert all(getattr(r, "rate_key", None) == "frame-error" for r in caplog.records)


def test_landmarks_that_are_no_face_are_no_face_not_a_singular_pose() -> None:
    from driver_monitor.config import load_config
    from driver_monitor.perception.backends.model_tracker import LocatedFace
    from driver_monitor.perception.tracker import create_tracker

    tracker = create_tracker(load_config().perception)
    try:
        on_one_pixel = np.full((478, 3), [320.0, 240.0, 0.0])
        with_nan = on_one_pixel + np.random.default_rng(0).normal(0, 30, (478, 3))
        with_nan[17, 0] = np.nan
        for points in (on_one_pixel, with_nan):
            assert tracker.observe(LocatedFace(1.0, points, (640, 480))) is None
    finally:
        tracker.close()


class _SilentCamera:
    """A camera unplugged: no frame, its own fault, a 15 frames/s period."""

    period_s = 1 / 15
    status = SimpleNamespace(fault="device_gone", fault_detail="/dev/video0: no such device")

    def latest(self, timeout: float) -> None:
        return None


class _Results:
    def __init__(self) -> None:
        self.results: list = []

    def write(self, result) -> None:
        self.results.append(result)

    def write_events(self, events) -> None:
        pass

    def close(self) -> None:
        pass


def _daemon_in_camera_fault(tmp_path: Path) -> tuple:
    """A daemon whose camera hands nothing (camera fault after its timeout), monitoring active
    at once, its results collected; the clock is `now[0]`."""
    from driver_monitor.config import parse_config
    from driver_monitor.pipeline import Pipeline
    from driver_monitor.service import Daemon

    config = parse_config("policy: {monitoring: {activation_s: 0.0}}\n")
    now = [1000.0]
    daemon = Daemon(state_dir=tmp_path / "run", clock=lambda: now[0])
    daemon.status.write_file = False
    sink = _Results()
    daemon.config, daemon.pipeline, daemon.camera = config, Pipeline(config, None, [sink], image_models=False), _SilentCamera()
    return daemon, sink, now


def test_a_serial_ack_pressed_during_a_camera_fault_reaches_the_policy_on_any_loop_turn(tmp_path: Path) -> None:
    # The loop turns every ~66 ms while idle; a result goes to the policy every 0.1 s only
    # (Pipeline.idle). A press taken from the board on a turn without one was lost (and yet
    # written to serial_ack.csv, so a replay acted on it while the live run had not).
    from driver_monitor.vehicle.inputs import VehicleInputs

    daemon, sink, now = _daemon_in_camera_fault(tmp_path)
    presses, tapped = [False], []
    vehicle = VehicleInputs(ack=lambda: presses.pop() if presses else False)
    vehicle.ack_tap = tapped.append
    daemon.io = SimpleNamespace(vehicle=vehicle, frame_taps=[])
    presses.clear()

    def turn() -> None:
        now[0] = round(now[0] + 0.066, 3)
        daemon._step()

    def warned() -> bool:
        return any(e.kind == "action" and e.detail.get("condition") == "camera_fault"
                   for r in sink.results for e in r.events)

    # Until a turn has handed its result to the policy under the warning: the next one, 66 ms
    # later, hands none.
    while not (now[0] > 1002.0 and warned() and sink.results[-1].t == now[0]):
        turn()
        assert now[0] < 1030.0, "no camera_fault warning"
    results_before = len(sink.results)
    presses.append(True)
    turn()
    assert len(sink.results) == results_before  # the turn that took the press made no result
    turn()
    acks = [(r.t, e.detail) for r in sink.results for e in r.events if e.name == "driver_ack"]
    assert acks == [(sink.results[-1].t, {"condition": "camera_fault"})]
    assert [r.vehicle.driver_ack for r in sink.results[results_before:]] == [True]
    assert tapped == [sink.results[-1].t]  # serial_ack.csv: where the policy used it
    for _ in range(5):
        turn()
    assert not any(r.vehicle.driver_ack for r in sink.results[results_before + 1:])  # used once


class _DecodedCan:
    """A vehicle CAN source of VEH_Hmi frames fed to the decoder by hand (receive times)."""

    def __init__(self) -> None:
        from driver_monitor.can.logs import VehicleCanEncoder
        from driver_monitor.can.rx import VehicleSignalDecoder
        from driver_monitor.config.vehicle import VehicleConfig

        self.encoder, self.decoder, self.errors = VehicleCanEncoder(), VehicleSignalDecoder(VehicleConfig()), 0

    def ack_frame(self, t: float, pressed: bool) -> None:
        from driver_monitor.messages import VehicleState

        self.decoder.feed(self.encoder.encode("VEH_Hmi", VehicleState(t=t, driver_ack=pressed), t), t)

    def state_at(self, t: float):  # noqa: ANN201
        return self.decoder.state_at(t)

    def status(self) -> None:
        return None

    def summary_line(self) -> str:
        return ""

    def close(self) -> None:
        pass


def test_a_can_ack_tap_during_a_camera_fault_reaches_the_policy_on_any_loop_turn(tmp_path: Path) -> None:
    # As the serial press above: a vehicle CAN tap (one VEH_Hmi frame pressed) is handed by
    # the decoder at the next turn only; on a turn without a result it was lost, and the
    # driver could not acknowledge the camera fault's notice with a quick press.
    from driver_monitor.vehicle.inputs import VehicleInputs

    daemon, sink, now = _daemon_in_camera_fault(tmp_path)
    can_source = _DecodedCan()
    daemon.io = SimpleNamespace(vehicle=VehicleInputs(can=can_source), frame_taps=[])

    def turn() -> None:
        for k in range(1, 4):  # VEH_Hmi every 50 ms (here 22 ms apart: within the turn), released
            can_source.ack_frame(round(now[0] + 0.022 * k, 3), False)
        now[0] = round(now[0] + 0.066, 3)
        daemon._step()

    def warned() -> bool:
        return any(e.kind == "action" and e.detail.get("condition") == "camera_fault"
                   for r in sink.results for e in r.events)

    while not (now[0] > 1002.0 and warned() and sink.results[-1].t == now[0]):
        turn()
        assert now[0] < 1030.0, "no camera_fault warning"
    results_before = len(sink.results)
    can_source.ack_frame(round(now[0] + 0.010, 3), True)  # a tap: pressed in one frame only
    can_source.ack_frame(round(now[0] + 0.020, 3), False)
    now[0] = round(now[0] + 0.066, 3)
    daemon._step()
    assert len(sink.results) == results_before  # the turn that took the press made no result
    turn()
    acks = [(r.t, e.detail) for r in sink.results for e in r.events if e.name == "driver_ack"]
    assert acks == [(sink.results[-1].t, {"condition": "camera_fault"})]
    for _ in range(5):
        turn()
    assert [r.vehicle.driver_ack for r in sink.results[results_before:]] == [True] + [False] * (len(sink.results) - results_before - 1)


def test_repeat_limiter_writes_the_last_line_held_back_when_its_window_ends() -> None:
    # A flapping camera: its fault's end was held back, and nothing wrote it until the next
    # fault, so the journal's last word was "camera fault" while the camera worked for hours.
    now = [0.0]
    limiter = RepeatLimiter(max_lines=1, window_s=10.0, clock=lambda: now[0])
    logger = logging.getLogger("driver_monitor.test_flap")
    written: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda r: written.append(r.getMessage())  # type: ignore[method-assign]
    handler.addFilter(limiter)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        for t, phase in [(0.0, "start"), (3.0, "end"), (4.0, "start"), (4.8, "end"), (6.0, "start"), (6.8, "end")]:
            now[0] = t
            logger.warning("event camera_fault %s t=%.1f", phase, t)
            assert limiter.flush() == []  # no window has ended yet
        assert written == ["event camera_fault start t=0.0"]  # one line per 10 s, the key its template
        now[0] = 9.9
        assert limiter.flush() == []
        now[0] = 10.0
        flushed = limiter.flush()
        assert written[1:] == ["event camera_fault end t=6.8 (the last of 5 similar lines held back in the last 10 s)"]
        assert len(flushed) == 1 and limiter.flush() == []
        now[0] = 12.0  # a new window: the next line passes, with no count carried over
        logger.warning("event camera_fault %s t=%.1f", "start", 12.0)
        logger.warning("event camera_fault %s t=%.1f", "end", 12.5)
        assert written[2:] == ["event camera_fault start t=12.0"]
        limiter.flush(stop=True)  # the daemon stops: whatever is held back goes out now
        assert written[3:] == ["event camera_fault end t=12.5 (the last of 1 similar lines held back in the last 10 s)"]
    finally:
        logger.removeHandler(handler)


class _YuyvCamera:
    """A camera handing 2-channel (YUYV) pictures: no picture the models can read."""

    period_s = 1 / 30
    status = SimpleNamespace(fault=None, fault_detail=None)

    def latest(self, timeout: float):
        from driver_monitor.perception.picture import rgb8

        rgb8(np.zeros((480, 640, 2), np.uint8), bgr=True)  # what CameraSource.latest does with it


def test_a_camera_handing_unreadable_pictures_is_a_camera_fault_not_a_dead_daemon(tmp_path: Path, caplog) -> None:
    # CameraSource.latest converts the picture (perception/picture.py) outside the loop's
    # per-frame guard: a PictureError there ended the daemon. Now each such turn is a frame
    # error and, no frame being usable, the camera a camera_fault no_frame after its timeout.
    from driver_monitor.config import parse_config
    from driver_monitor.pipeline import Pipeline
    from driver_monitor.service import Daemon
    from driver_monitor.vehicle.inputs import VehicleInputs

    config = parse_config("camera: {fps: 30}\n")
    now = [1000.0]
    daemon = Daemon(state_dir=tmp_path / "run", clock=lambda: now[0])
    daemon.status.write_file = False
    sink = _Results()
    daemon.config, daemon.pipeline, daemon.camera = config, Pipeline(config, None, [sink], image_models=False), _YuyvCamera()
    daemon.io = SimpleNamespace(vehicle=VehicleInputs(), frame_taps=[])
    with caplog.at_level(logging.ERROR, logger="driver_monitor.service"):
        for _ in range(30):  # 1.5 s of loop turns
            now[0] = round(now[0] + 0.05, 3)
            daemon._step()
    assert daemon.status.frame_errors == 30
    assert caplog.records[0].getMessage() == (
        "camera frame not usable: PictureError: picture of shape 480x640x2: not (height, width) grey or "
        "(height, width, 1, 3 or 4 channels)")
    faults = [(r.t, e.phase, e.detail.get("reason")) for r in sink.results for e in r.events if e.name == "camera_fault"]
    assert faults == [(1001.1, "start", "no_frame")]  # 1 s (30 periods) after the first turn, at the next turn


def test_a_user_model_bundle_that_cannot_be_loaded_leaves_the_packaged_model_monitoring(tmp_path: Path, caplog) -> None:
    # perception.model_path naming a file that is no model bundle passes the config checks (it
    # exists) and failed every backend: the daemon exited at start, and systemd restarted it
    # into the same failure, a car without driver monitoring. Now the packaged model runs, one
    # error line says so, and the config the daemon reports and records says which model.
    from driver_monitor.perception.backends.model_tracker import ModelFaceTracker
    from driver_monitor.perception.model import VENDORED_MODEL_PATH
    from driver_monitor.provenance import model_provenance
    from driver_monitor.service import Daemon

    bad = tmp_path / "mine.task"
    bad.write_bytes(bytes(range(256)) * 8)
    config_file = tmp_path / "car.yaml"
    config_file.write_text(f"perception: {{model_path: {bad}}}\n")
    daemon = Daemon(config_file, state_dir=tmp_path / "run")
    daemon.config = daemon.load()
    with caplog.at_level(logging.ERROR, logger="driver_monitor.service"):
        tracker = daemon._open_tracker()
    try:
        assert isinstance(tracker, ModelFaceTracker)  # the configured backend (litert), packaged model
        assert daemon.config.perception.model_path is None
        assert model_provenance(daemon.config)["path"] == str(VENDORED_MODEL_PATH)
        [line] = [r.getMessage() for r in caplog.records]
        assert line == (f"face model {bad}: corrupt (not a readable .task zip bundle) (perception.model_path): "
                        "monitoring with the packaged face model instead")
    finally:
        tracker.close()
