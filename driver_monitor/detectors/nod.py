"""Head nods (nodding off): the head drops and comes back while the eyes are closed.

A nod starts when the head pitch, relative to the driver's neutral pose, leaves the
`recover_deg` band downwards (onset_t, interpolated) and reaches `drop_deg`; it counts when
the head is back within `recover_deg` no later than `max_duration_s` after the onset and the
eyes were closed (the judge's eyes_closed state) for at least `min_closed_share` of the
head-down time. Head pitch alone cannot tell nodding off from a check of the instrument
cluster or a glance at the lap (both drop the head ~15 deg for ~1 s with open eyes; a blink
inside such a glance is short against it); a longer head-down is distraction's business.
The `nod` event (phase None) fires at the recovery with onset_t and duration_s.
Frames without the head pitch (the face lost as the head drops) are bridged while the head
has gone unseen for at most `max_unmeasured_s` (unseen time: the interval between the measured
frames around them less one frame period, detectors/frame_period.py), so a moment's loss is
the same at every frame rate; a longer one ends the nod.
"""

from __future__ import annotations

import math

from driver_monitor.config.drowsiness import NodConfig
from driver_monitor.detectors.crossing import crossing_since
from driver_monitor.detectors.frame_period import FramePeriod
from driver_monitor.messages import Event


class NodDetector:
    def __init__(self, config: NodConfig):
        self.config = config
        self._up_t: float | None = None  # when the head left the recover band (or was last in it)
        self._last: tuple[float, float] | None = None  # (t, pitch_rel)
        self._dropped = False
        self._down_s = 0.0  # time below the recover band in this episode
        self._closed_s = 0.0  # ... of which with the eyes closed
        self._closed_now = False
        self._unmeasured = False  # frames without the head pitch since _last, bridged
        self._frames = FramePeriod()
        self.count = 0

    def update(self, t: float, pitch_rel_deg: float, eyes_closed: bool) -> list[Event]:
        c = self.config
        self._frames.add(t)
        last = self._last
        if math.isnan(pitch_rel_deg):
            # The head pitch unseen for a moment: bridged (module doc), the last measured frame
            # kept; for longer, the nod is not followed.
            if last is not None and t - last[0] <= c.max_unmeasured_s + 1e-6:
                self._unmeasured = True
                return []
            self._last, self._unmeasured = None, False
            self._up_t, self._dropped = None, False
            return []
        if self._unmeasured and last is not None and self._frames.unseen_s(last[0], t) > c.max_unmeasured_s + 1e-6:
            last, self._up_t, self._dropped = None, None, False  # unseen too long: start afresh
        self._unmeasured = False
        self._last = (t, pitch_rel_deg)
        closed_before, self._closed_now = self._closed_now, eyes_closed
        if last is not None and last[1] > c.recover_deg:
            # The interval since the last frame was spent below the band (sample and hold).
            dt = t - last[0]
            self._down_s += dt
            self._closed_s += dt if closed_before else 0.0
        if pitch_rel_deg <= c.recover_deg:
            events: list[Event] = []
            if self._dropped and self._up_t is not None:
                back_t = crossing_since(last, t, pitch_rel_deg, c.recover_deg)
                duration = back_t - self._up_t
                eyes_shut = self._down_s > 0.0 and self._closed_s + 1e-9 >= c.min_closed_share * self._down_s
                if duration <= c.max_duration_s + 1e-9 and eyes_shut:
                    self.count += 1
                    events.append(Event(t, "event", "nod", None, {"onset_t": self._up_t, "duration_s": duration}))
            self._up_t, self._dropped = t, False
            return events
        # Head below the recover band: remember when it left (the onset) and how far it went.
        if self._up_t is not None and last is not None and last[1] <= c.recover_deg:
            self._up_t = crossing_since(last, t, pitch_rel_deg, c.recover_deg)
            self._down_s = self._closed_s = 0.0
        if pitch_rel_deg >= c.drop_deg:
            self._dropped = True
        return []
