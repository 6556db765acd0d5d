"""unresponsive: the driver does not respond (Euro NCAP, REFERENCE.md "unresponsive driver").

Two ways in:
  eyes_away_or_closed     the eyes have been closed or off the road for away_or_closed_s
                          (one episode: a brief return shorter than the flicker tolerance
                          does not restart it);
  no_return_after_warning a driver-facing warning began at w (DetectorInput.
                          warning_active_since_t, fed back from the policy one frame late)
                          and the gaze was not back on the road by w + warning_return_s.
The gaze is "back" once it has stayed on the road for the flicker tolerance; a return that
is under way at the deadline is waited for. It ends after end_on_road_s of continuous
forward gaze (Euro NCAP 2026: 1 s ends an intervention).

Both need consistent evidence, because an intervention (hazard lights, slow-down, minimum-risk
manoeuvre) from an attentive face the detectors merely cannot place is the worst false alert
there is: at least `min_evidence_share` of the away-or-closed episode must be positive
evidence (eyes judged closed, gaze measured off the road, face lost after turning away;
distraction.py), and the warning path needs a known road-ahead direction (no "back on the
road" can be seen without one).
"""

from __future__ import annotations

from driver_monitor.config.distraction import UnresponsiveConfig
from driver_monitor.detectors.glances import EPS_S, OffRoadEpisode
from driver_monitor.messages import Event


class UnresponsiveRule:
    def __init__(self, config: UnresponsiveConfig):
        self.config = config
        self.active = False
        self._warning_t: float | None = None
        self._returned = False  # gaze back on the road since the current warning began

    def update(self, t: float, away: OffRoadEpisode, warning_since_t: float | None,
               evidence_share: float = 1.0, road_ahead_known: bool = True) -> list[Event]:
        c = self.config
        if warning_since_t != self._warning_t:
            self._warning_t, self._returned = warning_since_t, False
        back = away.run_start_t is not None
        if back and away.run_s >= away.tolerance_s - EPS_S:
            self._returned = True
        if self.active:
            if back and away.run_s >= c.end_on_road_s - EPS_S:
                self.active = False
                return [Event(t, "event", "unresponsive", "end", {"onset_t": away.run_start_t})]
            return []
        consistent = evidence_share + 1e-9 >= c.min_evidence_share
        if away.open and consistent and away.duration_s(t) >= c.away_or_closed_s - EPS_S:
            return [self._start(t, away.onset_t, "eyes_away_or_closed", evidence_share=evidence_share)]
        w = self._warning_t
        if (w is not None and road_ahead_known and consistent and not self._returned and away.on_since_t is None
                and t - w >= c.warning_return_s - EPS_S):
            onset = away.onset_t if away.onset_t is not None else w
            return [self._start(t, onset, "no_return_after_warning", warning_since_t=w)]
        return []

    def _start(self, t: float, onset: float | None, reason: str, **extra: float) -> Event:
        self.active = True
        return Event(t, "event", "unresponsive", "start", {"onset_t": onset, "reason": reason, **extra})

    def finish(self, t: float) -> list[Event]:
        if not self.active:
            return []
        self.active = False
        return [Event(t, "event", "unresponsive", "end", {"onset_t": t, "truncated": True})]
