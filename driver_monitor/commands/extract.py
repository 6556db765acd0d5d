"""`driver-monitor extract INPUTS... --out FEATURE_DIR`: the tracker once per drive, its per-frame
table kept for feature replay, corpus evaluation and sweeps (driver_monitor/fleet/extract.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from driver_monitor.commands import EXIT_ERROR, EXIT_OK, Subparsers, add_engine_options, engine_of


def register(sub: Subparsers) -> None:
    p = sub.add_parser("extract", help="run the face tracker once per drive and keep its per-frame tables")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="recording directories, video files, directories of them, or list files (.txt, one path a line)")
    p.add_argument("--out", "-o", required=True, metavar="FEATURE_DIR", help="where the tables go (one directory per drive)")
    p.add_argument("--config", "-c", default=None, help="config YAML (its perception, video, camera-health and vehicle "
                   "settings decide the tables; default: the packaged default.yaml)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars even on a terminal")
    add_engine_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from driver_monitor.config import load_config
    from driver_monitor.fleet.extract import extract, find_drives

    config = load_config(args.config)
    drives = find_drives(args.inputs)
    summary = extract(drives, config, Path(args.out), engine_of(args), progress=False if args.no_progress else None)
    print(summary.text())
    return EXIT_ERROR if summary.count("failed") else EXIT_OK
