"""The event log as things with a place on the time axis: event spans, instantaneous events,
action spans with their ladder stage, and the calibration states.

A `start` line opens a span that the matching `end` closes; a span still open at the end of
the log lasts to the last time seen (the replay closes it with `truncated: true` anyway); an
`end` line without its start (an event clip's log: the event began before the clip's window)
is a span from the first time seen, marked `before_log`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

EventDict = Mapping[str, Any]


@dataclass(frozen=True)
class Span:
    kind: str  # "event" | "action"
    name: str
    start_t: float  # the start line's t: when the rule fired
    end_t: float  # the end line's t; == start_t for an instantaneous event
    detail: Mapping[str, Any] = field(default_factory=dict)  # the start line's detail
    end_detail: Mapping[str, Any] = field(default_factory=dict)
    instantaneous: bool = False

    @property
    def duration_s(self) -> float:
        return self.end_t - self.start_t

    @property
    def onset_t(self) -> float:
        """When the behaviour began (detail.onset_t), else when the rule fired."""
        onset = finite_number(self.detail.get("onset_t"))
        return self.start_t if onset is None else onset

    @property
    def stage(self) -> int | None:
        stage = finite_number(self.detail.get("stage"))
        return None if stage is None else int(stage)

    @property
    def before_log(self) -> bool:
        """Its start line is not in the log: on already when the log (an event clip) began."""
        return bool(self.end_detail.get("before_log"))

    @property
    def truncated(self) -> bool:
        """Closed by the pipeline, not by its rule: at the end of input, or mid-drive when a
        camera fault (or a config reload) ended every open detector event."""
        return bool(self.end_detail.get("truncated"))


def finite_number(value: Any) -> float | None:
    """A detail value as a number, None when it is none: text, a boolean, or NaN / Infinity
    (which JSON lines may carry: int(NaN) stopped the whole report with a traceback)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


@dataclass(frozen=True)
class StateLine:
    t: float
    name: str
    detail: Mapping[str, Any]


@dataclass
class Timeline:
    events: list[Span]  # kind "event": duration spans and instantaneous events
    actions: list[Span]  # kind "action": each start..end with its stage
    states: list[StateLine]
    end_t: float = 0.0  # the last time of the drive (the last frame or log line)

    def open_at_end(self, span: Span) -> bool:
        """Still on when the drive ended: closed there with `truncated` (a span cut by a
        camera fault mid-drive is truncated too, but was over long before the end)."""
        return span.truncated and not span.instantaneous and span.end_t >= self.end_t

    def spans(self, kind: str = "event") -> list[Span]:
        return [s for s in (self.events if kind == "event" else self.actions) if not s.instantaneous]

    def named(self, name: str) -> list[Span]:
        return [s for s in self.events if s.name == name]

    def state_lines(self, name: str) -> list[StateLine]:
        return [s for s in self.states if s.name == name]


def build_timeline(events: Iterable[EventDict], end_t: float | None = None, start_t: float | None = None) -> Timeline:
    lines = list(events)
    last_t = max((float(e["t"]) for e in lines), default=0.0)
    first_t = min((float(e["t"]) for e in lines), default=0.0)
    if start_t is not None:
        first_t = min(first_t, start_t)
    if end_t is not None:
        last_t = max(last_t, end_t)
    out: dict[str, list[Span]] = {"event": [], "action": []}
    states: list[StateLine] = []
    open_at: dict[tuple[str, str], EventDict] = {}
    for e in lines:
        kind, name, t = e.get("kind", "event"), e["name"], float(e["t"])
        detail = e.get("detail") or {}
        if kind == "state":
            states.append(StateLine(t, name, detail))
            continue
        if kind not in out:
            continue
        phase = e.get("phase")
        key = (kind, name)
        if phase == "start":
            # A second start without an end (a log cut and appended) closes the first there.
            if key in open_at:
                out[kind].append(_span(kind, open_at.pop(key), t, {}))
            open_at[key] = e
        elif phase == "end":
            started = open_at.pop(key, None)
            if started is not None:
                out[kind].append(_span(kind, started, t, detail))
            else:
                # Its start is before the log (an event clip's window opens while a driver_absent
                # or a warning is already on): drawn from the log's first time, not dropped.
                out[kind].append(Span(kind, name, first_t, t, {}, {**detail, "before_log": True}))
        else:
            out[kind].append(Span(kind, name, t, t, detail, {}, instantaneous=True))
    for (kind, _), started in open_at.items():
        out[kind].append(_span(kind, started, last_t, {"truncated": True}))
    return Timeline(sorted(out["event"], key=_order), sorted(out["action"], key=_order), states, last_t)


def _order(span: Span) -> tuple[float, str]:
    return span.start_t, span.name


def _span(kind: str, start: EventDict, end_t: float, end_detail: Mapping[str, Any]) -> Span:
    return Span(kind, start["name"], float(start["t"]), end_t, start.get("detail") or {}, end_detail)
