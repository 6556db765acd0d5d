"""Command-line settings that win over the config file (`--can-interface`, `--serial-port`,
`--camera`, `--gif-fps`), turned into config in one place for `run`, `replay` and `record`;
the daemon applies them again on every SIGHUP reload."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from driver_monitor.config.loader import format_validation_error
from driver_monitor.config.root import Config
from driver_monitor.errors import ConfigError

Overrides = dict[str, dict[str, Any]]  # {section: {key: value}}


def io_overrides(can_interface: str | None = None, can_channel: str | None = None,
                 serial_port: str | None = None) -> Overrides:
    """--can-interface / --can-channel switch CAN on (a channel alone keeps can.interface,
    `virtual` by default); --serial-port switches serial on."""
    out: Overrides = {}
    if can_interface is not None or can_channel is not None:
        out["can"] = {"enabled": True}
        if can_interface is not None:
            out["can"]["interface"] = can_interface
        if can_channel is not None:
            out["can"]["channel"] = can_channel
    if serial_port is not None:
        out["serial"] = {"enabled": True, "port": serial_port}
    return out


def merge_overrides(*parts: Mapping[str, Mapping[str, Any]]) -> Overrides:
    out: Overrides = {}
    for part in parts:
        for section, values in part.items():
            out.setdefault(section, {}).update(values)
    return out


def with_overrides(config: Config, overrides: Mapping[str, Mapping[str, Any]]) -> Config:
    """The config with the overrides applied and validated; ConfigError naming the key."""
    if not overrides:
        return config
    data = config.model_dump(mode="python")
    for section, values in overrides.items():
        data[section].update(values)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from None


def with_io_overrides(config: Config, can_interface: str | None = None, can_channel: str | None = None,
                      serial_port: str | None = None) -> Config:
    return with_overrides(config, io_overrides(can_interface, can_channel, serial_port))
