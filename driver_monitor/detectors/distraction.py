"""Distraction detector: gaze zones, eyes on / off road, long distraction, visual
time-sharing (Euro NCAP window or AttenD), phone use and the unresponsive driver.

Per frame: gaze direction relative to the driver's road ahead (gaze.py, road_ahead.py) ->
zone (zones.py; `away` for a face lost after turning away, face_away.py) -> label with grace
times and the indicator allowance (glances.py) -> the rules. Everything is driven by the
frame times, so results do not depend on the frame rate. Events are raised whatever the
vehicle speed; the policy gates them, using the columns (`addw_active`,
`long_distraction_threshold_s`). While the road-ahead direction is not known yet
(`calibrating`) no zone is judged but the unambiguous ones: the head turned or bent far
beyond the mount's direction (`other` / `lap`), and a face lost after such a turn (`away`).
See docs/distraction.md.
"""

from __future__ import annotations

import math

from driver_monitor.config.distraction import DistractionConfig
from driver_monitor.detectors.attend import AttendBuffer
from driver_monitor.detectors.base import DetectorInput
from driver_monitor.detectors.face_away import FaceAwayTracker
from driver_monitor.detectors.gaze import gaze_direction_deg
from driver_monitor.detectors.glances import EPS_S, GlanceLabeler, Label, OffRoadEpisode
from driver_monitor.detectors.phone import PhoneUseRule
from driver_monitor.detectors.time_sharing import OffRoadWindow
from driver_monitor.detectors.unresponsive import UnresponsiveRule
from driver_monitor.detectors.zones import AWAY, LAP, OTHER, UNKNOWN, ZoneMap
from driver_monitor.messages import Event, Scalar, VehicleState
from driver_monitor.names import Column

# Columns an earlier detector (drowsiness) publishes, read through DetectorInput.upstream
# (pipeline.DETECTOR_STAGES declares them): its judgement of closed eyes, of the judged
# closure (0 open .. 1 closed, NaN unjudgeable) and of a downward gaze with open eyes.
EYES_CLOSED_COLUMN = Column.EYES_CLOSED
EYE_CLOSURE_COLUMN = Column.EYE_CLOSURE
LOOKING_DOWN_COLUMN = Column.LOOKING_DOWN


