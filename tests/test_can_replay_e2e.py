"""End to end: replay a real clip (MediaPipe) with CAN on udp_multicast and serial on a socat
pty pair, while a separate process decodes the bus with cantools.

The recording is recordings/selfie_writing (a real clip: a woman repeatedly looking down to
write) plus a vehicle CAN log written with the example vehicle DBC. With monitoring active
from the first frame, the detectors report phone_use (repeated glances down) on it; the test
config gives phone_use a two-stage ladder, so the warning frames must show the configured
actions at the configured delays after the event, and a speed below the gate (from the
recording's CAN log) must suppress them.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import serial
import yaml
from serial_peer import SocatPair, build_c_decoder, socat_available

from driver_monitor.can.logs import write_vehicle_can_log
from driver_monitor.cli import main as cli_main
from driver_monitor.messages import VehicleState
from driver_monitor.recording.format import read_timestamps
from driver_monitor.serial.protocol import TYPE_STATUS, TYPE_WARNING, FrameDecoder

REPO = Path(__file__).resolve().parents[1]
SOURCE_RECORDING = REPO / "recordings" / "selfie_writing"
DBC = REPO / "config" / "driver_monitor.dbc"
SECOND_STAGE_DELAY_S = 1.0
ACK_PRESS_S = (8.5, 8.6)  # the driver presses the ACK button (VEH_Hmi in the CAN log)

pytestmark = pytest.mark.slow

CONFIG = f"""
policy:
  monitoring:
    activation_s: 0.0
  conditions:
    phone_use:
      min_speed_kph: 20.0
      ladder:
        - {{delay_s: 0.0, actions: [visual_icon]}}
        - {{delay_s: {SECOND_STAGE_DELAY_S}, actions: [visual_icon, haptic_seat]}}
      ack_allowed: true
      ack_actions: [visual_icon]
"""


def _recording(tmp: Path, speed_kph: float, ack_s: tuple[float, float] | None = None) -> Path:
    rec = tmp / f"rec_{int(speed_kph)}kph"
    shutil.copytree(SOURCE_RECORDING, rec)
    times = read_timestamps(rec / "timestamps.csv")
    if ack_s is not None:
        times = sorted(set(times) | set(ack_s))
    states = [VehicleState(t=t, speed_kph=speed_kph, indicator_left=False, indicator_right=False, gear="D",
                           ignition_on=True, driver_ack=ack_s is not None and ack_s[0] <= t < ack_s[1])
              for t in times]
    start = write_vehicle_can_log(states, rec / "can.blf")
    meta = yaml.safe_load((rec / "meta.yaml").read_text())
    meta["can_start_time_s"] = start
    (rec / "meta.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    return rec


class _Receiver:
    def __init__(self, tmp: Path, name: str):
        self.group = f"239.74.{random.randint(1, 254)}.{random.randint(1, 254)}"
        # A socket bound to a port receives every multicast group on the host: a port of its
        # own keeps other udp_multicast users (parallel tests, daemons) off this bus.
        self.port = random.randint(20000, 60000)
        self.out = tmp / f"{name}.jsonl"
        self.candump = tmp / f"{name}.log"
        self.proc = subprocess.Popen(
            [sys.executable, str(REPO / "tests" / "can_receiver.py"), self.group, str(self.out), str(self.candump),
             "--dbc", str(DBC), "--port", str(self.port), "--idle-s", "2"],
            stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "ready"

    def frames(self) -> list[dict]:
        self.proc.wait(60)
        return [json.loads(line) for line in self.out.read_text().splitlines()]


class _Board(threading.Thread):
    """The microcontroller's side of the pty: collects every byte."""

    def __init__(self, path: Path):
        super().__init__(daemon=True)
        self.port = serial.Serial(str(path), 115200, timeout=0.1)
        self.data = bytearray()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.data += self.port.read(4096)

    def finish(self) -> bytes:
        time.sleep(0.3)
        self.stop.set()
        self.join(2)
        self.port.close()
        return bytes(self.data)


