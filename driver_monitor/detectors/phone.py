"""phone_use: sustained or repeated glances to the phone zones (lap by default).

Euro NCAP treats phone use as a kind of visual time-sharing towards lap / phone positions
(REFERENCE.md). It starts when one glance to a phone zone lasts `sustained_glance_s`, or
when `repeated_glances` glances of at least `min_glance_s` started within `window_s`; it
ends after `end_after_s` without a glance to a phone zone. Zone-unknown frames (blink, lost
face) neither end nor split a glance.
"""

from __future__ import annotations

from collections import deque

from driver_monitor.config.distraction import PhoneUseConfig
from driver_monitor.detectors.glances import EPS_S
from driver_monitor.detectors.zones import UNKNOWN
from driver_monitor.messages import Event


class PhoneUseRule:
    def __init__(self, config: PhoneUseConfig):
        self.config = config
        self.zones = frozenset(config.zones)
        self.active = False
        self.glance_start_t: float | None = None  # current glance to a phone zone
        self._counted = False  # the current glance already reached min_glance_s
        self.left_t: float | None = None  # first frame after the last phone glance
        self._glance_starts: deque[float] = deque()  # counted glances since the last end

    def update(self, t: float, zone: str) -> list[Event]:
        c = self.config
        if zone == UNKNOWN:
            return []
        if zone in self.zones:
            if self.glance_start_t is None:
                self.glance_start_t, self._counted = t, False
            self.left_t = None
        elif self.glance_start_t is not None:
            self.glance_start_t, self.left_t = None, t
        events: list[Event] = []
        if self.glance_start_t is not None:
            glance_s = t - self.glance_start_t
            if not self._counted and glance_s >= c.min_glance_s - EPS_S:
                self._counted = True
                self._glance_starts.append(self.glance_start_t)
            while self._glance_starts and self._glance_starts[0] < t - c.window_s - EPS_S:
                self._glance_starts.popleft()
            if not self.active:
                if glance_s >= c.sustained_glance_s - EPS_S:
                    events.append(self._start(t, self.glance_start_t, "sustained", glance_s))
                elif len(self._glance_starts) >= c.repeated_glances:
                    events.append(self._start(t, self._glance_starts[0], "repeated", glance_s))
        elif self.active and self.left_t is not None and t - self.left_t >= c.end_after_s - EPS_S:
            self.active = False
            self._glance_starts.clear()
            events.append(Event(t, "event", "phone_use", "end", {"onset_t": self.left_t}))
        return events

    def _start(self, t: float, onset: float, pattern: str, glance_s: float) -> Event:
        self.active = True
        detail = {"onset_t": onset, "pattern": pattern, "glances": len(self._glance_starts), "glance_s": glance_s}
        return Event(t, "event", "phone_use", "start", detail)

    def finish(self, t: float) -> list[Event]:
        if not self.active:
            return []
        self.active = False
        return [Event(t, "event", "phone_use", "end", {"onset_t": t, "truncated": True})]
