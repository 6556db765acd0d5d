"""Yawns: the mouth held open (jawOpen) for at least `min_duration_s`.

Talking opens the mouth as wide (jawOpen up to 0.8) but for < 0.7 s at a time; yawns hold
jawOpen > 0.3 for >= 1 s, ~6 s on average (Provine 2005; shared/data/README.md). The mouth
opens above jaw_open_min and closes below jaw_close_max (hysteresis); frames without the
jaw measured for longer than max_unmeasured_s (0.1 s: too short for the jaw to close and open
again), or no frame for longer than max_gap_s, end the opening. The `yawn` event
(phase None) fires on the frame the opening has lasted `min_duration_s`, so a live system
reacts then rather than after a 6 s yawn: detail onset_t = when the mouth opened,
duration_s = how long it had been open when the rule fired. ~44 % of yawns are covered by
a hand (Provine 2005): those are missed when the tracker loses the mouth.
"""

from __future__ import annotations

import math

from driver_monitor.config.drowsiness import YawnConfig
from driver_monitor.detectors.crossing import crossing_time
from driver_monitor.messages import Event


class YawnDetector:
    def __init__(self, config: YawnConfig):
        self.config = config
        self.open_since_t: float | None = None
        self._fired = False
        self._last: tuple[float, float] | None = None  # (t, jaw_open) of the last measured frame
        self._unmeasured = False  # frames without the jaw since then, bridged
        self.count = 0

    @property
    def mouth_open(self) -> bool:
        return self.open_since_t is not None

    def update(self, t: float, jaw_open: float) -> list[Event]:
        c = self.config
        last = self._last
        if math.isnan(jaw_open):
            if self.open_since_t is not None and last is not None and t - last[0] <= c.max_unmeasured_s + 1e-6:
                self._unmeasured = True  # the face lost for a frame: no closing hides in it
                return []
            self._last = None
            self.open_since_t, self._fired = None, False
            return []
        self._last = (t, jaw_open)
        if self._unmeasured and last is not None and t - last[0] > c.max_unmeasured_s + 1e-6:
            last = None  # unmeasured for too long before this frame: start afresh
            self.open_since_t, self._fired = None, False
        self._unmeasured = False
        if last is not None and t - last[0] > c.max_gap_s + 1e-6:
            # No frame came for longer than the gap: what the mouth did then is unknown, so
            # an opening ends there and this frame starts afresh (config doc).
            last = None
            self.open_since_t, self._fired = None, False
        if self.open_since_t is None:
            if jaw_open >= c.jaw_open_min:
                self.open_since_t = crossing_time(*(last or (None, None)), t, jaw_open, c.jaw_open_min)
                self._fired = False
            else:
                return []
        elif jaw_open < c.jaw_close_max:
            self.open_since_t, self._fired = None, False
            return []
        held_s = t - self.open_since_t
        if self._fired or held_s + 1e-9 < c.min_duration_s:
            return []
        self._fired = True
        self.count += 1
        return [Event(t, "event", "yawn", None, {"onset_t": self.open_since_t, "duration_s": held_s})]
