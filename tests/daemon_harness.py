"""Runs `driver-monitor run` as a real subprocess with a NOTIFY_SOCKET bound by the test, the
way systemd runs it, and collects its sd_notify datagrams and stderr lines with times."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

# A daemon config for the subprocess tests: quick camera reopen and state file; the
# driver_absent delay is the test's own.
BASE_CONFIG = """
presence:
  absent_after_s: {absent_after_s}
camera:
  reopen_backoff:
    initial_s: 0.1
    factor: 2.0
    max_s: 0.3
service:
  state_interval_s: 0.2
policy:
  # The tests' 30 s absences (a face-less noise clip that must not raise driver_absent) are
  # beyond Euro NCAP's 10 s to tell the driver, which a config must otherwise keep.
  degraded_notice_within_s: 60.0
"""

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Notice:
    t: float  # time.monotonic() when received
    fields: dict[str, str]

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.fields.get(key, default)


class DaemonProcess:
    def __init__(
        self,
        tmp_path: Path,
        camera: Path | str,
        config_text: str,
        watchdog_usec: int | None = None,
        extra_args: list[str] | None = None,
        env: dict[str, str] | None = None,
    ):
        self.tmp_path = tmp_path
        self.config_path = tmp_path / "config.yaml"
        self.config_path.write_text(config_text)
        self.state_dir = tmp_path / "run"
        self.notify_path = tmp_path / "notify.sock"
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(self.notify_path))
        self._sock.settimeout(0.2)
        self.notices: list[Notice] = []
        self.stderr_lines: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        extra_env, env = env, dict(os.environ)
        env.update(NOTIFY_SOCKET=str(self.notify_path), RUNTIME_DIRECTORY=str(self.state_dir),
                   PYTHONUNBUFFERED="1")
        env.pop("WATCHDOG_USEC", None)
        env.pop("WATCHDOG_PID", None)
        if watchdog_usec is not None:
            env["WATCHDOG_USEC"] = str(watchdog_usec)
        env.update(extra_env or {})
        cmd = [sys.executable, "-m", "driver_monitor", "run", "--config", str(self.config_path),
               "--camera", str(camera), *(extra_args or [])]
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self._running = True
        self._threads = [threading.Thread(target=self._read_notify, daemon=True),
                         threading.Thread(target=self._read_stderr, daemon=True)]
        for th in self._threads:
            th.start()

    def _read_notify(self) -> None:
        while self._running:
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().split("\n") if "=" in line)
            with self._lock:
                self.notices.append(Notice(time.monotonic(), fields))

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._lock:
                self.stderr_lines.append((time.monotonic(), line.rstrip("\n")))

    # ---- waiting -----------------------------------------------------------------
    def wait_notice(self, pred: Callable[[Notice], bool], timeout: float, after: float = 0.0) -> Notice:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                for n in self.notices:
                    if n.t >= after and pred(n):
                        return n
            if self.proc.poll() is not None:
                pytest.fail(f"daemon exited with {self.proc.returncode}:\n{self.stderr_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"no matching sd_notify message within {timeout} s; got {self.summary()}\n{self.stderr_text()}")
            time.sleep(0.02)

    def wait_ready(self, timeout: float = 30.0) -> Notice:
        return self.wait_notice(lambda n: n.get("READY") == "1", timeout)

    def wait_status(self, text: str, timeout: float, after: float = 0.0) -> Notice:
        return self.wait_notice(lambda n: text in (n.get("STATUS") or ""), timeout, after)

    def wait_stderr(self, text: str, timeout: float, after: float = 0.0) -> tuple[float, str]:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                for t, line in self.stderr_lines:
                    if t >= after and text in line:
                        return t, line
            if time.monotonic() > deadline:
                pytest.fail(f"no stderr line with {text!r} within {timeout} s:\n{self.stderr_text()}")
            time.sleep(0.02)

    def notices_with(self, key: str, value: str | None = None, after: float = 0.0) -> list[Notice]:
        with self._lock:
            return [n for n in self.notices if n.t >= after and key in n.fields
                    and (value is None or n.fields[key] == value)]

    def stderr_text(self) -> str:
        with self._lock:
            return "\n".join(line for _, line in self.stderr_lines)

    def summary(self) -> str:
        with self._lock:
            return "; ".join(f"{n.t - self.started:.2f}s {n.fields}" for n in self.notices[-8:])

    # ---- control -----------------------------------------------------------------
    def signal(self, signum: int) -> float:
        t = time.monotonic()
        self.proc.send_signal(signum)
        return t

    def stop(self, timeout: float = 2.0) -> tuple[int, float]:
        """SIGTERM; returns (exit status, seconds until the process was gone)."""
        t = self.signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"daemon still running {timeout} s after SIGTERM:\n{self.stderr_text()}")
        return rc, time.monotonic() - t

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._running = False
        for th in self._threads:
            th.join(1.0)
        self._sock.close()
