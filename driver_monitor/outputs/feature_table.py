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

import contextlib
import csv
import json
import math
import operator
import os
import re
import shutil
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
from driver_monitor.outputs.files import open_private
from driver_monitor.recording.files import make_private_dir

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
# `record` (FeatureTableWriter spill) also writes each chunk to disk as it is made, a whole
# Parquet file of its own (a part) in a hidden directory beside the table (parts_dir), and puts
# the table together from the parts at close: a writer killed (kill -9, a power cut) leaves the
# parts, which read_feature_table reads in order; only the rows not yet spilled are lost.
PARTS_SUFFIX = ".parts"
# 000000.parquet, ...: whole parts (PARQUET_CHUNK_ROWS rows); 000001.0000.parquet, ...: the slices
# of part 1 spilled every spill_s until it is whole (then written, and its slices removed): a
# slice is cheap to write, and a long drive is still read back at close from few whole parts.
_PART_NAME = re.compile(r"^(\d{6})(?:\.(\d{4}))?\.parquet$")
# `record`: a kill or a power cut loses at most this much of the table, which is all a
# landmarks-only recording has (no video to replay). Measured on this machine, an hour of
# 30 fps rows (76 columns): writing them took 0.52 s held in memory (the writer of before),
# 0.77 s spilled every chunk (60 s) and 2.47 s spilled every 5 s, +0.05 % of the hour; the
# slowest single write 11.6 / 13.7 / 7.3 ms; the close 0.08 / 0.20 / 0.21 s.
RECORD_SPILL_S = 5.0


def is_input_column(name: str) -> bool:
    """A column the detectors or the policy read (written exactly, read back by feature replay)."""
    return name in FEATURE_COLUMNS or name.startswith((FRAME_PREFIX, VEHICLE_PREFIX, EXPRESSION_PREFIX))


def parts_dir(path: str | Path) -> Path:
    """Where a Parquet table's parts lie until it is closed: DIR/.features.parquet.parts."""
    path = Path(path)
    return path.with_name(f".{path.name}{PARTS_SUFFIX}")


def part_files(parts: Path) -> list[Path]:
    """The whole parts in a parts directory, in the order they were written: each whole part,
    or the slices of one not yet whole (a part or slice being written has a temporary name: it
    is never one of them; slices left beside their whole part by a kill are skipped)."""
    wholes: dict[int, Path] = {}
    slices: dict[int, list[tuple[int, Path]]] = {}
    try:
        entries = list(parts.iterdir())
    except OSError:
        return []
    for path in entries:
        match = _PART_NAME.match(path.name)
        if match is None or not path.is_file():
            continue
        index = int(match.group(1))
        if match.group(2) is None:
            wholes[index] = path
        else:
            slices.setdefault(index, []).append((int(match.group(2)), path))
    found = []
    for index in sorted({*wholes, *slices}):
        found += [wholes[index]] if index in wholes else [p for _, p in sorted(slices[index])]
    return found


def table_format() -> dict[str, Any]:
    """What a table of this code is: the format version and the version of the code that
    computed its inputs (provenance.feature_code_version)."""
    from driver_monitor.provenance import feature_code_version

    return {"format_version": FORMAT_VERSION, "feature_code_version": feature_code_version()}


