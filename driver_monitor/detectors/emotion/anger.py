"""AngerDetector: an advisory anger / frustration level 0..3 from facial action units held
for seconds against the driver's own neutral expression, and `anger` start / end events
(docs/emotion.md).

The action units are those MediaPipe's blendshapes approximate, grouped after the EMFACS
anger prototypes (Ekman, Friesen & Hager 2002, FACS Investigator's Guide; REFERENCE.md
"Emotion, anger and daydreaming"): AU4 brow lowerer + AU5 upper-lid raiser and/or AU7 lid
tightener + AU23 lip tightener / AU24 lip presser (variants add AU10 / AU17):

  brow      AU4   browDown            (brow_down)
  lids      AU5   eyeWide             (eye_wide),  AU7 eyeSquint (eye_squint)
  mouth     AU23/24 mouthPress        (mouth_press), mouthRoll (mouth_roll),
            AU9/10 noseSneer          (nose_sneer), jaw clench jawForward (jaw_forward)

Level 1 needs all three groups shown at once; the mean of the groups' evidence (in robust
spreads above neutral) gives 2 and 3; heart rate above the driver's rate during the neutral
baseline raises it by one (supporting evidence, never anger on its own).

It abstains, saying why (column anger_abstain), where the same units have other causes:
talking (jaw moving), yawning (a yawn squeezes the eyes), glare / low sun (squinting lowers
the brows and tightens the lids), eyes not judgeable (sunglasses), a face turned away
(foreshortened brows and lids), no face, action units not read (no_units), and before the
neutral baseline is learned.
"""

from __future__ import annotations

import math
from collections import deque

from driver_monitor.config.anger import AngerConfig
from driver_monitor.detectors.base import DetectorInput
from driver_monitor.detectors.emotion.episode import AdvisoryEpisode
from driver_monitor.detectors.emotion.neutral import NeutralBaseline
from driver_monitor.detectors.stress.cues import SmoothedValue, blendshape_or_nan, finite_or_nan
from driver_monitor.messages import Event, Features, Scalar
from driver_monitor.names import Column, EventName

# EMFACS anger groups: Features field names (see the module docstring for the AU mapping).
GROUPS: dict[str, tuple[str, ...]] = {
    "brow": ("brow_down",),
    "lids": ("eye_wide", "eye_squint"),
    "mouth": ("mouth_press", "mouth_roll", "nose_sneer", "jaw_forward"),
}
UNITS: tuple[str, ...] = tuple(u for units in GROUPS.values() for u in units)

# Why the detector does not judge now (column anger_abstain), in the order checked.
NO_FACE, EYES, AWAY, YAWN, TALK, GLARE, LEARNING, NONE = (
    "no_face", "eyes_unavailable", "face_away", "yawning", "talking", "glare", "learning", "none")
# A group none of whose units was read within baseline.max_frame_gap_s (blendshapes missing
# on a seen face, a feature table without the columns): the expression cannot be judged.
NO_UNITS = "no_units"


