"""`driver-monitor eval EVENTS LABELS` / `eval EVENTS --truth truth.yaml`: score a replay's
events against ground truth (labels.jsonl, or behaviour intervals in truth.yaml form)."""

from __future__ import annotations

import argparse
from pathlib import Path

from driver_monitor.commands import EXIT_ERROR, EXIT_OK, Subparsers, positive_float
from driver_monitor.errors import InputError


def register(sub: Subparsers) -> None:
    p = sub.add_parser("eval", help="score a replay's events against a recording's labels or a truth.yaml")
    p.add_argument("events", help="events.jsonl or the replay output directory holding it")
    p.add_argument("labels", nargs="?", default=None, help="labels.jsonl or the recording directory holding it (or use --truth)")
    p.add_argument("--truth", default=None, metavar="YAML", help="behaviour-interval truth (truth.yaml form, ../shared/data/real/): expected events and false alerts; exit 1 unless all found and none false")
    p.add_argument("--clip", default=None, help="the clip of --truth this replay is (default: the replay directory's name)")
    p.add_argument("--max-latency-s", type=positive_float, default=4.0, help="latest a detection may fire after the label ends (default 4)")
    p.add_argument("--early-s", type=float, default=0.5, help="earliest a detection may fire before the label starts (default 0.5)")
    p.add_argument("--name", action="append", help="only these event names (repeatable)")
    from driver_monitor.report.commands import add_eval_options

    add_eval_options(p)  # --report
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from driver_monitor.outputs.event_log import read_event_log

    events = Path(args.events)
    detections = read_event_log(events / "events.jsonl" if events.is_dir() else events)
    if args.truth is not None:
        return _eval_truth(args, events, detections)
    if args.labels is None:
        raise InputError("eval needs LABELS (labels.jsonl or a recording directory) or --truth truth.yaml")
    from driver_monitor.evaluation.scoring import report, score

    labels = Path(args.labels)
    truth = read_event_log(labels / "labels.jsonl" if labels.is_dir() else labels)
    scores = score(detections, truth, args.max_latency_s, args.early_s, args.name or None)
    print(report(scores))
    from driver_monitor.report.commands import eval_report

    eval_report(args, events, scores)
    return EXIT_OK


def _eval_truth(args: argparse.Namespace, events: Path, detections: list[dict]) -> int:
    """Score against behaviour-interval truth; exit 1 when an expected event is missed or a
    false alert was raised, so scripts and CI can gate on it."""
    from driver_monitor.evaluation.truth import find_clip, load_truth, report, score_clip

    truth = load_truth(args.truth)
    clip = find_clip(truth, args.clip or (events.name if events.is_dir() else events.parent.name))
    result = score_clip(clip, truth[clip], detections)
    print(report([result]))
    from driver_monitor.report.commands import eval_report

    eval_report(args, events, result)
    return EXIT_OK if result.ok else EXIT_ERROR
