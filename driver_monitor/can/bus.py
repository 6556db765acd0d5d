"""Opening a python-can bus from the `can` config section (shared by the DMS output and the
vehicle-signal input, which use the same interface and channel)."""

from __future__ import annotations

import contextlib
from typing import Any

import can

from driver_monitor.config.vehicle import CanConfig
from driver_monitor.errors import InputError, one_line

# Interfaces that take no bitrate argument (software buses).
NO_BITRATE_INTERFACES = ("virtual", "udp_multicast")


def describe_bus(config: CanConfig) -> str:
    """`CAN virtual channel dms`: how logs and summaries name the bus (the interface always
    shown: a channel given without an interface silently lands on python-can's in-process
    `virtual` bus, which nobody outside the process hears)."""
    return f"CAN {config.interface} channel {config.channel}"


def open_bus(config: CanConfig) -> can.BusABC:
    """Open the configured bus; raises InputError with one line naming interface and channel."""
    kwargs: dict[str, Any] = dict(config.options)
    if config.bitrate is not None and config.interface not in NO_BITRATE_INTERFACES:
        kwargs["bitrate"] = config.bitrate
    try:
        return can.Bus(interface=config.interface, channel=config.channel, **kwargs)
    except Exception as exc:  # interfaces raise OSError, CanError, ImportError, ValueError...
        raise InputError(f"{describe_bus(config)}: cannot open ({one_line(exc)})") from None


def shutdown_quietly(bus: can.BusABC | None) -> None:
    """Shut a bus down; a dead adapter may fail to close too, which changes nothing."""
    if bus is None:
        return
    with contextlib.suppress(Exception):
        bus.shutdown()

