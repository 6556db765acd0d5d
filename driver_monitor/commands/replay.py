"""`driver-monitor replay INPUT`: a video file or recording directory through the pipeline."""

from __future__ import annotations

import argparse
from pathlib import Path

from driver_monitor.commands import EXIT_OK, Subparsers, add_io_options, positive_float
from driver_monitor.errors import InputError


def register(sub: Subparsers) -> None:
    p = sub.add_parser("replay", help="run a video file or recording directory through the pipeline")
    p.add_argument("input", nargs="?", default=None, help="a video file (mp4/mkv/avi/mov/gif) or a recording directory")
    p.add_argument("--features", default=None, metavar="FEATURES",
                   help="decide from a per-frame table instead (features.parquet|csv of a replay, a recording or "
                        "`extract`, or the directory holding it): calibration, detectors and policy without the tracker, "
                        "the same events as the full replay with the same config")
    p.add_argument("--config", "-c", default=None, help="config YAML (default: the packaged default.yaml)")
    p.add_argument("--out", "-o", default=None, help="output directory (default: replay-out/NAME); an earlier run's outputs in it are replaced")
    p.add_argument("--gif-fps", type=positive_float, default=None, help="frame rate to read a GIF at (overrides video.gif_fps)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    add_io_options(p, "send serial frames to this pyserial URL (/dev/ttyUSB0, /dev/pts/N, socket://...); switches serial.enabled on")
    p.add_argument("--realtime", action="store_true", help="pace the replay at recording speed (default: as fast as possible; outputs are timed by the recording either way)")
    from driver_monitor.report.commands import add_replay_options

    add_replay_options(p)  # --report, --annotate
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from driver_monitor.config import load_config
    from driver_monitor.config.overrides import io_overrides, merge_overrides, with_overrides
    from driver_monitor.replay import replay

    overrides = io_overrides(args.can_interface, args.can_channel, args.serial_port)
    if args.gif_fps is not None:
        overrides = merge_overrides(overrides, {"video": {"gif_fps": args.gif_fps}})
    config = with_overrides(load_config(args.config), overrides)
    from driver_monitor.pipeline import check_value_keys

    check_value_keys(config)  # before any output is opened: a refused config leaves no empty replay behind
    if (args.input is None) == (args.features is None):
        raise InputError("replay needs INPUT (a video or recording) or --features FEATURES, not both")
    if args.features is not None and (args.annotate is not None or args.realtime):
        raise InputError(f"--features: {'--annotate' if args.annotate is not None else '--realtime'} needs the video: replay INPUT")
    input_path = Path(args.input if args.input is not None else args.features)
    name = input_path.name if input_path.is_dir() else input_path.stem
    if args.features is not None and input_path.is_file():
        name = input_path.resolve().parent.name
    out_dir = Path(args.out) if args.out else Path("replay-out") / name
    progress = False if args.no_progress else None
    if args.report:  # refused before the replay, not after it
        from driver_monitor.report.drive_report import check_report_path

        check_report_path(Path(args.report), [input_path, out_dir])
    from driver_monitor.report.commands import replay_hooks

    with replay_hooks(args, config) as hooks:  # --annotate: a video sink; --report: after the replay
        try:
            if args.features is not None:
                from driver_monitor.fleet.feature_replay import replay_features

                summary = replay_features(input_path, config, out_dir, progress, args.config, hooks.sinks)
            else:
                summary = replay(input_path, config, out_dir, progress=progress, realtime=args.realtime,
                                 config_path=args.config, tracker=hooks.tracker, extra_sinks=hooks.sinks)
        except KeyboardInterrupt:
            # The outputs so far are flushed and look like a whole replay's (run.yaml is written
            # first): `eval` / `report` of them would score the rest of the drive as missed.
            raise KeyboardInterrupt(f"{out_dir} holds the outputs of the drive's start only: replay it again "
                                    "for the whole drive") from None
        print(summary.text())
        hooks.after(args, out_dir, config)
    return EXIT_OK
