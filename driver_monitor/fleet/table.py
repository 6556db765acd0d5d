"""A per-frame table (outputs/feature_table.py) read back as what the detectors saw of each frame.

    features.parquet / features.csv ─▶ FrameInput per frame: Features, the picture statistics
        camera health judged, whether the frame was judged, the vehicle, the expression columns

Only tables that can decide exactly what a full replay decides are accepted, each refusal in one
line naming the file: a table of this format and of this feature code (provenance.
feature_code_version), whose settings decided before the features (DECIDED_BEFORE_FEATURES: the
tracker, the frame times, camera health, the vehicle signals, the expression model) and face
model equal the config's. A CSV keeps its provenance in run.yaml beside it.
"""

from __future__ import annotations

import csv
import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from driver_monitor.config import Config
from driver_monitor.errors import InputError, one_line
from driver_monitor.messages import (
    FEATURE_COLUMNS,
    FRAME_JUDGED,
    VEHICLE_FIELDS,
    VEHICLE_PREFIX,
    Features,
    FrameStats,
    Scalar,
    VehicleState,
)
from driver_monitor.names import EXPRESSION_PREFIX
from driver_monitor.outputs.feature_table import (
    FEATURES_STEM,
    FORMAT_KEY,
    FORMAT_VERSION,
    PARQUET_PROVENANCE_KEY,
    PARTS_SUFFIX,
    csv_cell_value,
    input_column_kind,
    part_files,
    parts_dir,
    table_format,
)
from driver_monitor.provenance import RUN_FILE_NAME, YAML_SAFE_LOADER, model_provenance

log = logging.getLogger(__name__)

FEATURE_NAMES = (f"{FEATURES_STEM}.parquet", f"{FEATURES_STEM}.csv")
# The settings that act before the features: the tracker and its model, the frame times,
# camera health (which frames are judged at all), the vehicle signals and the expression
# model. Features made under other values would not be the ones a full replay sees.
DECIDED_BEFORE_FEATURES: tuple[str, ...] = (
    "perception", "video", "vehicle", "stress.expression_model",
    "camera.fps", "camera.no_frame_timeout_periods", "camera.frozen_frame_s",
    "camera.dark_lens_brightness", "camera.covered_lens_contrast", "camera.dark_lens_s",
)
# Settings inside those that do not change a feature, only how replay schedules its work:
# results are the same to the bit either way (config/perception.py, tests/test_staged_tracking.py).
# A table made under one value serves a config with another, and they share an extraction key.
SAME_FEATURES_EITHER_WAY: tuple[str, ...] = ("perception.staged_replay", "perception.landmark_threads")
_FRAME_COLUMNS = tuple(FrameStats(False, 0.0, 0.0).columns())
_REQUIRED = (*FEATURE_COLUMNS, *_FRAME_COLUMNS, FRAME_JUDGED, *VehicleState(0.0).columns())
_MISSING = object()


@dataclass(frozen=True, slots=True)
class FrameInput:
    """One frame as the pipeline saw it (what `Pipeline.check_picture` and
    `process_features` take)."""

    features: Features
    vehicle: VehicleState
    picture: FrameStats
    judged: bool
    perception: Mapping[str, Scalar]  # expression_* (empty without the model)

    @property
    def t(self) -> float:
        return self.features.t


@dataclass
class TableInfo:
    """What a table says about itself: its format and provenance (the config it was made with)."""

    path: Path
    format: dict[str, Any]
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def settings(self) -> dict[str, Any]:
        return ((self.provenance.get("config") or {}).get("settings")) or {}

    def check_config(self, config: Config) -> None:
        """InputError unless the settings that act before the features, and the face model,
        are those the table was made with."""
        if not self.settings:
            raise InputError(f"{self.path}: the config the features were made with is unknown (no provenance"
                             f"{' in ' + RUN_FILE_NAME + ' beside it' if self.path.suffix == '.csv' else ''})")
        theirs, mine = settings_before_features(self.settings), settings_before_features(config.model_dump(mode="json"))
        for key in DECIDED_BEFORE_FEATURES:
            difference = _first_difference(key, theirs[key], mine[key])
            if difference is not None:
                where, theirs, ours = difference
                raise InputError(
                    f"{self.path}: {where} is {_show(ours)} in this config but was {_show(theirs)} when the features were "
                    "made: it acts before the features (run a full replay, or extract the drive with this config)")
        made_with = (self.provenance.get("model") or {}).get("sha256")
        model = model_provenance(config)
        if made_with != model["sha256"]:
            raise InputError(f"{self.path}: the features were made with face model sha256 {made_with}, "
                             f"this config's model ({model['path']}) is {model['sha256']}")


