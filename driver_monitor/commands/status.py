"""`driver-monitor status`: the running daemon's state file, in words."""

from __future__ import annotations

import argparse

from driver_monitor.commands import EXIT_OK, Subparsers

EXIT_NOT_RUNNING = 3


def register(sub: Subparsers) -> None:
    p = sub.add_parser("status", help="show the running daemon's state, fps and faults")
    p.add_argument("--state-dir", default=None, help="the daemon's state directory (default: service.state_dir of --config, $RUNTIME_DIRECTORY or /run/driver-monitor)")
    p.add_argument("--config", "-c", default=None, help="the daemon's config, to find its service.state_dir")
    p.add_argument("--json", action="store_true", help="print the raw state file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from driver_monitor.runtime_state import (
        StateDirLock,
        daemon_running,
        format_state,
        read_state,
        resolve_state_dir,
    )

    state_dir = args.state_dir
    if state_dir is None and args.config is not None:
        from driver_monitor.config import load_config

        state_dir = load_config(args.config).service.state_dir  # the daemon's own setting
    directory = resolve_state_dir(state_dir)
    state = read_state(directory)
    held = StateDirLock.held(directory)
    print(json.dumps(state, indent=1, sort_keys=True) if args.json else format_state(state, held=held))
    # LSB init-script convention (as `systemctl status`): 3 = the program is not running.
    return EXIT_OK if daemon_running(state, held) else EXIT_NOT_RUNNING
