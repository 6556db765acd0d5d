"""Start / end of an advisory episode from a per-frame yes / no / unjudged (anger,
daydreaming): it starts once `yes` has held start_after_s, ends once it has been gone (no or
unjudged) for end_after_s. A short unjudged gap (a blink, a dropped frame) up to grace_s does
not restart the start clock; a longer one does."""

from __future__ import annotations

from dataclasses import dataclass


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
