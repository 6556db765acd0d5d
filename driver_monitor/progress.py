"""A progress bar on stderr for the long-running subcommands (replay, simulate), shown only on
a terminal (or when asked), never in a pipe, a log file or the journal."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def with_progress(items: Iterable[T], total: int | None, enabled: bool | None, unit: str = "frame",
                  desc: str | None = None) -> Iterator[T]:
    """`items`, with a tqdm bar on stderr when `enabled` (None: when stderr is a terminal)."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return iter(items)
    from tqdm import tqdm

    return iter(tqdm(items, total=total or None, unit=unit, desc=desc, file=sys.stderr, leave=False))
