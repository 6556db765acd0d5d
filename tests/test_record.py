"""`driver-monitor record` end to end: a real process recording a camera (a real clip standing
in for it) through MediaPipe, a car on a udp_multicast bus in another process and a serial
heart-rate sensor on a socat pty pair; then `replay` of the recording must decide exactly what
the live run decided (issue 16, the openpilot process-replay idea), and every way of stopping
(duration, end of the file, SIGINT, SIGKILL, a full disk) must leave a directory replay reads.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from serial_peer import stop_socat

from driver_monitor.config import load_config
from driver_monitor.config.overrides import with_overrides
from driver_monitor.outputs.event_log import read_event_log
from driver_monitor.recording.format import open_recording, read_timestamps
from driver_monitor.replay import replay

REPO = Path(__file__).resolve().parents[1]
CAMERA = REPO / "recordings" / "selfie_writing" / "video.mkv"  # 9 s, exact times: played at its own rate

pytestmark = pytest.mark.slow

# phone_use (the woman looks down to write) warns only at >= 20 km/h, and the car reaches
# that speed only after a while: the live run's action times depend on when the CAN frames
# arrived, which the replay must reproduce from the recorded log. The selfie camera looks
# straight at her, a known mount: with `auto` the road-ahead direction would be learned only
# at >= 10 km/h (calibration.min_speed_kph), after she has started writing.
CONFIG = """
camera:
  mount: {placement: custom, road_ahead_yaw_deg: 0.0, road_ahead_pitch_deg: 0.0}
policy:
  monitoring:
    activation_s: 0.5
  conditions:
    phone_use:
      min_speed_kph: 20.0
      ladder:
        - {delay_s: 0.0, actions: [visual_icon]}
        - {delay_s: 1.0, actions: [visual_icon, haptic_seat]}
