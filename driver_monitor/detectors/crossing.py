"""Threshold-crossing times between two samples, so durations do not depend on frame rate."""

from __future__ import annotations


def crossing_time(t0: float | None, v0: float | None, t1: float, v1: float, level: float) -> float:
    """When a signal sampled (t0, v0) then (t1, v1) crossed `level`, by linear interpolation;
    t1 when there is no previous sample or the crossing is not between the two."""
    if t0 is None or v0 is None or v0 == v1:
        return t1
    frac = (level - v0) / (v1 - v0)
    if not 0.0 <= frac <= 1.0:
        return t1
    return t0 + frac * (t1 - t0)


def crossing_since(last: tuple[float, float] | None, t1: float, v1: float, level: float) -> float:
    """crossing_time from the last (t, value) sample, if there is one."""
    return t1 if last is None else crossing_time(last[0], last[1], t1, v1, level)
