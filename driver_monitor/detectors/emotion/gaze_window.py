"""Gaze statistics over a sliding window (daydreaming, docs/emotion.md): percent road centre
(PRC, the share of gaze samples within a circle around the road-ahead direction) and the
standard deviation of horizontal gaze, after Victor, Harbluk & Engstrom 2005. Samples are
weighted by the time they stand for (a frame gap counts at most max_gap_s), so the frame
rate does not change the numbers."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GazeStats:
    prc: float  # 0..1
    yaw_sd_deg: float
    valid_s: float  # seconds of measured gaze the numbers come from


class GazeAccumulator:
    """Time-weighted sums of gaze samples: PRC and yaw SD over everything added (the
    per-speed-band baseline) or, with `drop_before`, over a sliding window."""

    def __init__(self) -> None:
        self.w = self.centre = self.sum = self.sumsq = 0.0
        self._samples: deque[tuple[float, float, float, bool]] = deque()  # t, weight, yaw, in centre

    def add(self, t: float, weight: float, yaw_deg: float, in_centre: bool, keep: bool = True) -> None:
        if weight <= 0:
            return
        self.w += weight
        self.centre += weight * in_centre
        self.sum += weight * yaw_deg
        self.sumsq += weight * yaw_deg * yaw_deg
        if keep:
            self._samples.append((t, weight, yaw_deg, in_centre))

    def drop_before(self, t0: float) -> None:
        while self._samples and self._samples[0][0] < t0:
            _, w, yaw, c = self._samples.popleft()
            self.w -= w
            self.centre -= w * c
            self.sum -= w * yaw
            self.sumsq -= w * yaw * yaw
        if not self._samples:
            self.w = self.centre = self.sum = self.sumsq = 0.0

    def stats(self) -> GazeStats:
        if self.w <= 1e-9:
            return GazeStats(math.nan, math.nan, 0.0)
        mean = self.sum / self.w
        var = max(self.sumsq / self.w - mean * mean, 0.0)
        return GazeStats(min(max(self.centre / self.w, 0.0), 1.0), math.sqrt(var), self.w)
