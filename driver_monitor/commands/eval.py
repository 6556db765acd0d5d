"""`driver-monitor eval EVENTS LABELS` / `eval EVENTS --truth truth.yaml`: score a replay's
events against ground truth (labels.jsonl, or behaviour intervals in truth.yaml form).
`eval CORPUS`: a directory of drives (replay outputs, extractions, recordings) or a list file,
every drive scored and summed (driver_monitor/fleet/corpus_eval.py)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from driver_monitor.commands import (
    EXIT_ERROR,
    EXIT_OK,
    Subparsers,
    add_engine_options,
    add_match_window_options,
    engine_of,
    match_window,
)
from driver_monitor.errors import InputError


def register(sub: Subparsers) -> None:
    p = sub.add_parser("eval", help="score a replay's events, or a whole corpus of drives, against labels or a truth.yaml")
    p.add_argument("events", help="events.jsonl or the replay output directory holding it; or a CORPUS: a directory of "
                   "drives (replay outputs, `extract` directories, recordings) or a list file (.txt)")
    p.add_argument("labels", nargs="?", default=None, help="labels.jsonl or the recording directory holding it (or use --truth)")
    p.add_argument("--truth", default=None, metavar="YAML", help="behaviour-interval truth (truth.yaml form, ../shared/data/real/): expected events and false alerts; exit 1 unless all found and none false")
    p.add_argument("--clip", default=None, help="the clip of --truth this replay is (default: the replay directory's name)")
    add_match_window_options(p)
    p.add_argument("--name", action="append", help="only these event names (repeatable)")
    p.add_argument("--config", "-c", default=None, help="CORPUS: decide every drive again under this config (from its "
                   "feature table; default: replay outputs as they are, other drives under the packaged default)")
    p.add_argument("--json", default=None, metavar="OUT", help="CORPUS: every number as JSON (per event, per warning, per drive)")
    add_engine_options(p)
    from driver_monitor.report.commands import add_eval_options

    add_eval_options(p)  # --report
    p.set_defaults(func=run)


def is_corpus(path: Path) -> bool:
    """A directory of drives or a list file, not one replay's events."""
    from driver_monitor.fleet.extract import LIST_SUFFIXES

    if path.is_file():
        return path.suffix.lower() in LIST_SUFFIXES
    return path.is_dir() and not (path / "events.jsonl").is_file()


def run(args: argparse.Namespace) -> int:
    from driver_monitor.outputs.event_log import read_event_log, read_labels

    _check_names(args.name)
    match_window(args)
    events = Path(args.events)
    if is_corpus(events):
        if args.labels is not None:
            raise InputError(f"{events}: a corpus takes its labels from each drive (or --truth), not LABELS")
        return _eval_corpus(args, events)
    if args.config is not None or args.json is not None:
        raise InputError("--config and --json are for a CORPUS (a directory of drives or a list file)")
    detections = read_event_log(events / "events.jsonl" if events.is_dir() else events)
    if args.truth is not None:
        if args.labels is not None:  # one of them would be ignored: the table would not be what was asked for
            raise InputError(f"{args.labels}: eval scores against LABELS or --truth, not both")
        return _eval_truth(args, events, detections)
    if args.labels is None:
        raise InputError("eval needs LABELS (labels.jsonl or a recording directory) or --truth truth.yaml")
    from driver_monitor.evaluation.scoring import report, score

    labels = Path(args.labels)
    truth = read_labels(labels / "labels.jsonl" if labels.is_dir() else labels)
    scores = score(detections, truth, args.max_latency_s, args.early_s, args.name or None)
    print(report(scores))
    from driver_monitor.report.commands import eval_report

    eval_report(args, events, scores)
    return EXIT_OK


def _check_names(names: list[str] | None) -> None:
    """--name takes event names: a misspelt one would print an empty table, as if nothing
    of it had happened."""
    from driver_monitor.names import EventName

    known = {str(name) for name in EventName}
    for name in names or ():
        if name not in known:
            raise InputError(f"--name {name}: not an event name (event names: {', '.join(sorted(known))})")


def _eval_truth(args: argparse.Namespace, events: Path, detections: list[dict]) -> int:
    """Score against behaviour-interval truth; exit 1 when an expected event is missed or a
    false alert was raised, so scripts and CI can gate on it."""
    from driver_monitor.evaluation.truth import find_clip, load_truth, report, score_clip

    truth = load_truth(args.truth)
    clip = find_clip(truth, args.clip or (events.name if events.is_dir() else events.parent.name), args.truth)
    result = score_clip(clip, truth[clip], detections)
    print(report([result]))
    from driver_monitor.report.commands import eval_report

    eval_report(args, events, result)
    return EXIT_OK if result.ok else EXIT_ERROR


def _eval_corpus(args: argparse.Namespace, corpus: Path) -> int:
    from driver_monitor.config import load_config
    from driver_monitor.evaluation.truth import load_truth
    from driver_monitor.fleet.corpus import find_corpus
    from driver_monitor.fleet.corpus_eval import evaluate_corpus, write_corpus_reports

    truth_path = Path(args.truth) if args.truth is not None else None
    truth = load_truth(truth_path) if truth_path is not None else None
    config = load_config(args.config) if args.config is not None else None
    if config is not None:
        from driver_monitor.pipeline import check_value_keys

        check_value_keys(config)  # one line now, not one failed drive each
    entries = find_corpus([corpus], truth, truth_path)
    result = evaluate_corpus(entries, truth, config, engine_of(args), args.max_latency_s, args.early_s)
    print(result.text(args.name))
    if args.json is not None:
        try:
            Path(args.json).write_text(json.dumps(result.metrics(), indent=1, allow_nan=False) + "\n", encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{args.json}: cannot write the JSON ({exc.strerror})") from None
    if args.report is not None:
        index = write_corpus_reports(entries, result, truth_path, config, Path(args.report), args.max_latency_s,
                                     args.early_s)
        print(f"report {index} ({len(entries)} drives)")
    if truth is not None and any(t.missed or t.false for d in result.drives for t in d.events.values()):
        return EXIT_ERROR
    return EXIT_OK
