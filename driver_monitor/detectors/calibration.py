"""Per-driver calibration: the driver's open-eye baseline and neutral head pose.

Until a driver is calibrated the population defaults below are used and `calibrated` is
False. `Calibrator` (pure: fed timestamped features) learns them from the first valid
minute, like openpilot learns the neutral pose over ~60 s of valid samples at speed
(REFERENCE.md). A frame teaches only when it looks like an open-eyed driver facing the road
by population standards, so a driver who starts with closed or downcast eyes cannot teach
it that closed is normal; the median of the accepted samples ignores the blinks and glances
that slip through; the results are clamped to plausible ranges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from driver_monitor.config.calibration import CalibrationConfig
from driver_monitor.messages import Event, Features, VehicleState


@dataclass(frozen=True, slots=True)
class Calibration:
    calibrated: bool = False
    # Open-eye eyeBlink score (0 open .. 1 closed) of this driver, per eye. Frontal faces
    # read ~0.0-0.15 with open eyes (measured on the bundled clips).
    open_eye_blink_left: float = 0.05
    open_eye_blink_right: float = 0.05
    # Open-eye EAR, ~0.31 on a frontal face (REFERENCE.md); per person 0.25-0.35.
    open_ear_left: float = 0.31
    open_ear_right: float = 0.31
    # Neutral head pose (looking at the road) in degrees, in the convention of geometry.py.
    neutral_yaw_deg: float = 0.0
    neutral_pitch_deg: float = 0.0
    # Neutral eye-in-head gaze (the camera is rarely straight ahead of the eyes).
    neutral_gaze_yaw_deg: float = 0.0
    neutral_gaze_pitch_deg: float = 0.0
    # Time at which calibration completed (None while not calibrated).
    calibrated_at_t: float | None = None
    # Seconds of accepted samples so far (reaches CalibrationConfig.learn_s when calibrated).
    learned_s: float = 0.0


# The Features fields learned, in the order of Calibration's fields above.
_LEARNED = (
    ("eye_blink_left", "open_eye_blink_left", "open_eye_blink_range"),
    ("eye_blink_right", "open_eye_blink_right", "open_eye_blink_range"),
    ("ear_left", "open_ear_left", "open_ear_range"),
    ("ear_right", "open_ear_right", "open_ear_range"),
    ("head_yaw_deg", "neutral_yaw_deg", "neutral_yaw_range_deg"),
    ("head_pitch_deg", "neutral_pitch_deg", "neutral_pitch_range_deg"),
    ("gaze_yaw_deg", "neutral_gaze_yaw_deg", "neutral_gaze_range_deg"),
    ("gaze_pitch_deg", "neutral_gaze_pitch_deg", "neutral_gaze_range_deg"),
)


# The open-eye fields of _LEARNED (the provisional baseline covers only these).
_EYE_FIELDS = 4
# How often (seconds of input time) the provisional eye baseline is recomputed: a median
# over up to a minute of samples is too much work for every frame, and a second is well
# under how fast a baseline could matter.
PROVISIONAL_REFRESH_S = 1.0


class Calibrator:
    """Learns the Calibration from timestamped features; `update` returns the current one
    (population defaults, then provisional open-eye baselines from this driver's samples
    so far once `provisional_eyes_after_s` of valid samples were seen, then after `learn_s`
    the learned one, fixed for the rest of the drive)."""

    def __init__(self, config: CalibrationConfig, defaults: Calibration | None = None):
        self.config = config
        self.defaults = defaults if defaults is not None else Calibration()
        self.calibration = self.defaults
        self._samples: list[tuple[float, ...]] = []
        self._learned_s = 0.0
        self._last_t: float | None = None
        self._last_accepted = False
        self._next_provisional_t = -math.inf

    def update(self, features: Features, vehicle: VehicleState | None = None) -> Calibration:
        if self.calibration.calibrated:
            return self.calibration
        t = features.t
        # Time weighting: the gap to the previous frame is credited to that frame's verdict,
        # so the learned time does not depend on the frame rate.
        if self._last_t is not None and self._last_accepted:
            self._learned_s += min(max(t - self._last_t, 0.0), self.config.max_frame_gap_s)
        self._last_t = t
        self._last_accepted = self._accepts(features, vehicle)
        if self._last_accepted:
            self._samples.append(tuple(getattr(features, name) for name, _, _ in _LEARNED))
        if self._learned_s + 1e-9 >= self.config.learn_s and self._samples:
            self.calibration = self._learn(t)
            self._samples = []
        elif self._provisional_due(t):
            self.calibration = self._provisional()
            self._next_provisional_t = t + PROVISIONAL_REFRESH_S
        return self.calibration

    def _provisional_due(self, t: float) -> bool:
        after = self.config.provisional_eyes_after_s
        return 0.0 < after <= self._learned_s + 1e-9 and bool(self._samples) and t >= self._next_provisional_t

    def _provisional(self) -> Calibration:
        """Not yet calibrated: this driver's open-eye baselines so far, the default pose."""
        eyes = self._baselines(np.asarray(self._samples, dtype=np.float64)[:, :_EYE_FIELDS], _LEARNED[:_EYE_FIELDS])
        return replace(self.defaults, learned_s=self._learned_s, **eyes)

    def state_event(self, t: float) -> Event:
        """The `calibrated` state line for the event log."""
        c = self.calibration
        return Event(t, "state", "calibrated", None, {
            "calibrated": c.calibrated,
            "open_ear_left": c.open_ear_left, "open_ear_right": c.open_ear_right,
            "open_eye_blink_left": c.open_eye_blink_left, "open_eye_blink_right": c.open_eye_blink_right,
            "neutral_yaw_deg": c.neutral_yaw_deg, "neutral_pitch_deg": c.neutral_pitch_deg,
            "neutral_gaze_yaw_deg": c.neutral_gaze_yaw_deg, "neutral_gaze_pitch_deg": c.neutral_gaze_pitch_deg,
        })

    def _accepts(self, f: Features, vehicle: VehicleState | None) -> bool:
        c = self.config
        if not f.face_present:
            return False
        if vehicle is not None and not vehicle.speed_at_least(c.min_speed_kph):
            return False
        values = (f.eye_blink_left, f.eye_blink_right, f.ear_left, f.ear_right, f.head_yaw_deg,
                  f.head_pitch_deg, f.eye_look_down)
        if any(math.isnan(v) for v in values):
            return False
        # Population gates: open eyes, not looking down, facing the road.
        return (
            max(f.eye_blink_left, f.eye_blink_right) <= c.sample_max_eye_blink
            and min(f.ear_left, f.ear_right) >= c.sample_min_ear
            and f.eye_look_down <= c.sample_max_look_down
            and abs(f.head_yaw_deg) <= c.sample_max_yaw_deg
            and abs(f.head_pitch_deg) <= c.sample_max_pitch_deg
        )

    def _learn(self, t: float) -> Calibration:
        values = self._baselines(np.asarray(self._samples, dtype=np.float64), _LEARNED)
        return Calibration(calibrated=True, calibrated_at_t=t, learned_s=self._learned_s, **values)

    def _baselines(self, data: np.ndarray, fields: tuple[tuple[str, str, str], ...]) -> dict[str, float]:
        """The configured percentile of each column, clamped to its range (the default where
        a column has no sample)."""
        values: dict[str, float] = {}
        for column, (_, name, range_key) in enumerate(fields):
            col = data[:, column]
            col = col[~np.isnan(col)]
            if col.size == 0:
                values[name] = getattr(self.defaults, name)
                continue
            lo, hi = getattr(self.config, range_key)
            values[name] = float(np.clip(np.percentile(col, self.config.percentile), lo, hi))
        return values

    @property
    def learned_s(self) -> float:
        return self._learned_s
