"""One drive scored under one or more configs: the unit of work of corpus evaluation and sweeps.

    DriveJob(entry, ground truth, configs, table) ─▶ evaluate_job ─▶ [(config id, DriveScore)]

A job decides the drive's events under each config from its per-frame table (feature replay,
fleet/feature_replay.py), or takes a replay's events as they are (no configs), or replays a
recording that has no table in full. The table's frames are read once per process and kept for
the next jobs of the same drive (a sweep sends a drive's configs in batches): in a pool each
process reads the file, on Ray the frames come through the object store (`frames_ref`).
"""

from __future__ import annotations

import json
import tempfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from driver_monitor.config import Config
from driver_monitor.errors import InputError
from driver_monitor.evaluation.corpus import (
    DriveScore,
    GateSpans,
    score_labels,
    score_truth,
    speed_gate_closed_spans,
)
from driver_monitor.evaluation.truth import ClipTruth
from driver_monitor.fleet.corpus import CorpusEntry
from driver_monitor.fleet.feature_replay import decide_events
from driver_monitor.fleet.stage_cache import SharedDrive
from driver_monitor.fleet.table import FrameInput, frames_duration_s, read_feature_table
from driver_monitor.outputs.event_log import read_event_log

# Drives whose frames a worker process keeps (~1.5 kB a frame: 8 one-hour drives ~1.3 GB).
CACHED_DRIVES = 8


@dataclass(frozen=True)
class DriveJob:
    entry: CorpusEntry
    labels: tuple[dict[str, Any], ...] | None
    truth: ClipTruth | None
    # (config id, settings as Config.model_dump(mode="json")); empty: score entry.events as they are.
    configs: tuple[tuple[str, dict[str, Any]], ...] = ()
    frames_ref: Any = None  # Ray: [ObjectRef of the frames]; None: read entry.table here
    max_latency_s: float = 4.0
    early_s: float = 0.5


def evaluate_job(job: DriveJob) -> list[tuple[str, DriveScore]]:
    if not job.configs:
        assert job.entry.events is not None
        events = read_event_log(job.entry.events)
        duration = _duration_of_replay(job.entry, events)
        return [("", _score(job, events, duration, _replay_gates(job.entry)))]
    configs = [(config_id, _config(config_id, settings)) for config_id, settings in job.configs]
    if job.entry.table is None and job.frames_ref is None:
        return [(config_id, _score(job, *_full_replay(job.entry, config))) for config_id, config in configs]
    drive = _drive(job)
    drive.shared.plan(config for _, config in configs)
    try:
        duration = frames_duration_s(drive.frames)
        speeds = [(f.t, f.vehicle.speed_kph) for f in drive.frames]
        return [(config_id, _score(job, decide_events(drive.frames, config, job.entry.root, drive.shared), duration,
                                   speed_gate_closed_spans(speeds, config.policy)))
                for config_id, config in configs]
    finally:
        drive.shared.end_batch()


def _score(job: DriveJob, events: list[dict[str, Any]], duration_s: float, gates: GateSpans | None) -> DriveScore:
    if job.truth is not None:
        return score_truth(job.entry.name, job.truth, events, duration_s, gates)
    assert job.labels is not None
    return score_labels(job.entry.name, events, list(job.labels), duration_s, job.max_latency_s, job.early_s, gates)


def _replay_gates(entry: CorpusEntry) -> GateSpans | None:
    """A replay scored as it is: its speed gates under the config its table says it was made
    with (None, every gate open, when the table does not say or that config no longer loads)."""
    from pydantic import ValidationError

    from driver_monitor.fleet.table import read_table_info

    assert entry.table is not None
    try:
        config = Config.model_validate(read_table_info(entry.table).settings)
    except (InputError, ValidationError, ValueError):
        return None
    return speed_gate_closed_spans(_table_columns(entry.table, "vehicle_speed_kph"), config.policy)