"""


def record_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "driver_monitor", "record", "--no-progress", *args]


def run_record(*args: str, timeout: float = 120.0, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(record_cmd(*args), cwd=REPO, capture_output=True, text=True, timeout=timeout, **kwargs)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def comparable(events: list[dict]) -> list[dict]:
    """A recording's decisions without its last line: the daemon's `monitoring_off` when it
    stopped (a replay ends at its last frame without one)."""
    assert events and events[-1]["name"] == "monitoring_off", events[-1:]
    return events[:-1]


def replay_with_recorded_config(rec: Path, out: Path) -> None:
    config = with_overrides(load_config(rec / "config.yaml"), {"outputs": {"features_format": "parquet"}})
    replay(rec, config, out, progress=False)


@pytest.fixture
def speed_peer() -> Iterator[str]:
    group = f"239.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(1, 254)}"
    proc = subprocess.Popen([sys.executable, str(REPO / "tests" / "speed_peer.py"), "udp_multicast", group, "0:0,4:35"],
                            cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield group
    finally:
        proc.terminate()
        proc.wait(5.0)


@pytest.fixture
def heart_rate_sensor(tmp_path: Path) -> Iterator[Path]:
    """A socat pty pair: the daemon reads one end, a thread sends a reading every 0.4 s."""
    if shutil.which("socat") is None:
        pytest.skip("socat not installed")
    dms, sensor = tmp_path / "ttyDMS", tmp_path / "ttySENSOR"
    socat = subprocess.Popen(["socat", f"pty,raw,echo=0,link={dms}", f"pty,raw,echo=0,link={sensor}"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stop = threading.Event()

    def send() -> None:
        with open(sensor, "wb", buffering=0) as board:
            k = 0
            while not stop.wait(0.4):
                board.write(f"HR,{70 + k % 7},{820 + k % 5 * 10}\n".encode() if k % 9 else b"garbage\n")
                k += 1

    try:
        deadline = time.monotonic() + 5.0
        while not (dms.exists() and sensor.exists()):
            assert time.monotonic() < deadline, "socat made no pty pair"
            time.sleep(0.02)
        thread = threading.Thread(target=send, daemon=True)
        thread.start()
        yield dms
    finally:
        stop.set()
        stop_socat(socat)


def test_record_then_replay_decides_exactly_what_the_live_run_decided(
        tmp_path: Path, speed_peer: str, heart_rate_sensor: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG + f"stress:\n  external:\n    serial_port: {heart_rate_sensor}\n")
    rec = tmp_path / "drive"
    done = run_record("--camera", str(CAMERA), "--out", str(rec), "--config", str(config),
                      "--can-interface", "udp_multicast", "--can-channel", speed_peer)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and error_lines(done.stderr) == []
    assert "stopped       end of the video" in done.stdout

    # What is stored, privately.
    assert stat.S_IMODE(rec.stat().st_mode) == 0o700
    names = {p.name for p in rec.iterdir()}
    assert names == {"video.mkv", "timestamps.csv", "meta.yaml", "can.blf", "heart_rate.csv", "events.jsonl",
                     "features.parquet", "run.yaml", "config.yaml", "can_tx.log"}  # can_tx.log: what it sent
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in rec.iterdir())
    meta = yaml.safe_load((rec / "meta.yaml").read_text())
    assert meta["complete"] is True and meta["codec"] == "libx264rgb" and meta["can_start_time_s"] == 0.0
    assert meta["camera_fps"] > 0 and meta["package_version"] and len(meta["model_sha256"]) == 64
    assert meta["tracker_backend"] == "litert"  # the default (perception.backend)
    assert meta["stopped"] == "end of the video" and meta["can_frames"] > 100
    run_yaml = yaml.safe_load((rec / "run.yaml").read_text())
    assert run_yaml["command"] == "record" and run_yaml["config"]["settings"]["can"]["enabled"] is True
    times = read_timestamps(rec / "timestamps.csv")
    assert meta["frames"] == len(times) > 150  # 225 frames in 9 s, some skipped by a busy loop
    assert all(abs(t - round(t, 3)) < 1e-9 for t in times)  # the 1 ms grid: pts and rows agree exactly
    hr_lines = (rec / "heart_rate.csv").read_text().splitlines()
    assert hr_lines[0] == "t_s,line" and any("garbage" in line for line in hr_lines) and len(hr_lines) > 10

    live = read_event_log(rec / "events.jsonl")
    names_live = {(e["kind"], e["name"]) for e in live}
    # The drive has what makes the comparison hard: CAN-gated actions and a monitoring start.
    assert ("action", "visual_icon") in names_live and ("event", "phone_use") in names_live
    assert ("state", "monitoring_active") in names_live

    out = tmp_path / "replayed"
    replay_with_recorded_config(rec, out)
    replayed = read_event_log(out / "events.jsonl")
    assert replayed == comparable(live)  # same names, same times (exact, not just to 1 ms), same details

    # The per-frame table too: every feature, detector column and the serial heart rate.
    live_rows = pq.read_table(rec / "features.parquet").to_pylist()
    replay_rows = pq.read_table(out / "features.parquet").to_pylist()
    assert len(replay_rows) == len(times) and len(live_rows) >= len(replay_rows)
    assert any(isinstance(r.get("heart_rate_bpm"), float) and not math.isnan(r["heart_rate_bpm"]) for r in replay_rows)
    for a, b in zip(live_rows, replay_rows, strict=False):
        assert a.keys() == b.keys()
        different = {k: (a[k], b[k]) for k in a if not _same(a[k], b[k])}
        assert different == {}, (a["t"], different)


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def _wait_rows(ts: Path, rows: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    """Until timestamps.csv holds `rows` frames (below its header)."""
    deadline = time.monotonic() + timeout
    while not (ts.is_file() and len(ts.read_text().splitlines()) > rows):
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "the recording does not grow"
        time.sleep(0.1)


def record_until(rec: Path, rows: int, signum: int) -> tuple[int, str, str]:
    """Start `record`, send `signum` once `rows` frames are in the recording; (status, out, err)."""
    proc = subprocess.Popen(record_cmd("--camera", str(CAMERA), "--out", str(rec)), cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_rows(rec / "timestamps.csv", rows, proc)
        os.kill(proc.pid, signum)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, stdout, stderr


def test_sigkill_leaves_a_recording_replay_reads_to_its_last_complete_frame(tmp_path: Path) -> None:
    rec = tmp_path / "killed"
    rc, _, _ = record_until(rec, 40, signal.SIGKILL)
    assert rc == -signal.SIGKILL
    meta = yaml.safe_load((rec / "meta.yaml").read_text())
    assert meta["complete"] is False  # never closed
    times = read_timestamps(rec / "timestamps.csv")
    assert len(times) >= 40  # killed once 40 rows were on disk (more under a light load)
    assert open_recording(rec).complete is False
    out = tmp_path / "replayed"
    replay_with_recorded_config(rec, out)
    # Every frame with a time in timestamps.csv is in the video, whole: replay reads them all.
    assert len(pq.read_table(out / "features.parquet")) == len(times)
    # The decisions the live run wrote up to its last recorded frame are the replay's.
    last_t = times[-1]
    live = [e for e in read_event_log(rec / "events.jsonl") if e["t"] < last_t]
    assert [e for e in read_event_log(out / "events.jsonl") if e["t"] < last_t] == live


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_or_sigterm_stops_cleanly_and_the_recording_is_complete(tmp_path: Path, signum: int) -> None:
    rec = tmp_path / "interrupted"
    rc, stdout, stderr = record_until(rec, 20, signum)
    name = signal.Signals(signum).name
    assert rc == 0, stderr
    assert f"stopped       {name}" in stdout and "Traceback" not in stderr
    meta = yaml.safe_load((rec / "meta.yaml").read_text())
    assert meta["complete"] is True and meta["stopped"] == name
    assert meta["frames"] == len(read_timestamps(rec / "timestamps.csv"))
    assert pq.read_table(rec / "features.parquet").num_rows >= meta["frames"]
    out = tmp_path / "replayed"
    replay_with_recorded_config(rec, out)
    assert read_event_log(out / "events.jsonl") == comparable(read_event_log(rec / "events.jsonl"))


def test_duration_h264_and_the_summary(tmp_path: Path) -> None:
    rec = tmp_path / "short"
    done = run_record("--camera", str(CAMERA), "--out", str(rec), "--duration", "2", "--codec", "h264")
    assert done.returncode == 0, done.stderr
    assert "stopped       duration reached" in done.stdout and "video.mkv h264 640x360" in done.stdout
    times = read_timestamps(rec / "timestamps.csv")
    assert 1.9 <= times[-1] - times[0] <= 2.2
    meta = yaml.safe_load((rec / "meta.yaml").read_text())
    assert meta["codec"] == "libx264" and meta["frames"] == len(times)
    summary = json.dumps(done.stdout)
    assert "MB per minute" in summary


def test_progress_line_on_a_terminal(tmp_path: Path) -> None:
    """stderr on a terminal (a pty): one line rewritten in place with the elapsed time, frames,
    drops and MB written, ended by a newline before the summary; no progress into a pipe."""
    import pty
    import re

    rec = tmp_path / "seen"
    parent, child = pty.openpty()
    cmd = [sys.executable, "-m", "driver_monitor", "record", "--camera", str(CAMERA), "--out", str(rec),
           "--duration", "3"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=child, text=True)
    os.close(child)
    shown = b""
    try:
        while True:
            try:
                chunk = os.read(parent, 4096)
            except OSError:  # EIO: the process closed its end
                break
            if not chunk:
                break
            shown += chunk
        stdout, _ = proc.communicate(timeout=60)
    finally:
        os.close(parent)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0 and "stopped       duration reached" in stdout
    matches = list(re.finditer(rb"\r([a-z]+) +([0-9.]+) s  frames (\d+)  dropped (\d+)  ([0-9.]+) MB ", shown))
    assert len(matches) >= 2, shown[-2000:]  # state_interval_s 1 s: one per second of a 3 s drive
    assert {m.group(1) for m in matches} <= {b"recording", b"stopping"}
    frames = [int(m.group(3)) for m in matches]
    written = [float(m.group(5)) for m in matches]
    assert frames == sorted(frames) and frames[-1] > 0 and written == sorted(written) and written[-1] > 0
    assert b"\n" in shown[matches[-1].end():]  # the line is ended before the process ends
    piped = subprocess.run([sys.executable, "-m", "driver_monitor", "record", "--camera", str(CAMERA), "--out",
                            str(tmp_path / "piped"), "--duration", "1"], cwd=REPO, capture_output=True, text=True,
                           timeout=60)
    assert piped.returncode == 0 and "stopped       duration reached" in piped.stdout
    assert " MB " not in piped.stderr and "\r" not in piped.stderr  # no progress into a pipe


def test_no_video_keeps_features_and_events_but_no_picture(tmp_path: Path) -> None:
    rec = tmp_path / "landmarks"
    done = run_record("--camera", str(CAMERA), "--out", str(rec), "--duration", "2", "--no-video")
    assert done.returncode == 0, done.stderr
    names = {p.name for p in rec.iterdir()}
    assert "video.mkv" not in names and {"features.parquet", "events.jsonl", "timestamps.csv", "meta.yaml"} <= names
    assert not any(p.suffix in (".mkv", ".mp4", ".avi", ".png", ".jpg") for p in rec.iterdir())
    meta = yaml.safe_load((rec / "meta.yaml").read_text())
    assert meta["video"] == "none" and meta["complete"] is True
    table = pq.read_table(rec / "features.parquet")
    assert table.num_rows >= meta["frames"] > 30 and "head_yaw_deg" in table.column_names
    again = subprocess.run([sys.executable, "-m", "driver_monitor", "replay", str(rec), "--out", str(tmp_path / "o")],
                           cwd=REPO, capture_output=True, text=True, timeout=60)
    assert again.returncode == 1
    assert error_lines(again.stderr) == [f"error: {rec}: a landmarks-only recording (recorded with --no-video): no "
                                         "frames to replay; its features.parquet and events.jsonl hold what the "
                                         f"live run measured and decided (`replay --features {rec}` decides again "
                                         "from that table)"]
    # The summary's replay line is a command that works for it.
    (replay_line,) = [line for line in done.stdout.splitlines() if line.startswith("  replay ")]
    command = replay_line.split(None, 1)[1].split()
    assert command[:3] == ["driver-monitor", "replay", "--features"]
    table = subprocess.run([sys.executable, "-m", "driver_monitor", *command[1:], "--out", str(tmp_path / "t")],
                           cwd=REPO, capture_output=True, text=True, timeout=60)
    assert table.returncode == 0, table.stderr


def test_sigkill_of_a_landmarks_only_recording_keeps_its_table_up_to_the_last_spilled_part(tmp_path: Path) -> None:
    """record --no-video keeps nothing but the table: killed, it leaves the parts it spilled
    (every RECORD_SPILL_S of drive time) and `replay --features DIR` decides from them. Before,
    the table was written only at close: a kill or a power cut left no table at all."""
    rec = tmp_path / "landmarks"
    proc = subprocess.Popen(record_cmd("--camera", str(CAMERA), "--out", str(rec), "--no-video"), cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # 150 frames of the 25 fps clip span 5.96 s: the first part (5 s) is on disk by then.
        _wait_rows(rec / "timestamps.csv", 150, proc)
        proc.kill()
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert yaml.safe_load((rec / "meta.yaml").read_text())["complete"] is False
    times = read_timestamps(rec / "timestamps.csv", torn_tail_ok=True)
    from driver_monitor.fleet.table import read_feature_table

    frames = read_feature_table(rec).frames  # before: "no features.parquet or features.csv here"
    assert not (rec / "features.parquet").exists()
    parts = sorted((rec / ".features.parquet.parts").glob("*.parquet"))
    assert parts and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in parts)
    # Every spilled frame, in order, the first five seconds at least; the unspilled tail lost.
    assert sum(pq.read_metadata(p).num_rows for p in parts) == len(frames)
    assert [f.t for f in frames] == times[:len(frames)]
    assert frames[-1].t - frames[0].t >= 5.0 - 0.05 and len(frames) >= 125
    out = tmp_path / "decided"
    again = subprocess.run([sys.executable, "-m", "driver_monitor", "replay", "--features", str(rec),
                            "--config", str(rec / "config.yaml"), "--out", str(out), "--no-progress"],
                           cwd=REPO, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    assert f"{rec}: the recording was not closed (killed, or a power cut): its table is read from its {len(parts)} " \
           f"spilled parts, {len(frames)} rows" in again.stderr
    assert len((out / "features.csv").read_text().splitlines()) == 1 + len(frames)
    # What the live run decided up to the last spilled frame is what the table decides again.
    last_t = frames[-1].t
    live = [e for e in read_event_log(rec / "events.jsonl") if e["t"] < last_t]
    assert [e for e in read_event_log(out / "events.jsonl") if e["t"] < last_t] == live


def test_bad_inputs_are_one_line_and_leave_no_directory(tmp_path: Path) -> None:
    missing = tmp_path / "gone.mp4"
    rec = tmp_path / "never"
    done = run_record("--camera", str(missing), "--out", str(rec))
    assert done.returncode == 1 and not rec.exists()
    assert error_lines(done.stderr) == [f"error: {missing}: no such file (the camera cannot be opened; nothing recorded)"]
    done = run_record("--camera", "/dev/video63", "--out", str(rec))
    assert done.returncode == 1 and not rec.exists()
    assert error_lines(done.stderr) == ["error: /dev/video63: no such device (the camera cannot be opened; nothing recorded)"]

    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("an earlier recording")
    done = run_record("--camera", str(CAMERA), "--out", str(full))
    assert done.returncode == 1 and (full / "x").read_text() == "an earlier recording"
    assert error_lines(done.stderr) == [f"error: {full}: exists and is not empty (a recording is never overwritten: "
                                        "name a new directory)"]
    a_file = tmp_path / "file"
    a_file.write_text("")
    done = run_record("--camera", str(CAMERA), "--out", str(a_file / "rec"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert error_lines(done.stderr) == [f"error: {a_file / 'rec'}: cannot write the recording there (Not a directory)"]


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A read-only file system (root writes anywhere else): a tmpfs mounted ro."""
    path = tmp_path / "ro"
    path.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(path)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=False)


