"""microsleep and sleep: continuous eye closure of at least 1 s / 3 s (Euro NCAP, REFERENCE.md).

Both are duration events. `microsleep` starts on the first frame at which the closure has
lasted `microsleep_min_duration_s` (t = when a live system knows, onset_t = the closure's
start); if the closure goes on to `sleep_min_duration_s` the microsleep ends (detail
became="sleep") and `sleep` starts with the same onset. Either ends when the eyes open
(onset_t = the opening) or, with detail eyes_unavailable=True, when the eyes become
unjudgeable: nothing is concluded from frames in which the eyes cannot be seen.
Both need consistent evidence: both eyes judged closed for at least
`min_symmetric_share` of the closure's judged time (a wink, one rubbed or covered eye, or a
landmarker guessing one eye is not a microsleep). A closure that reaches the microsleep
minimum only between its last closed frame and the opening is reported at the opening
(start and end at once, detail `late: true`): the frame rate must not decide whether a
1.02 s closure was a microsleep. So for sleep: an open microsleep whose closure reaches the
sleep minimum only there ends (became="sleep") and a late sleep starts and ends at the
opening. A closure bridges unjudged frames up to closure.max_gap_s (the face with shut eyes
is lost for 0.1-0.25 s at a time at night), and their time counts toward its length, but
the verdict "1 s" / "3 s" is given on a frame in which the eyes are seen closed: never from
unseen time alone.
"""

from __future__ import annotations

from driver_monitor.config.drowsiness import ClosureEventsConfig
from driver_monitor.detectors.eye_closure import ClosureEpisode
from driver_monitor.messages import Event


class MicrosleepRule:
    def __init__(self, config: ClosureEventsConfig):
        self.config = config
        self.active: str | None = None  # "microsleep" | "sleep" | None
        self._onset_t: float | None = None

    def update(self, t: float, closed_since_t: float | None, ended: ClosureEpisode | None,
               symmetric_share: float = 1.0, judged: bool = True) -> list[Event]:
        events: list[Event] = []
        c = self.config
        if (ended is not None and self.active == "microsleep" and not ended.abandoned
                and ended.duration_s + 1e-9 >= c.sleep_min_duration_s
                and ended.symmetric_share + 1e-9 >= c.min_symmetric_share):
            # The same for sleep: a 3.015 s closure is sleep at 60 fps (a frame at 3.0 s in)
            # and was only a microsleep at 30 fps (last closed frame 2.98 s in).
            events.append(Event(t, "event", "microsleep", "end", {"onset_t": ended.start_t, "became": "sleep"}))
            events.append(Event(t, "event", "sleep", "start", {"onset_t": ended.start_t, "late": True}))
            self.active = "sleep"
        if ended is not None and self.active is not None:
            detail = {"onset_t": ended.end_t, "duration_s": ended.duration_s}
            if ended.abandoned:
                detail["eyes_unavailable"] = True
            events.append(Event(t, "event", self.active, "end", detail))
            self.active = None
        elif (ended is not None and not ended.abandoned and self.active is None
              and ended.duration_s + 1e-9 >= c.microsleep_min_duration_s
              and ended.symmetric_share + 1e-9 >= c.min_symmetric_share):
            # A closure whose length reaches the minimum only between its last closed frame and
            # the opening (a 1.02 s closure sampled at 15 fps: last closed frame at 0.97 s) is
            # known to have been a microsleep when the eyes open: say so then (detail late).
            name = "sleep" if ended.duration_s + 1e-9 >= c.sleep_min_duration_s else "microsleep"
            events.append(Event(t, "event", name, "start", {"onset_t": ended.start_t, "late": True}))
            events.append(Event(t, "event", name, "end", {"onset_t": ended.end_t, "duration_s": ended.duration_s}))
        if closed_since_t is None or not judged:  # no verdict from a frame without the eyes
            return events
        closed_s = t - closed_since_t + 1e-9
        if symmetric_share + 1e-9 < c.min_symmetric_share:
            return events  # one eye's closure is not consistent evidence (module doc)
        if self.active is None and closed_s >= c.microsleep_min_duration_s and closed_s < c.sleep_min_duration_s:
            self.active = "microsleep"
            events.append(Event(t, "event", "microsleep", "start", {"onset_t": closed_since_t}))
        elif self.active != "sleep" and closed_s >= c.sleep_min_duration_s:
            if self.active == "microsleep":
                events.append(Event(t, "event", "microsleep", "end", {"onset_t": closed_since_t, "became": "sleep"}))
            self.active = "sleep"
            events.append(Event(t, "event", "sleep", "start", {"onset_t": closed_since_t}))
        return events

    def finish(self, t: float) -> list[Event]:
        if self.active is None:
            return []
        name, self.active = self.active, None
        return [Event(t, "event", name, "end", {"truncated": True})]
