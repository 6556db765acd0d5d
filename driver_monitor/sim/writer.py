"""Write a synthetic drive as a recording directory (driver_monitor/recording/format.py).

The video is lossless FFV1 in MKV (RGB as bgr0, no chroma subsampling) so the sub-percent
skin-colour pulse survives for camera heart-rate work; stream and codec time base are
1/1000 with no rate set, so every frame keeps its exact millisecond pts (REFERENCE.md
"video"). timestamps.csv, truth.csv, labels.jsonl and meta.yaml go beside it.
"""

from __future__ import annotations

import csv
import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any, TextIO

import av
import numpy as np

from driver_monitor.errors import InputError
from driver_monitor.messages import Event
from driver_monitor.recording.format import (
    LABELS_NAME,
    META_NAME,
    TIMESTAMPS_NAME,
    write_meta,
    write_timestamps,
)

VIDEO_NAME = "video.mkv"
TRUTH_NAME = "truth.csv"
_MS = Fraction(1, 1000)


class SimRecordingWriter:
    def __init__(self, root: str | Path, width: int, height: int):
        self.root = Path(root)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{self.root}: cannot create the output directory ({exc.strerror})") from None
        self._container = av.open(str(self.root / VIDEO_NAME), mode="w")
        stream = self._container.add_stream("ffv1")
        stream.width, stream.height = width, height
        stream.pix_fmt = "bgr0"
        stream.time_base = _MS
        stream.codec_context.time_base = _MS
        self._stream = stream
        self.times_s: list[float] = []
        self._truth_file: TextIO | None = None
        self._truth: csv.writer | None = None  # type: ignore[valid-type]
        self._columns: list[str] = []

    def add_frame(self, t: float, image: np.ndarray, truth: dict[str, Any]) -> None:
        pts = int(round(t * 1000.0))
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        frame.pts = pts
        frame.time_base = _MS
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.times_s.append(pts / 1000.0)
        self._write_truth(len(self.times_s) - 1, pts / 1000.0, truth)

    def _write_truth(self, index: int, t: float, row: dict[str, Any]) -> None:
        if self._truth is None:
            self._truth_file = (self.root / TRUTH_NAME).open("w", newline="", encoding="utf-8")
            self._truth = csv.writer(self._truth_file)
            self._columns = list(row)
            self._truth.writerow(["frame", "t_s", *self._columns])
        self._truth.writerow([index, f"{t:.3f}", *(_cell(row[c]) for c in self._columns)])

    def write_labels(self, events: list[Event]) -> None:
        with (self.root / LABELS_NAME).open("w", encoding="utf-8") as fh:
            for e in events:
                fh.write(json.dumps(e.to_json_dict(), separators=(",", ":")) + "\n")

    def close(self, meta: dict[str, Any]) -> None:
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()
        if self._truth_file is not None:
            self._truth_file.close()
        write_timestamps(self.root / TIMESTAMPS_NAME, self.times_s)
        write_meta(self.root / META_NAME, meta)


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        return f"{v:.4f}".rstrip("0").rstrip(".") if v != 0 else "0"
    return str(v)