class FeatureTableWriter:
    """Sink: writes `FrameResult.row()` to CSV (streamed) or Parquet (put together on close,
    so a column that starts as None, e.g. heart rate before its first window, still gets its
    real type). `spill` (`record`): each chunk of PARQUET_CHUNK_ROWS rows goes to disk as it
    is made, a part beside the table (parts_dir), and leaves memory, so a killed writer leaves
    what it spilled (also before the first judged frame: a drive may start in a camera
    fault); `spill_s`: also a slice at least this often in the rows' time. Without `spill`
    (replay, extract: a kill there is a run to do again) the chunks wait in memory as before,
    which saves writing and reading each one twice (~5 ms a chunk). The columns are those of
    the first judged frame's row (a judged row has every
    column) plus any seen before it, in order of appearance: a drive that starts in a camera
    fault keeps its detector columns. CSV: the detector inputs (is_input_column) are written
    exactly (the shortest text that reads back to the same double), other floats with 5
    significant digits; NaN is an empty cell, except in the inputs where an empty cell means
    "no value" (vehicle speed, heart rate: `nan` there). Parquet keeps full doubles. `metadata` (the run's
    provenance) and FORMAT_KEY go into the Parquet file's key-value metadata. Files are 0600."""

    def __init__(self, path: str | Path, fmt: str = "csv", metadata: Mapping[str, str] | None = None,
                 spill: bool = False, spill_s: float | None = None):
        self.path = Path(path)
        self.format = fmt
        self.spill = spill or spill_s is not None
        self.spill_s = spill_s
        self.metadata = {**(metadata or {}), FORMAT_KEY: json.dumps(table_format(), sort_keys=True)}
        self._seen: dict[str, None] = {}  # every column so far, in order of appearance
        self._complete = False  # a judged row was seen: no new columns after it
        self._columns: list[str] | None = None  # CSV: fixed once the header is written
        self._exact: list[str | None] = []  # each column's input kind (None: a state column)
        self._csv_file: IO[str] | None = None
        self._csv: Any = None
        self._rows: list[Mapping[str, Any] | FrameResult] = []  # Parquet: not yet in a chunk
        self._first_t: float | None = None  # Parquet: the time of the first row held
        self._parts = parts_dir(self.path)
        self._parts_made = False
        self._spilled = 0  # Parquet: whole parts written (000000.parquet, ...)
        self._unspilled: list[pa.Table] = []  # Parquet: whole chunks not on disk (not spill, a failed write)
        self._slices: list[pa.Table] = []  # spill_s: the next whole part's slices so far (on disk too)
        self._slice_rows = 0
        if fmt != "csv" and self._parts.exists():  # an earlier writer's, killed: not this table's
            shutil.rmtree(self._parts)

    def write(self, result: FrameResult) -> None:
        if self.format == "csv" or not self._complete:
            self.write_row(result.row())
            return
        # Parquet after the first judged row: the result itself, its columns built at close
        # column by column (messages.input_columns), not a dict of ~100 cells per frame.
        self._rows.append(result)
        self._maybe_chunk(result.t)

    def write_events(self, events: Sequence[Event]) -> None:
        """End-of-input events belong to no frame: no row."""

    def write_row(self, row: Mapping[str, Any]) -> None:
        if not self._complete:
            self._seen.update(dict.fromkeys(row))
            self._complete = bool(row.get(FRAME_JUDGED, True))
        if self.format != "csv":
            self._rows.append(row)
            self._maybe_chunk(row.get("t"))
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
        chunks = [*self._read_parts(), *self._unspilled, *self._slices]
        last = self._table()  # the rows held: not spilled only to be read back
        if last is not None:
            chunks.append(last)
        self._rows, self._unspilled, self._slices, self._slice_rows = [], [], [], 0
        if chunks:
            # Each chunk typed its own columns; a column still all None in one chunk (heart
            # rate before its first window) is null there and takes the others' type here,
            # an int column becomes double where another chunk has floats: the types that
            # pa.array over the whole column would have given.
            table = pa.concat_tables(chunks, promote_options="permissive") if len(chunks) > 1 else chunks[0]
            table = table.replace_schema_metadata({**(table.schema.metadata or {}), **self.metadata})
            write_parquet_atomic(table, self.path)
        if self._parts_made:  # the table is whole: its parts go (a kill before this leaves both)
            shutil.rmtree(self._parts, ignore_errors=True)
            self._spilled, self._parts_made = 0, False

    def _maybe_chunk(self, t: Any) -> None:
        """A whole part every PARQUET_CHUNK_ROWS rows; a slice of one once the rows held span
        spill_s (when set)."""
        if not (self._complete or self.spill):  # (the chunks of before: from the first judged row)
            return
        timed = isinstance(t, float | int) and not isinstance(t, bool)
        if self._first_t is None and timed:
            self._first_t = t
        if len(self._rows) + self._slice_rows >= PARQUET_CHUNK_ROWS:
            self._chunk()
        elif self.spill_s is not None and self._first_t is not None and timed and t - self._first_t >= self.spill_s:
            self._slice()

    def _slice(self) -> None:
        """spill_s: the rows held as a slice of the next whole part, on disk at once (part N's
        slices are N.0000.parquet, ...), in memory (as Arrow columns) until the part is whole."""
        table = self._table()
        self._rows, self._first_t = [], None
        if table is None:
            return
        self._slices.append(table)
        self._slice_rows += table.num_rows
        index = self._spilled + len(self._unspilled)
        self._write_part(table, f"{index:06d}.{len(self._slices) - 1:04d}.parquet")

    def _chunk(self) -> None:
        """Parquet: the rows held so far (and the slices before them) as a whole part on disk
        (their columns are all those seen so far: before the first judged row fewer than after
        it, which the promotion at close fills with None as one pa.array over the rows would)."""
        table = self._table()
        self._rows, self._first_t = [], None
        pieces = [*self._slices, *([table] if table is not None else [])]
        self._slices, self._slice_rows = [], 0
        if not pieces:
            return
        self._unspilled.append(pa.concat_tables(pieces, promote_options="permissive") if len(pieces) > 1 else pieces[0])
        if not self.spill:  # held until close, as Arrow columns (~1 kB a frame)
            return
        for chunk in list(self._unspilled):  # in order: one that failed (disk full) first
            index = self._spilled
            self._write_part(chunk, f"{index:06d}.parquet")
            self._unspilled.pop(0)
            self._spilled += 1
            for piece in self._parts.glob(f"{index:06d}.*.parquet"):  # its slices (a reader skips them now)
                piece.unlink(missing_ok=True)

    def _table(self) -> pa.Table | None:
        if not self._rows:
            return None
        columns = list(self._seen)
        arrays = [pa.array(values) for values in _parquet_columns(self._rows, columns)]
        return pa.Table.from_arrays(arrays, names=columns)

    def _write_part(self, table: pa.Table, name: str) -> None:
        """One part, whole or not at all: written under a temporary name, then renamed. It
        carries the table's metadata (what a reader of the parts checks). Not fsynced, like the
        rest of a recording: after a power cut a part the disk had not written yet is empty or
        missing, and the reader stops before it."""
        if not self._parts_made:
            make_private_dir(self._parts)
            self._parts_made = True
        # use_compliant_nested_type=False: a list column reads back as the list<item> it was,
        # so the table put together at close is the one of the in-memory chunks, to the byte.
        _write_atomic(table.replace_schema_metadata(self.metadata), self._parts / name,
                      lambda t, fh: pq.write_table(t, fh, use_compliant_nested_type=False))

    def _read_parts(self) -> list[pa.Table]:
        """The whole parts, as they were (no metadata: close sets the table's)."""
        return [pq.ParquetFile(self._parts / f"{i:06d}.parquet").read().replace_schema_metadata(None)
                for i in range(self._spilled)]


