"""`driver-monitor sweep CORPUS --grid grid.yaml --out DIR`: every config of a grid or random
search scored over a labelled corpus by feature replay (driver_monitor/fleet/sweep.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from driver_monitor.commands import (
    EXIT_OK,
    Subparsers,
    add_engine_options,
    add_match_window_options,
    engine_of,
    match_window,
)


def register(sub: Subparsers) -> None:
    p = sub.add_parser("sweep", help="score every config of a grid over a corpus of labelled drives; the best YAML per objective")
    p.add_argument("corpus", nargs="+", metavar="CORPUS", help="directories of drives with labels (recordings, `extract` "
                   "directories, replay outputs with a Parquet table) or list files (.txt)")
    p.add_argument("--grid", required=True, metavar="YAML", help="dotted config keys and their values (docs/scaling.md)")
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="results, Pareto front, best configs; a sweep "
                   "interrupted here resumes without redoing finished work")
    p.add_argument("--config", "-c", default=None, help="the base config (default: the packaged default.yaml)")
    p.add_argument("--truth", default=None, metavar="YAML", help="score against behaviour-interval truth (truth.yaml "
                   "form) instead of each drive's labels.jsonl")
    add_match_window_options(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    add_engine_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from driver_monitor.config import DEFAULT_CONFIG_PATH, load_config
    from driver_monitor.config.loader import parse_yaml_mapping, read_yaml_text
    from driver_monitor.evaluation.truth import load_truth
    from driver_monitor.fleet.corpus import find_corpus
    from driver_monitor.fleet.grid import load_grid, trials
    from driver_monitor.fleet.sweep import sweep

    match_window(args)
    base = load_config(args.config)
    base_path = Path(args.config) if args.config is not None else DEFAULT_CONFIG_PATH
    base_data = parse_yaml_mapping(read_yaml_text(base_path), str(base_path), "a mapping") if args.config else {}
    grid = load_grid(args.grid)
    swept = trials(grid, base)  # every config checked before anything else
    from driver_monitor.pipeline import check_value_keys

    for config in (base, *(trial.config for trial in swept)):
        check_value_keys(config)
    truth_path = Path(args.truth) if args.truth is not None else None
    truth = load_truth(truth_path) if truth_path is not None else None
    entries = find_corpus(list(args.corpus), truth, truth_path)
    summary = sweep(entries, truth, truth_path, grid, swept, base, base_data, Path(args.out), engine_of(args),
                    args.max_latency_s, args.early_s, progress=False if args.no_progress else None)
    print(summary.text())
    return EXIT_OK
