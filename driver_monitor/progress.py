"""A progress bar on stderr for the long-running subcommands (replay, simulate), shown only on
a terminal (or when asked), never in a pipe, a log file or the journal."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

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


class DriveBars:
    """Two bars for work over many drives: drives done, frames done (from every worker)."""

    def __init__(self, enabled: bool, drives: int):
        self._bars: list[Any] = []
        if enabled:
            from tqdm import tqdm

            self._drives = tqdm(total=drives, unit="drive", desc="drives", file=sys.stderr, position=0, leave=False)
            self._frames = tqdm(unit="frame", desc="frames", file=sys.stderr, position=1, leave=False)
            self._bars = [self._drives, self._frames]

    def frames(self, n: int) -> None:
        if self._bars:
            self._frames.update(n)

    def drive_done(self, name: str, frames: int = 0) -> None:
        """frames: those no `frames` call reported (workers that report only at the end)."""
        if self._bars:
            self._drives.set_postfix_str(name, refresh=False)
            self._drives.update(1)
            if frames:
                self._frames.update(frames)

    def close(self) -> None:
        for bar in self._bars:
            bar.close()


@contextmanager
def progress_bars(enabled: bool | None, drives: int) -> Iterator[DriveBars]:
    """DriveBars on stderr when `enabled` (None: when stderr is a terminal)."""
    bars = DriveBars(sys.stderr.isatty() if enabled is None else enabled, drives)
    try:
        yield bars
    finally:
        bars.close()
