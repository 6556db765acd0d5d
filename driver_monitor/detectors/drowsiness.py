"""Drowsiness detector: calibrated eye closure judged against head pose and gaze, blinks,
PERCLOS, microsleep / sleep, yawns, nods, eyes_unavailable and a KSS-like level with the
`drowsy` event (docs/drowsiness.md). Pure: every time comes from the features.

Per-frame columns (keys unique across detectors, docs/features.md):
  eye_closure         judged closure 0 open .. 1 closed (baseline-normalised, look-down
                      discounted), NaN when the eyes cannot be judged
  eye_closure_left / eye_closure_right  the same per eye (diagnostics; symmetric closures)
  iris_hidden         the iris cue, 0 showing .. 1 covered (NaN where not measured)
  eyes_closed         a closure is in progress (hysteresis, short unjudged gaps bridged)
  eyes_closed_s       how long the current closure has lasted (0 when open)
  eyes_judgeable      the eyes could be judged in this frame
  looking_down        eyeLookDown high with the head pitched down from neutral
  mouth_open          jawOpen above the yawn threshold (hysteresis; not while a closing is pending;
                      in an opening, the lips wide apart keep it open)
  yawn_count / nod_count  yawns / nods so far
  blink_count         blinks so far
  blink_rate_per_min  over blink.rate_window_s; NaN until enough judgeable time
  blink_duration_mean_s  mean blink duration over the same window; NaN with too few blinks
  perclos_60s / perclos_180s  P80 over the short / long window; NaN until valid
  kss_level           KSS-like level 1..9 (int); kss_score the unrounded score
  drowsy              the `drowsy` event is active (level reached, hysteresis)
  calibrated          the driver's calibration has completed
"""

from __future__ import annotations

import math

from driver_monitor.config.drowsiness import DrowsinessConfig
from driver_monitor.detectors.base import DetectorInput
from driver_monitor.detectors.blinks import BlinkTracker
from driver_monitor.detectors.eye_closure import EyeClosureJudge
from driver_monitor.detectors.eyes_available import EyesAvailability
from driver_monitor.detectors.kss import KssLevel
from driver_monitor.detectors.microsleep import MicrosleepRule
from driver_monitor.detectors.nod import NodDetector
from driver_monitor.detectors.perclos import Perclos
from driver_monitor.detectors.yawn import YawnDetector
from driver_monitor.messages import Event, Scalar


