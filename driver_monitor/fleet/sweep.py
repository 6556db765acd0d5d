"""`driver-monitor sweep CORPUS --grid grid.yaml --out DIR`: every config of a grid (or random
search) scored over a corpus by feature replay (docs/scaling.md).

    CORPUS ─▶ drives with feature tables (recordings without one are extracted into DIR/features)
    grid ─▶ configs (fleet/grid.py, all validated first) ─▶ jobs: one drive x a batch of configs
    jobs ─▶ Engine (this process, a process pool, Ray tasks) ─▶ DIR/trials.jsonl (one line per
           finished job: a resumed sweep skips them) ─▶ per config: corpus scores
    DIR/results.parquet   one row per config: the swept values and every metric
    DIR/pareto.csv        the configs no other beats on both false alerts per hour and recall
    DIR/best/OBJ.yaml     the best config per objective: the base config file with the swept
                          values set (check-config accepts it; it differs from the base only there)
    DIR/sweep.yaml        what this sweep is (grid, base config, corpus): a resumed sweep must match
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from driver_monitor.config import Config
from driver_monitor.errors import InputError, one_line
from driver_monitor.evaluation.corpus import CorpusScore, DriveScore, Tally
from driver_monitor.evaluation.truth import ClipTruth
from driver_monitor.fleet.corpus import CorpusEntry
from driver_monitor.fleet.corpus_eval import drive_jobs
from driver_monitor.fleet.evaluate import DriveJob, evaluate_job
from driver_monitor.fleet.executor import Engine
from driver_monitor.fleet.grid import Grid, Trial, with_values
from driver_monitor.fleet.stage_cache import stage_keys
from driver_monitor.outputs.files import open_private

TRIALS_NAME = "trials.jsonl"
RESULTS_NAME = "results.parquet"
PARETO_NAME = "pareto.csv"
SWEEP_NAME = "sweep.yaml"
BEST_DIR = "best"
FEATURES_DIR = "features"
# Objectives: (metric column, better is higher). Ties go to fewer false alerts per hour, then
# higher recall, then the first config. A share with nothing to judge (None) ranks above 0.
OBJECTIVES: dict[str, tuple[str, bool]] = {
    "f1": ("alerts.f1", True),
    "recall": ("alerts.recall", True),
    "precision": ("alerts.precision", True),
    "false_per_hour": ("alerts.false_per_hour", False),
    "warnings_f1": ("warnings.f1", True),
}
MAX_BATCH = 16


@dataclass
class SweepSummary:
    out_dir: Path
    engine: str
    configs: int
    drives: int
    hours: float
    rows: list[dict[str, Any]] = field(default_factory=list)
    resumed_pairs: int = 0  # (config, drive) scores a killed run of this sweep left in trials.jsonl
    jobs_run: int = 0
    evaluated_hours: float = 0.0  # config-drive-hours decided in this run
    wall_s: float = 0.0
    best: dict[str, str] = field(default_factory=dict)  # objective -> config id
    pareto: list[str] = field(default_factory=list)

    @property
    def config_drive_hours_per_s(self) -> float:
        return self.evaluated_hours / self.wall_s if self.wall_s > 0 else 0.0

    def text(self) -> str:
        by_id = {r["config_id"]: r for r in self.rows}
        lines = [f"swept {self.configs} configs over {self.drives} drives ({self.hours:.3f} h) into {self.out_dir}",
                 f"  ran         {self.jobs_run} jobs on {self.engine} in {self.wall_s:.1f} s "
                 f"({self.config_drive_hours_per_s:.3f} config-drive-hours/s)"
                 + (f"; {self.resumed_pairs} config-drive scores kept from before (resumed)" if self.resumed_pairs else "")]
        lines.append(f"  pareto      {len(self.pareto)} configs (false alerts/h vs recall): {PARETO_NAME}")
        for objective, config_id in self.best.items():
            row = by_id[config_id]
            metric, _ = OBJECTIVES[objective]
            lines.append(f"  best {objective:<15} {config_id}  {metric} {_fmt(row.get(metric))}  "
                         f"recall {_fmt(row.get('alerts.recall'))}, false/h {_fmt(row.get('alerts.false_per_hour'))}  "
                         f"-> {BEST_DIR}/{objective}.yaml")
        return "\n".join(lines)


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def sweep(entries: Sequence[CorpusEntry], truth: dict[str, ClipTruth] | None, truth_path: Path | None,
          grid: Grid, swept: Sequence[Trial], base: Config, base_data: Mapping[str, Any], out_dir: Path,
          engine: Engine, max_latency_s: float = 4.0, early_s: float = 0.5,
          progress: bool | None = None) -> SweepSummary:
    """swept: grid.trials(grid, base), every config validated before anything runs."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot create the sweep directory ({exc.strerror})") from None
    entries = _with_tables(entries, base, out_dir / FEATURES_DIR, engine, progress)
    jobs = drive_jobs(entries, truth, [(t.id, t.config) for t in swept], max_latency_s, early_s, decide_all=True)
    _claim(out_dir, grid, base, entries, truth_path, max_latency_s, early_s, _truth_digests(jobs))
    done = _read_trials(out_dir / TRIALS_NAME)
    _drop_cut_line(out_dir / TRIALS_NAME)
    batches = _batches(jobs, done, engine.workers, _sharing_order(swept))
    summary = SweepSummary(out_dir, engine.describe, len(swept), len(entries), 0.0)
    summary.resumed_pairs = len(done)
    started = time.perf_counter()
    from driver_monitor.progress import with_progress

    if engine.ray is not None:
        batches = _ray_frames(batches, engine)
    with open_private(out_dir / TRIALS_NAME, "a", encoding="utf-8") as journal:
        for job_scores in with_progress(engine.run_tasks(evaluate_job, batches), len(batches), progress, unit="job"):
            for config_id, drive_score in job_scores:
                done[(config_id, drive_score.name)] = drive_score
                summary.evaluated_hours += drive_score.duration_s / 3600.0
                journal.write(json.dumps({"config": config_id, "drive": drive_score.name,
                                          "score": _score_json(drive_score)}) + "\n")
            journal.flush()
            summary.jobs_run += 1
    summary.wall_s = time.perf_counter() - started
    results = {t.id: CorpusScore([done[(t.id, e.name)] for e in entries]) for t in swept}
    summary.hours = next(iter(results.values())).hours if results else 0.0
    summary.rows = result_rows(swept, results)
    summary.pareto = pareto_front(summary.rows)
    for row in summary.rows:
        row["pareto"] = row["config_id"] in summary.pareto
    summary.best = {o: best_config(summary.rows, o) for o in OBJECTIVES}
    _write_results(out_dir, summary, swept, base_data)
    return summary