@dataclass
class _CachedDrive:
    frames: list[FrameInput]
    # What its configs share in this process: the camera heart rate per `stress.rppg` setting,
    # and within a batch the stages its configs decide alike (fleet/stage_cache.py).
    shared: SharedDrive = field(default_factory=SharedDrive)


_DRIVES: OrderedDict[Path, _CachedDrive] = OrderedDict()
_CONFIGS: OrderedDict[str, Config] = OrderedDict()


def _drive(job: DriveJob) -> _CachedDrive:
    key = job.entry.root
    drive = _DRIVES.get(key)
    if drive is None:
        if job.frames_ref is not None:
            import ray

            frames = ray.get(job.frames_ref[0])
        else:
            assert job.entry.table is not None
            frames = read_feature_table(job.entry.table).frames
        drive = _DRIVES[key] = _CachedDrive(frames)
        while len(_DRIVES) > CACHED_DRIVES:
            _DRIVES.popitem(last=False)
    else:
        _DRIVES.move_to_end(key)
    return drive


def _config(config_id: str, settings: dict[str, Any]) -> Config:
    # Keyed by the settings themselves: an id alone is not unique within a process (every
    # `eval` config is "config"; a sweep's ids hash the swept values, not the base config).
    key = json.dumps(settings, sort_keys=True, default=str)
    config = _CONFIGS.get(key)
    if config is None:
        config = _CONFIGS[key] = Config.model_validate(settings)
        while len(_CONFIGS) > 256:
            _CONFIGS.popitem(last=False)
    return config


def _full_replay(entry: CorpusEntry, config: Config) -> tuple[list[dict[str, Any]], float, GateSpans | None]:
    """A recording without a table: the tracker, as `replay` (events only)."""
    from driver_monitor.fleet.extract import extraction_config
    from driver_monitor.replay import replay

    assert entry.recording is not None
    with tempfile.TemporaryDirectory(prefix="dm-eval-") as tmp:
        summary = replay(entry.recording, extraction_config(config), Path(tmp), progress=False)
        table = Path(tmp) / "features.parquet"
        gates = (speed_gate_closed_spans(_table_columns(table, "vehicle_speed_kph"), config.policy)
                 if table.is_file() else None)
        return read_event_log(Path(tmp) / "events.jsonl"), summary.duration_s, gates


def _duration_of_replay(entry: CorpusEntry, events: list[dict[str, Any]]) -> float:
    """First to last frame of the replay's table. Without a readable one the hours of driving
    (false alerts per hour) would be a guess: its events' span is 0 h for a drive that raised
    nothing, so it is an error naming the drive."""
    if entry.table is None:
        raise InputError(f"{entry.root}: no per-frame table (features.csv or features.parquet): the drive's "
                         "duration, and so false alerts per hour, come from it")
    t = [t for t, _ in _table_columns(entry.table)]
    if not t:
        raise InputError(f"{entry.table}: no frame times in it (not a readable feature table)")
    return t[-1] - t[0]


def _table_columns(path: Path, column: str | None = None) -> list[tuple[float, Any]]:
    """(t, the column's value or None) per frame of a table; [] when it cannot be read."""
    import pyarrow as pa

    columns = ["t", *([column] if column is not None else [])]
    try:
        if path.is_dir():  # the parts of a recording never closed (fleet/table.py feature_table_in)
            from driver_monitor.fleet.table import read_parts

            table = pa.concat_tables(read_parts(path, columns)[0], promote_options="permissive")
        elif path.suffix == ".parquet":
            import pyarrow.parquet as pq

            table = pq.ParquetFile(path).read(columns=columns)  # no pandas import (fleet/table.py)
        else:
            import pyarrow.csv as pacsv

            table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(include_columns=columns))
        values = [table.column(c).to_pylist() for c in columns]
    except (pa.ArrowInvalid, OSError, KeyError, InputError):
        return []
    rows = zip(*values, strict=True) if column is not None else ((t, None) for t in values[0])
    return [(float(row[0]), row[1]) for row in rows if row[0] is not None]
