"""The per-frame table: features.csv or features.parquet, one row per result (docs/features.md).

Its first columns are everything the detectors and the policy saw of a frame, exactly, so that
`replay --features` can decide again without the picture (driver_monitor/fleet/): the face
measurements (`Features`), the picture statistics camera health judged (`frame_*`), whether the
frame was judged (`frame_judged`), the vehicle (`vehicle_*`) and the image models' outputs
(`expression_*`). Then every detector's state columns.

This writer is the one writer of the format (replay, `record`, `extract` all use it); the format's
version and the version of the code that computed the inputs go into the Parquet metadata
(FORMAT_KEY) and into run.yaml beside a CSV (provenance.py).
"""

from __future__ import annotations

import csv
import json
import math
import operator
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from driver_monitor.messages import (
    FEATURE_COLUMNS,
    FRAME_JUDGED,
    FRAME_PREFIX,
    VEHICLE_PREFIX,
    Event,
    FrameResult,
    input_columns,
)
from driver_monitor.names import EXPRESSION_PREFIX
from driver_monitor.outputs.files import make_private, open_private

FEATURES_STEM = "features"
# Key of the run's provenance (provenance.py, the run.yaml text) in the Parquet metadata.
PARQUET_PROVENANCE_KEY = "driver_monitor.run"
# Key of the table's own description (table_format()) in the Parquet metadata.
FORMAT_KEY = "driver_monitor.feature_table"
# 1: features and detector columns (CSV floats at 5 digits); 2: + every detector input
# (picture statistics, judged, vehicle), written exactly.
FORMAT_VERSION = 2
# Beat-to-beat intervals in one CSV cell.
LIST_SEPARATOR = ";"
# Parquet: rows held as Python objects (~7 kB a frame) until this many, then turned into Arrow
# columns (~1 kB a frame): an hour of a 30 fps `record` holds ~0.1 GB instead of ~0.75 GB.
PARQUET_CHUNK_ROWS = 1800


def is_input_column(name: str) -> bool:
    """A column the detectors or the policy read (written exactly, read back by feature replay)."""
    return name in FEATURE_COLUMNS or name.startswith((FRAME_PREFIX, VEHICLE_PREFIX, EXPRESSION_PREFIX))


def table_format() -> dict[str, Any]:
    """What a table of this code is: the format version and the version of the code that
    computed its inputs (provenance.feature_code_version)."""
    from driver_monitor.provenance import feature_code_version

    return {"format_version": FORMAT_VERSION, "feature_code_version": feature_code_version()}


