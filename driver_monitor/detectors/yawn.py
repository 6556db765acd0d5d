"""Yawns: the mouth held open (jawOpen) for at least `min_duration_s`.

Talking opens the mouth as wide (jawOpen up to 0.8) but for < 0.7 s at a time; yawns hold
jawOpen > 0.3 for >= 1 s, ~6 s on average (Provine 2005; shared/data/README.md). The mouth
opens above jaw_open_min and closes below jaw_close_max (hysteresis). Once open for
`long_opening_min_s` (0.7 s, longer than talking opens it), a closing must last
`min_closing_s` (0.1 s) to end the opening: the jaw cannot close and open again faster
(speech, its fastest motion, is at most ~7 syllables a second), so a shorter one is the
landmark model snapping the mouth shut for a frame or two (seen in noisy and monochrome
pictures of car_yawn_man); until then the mouth reads closed and no yawn is concluded. In an
opening, a frame whose jawOpen reads closed while the landmarks keep the inner lips wide apart
(mouth aspect ratio >= closing_veto_mouth_ratio, 0.6: above any mouth outside a yawn on the real
clips, smiles included) reads open: the blendshape model's jawOpen, not the mouth, jumped.
A yawn is a wide opening: the opening must also reach jaw_peak_min (0.5) at least once, or
it is a jaw left slack (mouth breathing, a held vowel of speech or song), which holds the mouth
open for seconds at the moderate openings of talking (jawOpen <= 0.40 on the real desk clip
in every variant; every real yawn measured reached 0.66 within 0.4 s of opening). Frames without
the jaw measured for longer than max_unmeasured_s (0.1 s: too short for the jaw to close and
open again), or no frame for longer than max_gap_s, end the opening; both are unseen time, the
interval between the measured frames around it less one frame period (detectors/frame_period.py),
so one frame lost at 10 fps (0.1 s) is bridged as six at 60 are. The
`yawn` event (phase None) fires on the frame the opening has lasted `min_duration_s`, so a
live system reacts then rather than after a 6 s yawn: detail onset_t = when the mouth opened,
duration_s = how long it had been open when the rule fired. ~44 % of yawns are covered by
a hand (Provine 2005): those are missed when the tracker loses the mouth.
"""

from __future__ import annotations

import math

from driver_monitor.config.drowsiness import YawnConfig
from driver_monitor.detectors.crossing import crossing_since
from driver_monitor.detectors.frame_period import FramePeriod
from driver_monitor.messages import Event


class YawnDetector:
    def __init__(self, config: YawnConfig):
        self.config = config
        self.open_since_t: float | None = None
        # A closing of a long opening not yet seen to last min_closing_s: its crossing time.
        self._closing_t: float | None = None
        self._fired = False
        self._peak = 0.0  # the widest jawOpen of the current opening
        self._last: tuple[float, float] | None = None  # (t, opening) of the last measured frame
        self._unmeasured = False  # frames without the jaw since then, bridged
        self._frames = FramePeriod()
        self.count = 0

    @property
    def mouth_open(self) -> bool:
        """The mouth reads open, in an opening (not while a closing of it is pending)."""
        return self.open_since_t is not None and self._closing_t is None

    def update(self, t: float, opening: float, lips_apart: float = math.nan) -> list[Event]:
        """opening: jawOpen on the frame at t (NaN: not measured); lips_apart: the mouth
        aspect ratio on that frame (NaN: not measured), which can keep an opening open."""
        c = self.config
        last = self._last
        self._frames.add(t)
        if math.isnan(opening):
            if self.open_since_t is not None and last is not None and t - last[0] <= c.max_unmeasured_s + 1e-6:
                self._unmeasured = True  # the face lost for a frame: no closing hides in it
                return []
            self._last = None
            self._close()
            return []
        if (self.open_since_t is not None and opening < c.jaw_open_min
                and 0.0 < c.closing_veto_mouth_ratio <= lips_apart):
            opening = c.jaw_open_min  # the lips are still wide apart: the jaw has not closed
        self._last = (t, opening)
        if self._unmeasured and last is not None and self._frames.unseen_s(last[0], t) > c.max_unmeasured_s + 1e-6:
            last = None  # unmeasured for too long before this frame: start afresh
            self._close()
        self._unmeasured = False
        if last is not None and self._frames.unseen_s(last[0], t) > c.max_gap_s + 1e-6:
            # No frame came for longer than the gap: what the mouth did then is unknown, so
            # an opening ends there and this frame starts afresh (config doc).
            last = None
            self._close()
        if self.open_since_t is None:
            if opening < c.jaw_open_min:
                return []
            self.open_since_t = crossing_since(last, t, opening, c.jaw_open_min)
            self._fired = False
            self._peak = opening
        elif self._closing_t is not None:
            if not self._while_closing(t, opening, last):
                return []
        elif opening < c.jaw_close_max:
            closing_t = crossing_since(last, t, opening, c.jaw_close_max)
            if last is not None and last[0] - self.open_since_t >= c.long_opening_min_s - 1e-9 \
                    and t - closing_t < c.min_closing_s:
                self._closing_t = closing_t  # seen on the next frames (_while_closing)
            else:
                self._close()
            return []
        self._peak = max(self._peak, opening)
        held_s = t - self.open_since_t
        if self._fired or held_s + 1e-9 < c.min_duration_s or self._peak < c.jaw_peak_min:
            return []
        self._fired = True
        self.count += 1
        return [Event(t, "event", "yawn", None, {"onset_t": self.open_since_t, "duration_s": held_s})]

    def _while_closing(self, t: float, opening: float, last: tuple[float, float] | None) -> bool:
        """A frame while a closing of a long opening is pending: open again (jaw_open_min)
        within min_closing_s of the closing (interpolated crossings) continues the opening;
        closed for that long ends it. Open again later ends it too, and a new opening starts at
        the second crossing. True: the mouth reads open on this frame, in an opening."""
        c = self.config
        assert self._closing_t is not None
        if opening >= c.jaw_open_min:
            reopened_t = crossing_since(last, t, opening, c.jaw_open_min)
            if reopened_t - self._closing_t < c.min_closing_s:
                self._closing_t = None  # too short for the jaw: the opening goes on
                return True
            self._close()
            self.open_since_t = reopened_t
            self._peak = opening
            return True
        if t - self._closing_t >= c.min_closing_s:
            self._close()
        return False

    def _close(self) -> None:
        self.open_since_t = self._closing_t = None
        self._fired = False
        self._peak = 0.0
