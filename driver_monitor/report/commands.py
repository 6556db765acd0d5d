"""The command-line side of the report package: the `report` and `annotate` subcommands, and
the options it adds to `replay` (--report, --annotate) and `eval` (--report). cli.py calls
these few functions and knows nothing else of the report."""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from driver_monitor.errors import InputError, ReplayCutShort

if TYPE_CHECKING:  # the config models take ~0.7 s to import: only inside the handlers
    from driver_monitor.config import Config

EXIT_OK = 0
EXIT_ERROR = 1
REPORT_NAME = "report.html"


# -- driver-monitor report ---------------------------------------------------------------------

def register(sub: Any) -> None:
    """Add `report` and `annotate` to the subparsers."""
    p = sub.add_parser("report", help="an interactive HTML report of a replay (one self-contained file)")
    p.add_argument("replay_out", metavar="REPLAY_OUT", help="the replay's output directory (events.jsonl, features.csv|parquet)")
    p.add_argument("--out", "-o", default=None, help=f"the HTML file to write (default: REPLAY_OUT/{REPORT_NAME})")
    truth = p.add_mutually_exclusive_group()
    truth.add_argument("--labels", default=None, help="labels.jsonl (or the recording holding it): found / missed / false marked")
    truth.add_argument("--truth", default=None, metavar="YAML", help="behaviour-interval truth (truth.yaml form)")
    p.add_argument("--clip", default=None, help="the clip of --truth (default: the replay directory's name)")
    p.add_argument("--video", default=None, metavar="INPUT", help="the replay's input: adds a face picture at each event's "
                   "start (personal data: only when asked) and the vehicle speed of a recording's CAN log")
    p.add_argument("--input", default=None, metavar="INPUT", help="the replay's input, for the vehicle speed of its CAN log only (no pictures)")
    p.add_argument("--config", "-c", default=None, help="the config the replay ran with (default: run.yaml's, else the packaged default)")
    p.set_defaults(func=run_report)

    p = sub.add_parser("annotate", help="the video with eyes, iris, head pose, gaze, zone, closure, events and actions drawn on it")
    p.add_argument("input", help="a video file or a recording directory (as replay reads)")
    p.add_argument("--out", "-o", required=True, help="the video to write (.mp4, .mkv or .mov)")
    p.add_argument("--config", "-c", default=None, help="config YAML (default: the packaged default.yaml)")
    p.add_argument("--gif-fps", type=float, default=None, help="frame rate to read a GIF at (overrides video.gif_fps)")
    p.set_defaults(func=run_annotate)


def run_report(args: argparse.Namespace) -> int:
    from driver_monitor.report.drive_report import ReportRequest, write_report

    config, source = _config(args.config)
    replay_out = Path(args.replay_out)
    result = write_report(ReportRequest(
        replay_out, Path(args.out) if args.out else replay_out / REPORT_NAME,
        labels=_path(args.labels), truth=_path(args.truth), clip=args.clip, video=_path(args.video),
        input_path=_path(args.input), config=config, config_source=source))
    print(result.text())
    return EXIT_OK


def run_annotate(args: argparse.Namespace) -> int:
    from driver_monitor.config import load_config

    config = load_config(args.config)
    if args.gif_fps is not None:
        if not args.gif_fps > 0:
            raise InputError(f"--gif-fps must be > 0 (got {args.gif_fps:g})")
        config = config.model_copy(update={"video": config.video.model_copy(update={"gif_fps": args.gif_fps})})
    frames, path = annotate_video(Path(args.input), Path(args.out), config)
    print(f"annotated {args.input}: {frames} frames -> {path}")
    return EXIT_OK


def annotate_video(input_path: Path, out_path: Path, config: Config | None = None) -> tuple[int, Path]:
    """Replay `input_path` (same pipeline, same decisions as `replay`) and write the annotated
    video; the CAN / serial outputs stay off (annotating is not driving)."""
    from driver_monitor.config import load_config
    from driver_monitor.replay import replay

    config = _quiet(config if config is not None else load_config(None))
    with tempfile.TemporaryDirectory(prefix="dm-annotate-") as tmp, _annotating(config, out_path) as (tracker, writer):
        try:
            replay(input_path, config, Path(tmp), progress=False, tracker=tracker, extra_sinks=[writer])
        except ReplayCutShort as exc:  # the replay's own outputs went to a directory removed now
            raise InputError(f"{exc.reason} ({writer.frames} frames before it were annotated in {out_path})") from None
    return writer.frames, out_path


