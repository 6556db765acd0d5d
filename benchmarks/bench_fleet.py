"""Fleet throughput (docs/scaling.md): feature replay against the full replay, extraction per core,
sweeps per core, and the speed-up of 2 workers over 1.

    python benchmarks/bench_fleet.py [RECORDING] [--repeats N] [--copies N] [--part replay|extract|sweep|all]

RECORDING: a 30 fps recording with labels (default: scenarios/progressive_drowsiness.yaml
rendered at 30 fps, 320x240 into ~/.cache/driver-monitor/bench, once); the extraction part uses
recordings/selfie_writing (640x360, a real face) unless --extract-input says. Every figure is a ratio or a rate
within one run; CPU seconds (process time) are given beside wall seconds, since on a shared
machine the wall clock also counts the other jobs' time.

  replay   the full replay (tracker) once, then feature replay of its table, alternating
           repeats: `replay --features` end to end (read, decide, write the outputs) and the
           decisions alone (frames in memory -> events); x real time = drive time / time
  extract  `extract` of N copies of a drive with 1 worker (staged replay: its threads use every
           core) then 2 worker processes (serial, one core each): frames/s, frames per CPU second
  sweep    one batch of 4 configs over the drive's table (two sections swept, then one), the stages they share
           decided once against the camera heart rate alone shared (alternating); then the grid
           over N copies of the table with 1 then 2 worker processes: config-drive-hours
           evaluated per second, config-drive-seconds per CPU second
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "driver-monitor" / "bench"
SCENARIO = REPO / "scenarios" / "progressive_drowsiness.yaml"
GRID = ("distraction.long_distraction.threshold_s: [2.5, 3.0]\n"
        "drowsiness.closure.microsleep_min_duration_s: [0.8, 1.0]\n")
# One section swept (the common case when tuning one detector): everything before it is shared.
GRID_ONE_SECTION = "distraction.long_distraction.threshold_s: [2.5, 3.0, 3.5, 4.0]\n"


def default_recording() -> Path:
    from driver_monitor.sim.scenario import load_scenario
    from driver_monitor.sim.simulate import simulate

    target = CACHE / "progressive_drowsiness_30fps"
    if not (target / "labels.jsonl").is_file():
        print(f"rendering {SCENARIO.name} at 30 fps into {target} (once)")
        shutil.rmtree(target, ignore_errors=True)
        simulate(load_scenario(SCENARIO), target, fps=30.0, size=(320, 240))
    return target


def cpu_s() -> float:
    """CPU seconds of this process and its finished children (the pool's workers, reaped when
    the pool closes): the work done, whatever else the machine runs."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def bench_replay(recording: Path, repeats: int, work: Path) -> None:
    from driver_monitor.config import load_config
    from driver_monitor.config.overrides import with_overrides
    from driver_monitor.fleet.feature_replay import decide_events, replay_features
    from driver_monitor.fleet.table import read_feature_table
    from driver_monitor.replay import replay

    config = with_overrides(load_config(), {"outputs": {"features_format": "parquet"}})
    summary, full_wall, full_cpu = timed(lambda: replay(recording, config, work / "full", progress=False))
    drive_s = summary.duration_s
    table = read_feature_table(work / "full")
    ends, core = [], []
    for k in range(repeats):
        _, wall, cpu = timed(lambda k=k: replay_features(work / "full", config, work / f"feat{k}", progress=False))
        ends.append((wall, cpu))
        events, wall, cpu = timed(lambda: decide_events(table.frames, config, table.path))
        core.append((wall, cpu))
    same = (work / "feat0" / "events.jsonl").read_text() == (work / "full" / "events.jsonl").read_text()
    print(f"drive: {recording} ({summary.frames} frames, {drive_s:.1f} s, {summary.frames / drive_s:.1f} fps)")
    print(f"  full replay            wall {full_wall:7.2f} s  cpu {full_cpu:7.2f} s  "
          f"{drive_s / full_wall:7.2f}x real time (wall)  {drive_s / full_cpu:7.2f}x (cpu)")
    for name, runs in (("replay --features", ends), ("decisions only", core)):
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(f"  {name:<22} wall {wall:7.3f} s  cpu {cpu:7.3f} s  {drive_s / wall:7.1f}x real time (wall)  "
              f"{drive_s / cpu:7.1f}x (cpu)  {full_wall / wall:6.1f}x faster than the full replay (wall), "
              f"{1e6 * cpu / summary.frames:.0f} us/frame cpu")
    print(f"  events identical to the full replay: {same}")


def bench_extract(recording: Path, copies: int, work: Path) -> None:
    from driver_monitor.config import load_config
    from driver_monitor.fleet.executor import Engine
    from driver_monitor.fleet.extract import extract, find_drives

    drives_dir = work / "drives"
    print(f"extract: {copies} copies of {recording}")
    for k in range(copies):
        shutil.copytree(recording, drives_dir / f"copy{k}", ignore=shutil.ignore_patterns("features.parquet"))
        with (drives_dir / f"copy{k}" / "meta.yaml").open("a") as fh:
            fh.write(f"\nbench_copy: {k}\n")  # another content, another directory
    drives = find_drives([drives_dir])
    rates = {}
    for jobs in (1, 2):
        out = work / f"extract{jobs}"
        cpu = cpu_s()
        summary = extract(drives, load_config(), out, Engine(jobs=jobs), progress=False)
        cpu = cpu_s() - cpu
        frames = sum(r.frames for r in summary.results)
        rates[jobs] = frames / summary.wall_s
        print(f"  extract, {jobs} worker(s): {frames} frames in {summary.wall_s:.1f} s = {rates[jobs]:.1f} frames/s; "
              f"cpu {cpu:.1f} s = {frames / cpu:.1f} frames per core-second")
    print(f"  speed-up 2 workers / 1: {rates[2] / rates[1]:.2f}x")