@dataclass
class FeatureTable(TableInfo):
    frames: list[FrameInput] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return frames_duration_s(self.frames)


def frames_duration_s(frames: list[FrameInput]) -> float:
    return frames[-1].t - frames[0].t if frames else 0.0


def feature_table_in(directory: Path) -> Path | None:
    """The table in a replay output / recording / extraction directory: features.parquet or
    features.csv, else the parts of a Parquet table whose writer was never closed (a recording
    killed or cut off by a power cut: outputs/feature_table.py parts_dir); None without one."""
    found = next((directory / n for n in FEATURE_NAMES if (directory / n).is_file()), None)
    if found is None:
        parts = parts_dir(directory / FEATURE_NAMES[0])
        found = parts if part_files(parts) else None
    return found


def _is_parts(path: Path) -> bool:
    return path.name.endswith(PARTS_SUFFIX) and path.is_dir()


def find_feature_table(path: str | Path) -> Path:
    """The table itself, or the one in a replay output / recording / extraction directory (the
    parts directory of a table never closed: feature_table_in)."""
    path = Path(path)
    if _is_parts(path):
        if not part_files(path):
            raise InputError(f"{path}: no whole part of a feature table here")
        return path
    if path.is_dir():
        found = feature_table_in(path)
        if found is None:
            raise InputError(f"{path}: no {' or '.join(FEATURE_NAMES)} here")
        return found
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.suffix not in (".parquet", ".csv"):
        raise InputError(f"{path}: not a feature table (expected {' or '.join(FEATURE_NAMES)})")
    return path


def read_feature_table(path: str | Path) -> FeatureTable:
    """Every frame of a table, checked (InputError, one line naming the file)."""
    path = find_feature_table(path)
    if _is_parts(path):
        fmt, provenance, columns = _read_parts(path)
    elif path.suffix == ".parquet":
        fmt, provenance, columns = _read_parquet(path)
    else:
        fmt, provenance, columns = _read_csv(path)
    _check_format(path, fmt)
    missing = [c for c in _REQUIRED if c not in columns]
    if missing:
        raise InputError(f"{path}: no column `{missing[0]}` (not a driver-monitor feature table of format {FORMAT_VERSION})")
    return FeatureTable(path, fmt, provenance, _frames(path, columns))


def read_table_info(path: str | Path) -> TableInfo:
    """A table's format and provenance without its rows, its format and feature code checked."""
    path = find_feature_table(path)
    if path.suffix == ".parquet" or _is_parts(path):
        import pyarrow.parquet as pq

        try:
            meta = pq.read_schema(part_files(path)[0] if _is_parts(path) else path).metadata or {}
        except Exception as exc:  # pyarrow raises several types for a broken file
            raise InputError(f"{path}: not a readable Parquet file ({one_line(exc)})") from None
        fmt, provenance = _parquet_meta(path, meta)
    else:
        provenance = _run_beside(path)
        fmt = provenance.get("feature_table") or {}
    _check_format(path, fmt)
    return TableInfo(path, fmt, provenance)


# ---- reading ----------------------------------------------------------------------------------

def _read_parquet(path: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, list[Any]]]:
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
        fmt, provenance = _checked_meta(path, schema)
        names = _checked_columns(path, schema)
        # ParquetFile, not pq.read_table: that one imports pyarrow.dataset and with it pandas
        # (~0.2 s of a feature replay that decides a 4-minute drive in ~1 s).
        table = pq.ParquetFile(path).read(columns=names)
    except InputError:
        raise
    except Exception as exc:  # pyarrow raises several types for a broken file
        raise InputError(f"{path}: not a readable Parquet file ({one_line(exc)})") from None
    return fmt, provenance, _pylists(table, names)


def _read_parts(parts: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, list[Any]]]:
    """The parts of a table never closed, in order, their columns promoted as the writer's close
    would have (outputs/feature_table.py). After a power cut the last part may be empty (the disk
    never wrote it): the table is read up to the part before it. One warning says so."""
    import pyarrow as pa

    tables, ended = read_parts(parts)
    try:
        table = pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InputError(f"{parts}: parts that do not make one table ({one_line(exc)})") from None
    fmt, provenance = _checked_meta(parts, tables[0].schema)  # every part carries the table's metadata
    names = _checked_columns(parts, table.schema)
    columns = _pylists(table, names)
    times = columns.get("t") or []
    last = f", up to t = {times[-1]:.3f} s" if times and isinstance(times[-1], float | int) else ""
    log.warning("%s: the recording was not closed (killed, or a power cut): its table is read from its %d spilled "
                "parts, %d rows%s (the rows after them were not yet written)%s",
                parts.parent, len(tables), table.num_rows, last, ended)
    return fmt, provenance, columns


