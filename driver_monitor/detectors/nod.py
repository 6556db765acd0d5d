"""Head nods (nodding off): the head drops and comes back, with the eyes closing.

A nod starts when the head pitch, relative to the driver's neutral pose, leaves the
`recover_deg` band downwards (onset_t, interpolated) and reaches `drop_deg`; it counts when
the head is back within `recover_deg` no later than `max_duration_s` after the onset and the
judged eye closure reached `min_eye_closure` during it. A longer head-down is a glance at
the lap (distraction's business), and a drop with open eyes is a deliberate look down.
The `nod` event (phase None) fires at the recovery with onset_t and duration_s.
"""

from __future__ import annotations

import math

from driver_monitor.config.drowsiness import NodConfig
from driver_monitor.messages import Event


class NodDetector:
    def __init__(self, config: NodConfig):
        self.config = config
        self._up_t: float | None = None  # last time the head was within recover_deg
        self._last: tuple[float, float] | None = None  # (t, pitch_rel)
        self._dropped = False
        self._max_closure = 0.0
        self.count = 0
        self.times: list[float] = []

    def update(self, t: float, pitch_rel_deg: float, eye_closure: float) -> list[Event]:
        c = self.config
        last, self._last = self._last, (None if math.isnan(pitch_rel_deg) else (t, pitch_rel_deg))
        if math.isnan(pitch_rel_deg):
            self._up_t, self._dropped = None, False
            return []
        if pitch_rel_deg <= c.recover_deg:
            events: list[Event] = []
            if self._dropped and self._up_t is not None:
                back_t = _crossing(last, t, pitch_rel_deg, c.recover_deg)
                duration = back_t - self._up_t
                if duration <= c.max_duration_s + 1e-9 and self._max_closure >= c.min_eye_closure:
                    self.count += 1
                    self.times.append(t)
                    events.append(Event(t, "event", "nod", None, {"onset_t": self._up_t, "duration_s": duration}))
            self._up_t, self._dropped, self._max_closure = t, False, 0.0
            return events
        # Head below the recover band: remember when it left (onset) and how far it went.
        if self._up_t is not None and last is not None and last[1] <= c.recover_deg:
            self._up_t = _crossing(last, t, pitch_rel_deg, c.recover_deg)
            self._max_closure = 0.0
        if pitch_rel_deg >= c.drop_deg:
            self._dropped = True
        if not math.isnan(eye_closure):
            self._max_closure = max(self._max_closure, eye_closure)
        return []


def _crossing(last: tuple[float, float] | None, t: float, v: float, level: float) -> float:
    if last is None or last[1] == v:
        return t
    t0, v0 = last
    frac = (level - v0) / (v - v0)
    return t0 + frac * (t - t0) if 0.0 <= frac <= 1.0 else t
