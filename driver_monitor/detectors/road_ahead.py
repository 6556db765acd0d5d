"""The driver's road-ahead direction, learned from where they look most at speed (pure).

A camera at the rear-view mirror sees an attentive driver's head at yaw +15..+20 and pitch
+20..+25 deg; a camera close to the face reads a frontal gaze 15 deg to the side from the
irises (REFERENCE.md "On real car footage"). Zones judged against the camera's axis call such
a driver distracted for the whole drive, so every zone is judged relative to this direction
instead (docs/distraction.md "Road-ahead direction").

    direction = head pose + eye-in-head gaze          (what the driver looks at)
    road ahead = the densest direction of the samples  (drivers look at the road most of
                                                        the time at speed)

Three stages, each from the data's own times:
  mount        the configured camera mount (config/camera_mount.py), known or not;
  provisional  the median of the first `provisional_steady_s` of steady gaze (a clip cut from
               a drive starts mid-drive: it cannot wait a minute);
  learned      every `refine_period_s`, the median of the recent samples within the road cone
               (`mode_radius_deg`) of the estimate: it follows the driver, glances never
               move it. Before calibration, the densest direction of the window re-anchors
               it once it holds `reanchor_min_s` and `reanchor_min_share` of the samples, so
               a first steady stretch that was a glance is undone once the road dominates.
The estimate never leaves the mount's learn range, and once the driver is calibrated it moves
only `settled_max_move_deg` from where it settled and never re-anchors, so a long look at a
phone cannot teach that the lap is the road.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Literal

import numpy as np

from driver_monitor.config.calibration import RoadAheadConfig

Source = Literal["unknown", "mount", "provisional", "learned"]


@dataclass(frozen=True, slots=True)
class GazeSample:
    """Head pose and eye-in-head gaze (deg, Features conventions); their sums are where the
    driver looks."""

    head_yaw_deg: float = 0.0
    head_pitch_deg: float = 0.0
    eye_yaw_deg: float = 0.0
    eye_pitch_deg: float = 0.0

    @property
    def yaw_deg(self) -> float:
        return self.head_yaw_deg + self.eye_yaw_deg

    @property
    def pitch_deg(self) -> float:
        return self.head_pitch_deg + self.eye_pitch_deg


@dataclass(frozen=True, slots=True)
class RoadAhead(GazeSample):
    """The driver looking at the road ahead, and where the numbers come from."""

    source: Source = "mount"

    @property
    def known(self) -> bool:
        return self.source != "unknown"


class RoadAheadLearner:
    """`update(t, sample)` once per frame (sample None when the frame cannot teach: no
    face, closed or downcast eyes, too slow); `estimate` is the current RoadAhead."""

    def __init__(self, config: RoadAheadConfig, prior: RoadAhead, range_deg: tuple[float, float],
                 eye_range_deg: tuple[float, float] = (-20.0, 20.0)):
        self.config = config
        self.prior = prior
        self.estimate = prior
        self._range = range_deg  # (yaw, pitch) half-widths around the prior's direction
        self._eye_range = eye_range_deg
        self._recent: deque[tuple[float, GazeSample | None]] = deque()  # the steady window
        # The refine window: (t, weight_s) per accepted sample, and the same samples as rows
        # of _SampleRows (the refinements take medians and cones over all of them once a
        # second; building those arrays from Python objects cost ~1 ms each time).
        self._samples: deque[tuple[float, float]] = deque()
        self._rows = _SampleRows()
        self._sample_s = 0.0
        self._next_refine_t = -math.inf
        self._last_t: float | None = None
        self._settled: RoadAhead | None = None

    def settle(self) -> None:
        """The driver is calibrated: from now on refine only near the current estimate."""
        if self.estimate.source != "unknown":
            self._settled = self.estimate

    def update(self, t: float, sample: GazeSample | None, max_gap_s: float) -> RoadAhead:
        c = self.config
        dt = 0.0 if self._last_t is None else min(max(t - self._last_t, 0.0), max_gap_s)
        self._last_t = t
        if sample is not None and not self._in_range(sample):
            sample = None
        # The steady window: every frame of the last provisional_steady_s, accepted or not,
        # and the one frame before it (whose verdict holds up to the next frame).
        self._recent.append((t, sample))
        while len(self._recent) > 1 and self._recent[1][0] <= t - c.provisional_steady_s + 1e-9:
            self._recent.popleft()
        if sample is not None:
            self._samples.append((t, dt))
            self._rows.append((dt, sample.head_yaw_deg, sample.head_pitch_deg, sample.eye_yaw_deg,
                               sample.eye_pitch_deg, sample.yaw_deg, sample.pitch_deg))
            self._sample_s += dt
            while self._samples and self._samples[0][0] < t - c.refine_window_s:
                self._sample_s -= self._samples.popleft()[1]
                self._rows.drop_first()
        if self.estimate.source in ("unknown", "mount"):
            steady = self._steady(t)
            if steady is not None:
                self.estimate = steady
        if t >= self._next_refine_t:
            self._next_refine_t = t + c.refine_period_s
            refined = self._reanchor() if self._settled is None else None
            if refined is None and self.estimate.source != "unknown":
                refined = self._follow()
            if refined is not None:
                self.estimate = refined
        return self.estimate

    def _in_range(self, s: GazeSample) -> bool:
        yaw_range, pitch_range = self._range
        return abs(s.yaw_deg - self.prior.yaw_deg) <= yaw_range and abs(s.pitch_deg - self.prior.pitch_deg) <= pitch_range

    def _steady(self, t: float) -> RoadAhead | None:
        c = self.config
        if not self._recent or self._recent[0][0] > t - c.provisional_steady_s + 1e-6:
            return None  # the window does not span provisional_steady_s yet
        accepted = [s for _, s in self._recent if s is not None]
        if len(accepted) < c.steady_min_valid_share * len(self._recent) or len(accepted) < 2:
            return None
        yaw = np.array([s.yaw_deg for s in accepted])
        pitch = np.array([s.pitch_deg for s in accepted])
        dev = np.hypot(yaw - np.median(yaw), pitch - np.median(pitch))
        if float(np.mean(dev <= c.steady_max_deviation_deg)) + 1e-9 < c.steady_share:
            return None
        arr = np.array([(s.head_yaw_deg, s.head_pitch_deg, s.eye_yaw_deg, s.eye_pitch_deg) for s in accepted])
        return self._median(arr, "provisional")

    def _near(self, yaw: float, pitch: float) -> tuple[np.ndarray, np.ndarray]:
        """(mask of the window's samples within the road cone of (yaw, pitch), weights)."""
        rows = self._rows.view()
        return np.hypot(rows[:, _YAW] - yaw, rows[:, _PITCH] - pitch) <= self.config.mode_radius_deg, rows[:, _WEIGHT]

    def _chosen(self, mask: np.ndarray) -> np.ndarray:
        """The chosen samples' (head yaw, head pitch, eye yaw, eye pitch) rows."""
        return self._rows.view()[mask][:, _HEAD_YAW:_EYE_PITCH + 1]

    def _follow(self) -> RoadAhead | None:
        """The median of the recent samples within the road cone of the estimate."""
        c = self.config
        if not self._samples:
            return None
        near, weights = self._near(self.estimate.yaw_deg, self.estimate.pitch_deg)
        if float(weights[near].sum()) + 1e-9 < c.refine_min_s:
            return None
        learned = self._median(self._chosen(near), "learned")
        if self._settled is not None:
            move = math.hypot(learned.yaw_deg - self._settled.yaw_deg, learned.pitch_deg - self._settled.pitch_deg)
            if move > c.settled_max_move_deg:
                return None
        return learned

    def _reanchor(self) -> RoadAhead | None:
        """The densest direction of the window, when it clearly dominates and is not where
        the estimate already is."""
        c = self.config
        total = self._sample_s
        if total + 1e-9 < c.reanchor_min_s:
            return None
        rows = self._rows.view()
        data, weights = rows[:, _YAW:_PITCH + 1], rows[:, _WEIGHT]
        (yaw_half, pitch_half), centre = self._range, (self.prior.yaw_deg, self.prior.pitch_deg)
        yaw_half += c.mode_radius_deg
        pitch_half += c.mode_radius_deg
        bins_yaw = np.arange(centre[0] - yaw_half, centre[0] + yaw_half + c.mode_bin_deg, c.mode_bin_deg)
        bins_pitch = np.arange(centre[1] - pitch_half, centre[1] + pitch_half + c.mode_bin_deg, c.mode_bin_deg)
        hist, _, _ = np.histogram2d(data[:, 0], data[:, 1], bins=(bins_yaw, bins_pitch), weights=weights)
        # Smooth over about the road cone so the peak is the densest cone, not one bin.
        radius_bins = max(1, int(round(c.mode_radius_deg / c.mode_bin_deg / 2)))
        kernel = np.ones(2 * radius_bins + 1)
        # Column by column, then row by row (what np.apply_along_axis does, without its
        # per-slice overhead: the same np.convolve calls on the same values).
        hist = np.stack([np.convolve(hist[:, j], kernel, mode="same") for j in range(hist.shape[1])], axis=1)
        hist = np.stack([np.convolve(hist[i, :], kernel, mode="same") for i in range(hist.shape[0])], axis=0)
        if not hist.any():
            return None
        i, j = np.unravel_index(int(np.argmax(hist)), hist.shape)
        peak = ((bins_yaw[i] + bins_yaw[i + 1]) / 2.0, (bins_pitch[j] + bins_pitch[j + 1]) / 2.0)
        if self.estimate.known and math.hypot(peak[0] - self.estimate.yaw_deg, peak[1] - self.estimate.pitch_deg) <= c.mode_radius_deg:
            return None  # already there: following is _follow's job
        near, _ = self._near(*peak)
        held = float(weights[near].sum())
        if held + 1e-9 < c.reanchor_min_s or held + 1e-9 < c.reanchor_min_share * total:
            return None
        return self._median(self._chosen(near), "learned")

    def _median(self, arr: np.ndarray, source: Source) -> RoadAhead:
        """The median direction of (head yaw, head pitch, eye yaw, eye pitch) rows."""
        lo, hi = self._eye_range
        head_yaw, head_pitch, eye_yaw, eye_pitch = column_medians(arr)
        return RoadAhead(head_yaw, head_pitch, float(np.clip(eye_yaw, lo, hi)), float(np.clip(eye_pitch, lo, hi)), source)


def column_medians(rows: np.ndarray) -> list[float]:
    """`np.median(rows, axis=0)` to the bit, ~4x faster for the refine window's thousands of
    rows (one refinement a second spent ~150 us there): NumPy partitions each column at both
    middle positions, while the lower middle is also the largest value below one partition
    at the upper one. NaN anywhere: NumPy's own (a NaN median)."""
    n = rows.shape[0]
    if n == 0 or np.isnan(rows).any():
        return [float(v) for v in np.median(rows, axis=0)]
    cols = rows.T.copy()  # one contiguous row per column
    k = n // 2
    cols.partition(k, axis=1)
    upper = cols[:, k]
    if n % 2:
        return [float(v) for v in upper]
    return [float(v) for v in (cols[:, :k].max(axis=1) + upper) / 2.0]


# Columns of _SampleRows: the weight (s) and the sample, with its summed direction.
_WEIGHT, _HEAD_YAW, _HEAD_PITCH, _EYE_YAW, _EYE_PITCH, _YAW, _PITCH = range(7)


class _SampleRows:
    """The refine window's samples as rows lo..hi of a growing float array: appending a row
    and dropping the first are O(1), and the window is an array view without copying."""

    def __init__(self) -> None:
        self._buf = np.empty((256, 7))
        self._lo = 0
        self._hi = 0

    def append(self, row: tuple[float, ...]) -> None:
        if self._hi == self._buf.shape[0]:
            live = self._hi - self._lo
            buf = self._buf if 2 * live <= self._buf.shape[0] else np.empty((2 * self._buf.shape[0], 7))
            buf[:live] = self._buf[self._lo:self._hi]
            self._buf, self._lo, self._hi = buf, 0, live
        self._buf[self._hi] = row
        self._hi += 1

    def drop_first(self) -> None:
        self._lo += 1

    def view(self) -> np.ndarray:
        return self._buf[self._lo:self._hi]
