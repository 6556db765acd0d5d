"""systemd/driver-monitor.service: `systemd-analyze verify` must print nothing at all (any
warning fails) for the unit as an installer places it, the settings issue 7 asks for are
there, and the offline security exposure stays low. Skipped only where systemd-analyze is
absent (CI installs Debian's `systemd`).

"As an installer places it": an alternate root (`systemd-analyze --root`) holding the unit
in /etc/systemd/system, the console script at the ExecStart path the unit names
(/opt/driver-monitor/venv/bin/driver-monitor, docs/service.md), /bin/kill for ExecReload and
the distribution's own units for the dependencies. Nothing in the unit is rewritten."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
UNIT = REPO / "systemd" / "driver-monitor.service"
EXEC = "/opt/driver-monitor/venv/bin/driver-monitor"
ANALYZE = shutil.which("systemd-analyze")
SYSTEM_UNITS = next((p for p in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")) if p.is_dir()), None)

needs_analyze = pytest.mark.skipif(ANALYZE is None or SYSTEM_UNITS is None,
                                   reason="systemd-analyze not installed (Debian package systemd)")


def console_script() -> Path:
    """This environment's installed `driver-monitor` (make test puts the venv's bin on PATH)."""
    found = shutil.which("driver-monitor") or str(Path(sys.prefix) / "bin" / "driver-monitor")
    assert Path(found).is_file(), f"the driver-monitor console script is not installed ({found}): pip install -e ."
    return Path(found)


def installed_unit(tmp_path: Path, text: str | None = None, program: bool = True) -> tuple[Path, Path]:
    """(root, unit path inside it) of the unit installed the way docs/service.md installs it."""
    text = UNIT.read_text() if text is None else text
    assert f"ExecStart={EXEC} run " in text
    assert SYSTEM_UNITS is not None
    root = tmp_path / "root"
    shutil.copytree(SYSTEM_UNITS, root / "usr" / "lib" / "systemd" / "system", symlinks=True)
    (root / "bin").mkdir()
    shutil.copy2(shutil.which("kill") or "/bin/kill", root / "bin" / "kill")
    exe = root / EXEC.lstrip("/")
    exe.parent.mkdir(parents=True)
    if program:
        shutil.copy2(console_script(), exe)
    unit = root / "etc" / "systemd" / "system" / "driver-monitor.service"
    unit.parent.mkdir(parents=True)
    unit.write_text(text)
    return root, unit


def analyze(tmp_path: Path, *args: str, text: str | None = None, program: bool = True) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    root, unit = installed_unit(tmp_path, text, program)
    return subprocess.run([ANALYZE, f"--root={root}", *args, str(unit)], capture_output=True, text=True, timeout=60)


def verify(tmp_path: Path, text: str | None = None, program: bool = True) -> str:
    out = analyze(tmp_path, "verify", text=text, program=program)
    return f"rc={out.returncode} {out.stdout}{out.stderr}".strip()


@needs_analyze
def test_verify_prints_nothing(tmp_path: Path) -> None:
    assert verify(tmp_path) == "rc=0"


@needs_analyze
def test_verify_would_catch_a_bad_line(tmp_path: Path) -> None:
    broken = UNIT.read_text().replace("WatchdogSec=5s", "WatchdogSecs=5s")
    result = verify(tmp_path, broken)
    assert result != "rc=0" and "WatchdogSecs" in result


@needs_analyze
def test_verify_would_catch_a_missing_program(tmp_path: Path) -> None:
    # What `systemd-analyze verify` of the unit as shipped said on a machine without the
    # install: the check that the ExecStart program exists is real.
    result = verify(tmp_path, program=False)
    assert result.startswith("rc=1") and f"{EXEC} is not executable" in result


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
    out = analyze(tmp_path, "security", "--offline=true", "--no-pager")
    overall = [line for line in out.stdout.splitlines() if "Overall exposure level" in line]
    assert overall, out.stdout + out.stderr
    score = float(overall[0].split(":")[1].split()[0])
    # Measured 1.3 "OK" with systemd 252 (docs/service.md); 2.0 leaves room for versions.
    assert score <= 2.0, overall[0]
