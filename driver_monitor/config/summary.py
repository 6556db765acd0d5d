"""A short human summary of a validated config (what `check-config` prints): the settings
per section, and what the file changes from the packaged defaults."""

from __future__ import annotations

import json
from typing import Any

from driver_monitor.config.root import Config


def summarize(config: Config) -> str:
    """One line per section: how many settings it has."""
    lines = []
    for name, section in config:
        values = section.model_dump(mode="json")
        lines.append(f"  {name:<12} {_count(values)} settings")
    return "\n".join(lines)


def changes_from_defaults(config: Config, defaults: Config | None = None) -> list[str]:
    """`dotted.key: default -> value` for every setting that differs from the defaults, in
    the order of the config (a partial file changes only what it names)."""
    before = _flatten((defaults if defaults is not None else Config()).model_dump(mode="json"))
    after = _flatten(config.model_dump(mode="json"))
    return [f"{key}: {_show(before.get(key))} -> {_show(value)}" for key, value in after.items() if before.get(key) != value]


def _flatten(values: Any, prefix: str = "") -> dict[str, Any]:
    """Nested sections to dotted keys; lists (ladders, ranges) stay whole values."""
    if isinstance(values, dict) and values:
        out: dict[str, Any] = {}
        for key, value in values.items():
            out.update(_flatten(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: values}


def _show(value: Any) -> str:
    return json.dumps(value, separators=(", ", ": "))


def _count(values: object) -> int:
    if isinstance(values, dict):
        return sum(_count(v) for v in values.values())
    return 1
