"""The event clips on disk (docs/recording.md "Event clips"): one recording directory per clip
under one parent, written whole and then renamed into place, pruned by a quota and an age.

    DIR/20250101T120000Z-microsleep/    0700, files 0600: video.mkv, timestamps.csv, meta.yaml,
                                        events.jsonl, config.yaml, can.blf, heart_rate.csv
    DIR/.partial-...                    a clip being written (removed at start if a crash left it)

A clip appears under its final name only when complete (os.rename of the finished directory),
so a reader never sees half a clip; the quota and the retention age delete the oldest first.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import can
import numpy as np
import yaml

from driver_monitor.messages import Event
from driver_monitor.recording.can_log import CAN_LOG_NAME, CanLogWriter
from driver_monitor.recording.files import AppendFile, make_private_dir, write_private_atomic
from driver_monitor.recording.format import (
    CONFIG_NAME,
    HEART_RATE_HEADER,
    HEART_RATE_LOG_NAME,
    heart_rate_row,
)
from driver_monitor.recording.writer import RecordingWriter, even_size

log = logging.getLogger(__name__)

PARTIAL_PREFIX = ".partial-"
# A clip's directory name: its trigger's UTC time, the trigger's event name, and a number
# when two clips would share a name (ClipStore.final_name). Anything else in the directory
# is not ours: the quota and the retention age never count or delete it.
# A wall time before this is a clock not set yet (a car without a battery-backed clock boots
# in 1970 until GPS or NTP sets it): no clip of this code was written before 2025.
PLAUSIBLE_WALL = 1_735_689_600.0  # 2025-01-01T00:00:00Z
CLIP_NAME = re.compile(r"\d{8}T\d{6}Z-[a-z_]+(-[a-z_]+)?(-\d+)?")  # ...Z-sleep, ...Z-warning-sleep-2
CLIP_EVENTS_NAME = "events.jsonl"  # the event-log contract (docs/event-log.md)
DEFAULT_CLIPS_DIR = Path("/var/lib/driver-monitor/clips")


def resolve_clips_dir(configured: Path | None, environ: dict[str, str] | None = None) -> Path:
    """The configured directory, else $STATE_DIRECTORY/clips (systemd StateDirectory=), else
    /var/lib/driver-monitor/clips."""
    if configured is not None:
        return Path(configured)
    env = os.environ if environ is None else environ
    state = env.get("STATE_DIRECTORY", "")
    return Path(state.split(":")[0]) / "clips" if state else DEFAULT_CLIPS_DIR


@dataclass(frozen=True, slots=True)
class StoredClip:
    path: Path
    written_wall: float  # when it was renamed into place (the directory's mtime)
    bytes: int


class ClipStore:
    def __init__(self, root: Path, quota_bytes: float, retention_s: float, wall: Callable[[], float] = time.time):
        self.root = Path(root)
        self.quota_bytes = quota_bytes
        self.retention_s = retention_s
        self.wall = wall
        self.deleted = 0

    def open(self) -> None:
        """Create the directory (0700) and remove clips a crash left half-written."""
        make_private_dir(self.root)
        for entry in self.root.iterdir():
            if entry.name.startswith(PARTIAL_PREFIX) and entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
                log.info("event clips: removed %s, left half-written by an earlier run", entry.name)

    def clips(self) -> list[StoredClip]:
        """The complete clips, oldest first (directories named as clips: CLIP_NAME)."""
        out = []
        try:
            entries = list(os.scandir(self.root))
        except OSError:
            return []
        for entry in entries:
            if not CLIP_NAME.fullmatch(entry.name) or not entry.is_dir(follow_symlinks=False):
                continue
            try:
                out.append(StoredClip(Path(entry.path), entry.stat(follow_symlinks=False).st_mtime, _size(Path(entry.path))))
            except OSError:
                continue
        return sorted(out, key=lambda c: (c.written_wall, c.path.name))

    def prune(self) -> list[Path]:
        """Delete clips older than the retention age, then the oldest while the clips take more
        than the quota. Returns what was deleted.

        The age is the wall clock's, which a car sets after boot (GPS, NTP): a clip written
        before (mtime in 1970) or while the clock was ahead (mtime in the future) has no age
        that means anything, and a jump deleted fresh clips. Such a clip's time is set to now
        (it is kept for the retention age from here); with the clock itself not yet set
        nothing is deleted by age. The quota still applies."""
        now = self.wall()
        clock_set = now >= PLAUSIBLE_WALL
        deleted = []
        kept = []
        for clip in self.clips():
            if clock_set and not PLAUSIBLE_WALL <= clip.written_wall <= now:
                with contextlib.suppress(OSError):  # not restamped: kept, and judged so again next time
                    os.utime(clip.path, (now, now))
                log.info("event clips: %s was written at an implausible clock time (%s): kept, its age counted from now",
                         clip.path.name, time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(clip.written_wall)))
                kept.append(replace(clip, written_wall=now))
            elif clock_set and now - clip.written_wall > self.retention_s:
                deleted.append(clip)
            else:
                kept.append(clip)
        total = sum(c.bytes for c in kept)
        while kept and total > self.quota_bytes:
            oldest = kept.pop(0)
            total -= oldest.bytes
            deleted.append(oldest)
        for clip in deleted:
            shutil.rmtree(clip.path, ignore_errors=True)
            self.deleted += 1
            log.info("event clips: deleted %s (%.1f MB, %s)", clip.path.name, clip.bytes / 1e6,
                     "older than the retention age" if now - clip.written_wall > self.retention_s else "quota")
        return [c.path for c in deleted]

    def partial_dir(self, name: str) -> Path:
        return self.root / f"{PARTIAL_PREFIX}{name}"

    def final_name(self, name: str) -> Path:
        path, n = self.root / name, 2
        while path.exists():
            path, n = self.root / f"{name}-{n}", n + 1
        return path


def _size(path: Path) -> int:
    total = 0
    for entry in os.scandir(path):
        if entry.is_file(follow_symlinks=False):
            total += entry.stat(follow_symlinks=False).st_size
    return total


@dataclass
class ClipContent:
    """What one clip holds, times in the daemon's clock; written relative to `start_t`."""

    name: str
    start_t: float
    end_t: float
    frames: Sequence[tuple[float, np.ndarray]]
    events: Sequence[Event]
    can_frames: Sequence[tuple[float, can.Message]]
    heart_rate_lines: Sequence[tuple[float, bytes]]
    meta: dict[str, Any]


