"""`driver-monitor report REPLAY_OUT` and `driver-monitor annotate INPUT`: the HTML report of
a replay and the annotated video (driver_monitor/report/, docs/report.md)."""

from __future__ import annotations

from driver_monitor.commands import Subparsers


def register(sub: Subparsers) -> None:
    from driver_monitor.report import commands

    commands.register(sub)
