"""`driver-monitor heart-rate PORT`: watch a serial heart-rate sensor's lines."""

from __future__ import annotations

import argparse
import sys

from driver_monitor.commands import EXIT_ERROR, EXIT_OK, Subparsers, positive_float


def register(sub: Subparsers) -> None:
    p = sub.add_parser("heart-rate", help="watch a serial heart-rate sensor's lines (format in docs/stress.md)")
    p.add_argument("port", help="serial port or pyserial URL (/dev/ttyUSB0, socket://host:port, ...)")
    p.add_argument("--baud", type=int, default=115200, help="baud rate (default 115200)")
    p.add_argument("--seconds", type=positive_float, default=10.0, help="how long to listen (default 10)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from driver_monitor.vehicle.heart_rate_serial import watch

    summary = watch(args.port, args.baud, args.seconds, sys.stdout)
    print(f"{summary.lines_ok} readings, {summary.lines_bad} bad lines in {args.seconds:g} s")
    return EXIT_OK if summary.lines_ok > 0 else EXIT_ERROR