class FeatureTableWriter:
    """Sink: writes `FrameResult.row()` to CSV (streamed) or Parquet (written on close, so a
    column that starts as None, e.g. heart rate before its first window, still gets its
    real type). The columns are those of the first judged frame's row (a judged row has every
    column) plus any seen before it, in order of appearance: a drive that starts in a camera
    fault keeps its detector columns. CSV: the detector inputs (is_input_column) are written
    exactly (the shortest text that reads back to the same double), other floats with 5
    significant digits; NaN is an empty cell, except in the inputs where an empty cell means
    "no value" (vehicle speed, heart rate: `nan` there). Parquet keeps full doubles. `metadata` (the run's
    provenance) and FORMAT_KEY go into the Parquet file's key-value metadata. Files are 0600."""

    def __init__(self, path: str | Path, fmt: str = "csv", metadata: Mapping[str, str] | None = None):
        self.path = Path(path)
        self.format = fmt
        self.metadata = {**(metadata or {}), FORMAT_KEY: json.dumps(table_format(), sort_keys=True)}
        self._seen: dict[str, None] = {}  # every column so far, in order of appearance
        self._complete = False  # a judged row was seen: no new columns after it
        self._columns: list[str] | None = None  # CSV: fixed once the header is written
        self._exact: list[str | None] = []  # each column's input kind (None: a state column)
        self._csv_file: IO[str] | None = None
        self._csv: Any = None
        self._rows: list[Mapping[str, Any] | FrameResult] = []  # Parquet: written at close
        self._chunks: list[pa.Table] = []  # Parquet: earlier rows as Arrow columns

    def write(self, result: FrameResult) -> None:
        if self.format == "csv" or not self._complete:
            self.write_row(result.row())
            return
        # Parquet after the first judged row: the result itself, its columns built at close
        # column by column (messages.input_columns), not a dict of ~100 cells per frame.
        self._rows.append(result)
        if len(self._rows) >= PARQUET_CHUNK_ROWS:
            self._chunk()

    def write_events(self, events: Sequence[Event]) -> None:
        """End-of-input events belong to no frame: no row."""

    def write_row(self, row: Mapping[str, Any]) -> None:
        if not self._complete:
            self._seen.update(dict.fromkeys(row))
            self._complete = bool(row.get(FRAME_JUDGED, True))
        if self.format != "csv":
            self._rows.append(row)
            if self._complete and len(self._rows) >= PARQUET_CHUNK_ROWS:
                self._chunk()
            return
        if self._columns is None:
            self._rows.append(row)
            if self._complete:
                self._write_header()
            return
        self._csv.writerow([_csv_cell(row.get(c), exact) for c, exact in zip(self._columns, self._exact, strict=True)])

    def _write_header(self) -> None:
        self._columns = list(self._seen)
        self._exact = [input_column_kind(c) if is_input_column(c) else None for c in self._columns]
        self._csv_file = open_private(self.path, "w", newline="", encoding="utf-8")
        self._csv = csv.writer(self._csv_file)
        self._csv.writerow(self._columns)
        pending, self._rows = self._rows, []
        for row in pending:  # (CSV holds rows only: write() gives it result.row())
            self.write_row(row.row() if isinstance(row, FrameResult) else row)

    def close(self) -> None:
        if self.format == "csv":
            if self._columns is None and self._rows:
                self._write_header()
            if self._csv_file is not None:
                self._csv_file.close()
                self._csv_file = None
            return
        self._chunk()
        if self._chunks:
            # Each chunk typed its own columns; a column still all None in one chunk (heart
            # rate before its first window) is null there and takes the others' type here,
            # an int column becomes double where another chunk has floats: the types that
            # pa.array over the whole column would have given.
            table = pa.concat_tables(self._chunks, promote_options="permissive") if len(self._chunks) > 1 else self._chunks[0]
            table = table.replace_schema_metadata({**(table.schema.metadata or {}), **self.metadata})
            write_parquet(table, self.path)
            make_private(self.path)
            self._chunks = []

    def _chunk(self) -> None:
        """Parquet: the rows held so far as Arrow columns (the columns are fixed once a judged
        row was seen; before that they are all the rows seen so far)."""
        if not self._rows:
            return
        columns = list(self._seen)
        arrays = [pa.array(values) for values in _parquet_columns(self._rows, columns)]
        self._chunks.append(pa.Table.from_arrays(arrays, names=columns))
        self._rows = []


def write_parquet(table: pa.Table, path: Path) -> None:
    """The table to `path`, its float columns without a dictionary and byte-stream-split.

    A tracker's doubles almost never repeat, so the default dictionary encoding only costs:
    on a 7200-frame table (101 columns) it took 18 ms and 2.7 MB; BYTE_STREAM_SPLIT (the
    doubles' bytes grouped by position, which snappy then compresses) takes 9 ms and 2.0 MB.
    The other columns (booleans, gear, lists) keep their dictionaries. Every Parquet reader
    since format 2.8 (pyarrow, DuckDB, Spark 3, polars) reads it; the values are the same."""
    floats = [f.name for f in table.schema if pa.types.is_floating(f.type)]
    others = [f.name for f in table.schema if not pa.types.is_floating(f.type)]
    pq.write_table(table, path, use_dictionary=others, use_byte_stream_split=floats)


