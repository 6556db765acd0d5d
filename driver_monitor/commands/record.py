"""`driver-monitor record --camera SOURCE --out DIR`: a monitored drive that is also a recording."""

from __future__ import annotations

import argparse

from driver_monitor.commands import EXIT_ERROR, EXIT_OK, Subparsers, add_io_options, positive_float
from driver_monitor.config.recording import VideoCodec


def register(sub: Subparsers) -> None:
    p = sub.add_parser("record", help="run the live pipeline on a camera and record the drive (video, times, CAN, decisions)")
    p.add_argument("--camera", required=True, help="V4L2 device path or index, or a video file/URL standing in for it (a file is recorded once)")
    p.add_argument("--out", "-o", required=True, help="recording directory to create (new or empty; 0700, files 0600)")
    p.add_argument("--duration", type=positive_float, default=None, metavar="S", help="stop after S seconds (default: at Ctrl-C / SIGTERM, or the end of a camera file)")
    p.add_argument("--codec", choices=tuple(VideoCodec), default=None,
                   help="h264_lossless: every pixel, exact replay (default, recording.codec); ffv1: the same pixels for 3-4x the CPU; "
                        "h264: crf <= 18, ~50x smaller")
    p.add_argument("--no-video", action="store_true", help="landmarks only: features, events, CAN, no picture")
    p.add_argument("--config", "-c", default=None, help="config YAML (default: the packaged default.yaml)")
    add_io_options(p, "send the serial frames to this pyserial port or URL; switches serial on")
    p.add_argument("--state-dir", default=None, help="also write state.json there for `driver-monitor status` (default: none)")
    p.add_argument("--no-progress", action="store_true", help="no progress line even on a terminal")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from driver_monitor.early_signals import EarlySignals

    early = EarlySignals().install()  # before the ~1.5 s of imports below (early_signals.py)
    from driver_monitor.config.overrides import io_overrides, merge_overrides
    from driver_monitor.record import exit_now, record

    overrides = io_overrides(args.can_interface, args.can_channel, args.serial_port)
    if args.codec is not None:
        overrides = merge_overrides(overrides, {"recording": {"codec": args.codec}})
    summary = record(args.camera, args.out, args.config, overrides, duration_s=args.duration,
                     video=not args.no_video, progress=False if args.no_progress else None, state_dir=args.state_dir,
                     early=early)
    print(summary.text())
    if summary.error is not None:
        print(f"error: {summary.error}", file=sys.stderr)
    exit_now(EXIT_ERROR if summary.error is not None else EXIT_OK)
    return EXIT_OK  # not reached