def write_parquet(table: pa.Table, path: Path | IO[bytes]) -> None:
    """The table to `path` (or an open file), its float columns without a dictionary and byte-stream-split.

    A tracker's doubles almost never repeat, so the default dictionary encoding only costs:
    on a 7200-frame table (101 columns) it took 18 ms and 2.7 MB; BYTE_STREAM_SPLIT (the
    doubles' bytes grouped by position, which snappy then compresses) takes 9 ms and 2.0 MB.
    The other columns (booleans, gear, lists) keep their dictionaries. Every Parquet reader
    since format 2.8 (pyarrow, DuckDB, Spark 3, polars) reads it; the values are the same."""
    floats = [f.name for f in table.schema if pa.types.is_floating(f.type)]
    others = [f.name for f in table.schema if not pa.types.is_floating(f.type)]
    pq.write_table(table, path, use_dictionary=others, use_byte_stream_split=floats)


def write_parquet_atomic(table: pa.Table, path: Path) -> None:
    """write_parquet under a temporary name, renamed over `path` once whole (0600): a writer
    killed mid-write leaves no half table a reader would find before the parts."""
    _write_atomic(table, path, write_parquet)


def _write_atomic(table: pa.Table, path: Path, write: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open_private(tmp, "wb") as fh:
            write(table, fh)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


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