def _parquet_columns(entries: Sequence[Mapping[str, Any] | FrameResult], columns: Sequence[str]) -> list[list[Any]]:
    """Each column's values over the entries (rows, or results standing for their `row()`),
    None where one lacks it. The results after the rows are taken column by column."""
    first = next((i for i, e in enumerate(entries) if isinstance(e, FrameResult)), len(entries))
    results = entries[first:]
    if not all(isinstance(e, FrameResult) for e in results):  # rows after results: row by row
        rows = [e.row() if isinstance(e, FrameResult) else e for e in entries]
        return [list(values) for values in _transposed(rows, columns)]
    head_rows = entries[:first]
    head = [list(values) for values in _transposed(head_rows, columns)] if head_rows else [[] for _ in columns]  # type: ignore[arg-type]
    inputs = input_columns(results)  # type: ignore[arg-type]
    values = [r.state.values for r in results]  # type: ignore[union-attr]
    if not all(inputs.keys().isdisjoint(v) for v in values):  # a state column shadows an input: as row()
        rows = [e.row() if isinstance(e, FrameResult) else e for e in entries]
        return [list(values) for values in _transposed(rows, columns)]
    state_columns = [c for c in columns if c not in inputs]
    state = dict(zip(state_columns, _transposed(values, state_columns), strict=True)) if values else {}
    out = []
    for h, c in zip(head, columns, strict=True):
        tail = inputs[c] if c in inputs else list(state[c]) if c in state else [None] * len(results)
        out.append(h + tail if h else tail)  # (most chunks have no head: no copy)
    return out


def _transposed(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> Iterator[tuple[Any, ...]]:
    """Each column's values over the rows (None where a row lacks it). Most rows hold every
    column: one itemgetter call per row, not one dict lookup per cell (~5x faster at close)."""
    if len(columns) < 2:
        return iter([tuple(row.get(c) for row in rows) for c in columns])
    if not rows:
        return iter([() for _ in columns])
    whole = operator.itemgetter(*columns)
    cells = []
    for row in rows:
        try:
            cells.append(whole(row))
        except KeyError:
            cells.append(tuple(row.get(c) for c in columns))
    return zip(*cells, strict=True)


def _csv_cell(value: Any, exact: str | None) -> Any:
    """exact: the input column's kind (None: a detector state column, 5 digits). NaN is an
    empty cell, except where an empty cell means "no value" (optional_float: `nan`)."""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan" if exact == "optional_float" else ""
        if exact is not None:
            return float.__repr__(value)  # shortest text that reads back to the same double
        return f"{value:.5g}"
    if isinstance(value, tuple):
        return LIST_SEPARATOR.join(float.__repr__(float(v)) for v in value)
    return value  # bool -> True/False, None -> empty, int, str


# How each input column reads back from a CSV cell (csv_cell_value); the rest are floats.
_INPUT_KINDS: dict[str, str] = {
    "face_present": "bool", "colour_image": "bool",
    FRAME_PREFIX + "identical_to_previous": "optional_bool", FRAME_PREFIX + "mean_luma": "optional_float",
    FRAME_PREFIX + "luma_std": "optional_float", FRAME_PREFIX + "too_small": "optional_bool", FRAME_JUDGED: "bool",
    VEHICLE_PREFIX + "speed_kph": "optional_float", VEHICLE_PREFIX + "indicator_left": "optional_bool",
    VEHICLE_PREFIX + "indicator_right": "optional_bool", VEHICLE_PREFIX + "gear": "optional_str",
    VEHICLE_PREFIX + "driver_ack": "bool", VEHICLE_PREFIX + "ignition_on": "optional_bool",
    VEHICLE_PREFIX + "external_heart_rate_bpm": "optional_float",
    VEHICLE_PREFIX + "external_rr_intervals_ms": "float_list",
}


def input_column_kind(name: str) -> str:
    return _INPUT_KINDS.get(name, "float")


def csv_cell_value(kind: str, cell: str) -> Any:
    """The value a CSV cell of an input column holds (the inverse of _csv_cell), by the
    column's kind: float (NaN when empty), optional_float / optional_bool / optional_str (None
    when empty), bool, float_list."""
    if kind == "float":
        return float(cell) if cell else math.nan  # NaN is an empty cell
    if kind == "bool":
        return _bool(cell)
    if cell == "":
        return () if kind == "float_list" else None
    if kind == "optional_float":
        return float(cell)
    if kind == "optional_bool":
        return _bool(cell)
    if kind == "float_list":
        return tuple(float(v) for v in cell.split(LIST_SEPARATOR))
    return cell


def _bool(cell: str) -> bool:
    if cell in ("True", "true", "1"):
        return True
    if cell in ("False", "false", "0"):
        return False
    raise ValueError(f"not a boolean: {cell!r}")
