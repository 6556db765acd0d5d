"""The daemon's outputs end to end: `driver-monitor run` as a subprocess sends its DMS frames
on a python-can udp_multicast bus (works across processes on loopback) and the test listens
on the same group, decoding with the packaged DBC: a camera that fails mid-run shows as
camera_fault on CAN and recovers; SIGTERM leaves "monitoring off" as the last status; a CAN
bus that cannot be opened stops neither the loop nor the serial output (a real pty pair)."""

from __future__ import annotations

import json
import os
import random
import select
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import can
import pytest
from camera_clips import write_clip
from daemon_harness import BASE_CONFIG, DaemonProcess

from driver_monitor.can.dbc import DMS_DBC_PATH, load_dbc
from driver_monitor.serial.protocol import FLAG_MONITORING_ACTIVE, FrameDecoder

pytestmark = pytest.mark.slow

CONFIG = BASE_CONFIG.format(absent_after_s=0.5)

SYSTEM_FAULT, SYSTEM_INACTIVE, DRIVER_UNKNOWN = 4, 2, 15


class CanListener:
    """Collects (time received, message name, decoded signals) from a udp_multicast group."""

    def __init__(self, channel: str, port: int | None = None):
        self.db = load_dbc(DMS_DBC_PATH)
        self.bus = can.Bus(interface="udp_multicast", channel=channel, **({"port": port} if port else {}))
        self.frames: list[tuple[float, str, dict]] = []
        self._lock = threading.Lock()
        self._running = True
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while self._running:
            try:
                msg = self.bus.recv(0.1)
            except can.CanOperationError:  # a datagram python-can cannot unpack (fault injection)
                continue
            if msg is None:
                continue
            try:
                m = self.db.get_message_by_frame_id(msg.arbitration_id)
            except KeyError:
                continue
            signals = m.decode(msg.data, decode_choices=False)
            with self._lock:
                self.frames.append((time.monotonic(), m.name, signals))

    def of(self, name: str, after: float = 0.0) -> list[tuple[float, dict]]:
        with self._lock:
            return [(t, s) for t, n, s in self.frames if n == name and t >= after]

    def wait(self, name: str, pred, timeout: float, after: float = 0.0, context=lambda: "") -> tuple[float, dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for t, s in self.of(name, after):
                if pred(s):
                    return t, s
            time.sleep(0.02)
        last = self.of(name)[-3:]
        pytest.fail(f"no {name} frame matching within {timeout} s; last: {last}\n{context()}")

    def close(self) -> None:
        self._running = False
        self._thread.join(1.0)
        self.bus.shutdown()


@pytest.fixture
def group() -> str:
    # A group of its own per test, so parallel runs and other tests do not cross-talk.
    return f"239.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(1, 254)}"


@pytest.fixture
def listener(group: str) -> Iterator[CanListener]:
    lst = CanListener(group)
    yield lst
    lst.close()


class PtyReader:
    """The far end of a real pseudo-terminal pair: what a microcontroller on the serial line
    would receive, decoded with the protocol's own decoder."""

    def __init__(self) -> None:
        self.master, slave = os.openpty()
        self.port = os.ttyname(slave)
        self._slave = slave  # kept open so the pty stays up between the daemon's opens
        self.decoder = FrameDecoder()
        self.frames: list[tuple[float, object]] = []
        self._running = True
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while self._running:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if not ready:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            now = time.monotonic()
            self.frames += [(now, f) for f in self.decoder.feed(data)]

    def of(self, type_name: str, after: float = 0.0) -> list:
        return [(t, f) for t, f in list(self.frames) if f.type_name == type_name and t >= after]

    def close(self) -> None:
        self._running = False
        self._thread.join(1.0)
        os.close(self.master)
        os.close(self._slave)


def test_camera_fault_on_can_and_serial_and_recovery_then_monitoring_off(
    tmp_path: Path, group: str, listener: CanListener, daemons: list, request: pytest.FixtureRequest
) -> None:
    clip = write_clip(tmp_path / "camera.avi", "noise", seconds=0.8, fps=25.0, size=(160, 120))
    pty = PtyReader()
    request.addfinalizer(pty.close)
    d = DaemonProcess(tmp_path, clip, CONFIG, extra_args=[
        "--can-interface", "udp_multicast", "--can-channel", group, "--serial-port", pty.port])
    daemons.append(d)
    ready = d.wait_ready()
    t_ok, ok = listener.wait("DMS_Status", lambda s: s["SystemState"] != SYSTEM_FAULT, timeout=3.0, after=ready.t)
    assert ok["FacePresent"] == 0  # noise: nobody there
    # driver_absent after 0.5 s reaches the vehicle as DriverState Absent (5).
    listener.wait("DMS_Status", lambda s: s["DriverState"] == 5, timeout=3.0, after=t_ok)

    hidden = clip.with_name("unplugged.avi")
    os.replace(clip, hidden)
    t_fault, fault = listener.wait("DMS_Status", lambda s: s["SystemState"] == SYSTEM_FAULT, timeout=4.0, after=t_ok)
    assert fault["DriverState"] == DRIVER_UNKNOWN
    d.wait_stderr("event camera_fault start", timeout=1.0)
    listener.wait("DMS_Heartbeat", lambda s: s["Fault_CameraFault"] == 1, timeout=2.5, after=t_fault)
    # The status keeps its 10 Hz cycle through the fault (no frames drive it meanwhile).
    time.sleep(1.0)
    during = listener.of("DMS_Status", after=t_fault + 0.05)
    assert len(during) >= 6 and all(s["SystemState"] == SYSTEM_FAULT for _, s in during), ([(round(t - t_fault, 3), s["SystemState"], s["DMS_Status_Counter"]) for t, s in listener.of("DMS_Status", after=t_fault - 0.5)], d.stderr_text())
    serial_during = pty.of("status", after=t_fault + 0.05)
    assert len(serial_during) >= 6 and all(f.fields["system_state"] == SYSTEM_FAULT for _, f in serial_during)

    os.replace(hidden, clip)
    t_back, _ = listener.wait("DMS_Status", lambda s: s["SystemState"] != SYSTEM_FAULT, timeout=4.0, after=t_fault)
    d.wait_stderr("event camera_fault end", timeout=1.0)
    listener.wait("DMS_Heartbeat", lambda s: s["Fault_CameraFault"] == 0, timeout=2.5, after=t_back)

    t_stop = time.monotonic()
    rc, took_s = d.stop()
    assert rc == 0 and took_s < 2.0
    time.sleep(0.3)  # the last frames are on the wire before the process exits; let them land
    last_t, last = listener.of("DMS_Status", after=t_stop)[-1]
    assert last["MonitoringActive"] == 0 and last["SystemState"] == SYSTEM_INACTIVE


def test_broken_can_bus_does_not_stop_serial_output_or_the_loop(tmp_path: Path, daemons: list) -> None:
    clip = write_clip(tmp_path / "camera.avi", "noise", seconds=0.8, fps=25.0, size=(160, 120))
    pty = PtyReader()
    try:
        # SocketCAN on an interface that does not exist: the bus cannot be opened (and here,
        # without SocketCAN in the kernel, never will).
        d = DaemonProcess(tmp_path, clip, CONFIG, extra_args=[
            "--can-interface", "socketcan", "--can-channel", "dmsbroken0", "--serial-port", pty.port])
        daemons.append(d)
        ready = d.wait_ready()
        absent = d.wait_status("active: driver_absent", timeout=5.0, after=ready.t)
        assert float((absent.get("STATUS") or "0").split()[0]) > 5.0  # frames/s
        d.wait_stderr("CAN socketcan channel dmsbroken0: cannot open", timeout=2.0)
        state = json.loads((d.state_dir / "state.json").read_text())
        assert "bus down" in state["outputs"]["can"] and state["frames"] > 10
        # Serial keeps its 10 Hz status and tells the driver state (5 = Absent).
        t0 = time.monotonic()
        time.sleep(1.0)
        statuses = pty.of("status", after=t0)
        assert len(statuses) >= 7, len(statuses)
        assert statuses[-1][1].fields["driver_state"] == 5
        assert pty.of("heartbeat", after=ready.t)
        assert pty.decoder.errors == 0
        frames_before = json.loads((d.state_dir / "state.json").read_text())["frames"]
        d.wait_status("fps", timeout=2.0, after=time.monotonic() + 0.5)
        assert json.loads((d.state_dir / "state.json").read_text())["frames"] > frames_before

        t_stop = time.monotonic()
        rc, took_s = d.stop()
        assert rc == 0 and took_s < 2.0
        time.sleep(0.3)
        last = pty.of("status", after=t_stop)[-1][1].fields
        assert not last["flags"] & FLAG_MONITORING_ACTIVE and last["system_state"] == SYSTEM_INACTIVE
        assert "Traceback" not in d.stderr_text()
    finally:
        pty.close()


def test_monitoring_off_reaches_a_slow_serial_status_twice(tmp_path: Path, daemons: list,
                                                            request: pytest.FixtureRequest) -> None:
    # A serial status every 0.25 s: "off" goes out one such period apart (it went 0.1 s apart,
    # and at most one 4 Hz status frame carried it before the port closed).
    clip = write_clip(tmp_path / "camera.avi", "noise", seconds=0.8, fps=25.0, size=(160, 120))
    pty = PtyReader()
    request.addfinalizer(pty.close)
    d = DaemonProcess(tmp_path, clip, CONFIG + "serial:\n  status_period_s: 0.25\n",
                      extra_args=["--serial-port", pty.port])
    daemons.append(d)
    ready = d.wait_ready()
    deadline = time.monotonic() + 3.0
    while not pty.of("status", after=ready.t) and time.monotonic() < deadline:
        time.sleep(0.02)
    t_stop = time.monotonic()
    rc, took_s = d.stop()
    assert rc == 0 and took_s < 2.0
    time.sleep(0.3)
    after = [f.fields for _, f in pty.of("status", after=t_stop)]
    off = [s for s in after if not s["flags"] & FLAG_MONITORING_ACTIVE]
    assert len(off) >= 2 and after[-1]["system_state"] == SYSTEM_INACTIVE, after
