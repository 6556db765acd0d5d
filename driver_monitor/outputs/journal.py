"""The live daemon's event sink: every event and action as one log line on stderr (which
systemd hands to the journal), repeats rate-limited by name and phase (log_setup.py)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from driver_monitor.messages import Event, FrameResult
from driver_monitor.names import EventName

event_log = logging.getLogger("driver_monitor.events")
camera_log = logging.getLogger("driver_monitor.camera")


def describe_event(e: Event) -> str:
    """`event camera_fault start t=12.300 onset_t=11.200 reason=no_frame`."""
    parts = [e.name] + ([e.phase] if e.phase else [])
    detail = " ".join(f"{k}={_fmt(v)}" for k, v in e.detail.items())
    return f"{e.kind} {' '.join(parts)} t={e.t:.3f}" + (f" {detail}" if detail else "")


def _fmt(v: Any) -> str:
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def _level(e: Event) -> int:
    # A camera fault is the one event the journal should file as a warning: monitoring is
    # down. Driver events are the normal business of a monitor (INFO).
    return logging.WARNING if e.name == EventName.CAMERA_FAULT and e.phase == "start" else logging.INFO


def _camera_line(e: Event) -> None:
    """The camera's own line beside the event: why it faulted, how long it was gone."""
    if e.phase == "start":
        camera_log.warning("camera fault: %s (%s)", e.detail.get("reason"), e.detail.get("why", ""))
    elif e.phase == "end" and not e.detail.get("truncated"):
        camera_log.info("camera recovered after %.1f s", float(e.detail.get("duration_s", 0.0)))


class JournalSink:
    def write(self, result: FrameResult) -> None:
        self.write_events(result.events)

    def write_events(self, events: Sequence[Event]) -> None:
        for e in events:
            if e.name == EventName.CAMERA_FAULT:
                _camera_line(e)
            event_log.log(_level(e), "%s", describe_event(e), extra={"rate_key": ("event", e.name, e.phase)})

    def close(self) -> None:
        pass