# ---- the corpus's tables -------------------------------------------------------------------------

def _with_tables(entries: Sequence[CorpusEntry], base: Config, features_dir: Path, engine: Engine,
                 progress: bool | None) -> list[CorpusEntry]:
    """Every drive with a feature table: recordings without one are extracted first."""
    from driver_monitor.fleet.extract import Drive, extract

    missing = [e for e in entries if e.table is None]
    bad = next((e for e in missing if e.recording is None), None)
    if bad is not None:
        raise InputError(f"{bad.root}: no feature table (a sweep decides every drive from one): replay it with "
                         "outputs.features_format parquet, or extract its recording")
    if not missing:
        return list(entries)
    summary = extract([Drive(e.name, e.recording) for e in missing if e.recording is not None], base, features_dir,
                      engine, progress)
    failed = summary.count("failed")
    if failed:
        raise InputError(f"{failed[0].drive.path}: extraction failed: {failed[0].error}")
    tables = {r.drive.name: r.directory for r in summary.results}
    out = []
    for e in entries:
        directory = tables.get(e.name)
        out.append(replace(e, table=directory / "features.parquet") if directory is not None else e)
    return out


def _truth_digests(jobs: Sequence[DriveJob]) -> dict[str, str]:
    """Per drive, a digest of the ground truth its scores are made against (its labels, or its
    clip's intervals in the truth file): an edited truth.yaml or a relabelled drive makes
    another sweep, whose stored scores a resumed run must not reuse."""
    out: dict[str, str] = {}
    for job in jobs:
        truth = job.truth.model_dump(mode="json") if job.truth is not None else None
        text = json.dumps({"labels": job.labels, "truth": truth}, sort_keys=True, default=str)
        out[job.entry.name] = hashlib.sha256(text.encode()).hexdigest()[:16]
    return out


