"""A replay output directory read for the report: the event log, the per-frame table and the
provenance file, each checked with one clear line naming the file on bad input.

    DIR/events.jsonl            required (docs/event-log.md)
    DIR/features.csv|parquet    the per-frame table (docs/features.md); optional: without it the
                                report shows events only and says so
    DIR/run.yaml                provenance (command, version, input, config); optional
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from driver_monitor.errors import InputError
from driver_monitor.fleet.table import feature_table_in, read_parts
from driver_monitor.outputs.event_log import read_event_log

EVENTS_NAME = "events.jsonl"
log = logging.getLogger(__name__)

FEATURE_NAMES = ("features.parquet", "features.csv")
RUN_NAME = "run.yaml"


@dataclass
class ReplayData:
    """What one replay decided, column by column.

    numeric: float64 arrays (booleans as 0/1, missing as NaN), one value per frame.
    text: str columns (gaze_zone, heart_rate_source, ...), None where missing.
    """

    root: Path
    events: list[dict[str, Any]]
    t: np.ndarray = field(default_factory=lambda: np.zeros(0))
    numeric: dict[str, np.ndarray] = field(default_factory=dict)
    text: dict[str, list[str | None]] = field(default_factory=dict)
    features_path: Path | None = None
    run: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def frames(self) -> int:
        return len(self.t)

    @property
    def start_t(self) -> float:
        times = [float(e["t"]) for e in self.events]
        if len(self.t):
            times.append(float(self.t[0]))
        return min(times) if times else 0.0

    @property
    def end_t(self) -> float:
        times = [float(e["t"]) for e in self.events]
        if len(self.t):
            times.append(float(self.t[-1]))
        return max(times) if times else 0.0

    def column(self, name: str) -> np.ndarray:
        return self.numeric[name]

    @property
    def name(self) -> str:
        return self.root.resolve().name


def load_replay(root: str | Path) -> ReplayData:
    """Read a replay output directory; InputError with one line naming the problem file."""
    root = Path(root)
    if not root.exists():
        raise InputError(f"{root}: no such directory")
    if not root.is_dir():
        raise InputError(f"{root}: not a directory (give the replay output directory holding {EVENTS_NAME})")
    events_path = root / EVENTS_NAME
    if not events_path.is_file():
        raise InputError(f"{root}: no {EVENTS_NAME} here: not a replay output directory "
                         "(`driver-monitor replay INPUT --out DIR` writes one)")
    events = read_event_log(events_path)
    for number, e in enumerate(events, 1):
        if not isinstance(e["t"], (int, float)) or isinstance(e["t"], bool) or not math.isfinite(e["t"]):
            raise InputError(f"{events_path}: line {number}: t is not a number ({e['t']!r})")
    data = ReplayData(root=root, events=events)
    data.run = _read_run(root / RUN_NAME, data.notes)
    # (A recording killed or cut off by a power cut has no table, only the parts its writer
    # spilled: fleet/table.py reads those as feature replay does.)
    features = feature_table_in(root)
    if features is None:
        data.notes.append(f"no per-frame table ({' or '.join(FEATURE_NAMES)}) in {root}: timelines show events only")
        return data
    data.features_path = features
    table = _read_table(features, data.notes)
    if "t" not in table.column_names:
        raise InputError(f"{features}: no `t` column (not a driver-monitor feature table)")
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            data.text[name] = column.to_pylist()
            continue
        try:
            data.numeric[name] = _as_float(column)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            data.text[name] = [None if v is None else str(v) for v in column.to_pylist()]
    if "t" not in data.numeric:
        # Text cells (or timestamps of another tool's table): no seconds to draw them at.
        raise InputError(f"{features}: `t` is not seconds (a {table.column('t').type} column; not a driver-monitor "
                         "feature table?)")
    data.t = data.numeric.pop("t")
    if len(data.t) and not np.all(np.isfinite(data.t)):
        raise InputError(f"{features}: `t` has empty or non-numeric cells")
    if len(data.t) > 1 and np.any(np.diff(data.t) < 0):
        raise InputError(f"{features}: `t` goes backwards (not one drive's table?)")
    return data


def _read_table(path: Path, notes: list[str]) -> pa.Table:
    try:
        if path.is_dir():  # the parts of a table never closed (feature_table_in)
            tables, ended = read_parts(path)
            log.warning("%s: the recording was not closed: its timelines end where its spilled table does%s",
                        path.parent, ended)
            # On the page too: whoever opens the report later sees why the signals stop before
            # the events do.
            notes.append(f"{path.parent}: the recording was not closed (killed or cut off): its signals end where "
                         f"its spilled table does{ended}")
            return pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            return pq.read_table(path)
        import pyarrow.csv as pacsv

        # Booleans are written True/False, missing values as empty cells.
        options = pacsv.ConvertOptions(true_values=["True", "true"], false_values=["False", "false"],
                                       null_values=[""], strings_can_be_null=True)
        return pacsv.read_csv(path, convert_options=options)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise InputError(f"{path}: not a readable feature table ({first[:160]})") from None


def _as_float(column: pa.ChunkedArray) -> np.ndarray:
    if pa.types.is_null(column.type):
        return np.full(len(column), np.nan)
    floats = pc.cast(column, pa.float64())
    return np.asarray(floats.to_numpy(zero_copy_only=False), dtype=np.float64)


def _read_run(path: Path, notes: list[str]) -> dict[str, Any] | None:
    """run.yaml is informative: a broken one is a note, never an error."""
    if not path.is_file():
        return None
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):  # ValueError: bad UTF-8, or a value YAML cannot build (2020-13-01)
        notes.append(f"{path}: not readable YAML; provenance not shown")
        return None
    if not isinstance(loaded, dict):
        notes.append(f"{path}: not a mapping; provenance not shown")
        return None
    return loaded
