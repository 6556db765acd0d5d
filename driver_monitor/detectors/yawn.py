"""Yawns: the mouth held open for at least `min_duration_s`.

Talking opens the mouth as wide (jawOpen up to 0.8) but for < 0.7 s at a time; yawns hold
jawOpen > 0.3 for >= 1 s, ~6 s on average (Provine 2005; shared/data/README.md). How open
the mouth is (`opening`) is read two ways, and the larger counts: the blendshape model's
jawOpen, and (`use_lip_gap`) the lips' own gap, the mouth aspect ratio (inner-lip height /
mouth width, from the landmarks) above the lowest this face showed in the last
`lip_rest_window_s` (its closed mouth: ~0.01 on the real clips, 0.2 on the simulator's
portrait). On a real face they agree (talking: within 0.03), but jawOpen alone fails two ways
that the lips do not: it flickers to 0.1 for single frames of a wide-open mouth in a noisy
monochrome picture (an infrared camera at night; desk_yawn: a yawn read as openings of
< 0.7 s), and it falls to 0.14-0.3 while the head tilts back in a yawn whose lips stay 0.7
apart (car_yawn_man 2.1-2.9 s). The mouth opens above jaw_open_min and closes below
jaw_close_max (hysteresis); frames without the
jaw measured for longer than max_unmeasured_s (0.1 s: too short for the jaw to close and open
again), or no frame for longer than max_gap_s, end the opening. The `yawn` event
(phase None) fires on the frame the opening has lasted `min_duration_s`, so a live system
reacts then rather than after a 6 s yawn: detail onset_t = when the mouth opened,
duration_s = how long it had been open when the rule fired. ~44 % of yawns are covered by
a hand (Provine 2005): those are missed when the tracker loses the mouth.
"""

from __future__ import annotations

import math
from collections import deque

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
        # (t, mouth aspect ratio) rising from the window's lowest: its head is the lowest.
        self._lips_low: deque[tuple[float, float]] = deque()
        self.opening = math.nan  # how open the mouth reads on the last frame (see the module doc)
        self.count = 0

    @property
    def mouth_open(self) -> bool:
        return self.open_since_t is not None

    def update(self, t: float, jaw_open: float, mouth_aspect_ratio: float = math.nan) -> list[Event]:
        c = self.config
        last = self._last
        jaw_open = self.opening = self._opening(t, jaw_open, mouth_aspect_ratio) if c.use_lip_gap else jaw_open
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

    def _opening(self, t: float, jaw_open: float, mouth_aspect_ratio: float) -> float:
        """The larger of jawOpen and the lips' gap above their lowest in the window (NaN when
        the jaw is not measured: the lips come from the same landmarks)."""
        low = self._lips_low
        if not math.isnan(mouth_aspect_ratio):
            while low and low[-1][1] >= mouth_aspect_ratio:
                low.pop()
            low.append((t, mouth_aspect_ratio))
        while low and low[0][0] < t - self.config.lip_rest_window_s:
            low.popleft()
        if math.isnan(jaw_open) or math.isnan(mouth_aspect_ratio) or not low:
            return jaw_open
        return max(jaw_open, mouth_aspect_ratio - low[0][1])
