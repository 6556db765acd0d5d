"""The recording directory (docs/recording.md): what `replay` reads and `simulate` writes.

    DIR/meta.yaml        format, version, what made it, size, nominal fps, notes
    DIR/video.mkv        the frames (any container PyAV reads; MKV with 1/1000 time base)
    DIR/timestamps.csv   frame,t_s: exact capture time of each frame, s from the start
    DIR/can.blf|asc|log  optional vehicle CAN log in a python-can format
    DIR/labels.jsonl     optional ground truth in the event-log contract
    DIR/truth.csv        optional per-frame commanded values (synthetic drives)
    DIR/features.parquet optional per-frame features
    DIR/heart_rate.csv   optional serial heart-rate sensor lines with their receive times
    DIR/serial_ack.csv   optional ACK presses from the serial board, at the frames they reached
    DIR/events.jsonl     what the live run decided (`record`, event clips)
    DIR/config.yaml      the config to replay it with (`record`, event clips)

`meta.yaml`'s `complete: false` marks a recording that is still being written or whose
writer was killed: it is read up to its last complete frame (docs/recording.md).
"""

from __future__ import annotations

import csv
import io
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from driver_monitor.config.loader import parse_yaml_mapping, read_yaml_text
from driver_monitor.errors import ConfigError, InputError, utf8_problem
from driver_monitor.recording.files import open_private, write_private_atomic

log = logging.getLogger(__name__)

FORMAT_NAME = "driver-monitor-recording"
FORMAT_VERSION = 1
VIDEO_NAMES = ("video.mkv", "video.mp4", "video.avi", "video.mov", "video.gif")
CAN_LOG_NAMES = ("can.blf", "can.asc", "can.log", "can.csv")
TIMESTAMPS_NAME = "timestamps.csv"
LABELS_NAME = "labels.jsonl"
META_NAME = "meta.yaml"
HEART_RATE_LOG_NAME = "heart_rate.csv"
SERIAL_ACK_NAME = "serial_ack.csv"  # t_s: frames the live run merged a serial-board ACK press into
CONFIG_NAME = "config.yaml"
# meta.yaml keys a live recording writes (docs/recording.md).
COMPLETE_KEY = "complete"  # false until the writer closed it: read up to the last complete frame
CAMERA_FPS_KEY = "camera_fps"  # the live camera's nominal rate (the no-frame timeout scales with it)
NO_VIDEO = "none"  # meta.yaml `video: none`: a landmarks-only recording (`record --no-video`)
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
    heart_rate_log_path: Path | None = None
    serial_ack_path: Path | None = None

    @property
    def complete(self) -> bool:
        """False for a recording whose writer never closed it (killed, disk full)."""
        return self.meta.get(COMPLETE_KEY) is not False

    @property
    def camera_period_s(self) -> float | None:
        """The live camera's frame period, when the recording says (replay times the no-frame
        timeout with it, as the live run did)."""
        fps = self.meta.get(CAMERA_FPS_KEY)  # checked by open_recording (check_meta)
        return 1.0 / float(fps) if fps is not None else None


