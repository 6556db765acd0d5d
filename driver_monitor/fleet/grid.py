"""The configs of a sweep: a grid or a random search over dotted config keys (docs/scaling.md).

    # grid.yaml: every combination (the short form: dotted keys -> lists of values)
    distraction.long_distraction.threshold_s: [2.5, 3.0, 3.5]
    drowsiness.closure.microsleep_min_duration_s: [0.8, 1.0]

    # or, with its options
    search: random          # grid (default) | random
    samples: 40             # random: how many configs
    seed: 1                 # random: the same seed draws the same configs
    keys:
      distraction.long_distraction.threshold_s: {min: 2.0, max: 4.0}   # random: uniform
      distraction.zones.road.yaw_max_deg: {min: 15, max: 25, step: 5}  # both: 15, 20, 25
      policy.monitoring.activation_s: [0, 60]                          # both: these values

Everything is checked against the config schema before anything runs, each problem one line
`GRID: key: ...` (an unknown key names the closest known one); a key that acts before the
features (fleet/table.DECIDED_BEFORE_FEATURES: tracker, frame times, camera health, vehicle
signals) is refused, since feature tables were made with one value of it. Each config is the
base config with the swept values set, each value as the validated config holds it (a quoted
number is that number, 3 is 3.0 for a float setting); its id is a hash of those values, and
combinations alike once validated are one config.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from driver_monitor.config import Config
from driver_monitor.config.loader import format_validation_error, parse_yaml_mapping, read_yaml_text
from driver_monitor.errors import ConfigError
from driver_monitor.fleet.table import DECIDED_BEFORE_FEATURES

OPTIONS = ("search", "samples", "seed", "keys")
MAX_CONFIGS = 100_000


@dataclass(frozen=True)
class Trial:
    """One config of the sweep: the swept values (dotted key -> value) and the config."""

    id: str
    values: dict[str, Any]
    config: Config = field(compare=False, repr=False)


@dataclass
class Grid:
    path: Path
    search: str
    keys: dict[str, list[Any] | dict[str, float]]
    samples: int = 0
    seed: int = 0

    @property
    def swept(self) -> list[str]:
        return list(self.keys)


def load_grid(path: str | Path) -> Grid:
    """The grid file, its form checked (ConfigError: one `GRID: ...` line per problem)."""
    path = Path(path)
    data = parse_yaml_mapping(read_yaml_text(path, "grid file"), str(path), "a mapping of dotted config keys to values")
    structured = "keys" in data
    unknown = [k for k in data if k in OPTIONS[:3]] if not structured else [k for k in data if k not in OPTIONS]
    if structured and unknown:
        raise ConfigError([f"{path}: {unknown[0]}: unknown option (options: {', '.join(OPTIONS)}; config keys go under keys)"])
    keys = data.get("keys") if structured else {k: v for k, v in data.items() if k not in OPTIONS[:3]}
    search = data.get("search", "grid")
    problems: list[str] = []
    if search not in ("grid", "random"):
        problems.append(f"{path}: search: must be grid or random (got {search!r})")
    if not isinstance(keys, Mapping) or not keys:
        problems.append(f"{path}: no config keys to sweep")
        raise ConfigError(problems)
    samples, seed = data.get("samples", 0), data.get("seed", 0)
    if search == "random" and (not isinstance(samples, int) or isinstance(samples, bool) or not 0 < samples <= MAX_CONFIGS):
        problems.append(f"{path}: samples: a random search needs samples: 1..{MAX_CONFIGS} (got {samples!r})")
    if not isinstance(seed, int) or isinstance(seed, bool):
        problems.append(f"{path}: seed: must be an integer (got {seed!r})")
    out: dict[str, list[Any] | dict[str, float]] = {}
    for key, spec in keys.items():
        key = str(key)
        problem = _spec_problem(spec, search)
        if problem is not None:
            problems.append(f"{path}: {key}: {problem}")
        elif isinstance(spec, Mapping) and "step" in spec:
            out[key] = _steps(spec)
        else:
            out[key] = list(spec) if isinstance(spec, list) else dict(spec)
    if problems:
        raise ConfigError(problems)
    return Grid(path, search, out, samples, seed)


def _spec_problem(spec: Any, search: str) -> str | None:
    if isinstance(spec, list):
        return "an empty list sweeps nothing" if not spec else None
    if isinstance(spec, Mapping):
        extra = set(spec) - {"min", "max", "step"}
        if extra or not {"min", "max"} <= set(spec):
            return "a range is {min: A, max: B} or {min: A, max: B, step: S}"
        values = [spec[k] for k in ("min", "max", "step") if k in spec]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values):
            return "min, max and step must be numbers"
        if spec["max"] < spec["min"]:
            return f"max ({spec['max']}) is below min ({spec['min']})"
        if "step" in spec and (spec["step"] <= 0 or (spec["max"] - spec["min"]) / spec["step"] > MAX_CONFIGS):
            return "step must be > 0 and give at most 100000 values"
        if "step" not in spec and search == "grid":
            return "a grid needs values: a list, or {min, max, step}"
        return None
    return f"expected a list of values or a range {{min, max}} (got {spec!r})"


def _steps(spec: Mapping[str, float]) -> list[Any]:
    lo, hi, step = spec["min"], spec["max"], spec["step"]
    n = int(math.floor((hi - lo) / step + 1e-9)) + 1
    integral = all(isinstance(v, int) for v in (lo, hi, step))
    return [lo + k * step if integral else round(lo + k * step, 12) for k in range(n)]


def trials(grid: Grid, base: Config) -> list[Trial]:
    """Every config of the sweep, each validated (ConfigError naming the key, or the values
    of a combination the schema refuses)."""
    problems = []
    for key in grid.keys:
        problem = _key_problem(key, base)
        if problem is not None:
            problems.append(f"{grid.path}: {key}: {problem}")
    if problems:
        raise ConfigError(problems)
    combos = _combinations(grid)
    data = base.model_dump(mode="python")
    out: list[Trial] = []
    seen: set[str] = set()
    for values in combos:
        try:
            config = Config.model_validate(with_values(data, values))
        except ValidationError as exc:
            shown = ", ".join(f"{k}={v!r}" for k, v in values.items())
            raise ConfigError([f"{grid.path}: {shown}: {line}" for line in format_validation_error(exc, suggest=Config)]) from None
        # Each value as the config holds it, as check-config reads the same YAML: "2.5" is the
        # number 2.5 and 3 is 3.0 for a float setting (kept raw, a quoted number made a column
        # of mixed types that results.parquet could not be written with, after every config
        # had run). Values alike once validated are one config, decided and scored once.
        dumped = config.model_dump(mode="json")
        values = {key: _lookup(dumped, key) for key in values}
        config_id = trial_id(values)
        if config_id not in seen:
            seen.add(config_id)
            out.append(Trial(config_id, values, config))
    return out


def _lookup(data: Any, key: str) -> Any:
    for part in key.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


def _combinations(grid: Grid) -> list[dict[str, Any]]:
    keys = list(grid.keys)
    if grid.search == "grid":
        lists = [grid.keys[k] for k in keys]
        count = math.prod(len(v) for v in lists)
        if count > MAX_CONFIGS:
            raise ConfigError([f"{grid.path}: the grid has {count} configs, more than {MAX_CONFIGS}: use search: random"])
        return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*lists)]
    rng = random.Random(grid.seed)
    out = []
    seen: set[str] = set()
    for _ in range(grid.samples):
        values = {}
        for k in keys:
            spec = grid.keys[k]
            if isinstance(spec, list):
                values[k] = rng.choice(spec)
            elif isinstance(spec["min"], int) and isinstance(spec["max"], int):
                values[k] = rng.randint(spec["min"], spec["max"])
            else:
                values[k] = rng.uniform(spec["min"], spec["max"])
        # A draw that repeats an earlier one is the same config: decided and scored once (a
        # few listed values give fewer distinct configs than `samples`; the summary counts those).
        digest = trial_id(values)
        if digest not in seen:
            seen.add(digest)
            out.append(values)
    return out


def _key_problem(key: str, base: Config) -> str | None:
    """Why a dotted key cannot be swept, or None: it must name a setting of the schema and
    act after the features."""
    for before in DECIDED_BEFORE_FEATURES:
        if key == before or key.startswith(before + ".") or before.startswith(key + "."):
            return ("acts before the features (the tracker, frame times, camera health or vehicle signals): the "
                    "feature tables were made with one value of it; sweep it with full replays instead")
    data = _plain(base.model_dump(mode="python"))
    node: Any = data
    parts = key.split(".")
    for i, part in enumerate(parts):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, list):  # (with_values below would index it by `part`: a traceback)
            where = ".".join(parts[:i])
            return (f"{where} is a list of {len(node)}: its items are 0 to {len(node) - 1}" if node
                    else f"{where} is an empty list: it has no items to sweep")
        elif not isinstance(node, Mapping):
            return f"{'.'.join(parts[:i])} is a single setting, with no keys under it"
        else:
            # The schema's own words for an unknown key (with the closest known one).
            try:
                Config.model_validate(with_values(data, {".".join(parts[: i + 1]): None}))
            except ValidationError as exc:
                lines = format_validation_error(exc, suggest=Config)
                for line in lines:
                    if line.startswith(".".join(parts[: i + 1]) + ":"):
                        return line.split(": ", 1)[1]
            return "not a setting of the config"
    return None


def _plain(data: Any) -> Any:
    """A deep copy with tuples as lists: settings typed as tuples (model_dump's python mode
    keeps them) take a value by index like any list (`stress.level.level_thresholds.0`)."""
    if isinstance(data, Mapping):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_plain(v) for v in data]
    return copy.deepcopy(data)


def with_values(data: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of nested config data with dotted keys set (list and tuple items by index)."""
    out = _plain(data)
    for key, value in values.items():
        node: Any = out
        parts = key.split(".")
        for part in parts[:-1]:
            if isinstance(node, list):
                node = node[int(part)]
                continue
            # A section written with nothing under it (`sleep:` with its lines commented out)
            # is null in the file and valid (its defaults): the swept key goes into a new one.
            if node.get(part) is None:
                node[part] = {}
            node = node[part]
        last = parts[-1]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return out


def trial_id(values: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:12]