def test_unwritable_directory_is_one_line(read_only_dir: Path) -> None:
    done = run_record("--camera", str(CAMERA), "--out", str(read_only_dir / "rec"))
    assert done.returncode == 1
    assert error_lines(done.stderr) == [f"error: {read_only_dir / 'rec'}: cannot write the recording there "
                                        "(Read-only file system)"]


class SmallDisk:
    """Where `record` runs out of space: a 3 MB tmpfs (a real ENOSPC) when this machine lets
    the test mount one, else a process limit on file size (RLIMIT_FSIZE: EFBIG)."""

    def __init__(self, tmp_path: Path, size_bytes: int):
        self.path = tmp_path / "small"
        self.path.mkdir()
        self.size_bytes = size_bytes
        self.mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs", str(self.path)],
                                      capture_output=True).returncode == 0
        self.reason = "No space left on device" if self.mounted else "File too large"

    def preexec(self) -> None:
        if not self.mounted:
            import resource

            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
            resource.setrlimit(resource.RLIMIT_FSIZE, (self.size_bytes, self.size_bytes))

    def close(self) -> None:
        if self.mounted:
            subprocess.run(["umount", str(self.path)], check=False)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    disk = SmallDisk(tmp_path, 3 * 1024 * 1024)
    try:
        yield disk
    finally:
        disk.close()


