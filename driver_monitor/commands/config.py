"""`driver-monitor config --default` prints the packaged default config (every key, its unit
and where its value comes from); `driver-monitor config PATH` prints the full config a file
gives, defaults filled in."""

from __future__ import annotations

import argparse

from driver_monitor.commands import EXIT_OK, Subparsers


def register(sub: Subparsers) -> None:
    p = sub.add_parser("config", help="print the packaged default config (--default) or the full config of a file")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--default", action="store_true", help="the packaged default.yaml, with its comments")
    group.add_argument("path", nargs="?", help="a config file: print every setting it gives, defaults filled in")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from driver_monitor.config import DEFAULT_CONFIG_PATH, load_config

    if args.default:
        print(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"), end="")
        return EXIT_OK
    import yaml

    print(yaml.safe_dump(load_config(args.path).model_dump(mode="json"), sort_keys=False), end="")
    return EXIT_OK
