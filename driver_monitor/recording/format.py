"""The recording directory (docs/recording.md): what `replay` reads and `simulate` writes.

    DIR/meta.yaml        format, version, what made it, size, nominal fps, notes
    DIR/video.mkv        the frames (any container PyAV reads; MKV with 1/1000 time base)
    DIR/timestamps.csv   frame,t_s: exact capture time of each frame, s from the start
    DIR/can.blf|asc|log  optional vehicle CAN log in a python-can format
    DIR/labels.jsonl     optional ground truth in the event-log contract
    DIR/truth.csv        optional per-frame commanded values (synthetic drives)
    DIR/features.parquet optional per-frame features
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from driver_monitor.config.loader import parse_yaml_mapping, read_yaml_text
from driver_monitor.errors import ConfigError, InputError, utf8_problem

FORMAT_NAME = "driver-monitor-recording"
FORMAT_VERSION = 1
VIDEO_NAMES = ("video.mkv", "video.mp4", "video.avi", "video.mov", "video.gif")
CAN_LOG_NAMES = ("can.blf", "can.asc", "can.log", "can.csv")
TIMESTAMPS_NAME = "timestamps.csv"
LABELS_NAME = "labels.jsonl"
META_NAME = "meta.yaml"
# A sidecar row holds a frame number and a time; anything longer is not a timestamps file
# (csv's own field limit is 128 KiB and raises a bare _csv.Error past it).
MAX_FIELD_CHARS = 64
MAX_META_BYTES = 256 * 1024


@dataclass
class Recording:
    root: Path
    video_path: Path
    timestamps_s: list[float] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    can_log_path: Path | None = None
    labels_path: Path | None = None


def open_recording(root: str | Path) -> Recording:
    """Read a recording directory's layout; raises InputError naming the problem file."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: not a recording directory")
    video = next((root / n for n in VIDEO_NAMES if (root / n).is_file()), None)
    if video is None:
        raise InputError(f"{root}: no video file (expected one of {', '.join(VIDEO_NAMES)})")
    meta: dict[str, Any] = {}
    meta_path = root / META_NAME
    if meta_path.is_file():
        meta = read_meta(meta_path)
    ts_path = root / TIMESTAMPS_NAME
    timestamps = read_timestamps(ts_path) if ts_path.is_file() else None
    can_log = next((root / n for n in CAN_LOG_NAMES if (root / n).is_file()), None)
    labels = root / LABELS_NAME
    return Recording(root, video, timestamps, meta, can_log, labels if labels.is_file() else None)


def read_meta(path: Path) -> dict[str, Any]:
    """meta.yaml as a mapping, or InputError with one line naming the file (the config's
    YAML reader: size cap, UTF-8, nesting and value limits)."""
    try:
        return parse_yaml_mapping(read_yaml_text(path, "meta.yaml", MAX_META_BYTES), str(path), "a mapping")
    except ConfigError as exc:
        raise InputError(exc.problems[0]) from None


def read_timestamps(path: Path) -> list[float]:
    """timestamps.csv (frame,t_s): finite, strictly increasing times, or InputError naming
    the file and the row of the first problem."""
    times: list[float] = []
    line = 1
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}:{utf8_problem(raw, exc)}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if header is None or "t_s" not in header:
            raise InputError(f"{path}: needs a header with a t_s column")
        column = header.index("t_s")
        for line, row in enumerate(reader, 2):
            cell = row[column] if column < len(row) else ""
            if len(cell) > MAX_FIELD_CHARS:
                raise InputError(f"{path}:{line}: t_s is {len(cell)} characters long, not a time")
            try:
                t = float(cell)
            except ValueError:
                raise InputError(f"{path}:{line}: t_s is not a number ({cell!r})") from None
            if not math.isfinite(t):
                raise InputError(f"{path}:{line}: t_s must be a finite number (got {cell!r})")
            if times and t <= times[-1]:
                raise InputError(f"{path}:{line}: times must strictly increase ({t} after {times[-1]})")
            times.append(t)
    except csv.Error as exc:
        raise InputError(f"{path}:{line + 1}: not a CSV row ({exc})") from None
    return times


def write_timestamps(path: Path, times_s: list[float]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["frame", "t_s"])
        for i, t in enumerate(times_s):
            w.writerow([i, f"{t:.6f}"])


def write_meta(path: Path, meta: dict[str, Any]) -> None:
    body = {"format": FORMAT_NAME, "version": FORMAT_VERSION, **meta}
    path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
