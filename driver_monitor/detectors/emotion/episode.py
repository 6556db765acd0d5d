"""Start / end of an advisory episode from a per-frame yes / no / unjudged (anger,
daydreaming): it starts once `yes` has held start_after_s, ends once it has been gone (no or
unjudged) for end_after_s. A short unjudged gap (a blink, a dropped frame) up to grace_s does
not restart the start clock; a longer one does."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from driver_monitor.messages import Event


@dataclass(frozen=True, slots=True)
class EpisodeChange:
    phase: str  # "start" or "end"
    onset_t: float  # when the state began (start) or went away (end)


class EpisodeClock:
    def __init__(self, start_after_s: float, end_after_s: float, grace_s: float = 0.0):
        self.start_after_s = start_after_s
        self.end_after_s = end_after_s
        self.grace_s = grace_s
        self.active = False
        self.onset_t: float | None = None  # start of the episode (active) or of the run of yes
        self._yes_t: float | None = None  # last frame with yes
        self._gone_since_t: float | None = None

    def update(self, t: float, yes: bool | None) -> EpisodeChange | None:
        """`yes` None: not judged at t (abstaining)."""
        if yes:
            if not self.active and self.onset_t is None:
                self.onset_t = t
            self._yes_t = t
            self._gone_since_t = None
            if not self.active and self.onset_t is not None and t - self.onset_t >= self.start_after_s - 1e-9:
                self.active = True
                return EpisodeChange("start", self.onset_t)
            return None
        if not self.active:
            if yes is False or self._yes_t is None or t - self._yes_t > self.grace_s + 1e-9:
                self.onset_t = None
            return None
        if self._gone_since_t is None:
            self._gone_since_t = t
        if t - self._gone_since_t >= self.end_after_s - 1e-9:
            return self.end(self._gone_since_t)
        return None

    def end(self, onset_t: float) -> EpisodeChange:
        self.active = False
        self.onset_t = None
        self._yes_t = None
        self._gone_since_t = None
        return EpisodeChange("end", onset_t)


class AdvisoryEpisode:
    """The `start` / `end` events of one advisory state (anger, daydreaming) from its
    per-frame level (None: not judged): EpisodeClock's hysteresis, the highest level of the
    episode, and the end event's detail (onset_t = when the state went away, duration_s,
    max_level; truncated at the end of input)."""

    def __init__(self, name: str, start_after_s: float, end_after_s: float, grace_s: float = 0.0):
        self.name = name
        self.clock = EpisodeClock(start_after_s, end_after_s, grace_s)
        self._onset_t = math.nan
        self._max_level = 0

    @property
    def active(self) -> bool:
        return self.clock.active

    def update(self, t: float, level: int | None, start_detail: Callable[[float], dict[str, object]]) -> list[Event]:
        if self.clock.active and level:
            self._max_level = max(self._max_level, level)
        change = self.clock.update(t, None if level is None else level > 0)
        if change is None:
            return []
        if change.phase == "start":
            self._onset_t, self._max_level = change.onset_t, level or 0
            return [Event(t, "event", self.name, "start", start_detail(change.onset_t))]
        return [self._end(t, change.onset_t, truncated=False)]

    def finish(self, t: float) -> list[Event]:
        if not self.clock.active:
            return []
        self.clock.end(t)
        return [self._end(t, t, truncated=True)]

    def _end(self, t: float, ended_t: float, truncated: bool) -> Event:
        # An end event's onset_t is when the state went away (docs/event-log.md).
        detail: dict[str, object] = {"onset_t": ended_t, "duration_s": ended_t - self._onset_t,
                                     "max_level": self._max_level}
        if truncated:
            detail["truncated"] = True
        self._max_level = 0
        return Event(t, "event", self.name, "end", detail)
