"""`driver-monitor` subcommands. Thin: parse arguments, call the library, print one line per
problem (never a traceback) and exit with a meaningful status."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from driver_monitor import __version__
from driver_monitor.errors import ConfigError, DriverMonitorError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CONFIG = 2


def _cmd_check_config(args: argparse.Namespace) -> int:
    from driver_monitor.config import load_config
    from driver_monitor.config.summary import summarize

    config = load_config(args.path)
    print(f"{args.path}: valid")
    print(summarize(config))
    return EXIT_OK


def _cmd_replay(args: argparse.Namespace) -> int:
    from driver_monitor.config import load_config
    from driver_monitor.replay import replay

    config = load_config(args.config)
    if args.gif_fps is not None:
        config = config.model_copy(update={"video": config.video.model_copy(update={"gif_fps": args.gif_fps})})
    out_dir = Path(args.out) if args.out else _default_out_dir(Path(args.input))
    summary = replay(args.input, config, out_dir, progress=None if not args.no_progress else False)
    print(summary.text())
    return EXIT_OK


def _cmd_run(args: argparse.Namespace) -> int:
    from driver_monitor.service import run_daemon

    return run_daemon(args.config, args.camera, args.state_dir)


def _cmd_status(args: argparse.Namespace) -> int:
    import json

    from driver_monitor.runtime_state import format_state, read_state, resolve_state_dir

    state = read_state(resolve_state_dir(args.state_dir))
    print(json.dumps(state, indent=1, sort_keys=True) if args.json else format_state(state))
    return EXIT_OK


def _default_out_dir(input_path: Path) -> Path:
    name = input_path.name if input_path.is_dir() else input_path.stem
    return Path("replay-out") / name


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0: {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="driver-monitor",
        description="In-car driver-state monitoring: replay drives, check configs, run the daemon.",
    )
    parser.add_argument("--version", action="version", version=f"driver-monitor {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("check-config", help="validate a YAML config and summarise it")
    p.add_argument("path", help="the YAML file to check")
    p.set_defaults(func=_cmd_check_config)

    p = sub.add_parser("replay", help="run a video file or recording directory through the pipeline")
    p.add_argument("input", help="a video file (mp4/mkv/avi/mov/gif) or a recording directory")
    p.add_argument("--config", "-c", default=None, help="config YAML (default: the packaged default.yaml)")
    p.add_argument("--out", "-o", default=None, help="output directory (default: replay-out/NAME)")
    p.add_argument("--gif-fps", type=_positive_float, default=None, help="frame rate to read a GIF at (overrides video.gif_fps)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    p.set_defaults(func=_cmd_replay)

    p = sub.add_parser("run", help="the live daemon: camera -> pipeline -> outputs (systemd Type=notify)")
    p.add_argument("--config", "-c", default=None, help="config YAML, re-read on SIGHUP (default: the packaged default.yaml)")
    p.add_argument("--camera", default=None, help="V4L2 device path or index, or a video file/URL standing in for it (overrides camera.device)")
    p.add_argument("--state-dir", default=None, help="where state.json goes (default: service.state_dir, $RUNTIME_DIRECTORY or /run/driver-monitor)")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("status", help="show the running daemon's state, fps and faults")
    p.add_argument("--state-dir", default=None, help="the daemon's state directory (default: $RUNTIME_DIRECTORY or /run/driver-monitor)")
    p.add_argument("--json", action="store_true", help="print the raw state file")
    p.set_defaults(func=_cmd_status)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except ConfigError as exc:
        for line in exc.problems:
            print(f"error: {line}", file=sys.stderr)
        return EXIT_CONFIG
    except DriverMonitorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