def test_full_disk_stops_with_one_line_and_a_readable_recording(tmp_path: Path, small_disk: SmallDisk) -> None:
    rec = small_disk.path / "rec"
    done = run_record("--camera", str(CAMERA), "--out", str(rec), preexec_fn=small_disk.preexec)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    errors = error_lines(done.stderr)
    assert len(errors) == 1 and small_disk.reason in errors[0] and "readable up to there" in errors[0], done.stderr
    times = read_timestamps(rec / "timestamps.csv")  # whole rows only
    assert len(times) >= 2
    meta = yaml.safe_load((rec / "meta.yaml").read_text())
    assert meta["complete"] is False
    for line in (rec / "events.jsonl").read_text().splitlines():
        json.loads(line)  # never half a line
    if (rec / "features.parquet").exists():
        pq.read_table(rec / "features.parquet")  # whole or not there
    copy = tmp_path / "copy"
    shutil.copytree(rec, copy)  # replay writes its outputs elsewhere: the small disk is full
    out = tmp_path / "replayed"
    replay_with_recorded_config(copy, out)
    assert len(pq.read_table(out / "features.parquet")) == len(times)


def test_quota_smaller_than_one_clip_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "clips.yaml"
    config.write_text("recording:\n  event_clips:\n    enabled: true\n    codec: ffv1\n    quota_mb: 50\n")
    done = subprocess.run([sys.executable, "-m", "driver_monitor", "check-config", str(config)], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert error_lines(done.stderr) == ["error: recording.event_clips.quota_mb: 50 MB is smaller than one clip "
                                        "(about 207 MB: 15 s of 640x480 at 30 fps in ffv1)"]
