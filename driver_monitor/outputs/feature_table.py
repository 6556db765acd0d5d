"""The per-frame table replay writes: features.csv or features.parquet, one row per frame."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from driver_monitor.messages import Scalar


class FeatureTableWriter:
    """Sink: writes `FrameResult.row()` to CSV (streamed) or Parquet (written on close, so a
    column that starts as None, e.g. heart rate before its first window, still gets its
    real type). Columns are fixed by the first row; CSV floats keep 5 significant digits."""

    def __init__(self, path: str | Path, fmt: str = "csv"):
        self.path = Path(path)
        self.format = fmt
        self._columns: list[str] | None = None
        self._csv_file = None
        self._csv: Any = None
        self._rows: list[dict[str, Scalar]] = []

    def write(self, result: Any) -> None:
        self.write_row(result.row())

    def write_row(self, row: dict[str, Scalar]) -> None:
        if self._columns is None:
            self._columns = list(row)
            if self.format == "csv":
                self._csv_file = self.path.open("w", newline="", encoding="utf-8")
                self._csv = csv.writer(self._csv_file)
                self._csv.writerow(self._columns)
        if self.format == "csv":
            self._csv.writerow([_csv_cell(row.get(c)) for c in self._columns])
        else:
            self._rows.append(row)

    def close(self) -> None:
        if self._csv_file is not None:
            self._csv_file.close()
            self._csv_file = None
        if self._rows and self._columns is not None:
            table = pa.Table.from_pylist(self._rows, schema=None)
            pq.write_table(table.select(self._columns), self.path)
            self._rows = []


def _csv_cell(value: Scalar) -> Scalar:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.5g}"
    return value
