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
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from driver_monitor.messages import Event
from driver_monitor.recording.format import LABELS_NAME
from driver_monitor.recording.writer import RecordingWriter

TRUTH_NAME = "truth.csv"


class SimRecordingWriter(RecordingWriter):
    """A RecordingWriter in lossless H.264 (RGB) that also writes the per-frame truth table and
    the ground-truth labels of the drive. Lossless: a replay sees the rendered pixels, the
    skin pulse included; H.264's lossless mode instead of FFV1 (the same pixels) because it
    encodes ~5x and decodes ~2x faster, and the test suite renders and replays many drives."""

    def __init__(self, root: str | Path, width: int, height: int):
        super().__init__(root, width, height, codec="h264_lossless")
        self._truth_file: TextIO | None = None
        self._truth: csv.writer | None = None  # type: ignore[valid-type]
        self._columns: list[str] = []

    def add_frame(self, t: float, image: np.ndarray, truth: dict[str, Any]) -> None:  # type: ignore[override]
        super().add_frame(t, image)
        self._write_truth(len(self.times_s) - 1, self.times_s[-1], truth)

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

    def close(self, meta: dict[str, Any] | None = None) -> None:
        self._close_truth()
        super().close(meta)

    def abort(self) -> None:
        self._close_truth()
        super().abort()

    def _close_truth(self) -> None:
        if self._truth_file is not None:
            self._truth_file.close()
            self._truth_file = None


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
