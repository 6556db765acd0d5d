"""`driver-monitor run` as a real subprocess, fed by a small video file as its camera, with a
NOTIFY_SOCKET bound by the test (what systemd does for Type=notify): readiness, watchdog,
STATUS, reload on SIGHUP, stop on SIGTERM, and a camera that goes away mid-run.

The camera clip is random noise (no face), so `driver_absent` after
presence.absent_after_s is a behaviour the config controls and the test can watch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from camera_clips import write_clip
from daemon_harness import BASE_CONFIG, REPO, DaemonProcess

pytestmark = pytest.mark.slow



@pytest.fixture
def noise_clip(tmp_path: Path) -> Path:
    return write_clip(tmp_path / "camera.avi", "noise", seconds=0.8, fps=25.0, size=(160, 120))


def status_cli(state_dir: Path) -> str:
    out = subprocess.run([sys.executable, "-m", "driver_monitor", "status", "--state-dir", str(state_dir)],
                         cwd=REPO, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_ready_watchdog_status_and_sigterm(tmp_path: Path, noise_clip: Path, daemons: list) -> None:
    d = DaemonProcess(tmp_path, noise_clip, BASE_CONFIG.format(absent_after_s=0.5), watchdog_usec=400_000)
    daemons.append(d)
    ready = d.wait_ready()
    assert "camera ok" in ready.get("STATUS", "") and "active: none" in ready.get("STATUS", "")
    absent = d.wait_status("active: driver_absent", timeout=5.0, after=ready.t)
    assert "camera ok" in (absent.get("STATUS") or "") and " fps;" in (absent.get("STATUS") or "")
    # Watchdog pings come from the frame loop at half of WATCHDOG_USEC (0.2 s).
    pings = d.notices_with("WATCHDOG", "1", after=ready.t)
    assert len(pings) >= 3
    gaps = sorted(b.t - a.t for a, b in zip(pings, pings[1:], strict=False))
    assert 0.15 <= gaps[len(gaps) // 2] <= 0.3
    # The event is one log line; the state file and `driver-monitor status` show it too.
    d.wait_stderr("event driver_absent start", timeout=2.0)
    state = json.loads((d.state_dir / "state.json").read_text())
    assert state["phase"] == "running" and state["pid"] == d.proc.pid
    assert state["active"] == ["driver_absent"] and state["camera_faults"] == []
    assert state["frames"] > 0 and state["fps"] > 5
    # Nobody in the seat: the road ahead cannot be learned, and every output says so.
    assert state["road_ahead"]["calibrating"] is True and "calibrating" in state["status"]
    assert "active: driver_absent" in status_cli(d.state_dir)
    assert "road ahead    calibrating" in status_cli(d.state_dir)

    rc, took_s = d.stop()
    assert rc == 0 and took_s < 2.0
    assert d.notices_with("STOPPING", "1")
    assert "event" in d.stderr_text() and "monitoring_off" in d.stderr_text()
    assert "Traceback" not in d.stderr_text()
    assert json.loads((d.state_dir / "state.json").read_text())["phase"] == "stopped"


def test_sighup_invalid_config_keeps_running_valid_one_changes_behaviour(
    tmp_path: Path, noise_clip: Path, daemons: list
) -> None:
    d = DaemonProcess(tmp_path, noise_clip, BASE_CONFIG.format(absent_after_s=30.0))
    daemons.append(d)
    ready = d.wait_ready()
    d.wait_status("fps", timeout=3.0, after=ready.t + 1.0)

    d.config_path.write_text("presence:\n  absent_after_s: -1\n")
    hup = d.signal(signal.SIGHUP)
    reloading = d.wait_notice(lambda n: n.get("RELOADING") == "1", timeout=3.0, after=hup)
    assert int(reloading.get("MONOTONIC_USEC") or 0) > 0
    back = d.wait_notice(lambda n: n.get("READY") == "1", timeout=3.0, after=hup)
    assert "reload failed, running config kept: presence.absent_after_s:" in (back.get("STATUS") or "")
    failed = [line for line in d.stderr_text().splitlines() if "config reload failed" in line]
    assert len(failed) == 1 and "presence.absent_after_s: Input should be greater than or equal to 0" in failed[0]
    # Still running, on the old config: frames flow, no absence after 30 s -> none yet.
    later = d.wait_status("fps", timeout=3.0, after=back.t + 1.0)
    assert d.proc.poll() is None and "active: none" in (later.get("STATUS") or "")
    state = json.loads((d.state_dir / "state.json").read_text())
    assert state["reload_error"].startswith("presence.absent_after_s:") and state["reloads"] == 0

    # Valid YAML naming a face model that does not load: also kept, also one line.
    d.config_path.write_text(BASE_CONFIG.format(absent_after_s=0.3) + "perception:\n  model_path: /nonexistent.task\n")
    hup_model = d.signal(signal.SIGHUP)
    back_model = d.wait_notice(lambda n: n.get("READY") == "1", timeout=5.0, after=hup_model)
    assert "reload failed, running config kept: perception.model_path: /nonexistent.task: no such file" in (back_model.get("STATUS") or "")
    d.wait_stderr("config reload failed, keeping the running config: perception.model_path: /nonexistent.task", timeout=1.0)
    later = d.wait_status("fps", timeout=3.0, after=back_model.t + 1.0)
    assert d.proc.poll() is None and "active: none" in (later.get("STATUS") or "")

    # A vehicle DBC that does not exist: refused as `check-config` refuses it, CAN on or not
    # (it stopped the daemon when CAN was on: the input was reopened after the swap).
    d.config_path.write_text(BASE_CONFIG.format(absent_after_s=0.3) + "vehicle:\n  dbc_path: /nonexistent.dbc\n")
    hup_dbc = d.signal(signal.SIGHUP)
    back_dbc = d.wait_notice(lambda n: n.get("READY") == "1", timeout=5.0, after=hup_dbc)
    assert "reload failed, running config kept: vehicle.dbc_path: /nonexistent.dbc" in (back_dbc.get("STATUS") or "")
    assert d.proc.poll() is None

    d.config_path.write_text(BASE_CONFIG.format(absent_after_s=0.3))
    hup2 = d.signal(signal.SIGHUP)
    back2 = d.wait_notice(lambda n: n.get("READY") == "1", timeout=3.0, after=hup2)
    assert "reload failed" not in (back2.get("STATUS") or "")
    # Every SIGHUP is answered in the log, the 4th within the repeat limiter's window (3 lines
    # of a kind per 60 s) too: the answer to an operator is never held back.
    d.wait_stderr("config reloaded (1)", timeout=1.0, after=hup2)
    lines = d.stderr_text().splitlines()
    assert sum("SIGHUP: reloading" in line for line in lines) == 4
    assert sum("config reload failed, keeping the running config" in line for line in lines) == 3
    absent = d.wait_status("active: driver_absent", timeout=3.0, after=back2.t)
    assert absent.t - back2.t < 2.0
    d.wait_stderr("event driver_absent start", timeout=2.0)
    assert d.notices_with("WATCHDOG") == []  # no WATCHDOG_USEC, no pings
    rc, took_s = d.stop()
    assert rc == 0 and took_s < 2.0


def test_camera_gone_mid_run_raises_camera_fault_and_recovers(tmp_path: Path, noise_clip: Path, daemons: list) -> None:
    d = DaemonProcess(tmp_path, noise_clip, BASE_CONFIG.format(absent_after_s=30.0), watchdog_usec=400_000)
    daemons.append(d)
    ready = d.wait_ready()
    hidden = noise_clip.with_name("unplugged.avi")
    t_gone = d.wait_status("fps", timeout=3.0, after=ready.t + 0.5).t
    os.replace(noise_clip, hidden)  # the "camera" is unplugged: gone at the clip's end
    fault = d.wait_status("camera FAULT device_gone", timeout=3.0, after=t_gone)
    _, line = d.wait_stderr("event camera_fault start", timeout=1.0)
    assert "reason=device_gone" in line
    state = json.loads((d.state_dir / "state.json").read_text())
    assert state["camera_faults"] == ["device_gone"] and not state["camera_open"]
    assert "faults: device_gone" in status_cli(d.state_dir)
    # The loop is not stalled by the fault: the watchdog keeps being fed.
    t_pings = fault.t
    d.wait_status("camera FAULT", timeout=2.0, after=t_pings + 0.8)
    assert len(d.notices_with("WATCHDOG", "1", after=t_pings)) >= 3

    os.replace(hidden, noise_clip)  # plugged back in
    back = d.wait_status("camera ok", timeout=3.0, after=fault.t)
    _, end_line = d.wait_stderr("event camera_fault end", timeout=1.0)
    assert "reason=device_gone" in end_line and "camera recovered" in d.stderr_text()
    assert back.t > fault.t
    frames_before = json.loads((d.state_dir / "state.json").read_text())["frames"]
    d.wait_status("camera ok", timeout=2.0, after=back.t + 0.5)
    assert json.loads((d.state_dir / "state.json").read_text())["frames"] > frames_before
    rc, _ = d.stop()
    assert rc == 0


def test_bad_config_at_start_is_one_line_and_exit_2(tmp_path: Path, noise_clip: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("camera:\n  fourcc: MJPEG\n")
    out = subprocess.run([sys.executable, "-m", "driver_monitor", "run", "--config", str(cfg), "--camera", str(noise_clip)],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == ["error: camera.fourcc: must be exactly four characters, e.g. MJPG or YUYV, or null (got 'MJPEG')"]


def test_ready_with_camera_fault_at_start_then_camera_arrives_and_sigint_stops(
    tmp_path: Path, daemons: list
) -> None:
    missing = tmp_path / "later.avi"
    d = DaemonProcess(tmp_path, missing, BASE_CONFIG.format(absent_after_s=30.0))
    daemons.append(d)
    ready = d.wait_ready()
    # READY does not wait for a camera that is not there: it comes with the fault reported.
    assert "camera FAULT device_gone" in (ready.get("STATUS") or "")
    _, line = d.wait_stderr("event camera_fault start", timeout=1.0)
    assert "reason=device_gone" in line
    write_clip(missing, "noise", seconds=0.8, fps=25.0, size=(160, 120))
    back = d.wait_status("camera ok", timeout=3.0, after=ready.t)
    d.wait_stderr("event camera_fault end", timeout=1.0)
    d.wait_status("fps", timeout=2.0, after=back.t + 0.5)
    assert json.loads((d.state_dir / "state.json").read_text())["frames"] > 0
    t = d.signal(signal.SIGINT)
    rc = d.proc.wait(5.0)
    assert rc == 0 and d.notices_with("STOPPING", "1", after=t)


def test_frozen_camera_is_a_fault_and_its_pictures_are_not_judged(tmp_path: Path, daemons: list) -> None:
    # 6 s long: OpenCV's MJPG writer makes the first frame differ from the others, so each
    # loop of the file briefly "unfreezes" it; the test looks within the first loop.
    still = write_clip(tmp_path / "still.avi", "still", seconds=6.0, fps=10.0, size=(160, 120))
    config = BASE_CONFIG.format(absent_after_s=0.3).replace("camera:\n", "camera:\n  frozen_frame_s: 0.5\n")
    d = DaemonProcess(tmp_path, still, config)
    daemons.append(d)
    ready = d.wait_ready()
    fault = d.wait_status("camera FAULT frozen_image", timeout=4.0, after=ready.t)
    _, line = d.wait_stderr("camera fault: frozen_image", timeout=1.0)
    assert "identical frames for 0.5 s" in line
    frames = json.loads((d.state_dir / "state.json").read_text())["frames"]
    later = d.wait_status("camera FAULT frozen_image", timeout=2.0, after=fault.t + 1.0)
    state = json.loads((d.state_dir / "state.json").read_text())
    # The stuck picture is not fed to the detectors while the fault lasts.
    assert state["frames"] == frames and state["camera_open"] and later.t > fault.t, d.stderr_text()
    rc, _ = d.stop()
    assert rc == 0


def _catches(pid: int, signum: int) -> bool:
    """The process has a handler of its own for signum (/proc/PID/status SigCgt)."""
    status = Path(f"/proc/{pid}/status").read_text()
    mask = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16)
    return bool(mask & (1 << (signum - 1)))


def _wait_catching(d: DaemonProcess, signum: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not _catches(d.proc.pid, signum):
        assert d.proc.poll() is None and time.monotonic() < deadline, d.stderr_text()
        time.sleep(0.005)


def test_signals_while_starting_are_kept_for_the_daemon(tmp_path: Path, noise_clip: Path, daemons: list) -> None:
    # SIGHUP while the daemon still imports its libraries (~1.5 s): it used to die of it
    # (exit 129, not a word); now the reload is done once it runs.
    (tmp_path / "hup").mkdir()
    d = DaemonProcess(tmp_path / "hup", noise_clip, BASE_CONFIG.format(absent_after_s=30.0))
    daemons.append(d)
    _wait_catching(d, signal.SIGHUP)
    hup = d.signal(signal.SIGHUP)
    ready = d.wait_ready()
    assert d.notices_with("READY")[0].t > hup  # the signal came while it was starting
    d.wait_stderr("config reloaded (1)", timeout=5.0, after=ready.t - 1.0)
    assert d.proc.poll() is None
    rc, _ = d.stop()
    assert rc == 0

    # SIGTERM while starting: the orderly stop (monitoring off on every output), exit 0,
    # no KeyboardInterrupt-style traceback.
    (tmp_path / "term").mkdir()
    d2 = DaemonProcess(tmp_path / "term", noise_clip, BASE_CONFIG.format(absent_after_s=30.0))
    daemons.append(d2)
    _wait_catching(d2, signal.SIGTERM)
    d2.signal(signal.SIGTERM)
    assert d2.proc.wait(timeout=30) == 0, d2.stderr_text()
    time.sleep(0.2)  # the last stderr lines
    assert "monitoring_off" in d2.stderr_text() and "Traceback" not in d2.stderr_text()


def _daemon_keeping_state_in(state_dir: Path, work: Path, clip: Path, daemons: list) -> DaemonProcess:
    work.mkdir()
    daemon = DaemonProcess(work, clip, BASE_CONFIG.format(absent_after_s=30.0), extra_args=["--state-dir", str(state_dir)])
    daemons.append(daemon)
    return daemon


def _assert_a_second_daemon_is_refused(state_dir: Path, first: DaemonProcess, clip: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "driver_monitor", "run", "--camera", str(clip),
                          "--state-dir", str(state_dir)], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        f"error: {state_dir}: another driver-monitor (pid {first.proc.pid}) keeps its state here: stop it, "
        "or give this one another --state-dir"]


def test_a_second_daemon_on_the_same_state_dir_is_refused(tmp_path: Path, noise_clip: Path, daemons: list) -> None:
    # It used to run beside the first and overwrite its state.json (`status` then reported
    # whichever wrote last, "stopped" once the second ended while the first still ran).
    shared = tmp_path / "state"
    first = _daemon_keeping_state_in(shared, tmp_path / "a", noise_clip, daemons)
    first.wait_ready()
    _assert_a_second_daemon_is_refused(shared, first, noise_clip)
    assert json.loads((shared / "state.json").read_text())["pid"] == first.proc.pid
    rc, _ = first.stop()
    assert rc == 0
    # Stopped, the directory is free again.
    (tmp_path / "b").mkdir()
    second = DaemonProcess(tmp_path / "b", noise_clip, BASE_CONFIG.format(absent_after_s=30.0),
                           extra_args=["--state-dir", str(shared)])
    daemons.append(second)
    second.wait_ready()
    assert second.stop()[0] == 0


def test_a_state_directory_removed_while_running_is_locked_again(tmp_path: Path, noise_clip: Path, daemons: list) -> None:
    # Removed under the daemon (a tmpfiles clean of /run), the directory came back with the
    # state file but no daemon.lock: a second daemon then ran on it beside the first.
    import shutil

    shared = tmp_path / "state"
    first = _daemon_keeping_state_in(shared, tmp_path / "a", noise_clip, daemons)
    ready = first.wait_ready()
    shutil.rmtree(shared)
    removed = time.monotonic()
    first.wait_stderr("lock file removed or replaced while running: locked again", timeout=3.0, after=ready.t)
    first.wait_status("fps", timeout=3.0, after=removed + 0.3)
    assert json.loads((shared / "state.json").read_text())["pid"] == first.proc.pid
    _assert_a_second_daemon_is_refused(shared, first, noise_clip)
    assert first.stop()[0] == 0


def test_a_camera_file_that_cannot_be_opened_is_one_line_not_ffmpegs(tmp_path: Path, daemons: list) -> None:
    # OpenCV's FFmpeg wrote "[mov,mp4,...] moov atom not found" to stderr on every reopen.
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    config = BASE_CONFIG.format(absent_after_s=30.0)
    d = DaemonProcess(tmp_path, empty, config)
    daemons.append(d)
    ready = d.wait_ready()
    assert "camera FAULT open_failed" in (ready.get("STATUS") or "")
    d.wait_stderr("event camera_fault start", timeout=2.0)
    time.sleep(1.0)  # reopens at 0.1, 0.2, 0.3 s backoff (BASE_CONFIG)
    assert not [line for line in d.stderr_text().splitlines() if "moov atom" in line or line.startswith("[")]
    assert d.stop()[0] == 0


# A face-model stand-in whose load takes 1.5 s (a large ONNX file on a slow card): loaded in
# the daemon's process through sitecustomize, so the test sees where the daemon loads it.
SLOW_EXPRESSION_LOAD = """
import time
import driver_monitor.perception.expression as expression
_load = expression.ExpressionModel.__init__
def _slow_load(self, config):
    time.sleep(1.5)
    _load(self, config)
