"""Blinks from the closure episodes of EyeClosureJudge: events, rate and mean duration.

A closure that ended (eyes open again) and lasted at least `min_duration_s` but less than
the microsleep minimum is a blink; one of `slow_min_duration_s` or more is a slow blink
(Wilkinson 2013: rested < 0.2 s, > 0.5 s indicates sleep deprivation). The rate and mean
duration are taken over `rate_window_s` of time and are NaN until `rate_min_judged_s` of
judgeable time is in that window.
"""

from __future__ import annotations

import math
from collections import deque

from driver_monitor.config.drowsiness import BlinkConfig, PerclosConfig
from driver_monitor.detectors.eye_closure import ClosureEpisode
from driver_monitor.detectors.perclos import TimeShareWindow
from driver_monitor.messages import Event


class BlinkTracker:
    def __init__(self, config: BlinkConfig, microsleep_min_duration_s: float, perclos: PerclosConfig):
        self.config = config
        self.microsleep_min_duration_s = microsleep_min_duration_s
        self.count = 0
        self.last_blink_duration_s: float | None = None
        self._recent: deque[tuple[float, float]] = deque()  # (end_t, duration_s) of blinks
        self._judged = TimeShareWindow(config.rate_window_s, perclos.max_frame_gap_s)
        self.rate_per_min = math.nan
        self.mean_duration_s = math.nan
        self._recent_mean_s: float | None = None  # mean of _recent's durations, None: to recompute

    def update(self, t: float, judgeable: bool, episode: ClosureEpisode | None) -> list[Event]:
        c = self.config
        events: list[Event] = []
        if episode is not None and not episode.abandoned:
            d = episode.duration_s
            if c.min_duration_s <= d < self.microsleep_min_duration_s:
                self.count += 1
                self.last_blink_duration_s = d
                self._recent.append((episode.end_t, d))
                self._recent_mean_s = None
                detail = {"onset_t": episode.start_t, "duration_s": d, "slow": d >= c.slow_min_duration_s}
                events.append(Event(t, "event", "blink", None, detail))
        self._judged.update(t, judgeable, False)
        while self._recent and self._recent[0][0] <= t - c.rate_window_s:
            self._recent.popleft()
            self._recent_mean_s = None
        if self._judged.judged_s + 1e-9 < c.rate_min_judged_s or self._judged.judged_s <= 0.0:
            self.rate_per_min = self.mean_duration_s = math.nan
        else:
            n = len(self._recent)
            self.rate_per_min = 60.0 * n / self._judged.judged_s
            if n < c.duration_min_blinks:
                self.mean_duration_s = math.nan
            else:
                # The same sum, taken again only when the window's blinks change (not every frame).
                if self._recent_mean_s is None:
                    self._recent_mean_s = sum(d for _, d in self._recent) / n
                self.mean_duration_s = self._recent_mean_s
        return events