# -- replay --report / --annotate --------------------------------------------------------------

def add_replay_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--report", nargs="?", const="", default=None, metavar="HTML",
                   help=f"also write the HTML report (default file: OUT/{REPORT_NAME})")
    p.add_argument("--annotate", default=None, metavar="VIDEO", help="also write the annotated video (.mp4/.mkv/.mov)")


@dataclass
class ReplayHooks:
    tracker: Any = None  # a face tracker for replay() (None: replay makes its own)
    sinks: list[Any] = field(default_factory=list)

    def after(self, args: argparse.Namespace, out_dir: Path, config: Config) -> None:
        """After a finished replay: write the report, say where the outputs went."""
        if self.sinks:
            print(f"  annotated     {self.sinks[0].path} ({self.sinks[0].frames} frames)")
        if args.report is not None:
            from driver_monitor.report.drive_report import ReportRequest, write_report

            path = Path(args.report) if args.report else out_dir / REPORT_NAME
            result = write_report(ReportRequest(out_dir, path, input_path=_path(args.input), config=config,
                                                config_source=args.config or "packaged default"))
            print(f"  report        {result.path} ({result.bytes / 1e6:.1f} MB)")


@contextmanager
def replay_hooks(args: argparse.Namespace, config: Config) -> Iterator[ReplayHooks]:
    """What replay needs for --annotate (a tracker that shares its frames, a video sink)."""
    if getattr(args, "annotate", None) is None:
        yield ReplayHooks()
        return
    with _annotating(config, Path(args.annotate)) as (tracker, writer):
        yield ReplayHooks(tracker, [writer])


@contextmanager
def _annotating(config: Config, out_path: Path) -> Iterator[tuple[Any, Any]]:
    from driver_monitor.perception.tracker import create_tracker
    from driver_monitor.report.annotate import AnnotatedVideoWriter, ObservingTracker

    tracker = ObservingTracker(create_tracker(config.perception))
    writer = AnnotatedVideoWriter(out_path, tracker)
    try:
        yield tracker, writer
    finally:
        writer.close()  # replay closes its sinks; this covers a failure before it started
        tracker.close()


# -- eval --report -----------------------------------------------------------------------------

def add_eval_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--report", default=None, metavar="DIR",
                   help="also write DIR/NAME.html (the drive with the truth beside it) and DIR/index.html (one row per drive)")


def eval_report(args: argparse.Namespace, events: Path, scores: Any) -> None:
    """`eval --report DIR`: the scored drive's report and the corpus page listing it.
    `scores`: what eval computed ({name: NameScore} for labels, a ClipScore for --truth)."""
    if getattr(args, "report", None) is None:
        return
    from driver_monitor.report.corpus import CorpusDrive, write_corpus_report
    from driver_monitor.report.drive_report import ReportRequest, write_report

    replay_dir = events if events.is_dir() else events.parent
    out_dir = Path(args.report)
    name = replay_dir.resolve().name
    truth = getattr(args, "truth", None)  # eval with --truth, or with LABELS
    result = write_report(ReportRequest(
        replay_dir, out_dir / f"{name}.html", labels=_path(getattr(args, "labels", None)) if truth is None else None,
        truth=_path(truth), clip=getattr(args, "clip", None), max_latency_s=args.max_latency_s, early_s=args.early_s))
    info = {"face found": f"{100 * result.face_found:.1f} %" if result.face_found is not None else "-"}
    index = write_corpus_report([CorpusDrive(name, result.path, scores, info)], out_dir / "index.html")
    print(f"report {result.path}, index {index}")


# -- helpers -----------------------------------------------------------------------------------

def _config(path: str | None) -> tuple[Config | None, str | None]:
    if path is None:
        return None, None
    from driver_monitor.config import load_config

    return load_config(path), path


def _quiet(config: Config) -> Config:
    return config.model_copy(update={"can": config.can.model_copy(update={"enabled": False}),
                                     "serial": config.serial.model_copy(update={"enabled": False})})


def _path(value: str | None) -> Path | None:
    return Path(value) if value is not None else None
