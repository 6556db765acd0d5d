"""StressDetector: an advisory stress level 0..3 with a confidence, relative to the driver's
own calm baseline, and `stress` start / end events with hysteresis (docs/stress.md).

Heart rate comes from an external sensor while it reports (CAN signal or serial sensor,
merged into VehicleState.external_heart_rate_bpm by the vehicle adapter, which turns a stale
reading into None), else from the camera (rppg.py), else nowhere: the detector says so
(`heart_rate_source` none) instead of guessing. The policy treats stress as advisory only
(REFERENCE.md "Heart rate and stress").
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from driver_monitor.config.privacy import PrivacyConfig
from driver_monitor.config.stress import StressConfig
from driver_monitor.detectors.base import DetectorInput
from driver_monitor.detectors.stress.cues import (
    Baseline,
    Cue,
    SmoothedValue,
    blendshape_or_nan,
    finite_or_nan,
)
from driver_monitor.detectors.stress.rppg import (
    HeartRateEstimate,
    HeartRateSource,
    RppgEstimator,
    rmssd_from_intervals,
)
from driver_monitor.messages import Event, Scalar
from driver_monitor.names import Column, PrivateSignal
from driver_monitor.perception.expression import COLUMN_PREFIX

# The drowsiness detector's column read through DetectorInput.upstream (may be absent;
# pipeline.DETECTOR_STAGES declares it).
BLINK_RATE_COLUMN = Column.BLINK_RATE_PER_MIN
# The expression plug-in's columns: EXPRESSION_PREFIX + signal name.
EXPRESSION_PREFIX = COLUMN_PREFIX

# The cues whose raw value update() reads itself (the rest are upstream columns).
_OWN_CUES = frozenset({"heart_rate", "rmssd", "brow_down", "mouth_press", "eye_squint", "blink_rate"})

SOURCE_CAMERA = "camera"
SOURCE_EXTERNAL = "external"
SOURCE_NONE = "none"


class StressDetector:
    def __init__(self, config: StressConfig, privacy: PrivacyConfig | None = None):
        """`privacy`: a signal switched `off` there is not computed at all (no camera pulse
        and no external sensor reading for heart_rate off, no RMSSD for hrv off, no level
        and no events for stress off); docs/emotion.md "Privacy"."""
        self.config = config
        privacy = privacy if privacy is not None else PrivacyConfig()
        self._privacy = privacy
        self.use_heart_rate = privacy.computed(PrivateSignal.HEART_RATE)
        self.use_hrv = self.use_heart_rate and privacy.computed(PrivateSignal.HRV)
        self.judge_stress = privacy.computed(PrivateSignal.STRESS)
        self.rppg: HeartRateSource = RppgEstimator(config.rppg)
        b, s, w = config.baseline, config.scales, config.weights

        def cue(name: str, scale: float, weight: float, tau_s: float, direction: float = 1.0, relative: bool = False) -> Cue:
            return Cue(
                name, SmoothedValue(tau_s, b.max_gap_s), Baseline(b.baseline_s, b.adapt_time_constant_s, b.max_gap_s),
                scale, weight, direction, relative,
            )

        tau = b.cue_smoothing_time_constant_s
        # Heart rate and RMSSD are already averaged over the rPPG window: no extra smoothing.
        self.cues: dict[str, Cue] = {
            "heart_rate": cue("heart_rate", s.heart_rate_bpm, w.heart_rate, 0.0),
            "rmssd": cue("rmssd", s.rmssd_drop, w.rmssd, 0.0, direction=-1.0, relative=True),
            "brow_down": cue("brow_down", s.brow_down, w.brow_down, tau),
            "mouth_press": cue("mouth_press", s.mouth_press, w.mouth_press, tau),
            "eye_squint": cue("eye_squint", s.eye_squint, w.eye_squint, tau),
            "blink_rate": cue("blink_rate", s.blink_rate_change, w.blink_rate, tau, relative=True),
        }
        for signal, sign in config.expression_model.stress_signs.items():
            self.cues[EXPRESSION_PREFIX + signal] = cue(
                EXPRESSION_PREFIX + signal, s.expression, w.expression, tau, direction=1.0 if sign >= 0 else -1.0
            )
        self._total_weight = sum(c.weight for c in self.cues.values()) or 1.0
        # Per cue, looked up once: whether update's `raw` holds its value (else an upstream
        # column) and whether its confidence is the heart rate's quality.
        self._cue_list = [(name, cue, name in _OWN_CUES, name in ("heart_rate", "rmssd")) for name, cue in self.cues.items()]
        self.score = SmoothedValue(config.level.smoothing_time_constant_s, b.max_gap_s)
        self.camera = HeartRateEstimate(t=math.nan)
        self.heart_rate_bpm = math.nan
        self.heart_rate_quality = 0.0
        self.heart_rate_source = SOURCE_NONE
        # Beat-to-beat intervals from an external sensor: (arrival t, ms) over hrv_window_s.
        self._rr: deque[tuple[float, float]] = deque()
        self.external_rmssd_ms = math.nan
        self.rmssd_ms = math.nan
        self.level: int | None = None
        self.confidence = 0.0
        # Event state: when the level first reached / left the event level, and the open event.
        self._above_since_t: float | None = None
        self._below_since_t: float | None = None
        self._event_onset_t: float | None = None
        self._event_max_level = 0

    # -- per frame ------------------------------------------------------------------------

    def update(self, inp: DetectorInput) -> list[Event]:
        if not self.config.enabled:
            return []  # columns stay "none" / None: the outputs keep their shape
        f = inp.features
        t = f.t
        if self.use_heart_rate:
            self.camera = self.rppg.update(f)
            self._choose_heart_rate(inp.vehicle.external_heart_rate_bpm)
        if self.use_hrv:
            self._external_hrv(t, inp.vehicle.external_rr_intervals_ms)
        if not self.use_hrv:
            self.rmssd_ms = math.nan
        elif self.heart_rate_source == SOURCE_EXTERNAL:
            self.rmssd_ms = self.external_rmssd_ms
        elif self.heart_rate_source == SOURCE_CAMERA:
            self.rmssd_ms = self.camera.rmssd_ms
        else:
            self.rmssd_ms = math.nan
        if not self.judge_stress:
            return []
        adapt = self.level is None or self.level == 0
        learn = inp.vehicle.speed_at_least(self.config.baseline.min_speed_kph)
        hr_quality = self.heart_rate_quality
        raw = {
            "heart_rate": self.heart_rate_bpm,
            "rmssd": self.rmssd_ms,
            "brow_down": blendshape_or_nan(f.brow_down) if f.face_present else math.nan,
            "mouth_press": blendshape_or_nan(f.mouth_press) if f.face_present else math.nan,
            "eye_squint": blendshape_or_nan(f.eye_squint) if f.face_present else math.nan,
            "blink_rate": finite_or_nan(inp.upstream.get(BLINK_RATE_COLUMN)),
        }
        weighted = 0.0
        weight = 0.0
        confidence = 0.0
        upstream = inp.upstream
        for name, cue, own, heart in self._cue_list:
            x = raw[name] if own else finite_or_nan(upstream.get(name))
            e = cue.update(t, x, adapt, learn)
            if math.isnan(e) or cue.weight <= 0:
                continue
            weighted += cue.weight * e
            weight += cue.weight
            confidence += cue.weight * (hr_quality if heart else 1.0)
        if weight <= 0:
            self.level = None
            self.confidence = 0.0
        else:
            score = self.score.update(t, weighted / weight)
            self.level = self._level(score)
            self.confidence = min(1.0, confidence / self._total_weight)
        return self._events(t)

    def _choose_heart_rate(self, external_bpm: float | None) -> None:
        ext = self.config.external
        if external_bpm is not None and math.isfinite(external_bpm) and ext.min_bpm <= external_bpm <= ext.max_bpm:
            self.heart_rate_bpm, self.heart_rate_quality, self.heart_rate_source = float(external_bpm), 1.0, SOURCE_EXTERNAL
        elif self.camera.valid:
            self.heart_rate_bpm, self.heart_rate_quality, self.heart_rate_source = self.camera.bpm, self.camera.quality, SOURCE_CAMERA
        else:
            self.heart_rate_bpm, self.heart_rate_quality, self.heart_rate_source = math.nan, 0.0, SOURCE_NONE

    def _external_hrv(self, t: float, rr_ms: tuple[float, ...]) -> None:
        """RMSSD over the sensor's intervals of the last hrv_window_s (NaN when too few, or
        when none arrived within external.max_age_s)."""
        ext, r = self.config.external, self.config.rppg
        for v in rr_ms:
            if math.isfinite(v) and 60_000.0 / ext.max_bpm <= v <= 60_000.0 / ext.min_bpm:
                self._rr.append((t, float(v)))
        while self._rr and self._rr[0][0] < t - ext.hrv_window_s:
            self._rr.popleft()
        if not self._rr or t - self._rr[-1][0] > ext.max_age_s:
            self.external_rmssd_ms = math.nan
        elif rr_ms:
            ibi = np.fromiter((v for _, v in self._rr), dtype=np.float64, count=len(self._rr))
            self.external_rmssd_ms = rmssd_from_intervals(ibi, r.hrv_max_ibi_deviation, r.hrv_min_beats)

    def _level(self, score: float) -> int:
        thresholds = self.config.level.level_thresholds
        target = sum(1 for th in thresholds if score >= th)
        level = self.level or 0
        if target >= level:
            return target
        # Go down only once the score is hysteresis below the current level's threshold.
        while level > 0 and score < thresholds[level - 1] - self.config.level.hysteresis:
            level -= 1
        return level

    def _events(self, t: float) -> list[Event]:
        c = self.config.level
        high = self.level is not None and self.level >= c.event_min_level
        if high:
            self._below_since_t = None
            if self._above_since_t is None:
                self._above_since_t = t
        else:
            self._above_since_t = None
            if self._below_since_t is None:
                self._below_since_t = t
        if self._event_onset_t is None:
            # 1e-9: frame times k / fps put 5 s after an onset a rounding short of 5 s
            # (a frame late at 10-60 fps for a third of the onsets), as EpisodeClock allows.
            if high and self._above_since_t is not None and t - self._above_since_t >= c.start_after_s - 1e-9:
                self._event_onset_t = self._above_since_t
                self._event_max_level = self.level or 0
                return [Event(t, "event", "stress", "start", self._detail(self._event_onset_t))]
            return []
        if high:
            self._event_max_level = max(self._event_max_level, self.level or 0)
            return []
        if self._below_since_t is not None and t - self._below_since_t >= c.end_after_s - 1e-9:
            return [self._end(t, self._below_since_t, truncated=False)]
        return []

    def _end(self, t: float, ended_t: float, truncated: bool) -> Event:
        onset = self._event_onset_t if self._event_onset_t is not None else t
        detail = self._detail(ended_t) | {"duration_s": ended_t - onset, "max_level": self._event_max_level}
        if truncated:
            detail["truncated"] = True
        self._event_onset_t = None
        self._event_max_level = 0
        return Event(t, "event", "stress", "end", detail)

    def _detail(self, onset_t: float) -> dict[str, object]:
        evidence = {name: round(float(c.evidence), 3) for name, c in self.cues.items() if math.isfinite(c.evidence)}
        hr_base = self.cues["heart_rate"].baseline
        return {
            "onset_t": onset_t,
            "level": self.level,
            "confidence": self.confidence,
            "advisory": True,
            "heart_rate_bpm": _f(self.heart_rate_bpm),
            "baseline_heart_rate_bpm": _f(hr_base.mean) if hr_base.ready else None,
            "heart_rate_source": self.heart_rate_source,
            "evidence": evidence,
        }

    # -- outputs --------------------------------------------------------------------------

    def columns(self) -> dict[str, Scalar]:
        return {
            "heart_rate_bpm": _f(self.heart_rate_bpm),
            "heart_rate_quality": _f(self.heart_rate_quality),
            "heart_rate_source": self.heart_rate_source,
            "heart_rate_camera_bpm": _f(self.camera.bpm),
            "heart_rate_camera_status": self.camera.status,
            "heart_rate_snr_db": _f(self.camera.snr_db),
            "hrv_rmssd_ms": _f(self.rmssd_ms),
            "stress_level": self.level,
            "stress_confidence": _f(self.confidence),
            "stress_score": _f(self.score.value) if self.level is not None else math.nan,
        }

    def finish(self, t: float) -> list[Event]:
        """Close an open event at t (end of input, a camera fault, a reload). The hold clocks
        start again: kept, a level still high after a camera fault restarted the event at
        the first frame with the closed event's onset_t, before that event's end (as the
        anger and daydreaming episodes do, a new event needs start_after_s of its own)."""
        self._above_since_t = self._below_since_t = None
        if self._event_onset_t is None:
            return []
        return [self._end(t, t, truncated=True)]

    def relearn_driver(self, t: float) -> list[Event]:
        """A journey that may have another driver (pipeline): close an open event at t and
        learn every cue's calm baseline afresh (kept, the first driver's resting heart rate made
        a second driver's resting rate stress). The camera heart rate keeps its window (a
        measurement of the face in view, not a baseline; the fleet's recorder stands in for it)."""
        events = self.finish(t)
        rppg = self.rppg
        self.__init__(self.config, self._privacy)  # type: ignore[misc]
        self.rppg = rppg
        return events


def _f(value: float) -> float:
    """A plain Python float for the outputs; NaN for anything not finite (-inf SNR included)."""
    v = float(value)
    return v if math.isfinite(v) else math.nan
