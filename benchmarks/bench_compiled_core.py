"""The decision core compiled by mypyc (scripts/compile_core.py) against its Python modules:
feature replay's decisions on the same table, alternating processes, in one run.

    python benchmarks/bench_compiled_core.py [--table REPLAY_DIR] [--root COMPILED_TREE] [--rounds N]

--table: a replay's output directory (features.parquet/.csv); default: bench_fleet.py's drive
(scenarios/progressive_drowsiness.yaml at 30 fps, 320x240, 240 s), replayed once into
~/.cache/driver-monitor/bench. --root: a source tree already compiled (default: the package
copied into a temporary directory and compiled there, ~1 min). Each round runs the Python
modules then the compiled ones, each in a fresh process timing `decide_events` (frames in
memory -> events) and `replay --features` end to end (read the table, decide, write the
outputs; Parquet and CSV feature tables), best of 3 each, process time; the medians of the
rounds are reported with the ratio, the real-time factor of a 30 fps drive on one core and
whether the events are the same (a digest of their JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

# Run in a fresh process: decide_events over the table, then `replay --features` end to end
# (read the table, decide, write events.jsonl and the feature table) with Parquet and with CSV
# output, best of 3 each; prints one JSON line.
_TIMER = """
import hashlib, json, logging, sys, tempfile, time
from pathlib import Path
logging.disable(logging.WARNING)
import driver_monitor
from driver_monitor.config import load_config
from driver_monitor.config.outputs import FeaturesFormat
from driver_monitor.fleet.feature_replay import decide_events, replay_features
from driver_monitor.fleet.table import read_feature_table
table = read_feature_table(sys.argv[1])
config = load_config()
def best_of_3(run):
    best = None
    for _ in range(3):
        start = time.process_time()
        result = run()
        spent = time.process_time() - start
        best = spent if best is None else min(best, spent)
    return best, result
decide_s, events = best_of_3(lambda: decide_events(table.frames, config, table.path))
end_to_end = {}
with tempfile.TemporaryDirectory() as out:
    for fmt in FeaturesFormat:
        c = config.model_copy(update={"outputs": config.outputs.model_copy(update={"features_format": fmt})})
        end_to_end[fmt.value], _ = best_of_3(lambda: replay_features(table.path, c, Path(out) / fmt.value, progress=False))
frames = len(table.frames)
drive_s = table.frames[-1].t - table.frames[0].t if frames > 1 else 0.0
print(json.dumps({"compiled": driver_monitor.compiled_core(), "frames": frames, "drive_s": drive_s,
                  "us_per_frame": decide_s / frames * 1e6,
                  "end_to_end_us": {k: v / frames * 1e6 for k, v in end_to_end.items()},
                  "events": len(events), "digest": hashlib.sha256(json.dumps(events).encode()).hexdigest()}))
"""


def default_table() -> Path:
    from bench_fleet import CACHE, default_recording

    from driver_monitor.config import load_config
    from driver_monitor.errors import DriverMonitorError
    from driver_monitor.fleet.table import read_feature_table
    from driver_monitor.replay import replay

    target = CACHE / "progressive_drowsiness_30fps_replay"
    try:
        read_feature_table(target)  # a table of this feature code (replayed again after a change)
        fresh = True
    except DriverMonitorError:
        fresh = False
    if not fresh:
        print(f"replaying the drive once into {target} (the tracker: a few minutes)", flush=True)
        shutil.rmtree(target, ignore_errors=True)
        replay(default_recording(), load_config(), target, progress=False)
    return target


def compiled_tree(work: Path) -> Path:
    root = work / "compiled"
    shutil.copytree(REPO / "driver_monitor", root / "driver_monitor",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    print("compiling the decision core (mypyc, ~1 min)", flush=True)
    subprocess.run([sys.executable, str(REPO / "scripts" / "compile_core.py"), "--root", str(root)], check=True)
    return root


def timed(table: Path, root: Path | None) -> dict:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if root is not None:
        env["PYTHONPATH"] = str(root)
    done = subprocess.run([sys.executable, "-c", _TIMER, str(table)], cwd=root or REPO, env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, help="a replay's output directory (default: the bench drive)")
    parser.add_argument("--root", type=Path, help="a source tree compiled by scripts/compile_core.py")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    table = args.table or default_table()
    with tempfile.TemporaryDirectory() as work:
        root = args.root or compiled_tree(Path(work))
        rows: dict[bool, list[dict]] = {False: [], True: []}
        load_before = os.getloadavg()[0]
        for n in range(args.rounds):
            for compiled in (False, True):
                result = timed(table, root if compiled else None)
                assert result["compiled"] == compiled, result
                rows[compiled].append(result)
                print(f"round {n + 1}: {'compiled' if compiled else 'python  '} {result['us_per_frame']:7.1f} us/frame, "
                      f"replay --features {result['end_to_end_us']['parquet']:.1f} (Parquet) "
                      f"{result['end_to_end_us']['csv']:.1f} (CSV)", flush=True)
        load_after = os.getloadavg()[0]
    python_us = statistics.median(r["us_per_frame"] for r in rows[False])
    compiled_us = statistics.median(r["us_per_frame"] for r in rows[True])
    first = rows[False][0]
    frame_s = first["drive_s"] / max(first["frames"] - 1, 1)
    same = len({r["digest"] for r in rows[False] + rows[True]}) == 1
    print(f"\n{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load {load_before:.1f} -> {load_after:.1f}; {table}: {first['frames']} frames, {first['drive_s']:.0f} s")
    print("| decision core | decisions: us a frame (median of rounds) | x real time on one core "
          "| `replay --features` end to end, Parquet out | CSV out |")
    print("|---|---|---|---|---|")
    for compiled, name, us in ((False, "Python modules", python_us), (True, "compiled (mypyc)", compiled_us)):
        ends = [statistics.median(r["end_to_end_us"][fmt] for r in rows[compiled]) for fmt in ("parquet", "csv")]
        print(f"| {name} | {us:.0f} | {frame_s * 1e6 / us:.0f}x | "
              + " | ".join(f"{e:.0f} us, {frame_s * 1e6 / e:.0f}x" for e in ends) + " |")
    print(f"\ncompiled / Python: {python_us / compiled_us:.2f}x faster; events identical: {same} "
          f"({first['events']} events)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
