"""A file sink of a live recording whose disk fails (full, gone) stops writing instead of
ending the frame loop with an exception, and says so once (`error`): the recorder then stops
the recording cleanly. What the failure left half-written is undone, so the directory holds
only readable files: a line log is cut back to its last whole line. The Parquet table needs
nothing undone: its parts and the table itself are written under temporary names and renamed
once whole (outputs/feature_table.py), so a failure leaves the parts written before it, or the
whole table when closing could still write it."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from driver_monitor.errors import one_line
from driver_monitor.messages import Event, FrameResult
from driver_monitor.outputs.base import Sink

log = logging.getLogger(__name__)


class GuardedFileSink:
    def __init__(self, sink: Sink, path: Path, lines: bool = False):
        """lines: the file is a line log (events.jsonl), readable up to its last whole line;
        otherwise a file written whole or not at all (Parquet: nothing to undo)."""
        self.sink = sink
        self.path = Path(path)
        self.lines = lines
        self.error: str | None = None

    def write(self, result: FrameResult) -> None:
        if self.error is None:
            try:
                self.sink.write(result)
            except OSError as exc:
                self._fail(exc)

    def write_events(self, events: Sequence[Event]) -> None:
        if self.error is None:
            try:
                self.sink.write_events(events)
            except OSError as exc:
                self._fail(exc)

    def close(self) -> None:
        try:
            self.sink.close()
        except OSError as exc:
            self._fail(exc)
        if self.error is not None:
            self._undo_partial()

    def _undo_partial(self) -> None:
        if not self.lines:
            return
        try:
            data = self.path.read_bytes()
            if data and not data.endswith(b"\n"):
                os.truncate(self.path, data.rfind(b"\n") + 1)
        except OSError as exc:
            log.error("%s: could not be cleaned up after the failure (%s)", self.path, exc.strerror)

    def _fail(self, exc: OSError) -> None:
        if self.error is None:
            self.error = f"{self.path}: writing failed ({exc.strerror or one_line(exc)})"
            log.debug("%s", self.error)  # the recorder says it, once, when it stops
