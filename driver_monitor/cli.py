"""`driver-monitor` subcommands. Thin: build the parser from the command modules
(driver_monitor/commands/), run the chosen one, print one line per problem (never a
traceback) and exit with a meaningful status."""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
from collections.abc import Callable, Sequence

from driver_monitor import __version__
from driver_monitor.commands import EXIT_CONFIG, EXIT_ERROR, EXIT_OK
from driver_monitor.errors import ConfigError, DriverMonitorError
from driver_monitor.log_setup import configure as configure_logging

__all__ = ["COMMANDS", "EXIT_CONFIG", "EXIT_ERROR", "EXIT_OK", "build_parser", "main"]

# Modules under driver_monitor/commands, in the order `--help` lists them.
COMMANDS = ("check_config", "config", "replay", "extract", "eval", "sweep", "report", "run", "record", "status",
            "simulate", "heart_rate")
# Exit status after SIGTERM: 128 + the signal, as the shell reports a process it ended.
EXIT_TERMINATED = 128 + signal.SIGTERM


class _Terminated:
    """SIGTERM (`timeout`, `kill`, a job scheduler stopping a batch command) taken as Ctrl-C:
    Python's default ends the process at once, so `simulate` left half a drive that read as
    whole and `replay` outputs of the drive's start without a word. As a KeyboardInterrupt it
    goes through each command's own clean-up and message (`run` and `record` install their
    own handlers over this one: service.py, early_signals.py)."""

    def __init__(self) -> None:
        self.received = False

    def __enter__(self) -> _Terminated:
        self._installed = (threading.current_thread() is threading.main_thread()
                           and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
        if self._installed:
            signal.signal(signal.SIGTERM, self._raise)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:  # (main() called again in one process, as the tests do)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)

    def _raise(self, _signum: int, _frame: object) -> None:
        if not self.received:  # a second SIGTERM during the clean-up does not cut it short
            self.received = True
            raise KeyboardInterrupt


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="driver-monitor",
        description="In-car driver-state monitoring: replay drives, check configs, run the daemon.",
    )
    parser.add_argument("--version", action="version", version=f"driver-monitor {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"driver_monitor.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    func: Callable[[argparse.Namespace], int] = args.func
    with _Terminated() as terminated:
        return _run(func, args, terminated)


def _run(func: Callable[[argparse.Namespace], int], args: argparse.Namespace, terminated: _Terminated) -> int:
    try:
        return func(args)
    except ConfigError as exc:
        for line in exc.problems:
            print(f"error: {line}", file=sys.stderr)
        return EXIT_CONFIG
    except DriverMonitorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:  # a command may say what its interruption left (replay)
        print(f"interrupted: {exc}" if str(exc) else "interrupted", file=sys.stderr)
        return EXIT_TERMINATED if terminated.received else 130
    except BrokenPipeError:  # `driver-monitor ... | head`: the reader left, not an error
        sys.stderr.close()
        return EXIT_OK
