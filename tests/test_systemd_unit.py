"""systemd/driver-monitor.service: `systemd-analyze verify` must print nothing at all (any
warning fails), the settings issue 7 asks for are there, and the offline security exposure
stays low. Skipped only where systemd-analyze is absent (CI installs Debian's `systemd`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
UNIT = REPO / "systemd" / "driver-monitor.service"
EXEC = "/opt/driver-monitor/venv/bin/driver-monitor"
ANALYZE = shutil.which("systemd-analyze")

needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze not installed (Debian package systemd)")


def unit_copy(tmp_path: Path, text: str | None = None) -> Path:
    """The unit as installed. verify checks that ExecStart= exists, so off a car computer the
    /opt venv path is pointed at this machine's installed `driver-monitor` (only that path)."""
    text = UNIT.read_text() if text is None else text
    assert f"ExecStart={EXEC} run " in text
    if not Path(EXEC).exists():
        local = shutil.which("driver-monitor")
        if local is None:
            pytest.skip("driver-monitor console script not installed here")
        text = text.replace(EXEC, local)
    path = tmp_path / "driver-monitor.service"
    path.write_text(text)
    return path


def verify(path: Path) -> str:
    assert ANALYZE is not None
    out = subprocess.run([ANALYZE, "verify", str(path)], capture_output=True, text=True, timeout=60)
    return f"rc={out.returncode} {out.stdout}{out.stderr}".strip()


@needs_analyze
def test_verify_prints_nothing(tmp_path: Path) -> None:
    assert verify(unit_copy(tmp_path)) == "rc=0"


@needs_analyze
def test_verify_would_catch_a_bad_line(tmp_path: Path) -> None:
    broken = UNIT.read_text().replace("WatchdogSec=5s", "WatchdogSecs=5s")
    result = verify(unit_copy(tmp_path, broken))
    assert result != "rc=0" and "WatchdogSecs" in result


def settings() -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    section = ""
    for raw in UNIT.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        values.setdefault(f"{section}.{key}", []).append(value)
    return values


def test_unit_has_what_the_daemon_needs() -> None:
    s = settings()
    one = {k: v[-1] for k, v in s.items()}
    assert one["Service.Type"] == "notify"
    assert one["Service.NotifyAccess"] == "main"
    assert one["Service.ExecStart"].startswith(f"{EXEC} run --config /etc/driver-monitor/")
    assert one["Service.ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert one["Service.Restart"] == "on-failure"
    assert one["Service.WatchdogSec"] == "5s"
    assert one["Service.User"] == "driver-monitor"
    assert set(one["Service.SupplementaryGroups"].split()) == {"video", "dialout"}
    assert one["Service.RuntimeDirectory"] == "driver-monitor"  # -> $RUNTIME_DIRECTORY: state.json


def test_unit_hardening_keeps_camera_and_serial_reachable() -> None:
    s = settings()
    one = {k: v[-1] for k, v in s.items()}
    for key, value in [("ProtectSystem", "strict"), ("NoNewPrivileges", "yes"), ("DevicePolicy", "closed"),
                       ("ProtectHome", "yes"), ("PrivateTmp", "yes"), ("RestrictNamespaces", "yes"),
                       ("MemoryDenyWriteExecute", "yes"), ("LockPersonality", "yes")]:
        assert one[f"Service.{key}"] == value, key
    assert {v.split()[0] for v in s["Service.DeviceAllow"]} == {
        "char-video4linux", "char-ttyS", "char-ttyUSB", "char-ttyACM"}
    assert one["Service.RestrictAddressFamilies"].split() == ["AF_UNIX", "AF_CAN", "AF_NETLINK"]
    assert "@system-service" in s["Service.SystemCallFilter"]
    # PrivateDevices=yes would hide /dev/video0 (REFERENCE.md "systemd").
    assert one.get("Service.PrivateDevices", "no") == "no"


@needs_analyze
def test_security_exposure_stays_low(tmp_path: Path) -> None:
    assert ANALYZE is not None
    path = unit_copy(tmp_path)
    out = subprocess.run([ANALYZE, "security", "--offline=true", "--no-pager", str(path)],
                         capture_output=True, text=True, timeout=60)
    overall = [line for line in out.stdout.splitlines() if "Overall exposure level" in line]
    assert overall, out.stdout + out.stderr
    score = float(overall[0].split(":")[1].split()[0])
    # Measured 1.3 "OK" with systemd 252 (docs/service.md); 2.0 leaves room for versions.
    assert score <= 2.0, overall[0]
