"""Fewer points for display, never for numbers: a trace is cut into equal-count buckets and
each keeps its first, lowest, highest and last sample (the M4 rule, Jugel et al. 2014,
"M4: a visualization-oriented time series data aggregation"), so every peak a pixel column
would show survives (a 0.2 s closure in a 10-minute drive still reaches 1.0). A bucket with
a missing value keeps one missing sample, so gaps (no face) still break the line.

Tables and summaries are computed from the full columns, not from these.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def m4_indices(values: np.ndarray, max_points: int) -> np.ndarray:
    """Sorted indices into `values` (float, NaN = missing) to draw, at most ~max_points."""
    n = len(values)
    if n <= max_points:
        return np.arange(n)
    buckets = max(1, max_points // 4)
    edges = np.linspace(0, n, buckets + 1).astype(np.int64)
    starts, ends = edges[:-1], edges[1:]
    keep = [starts, ends - 1]
    missing = np.isnan(values)
    if missing.all():
        return np.array([0, n - 1])
    filled_low = np.where(missing, np.inf, values)
    filled_high = np.where(missing, -np.inf, values)
    # reduceat gives the bucket minimum / maximum; the argmin / argmax are found by
    # comparing each sample with its bucket's value (first match wins).
    low = np.minimum.reduceat(filled_low, starts)
    high = np.maximum.reduceat(filled_high, starts)
    bucket_of = np.repeat(np.arange(buckets), ends - starts)
    keep.append(_first_match(filled_low == low[bucket_of], bucket_of, buckets))
    keep.append(_first_match(filled_high == high[bucket_of], bucket_of, buckets))
    if missing.any():
        keep.append(_first_match(missing, bucket_of, buckets))
    out = np.unique(np.concatenate([k[k >= 0] for k in keep]))
    return out


def _first_match(hit: np.ndarray, bucket_of: np.ndarray, buckets: int) -> np.ndarray:
    """Per bucket, the index of its first True in `hit` (-1 where none)."""
    first = np.full(buckets, -1, dtype=np.int64)
    idx = np.flatnonzero(hit)
    if len(idx):
        b = bucket_of[idx]
        # idx is increasing, so the first occurrence of each bucket is its first hit.
        unique_b, pos = np.unique(b, return_index=True)
        first[unique_b] = idx[pos]
    return first


def runs(labels: Sequence[T]) -> list[tuple[int, int, T]]:
    """Runs of equal consecutive labels as (first index, last index, label)."""
    out: list[tuple[int, int, T]] = []
    start = 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            out.append((start, i - 1, labels[start]))
            start = i
    return out
