"""What every sink is: the typed contract between the Pipeline and its outputs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from driver_monitor.messages import Event, FrameResult


@runtime_checkable
class Sink(Protocol):
    """Where results go: event log, feature table, journal, CAN, serial.

    write         every FrameResult, in time order
    write_events  the events that end the input (Pipeline.finish): open events closed at
                  the last frame's time, with no frame of their own
    close         flush and release; called once, after the last write"""

    def write(self, result: FrameResult) -> None: ...

    def write_events(self, events: Sequence[Event]) -> None: ...

    def close(self) -> None: ...