def _claim(out_dir: Path, grid: Grid, base: Config, entries: Sequence[CorpusEntry], truth_path: Path | None,
           max_latency_s: float, early_s: float, truth_digests: Mapping[str, str]) -> None:
    """sweep.yaml: what this directory's trials belong to. A resumed sweep must be the same one."""
    from driver_monitor.fleet.table import read_table_info

    identity = {
        "grid": {"search": grid.search, "samples": grid.samples, "seed": grid.seed, "keys": grid.keys},
        "base_config_sha256": hashlib.sha256(json.dumps(base.model_dump(mode="json"), sort_keys=True).encode()).hexdigest(),
        "corpus": sorted([e.name, str((read_table_info(e.table).provenance.get("input") or {}).get("sha256"))]
                         for e in entries if e.table is not None),
        "truth": str(truth_path) if truth_path is not None else None,
        "ground_truth": dict(sorted(truth_digests.items())),
        "max_latency_s": max_latency_s, "early_s": early_s,
    }
    identity = json.loads(json.dumps(identity, default=str))
    path = out_dir / SWEEP_NAME
    if path.is_file():
        try:
            before = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, yaml.YAMLError) as exc:  # ValueError: bad UTF-8, or a value YAML cannot build
            raise InputError(f"{path}: unreadable ({one_line(exc)}); remove the directory or choose another --out") from None
        if not isinstance(before, dict):
            raise InputError(f"{path}: not a sweep's description (a mapping); remove the directory or choose another --out")
        if before != identity:
            what = next((k for k in identity if before.get(k) != identity[k]), "sweep")
            raise InputError(f"{out_dir}: holds another sweep (its {what} differs): choose another --out, or remove it")
        return
    try:
        path.write_text(yaml.safe_dump(identity, sort_keys=False), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror or exc.__class__.__name__})") from None


def _read_trials(path: Path) -> dict[tuple[str, str], DriveScore]:
    done: dict[tuple[str, str], DriveScore] = {}
    if not path.is_file():
        return done
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        try:
            entry = json.loads(line)
            done[(entry["config"], entry["drive"])] = _score_of(entry["drive"], entry["score"])
        except (ValueError, KeyError, TypeError, IndexError):
            if number == len(lines):
                continue  # the last line of a killed sweep may be cut short: that job runs again
            raise InputError(f"{path}:{number}: not a trial line") from None
    return done


def _drop_cut_line(path: Path) -> None:
    """Cut a last line a killed sweep left without its newline (its job runs again): appended
    to, it would join the next trial's line and the directory could not be resumed again."""
    try:
        with open(path, "rb+") as fh:
            data = fh.read()
            if data and not data.endswith(b"\n"):
                fh.truncate(data.rfind(b"\n") + 1)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise InputError(f"{path}: cannot repair its cut last line ({exc.strerror})") from None


def _sharing_order(swept: Sequence[Trial]) -> dict[str, int]:
    """Each config's place in its drive's batches: configs that decide a stage alike next to
    each other (fleet/stage_cache.py shares a stage within a batch), the grid's order otherwise."""
    def stages(trial: Trial) -> tuple[str, ...]:
        return tuple(key or "" for key in stage_keys(trial.config).values())

    ordered = sorted(swept, key=stages)  # stable: equal keys keep the grid's order
    return {trial.id: rank for rank, trial in enumerate(ordered)}


