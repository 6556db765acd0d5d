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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from driver_monitor.errors import InputError

FORMAT_NAME = "driver-monitor-recording"
FORMAT_VERSION = 1
VIDEO_NAMES = ("video.mkv", "video.mp4", "video.avi", "video.mov", "video.gif")
CAN_LOG_NAMES = ("can.blf", "can.asc", "can.log", "can.csv")
TIMESTAMPS_NAME = "timestamps.csv"
LABELS_NAME = "labels.jsonl"
META_NAME = "meta.yaml"


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
        try:
            loaded = yaml.safe_load(meta_path.read_text(encoding="utf-8"))
        except yaml.YAMLError:
            raise InputError(f"{meta_path}: not valid YAML") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise InputError(f"{meta_path}: expected a mapping")
        meta = loaded or {}
    ts_path = root / TIMESTAMPS_NAME
    timestamps = read_timestamps(ts_path) if ts_path.is_file() else None
    can_log = next((root / n for n in CAN_LOG_NAMES if (root / n).is_file()), None)
    labels = root / LABELS_NAME
    return Recording(root, video, timestamps, meta, can_log, labels if labels.is_file() else None)


def read_timestamps(path: Path) -> list[float]:
    times: list[float] = []
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None or "t_s" not in reader.fieldnames:
                raise InputError(f"{path}: needs a header with a t_s column")
            for line, row in enumerate(reader, 2):
                try:
                    t = float(row["t_s"])
                except (TypeError, ValueError):
                    raise InputError(f"{path}:{line}: t_s is not a number ({row['t_s']!r})") from None
                if times and t <= times[-1]:
                    raise InputError(f"{path}:{line}: times must strictly increase ({t} after {times[-1]})")
                times.append(t)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
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
