"""Per-frame glance labels and the eyes-off-road episode (debounced, ADDW in-out-in safe).

Each frame gets one label:
  on       the gaze is on the road zone;
  allowed  off the road but not counted: a mirror / cluster glance within its grace time,
           or a glance to the indicated side within the indicator allowance;
  off      off the road and counted;
  hold     no usable gaze (no face, no head pose, eyes closed): the frame neither starts
           nor ends anything, so a blink or one dropped detection does not reset a timer.

A label holds from its frame until the next frame (sample and hold), so durations are
differences of frame times and do not depend on the frame rate.
"""

from __future__ import annotations

from typing import Literal

from driver_monitor.config.distraction import EyesOnRoadConfig
from driver_monitor.detectors.zones import CLUSTER, MIRRORS, ROAD, UNKNOWN, ZoneMap
from driver_monitor.messages import VehicleState

Label = Literal["on", "allowed", "off", "hold"]

# Float slack for comparing differences of frame times with configured durations
# (i / fps sums are not exact in binary).
EPS_S = 1e-9


class GlanceLabeler:
    """Turns the zone of each frame into a label, applying grace times and the indicator
    allowance. Both are measured from the moment the gaze left the road (`away_since_t`,
    the first non-road frame; `hold` frames do not interrupt it), not from entering the
    zone: a glance whose measured zone flickers between a mirror and a neighbouring zone
    must not win a fresh grace on every flicker, so one glance away gets at most one grace.
    Nor does a flicker back to the road: a return shorter than `flicker_tolerance_s` does not
    end the glance (as it does not end the off-road episode, OffRoadEpisode), so a driver
    staring out of the indicated side's window with 0.4 s looks back at the road won a fresh
    1 s allowance on every look and was never warned (an indicator forgotten on: 78 s).
    """

    def __init__(self, config: EyesOnRoadConfig, zones: ZoneMap):
        self.config = config
        self.zones = zones
        self.zone: str = UNKNOWN  # last known zone
        self.away_since_t: float | None = None  # first frame of the current glance away
        self._road_since_t: float | None = None  # first frame of the current return to the road
        self._indicator_last_on_t: dict[str, float | None] = {"left": None, "right": None}
        self._allowed_zones = frozenset(config.indicator_allowed_zones)

    def update(self, t: float, zone: str, yaw_deg: float, vehicle: VehicleState) -> Label:
        c = self.config
        if vehicle.indicator_left:
            self._indicator_last_on_t["left"] = t
        if vehicle.indicator_right:
            self._indicator_last_on_t["right"] = t
        if zone == UNKNOWN:
            return "hold"
        self.zone = zone
        if zone == ROAD:
            if self._road_since_t is None:
                self._road_since_t = t
            return "on"
        if self._road_since_t is not None:
            # The return to the road held up to this frame (sample and hold, as OffRoadEpisode
            # measures it): one of the tolerance or longer ends the glance, the next is new.
            if t - self._road_since_t >= c.flicker_tolerance_s - EPS_S:
                self.away_since_t = None
            self._road_since_t = None
        if self.away_since_t is None:
            self.away_since_t = t
        grace_s = 0.0
        if zone in MIRRORS:
            grace_s = c.mirror_grace_s
        elif zone == CLUSTER:
            grace_s = c.cluster_grace_s
        if zone in self._allowed_zones and self.indicator_active(t, self.zones.side(yaw_deg)):
            grace_s = max(grace_s, c.indicator_glance_allowance_s)
        return "allowed" if t - self.away_since_t < grace_s - EPS_S else "off"

    def indicator_active(self, t: float, side: str | None) -> bool:
        if side is None:
            return False
        last = self._indicator_last_on_t[side]
        return last is not None and t - last <= self.config.indicator_hold_s + EPS_S


class OffRoadEpisode:
    """An eyes-off-road episode: starts on the first `off` frame and ends only once the
    gaze has stayed on the road for `tolerance_s` (so a brief in-out-in flicker back to the
    road does not reset the off-road timer, EU 2023/2590). `allowed` frames neither start
    nor end an episode but do interrupt a run of on-road frames; `hold` frames are ignored.

    An on-road run "has held" until the frame that ends it (sample and hold), so each update
    first measures the run held up to t (`run_start_t`, `run_s`: what the rules compare
    with their on-road times) and then applies the new frame's label. `update` returns the
    changes at t: ("end", back_on_road_t) and / or ("start", onset_t).
    """

    def __init__(self, tolerance_s: float):
        self.tolerance_s = tolerance_s
        self.onset_t: float | None = None  # start of the open episode
        self.on_since_t: float | None = None  # start of the current on-road run (after t's label)
        self.run_start_t: float | None = None  # start of the on-road run held up to t
        self.run_s = 0.0  # its length (0 when the gaze was not on the road)

    def update(self, t: float, label: Label, onset_t: float | None = None,
               closed_since_t: float | None = None) -> list[tuple[str, float]]:
        """`onset_t`: when an episode starts on this frame, the time it began if earlier
        than t (a closure is only known to be more than a blink once it has lasted).

        `closed_since_t`: the eyes have been closed since then (`hold` frames while it may
        still be a blink; with `onset_t`, known to be more). A pending on-road run is
        measured only up to it: if the closure is more than a blink, the gaze left the road
        there, so an opening shorter than the tolerance between two closures is cancelled
        (one episode) rather than confirmed by the closed frames that followed it; if it is
        a blink, the run goes on through it and is measured to t again once the eyes are
        open. A return that lasted the tolerance before the eyes closed ends the episode as
        before; one that reaches it only during a closure waits until the closure proves a
        blink (at most blink_max_s later, same back-on-road time)."""
        self.run_start_t = self.on_since_t
        held_to = t if closed_since_t is None else min(t, closed_since_t)
        self.run_s = 0.0 if self.on_since_t is None else max(0.0, held_to - self.on_since_t)
        changes: list[tuple[str, float]] = []
        if self.onset_t is not None and self.run_start_t is not None and self.run_s >= self.tolerance_s - EPS_S:
            self.onset_t = None
            changes.append(("end", self.run_start_t))
        if label == "hold":
            return changes
        if label == "on":
            if self.on_since_t is None:
                self.on_since_t = t
            return changes
        self.on_since_t = None
        if label == "off" and self.onset_t is None:
            self.onset_t = t if onset_t is None else min(t, onset_t)
            changes.append(("start", self.onset_t))
        return changes

    def interrupt(self, end_t: float) -> list[tuple[str, float]]:
        """End an open episode at end_t (not a return to the road: no on-road run starts)."""
        self.run_start_t, self.run_s, self.on_since_t = None, 0.0, None
        if self.onset_t is None:
            return []
        self.onset_t = None
        return [("end", max(end_t, 0.0))]

    @property
    def open(self) -> bool:
        return self.onset_t is not None

    def duration_s(self, t: float) -> float:
        """How long the episode has lasted (0 when none is open). It is wall time, so a
        flicker back to the road that does not hold counts as off-road (conservative); while
        a return is pending the value stands still at the return time, so a glance that
        ends just before a threshold does not cross it during the confirmation."""
        if self.onset_t is None:
            return 0.0
        return (self.on_since_t if self.on_since_t is not None else t) - self.onset_t