class DrowsinessDetector:
    def __init__(self, config: DrowsinessConfig):
        self.config = config
        c = config
        self.judge = EyeClosureJudge(c.eye_closure, c.eyes, c.blink, c.closure)
        self.blinks = BlinkTracker(c.blink, c.closure.microsleep_min_duration_s, c.perclos)
        self.microsleep = MicrosleepRule(c.closure)
        self.perclos_short = Perclos(c.perclos.short_window_s, c.perclos.closed_closure,
                                     c.perclos.min_judged_fraction, c.perclos.max_frame_gap_s)
        self.perclos_long = Perclos(c.perclos.long_window_s, c.perclos.closed_closure,
                                    c.perclos.min_judged_fraction, c.perclos.max_frame_gap_s)
        self.yawns = YawnDetector(c.yawn)
        self.nods = NodDetector(c.nod)
        self.kss = KssLevel(c.kss)
        self.eyes = EyesAvailability(c.eyes)
        self.drowsy = False
        self.calibrated = False
        self._t = math.nan

    def update(self, inp: DetectorInput) -> list[Event]:
        f, cal, c = inp.features, inp.calibration, self.config
        t = self._t = f.t
        self.calibrated = cal.calibrated
        judge = self.judge
        ended = judge.update(f, cal)
        events = self.eyes.update(t, f.face_present, judge.judgeable, judge.reason)
        # No verdict on a frame whose eyes read open, even while that opening is too short yet to
        # end the closure (eye_closure.py (5)).
        events += self.microsleep.update(t, judge.closed_since_t, ended, judge.symmetric_share,
                                         judge.judgeable and not judge.reopening)
        events += self.blinks.update(t, judge.judgeable, ended)
        if ended is not None and not ended.abandoned and ended.duration_s >= c.blink.slow_min_duration_s:
            self.kss.add_slow_closure(t)
        self.perclos_short.update(t, judge.eye_closure)
        self.perclos_long.update(t, judge.eye_closure)
        for e in self.yawns.update(t, f.jaw_open, f.mouth_aspect_ratio):
            self.kss.add_yawn(t)
            events.append(e)
        # Head pitch from the road ahead only once it is known (docs/drowsiness.md): before it,
        # neutral_pitch_deg is the camera's axis, and a camera above or below the face reads
        # an attentive head 20-35 deg off it (REFERENCE.md "On real car footage").
        known = f.face_present and cal.road_ahead_known
        pitch_rel = f.head_pitch_deg - cal.neutral_pitch_deg if known else math.nan
        for e in self.nods.update(t, pitch_rel, judge.eyes_closed):
            self.kss.add_nod(t)
            events.append(e)
        level = self.kss.update(t, self.perclos_short.value, self.blinks.mean_duration_s)
        if not self.drowsy and level >= c.drowsy.start_level:
            self.drowsy = True
            events.append(Event(t, "event", "drowsy", "start", {"onset_t": t, "level": level}))
        elif self.drowsy and level <= c.drowsy.end_level:
            self.drowsy = False
            events.append(Event(t, "event", "drowsy", "end", {"onset_t": t, "level": level}))
        return events

    def columns(self) -> dict[str, Scalar]:
        judge = self.judge
        closed_since = judge.closed_since_t
        return {
            "eye_closure": judge.eye_closure,
            "eye_closure_left": judge.closure_left,
            "eye_closure_right": judge.closure_right,
            "iris_hidden": judge.iris_hidden,
            # Read closed on this frame, in a closure: not while an opening is pending (the
            # closure may go on through it, eye_closure.py (5)), so a reader of the column
            # (distraction: glances, the unresponsive timer) sees the eyes open as they read.
            "eyes_closed": closed_since is not None and not judge.reopening,
            "eyes_closed_s": self._t - closed_since if closed_since is not None else 0.0,
            "eyes_judgeable": judge.judgeable,
            "looking_down": judge.looking_down,
            "mouth_open": self.yawns.mouth_open,
            "yawn_count": self.yawns.count,
            "nod_count": self.nods.count,
            "blink_count": self.blinks.count,
            "blink_rate_per_min": self.blinks.rate_per_min,
            "blink_duration_mean_s": self.blinks.mean_duration_s,
            "perclos_60s": self.perclos_short.value,
            "perclos_180s": self.perclos_long.value,
            "kss_level": self.kss.level,
            "kss_score": self.kss.score,
            "drowsy": self.drowsy,
            "calibrated": self.calibrated,
        }

    def finish(self, t: float) -> list[Event]:
        # A closure whose eyes were seen opening too shortly before the input ended to confirm
        # it (eye_closure.py (5)) ends at the opening, as it would have on the next frames: a
        # blink there is still counted, an open microsleep / sleep ends at the opening, and
        # one that reached its minimum only before the opening is reported late.
        ended = self.judge.abandon(t)
        events: list[Event] = []
        if ended is not None and not ended.abandoned:
            events += self.microsleep.update(t, None, ended)
            events += self.blinks.update(t, False, ended)
            if ended.duration_s >= self.config.blink.slow_min_duration_s:
                self.kss.add_slow_closure(t)  # finish() at a camera fault: the drive goes on
        events += self.microsleep.finish(t)
        events += self.eyes.finish(t)
        if self.drowsy:
            self.drowsy = False
            events.append(Event(t, "event", "drowsy", "end", {"truncated": True, "level": self.kss.level}))
        return events
