"""KSS-like drowsiness level 1..9 from the drowsiness cues (docs/drowsiness.md "KSS-like level").

    level = clamp(round(base_level + P(perclos_60s) + B(mean blink duration)
                        + min(slow_blink_points * slow closures, slow_blink_max_points)
                        + min(yawn_points * yawns, yawn_max_points)
                        + min(nod_points * nods, nod_max_points)), 1, 9)

P and B are piecewise-linear maps (config kss.perclos_points / blink_duration_points); a cue
that is not valid yet (PERCLOS window not filled, too few blinks) adds nothing. Each count
is over its own sliding window. The anchors: KSS 3 "rather alert" with no sign, and each
source's "drowsy" threshold alone reaches level 7 (EU 2021/1341 may warn at KSS 7).
"""

from __future__ import annotations

import math
from collections import deque

from driver_monitor.config.drowsiness import KssConfig


def piecewise(x: float, points: list[tuple[float, float]]) -> float:
    """Linear interpolation through (x, y) points, flat beyond the ends; 0 for NaN."""
    if math.isnan(x):
        return 0.0
    if x <= points[0][0]:
        return points[0][1]
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return points[-1][1]


class KssLevel:
    def __init__(self, config: KssConfig):
        self.config = config
        self._slow: deque[float] = deque()
        self._yawns: deque[float] = deque()
        self._nods: deque[float] = deque()
        self.level = self._round(config.base_level)
        self.score = config.base_level

    def add_slow_closure(self, t: float) -> None:
        self._slow.append(t)

    def add_yawn(self, t: float) -> None:
        self._yawns.append(t)

    def add_nod(self, t: float) -> None:
        self._nods.append(t)

    def update(self, t: float, perclos_60s: float, mean_blink_duration_s: float) -> int:
        c = self.config
        score = c.base_level + piecewise(perclos_60s, c.perclos_points)
        score += piecewise(mean_blink_duration_s, c.blink_duration_points)
        score += min(c.slow_blink_points * _count(self._slow, t - c.slow_blink_window_s), c.slow_blink_max_points)
        score += min(c.yawn_points * _count(self._yawns, t - c.yawn_window_s), c.yawn_max_points)
        score += min(c.nod_points * _count(self._nods, t - c.nod_window_s), c.nod_max_points)
        self.score = score
        self.level = self._round(score)
        return self.level

    @staticmethod
    def _round(score: float) -> int:
        return int(max(1, min(9, math.floor(score + 0.5))))


def _count(times: deque[float], since_t: float) -> int:
    while times and times[0] <= since_t:
        times.popleft()
    return len(times)
