"""Which config a replay ran with, and how it differs from the packaged default.

The config comes from (first that exists): the one the caller passes (`replay --report`,
`report --config`), the settings recorded in the replay's run.yaml, else the packaged
default (said so in the report: the thresholds drawn may then not be the replay's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from driver_monitor.config import Config, load_config


@dataclass
class UsedConfig:
    config: Config
    source: str  # where it came from, for the summary
    known: bool  # False: the packaged default stands in for an unknown config


def resolve_config(explicit: Config | None, explicit_source: str | None, run: Mapping[str, Any] | None,
                   notes: list[str]) -> UsedConfig:
    if explicit is not None:
        return UsedConfig(explicit, explicit_source or "given", True)
    settings = ((run or {}).get("config") or {}) if isinstance((run or {}).get("config"), Mapping) else {}
    if isinstance(settings.get("settings"), Mapping):
        try:
            path = str(settings.get("path", "?"))  # a file, or "(packaged default)" already in brackets
            return UsedConfig(Config.model_validate(settings["settings"]),
                              f"run.yaml: {path}" if path.startswith("(") else f"run.yaml ({path})", True)
        except ValidationError:
            notes.append("run.yaml: its config settings do not validate against this version; "
                         "thresholds drawn from the packaged default")
    else:
        notes.append("config of the replay unknown (no run.yaml settings, no --config): "
                     "thresholds and the config diff use the packaged default")
    return UsedConfig(load_config(None), "packaged default (assumed)", False)


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def config_diff(used: Config, default: Config | None = None) -> list[tuple[str, Any, Any]]:
    """(dotted key, packaged default, used) for every setting that differs."""
    default = default if default is not None else load_config(None)
    a = flatten(default.model_dump(mode="json"))
    b = flatten(used.model_dump(mode="json"))
    return [(k, a.get(k), b.get(k)) for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)]