def bench_sweep(recording: Path, copies: int, work: Path) -> None:
    from driver_monitor.config import load_config
    from driver_monitor.fleet.corpus import find_corpus
    from driver_monitor.fleet.executor import Engine
    from driver_monitor.fleet.grid import load_grid, trials
    from driver_monitor.fleet.sweep import sweep

    full = work / "full"
    corpus = work / "corpus"
    for k in range(copies):
        (corpus / f"drive{k}").mkdir(parents=True)
        for name in ("features.parquet", "run.yaml"):
            shutil.copy(full / name, corpus / f"drive{k}" / name)
        shutil.copy(recording / "labels.jsonl", corpus / f"drive{k}" / "labels.jsonl")
    (work / "grid.yaml").write_text(GRID)
    grid = load_grid(work / "grid.yaml")
    base = load_config()
    rates = {}
    for jobs in (1, 2):
        cpu = cpu_s()
        summary = sweep(find_corpus([corpus]), None, None, grid, trials(grid, base), base, {}, work / f"sweep{jobs}",
                        Engine(jobs=jobs), progress=False)
        cpu = cpu_s() - cpu
        rates[jobs] = summary.config_drive_hours_per_s
        print(f"  sweep, {jobs} worker(s): {summary.configs} configs x {summary.drives} drives "
              f"({summary.evaluated_hours:.3f} config-drive-hours) in {summary.wall_s:.1f} s = "
              f"{rates[jobs]:.4f} config-drive-hours/s; cpu {cpu:.1f} s = "
              f"{summary.evaluated_hours * 3600 / cpu:.0f} config-drive-seconds per core-second")
    print(f"  speed-up 2 workers / 1: {rates[2] / rates[1]:.2f}x")


def bench_batch(repeats: int, work: Path, grid_text: str) -> None:
    """One batch of the grid's configs over the drive's table, as a sweep worker decides it:
    each stage the configs decide alike once (fleet/stage_cache.py), against the camera heart
    rate alone shared (what a batch shared before); alternating, medians; the same events."""
    from driver_monitor.config import load_config
    from driver_monitor.fleet.feature_replay import decide_events
    from driver_monitor.fleet.grid import load_grid, trials
    from driver_monitor.fleet.stage_cache import SharedDrive
    from driver_monitor.fleet.table import read_feature_table

    table = read_feature_table(work / "full")
    (work / "batch-grid.yaml").write_text(grid_text)
    configs = [trial.config for trial in trials(load_grid(work / "batch-grid.yaml"), load_config())]

    def batch(share_stages: bool) -> list[list[dict]]:
        shared = SharedDrive()
        if share_stages:
            shared.plan(configs)
        return [decide_events(table.frames, c, table.path, shared) for c in configs]

    runs: dict[bool, list[float]] = {False: [], True: []}
    answers = {}
    for _ in range(repeats):
        for share in (False, True):
            answers[share], _, cpu = timed(lambda share=share: batch(share))
            runs[share].append(cpu)
    frames = len(table.frames) * len(configs)
    before, after = (statistics.median(runs[s]) for s in (False, True))
    print(f"  batch of {len(configs)} configs x {len(table.frames)} frames ({grid_text.strip().replace(chr(10), '; ')})")
    print(f"    heart rate shared only   cpu {before:6.2f} s  {1e6 * before / frames:5.0f} us per config-frame")
    print(f"    stages shared            cpu {after:6.2f} s  {1e6 * after / frames:5.0f} us per config-frame  "
          f"{before / after:.2f}x faster; the same events: {answers[True] == answers[False]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recording", nargs="?", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--copies", type=int, default=4, help="drives for the extract / sweep parts")
    parser.add_argument("--part", choices=("replay", "extract", "sweep", "all"), default="all")
    parser.add_argument("--extract-input", type=Path, default=REPO / "recordings" / "selfie_writing")
    args = parser.parse_args()
    recording = args.recording or default_recording()
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load {os.getloadavg()[0]:.1f} at the start")
    with tempfile.TemporaryDirectory(prefix="dm-bench-fleet-") as tmp:
        work = Path(tmp)
        if args.part in ("replay", "sweep", "all"):
            bench_replay(recording, args.repeats, work)
        if args.part in ("extract", "all"):
            bench_extract(args.extract_input, args.copies, work)
        if args.part in ("sweep", "all"):
            for grid_text in (GRID, GRID_ONE_SECTION):
                bench_batch(args.repeats, work, grid_text)
            bench_sweep(recording, args.copies, work)
    print(f"load {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