def _batches(jobs: Sequence[DriveJob], done: Mapping[tuple[str, str], DriveScore], workers: int,
             order: Mapping[str, int] | None = None) -> list[DriveJob]:
    """Each drive's unfinished configs in batches: few configs per batch when the drives are
    too few to keep several workers busy, else up to MAX_BATCH (a drive's frames are read once
    per batch at most); in `order` (config id -> rank), so that a batch holds configs that
    share stages."""
    out: list[DriveJob] = []
    # One worker has nobody to balance against: a drive's configs in as few batches as can be,
    # so that they share their stages.
    per_drive = 1 if workers <= 1 else max(1, math.ceil(4 * workers / max(1, len(jobs))))
    for job in jobs:
        todo = [c for c in job.configs if (c[0], job.entry.name) not in done]
        if order is not None:
            todo.sort(key=lambda c: order.get(c[0], len(order)))
        if not todo:
            continue
        size = max(1, min(MAX_BATCH, math.ceil(len(todo) / per_drive)))
        out += [replace(job, configs=tuple(todo[i:i + size])) for i in range(0, len(todo), size)]
    return out


def _ray_frames(batches: list[DriveJob], engine: Engine) -> list[DriveJob]:
    """Ray tasks get a drive's frames from the object store, put there once per drive."""
    from driver_monitor.fleet.table import read_feature_table

    refs: dict[Path, Any] = {}
    out = []
    for job in batches:
        assert job.entry.table is not None
        if job.entry.root not in refs:
            refs[job.entry.root] = engine.put(read_feature_table(job.entry.table).frames)
        out.append(replace(job, frames_ref=[refs[job.entry.root]]))
    return out


def _score_json(score: DriveScore) -> dict[str, Any]:
    def tallies(part: Mapping[str, Tally]) -> dict[str, list[Any]]:
        return {n: [t.labels, t.found, t.false, t.latencies_s, t.not_active] for n, t in part.items()}

    return {"duration_s": score.duration_s, "events": tallies(score.events), "warnings": tallies(score.warnings)}


def _score_of(name: str, data: Mapping[str, Any]) -> DriveScore:
    def tallies(part: Mapping[str, list[Any]]) -> dict[str, Tally]:
        # A trials.jsonl of an earlier version has no not_active count (5th item): 0.
        return {n: Tally(int(v[0]), int(v[1]), int(v[2]), [float(x) for x in v[3]], int(v[4]) if len(v) > 4 else 0)
                for n, v in part.items()}

    return DriveScore(name, float(data["duration_s"]), tallies(data["events"]), tallies(data["warnings"]))


# ---- results ------------------------------------------------------------------------------------

def result_rows(swept: Sequence[Trial], results: Mapping[str, CorpusScore]) -> list[dict[str, Any]]:
    """One row per config (`_row`), each with the columns of every event and warning name any
    config raised or any label names: a config that never raised one has its zero counts there
    (not null, which a filter such as `false == 0` would drop)."""
    names = {part: sorted({n for r in results.values() for n in getattr(r, part)()}) for part in ("events", "warnings")}
    return [_row(t, results[t.id], names) for t in swept]