def open_recording(root: str | Path) -> Recording:
    """Read a recording directory's layout; raises InputError naming the problem file."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: not a recording directory")
    meta: dict[str, Any] = {}
    meta_path = root / META_NAME
    if meta_path.is_file():
        meta = read_meta(meta_path)
        check_meta(meta, meta_path)
    video = next((root / n for n in VIDEO_NAMES if (root / n).is_file()), None)
    if video is None and meta.get("video") == NO_VIDEO:
        raise InputError(f"{root}: a landmarks-only recording (recorded with --no-video): no frames to replay; "
                         f"its features.parquet and events.jsonl hold what the live run measured and decided "
                         f"(`replay --features {root}` decides again from that table)")
    if video is None:
        raise InputError(f"{root}: no video file (expected one of {', '.join(VIDEO_NAMES)})")
    ts_path = root / TIMESTAMPS_NAME
    timestamps = read_timestamps(ts_path, torn_tail_ok=meta.get(COMPLETE_KEY) is False) if ts_path.is_file() else None
    can_logs = [root / n for n in CAN_LOG_NAMES if (root / n).is_file()]
    if len(can_logs) > 1:
        # Which one the drive's vehicle signals come from must not depend on a name order.
        raise InputError(f"{root}: {len(can_logs)} CAN logs ({', '.join(p.name for p in can_logs)}): keep the one "
                         "recorded with this drive")
    can_log = can_logs[0] if can_logs else None
    labels = root / LABELS_NAME
    heart_rate = root / HEART_RATE_LOG_NAME
    acks = root / SERIAL_ACK_NAME
    return Recording(root, video, timestamps, meta, can_log, labels if labels.is_file() else None,
                     heart_rate if heart_rate.is_file() else None, acks if acks.is_file() else None)


def read_meta(path: Path) -> dict[str, Any]:
    """meta.yaml as a mapping, or InputError with one line naming the file (the config's
    YAML reader: size cap, UTF-8, nesting and value limits)."""
    try:
        return parse_yaml_mapping(read_yaml_text(path, "meta.yaml", MAX_META_BYTES), str(path), "a mapping")
    except ConfigError as exc:
        raise InputError(exc.problems[0]) from None


def check_meta(meta: dict[str, Any], path: Path) -> None:
    """The meta.yaml keys replay acts on, of the type it needs: a hand-edited `complete:
    "false"` or `camera_fps: "30"` would otherwise be ignored without a word (the recording
    read as complete, the no-frame timeout not scaled)."""
    complete = meta.get(COMPLETE_KEY)
    if complete is not None and not isinstance(complete, bool):
        raise InputError(f"{path}: {COMPLETE_KEY} must be true or false (got {complete!r})")
    fps = meta.get(CAMERA_FPS_KEY)
    fps_ok = isinstance(fps, (int, float)) and not isinstance(fps, bool) and math.isfinite(fps) and fps > 0
    if fps is not None and not fps_ok:
        raise InputError(f"{path}: {CAMERA_FPS_KEY} must be a positive number of frames a second (got {fps!r})")
    video = meta.get("video")
    if video is not None and not isinstance(video, str):
        raise InputError(f"{path}: video must be a file name or none (got {video!r})")


def read_timestamps(path: Path, torn_tail_ok: bool = False) -> list[float]:
    """timestamps.csv (frame,t_s): finite, strictly increasing times, or InputError naming
    the file and the row of the first problem. torn_tail_ok: see whole_rows."""
    return read_times(path, torn_tail_ok=torn_tail_ok)


def whole_rows(path: Path, raw: bytes, torn_tail_ok: bool) -> bytes:
    """The file's bytes up to its last whole row, for a recording never closed (`complete:
    false`): a power cut can leave the last row half-written (no newline) or followed by NUL
    bytes (the file's new size reached the disk before its data). The writers end every row
    with a newline (AppendFile: one write(2) a row), so such a tail is the cut, not data; in
    a closed recording it stays an error naming the row."""
    if not torn_tail_ok:
        return raw
    kept = raw.rstrip(b"\0")
    if not kept.endswith(b"\n"):
        kept = kept[: kept.rfind(b"\n") + 1]
    if len(kept) != len(raw):
        log.warning("%s: the recording was not closed: read up to its last whole row (%d bytes after it dropped)",
                    path, len(raw) - len(kept))
    return kept


def read_times(path: Path, strictly_increasing: bool = True, torn_tail_ok: bool = False) -> list[float]:
    """The t_s column of a CSV file: finite times in order (strictly increasing, or never
    decreasing), or InputError naming the file and the row of the first problem."""
    times: list[float] = []
    line = 1
    try:
        raw = whole_rows(path, path.read_bytes(), torn_tail_ok)
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
            if times and (t <= times[-1] if strictly_increasing else t < times[-1]):
                raise InputError(f"{path}:{line}: times must {'strictly increase' if strictly_increasing else 'never decrease'} "
                                 f"({t} after {times[-1]})")
            times.append(t)
    except csv.Error as exc:
        raise InputError(f"{path}:{line + 1}: not a CSV row ({exc})") from None
    return times


TIMESTAMPS_HEADER = "frame,t_s\n"


def timestamp_row(index: int, t: float) -> str:
    """One timestamps.csv row; 6 decimals (µs) read back as the same float for any time on
    the 1 ms grid a live recording uses."""
    return f"{index},{t:.6f}\n"


def write_timestamps(path: Path, times_s: list[float]) -> None:
    with open_private(path, "w", newline="", encoding="utf-8") as fh:
        fh.write(TIMESTAMPS_HEADER)
        fh.writelines(timestamp_row(i, t) for i, t in enumerate(times_s))


def write_meta(path: Path, meta: dict[str, Any]) -> None:
    """meta.yaml, replaced in one step (a crash or a full disk leaves the previous one)."""
    body = {"format": FORMAT_NAME, "version": FORMAT_VERSION, **meta}
    write_private_atomic(path, yaml.safe_dump(body, sort_keys=False))


HEART_RATE_HEADER = "t_s,line\n"


def heart_rate_row(t: float, line: bytes) -> str:
    """One heart_rate.csv row: the receive time (s from the recording start) and the line as
    the sensor sent it (non-ASCII bytes escaped), CSV-quoted."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([f"{t:.6f}", line.decode("ascii", errors="backslashreplace")])
    return out.getvalue()


def read_serial_acks(path: Path, torn_tail_ok: bool = False) -> list[float]:
    """serial_ack.csv (t_s): the same checks as timestamps.csv, the times may repeat."""
    return read_times(path, strictly_increasing=False, torn_tail_ok=torn_tail_ok)


def read_heart_rate_log(path: Path, torn_tail_ok: bool = False) -> list[tuple[float, str]]:
    """heart_rate.csv as (t_s, line) in time order, or InputError naming the file and row.
    torn_tail_ok: see whole_rows."""
    raw = b""
    try:
        raw = whole_rows(path, path.read_bytes(), torn_tail_ok)
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}:{utf8_problem(raw, exc)}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    out: list[tuple[float, str]] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header != ["t_s", "line"]:
            raise InputError(f"{path}: needs the header t_s,line")
        for number, row in enumerate(reader, 2):
            if len(row) != 2 or len(row[0]) > MAX_FIELD_CHARS:
                raise InputError(f"{path}:{number}: expected t_s,line")
            try:
                t = float(row[0])
            except ValueError:
                raise InputError(f"{path}:{number}: t_s is not a number ({row[0]!r})") from None
            if not math.isfinite(t) or (out and t < out[-1][0]):
                raise InputError(f"{path}:{number}: t_s must be finite and never decrease (got {row[0]!r})")
            out.append((t, row[1]))
    except csv.Error as exc:
        raise InputError(f"{path}: not a CSV file ({exc})") from None
    return out
