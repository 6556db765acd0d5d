"""The per-frame table replay writes: features.csv or features.parquet, one row per frame."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from driver_monitor.messages import Event, FrameResult, Scalar
from driver_monitor.outputs.files import make_private, open_private

FEATURES_STEM = "features"
# Key of the run's provenance (provenance.py, the run.yaml text) in the Parquet metadata.
PARQUET_PROVENANCE_KEY = "driver_monitor.run"
# Times are written to the microsecond: at 5 significant digits neighbouring frames of a
# 30 fps drive shared one `t` after ~17 minutes (1234.5333 -> 1234.5).
TIME_COLUMNS = frozenset({"t"})


class FeatureTableWriter:
    """Sink: writes `FrameResult.row()` to CSV (streamed) or Parquet (written on close, so a
    column that starts as None, e.g. heart rate before its first window, still gets its
    real type). Columns are fixed by the first row. CSV floats keep 5 significant digits,
    times (`t`) 6 decimals (µs); Parquet keeps full doubles. `metadata` (the run's
    provenance) goes into the Parquet file's key-value metadata. Files are 0600."""

    def __init__(self, path: str | Path, fmt: str = "csv", metadata: Mapping[str, str] | None = None):
        self.path = Path(path)
        self.format = fmt
        self.metadata = dict(metadata or {})
        self._columns: list[str] | None = None
        self._csv_file: IO[str] | None = None
        self._csv: Any = None
        self._rows: list[dict[str, Scalar]] = []

    def write(self, result: FrameResult) -> None:
        self.write_row(result.row())

    def write_events(self, events: Sequence[Event]) -> None:
        """End-of-input events belong to no frame: no row."""

    def write_row(self, row: dict[str, Scalar]) -> None:
        if self._columns is None:
            self._columns = list(row)
            if self.format == "csv":
                self._csv_file = open_private(self.path, "w", newline="", encoding="utf-8")
                self._csv = csv.writer(self._csv_file)
                self._csv.writerow(self._columns)
        if self.format == "csv":
            self._csv.writerow([_csv_cell(row.get(c), c in TIME_COLUMNS) for c in self._columns])
        else:
            self._rows.append(row)

    def close(self) -> None:
        if self._csv_file is not None:
            self._csv_file.close()
            self._csv_file = None
        if self._rows and self._columns is not None:
            table = pa.Table.from_pylist(self._rows, schema=None).select(self._columns)
            if self.metadata:
                table = table.replace_schema_metadata({**(table.schema.metadata or {}), **self.metadata})
            pq.write_table(table, self.path)
            make_private(self.path)
            self._rows = []


def _csv_cell(value: Scalar, is_time: bool = False) -> Scalar:
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return f"{value:.6f}" if is_time else f"{value:.5g}"
    return value
