"""A short human summary of a validated config (what `check-config` prints)."""

from __future__ import annotations

from driver_monitor.config.root import Config


def summarize(config: Config) -> str:
    """One line per section: how many settings it has and the ones most often tuned."""
    lines = []
    for name, section in config:
        values = section.model_dump(mode="json")
        lines.append(f"  {name:<12} {_count(values)} settings")
    return "\n".join(lines)


def _count(values: object) -> int:
    if isinstance(values, dict):
        return sum(_count(v) for v in values.values())
    return 1