def read_parts(parts: Path, columns: list[str] | None = None) -> tuple[list[Any], str]:
    """The whole parts' tables, in order, up to the first that cannot be read (after a power cut
    the last one may be empty: the disk never wrote it), and what ended them early ("" when
    none did); InputError when not even the first can be read."""
    import pyarrow.parquet as pq

    tables = []
    for file in part_files(parts):
        try:
            tables.append(pq.ParquetFile(file).read(columns=columns))
        except Exception as exc:  # pyarrow raises several types for a broken file
            if not tables:
                raise InputError(f"{file}: not a readable Parquet file ({one_line(exc)})") from None
            return tables, f"; {file.name} is not a readable Parquet file ({one_line(exc)}): the table ends before it"
    if not tables:
        raise InputError(f"{parts}: no whole part of a feature table here")
    return tables, ""


def _checked_meta(path: Path, schema: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(format, provenance) of a Parquet schema's metadata, the format checked."""
    fmt, provenance = _parquet_meta(path, schema.metadata or {})
    _check_format(path, fmt)
    return fmt, provenance


def _checked_columns(path: Path, schema: Any) -> list[str]:
    """The columns the detectors read, each of the type they need (InputError otherwise)."""
    names = [n for n in schema.names if n in _REQUIRED or n.startswith(EXPRESSION_PREFIX)]
    for name in names:
        arrow_type = schema.field(name).type
        wanted = input_column_kind(name).split("_")[-1]
        if _arrow_kind(arrow_type) not in (wanted, "null"):
            raise InputError(f"{path}: column `{name}` holds {arrow_type}, not {_KIND_WORDS[wanted]}")
    return names


def _pylists(table: Any, names: list[str]) -> dict[str, list[Any]]:
    return {name: table.column(name).to_pylist() for name in names}


_KIND_WORDS = {"float": "numbers", "bool": "booleans", "str": "text", "list": "lists of numbers"}


def _arrow_kind(arrow_type: Any) -> str:
    """float | bool | str | list | null: what a Parquet column holds, in csv_cell_value's kinds."""
    import pyarrow as pa

    if pa.types.is_null(arrow_type):
        return "null"
    if pa.types.is_boolean(arrow_type):
        return "bool"
    if pa.types.is_floating(arrow_type) or pa.types.is_integer(arrow_type):
        return "float"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "str"
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return "list"
    return str(arrow_type)


def _parquet_meta(path: Path, meta: Mapping[bytes, bytes]) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        fmt = json.loads(meta[FORMAT_KEY.encode()]) if FORMAT_KEY.encode() in meta else {}
        raw = meta.get(PARQUET_PROVENANCE_KEY.encode())
        provenance = yaml.load(raw, Loader=YAML_SAFE_LOADER) if raw else {}
    except (ValueError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: unreadable metadata ({one_line(exc)})") from None
    return (fmt if isinstance(fmt, dict) else {}), (provenance if isinstance(provenance, dict) else {})


def _read_csv(path: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, list[Any]]]:
    provenance = _run_beside(path)
    fmt = provenance.get("feature_table") or {}
    _check_format(path, fmt)
    try:
        # utf-8-sig: a table saved again by a spreadsheet starts with a byte-order mark, and its
        # first column read as "\ufefft": "no column `t`" of a header that shows one.
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            keep = [(i, name, input_column_kind(name)) for i, name in enumerate(header)
                    if name in _REQUIRED or name.startswith(EXPRESSION_PREFIX)]
            columns: dict[str, list[Any]] = {name: [] for _, name, _ in keep}
            for line, cells in enumerate(reader, 2):
                for i, name, kind in keep:
                    try:
                        columns[name].append(csv_cell_value(kind, cells[i]))
                    except (ValueError, IndexError):
                        cell = cells[i] if i < len(cells) else "(missing)"
                        raise InputError(f"{path}: line {line}: {name}: not a {kind.replace('_', ' ')} ({cell[:40]!r})") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: not a readable CSV table ({one_line(exc)})") from None
    return fmt, provenance, columns


def _run_beside(path: Path) -> dict[str, Any]:
    run = path.parent / RUN_FILE_NAME
    if not run.is_file():
        return {}
    try:
        loaded = yaml.load(run.read_text(encoding="utf-8"), Loader=YAML_SAFE_LOADER)
    except (OSError, ValueError, yaml.YAMLError) as exc:  # ValueError: bad UTF-8, or a value YAML cannot build
        raise InputError(f"{run}: not readable YAML ({one_line(exc)})") from None
    return loaded if isinstance(loaded, dict) else {}


def _check_format(path: Path, fmt: Mapping[str, Any]) -> None:
    if not fmt:
        where = f"no {RUN_FILE_NAME} beside it saying" if path.suffix == ".csv" else "its metadata does not say"
        raise InputError(f"{path}: {where} which format and feature code made it (a table of driver-monitor before "
                         f"format {FORMAT_VERSION} lacks the vehicle and picture columns): replay or extract the drive again")
    if fmt.get("format_version") != FORMAT_VERSION:
        raise InputError(f"{path}: feature table format {fmt.get('format_version')}, this driver-monitor reads "
                         f"{FORMAT_VERSION}: replay or extract the drive again")
    ours = table_format()["feature_code_version"]
    if fmt.get("feature_code_version") != ours:
        raise InputError(f"{path}: features from another feature-code version ({fmt.get('feature_code_version')}, "
                         f"this code computes {ours}): extract the drive again (`driver-monitor extract`) or replay it in full")


def _frames(path: Path, columns: Mapping[str, list[Any]]) -> list[FrameInput]:
    """The frames' rows (those with picture statistics; a row between frames, a silence before
    a frame, is no input of its own), built column-wise."""
    rows = [i for i, v in enumerate(columns[_FRAME_COLUMNS[0]]) if v is not None]
    if len(rows) == len(columns["t"]):
        take = dict(columns)  # (read only below: no copy of the lists)
    else:
        take = {name: [values[i] for i in rows] for name, values in columns.items()}
    times = take["t"]
    last_t = -math.inf
    for k, t in enumerate(times):
        if isinstance(t, bool) or not isinstance(t, float | int) or not math.isfinite(t) or t < last_t:
            raise InputError(f"{path}: frame {k}: t {t!r} is not a time after {last_t}")
        last_t = t
    # The inverse of Features.columns(): skin_rgb is None exactly when its three cells are NaN
    # (mean_skin_rgb gives finite means or None; NaN != NaN).
    skin = [None if r != r and g != g and b != b else (r, g, b)
            for r, g, b in zip(take["skin_r"], take["skin_g"], take["skin_b"], strict=True)]
    feature_args = [skin if name == "skin_rgb" else take[name] for name in Features.__dataclass_fields__]
    features = [Features(*args) for args in zip(*feature_args, strict=True)]
    rr = [tuple(v) if v is not None else () for v in take[VEHICLE_PREFIX + "external_rr_intervals_ms"]]
    vehicle_args = [times] + [rr if name == "external_rr_intervals_ms" else take[VEHICLE_PREFIX + name]
                              for name in VEHICLE_FIELDS]
    vehicles = [VehicleState(*args) for args in zip(*vehicle_args, strict=True)]
    pictures = [FrameStats(*args) for args in zip(*(take[c] for c in _FRAME_COLUMNS), strict=True)]
    expression = [n for n in take if n.startswith(EXPRESSION_PREFIX)]
    perception = [dict(zip(expression, values, strict=True)) for values in zip(*(take[n] for n in expression), strict=True)] \
        if expression else [{}] * len(times)
    return [FrameInput(f, v, p, bool(j), e) for f, v, p, j, e
            in zip(features, vehicles, pictures, take[FRAME_JUDGED], perception, strict=True)]


# ---- comparing settings ------------------------------------------------------------------------

def settings_before_features(settings: Mapping[str, Any]) -> dict[str, Any]:
    """{key of DECIDED_BEFORE_FEATURES: its value} in `settings` (a config's
    model_dump(mode="json"), or the one a table's provenance holds), without the keys of
    SAME_FEATURES_EITHER_WAY."""
    found = {}
    for key in DECIDED_BEFORE_FEATURES:
        value = _lookup(settings, key)
        for same in SAME_FEATURES_EITHER_WAY:
            section, _, name = same.rpartition(".")
            if section == key and isinstance(value, Mapping):
                value = {k: v for k, v in value.items() if k != name}
        found[key] = value
    return found


def _lookup(settings: Mapping[str, Any], dotted: str) -> Any:
    value: Any = settings
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _first_difference(key: str, theirs: Any, ours: Any) -> tuple[str, Any, Any] | None:
    if isinstance(theirs, Mapping) and isinstance(ours, Mapping):
        for sub in [*theirs, *(k for k in ours if k not in theirs)]:
            found = _first_difference(f"{key}.{sub}", theirs.get(sub, _MISSING), ours.get(sub, _MISSING))
            if found is not None:
                return found
        return None
    return None if theirs == ours else (key, theirs, ours)


def _show(value: Any) -> str:
    return "(absent)" if value is _MISSING else json.dumps(value)
