"""The camera's frame period, from the timestamps alone (pure).

A limit on unseen time ("the face lost for at most 0.1 s") measured between the two seen
frames around a loss takes in one frame period more than went unseen: the frame at the end
is seen. Compared whole, the limit is one frame period shorter there, 0.1 s at 10 fps against
0.017 s at 60, so one lost frame at 10 fps broke what five at 60 did not. `unseen_s` takes
that period off.
"""

from __future__ import annotations

from collections import deque

# Intervals between frames the frame period is taken from (the shortest of them: a stall or
# dropped frames lengthen some, never shorten them).
FRAME_PERIOD_WINDOW = 8


class FramePeriod:
    def __init__(self, window: int = FRAME_PERIOD_WINDOW):
        self._last_t: float | None = None
        self._intervals_s: deque[float] = deque(maxlen=window)

    def add(self, t: float) -> None:
        """A frame arrived at t (every frame, seen or not; a repeated time is no interval)."""
        if self._last_t is not None and t > self._last_t:
            self._intervals_s.append(t - self._last_t)
        self._last_t = t

    @property
    def period_s(self) -> float:
        """The shortest recent interval between frames (0 before two frames were seen)."""
        return min(self._intervals_s) if self._intervals_s else 0.0

    def unseen_s(self, prev_t: float, t: float) -> float:
        """How long nothing was seen between the seen frames at prev_t and t: the time between
        them less one frame period (the frame at t is seen)."""
        return max(0.0, t - prev_t - self.period_s)