def write_clip(store: ClipStore, clip: ClipContent, codec: str, crf: int, preset: str, config_text: str,
               duty: float = 1.0) -> Path:
    """Write the clip into a hidden directory, then rename it into place. On failure the
    hidden directory is removed and the error raised (OSError / RecordingError). `duty`:
    the share of one core the encoder may take (it pauses between frames for the rest)."""
    partial = store.partial_dir(clip.name)
    shutil.rmtree(partial, ignore_errors=True)
    try:
        make_private_dir(partial)
        t0 = clip.start_t
        frames = [(t - t0, image) for t, image in clip.frames]
        if frames:
            h, w = frames[0][1].shape[:2]
            w, h = even_size(codec, w, h)
            writer = RecordingWriter(partial, w, h, codec=codec, crf=crf, preset=preset)
            for t, image in frames:
                if image.shape[:2] != frames[0][1].shape[:2]:
                    continue  # the camera changed its mode mid-clip: the first size is kept
                if writer.times_s and int(round(t * 1000)) <= int(round(writer.times_s[-1] * 1000)):
                    continue  # two pictures in one millisecond: the container keeps ms
                began = time.perf_counter()
                writer.add_frame(t, image[:h, :w])
                if duty < 1.0:
                    time.sleep((time.perf_counter() - began) * (1.0 / duty - 1.0))
            writer.close(clip.meta)
        _write_events(partial / CLIP_EVENTS_NAME, clip.events, t0)
        write_private_atomic(partial / CONFIG_NAME, config_text)
        if clip.can_frames:
            can_log = CanLogWriter(partial / CAN_LOG_NAME)
            can_log.add_all((t - t0, msg) for t, msg in clip.can_frames)
            can_log.close()
            if can_log.error:
                raise OSError(can_log.error)
        if clip.heart_rate_lines:
            rows = AppendFile(partial / HEART_RATE_LOG_NAME, HEART_RATE_HEADER)
            try:
                for t, line in clip.heart_rate_lines:
                    rows.append(heart_rate_row(t - t0, line))
            finally:
                rows.close()
        final = store.final_name(clip.name)
        os.rename(partial, final)
        os.utime(final)  # its age counts from now (retention)
        return final
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def _write_events(path: Path, events: Iterable[Event], t0: float) -> None:
    """The daemon's events in the clip's time (t and every `*_t` detail from the clip start)."""
    lines = []
    for e in events:
        item = e.to_json_dict()
        item["t"] = round(e.t - t0, 4)
        detail = item.get("detail")
        if isinstance(detail, dict):
            for key, value in detail.items():
                if key.endswith("_t") and isinstance(value, (int, float)) and not isinstance(value, bool):
                    detail[key] = round(value - t0, 4)
        lines.append(json.dumps(item, separators=(",", ":")) + "\n")
    write_private_atomic(path, "".join(lines))


def clip_meta(trigger_names: Sequence[str], trigger_t: float, start_t: float, end_t: float, wall_at_start: float,
              extra: dict[str, Any]) -> dict[str, Any]:
    return {
        **extra,
        "clip": {
            "triggers": list(trigger_names),
            "trigger_t_s": round(trigger_t - start_t, 3),
            "window_s": round(end_t - start_t, 3),
            "daemon_start_t": round(start_t, 6),
            "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(wall_at_start)),
        },
    }


def config_yaml(settings: dict[str, Any]) -> str:
    return yaml.safe_dump(settings, sort_keys=False)
