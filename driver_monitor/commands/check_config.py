"""`driver-monitor check-config PATH`: validate a config, summarise it, show what it changes."""

from __future__ import annotations

import argparse

from driver_monitor.commands import EXIT_OK, Subparsers


def register(sub: Subparsers) -> None:
    p = sub.add_parser("check-config", help="validate a YAML config, summarise it and show what it changes from the defaults")
    p.add_argument("path", help="the YAML file to check")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from driver_monitor.assembly import check_io_config
    from driver_monitor.config import load_config
    from driver_monitor.config.root import config_warnings
    from driver_monitor.config.summary import changes_from_defaults, summarize

    config = load_config(args.path)
    check_io_config(config)  # the DBC files and the vehicle signal mapping
    print(f"{args.path}: valid")
    for problem in config_warnings(config):
        print(f"warning: {problem}")
    print(summarize(config))
    changes = changes_from_defaults(config)
    print(f"changes from the defaults: {len(changes) or 'none'}")
    for line in changes:
        print(f"  {line}")
    return EXIT_OK