def _replay(rec: Path, out: Path, config: Path, receiver: _Receiver, serial_port: Path | None = None,
            realtime: bool = False) -> None:
    config.write_text(config.read_text() + f"\ncan:\n  options: {{port: {receiver.port}}}\n")
    argv = ["replay", str(rec), "-c", str(config), "--out", str(out), "--no-progress",
            "--can-interface", "udp_multicast", "--can-channel", receiver.group]
    if serial_port is not None:
        argv += ["--serial-port", str(serial_port)]
    if realtime:
        argv.append("--realtime")
    assert cli_main(argv) == 0


def _events(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def fast_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One replay as fast as possible at 80 km/h with CAN and serial on (shared by the tests)."""
    if not SOURCE_RECORDING.is_dir():
        pytest.skip("recordings/selfie_writing missing")
    tmp = tmp_path_factory.mktemp("e2e")
    config = tmp / "config.yaml"
    config.write_text(CONFIG)
    rec = _recording(tmp, 80.0, ACK_PRESS_S)
    receiver = _Receiver(tmp, "bus")
    pair = board = None
    if socat_available():
        pair = SocatPair(tmp).start()
        board = _Board(pair.b)
        board.start()
    out = tmp / "out"
    try:
        _replay(rec, out, config, receiver, pair.a if pair else None)
        serial_bytes = board.finish() if board else None
    finally:
        if pair:
            pair.stop()
    frames = receiver.frames()
    times = read_timestamps(rec / "timestamps.csv")
    return {"tmp": tmp, "out": out, "frames": frames, "serial": serial_bytes, "times": times,
            "receiver": receiver, "events": _events(out)}


def _by_name(frames: list[dict], name: str) -> list[dict]:
    return [f for f in frames if f["name"] == name]


def test_status_frames_at_10_hz_in_recording_time_with_consecutive_counters_and_valid_crcs(fast_run: dict) -> None:
    frames = fast_run["frames"]
    status = _by_name(frames, "DMS_Status")
    duration = fast_run["times"][-1] - fast_run["times"][0]
    assert len(status) == int(duration / 0.1 + 1e-6) + 1  # one per 0.1 s of recording, none lost
    rate_hz = (len(status) - 1) / duration
    assert 9.0 <= rate_hz <= 11.0
    for name in ("DMS_Status", "DMS_Warning", "DMS_Heartbeat"):
        seq = _by_name(frames, name)
        assert seq, name
        assert all(f["crc_ok"] for f in seq), name
        assert [f["counter"] for f in seq] == [i % 16 for i in range(len(seq))], name
    # the candump the daemon wrote (recording time) holds the same frames, exactly 0.1 s apart
    tx = [line.split() for line in (fast_run["out"] / "can_tx.log").read_text().splitlines()]
    tx_status = [(float(ts.strip("()")), frame.split("#")[1]) for ts, _ch, frame, *_ in tx if frame.startswith("3A0#")]
    assert [d.lower() for _, d in tx_status] == [f["data"] for f in status]
    gaps = [b - a for (a, _), (b, _) in zip(tx_status, tx_status[1:], strict=False)]
    assert max(abs(g - 0.1) for g in gaps) < 1e-6
    assert len(_by_name(frames, "DMS_Heartbeat")) == int(duration) + 1
    assert all(f["signals"]["VehicleSpeedUnknown"] == 0 for f in status)  # speed from the CAN log


def test_warning_frames_carry_the_configured_actions_at_the_configured_times(fast_run: dict) -> None:
    events = fast_run["events"]
    phone = [e for e in events if e["name"] == "phone_use" and e.get("phase") == "start"]
    assert phone, "the clip no longer produces phone_use: pick another trigger for this test"
    t_event = phone[0]["t"]
    # stage times from the event log, whose action lines the policy wrote
    seat = [e for e in events if e["kind"] == "action" and e["name"] == "haptic_seat" and e.get("phase") == "start"]
    assert seat and seat[0]["t"] == pytest.approx(t_event + SECOND_STAGE_DELAY_S, abs=0.041)  # 25 fps frames
    tx = [line.split() for line in (fast_run["out"] / "can_tx.log").read_text().splitlines()]
    warnings = [(float(ts.strip("()")), frame.split("#")[1]) for ts, _ch, frame, *_ in tx if frame.startswith("3A1#")]
    frames = _by_name(fast_run["frames"], "DMS_Warning")
    assert [d.lower() for _, d in warnings] == [f["data"] for f in frames]
    first = frames[0]["signals"]
    assert warnings[0][0] == pytest.approx(t_event, abs=1e-6)
    assert (first["WarningLevel"], first["WarningReason"]) == ("Advisory", "PhoneUse")
    assert (first["Act_VisualIcon"], first["Act_HapticSeat"], first["Act_Chime"]) == (1, 0, 0)
    i_seat = next(i for i, f in enumerate(frames) if f["signals"]["Act_HapticSeat"] == 1)
    assert warnings[i_seat][0] == pytest.approx(seat[0]["t"], abs=1e-6)  # sent on the change
    assert frames[i_seat]["signals"]["WarningLevel"] == "Warning"
    # repeated every 0.2 s while active, in recording time
    between = [t for t, _ in warnings[:i_seat]]
    assert all(abs((b - a) - 0.2) < 1e-6 for a, b in zip(between, between[1:], strict=False))
    status = _by_name(fast_run["frames"], "DMS_Status")
    assert any(f["signals"]["PolicyLevel"] == "Warning" for f in status)


def test_driver_ack_from_the_recordings_can_log_reduces_the_warning_to_its_ack_actions(fast_run: dict) -> None:
    events = fast_run["events"]
    seat = [e["t"] for e in events if e["kind"] == "action" and e["name"] == "haptic_seat" and e.get("phase") == "start"]
    assert seat and seat[0] < ACK_PRESS_S[0], "the second stage must be on before the ACK press"
    acks = [e for e in events if e["kind"] == "state" and e["name"] == "driver_ack"]
    assert [a["detail"]["condition"] for a in acks] == ["phone_use"]
    assert ACK_PRESS_S[0] <= acks[0]["t"] <= ACK_PRESS_S[0] + 0.041  # the first frame at or after the press
    tx = [line.split() for line in (fast_run["out"] / "can_tx.log").read_text().splitlines()]
    times = [float(ts.strip("()")) for ts, _ch, frame, *_ in tx if frame.startswith("3A1#")]
    frames = _by_name(fast_run["frames"], "DMS_Warning")
    i_ack = next(i for i, f in enumerate(frames) if f["signals"]["WarningAckSuppressed"] == 1)
    assert times[i_ack] == pytest.approx(acks[0]["t"], abs=1e-6)
    after = frames[i_ack]["signals"]
    assert (after["Act_VisualIcon"], after["Act_HapticSeat"], after["WarningReason"]) == (1, 0, "PhoneUse")
    assert all(f["signals"]["Act_HapticSeat"] == 0 for f in frames[i_ack:])
    status = _by_name(fast_run["frames"], "DMS_Status")
    assert status[-1]["signals"]["AckSuppressed"] == 1


def test_cantools_decode_reads_the_candumps_of_the_output(fast_run: dict) -> None:
    for log in (fast_run["out"] / "can_tx.log", fast_run["receiver"].candump):
        result = subprocess.run([sys.executable, "-m", "cantools", "decode", "--single-line", str(DBC)],
                                input=log.read_text(), capture_output=True, text=True, check=True)
        lines = result.stdout.splitlines()
        assert len(lines) == len(log.read_text().splitlines())
        assert sum("DMS_Status(" in line for line in lines) == len(_by_name(fast_run["frames"], "DMS_Status"))
        assert any("DMS_Warning(" in line and "WarningReason: PhoneUse" in line and "Act_HapticSeat: 1" in line
                   for line in lines)
        assert any("DMS_Heartbeat(" in line and "Fault_VehicleSignalTimeout: 0" in line for line in lines)
        assert "Unknown" not in result.stderr


@pytest.mark.skipif(not socat_available(), reason="socat not installed")
def test_serial_frames_over_a_socat_pty_pair_match_the_can_frames(fast_run: dict) -> None:
    data = fast_run["serial"]
    assert data
    frames = FrameDecoder().feed(data)
    can_status = _by_name(fast_run["frames"], "DMS_Status")
    status = [f for f in frames if f.type == TYPE_STATUS]
    assert len(status) == len(can_status)
    assert [f.fields["t_ms"] for f in status] == [round(100 * i) for i in range(len(status))]
    assert [f.seq for f in frames] == [i % 256 for i in range(len(frames))]
    tx = [line.split() for line in (fast_run["out"] / "can_tx.log").read_text().splitlines()]
    can_warning_ms = [round(float(ts.strip("()")) * 1000) for ts, _ch, frame, *_ in tx if frame.startswith("3A1#")]
    serial_warnings = [f for f in frames if f.type == TYPE_WARNING]
    assert [f.fields["t_ms"] for f in serial_warnings] == can_warning_ms
    assert any(f.fields["actions"] == 0b1001 for f in serial_warnings)  # visual_icon + haptic_seat
    exe = build_c_decoder(fast_run["tmp"])
    if exe is None:
        pytest.skip("no C compiler for the documented decoder")
    lines = subprocess.run([str(exe)], input=data, capture_output=True, check=True).stdout.decode().splitlines()
    assert len(lines) == len(frames)
    assert sum(line.startswith("type=2 ") and "actions=9" in line for line in lines) >= 1


def test_speed_below_the_gate_from_the_recordings_can_log_suppresses_the_warning(tmp_path) -> None:
    if not SOURCE_RECORDING.is_dir():
        pytest.skip("recordings/selfie_writing missing")
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    rec = _recording(tmp_path, 10.0)  # phone_use gate: 20 km/h
    receiver = _Receiver(tmp_path, "bus")
    out = tmp_path / "out"
    _replay(rec, out, config, receiver)
    frames = receiver.frames()
    events = _events(out)
    assert any(e["name"] == "phone_use" and e.get("phase") == "start" for e in events)  # detected ...
    assert not [e for e in events if e["kind"] == "action"]  # ... but gated: no action
    assert not _by_name(frames, "DMS_Warning")
    status = _by_name(frames, "DMS_Status")
    assert status and all(f["signals"]["PolicyLevel"] == "None" and f["signals"]["VehicleSpeedUnknown"] == 0
                          for f in status)


def test_realtime_replay_sends_status_at_10_hz_of_wall_time(tmp_path) -> None:
    rec_src = REPO / "recordings" / "male_frontal"
    if not rec_src.is_dir():
        pytest.skip("recordings/male_frontal missing")
    receiver = _Receiver(tmp_path, "bus")
    config = tmp_path / "config.yaml"
    config.write_text("policy:\n  monitoring:\n    activation_s: 0.0\n")
    started = time.monotonic()
    _replay(rec_src, tmp_path / "out", config, receiver, realtime=True)
    wall = time.monotonic() - started
    status = _by_name(receiver.frames(), "DMS_Status")
    duration = read_timestamps(rec_src / "timestamps.csv")[-1]
    assert wall >= duration
    span = status[-1]["wall_t"] - status[0]["wall_t"]
    rate_hz = (len(status) - 1) / span
    assert 9.0 <= rate_hz <= 11.0, rate_hz
