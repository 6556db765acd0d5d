"""Visual time-sharing, Euro NCAP form: >= off_road_total_s of eyes-off-road time within
the last window_s; the window is cleared once the driver has looked at the road for
reset_on_road_s without a break (REFERENCE.md "short distraction (VATS)")."""

from __future__ import annotations

from collections import deque

from driver_monitor.config.distraction import TimeSharingConfig
from driver_monitor.detectors.glances import EPS_S


class OffRoadWindow:
    """Sum of counted off-road time inside a sliding window, kept as merged spans."""

    def __init__(self, config: TimeSharingConfig):
        self.config = config
        self._spans: deque[list[float]] = deque()  # [start, end] of off-road time, in order

    def add_off(self, start: float, end: float) -> None:
        if end <= start:
            return
        if self._spans and abs(self._spans[-1][1] - start) <= EPS_S:
            self._spans[-1][1] = end
        else:
            self._spans.append([start, end])

    def reset(self) -> None:
        self._spans.clear()

    def total_s(self, t: float) -> float:
        """Off-road seconds within (t - window_s, t]."""
        begin = t - self.config.window_s
        while self._spans and self._spans[0][1] <= begin:
            self._spans.popleft()
        return sum(end - max(start, begin) for start, end in self._spans)

    def first_start_t(self, t: float) -> float | None:
        """Start of the earliest off-road span still inside the window."""
        if not self._spans:
            return None
        return max(self._spans[0][0], t - self.config.window_s)
