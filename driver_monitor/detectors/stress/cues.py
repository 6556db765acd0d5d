"""Stress cues against the driver's own baseline (REFERENCE.md "Heart rate and stress": stress
evidence is weak and individual, so every cue is a deviation from this driver's calm level).

Each cue is a smoothed signal (heart rate, RMSSD, browDown ~AU4, mouthPress ~AU24, eyeSquint,
blink rate, expression-model outputs) with a baseline learned over the first `baseline_s` of
usable samples of the journey and then following the driver slowly while no stress is
flagged. Its evidence is the deviation in the stressed direction, in units of a configured
scale (config/stress.py `scales`), clipped at 0 below and MAX_EVIDENCE above.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

# One cue cannot outvote all others by an absurd reading (a misdetected 180 bpm): evidence is
# clipped at 4 units, above the top level threshold.
MAX_EVIDENCE = 4.0


class SmoothedValue:
    """First-order low-pass of an irregularly sampled signal (time constant tau_s); a gap
    longer than max_gap_s restarts it so an old value does not leak into a new stretch."""

    def __init__(self, tau_s: float, max_gap_s: float):
        self.tau_s = tau_s
        self.max_gap_s = max_gap_s
        self.value = math.nan
        self._t: float | None = None

    def update(self, t: float, x: float) -> float:
        if not math.isfinite(x):
            return self.value
        if self._t is None or not math.isfinite(self.value) or t - self._t > self.max_gap_s or self.tau_s <= 0:
            self.value = x
        else:
            dt = max(0.0, t - self._t)
            self.value += (x - self.value) * (1.0 - math.exp(-dt / self.tau_s))
        self._t = t
        return self.value


class Baseline:
    """The driver's calm level of one cue: time-weighted mean over the first `learn_s` seconds
    of valid samples, then a slow first-order follow (time constant adapt_tau_s) while
    `adapt` is True. Samples more than max_gap_s apart count for max_gap_s only."""

    def __init__(self, learn_s: float, adapt_tau_s: float, max_gap_s: float):
        self.learn_s = learn_s
        self.adapt_tau_s = adapt_tau_s
        self.max_gap_s = max_gap_s
        self.mean = math.nan
        self.learned_s = 0.0
        self._sum = 0.0
        self._t: float | None = None

    @property
    def ready(self) -> bool:
        return self.learned_s >= self.learn_s

    def park(self, t: float) -> None:
        """A sample at t not to learn from (parked): the time up to t is not credited to the
        next sample (kept, each stop credited up to max_gap_s of standstill to the first frame
        after it: 5 s stops between 5 s of driving learned the 60 s baseline in 44 s of driving)."""
        self._t = t

    def update(self, t: float, x: float, adapt: bool) -> None:
        prev, self._t = self._t, t
        if not math.isfinite(x) or prev is None:
            return
        dt = min(max(0.0, t - prev), self.max_gap_s)
        if dt <= 0:
            return
        if not self.ready:
            self._sum += x * dt
            self.learned_s += dt
            self.mean = self._sum / self.learned_s
        elif adapt:
            self.mean += (x - self.mean) * (1.0 - math.exp(-dt / self.adapt_tau_s))


@dataclass(slots=True)
class Cue:
    """One stress cue: smoothing, baseline, and how a deviation becomes evidence.

    direction +1: higher than baseline = stress (heart rate, AU4); -1: lower (RMSSD, valence).
    relative: the deviation is taken relative to the baseline value (RMSSD drop, blink-rate
    change) rather than in the signal's own units.
    """

    name: str
    smoothed: SmoothedValue
    baseline: Baseline
    scale: float
    weight: float
    direction: float = 1.0
    relative: bool = False
    evidence: float = math.nan  # NaN: unavailable now (no value or no baseline yet)

    def update(self, t: float, x: float, adapt: bool, learn: bool = True) -> float:
        """Feed the raw value at t (NaN: none now); return the evidence (NaN if unavailable).
        learn False: the baseline neither learns nor adapts from this sample (parked)."""
        if not learn:
            self.baseline.park(t)
        if not math.isfinite(x):
            self.evidence = math.nan
            return self.evidence
        value = self.smoothed.update(t, x)
        if learn:
            self.baseline.update(t, value, adapt)
        if not self.baseline.ready:
            self.evidence = math.nan
            return self.evidence
        deviation = self.direction * (value - self.baseline.mean)
        if self.relative:
            deviation /= max(abs(self.baseline.mean), 1e-6)
        self.evidence = min(max(deviation / self.scale, 0.0), MAX_EVIDENCE)
        return self.evidence


def finite_or_nan(value: object) -> float:
    """A column read from another detector (DetectorInput.upstream), defensively: numbers
    (not bools) that are finite pass, anything else (missing, None, NaN, text) is NaN."""
    if type(value) is float:  # the usual case, without the ABC check below (per frame, per cue)
        return value if math.isfinite(value) else math.nan
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return math.nan
    v = float(value)
    return v if math.isfinite(v) else math.nan


def blendshape_or_nan(value: object) -> float:
    """A blendshape score: its value in 0..1 (MediaPipe's sigmoid outputs), NaN for anything
    else (missing, inf, a hand-made table's 1e308: taken, one such frame in the baseline
    minute or after it drove that cue's baseline to ~1e300, its evidence 0 for the journey)."""
    v = finite_or_nan(value)
    return v if 0.0 <= v <= 1.0 else math.nan
