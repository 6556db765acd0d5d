"""Blinks from eye closure with hysteresis: start, end and duration of each blink."""

from __future__ import annotations

import math

from driver_monitor.config.drowsiness import BlinkConfig
from driver_monitor.messages import Event


class BlinkTracker:
    """Finds blinks in a closure signal (0 open .. 1 closed, both eyes combined).

    A blink starts when closure rises above `closed_threshold` and ends when it falls below
    `open_threshold`; it counts only if it lasted between `min_duration_s` and
    `max_duration_s` (longer closures belong to the microsleep / sleep rules). Durations are
    measured between the interpolated threshold crossings, so they do not depend on the
    frame rate. A frame without a usable closure (NaN) abandons the blink in progress.
    """

    def __init__(self, config: BlinkConfig):
        self.config = config
        self.closing_since_t: float | None = None
        self._last_t: float | None = None
        self._last_closure: float | None = None
        self.last_blink_duration_s: float | None = None

    def update(self, t: float, closure: float) -> list[Event]:
        c = self.config
        prev_t, prev = self._last_t, self._last_closure
        self._last_t, self._last_closure = t, (None if math.isnan(closure) else closure)
        if math.isnan(closure):
            self.closing_since_t = None
            return []
        if self.closing_since_t is None:
            if closure >= c.closed_threshold:
                self.closing_since_t = _crossing(prev_t, prev, t, closure, c.closed_threshold)
            return []
        if closure > c.open_threshold:
            return []
        opened_t = _crossing(prev_t, prev, t, closure, c.open_threshold)
        start_t, self.closing_since_t = self.closing_since_t, None
        duration = opened_t - start_t
        if not (c.min_duration_s <= duration <= c.max_duration_s):
            return []
        self.last_blink_duration_s = duration
        return [Event(t, "event", "blink", None, {"onset_t": start_t, "duration_s": duration})]


def _crossing(t0: float | None, v0: float | None, t1: float, v1: float, level: float) -> float:
    """Time at which the signal crossed `level` between two samples (linear), or t1."""
    if t0 is None or v0 is None or v0 == v1:
        return t1
    frac = (level - v0) / (v1 - v0)
    if not 0.0 <= frac <= 1.0:
        return t1
    return t0 + frac * (t1 - t0)