def _row(trial: Trial, result: CorpusScore, names: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """One config: its id, the swept values, every metric (alerts.*, warnings.*, event.NAME.*,
    warning.NAME.* for each of `names`)."""
    metrics = result.metrics()
    row: dict[str, Any] = {"config_id": trial.id, **{f"set.{k}": v for k, v in trial.values.items()},
                           "drives": metrics["drives"], "hours": metrics["hours"]}
    row.update({f"alerts.{k}": v for k, v in metrics["events_total"].items()})
    row.update({f"warnings.{k}": v for k, v in metrics["warnings_total"].items()})
    none = Tally().metrics(metrics["hours"])
    for part, prefix in (("events", "event"), ("warnings", "warning")):
        for name in names[part]:
            row.update({f"{prefix}.{name}.{k}": v for k, v in metrics[part].get(name, none).items()})
    return row


def pareto_front(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Ids of the configs that no other config beats on both axes (false alerts per hour: lower,
    recall: higher), by rising false alerts per hour; configs without a recall are left out.
    Configs tied at one point are all on the front (none beats another), in the grid's order."""
    points = [(r["config_id"], r.get("alerts.false_per_hour") or 0.0, r.get("alerts.recall")) for r in rows]
    points = [p for p in points if p[2] is not None]
    front = [p for p in points if not any((q[1] <= p[1] and q[2] >= p[2]) and (q[1] < p[1] or q[2] > p[2])
                                          for q in points)]
    return [cid for cid, _, _ in sorted(front, key=lambda p: (p[1], -p[2]))]  # stable: ties in grid order


def best_config(rows: Sequence[Mapping[str, Any]], objective: str) -> str:
    metric, higher = OBJECTIVES[objective]

    def key(indexed: tuple[int, Mapping[str, Any]]) -> tuple[Any, ...]:
        i, r = indexed
        value = r.get(metric)
        # A share with nothing to judge (F1 with nothing labelled nor raised, precision with
        # nothing raised) made no mistake: it ranks above 0, a share of mistakes only, and
        # below any share of successes. Ranked below everything, a config that raised only
        # false alerts was best by F1 over a corpus of attentive drives, and a silent one lost.
        if higher:
            primary: tuple[float, int] = (0.0, 1) if value is None else (value, 0)
        else:
            primary = (-math.inf, 0) if value is None else (-value, 0)
        fph = r.get("alerts.false_per_hour")
        recall = r.get("alerts.recall")
        return (primary, -fph if fph is not None else -math.inf, recall if recall is not None else -math.inf, -i)

    return max(enumerate(rows), key=key)[1]["config_id"]


def _write_results(out_dir: Path, summary: SweepSummary, swept: Sequence[Trial], base_data: Mapping[str, Any]) -> None:
    import csv

    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = list(dict.fromkeys(k for r in summary.rows for k in r))
    table = pa.Table.from_arrays([pa.array([r.get(c) for r in summary.rows]) for c in columns], names=columns)
    pq.write_table(table, out_dir / RESULTS_NAME)
    by_id = {r["config_id"]: r for r in summary.rows}
    front_columns = ["config_id", "alerts.false_per_hour", "alerts.recall", "alerts.precision", "alerts.f1",
                     *[c for c in columns if c.startswith("set.")]]
    with open_private(out_dir / PARETO_NAME, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(front_columns)
        for cid in summary.pareto:
            writer.writerow([by_id[cid].get(c) for c in front_columns])
    trials_by_id = {t.id: t for t in swept}
    (out_dir / BEST_DIR).mkdir(exist_ok=True)
    for objective, cid in summary.best.items():
        trial = trials_by_id[cid]
        data = partial_config(base_data, trial)
        header = (f"# best {objective} ({OBJECTIVES[objective][0]} {_fmt(by_id[cid].get(OBJECTIVES[objective][0]))}) "
                  f"of sweep {out_dir}: config {cid}\n# the base config with: "
                  + ", ".join(f"{k}={v!r}" for k, v in trial.values.items()) + "\n")
        (out_dir / BEST_DIR / f"{objective}.yaml").write_text(
            header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def partial_config(base_data: Mapping[str, Any], trial: Trial) -> dict[str, Any]:
    """The base config file's mapping with the trial's swept values set. A key through a list
    (policy ladders) sets the whole list, as the trial's config has it."""
    full = trial.config.model_dump(mode="json")
    values: dict[str, Any] = {}
    for key in trial.values:
        parts = key.split(".")
        node: Any = full
        for i, part in enumerate(parts):
            if isinstance(node, list):
                prefix = ".".join(parts[:i])
                values[prefix] = _lookup_path(full, parts[:i])
                break
            node = node[part]
        else:
            values[key] = node
    return with_values(base_data, values)


def _lookup_path(data: Any, parts: Sequence[str]) -> Any:
    for part in parts:
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data

