"""Eye closure judged against the driver's own open eyes, the head pose, the gaze and the
picture of the iris.

Per frame (docs/drowsiness.md "Eye closure"):

1. Per eye, closure measures normalised to this driver's open eye (Calibration):
   blendshape  c_b = (eyeBlink - open eyeBlink) / (closed_eye_blink - open eyeBlink)
   depth       c_e = 1 - EAR / open EAR
   iris        c_i = 1 at iris contrast <= iris_hidden_ratio x open contrast, 0 at >=
               iris_showing_ratio x open, linear between (perception/eye_region.py)
   all clamped to 0..1; lids = blink_weight * c_b + (1 - blink_weight) * c_e, and where the
   iris is measured closure = (1 - iris_weight) * lids + iris_weight * c_i. The judged
   closure is the mean of the eyes; the less closed eye says whether the closure is
   symmetric (both eyes), which microsleep and sleep require.
2. Looking down (only with a known road-ahead direction for the head-pose rules):
   eyeLookDown >= look_down_min AND head pitch >= neutral + look_down_pitch_deg, or head
   pitch >= neutral + look_down_head_pitch_deg alone (a head-led glance to the lap), or
   eyeLookDown >= look_down_min with the iris clearly showing (c_i <= iris_showing_max: a
   glance down with the eyes alone) -- unless the iris is clearly hidden (c_i >=
   iris_hidden_min) in both eyes, which is a closure whatever the head does.
   A downward gaze lowers the upper lid (eyeBlink 0.58-0.7, EAR 12-27 % of open with open
   eyes on selfie_segmentation_web.mp4), so then only depth counts, rescaled from the lid
   level a downward gaze itself produces: judged = (c_e - L) / (1 - L), L = look_down_lid_closure.
3. Judgeable = face seen, both lid measures present and agreeing within max_disagreement,
   head within the judgeable angles of neutral, face large enough, eyes not behind dark
   lenses. Otherwise the closure is NaN and nothing is concluded from the frame.
4. `eyes_closed` has hysteresis on the judged closure; a closure's start and end are the
   interpolated threshold crossings, so durations do not depend on the frame rate.
   Unjudgeable frames inside a closure are bridged up to closure.max_gap_s of unseen time
   (between two judged frames, their interval less one frame period, so that the limit does
   not depend on the frame rate), or up to
   closure.long_closure_max_gap_s once the eyes have been seen closed for
   long_closure_min_s (longer than an alert blink: the detector drops a sleeping face at
   night, a drooping head leaves the judgeable angles; a glance begins with a closed-looking
   frame or two, not half a second of them); a longer gap abandons the closure (no blink,
   microsleep or sleep is concluded from unseen eyes). No frame at all (dropped frames, a
   stalled camera) is bridged up to long_closure_max_gap_s whatever the closure's age (no
   sign of a glance), its opening interpolated across the gap; a longer stall ends the
   closure unjudged at its last judged frame.
5. An opening must last closure.min_opening_s before it ends the closure: a lid cannot
   reopen and shut again much faster than a blink (a rested blink, shut and open, takes
   under 200 ms, REFERENCE.md; the 0.1 s, half of that, is our choice), so a shorter dip
   below the open threshold is the measurement
   (sensor noise at night, a lash line or a lid read as iris), and the closure goes on
   through it. A real opening still ends the closure at its crossing time, seen
   min_opening_s later; no microsleep or sleep verdict is given while an opening is pending.
   After frames whose eyes were not judged (the face lost, a head tilted beyond the judgeable
   angles) the eyes were not seen opening: the opening lasts from its first open frame, not
   from the crossing interpolated into the gap (which would make one open frame look like a
   long opening), while the closure still ends at that crossing; after dropped frames (no
   frame at all) it lasts from one frame period before its first open frame at the earliest.
   Once the eyes were seen closed for long_closure_min_s, half-open readings
   (closure.half_open_closure up to the open threshold) are the lids alone wandering on a
   shut eye where the iris cannot be measured: an opening that reads half-open ends such a
   closure only once it has lasted closure.max_half_open_s; eyes that read fully open
   (below half_open_closure) end it after min_opening_s as above. A blink's opening (a
   closure seen for less than that) ends it after min_opening_s whatever it reads.
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
from driver_monitor.detectors.frame_period import FramePeriod
from driver_monitor.messages import Features


@dataclass(frozen=True, slots=True)
class ClosureEpisode:
    """A closure that ended: start and end are threshold-crossing times. `abandoned`: the
    eyes became unjudgeable before they opened (its length says nothing)."""

    start_t: float
    end_t: float
    abandoned: bool = False
    symmetric_share: float = 1.0  # share of its judged time with both eyes closed

    @property
    def duration_s(self) -> float:
        return self.end_t - self.start_t


# A gap of exactly the limit between two judged frames is within it (frame times i / fps
# differ from the limit by a rounding error: 74/30 - 59/30 > 0.5).
GAP_TOLERANCE_S = 1e-6


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
        self.long_closure_min_s = events.long_closure_min_s
        self.long_closure_max_gap_s = events.long_closure_max_gap_s
        self.min_opening_s = events.min_opening_s
        self.half_open_closure = events.half_open_closure
        self.max_half_open_s = events.max_half_open_s
        # Per-frame outputs.
        self.eye_closure = math.nan  # judged closure, 0 open .. 1 closed, NaN unjudgeable
        self.fused_closure = math.nan  # before the look-down rule (diagnostics)
        self.judgeable = False
        self.looking_down = False
        # Why the last unjudgeable frame could not be judged (eyes_unavailable detail).
        self.reason = ""
        # Closure in progress: start time (interpolated), None when the eyes are open.
        self.closed_since_t: float | None = None
        self.closure_left = math.nan  # per eye, judged like eye_closure (diagnostics)
        self.closure_right = math.nan
        self.iris_hidden = math.nan  # mean iris cue c_i of the measured eyes, NaN if none
        self.symmetric = False  # both eyes judged closed in this frame
        # Judged time of the closure in progress, and how much of it had both eyes closed.
        self._closed_judged_s = 0.0
        self._closed_symmetric_s = 0.0
        self._last_judged_t: float | None = None
        self._last_closure: float | None = None
        self._prev_symmetric = False
        # An opening of a long closure not yet seen to last min_opening_s: its crossing time.
        self._opening_t: float | None = None
        # ... and since when it has been seen: the crossing, or the first frame read open
        # when the frames before it were not judged (the eyes were not seen opening).
        self._opening_seen_t: float | None = None
        self._opening_of_long = False  # ... of a closure seen for long_closure_min_s
        # Frames whose eyes were not judged came since the last judged one.
        self._unjudged_since_judged = False
        # The camera's frame period (detectors/frame_period.py).
        self._frames = FramePeriod()

    @property
    def eyes_closed(self) -> bool:
        return self.closed_since_t is not None

    @property
    def reopening(self) -> bool:
        """The eyes read open inside a long closure, for less than min_opening_s so far."""
        return self._opening_t is not None

    def update(self, f: Features, cal: Calibration) -> ClosureEpisode | None:
        """Judge one frame; returns the closure that ended at this frame, if any."""
        closure, fused, looking_down, judgeable = self._judge(f, cal)
        self.eye_closure, self.fused_closure = closure, fused
        self.looking_down, self.judgeable = looking_down, judgeable
        t = f.t
        self._frames.add(t)
        if self._opening_t is not None:
            return self._while_reopening(t, closure, judgeable)
        if not judgeable:
            self._unjudged_since_judged = True
            if self.closed_since_t is not None and self._last_judged_t is not None \
                    and t - self._last_judged_t > self._gap_limit_s() + GAP_TOLERANCE_S:
                episode = self._end(self._last_judged_t, abandoned=True)
                self._last_judged_t = self._last_closure = None
                return episode
            if self.closed_since_t is None:
                self._last_judged_t = self._last_closure = None
            return None
        prev_t, prev = self._last_judged_t, self._last_closure
        unseen_before = self._unjudged_since_judged
        self._unjudged_since_judged = False
        abandoned: ClosureEpisode | None = None
        if prev_t is not None and self._unseen_s(prev_t, t) > self._gap_limit_s() + GAP_TOLERANCE_S:
            # No frame at all in between (frames dropped by a loaded car computer, a camera
            # stall) is no sign of a glance, unlike unjudged frames: a closure survives up to
            # long_closure_max_gap_s of it, whatever its age (so closures are still followed at
            # 4 fps), its end interpolated across the gap as a longer closure's is (put at this
            # frame, a 0.53 s slow blink before a 0.5 s stall lasted 1.02 s: a late microsleep
            # from time nobody saw); beyond that it ends here unjudged, as it would have inside
            # the gap. Without a closure, this frame starts afresh: too old to interpolate across.
            if self.closed_since_t is None:
                prev_t = prev = None
            elif self._unseen_s(prev_t, t) > self.long_closure_max_gap_s + GAP_TOLERANCE_S:
                abandoned = self._end(prev_t, abandoned=True)
                prev_t = prev = None
        self._last_judged_t, self._last_closure = t, closure
        if self.closed_since_t is None:
            if closure >= self.closed_threshold:
                self._start(crossing_time(prev_t, prev, t, closure, self.closed_threshold))
            return abandoned
        self._held_since(prev_t, t)
        if closure > self.open_threshold:
            return None
        opening_t = crossing_time(prev_t, prev, t, closure, self.open_threshold)
        if prev_t is not None:
            self._opening_t = opening_t  # (5) in the module doc: seen on the next frames
            # Seen from the crossing, but no earlier than one frame period before this frame:
            # after dropped frames (a stall) the crossing lies in time nobody saw, and one
            # open frame would look like a long opening (a sleep cut in two), as after
            # unjudged frames (seen from this frame: the frame before it was seen, unjudged).
            self._opening_seen_t = t if unseen_before else max(opening_t, t - self._frames.period_s)
            self._opening_of_long = prev_t - self.closed_since_t >= self.long_closure_min_s
            if not self._opened(t, closure):
                return None
        return self._end(opening_t)

    def _start(self, closed_t: float) -> None:
        self.closed_since_t = closed_t
        self._closed_judged_s = self._closed_symmetric_s = 0.0
        self._prev_symmetric = self.symmetric

    def _held_since(self, prev_t: float | None, t: float) -> None:
        """The interval since the last judged frame (prev_t) held that frame's verdict."""
        if prev_t is not None:
            self._closed_judged_s += t - prev_t
            self._closed_symmetric_s += (t - prev_t) if self._prev_symmetric else 0.0
        self._prev_symmetric = self.symmetric

    def _opened(self, t: float, closure: float | None) -> bool:
        """The pending opening, read `closure` at t (the last reading; None unseen), has
        lasted long enough to be one: min_opening_s with the eyes fully open, or
        max_half_open_s whatever they read (module doc (5))."""
        assert self._opening_seen_t is not None
        lasted_s = t - self._opening_seen_t
        if not self._opening_of_long:  # a blink's: min_opening_s, whatever the eyes read
            return lasted_s >= self.min_opening_s
        fully_open = closure is not None and closure < self.half_open_closure
        return lasted_s >= self.max_half_open_s or (fully_open and lasted_s >= self.min_opening_s)

    def _while_reopening(self, t: float, closure: float, judgeable: bool) -> ClosureEpisode | None:
        """A frame while an opening of a long closure is pending: closed again before it
        has lasted long enough (_opened, from interpolated crossings) continues the closure;
        open for that long, or unseen, ends it at the opening. Closed again later ends it
        there too, and a new closure starts at the second crossing."""
        assert self._opening_t is not None and self.closed_since_t is not None
        self._unjudged_since_judged = not judgeable
        prev_t, prev = self._last_judged_t, self._last_closure
        if not judgeable or prev_t is None or self._unseen_s(prev_t, t) > self._gap_limit_s() + GAP_TOLERANCE_S:
            if judgeable or self._opened(t, self._last_closure):
                # Not seen shutting again in time (or after too long a stall to tell): the
                # eyes opened; a closed frame after a stall starts afresh, as in update().
                episode = self._end(self._opening_t)
                self._last_judged_t, self._last_closure = (t, closure) if judgeable else (None, None)
                if judgeable and closure >= self.closed_threshold:
                    self._start(t)
                return episode
            return None
        self._last_judged_t, self._last_closure = t, closure
        if closure >= self.closed_threshold:
            reclosed_t = crossing_time(prev_t, prev, t, closure, self.closed_threshold)
            if not self._opened(reclosed_t, prev):
                self._opening_t = self._opening_seen_t = None  # not an opening: the closure goes on
                self._held_since(prev_t, t)
                return None
            episode = self._end(self._opening_t)
            self._start(reclosed_t)
            return episode
        if self._opened(t, closure):
            return self._end(self._opening_t)
        return None

    def _unseen_s(self, prev_t: float, t: float) -> float:
        """How long the eyes went unseen between the judged frames at prev_t and t: the time
        between them less one frame period (the frame at t is seen). The same measure as an
        unjudged frame's `t - last judged` (its own period unseen), so a gap bridged at its
        last unjudged frame is bridged at the judged one after it: compared whole, the limit
        was one frame period shorter there, 0.1 s at 10 fps against 0.017 s at 60 (a face
        lost for 0.42 s ended a sleep at 10 fps and not at 30)."""
        return self._frames.unseen_s(prev_t, t)

    def _gap_limit_s(self) -> float:
        """How long the eyes may go unjudged inside the closure in progress (module doc)."""
        if self.closed_since_t is not None and self._last_judged_t is not None \
                and self._last_judged_t - self.closed_since_t >= self.long_closure_min_s:
            return self.long_closure_max_gap_s
        return self.max_gap_s

    @property
    def symmetric_share(self) -> float:
        """Share of the closure in progress (so far) with both eyes closed; 1 before any
        judged interval has passed."""
        if self._closed_judged_s <= 0.0:
            return 1.0 if self.symmetric else 0.0
        return self._closed_symmetric_s / self._closed_judged_s

    def _end(self, end_t: float, abandoned: bool = False) -> ClosureEpisode:
        assert self.closed_since_t is not None
        episode = ClosureEpisode(self.closed_since_t, end_t, abandoned, self.symmetric_share)
        self.closed_since_t = self._opening_t = self._opening_seen_t = None
        return episode

    def abandon(self, t: float) -> ClosureEpisode | None:
        """End of input: a closure still in progress ends without a verdict on its length
        (one whose eyes were last seen opening ends at the opening)."""
        if self.closed_since_t is None:
            return None
        if self._opening_t is not None:
            return self._end(self._opening_t)
        return self._end(t, abandoned=True)

    def _judge(self, f: Features, cal: Calibration) -> tuple[float, float, bool, bool]:
        nan = math.nan
        self.closure_left = self.closure_right = self.iris_hidden = nan
        self.symmetric = False
        if not f.face_present:
            self.reason = "no_face"
            return nan, nan, False, False
        c, e = self.cfg, self.eyes_cfg
        lids: list[float] = []
        per_eye: list[float] = []
        blink_cues: list[float] = []
        depth_cues: list[float] = []
        iris_cues: list[float] = []
        eyes = (
            (f.eye_blink_left, cal.open_eye_blink_left, f.ear_left, cal.open_ear_left,
             f.iris_contrast_left, cal.open_iris_contrast_left),
            (f.eye_blink_right, cal.open_eye_blink_right, f.ear_right, cal.open_ear_right,
             f.iris_contrast_right, cal.open_iris_contrast_right),
        )
        for blink, open_blink, ear, open_ear, iris, open_iris in eyes:
            if math.isnan(blink) or math.isnan(ear):
                per_eye.append(nan)
                continue
            c_b = _clamp01((blink - open_blink) / (c.closed_eye_blink - open_blink))
            c_e = _clamp01(1.0 - ear / open_ear)
            lid = c.blink_weight * c_b + (1.0 - c.blink_weight) * c_e
            blink_cues.append(c_b)
            depth_cues.append(c_e)
            lids.append(lid)
            if math.isnan(iris):
                per_eye.append(lid)
                continue
            ratio = iris / open_iris
            c_i = _clamp01((c.iris_showing_ratio - ratio) / (c.iris_showing_ratio - c.iris_hidden_ratio))
            iris_cues.append(c_i)
            per_eye.append((1.0 - c.iris_weight) * lid + c.iris_weight * c_i)
        if not lids:
            self.reason = "eyes_not_measured"
            return nan, nan, False, False
        self.closure_left, self.closure_right = per_eye
        c_b, c_e = sum(blink_cues) / len(blink_cues), sum(depth_cues) / len(depth_cues)
        fused = sum(v for v in per_eye if not math.isnan(v)) / len(lids)
        iris_hidden = sum(iris_cues) / len(iris_cues) if iris_cues else nan
        self.iris_hidden = iris_hidden
        pitch_rel = f.head_pitch_deg - cal.neutral_pitch_deg if cal.road_ahead_known else nan
        yaw_rel = f.head_yaw_deg - cal.neutral_yaw_deg
        looks_down = f.eye_look_down >= c.look_down_min
        head_down = (looks_down and pitch_rel >= c.look_down_pitch_deg) or pitch_rel >= c.look_down_head_pitch_deg
        # How much the picture says "a downward gaze" rather than "closed lids": 1 with the
        # iris clearly showing, 0 with it clearly hidden, a ramp between, so a cue near a
        # threshold blends the two readings instead of flipping a closure open for a frame.
        # The eye that shows more of its iris decides: one iris seen proves that eye open (a
        # closure is symmetric, microsleep and sleep require both eyes), while a steep glance
        # down turned a little aside can hide the far eye's iris under its lid alone.
        if math.isnan(iris_hidden):
            showing = 1.0 if head_down else 0.0  # no picture: the head pose alone decides
        else:
            least_hidden = min(iris_cues)
            showing = _clamp01((c.iris_hidden_min - least_hidden) / (c.iris_hidden_min - c.iris_showing_max))
        down_weight = showing if (head_down or looks_down) else 0.0
        looking_down = down_weight >= 0.5
        if down_weight > 0.0:
            depth = _clamp01((c_e - c.look_down_lid_closure) / (1.0 - c.look_down_lid_closure))
            closure = down_weight * depth + (1.0 - down_weight) * fused
            self.closure_left, self.closure_right = (
                v if math.isnan(v) else down_weight * depth + (1.0 - down_weight) * v
                for v in (self.closure_left, self.closure_right))
        else:
            closure = fused
        self.symmetric = len(lids) == 2 and min(self.closure_left, self.closure_right) >= c.symmetric_min_closure
        if f.eye_luma_ratio < e.min_eye_luma_ratio:  # NaN (not measured) never hides the eyes
            self.reason = "eyes_hidden"
        elif abs(c_b - c_e) > c.max_disagreement:
            self.reason = "measures_disagree"
        elif not (abs(yaw_rel) <= e.max_yaw_deg and _pitch_judgeable(f.head_pitch_deg, cal.neutral_pitch_deg, e)):
            self.reason = "head_turned"
        elif f.face_width_px < e.min_face_width_px:
            self.reason = "face_too_small"
        else:
            return closure, fused, looking_down, True
        self.symmetric = False
        return nan, fused, looking_down, False


def _pitch_judgeable(pitch_deg: float, neutral_pitch_deg: float, e: EyeJudgeabilityConfig) -> bool:
    """The head's pitch (deg, + down as the camera sees it) leaves the lids judgeable: within
    max_pitch_down_deg below the neutral pose, and not tilted back more than max_pitch_up_deg
    both from the neutral pose and from the camera's axis. The lids are foreshortened by the
    angle between the face and the camera's view; a camera above the face (a mirror mount:
    neutral pitch +12..+26 deg, REFERENCE.md "On real car footage") sees a head tilted back
    turn towards it, its lids more squarely. Judged from the neutral pose alone, car_yawn_man's
    yawn (head back to -20 deg from a neutral +14, 34 deg) made his shut eyes unjudgeable for
    0.6 s and cut the closure, once the neutral pose was learned before the yawn (the microsleep
    1.4 s late, a shorter closure missed). For a camera level with or below the face (neutral
    <= 0) tilting back turns the face away from it too: nothing changes there."""
    relative = pitch_deg - neutral_pitch_deg
    if relative > e.max_pitch_down_deg:
        return False
    return relative >= -e.max_pitch_up_deg or pitch_deg >= -e.max_pitch_up_deg

