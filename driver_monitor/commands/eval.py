"""`driver-monitor eval EVENTS LABELS`: score a replay's events against ground truth."""

from __future__ import annotations

import argparse
from pathlib import Path

from driver_monitor.commands import EXIT_OK, Subparsers, positive_float


def register(sub: Subparsers) -> None:
    p = sub.add_parser("eval", help="score a replay's events against a recording's labels")
    p.add_argument("events", help="events.jsonl or the replay output directory holding it")
    p.add_argument("labels", help="labels.jsonl or the recording directory holding it")
    p.add_argument("--max-latency-s", type=positive_float, default=4.0, help="latest a detection may fire after the label ends (default 4)")
    p.add_argument("--early-s", type=float, default=0.5, help="earliest a detection may fire before the label starts (default 0.5)")
    p.add_argument("--name", action="append", help="only these event names (repeatable)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from driver_monitor.evaluation.scoring import report, score
    from driver_monitor.outputs.event_log import read_event_log

    events = Path(args.events)
    labels = Path(args.labels)
    detections = read_event_log(events / "events.jsonl" if events.is_dir() else events)
    truth = read_event_log(labels / "labels.jsonl" if labels.is_dir() else labels)
    print(report(score(detections, truth, args.max_latency_s, args.early_s, args.name or None)))
    return EXIT_OK