class AngerDetector:
    def __init__(self, config: AngerConfig):
        self.config = config
        c = config.cues
        self.smoothed = {u: SmoothedValue(c.smoothing_time_constant_s, config.baseline.max_frame_gap_s) for u in UNITS}
        self.neutral = NeutralBaseline(config.baseline, (*UNITS, "face_brightness", "head_yaw_deg", "head_pitch_deg"))
        self._read_t: dict[str, float] = {}  # when each unit was last read (a finite value)
        self._hr_sum = 0.0
        self._hr_n = 0
        self.neutral_heart_rate_bpm = math.nan
        self._jaw: deque[tuple[float, float]] = deque()
        self._jaw_open: deque[float] = deque()  # the same samples' values (their range bounds the sd)
        self._talk_until = -math.inf
        self._yawn_until = -math.inf
        self._glare_until = -math.inf
        self.episode = AdvisoryEpisode(EventName.ANGER, config.level.start_after_s, config.level.end_after_s,
                                       config.abstain.grace_s)
        self.abstain = LEARNING
        self.level: int | None = None
        self.score = math.nan
        self.evidence: dict[str, float] = {}
        self.arousal_bpm = math.nan

    # -- per frame ------------------------------------------------------------------------

    def update(self, inp: DetectorInput) -> list[Event]:
        f = inp.features
        t = f.t
        # Blendshape scores are probabilities (0..1, MediaPipe's sigmoid outputs): anything else
        # (a hand-made table's 1e308) is no reading; taken, it overflowed the evidence to inf.
        raw = {u: blendshape_or_nan(getattr(f, u)) if f.face_present else math.nan for u in UNITS}
        values: dict[str, float] = {}
        for u in UNITS:
            # A unit not read for longer than a frame gap is unknown, not its last reading held
            # (held, an angry face's units kept an episode open for as long as they were unread).
            values[u] = self.smoothed[u].update(t, raw[u])
            if math.isfinite(raw[u]):
                self._read_t[u] = t
            elif t - self._read_t.get(u, -math.inf) > self.config.baseline.max_frame_gap_s + 1e-9:
                values[u] = math.nan
        for extra in ("face_brightness", "head_yaw_deg", "head_pitch_deg"):
            values[extra] = getattr(f, extra) if f.face_present else math.nan
        self.abstain = self._abstain(inp)
        if self.abstain in (NONE, LEARNING) and not all(
                any(math.isfinite(values[u]) for u in units) for units in GROUPS.values()):
            self.abstain = NO_UNITS
        learn = self.abstain in (NONE, LEARNING) and inp.vehicle.speed_at_least(self.config.baseline.min_speed_kph)
        if learn and not self.neutral.ready:
            hr = finite_or_nan(inp.upstream.get(Column.HEART_RATE_BPM))
            if math.isfinite(hr) and finite_or_nan(inp.upstream.get(Column.HEART_RATE_QUALITY)) >= self.config.level.arousal_min_quality:
                self._hr_sum, self._hr_n = self._hr_sum + hr, self._hr_n + 1
        self.neutral.update(t, values, learn)
        if self.neutral.ready and math.isnan(self.neutral_heart_rate_bpm) and self._hr_n:
            self.neutral_heart_rate_bpm = self._hr_sum / self._hr_n
        if self.abstain == LEARNING and self.neutral.ready:
            self.abstain = NONE
        if self.abstain != NONE:
            self.level, self.score, self.evidence, self.arousal_bpm = None, math.nan, {}, math.nan
            return self.episode.update(t, None, self._detail)
        self._judge(values, inp)
        return self.episode.update(t, self.level, self._detail)

    def _abstain(self, inp: DetectorInput) -> str:
        f, a, t = inp.features, self.config.abstain, inp.features.t
        self._track_jaw(t, f)
        if not f.face_present:
            return NO_FACE
        if inp.upstream.get(Column.EYES_JUDGEABLE) is False:
            return EYES
        # Turned away from the road ahead; while the road-ahead direction is not known yet
        # (camera.mount auto, `calibrating`), from the head pose of the learned neutral
        # (before that, not judged: the median of the neutral outvotes a few glances).
        cal = inp.calibration
        if cal.road_ahead_known:
            yaw, pitch = f.head_yaw_deg - cal.neutral_yaw_deg, f.head_pitch_deg - cal.neutral_pitch_deg
        elif self.neutral.ready:
            yaw = f.head_yaw_deg - self.neutral.centre["head_yaw_deg"]
            pitch = f.head_pitch_deg - self.neutral.centre["head_pitch_deg"]
        else:
            yaw = pitch = 0.0 if math.isfinite(f.head_yaw_deg) and math.isfinite(f.head_pitch_deg) else math.nan
        if not (abs(yaw) <= a.max_yaw_deg and abs(pitch) <= a.max_pitch_deg):  # NaN: away
            return AWAY
        if inp.upstream.get(Column.MOUTH_OPEN) is True or f.jaw_open > a.yawn_jaw_open:
            self._yawn_until = t + a.yawn_hold_s
        if t <= self._yawn_until:
            return YAWN
        if len(self._jaw) >= 3 and _may_exceed(self._jaw_open, a.talk_jaw_sd) and _detrended_sd(self._jaw) > a.talk_jaw_sd:
            self._talk_until = t + a.talk_hold_s
        if t <= self._talk_until:
            return TALK
        if self._glare(f):
            self._glare_until = t + a.glare_hold_s
        if t <= self._glare_until:
            return GLARE
        return NONE if self.neutral.ready else LEARNING

    def _track_jaw(self, t: float, f: Features) -> None:
        if not f.face_present or not math.isfinite(f.jaw_open):
            self._jaw.clear()
            self._jaw_open.clear()
            return
        self._jaw.append((t, f.jaw_open))
        self._jaw_open.append(f.jaw_open)
        while self._jaw and self._jaw[0][0] < t - self.config.abstain.talk_window_s:
            self._jaw.popleft()
            self._jaw_open.popleft()

    def _glare(self, f: Features) -> bool:
        a = self.config.abstain
        b = f.face_brightness
        if not math.isfinite(b):
            return False
        if b > a.glare_face_brightness:
            return True
        neutral = self.neutral.centre.get("face_brightness", math.nan)
        return math.isfinite(neutral) and neutral > 0 and b > a.glare_face_brightness_ratio * neutral

    def _judge(self, values: dict[str, float], inp: DetectorInput) -> None:
        c, lv = self.config.cues, self.config.level
        self.evidence = {}
        groups: dict[str, float] = {}
        for group, units in GROUPS.items():
            best = 0.0
            for u in units:
                rise = values[u] - self.neutral.centre[u]
                units_above = rise / max(self.neutral.spread[u], c.min_spread)
                if math.isfinite(rise) and rise >= c.min_rise and units_above >= c.min_units:
                    self.evidence[u] = round(units_above, 3)
                    best = max(best, units_above)
            groups[group] = best
        shown = all(v > 0 for v in groups.values())
        self.score = sum(groups.values()) / len(groups)
        level = (1 + sum(self.score >= th for th in lv.level_scores)) if shown else 0
        hr = finite_or_nan(inp.upstream.get(Column.HEART_RATE_BPM))
        quality = finite_or_nan(inp.upstream.get(Column.HEART_RATE_QUALITY))
        self.arousal_bpm = hr - self.neutral_heart_rate_bpm if quality >= lv.arousal_min_quality else math.nan
        if level and math.isfinite(self.arousal_bpm) and self.arousal_bpm >= lv.arousal_bpm:
            level += 1
        self.level = min(level, 3)

    def _detail(self, onset_t: float) -> dict[str, object]:
        detail: dict[str, object] = {"onset_t": onset_t, "level": self.level, "advisory": True,
                                     "evidence": dict(self.evidence)}
        if math.isfinite(self.arousal_bpm):
            detail["arousal_bpm"] = round(self.arousal_bpm, 1)
        return detail

    # -- outputs --------------------------------------------------------------------------

    def columns(self) -> dict[str, Scalar]:
        return {
            Column.ANGER_LEVEL: self.level,
            "anger_score": self.score,
            "anger_abstain": self.abstain,
            "anger_neutral_learned_s": round(self.neutral.learned_s, 3),
        }

    def finish(self, t: float) -> list[Event]:
        return self.episode.finish(t)

    def relearn_driver(self, t: float) -> list[Event]:
        """A journey that may have another driver (pipeline): close an open episode at t and
        learn the neutral face (and its heart rate) afresh: one driver's neutral is not
        another's (the bundled portraits' neutral browDown reads 0.05, 0.78 and 0.52)."""
        events = self.finish(t)
        self.__init__(self.config)  # type: ignore[misc]
        return events


def _may_exceed(values: deque[float], sd: float) -> bool:
    """False when the samples' detrended standard deviation is surely at most `sd`: it is at
    most their sd about the mean, which is at most half their range (max - min, exact). The 5 %
    margin dwarfs the rounding of _detrended_sd's sums, so skipping it never flips the test;
    a still jaw (most frames) then costs two comparisons of the window instead of five sums."""
    return max(values) - min(values) > 1.9 * sd


def _detrended_sd(samples: deque[tuple[float, float]]) -> float:
    """Standard deviation of the samples about their least-squares line: speech moves the jaw
    up and down several times a second, while an expression coming on (AU24 presses the
    lips, the jaw reading drifts by 0.03) is a ramp, not talking."""
    n = len(samples)
    mt = sum(t for t, _ in samples) / n
    my = sum(y for _, y in samples) / n
    stt = sum((t - mt) ** 2 for t, _ in samples)
    sty = sum((t - mt) * (y - my) for t, y in samples)
    syy = sum((y - my) ** 2 for _, y in samples)
    residual = syy - (sty * sty / stt if stt > 0 else 0.0)
    return math.sqrt(max(residual, 0.0) / n)
