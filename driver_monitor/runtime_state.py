"""The daemon's current state as a small JSON file, read by `driver-monitor status`.

Written atomically (temp file + rename) so a reader never sees half a file. Lives in the
runtime directory: $RUNTIME_DIRECTORY (systemd RuntimeDirectory=), a configured directory,
or /run/driver-monitor. Holds no image data and no biometrics beyond the current state
names (EU 2019/2144 Art. 6(3): nothing leaves the closed loop).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from driver_monitor.errors import InputError

STATE_FILE_NAME = "state.json"
DEFAULT_RUNTIME_DIR = Path("/run/driver-monitor")


def resolve_state_dir(configured: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """The configured directory, else $RUNTIME_DIRECTORY (first entry), else /run/driver-monitor."""
    if configured is not None:
        return Path(configured)
    env = os.environ if environ is None else environ
    runtime = env.get("RUNTIME_DIRECTORY", "")
    if runtime:
        # systemd joins several RuntimeDirectory= entries with ':'.
        return Path(runtime.split(":")[0])
    return DEFAULT_RUNTIME_DIR


def write_state(state_dir: Path, state: Mapping[str, Any]) -> Path:
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / STATE_FILE_NAME
    tmp = state_dir / f".{STATE_FILE_NAME}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_state(state_dir: Path) -> dict[str, Any]:
    path = state_dir / STATE_FILE_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no state file (is `driver-monitor run` running with this runtime directory?)") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON at line {exc.lineno}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object")
    return data


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def format_state(state: Mapping[str, Any], now_wall: float | None = None) -> str:
    """Human-readable lines for `driver-monitor status`."""
    now_wall = time.time() if now_wall is None else now_wall
    pid = state.get("pid")
    alive = isinstance(pid, int) and pid_alive(pid)
    age_s = now_wall - float(state.get("updated_wall", 0.0))
    phase = state.get("phase", "?")
    if not alive and phase != "stopped":
        phase = f"{phase} (process {pid} is gone: stale state)"
    active = ", ".join(state.get("active") or []) or "none"
    faults = ", ".join(state.get("camera_faults") or []) or "none"
    lines = [
        f"driver-monitor  {phase}, pid {pid}, updated {age_s:.1f} s ago",
        f"  camera        {state.get('camera_source', '?')}: {'open' if state.get('camera_open') else 'not open'}, faults: {faults}",
        f"  frames        {state.get('frames', 0)} processed, {state.get('skipped_frames', 0)} skipped, {float(state.get('fps', 0.0)):.1f} frames/s",
        f"  driver        face {'seen' if state.get('face_present') else 'not seen'}, active: {active}",
        f"  config        {state.get('config_path', '?')} (reloads {state.get('reloads', 0)})",
    ]
    if state.get("reload_error"):
        lines.append(f"  reload error  {state['reload_error']}")
    if state.get("outputs"):
        # Each entry is an output's own one-line status ("can: 73 written, 0 dropped, ...").
        lines += [f"  output        {text}" for _, text in sorted(state["outputs"].items())]
    return "\n".join(lines)
