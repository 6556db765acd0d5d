"""The subcommands, one module each. A module registers its subparser with
`register(subparsers)` and keeps its heavy imports inside the handler, so `--help` and
`check-config` start fast. cli.COMMANDS lists them in help order; a new subcommand is a new
module plus one name there."""

from __future__ import annotations

import argparse
from typing import Any

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CONFIG = 2

Subparsers = argparse._SubParsersAction  # noqa: SLF001 - argparse exposes no public name for it


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0: {text!r}")
    return value


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0: {text!r}")
    return value


CAN_INTERFACE_HELP = ("python-can interface (socketcan, udp_multicast, pcan, ...; default can.interface, which is "
                      "`virtual`: an in-process bus nobody outside this process hears); switches CAN on")
CAN_CHANNEL_HELP = "CAN channel (can0, a multicast group, ...); switches CAN on, on can.interface unless --can-interface is given"


def add_io_options(p: argparse.ArgumentParser, serial_help: str) -> None:
    """--can-interface / --can-channel / --serial-port, the same for run and replay."""
    p.add_argument("--can-interface", default=None, metavar="NAME", help=CAN_INTERFACE_HELP)
    p.add_argument("--can-channel", default=None, metavar="CH", help=CAN_CHANNEL_HELP)
    p.add_argument("--serial-port", default=None, metavar="URL", help=serial_help)


MAX_LATENCY_S = 4.0
EARLY_S = 0.5


def add_match_window_options(p: argparse.ArgumentParser) -> None:
    """--max-latency-s / --early-s: when a detection counts for a label (eval, sweep); the
    handler calls match_window(args) first."""
    p.add_argument("--max-latency-s", type=positive_float, default=None,
                   help=f"latest a detection may fire after the label ends (default {MAX_LATENCY_S:g}; labels only)")
    p.add_argument("--early-s", type=non_negative_float, default=None,
                   help=f"earliest a detection may fire before the label starts (default {EARLY_S:g}; labels only)")


def match_window(args: argparse.Namespace) -> None:
    """The match window's defaults filled in. With --truth the window is the truth rules'
    own (evaluation/truth.py), so a --max-latency-s given there changed nothing, silently:
    refused."""
    from driver_monitor.errors import InputError

    given = [flag for flag, value in (("--max-latency-s", args.max_latency_s), ("--early-s", args.early_s))
             if value is not None]
    if given and getattr(args, "truth", None) is not None:
        raise InputError(f"{given[0]}: for labels only; against --truth each behaviour's window is the truth "
                         "rules' own (driver_monitor/evaluation/truth.py)")
    args.max_latency_s = MAX_LATENCY_S if args.max_latency_s is None else args.max_latency_s
    args.early_s = EARLY_S if args.early_s is None else args.early_s


def add_engine_options(p: argparse.ArgumentParser) -> None:
    """--jobs / --ray, the same for extract, eval and sweep."""
    p.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                   help="worker processes on this machine (default 1: in this process)")
    p.add_argument("--ray", default=None, metavar="ADDRESS|local",
                   help="run on Ray instead: join the cluster at ADDRESS (`ray start --head` prints it; 'auto' finds a "
                        "local one) or start a local instance ('local'); needs the extra: pip install 'driver-monitor[fleet]'")


def engine_of(args: argparse.Namespace) -> Any:
    """The fleet Engine the options ask for (driver_monitor/fleet/executor.py)."""
    from driver_monitor.fleet.executor import Engine

    return Engine(jobs=args.jobs, ray=args.ray)
