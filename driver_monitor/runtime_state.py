"""The daemon's current state as a small JSON file, read by `driver-monitor status`.

Written atomically (temp file + rename) so a reader never sees half a file, and private
(0600). Lives in the runtime directory: $RUNTIME_DIRECTORY (systemd RuntimeDirectory=), a
configured directory, or /run/driver-monitor. Holds no image data and no biometrics beyond
the current state names (EU 2019/2144 Art. 6(3): nothing leaves the closed loop).

`status` reads whatever it finds there: a file that is not JSON, not an object or holds
values of the wrong types (a hand-edited or foreign file) is one line or a `?`, never a
traceback.
"""

from __future__ import annotations

import fcntl
import json
import logging
import math
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from driver_monitor.errors import InputError
from driver_monitor.outputs.files import open_private

if TYPE_CHECKING:
    from driver_monitor.assembly import RunIo
    from driver_monitor.config import Config
    from driver_monitor.pipeline import Pipeline
    from driver_monitor.sources.camera import CameraSource

log = logging.getLogger(__name__)

STATE_FILE_NAME = "state.json"
# The daemon writes ~1 KB; anything far larger is not its file.
MAX_STATE_BYTES = 1 << 20
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


class StateDirLock:
    """One daemon per state directory: an exclusive flock(2) on `daemon.lock` in it, held while
    the daemon runs (the kernel drops it when the process ends, `kill -9` included). A second
    daemon pointed at the same directory would overwrite the first's state.json, and `status`
    would report whichever wrote last (a stopped one over a running one)."""

    NAME = "daemon.lock"

    def __init__(self, directory: Path, fd: int):
        self.directory = directory
        self._fd: int | None = fd

    @classmethod
    def take(cls, directory: Path) -> StateDirLock | None:
        """The lock, or InputError naming the daemon that holds it; None (with a warning) when
        the directory cannot be made or the lock file opened: then no state file can be
        written either, and the daemon runs on without one, as it does when a write fails
        later. A lock file that cannot take the pid (a full disk) is one warning too, and
        the lock is kept."""
        try:
            directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(directory / cls.NAME, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            log.warning("state directory %s not usable (%s): no state file", directory, exc.strerror)
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip()
            os.close(fd)
            who = f"pid {holder}" if holder.isdigit() else "another process"
            raise InputError(f"{directory}: another driver-monitor ({who}) keeps its state here: stop it, "
                             "or give this one another --state-dir") from None
        except OSError as exc:  # a file system without locks: run, as before there was one
            log.warning("state directory %s not locked (%s)", directory, exc.strerror)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError as exc:
            # A full directory (ENOSPC) or a read-only one: the lock is held all the same (a
            # second daemon is refused, named "another process"); the state file cannot be
            # written either, and each write that fails is logged as later ones are.
            log.warning("state directory %s not writable (%s): no state file while it lasts", directory, exc.strerror)
        return cls(directory, fd)

    def intact(self) -> bool:
        """The lock file in the directory is still the one this lock holds. Removed (a tmpfiles
        clean of /run, an `rm -r` of the directory) or replaced, it excludes nobody: a second
        daemon would create and lock a new one."""
        if self._fd is None:
            return False
        try:
            there, mine = os.stat(self.directory / self.NAME), os.fstat(self._fd)
        except OSError:
            return False
        return (there.st_dev, there.st_ino) == (mine.st_dev, mine.st_ino)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    @classmethod
    def held(cls, directory: Path) -> bool | None:
        """Whether a daemon holds the directory now; None when no lock file says (a daemon of
        before the lock, or none ever ran there)."""
        try:
            fd = os.open(directory / cls.NAME, os.O_RDONLY)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError:
            return None
        finally:
            os.close(fd)  # also drops the shared lock just taken
        return False


def write_state(state_dir: Path, state: Mapping[str, Any]) -> Path:
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / STATE_FILE_NAME
    tmp = state_dir / f".{STATE_FILE_NAME}.{os.getpid()}.tmp"
    with open_private(tmp, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(state, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path


def read_state(state_dir: Path) -> dict[str, Any]:
    path = state_dir / STATE_FILE_NAME
    try:
        if path.stat().st_size > MAX_STATE_BYTES:
            raise InputError(f"{path}: {path.stat().st_size} bytes, not a state file of driver-monitor")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no state file (is `driver-monitor run` running with this runtime directory?)") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        line = f" at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise InputError(f"{path}: not valid JSON{line}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object")
    return data


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # OverflowError: a pid past a C int (no process has it)
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def daemon_running(state: Mapping[str, Any], held: bool | None = None) -> bool:
    """The state file's daemon runs: not stopped, its pid alive, and (where a lock file tells)
    holding its directory; a pid reused by another process does not hold it."""
    pid = state.get("pid")
    alive = isinstance(pid, int) and not isinstance(pid, bool) and pid > 0 and pid_alive(pid)
    return alive and held is not False and state.get("phase") != "stopped"


def format_state(state: Mapping[str, Any], now_wall: float | None = None, held: bool | None = None) -> str:
    """Human-readable lines for `driver-monitor status`. Values of the wrong type (a file
    not written by the daemon) print as `?`, never raise."""
    now_wall = time.time() if now_wall is None else now_wall
    pid = state.get("pid")
    updated = _number(state.get("updated_wall"))
    age = f"{now_wall - updated:.1f} s ago" if updated is not None else "at an unknown time"
    phase = _text(state.get("phase"))
    if not daemon_running(state, held) and phase != "stopped":
        phase = f"{phase} (process {_text(pid)} is gone: stale state)"
    fps = _number(state.get("fps"))
    times = state.get("frame_time_ms")
    p50, p99 = (_number(times.get("p50")), _number(times.get("p99"))) if isinstance(times, Mapping) else (None, None)
    frame_time = f", frame time p50 {p50:g} ms, p99 {p99:g} ms" if p50 is not None and p99 is not None else ""
    lines = [
        f"driver-monitor  {phase}, pid {_text(pid)}, updated {age}",
        f"  camera        {_text(state.get('camera_source'))}: {'open' if state.get('camera_open') is True else 'not open'}, faults: {_names(state.get('camera_faults'))}",
        f"  frames        {_count(state.get('frames', 0))} processed, {_count(state.get('skipped_frames', 0))} skipped, {'?' if fps is None else f'{fps:.1f}'} frames/s{frame_time}",
        f"  driver        face {'seen' if state.get('face_present') is True else 'not seen'}, active: {_names(state.get('active'))}",
        f"  road ahead    {_road_ahead(state.get('road_ahead'))}",
        f"  emotional     {_signals(state.get('emotional_signals'))}",
        f"  config        {_text(state.get('config_path'))} (reloads {_count(state.get('reloads', 0))})",
    ]
    if state.get("reload_error"):
        lines.append(f"  reload error  {_text(state['reload_error'])}")
    errors = state.get("frame_errors")
    if isinstance(errors, int) and not isinstance(errors, bool) and errors > 0:
        lines.append(f"  frame errors  {errors} frames not processed (a stage raised; the journal has the lines)")
    vehicle = state.get("vehicle")
    if isinstance(vehicle, Mapping):
        if vehicle.get("can"):
            lines.append(f"  vehicle       {_text(vehicle['can'])}")
        hr = vehicle.get("heart_rate")
        if isinstance(hr, Mapping):
            lines.append(f"  heart rate    {_text(hr.get('port'))}: {_text(hr.get('lines_ok'))} readings, "
                         f"{_text(hr.get('lines_bad'))} bad lines, opens {_text(hr.get('opens'))}"
                         + (f", last error: {_text(hr['last_error'])}" if hr.get("last_error") else ""))
    clips = state.get("event_clips")
    if isinstance(clips, Mapping):
        lines.append(f"  event clips   {clips_line(clips)}")
    outputs = state.get("outputs")
    if isinstance(outputs, Mapping):
        # Each entry is an output's own one-line status ("can: 73 written, 0 dropped, ...").
        lines += [f"  output        {_text(text)}" for _, text in sorted(outputs.items(), key=lambda kv: str(kv[0]))]
    return "\n".join(lines)


def clips_line(clips: Mapping[str, Any]) -> str:
    """`3 in /var/lib/driver-monitor/clips, 212.4 MB of 2048 MB quota, last ..., 0 failed`."""
    size, quota = _number(clips.get("bytes")), _number(clips.get("quota_bytes"))
    mb = f"{size / 1e6:.1f} MB" if size is not None else "? MB"
    of = f" of {quota / 1e6:g} MB quota" if quota is not None else ""
    text = f"{_text(clips.get('count'))} in {_text(clips.get('dir'))}, {mb}{of}"
    if clips.get("last"):
        text += f", last {_text(clips['last'])}"
    if clips.get("recording") is True:
        text += ", one being recorded"
    elif clips.get("writing") is True:
        text += ", writing one"
    failed, dropped = clips.get("failed"), clips.get("dropped")
    lost = [f"{n} {what}" for n, what in ((failed, "failed"), (dropped, "dropped (writer behind)"))
            if isinstance(n, int) and n]
    if lost:
        text += f", {', '.join(lost)} (last error: {_text(clips.get('last_error'))})"
    return text


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _count(value: Any) -> str:
    """A count the daemon writes as a whole number; anything else (a hand-made file) is `?`."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else "?"


def _text(value: Any, limit: int = 200) -> str:
    """A value as one short line (a foreign file may hold anything)."""
    if value is None:
        return "?"
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _road_ahead(value: Any) -> str:
    """`calibrating` while the driver's road-ahead direction is not known (distraction not
    judged, docs/distraction.md), else where it comes from and the direction."""
    if not isinstance(value, Mapping):
        return "?"
    if value.get("calibrating") is True:
        return "calibrating (not known yet: distraction not judged)"
    yaw, pitch = _number(value.get("yaw_deg")), _number(value.get("pitch_deg"))
    where = f"yaw {yaw:g} deg, pitch {pitch:g} deg" if yaw is not None and pitch is not None else "?"
    done = ", driver calibrated" if value.get("calibrated") is True else ""
    return f"{_text(value.get('source'))}: {where}{done}"


def _signals(value: Any) -> str:
    """The privacy mode of each emotional / physiological signal (the driver must be told
    which are measured: EU AI Act Art. 50(3), docs/emotion.md "Privacy"):
    `active (written): heart_rate, ...; active (memory only): anger; off: none`."""
    if not isinstance(value, Mapping):
        return "?"
    groups = {"output": "active (written)", "memory": "active (memory only)", "off": "off"}
    parts = []
    for mode, label in groups.items():
        names = sorted(str(k) for k, v in value.items() if v == mode)
        parts.append(f"{label}: {', '.join(names) or 'none'}")
    return "; ".join(parts)


def _names(value: Any) -> str:
    if isinstance(value, list) and value:
        return ", ".join(_text(v) for v in value)
    return "none" if value in (None, []) else _text(value)


class FrameTimes:
    """How long the loop spends on each frame (pipeline.process), as a histogram of 1 ms bins
    since start: percentiles over hours of frames in constant memory."""

    MAX_MS = 2000  # slower frames count in the last bin

    def __init__(self) -> None:
        self.bins = [0] * (self.MAX_MS + 1)
        self.count = 0
        self.max_ms = 0.0

    def add(self, seconds: float) -> None:
        ms = seconds * 1000.0
        self.bins[min(self.MAX_MS, int(ms))] += 1
        self.count += 1
        self.max_ms = max(self.max_ms, ms)

    def percentile_ms(self, q: float) -> float | None:
        """The upper edge of the bin holding the q-th percentile (None before any frame)."""
        if not self.count:
            return None
        rank, seen = q / 100.0 * self.count, 0
        for ms, n in enumerate(self.bins):
            seen += n
            if seen >= rank:
                return float(ms + 1)
        return float(self.MAX_MS)

    def summary(self) -> dict[str, float | int | None]:
        return {"frames": self.count, "p50": self.percentile_ms(50), "p99": self.percentile_ms(99),
                "max": round(self.max_ms, 1)}


class DaemonStatus:
    """What the daemon reports about itself: STATUS= for systemd and state.json for
    `driver-monitor status` (phase, fps, camera, driver, config, reloads, vehicle, outputs)."""

    def __init__(self, config_path: Path | None, state_dir_override: Path | None, write_file: bool = True):
        """write_file False: no state file (`record` from a shell, unless --state-dir says where)."""
        self.config_name = str(config_path) if config_path is not None else "(packaged default)"
        self.write_file = write_file
        self.state_dir_override = state_dir_override
        self.state_dir = resolve_state_dir(state_dir_override)
        self.phase = "starting"
        self.reloads = 0
        self.reload_error: str | None = None
        self.fps = 0.0
        self.started_wall = time.time()
        self.frame_times = FrameTimes()
        self.frame_errors = 0  # frames a stage raised on (service.py: logged, skipped)
        self.lock: StateDirLock | None = None
        self._fps_window: tuple[float, int] | None = None  # (start, frames judged then)

    def state_dir_of(self, config: Config) -> Path:
        return resolve_state_dir(self.state_dir_override or config.service.state_dir)

    def configure(self, config: Config, lock: StateDirLock | None = None) -> None:
        """The state directory of `config`; `lock`: that directory's lock when it changed
        (taken by `take_lock` before the config was accepted), which replaces the old one."""
        self.state_dir = self.state_dir_of(config)
        if lock is not None:
            if self.lock is not None:
                self.lock.release()
            self.lock = lock

    def take_lock(self, config: Config) -> StateDirLock | None:
        """The lock of `config`'s state directory when this daemon writes one and does not hold
        it yet (InputError when another daemon does); None otherwise."""
        directory = self.state_dir_of(config)
        if not self.write_file or (self.lock is not None and self.lock.directory == directory):
            return None
        return StateDirLock.take(directory)

    def count_fps(self, frames: int, now: float) -> None:
        if self._fps_window is not None and now > self._fps_window[0]:
            self.fps = (frames - self._fps_window[1]) / (now - self._fps_window[0])
        self._fps_window = (now, frames)

    @staticmethod
    def _road_ahead(pipeline: Pipeline) -> dict[str, Any]:
        c = pipeline.calibration
        return {"source": c.road_ahead, "calibrating": not c.road_ahead_known, "calibrated": c.calibrated,
                "yaw_deg": round(c.neutral_yaw_deg + c.neutral_gaze_yaw_deg, 1),
                "pitch_deg": round(c.neutral_pitch_deg + c.neutral_gaze_pitch_deg, 1)}

    def _driver(self, pipeline: Pipeline) -> tuple[bool, list[str]]:
        r = pipeline.last_result
        if r is None or self.phase == "stopped":
            return False, sorted(pipeline.privacy.active(pipeline.active)) if r is not None else []
        return r.state.face_present, sorted(r.state.active)

    def text(self, pipeline: Pipeline) -> str:
        if self.phase in ("stopping", "stopped"):
            return f"{self.phase}: monitoring off"
        face, active = self._driver(pipeline)
        reasons = pipeline.camera_health.reasons
        camera = "FAULT " + ",".join(sorted(reasons)) if reasons else "ok"
        text = f"{self.fps:.1f} fps; camera {camera}; face {'yes' if face else 'no'}; active: {', '.join(active) or 'none'}"
        if not pipeline.calibration.road_ahead_known:
            text += "; calibrating (road ahead not known yet: distraction not judged)"
        if self.reload_error:
            text += f"; reload failed, running config kept: {self.reload_error}"
        return text

    def state(self, pipeline: Pipeline, camera: CameraSource, io: RunIo) -> dict[str, Any]:
        face, active = self._driver(pipeline)
        vehicle = io.vehicle.status()
        return {
            "pid": os.getpid(),
            "phase": self.phase,
            "started_wall": self.started_wall,
            "updated_wall": time.time(),
            "camera_source": camera.source,
            "camera_open": camera.status.open,
            "camera_faults": sorted(pipeline.camera_health.reasons),
            "camera_fault_detail": camera.status.fault_detail,
            "camera_fps": camera.status.nominal_fps,
            "frames": pipeline.frames,
            "skipped_frames": camera.skipped_frames,
            "fps": round(self.fps, 2),
            "frame_time_ms": self.frame_times.summary(),
            "frame_errors": self.frame_errors,
            "face_present": face,
            "active": active,
            "road_ahead": self._road_ahead(pipeline),
            "emotional_signals": pipeline.privacy.summary(),
            "config_path": self.config_name,
            "reloads": self.reloads,
            "reload_error": self.reload_error,
            "status": self.text(pipeline),
            "outputs": io.output_status(),
            "vehicle": vehicle,
            "vehicle_rx_errors": io.vehicle.errors if io.vehicle.can is not None else None,
            "event_clips": io.clips_status(),
        }

    def write(self, pipeline: Pipeline, camera: CameraSource, io: RunIo) -> None:
        if not self.write_file:
            return
        if self.lock is not None and not self.lock.intact():
            self._take_lock_again()
            if not self.write_file:
                return
        try:
            write_state(self.state_dir, self.state(pipeline, camera, io))
        except OSError as exc:
            log.warning("state file in %s not written (%s)", self.state_dir, exc.strerror,
                        extra={"rate_key": "state-file"})

    def _take_lock_again(self) -> None:
        """The lock file went away under the daemon (its directory removed while it runs): take
        it again before the state file is written back, or a second daemon would run on the
        same directory. One that took it meanwhile keeps it: this daemon writes no state file."""
        assert self.lock is not None
        directory = self.lock.directory
        self.lock.release()
        try:
            self.lock = StateDirLock.take(directory)
        except InputError as exc:
            self.lock, self.write_file = None, False
            log.error("state directory %s: its lock file was removed while this daemon ran and another "
                      "has taken it since (%s): this daemon writes no state file", directory, exc)
            return
        log.warning("state directory %s: lock file removed or replaced while running: locked again", directory)