expression.ExpressionModel.__init__ = _slow_load
"""


def test_sighup_expression_model_that_fails_to_load_is_the_reloads_error_and_a_slow_one_no_stall(
    tmp_path: Path, noise_clip: Path, daemons: list
) -> None:
    # The model was built in Pipeline.reconfigure on the frame loop: a missing file stopped
    # the daemon (exit 2), a slow load starved the watchdog.
    from test_stress_expression import build_model, model_config

    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(SLOW_EXPRESSION_LOAD)
    pythonpath = os.pathsep.join(p for p in (str(tmp_path / "site"), os.environ.get("PYTHONPATH")) if p)
    base = BASE_CONFIG.format(absent_after_s=30.0)
    d = DaemonProcess(tmp_path, noise_clip, base, watchdog_usec=400_000, env={"PYTHONPATH": pythonpath})
    daemons.append(d)
    ready = d.wait_ready()
    d.wait_status("fps", timeout=3.0, after=ready.t + 0.5)

    def expression_yaml(path: Path | str) -> str:
        section = model_config(build_model(tmp_path / "model.onnx")).model_dump(mode="json")
        section["model_path"] = str(path)
        return base + "stress:\n  expression_model: " + json.dumps(section) + "\n"

    not_onnx = tmp_path / "not_a_model.onnx"
    not_onnx.write_bytes(b"not an onnx file")
    for path, why in [("/nonexistent/model.onnx", "stress.expression_model.model_path: /nonexistent/model.onnx: no such file"),
                      (not_onnx, f"{not_onnx}: not a loadable ONNX model")]:
        d.config_path.write_text(expression_yaml(path))
        hup = d.signal(signal.SIGHUP)
        back = d.wait_notice(lambda n: n.get("READY") == "1", timeout=10.0, after=hup)
        assert f"reload failed, running config kept: {why}" in (back.get("STATUS") or ""), back
        d.wait_stderr(f"config reload failed, keeping the running config: {why}", timeout=1.0, after=hup)
        later = d.wait_status("fps", timeout=3.0, after=back.t + 0.5)
        assert d.proc.poll() is None and "active: none" in (later.get("STATUS") or "")

    d.config_path.write_text(expression_yaml(tmp_path / "model.onnx"))
    hup = d.signal(signal.SIGHUP)
    back = d.wait_notice(lambda n: n.get("READY") == "1", timeout=10.0, after=hup)
    assert "reload failed" not in (back.get("STATUS") or "") and back.t - hup >= 1.5
    d.wait_stderr("config reloaded (1)", timeout=1.0, after=hup)
    d.wait_status("fps", timeout=3.0, after=back.t + 0.5)
    # The frame loop fed the watchdog through the 1.5 s load (every 0.2 s; systemd kills at 0.4 s).
    pings = [n.t for n in d.notices_with("WATCHDOG", "1", after=hup - 0.2) if n.t <= back.t + 0.5]
    assert max(b - a for a, b in zip(pings, pings[1:], strict=False)) < 0.4
    assert "Traceback" not in d.stderr_text()
    assert d.stop()[0] == 0


def test_a_camera_that_never_delivers_is_no_frame_at_ready_from_its_start(tmp_path: Path, daemons: list) -> None:
    # A FIFO nobody writes to: opening it blocks for ever. READY came after the open wait with
    # "camera ok", and no_frame a second later with its onset at READY, not at the start.
    fifo = tmp_path / "camera.fifo"
    os.mkfifo(fifo)
    d = DaemonProcess(tmp_path, fifo, BASE_CONFIG.format(absent_after_s=30.0).replace("camera:\n", "camera:\n  open_timeout_s: 1.5\n"))
    daemons.append(d)
    ready = d.wait_ready()
    assert "camera FAULT no_frame" in (ready.get("STATUS") or ""), ready
    _, line = d.wait_stderr("event camera_fault start", timeout=2.0)
    fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
    t, onset = float(fields["t"]), float(fields["onset_t"])
    assert fields["reason"] == "no_frame"
    # Counted from the camera's start: the 1.5 s open wait is part of the silence.
    assert ready.t - 1.5 - 2.0 < onset <= ready.t - 1.5 and t <= ready.t + 0.1
    assert d.stop()[0] == 0


def test_a_reloaded_config_that_validates_but_does_not_act_as_written_is_warned_of(
    tmp_path: Path, noise_clip: Path, daemons: list
) -> None:
    # The daemon warned at its start only: a SIGHUP to a config with repeat_every_s alone
    # (max_repeats 0: no repeat ever) was "config reloaded" and nothing else.
    d = DaemonProcess(tmp_path, noise_clip, BASE_CONFIG.format(absent_after_s=30.0))
    daemons.append(d)
    ready = d.wait_ready()
    d.config_path.write_text(BASE_CONFIG.format(absent_after_s=30.0)
                             + "  conditions:\n    long_distraction: {repeat_every_s: 20}\n")
    hup = d.signal(signal.SIGHUP)
    d.wait_notice(lambda n: n.get("READY") == "1", timeout=5.0, after=max(hup, ready.t))
    d.wait_stderr("policy.conditions.long_distraction: repeat_every_s (20 s) with max_repeats 0 never repeats", timeout=2.0,
                  after=hup)
    assert d.proc.poll() is None and "config reloaded (1)" in d.stderr_text()