class DistractionDetector:
    def __init__(self, config: DistractionConfig):
        self.config = config
        self.zones = ZoneMap(config.zones)
        self.labeler = GlanceLabeler(config.eyes_on_road, self.zones)
        tolerance = config.eyes_on_road.flicker_tolerance_s
        self.glance = OffRoadEpisode(tolerance)  # eyes off the road (closed eyes: hold)
        self.away = OffRoadEpisode(tolerance)  # eyes off the road or closed (unresponsive)
        self.window = OffRoadWindow(config.time_sharing)
        self.attend = AttendBuffer(config.attend)
        self.phone = PhoneUseRule(config.phone_use)
        self.unresponsive = UnresponsiveRule(config.unresponsive)
        self.face_away = FaceAwayTracker(config.face_away)
        self.calibrating = False
        self._away_evidence_s = 0.0  # of the open away episode: time with positive evidence
        self._prev_away_label: Label = "hold"
        self.long_active = False
        self.long_onset_t: float | None = None
        self.onset_zone = UNKNOWN  # zone of the first counted frame of the open episode
        self.vats_active = False
        self._prev_t: float | None = None
        self._prev_label: Label = "hold"
        self._prev_on_since_t: float | None = None
        self._known_label: Label = "hold"  # last label with a known gaze, and its time
        self._known_t: float | None = None
        # per-frame state for columns()
        self.yaw_deg = math.nan
        self.pitch_deg = math.nan
        self.zone = UNKNOWN
        self.label: Label = "hold"
        self.eyes_closed = False
        self.eyes_judged = False  # the eyes could be judged (open or closed) in this frame
        self._closed_since_t: float | None = None  # start of the current eye closure
        # The eyes were last judged closed, in a closure longer than a blink (it holds the
        # away episode), and have not been judged open since: _away_label.
        self._closure_unseen = False
        self._forward_unseen = False  # this frame: head forward, eyes unseen since a closure
        self.threshold_s = config.long_distraction.threshold_s
        self.addw_active = False
        self.off_road_window_s = 0.0
        self.t = 0.0

    # -- per frame ---------------------------------------------------------------------
    def update(self, inp: DetectorInput) -> list[Event]:
        f, t, cal = inp.features, inp.features.t, inp.calibration
        self.t = t
        self.calibrating = not cal.road_ahead_known
        self.eyes_closed = self._eyes_closed(inp)
        self.eyes_judged = self.eyes_closed or self._eyes_judged(inp)
        self.yaw_deg, self.pitch_deg = gaze_direction_deg(f, cal, self._eye_pitch_trusted(inp))
        head_pitch = f.head_pitch_deg - cal.neutral_pitch_deg
        extra = self.config.face_away.uncalibrated_extra_deg if self.calibrating else 0.0
        if self.face_away.update(t, f.face_present, self.yaw_deg, self.pitch_deg, extra):
            self.zone = AWAY
        elif self.eyes_closed:
            self.zone = UNKNOWN  # closed eyes have no gaze
        elif self.calibrating:
            self.zone = self._unambiguous_zone(f.head_yaw_deg - cal.neutral_yaw_deg, head_pitch)
        else:
            self.zone = self.zones.classify(self.yaw_deg, self.pitch_deg, head_pitch)
        side_yaw = self.face_away.side_yaw_deg if self.zone == AWAY else self.yaw_deg
        self.label = self.labeler.update(t, self.zone, side_yaw, inp.vehicle)
        away_label, closed_onset = self._away_label(t, f.face_present)
        self.threshold_s, self.addw_active = self._long_threshold(inp.vehicle)

        # Interval (prev_t, t] carries the previous frame's label (sample and hold). Unknown
        # frames (a blink, a lost face) inside an off-road glance count as off road there,
        # as they do for the episode's wall-time timer.
        if self._prev_t is not None:
            prev_off = self._prev_label == "off" or (
                self._prev_label == "hold" and self.glance.open and self.glance.on_since_t is None
            )
            if prev_off:
                self.window.add_off(self._prev_t, t)
            self.attend.advance(self._prev_t, t, self._prev_label, self._prev_on_since_t)

        events: list[Event] = []
        # A closure that outlasts a blink is not a glance: it ends an open eyes-off-road
        # episode where it began (drowsiness reports it; the unresponsive timer below counts
        # it as away). Otherwise one lap-looking frame of a closing eye and a sleep after it
        # would read as a 3 s glance to the lap (a simulated closure from below did).
        glance_changes = (self.glance.interrupt(closed_onset) if closed_onset is not None
                          else self.glance.update(t, self.label))
        for kind, when in glance_changes:
            if kind == "start":
                self.onset_zone = self.zone
            elif self.long_active:
                self.long_active = False
                duration = when - (self.long_onset_t if self.long_onset_t is not None else when)
                events.append(Event(t, "event", "long_distraction", "end", {"onset_t": when, "duration_s": duration}))
        if self.away.open and self._prev_t is not None and self._prev_away_label == "off":
            self._away_evidence_s += t - self._prev_t
        # A closure confirmed inside an open episode: its closed frames since its start were
        # `hold` while it might have been a blink, and are evidence now that it is not.
        confirmed_s = t - closed_onset if closed_onset is not None and self._prev_away_label != "off" else 0.0
        started = False
        for kind, _ in self.away.update(t, away_label, closed_onset, self._closed_since_t):
            if kind == "start":  # a backdated closure onset: its closed frames are evidence
                started = True
                self._away_evidence_s = t - (self.away.onset_t if self.away.onset_t is not None else t)
        if self.away.open and not started:
            self._away_evidence_s += confirmed_s
        self._prev_away_label = away_label
        events.extend(self._long_distraction(t))
        events.extend(self._time_sharing(t))
        events.extend(self.phone.update(t, self.zone))
        events.extend(self.unresponsive.update(t, self.away, inp.warning_active_since_t, self.away_evidence_share(t),
                                               road_ahead_known=not self.calibrating))

        self._prev_t, self._prev_label, self._prev_on_since_t = t, self.label, self.glance.on_since_t
        if self.label != "hold":
            self._known_label, self._known_t = self.label, t
        return events

    def _away_label(self, t: float, face_present: bool) -> tuple[Label, float | None]:
        """Label for the unresponsive timer: closed eyes count as away once the closure has
        outlasted a blink (then from its start); a blink itself is `hold`, so it neither
        starts an away episode nor breaks a return to the road.

        Eyes that become unjudgeable (NaN blendshapes / EAR, the face still tracked) while
        closed are not a return to the road: `hold`, not the `on` that the head pose alone
        gives a head facing forward. A sleeping driver's head stays forward, so otherwise
        the first unjudgeable frames (a hand, glare, the lids read as NaN) would end the
        unresponsive state and the intervention with the eyes still shut. This holds only
        for an episode held by eye closure: from a closure that outlasted a blink until the
        eyes are next judged (open). Where the eyes were never judged closed -- sunglasses,
        whose wearer has unjudgeable eyes all the time -- or were judged open since, the
        head pose is the only gaze evidence and decides as before: an away episode entered
        by turning the head ends when the head is back forward. A head turned off the road
        (`off`) or to a mirror (`allowed`) still counts as such with unjudgeable eyes."""
        self._forward_unseen = False
        if not face_present:
            self._closed_since_t = None
            return self.label, None
        if not self.eyes_closed:
            self._closed_since_t = None
            if self.eyes_judged:
                self._closure_unseen = False  # the eyes are seen open
            if self._closure_unseen and self.label == "on" and (self.away.open or self.unresponsive.active):
                self._forward_unseen = True  # closed when last judged: not seen back on the road
                return "hold", None
            return self.label, None
        if self._closed_since_t is None:
            self._closed_since_t = t
        if t - self._closed_since_t < self.config.unresponsive.blink_max_s - EPS_S:
            return "hold", None
        self._closure_unseen = True
        return "off", self._closed_since_t

    def _unambiguous_zone(self, head_yaw_deg: float, head_pitch_deg: float) -> str:
        """Without a road-ahead direction only a head turned or bent beyond the face-away
        limits plus their uncalibrated margin (45 deg from the mount's direction) is placed:
        every camera placement sees an attentive driver within ~35 deg of it (mirror cameras
        read pitch 20-35 deg, REFERENCE.md), a driver bent to the footwell far beyond."""
        c = self.config.face_away
        if head_pitch_deg >= c.down_pitch_deg + c.uncalibrated_extra_deg:
            return LAP
        if abs(head_yaw_deg) >= c.turned_yaw_deg + c.uncalibrated_extra_deg:
            return OTHER
        return UNKNOWN

    def away_evidence_share(self, t: float) -> float:
        """Share of the open away-or-closed episode backed by positive evidence (1 when none
        is open)."""
        duration = self.away.duration_s(t)
        return 1.0 if duration <= EPS_S else min(1.0, self._away_evidence_s / duration)

    def _eye_pitch_trusted(self, inp: DetectorInput) -> bool:
        """The eyeLook pitch is a gaze only while the eyes are judged open (or open and
        looking down); lowered lids raise it as a downward gaze does."""
        if inp.upstream.get(LOOKING_DOWN_COLUMN) is True:
            return True
        closure = inp.upstream.get(EYE_CLOSURE_COLUMN)
        if not isinstance(closure, (int, float)) or math.isnan(closure):
            return True  # not judged: nothing says the lids are low
        return closure < self.config.eyes_on_road.eye_pitch_max_closure

    def _eyes_judged(self, inp: DetectorInput) -> bool:
        """The eyes could be judged in this frame (drowsiness' eye_closure is a number; in
        the fallback, eyeBlink is). NaN eyes with a tracked face (sunglasses, glare, a hand)
        are not: nothing says whether they are open or closed."""
        if EYE_CLOSURE_COLUMN in inp.upstream:
            closure = inp.upstream[EYE_CLOSURE_COLUMN]
            return isinstance(closure, (int, float)) and not math.isnan(closure)
        if EYES_CLOSED_COLUMN in inp.upstream:
            value = inp.upstream[EYES_CLOSED_COLUMN]
            return value is not None and not (isinstance(value, float) and math.isnan(value))
        f = inp.features
        return f.face_present and not math.isnan(f.eye_blink_left + f.eye_blink_right)

    def _eyes_closed(self, inp: DetectorInput) -> bool:
        if EYES_CLOSED_COLUMN in inp.upstream:
            value = inp.upstream[EYES_CLOSED_COLUMN]
            # None / NaN (not judged) is not "closed" (nor open: _eyes_judged, _away_label).
            return value is not None and not (isinstance(value, float) and math.isnan(value)) and bool(value)
        # Fallback until the drowsiness detector publishes `eyes_closed` (config comment).
        f, c = inp.features, self.config.unresponsive
        if not f.face_present:
            return False
        closure = (f.eye_blink_left + f.eye_blink_right) / 2.0
        if math.isnan(closure) or closure < c.fallback_closed_blink:
            return False
        head_down = f.head_pitch_deg - inp.calibration.neutral_pitch_deg
        return math.isnan(head_down) or head_down < c.fallback_max_head_down_deg

    def _long_threshold(self, vehicle: VehicleState) -> tuple[float, bool]:
        c = self.config.long_distraction
        if not c.addw_enabled:
            return c.threshold_s, False
        speed = vehicle.speed_kph
        if speed is None or speed > c.addw_high_speed_kph:  # unknown speed: moving (stricter)
            return c.addw_high_speed_threshold_s, True
        return c.addw_low_speed_threshold_s, speed >= c.addw_min_speed_kph

    def _long_distraction(self, t: float) -> list[Event]:
        g = self.glance
        if self.long_active or not g.open or g.duration_s(t) < self.threshold_s - EPS_S:
            return []
        self.long_active, self.long_onset_t = True, g.onset_t
        detail = {"onset_t": g.onset_t, "threshold_s": self.threshold_s, "zone": self.onset_zone, "addw_active": self.addw_active}
        return [Event(t, "event", "long_distraction", "start", detail)]

    def _time_sharing(self, t: float) -> list[Event]:
        c = self.config.time_sharing
        g = self.glance
        if g.run_start_t is not None and g.run_s >= c.reset_on_road_s - EPS_S:
            self.window.reset()
            if self.vats_active and c.method == "window":
                self.vats_active = False
                return [Event(t, "event", "visual_time_sharing", "end", {"onset_t": g.run_start_t})]
        self.off_road_window_s = self.window.total_s(t)
        if c.method == "window":
            if not self.vats_active and self.off_road_window_s >= c.off_road_total_s - EPS_S:
                self.vats_active = True
                detail = {"onset_t": self.window.first_start_t(t), "method": "window", "off_road_s": self.off_road_window_s}
                return [Event(t, "event", "visual_time_sharing", "start", detail)]
            return []
        a, ac = self.attend, self.config.attend
        if not self.vats_active and a.buffer_s <= EPS_S:
            self.vats_active = True
            detail = {"onset_t": a.left_full_t, "method": "attend"}
            return [Event(t, "event", "visual_time_sharing", "start", detail)]
        if self.vats_active and a.buffer_s >= ac.recovered_s - EPS_S:
            self.vats_active = False
            return [Event(t, "event", "visual_time_sharing", "end", {"onset_t": g.on_since_t})]
        return []

    # -- outputs -----------------------------------------------------------------------
    def distraction_level(self) -> int | None:
        if self.unresponsive.active:
            return 3
        if self.long_active or self.vats_active or self.phone.active:
            return 2
        if self.calibrating and not self.glance.open:
            return None  # not judged (the wire's "unavailable")
        if self.glance.duration_s(self.t) >= self.config.level.advisory_off_road_s - EPS_S:
            return 1
        return 0

    def columns(self) -> dict[str, Scalar]:
        label = self.label
        carry_s = self.config.eyes_on_road.unknown_carry_s
        if label == "hold" and self._known_t is not None and self.t - self._known_t <= carry_s + EPS_S:
            label = self._known_label  # a blink or a dropped frame: keep the last judgement
        eyes_on_road: bool | None = None if label == "hold" else label == "on"
        if self._forward_unseen:
            # The head faces the road but the eyes, closed when last judged, cannot be seen:
            # not forward gaze (the policy's "1 s of forward gaze" that ends an intervention
            # reads this column), though the zone from the head pose is `road`.
            eyes_on_road = None
        return {
            "calibrating": self.calibrating,
            "gaze_yaw_deg_abs": self.yaw_deg,
            "gaze_pitch_deg_abs": self.pitch_deg,
            "gaze_zone": self.zone,
            "eyes_on_road": eyes_on_road,
            "glance_allowed": self.label == "allowed",
            "eyes_off_road_s": self.glance.duration_s(self.t),
            "eyes_away_or_closed_s": self.away.duration_s(self.t),
            "away_evidence_share": self.away_evidence_share(self.t),
            "off_road_in_window_s": self.off_road_window_s,
            "attend_buffer_s": self.attend.buffer_s,
            "long_distraction_threshold_s": self.threshold_s,
            "addw_active": self.addw_active,
            "distraction_level": self.distraction_level(),
        }

    def finish(self, t: float) -> list[Event]:
        events: list[Event] = []
        if self.long_active:
            self.long_active = False
            events.append(Event(t, "event", "long_distraction", "end", {"onset_t": t, "truncated": True}))
        if self.vats_active:
            self.vats_active = False
            events.append(Event(t, "event", "visual_time_sharing", "end", {"onset_t": t, "truncated": True}))
        events.extend(self.phone.finish(t))
        events.extend(self.unresponsive.finish(t))
        return events

