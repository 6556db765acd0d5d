"""PERCLOS: the share of judgeable time the eyes were closed, over a sliding time window.

Time-weighted (sample and hold): the interval between two frames is credited to the earlier
frame's state, so the result does not depend on the frame rate. A window is valid only when
the eyes were judgeable for at least `min_judged_fraction` of it (Wierwille 1994 P80 is a
share of observed time; unseen time is neither open nor closed).
"""

from __future__ import annotations

import math
from collections import deque


class TimeShareWindow:
    """Running judged time and closed time over the last `window_s` seconds."""

    def __init__(self, window_s: float, max_frame_gap_s: float):
        self.window_s = window_s
        self.max_frame_gap_s = max_frame_gap_s
        self._spans: deque[tuple[float, float, float]] = deque()  # (end_t, judged_s, closed_s)
        self.judged_s = 0.0
        self.closed_s = 0.0
        self._last: tuple[float, bool, bool] | None = None  # (t, judged, closed)

    def update(self, t: float, judged: bool, closed: bool) -> None:
        last = self._last
        self._last = (t, judged, closed)
        if last is not None:
            last_t, last_judged, last_closed = last
            dt = min(max(t - last_t, 0.0), self.max_frame_gap_s)
            if last_judged and dt > 0.0:
                closed_dt = dt if last_closed else 0.0
                self._spans.append((t, dt, closed_dt))
                self.judged_s += dt
                self.closed_s += closed_dt
        start = t - self.window_s
        spans = self._spans
        while spans and spans[0][0] <= start + 1e-9:
            _, judged_dt, closed_dt = spans.popleft()
            self.judged_s -= judged_dt
            self.closed_s -= closed_dt
        if not spans:  # no drift from repeated float subtraction
            self.judged_s = self.closed_s = 0.0

    def share(self, min_judged_s: float) -> float:
        """closed / judged time, NaN while less than `min_judged_s` was judged."""
        if self.judged_s + 1e-9 < min_judged_s or self.judged_s <= 0.0:
            return math.nan
        return max(0.0, min(1.0, self.closed_s / self.judged_s))


class Perclos:
    """PERCLOS (P80) over one window: closed = judged eye closure >= closed_closure."""

    def __init__(self, window_s: float, closed_closure: float, min_judged_fraction: float, max_frame_gap_s: float):
        self.closed_closure = closed_closure
        self.min_judged_s = min_judged_fraction * window_s
        self.window = TimeShareWindow(window_s, max_frame_gap_s)
        self.value = math.nan

    def update(self, t: float, eye_closure: float) -> float:
        judged = not math.isnan(eye_closure)
        self.window.update(t, judged, judged and eye_closure >= self.closed_closure)
        self.value = self.window.share(self.min_judged_s)
        return self.value
