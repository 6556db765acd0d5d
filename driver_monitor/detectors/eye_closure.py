"""Eye closure judged against the driver's baseline, the head pose and the gaze.

Per frame (docs/drowsiness.md "Eye closure"):

1. Per eye, two closure measures normalised to this driver's open eye (Calibration):
   blendshape  c_b = (eyeBlink - open eyeBlink) / (closed_eye_blink - open eyeBlink)
   depth       c_e = 1 - EAR / open EAR
   both clamped to 0..1; fused = blink_weight * c_b + (1 - blink_weight) * c_e, averaged
   over the eyes.
2. Looking down = eyeLookDown >= look_down_min AND head pitch >= neutral + look_down_pitch_deg,
   or head pitch >= neutral + look_down_head_pitch_deg alone (a head-led glance to the lap).
   A downward gaze lowers the upper lid (eyeBlink 0.58-0.7, EAR 12-27 % of open with open
   eyes on selfie_segmentation_web.mp4), so then only depth counts, rescaled from the lid
   level a downward gaze itself produces: judged = (c_e - L) / (1 - L), L = look_down_lid_closure.
   A blink also raises eyeLookDown but leaves the head where it is, so it is judged by 1.
3. Judgeable = face seen, both measures present and agreeing within max_disagreement, head
   within the judgeable angles of neutral, face large enough. Otherwise the
   closure is NaN and nothing is concluded from the frame.
4. `eyes_closed` has hysteresis on the judged closure; a closure's start and end are the
   interpolated threshold crossings, so durations do not depend on the frame rate.
   Unjudgeable frames inside a closure are bridged up to closure.max_gap_s; a longer gap
   abandons the closure (no blink, microsleep or sleep is concluded from unseen eyes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from driver_monitor.config.drowsiness import (
    BlinkConfig,
    ClosureEventsConfig,
    EyeClosureConfig,
    EyeJudgeabilityConfig,
)
from driver_monitor.detectors.calibration import Calibration
from driver_monitor.detectors.crossing import crossing_time
from driver_monitor.messages import Features


@dataclass(frozen=True, slots=True)
class ClosureEpisode:
    """A closure that ended: start and end are threshold-crossing times. `abandoned`: the
    eyes became unjudgeable before they opened (its length says nothing)."""

    start_t: float
    end_t: float
    abandoned: bool = False

    @property
    def duration_s(self) -> float:
        return self.end_t - self.start_t


def _clamp01(x: float) -> float:
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x


class EyeClosureJudge:
    def __init__(self, closure: EyeClosureConfig, eyes: EyeJudgeabilityConfig, blink: BlinkConfig,
                 events: ClosureEventsConfig):
        self.cfg = closure
        self.closed_threshold = blink.closed_threshold
        self.open_threshold = blink.open_threshold
        self.eyes_cfg = eyes
        self.max_gap_s = events.max_gap_s
        # Per-frame outputs.
        self.eye_closure = math.nan  # judged closure, 0 open .. 1 closed, NaN unjudgeable
        self.fused_closure = math.nan  # before the look-down rule (diagnostics)
        self.judgeable = False
        self.looking_down = False
        # Why the last unjudgeable frame could not be judged (eyes_unavailable detail).
        self.reason = ""
        # Closure in progress: start time (interpolated), None when the eyes are open.
        self.closed_since_t: float | None = None
        self._last_judged_t: float | None = None
        self._last_closure: float | None = None

    @property
    def eyes_closed(self) -> bool:
        return self.closed_since_t is not None

    def update(self, f: Features, cal: Calibration) -> ClosureEpisode | None:
        """Judge one frame; returns the closure that ended at this frame, if any."""
        closure, fused, looking_down, judgeable = self._judge(f, cal)
        self.eye_closure, self.fused_closure = closure, fused
        self.looking_down, self.judgeable = looking_down, judgeable
        t = f.t
        if not judgeable:
            if self.closed_since_t is not None and self._last_judged_t is not None \
                    and t - self._last_judged_t > self.max_gap_s:
                episode = ClosureEpisode(self.closed_since_t, self._last_judged_t, abandoned=True)
                self.closed_since_t = None
                self._last_judged_t = self._last_closure = None
                return episode
            if self.closed_since_t is None:
                self._last_judged_t = self._last_closure = None
            return None
        prev_t, prev = self._last_judged_t, self._last_closure
        if prev_t is not None and t - prev_t > self.max_gap_s:
            prev_t = prev = None  # too old to interpolate across
        self._last_judged_t, self._last_closure = t, closure
        if self.closed_since_t is None:
            if closure >= self.closed_threshold:
                self.closed_since_t = crossing_time(prev_t, prev, t, closure, self.closed_threshold)
            return None
        if closure > self.open_threshold:
            return None
        episode = ClosureEpisode(self.closed_since_t, crossing_time(prev_t, prev, t, closure, self.open_threshold))
        self.closed_since_t = None
        return episode

    def abandon(self, t: float) -> ClosureEpisode | None:
        """End of input: a closure still in progress ends without a verdict on its length."""
        if self.closed_since_t is None:
            return None
        episode = ClosureEpisode(self.closed_since_t, t, abandoned=True)
        self.closed_since_t = None
        return episode

    def _judge(self, f: Features, cal: Calibration) -> tuple[float, float, bool, bool]:
        nan = math.nan
        if not f.face_present:
            self.reason = "no_face"
            return nan, nan, False, False
        c, e = self.cfg, self.eyes_cfg
        blink_sum = ear_sum = 0.0
        n = 0
        for blink, open_blink, ear, open_ear in (
            (f.eye_blink_left, cal.open_eye_blink_left, f.ear_left, cal.open_ear_left),
            (f.eye_blink_right, cal.open_eye_blink_right, f.ear_right, cal.open_ear_right),
        ):
            if math.isnan(blink) or math.isnan(ear):
                continue
            blink_sum += _clamp01((blink - open_blink) / (c.closed_eye_blink - open_blink))
            ear_sum += _clamp01(1.0 - ear / open_ear)
            n += 1
        if n == 0:
            self.reason = "eyes_not_measured"
            return nan, nan, False, False
        c_b, c_e = blink_sum / n, ear_sum / n
        fused = c.blink_weight * c_b + (1.0 - c.blink_weight) * c_e
        pitch_rel = f.head_pitch_deg - cal.neutral_pitch_deg
        yaw_rel = f.head_yaw_deg - cal.neutral_yaw_deg
        looking_down = (f.eye_look_down >= c.look_down_min and pitch_rel >= c.look_down_pitch_deg) or pitch_rel >= c.look_down_head_pitch_deg
        closure = _clamp01((c_e - c.look_down_lid_closure) / (1.0 - c.look_down_lid_closure)) if looking_down else fused
        if f.eye_luma_ratio < e.min_eye_luma_ratio:  # NaN (not measured) never hides the eyes
            self.reason = "eyes_hidden"
        elif abs(c_b - c_e) > c.max_disagreement:
            self.reason = "measures_disagree"
        elif not (abs(yaw_rel) <= e.max_yaw_deg and -e.max_pitch_up_deg <= pitch_rel <= e.max_pitch_down_deg):
            self.reason = "head_turned"
        elif f.face_width_px < e.min_face_width_px:
            self.reason = "face_too_small"
        else:
            return closure, fused, looking_down, True
        return nan, fused, looking_down, False
