"""The driver's own neutral expression (anger, docs/emotion.md): per action unit a robust
centre (median) and spread (1.4826 x MAD, the normal-consistent MAD) over the first
`learn_s` seconds of accepted frames of the journey, then fixed. Population values mean
nothing for blendshapes: the bundled portraits read browDown 0.05, 0.78 and 0.52 on neutral
faces (docs/emotion.md)."""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from driver_monitor.config.anger import NeutralBaselineConfig

# MAD -> standard deviation of a normal distribution (Rousseeuw & Croux 1993).
MAD_TO_SD = 1.4826


class NeutralBaseline:
    def __init__(self, config: NeutralBaselineConfig, names: tuple[str, ...]):
        self.config = config
        self.names = names
        self.learned_s = 0.0
        self._t: float | None = None
        self._samples: dict[str, deque[float]] = {n: deque(maxlen=config.max_samples) for n in names}
        self.centre: dict[str, float] = {}
        self.spread: dict[str, float] = {}

    @property
    def ready(self) -> bool:
        return bool(self.centre)

    def update(self, t: float, values: dict[str, float], accept: bool) -> None:
        """Teach from this frame when `accept` (neutral-looking, judged, moving): each finite
        value joins its name's samples; a gap credits at most max_frame_gap_s. A name never
        read while learning (a unit a feature table lacks) has a NaN centre and spread: the
        caller leaves it out. (Requiring every value finite, one such unit kept the neutral
        from ever being learned, and anger was `learning` for the whole drive.)"""
        prev, self._t = self._t, t
        if self.ready or not accept or prev is None:
            return
        for n in self.names:
            if math.isfinite(values[n]):
                self._samples[n].append(values[n])
        self.learned_s += min(max(0.0, t - prev), self.config.max_frame_gap_s)
        if self.learned_s >= self.config.learn_s - 1e-9:
            for n in self.names:
                x = np.fromiter(self._samples[n], dtype=np.float64)
                median = float(np.median(x)) if x.size else math.nan
                self.centre[n] = median
                self.spread[n] = MAD_TO_SD * float(np.median(np.abs(x - median))) if x.size else math.nan
            self._samples = {}
