"""`driver-monitor run`: the live daemon (systemd Type=notify, docs/service.md)."""

from __future__ import annotations

import argparse

from driver_monitor.commands import Subparsers, add_io_options


def register(sub: Subparsers) -> None:
    p = sub.add_parser("run", help="the live daemon: camera -> pipeline -> outputs (systemd Type=notify)")
    p.add_argument("--config", "-c", default=None, help="config YAML, re-read on SIGHUP (default: the packaged default.yaml)")
    p.add_argument("--camera", default=None, help="V4L2 device path or index, or a video file/URL standing in for it (overrides camera.device)")
    p.add_argument("--state-dir", default=None, help="where state.json goes (default: service.state_dir, $RUNTIME_DIRECTORY or /run/driver-monitor)")
    add_io_options(p, "send the serial frames to this pyserial port or URL; switches serial on")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from driver_monitor.early_signals import EarlySignals

    early = EarlySignals().install()  # before the ~1.5 s of imports below (early_signals.py)
    from driver_monitor.config.overrides import io_overrides
    from driver_monitor.service import run_daemon

    # Command-line outputs win over the config file, on start and on every SIGHUP reload.
    return run_daemon(args.config, args.camera, args.state_dir, io_overrides(args.can_interface, args.can_channel, args.serial_port),
                      early=early)
