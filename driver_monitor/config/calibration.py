"""Config of the per-driver calibration (detectors/calibration.py, docs/drowsiness.md)."""

from pydantic import Field, model_validator

from driver_monitor.config.base import Section


class CalibrationConfig(Section):
    # Learn from this much valid time (seconds of accepted samples, not frames): the first
    # valid minute, as openpilot learns the neutral pose over ~60 s at speed (REFERENCE.md).
    learn_s: float = Field(60.0, gt=0.0, le=600.0)
    # Samples count only while the vehicle moves at least this fast (when the speed is
    # known): Euro NCAP starts monitoring after 1 min at >= 10 km/h (REFERENCE.md).
    min_speed_kph: float = Field(10.0, ge=0.0, le=200.0)
    # Until then, the open-eye baselines (EAR, eyeBlink) are provisional: after this much
    # accepted time they are the same percentile of this driver's samples so far (refreshed
    # each second), not the population's. A narrow-eyed driver (open EAR 0.23 against the
    # population's 0.31) otherwise reads a quarter closed with open eyes for the whole first
    # minute, and a yawn's narrowed eyes as closed (docs/drowsiness.md). The neutral pose
    # waits for learn_s. 0 disables (population defaults until learn_s).
    provisional_eyes_after_s: float = Field(5.0, ge=0.0, le=600.0)
    # A gap between frames longer than this credits only this much learning time (a
    # stalled camera must not stretch one frame over seconds).
    max_frame_gap_s: float = Field(0.5, gt=0.0, le=5.0)
    # Percentile of the accepted samples taken as the open-eye baseline and neutral pose:
    # the median ignores the blinks and glances that slip through the gates below.
    percentile: float = Field(50.0, ge=1.0, le=99.0)
    # A frame teaches nothing unless it looks like an open-eyed, road-facing driver by
    # population standards, so a driver who starts with closed or downcast eyes cannot
    # teach that closed is normal: eyeBlink at most sample_max_eye_blink (open eyes read
    # 0.0-0.15, blinks 0.55-0.9, shared/data/README.md), EAR at least sample_min_ear (open
    # 0.25-0.35, closed 0.01-0.09 measured; REFERENCE.md), eyeLookDown at most
    # sample_max_look_down (looking down reads 0.7-0.88), head within these angles of
    # straight at the camera (openpilot's distraction cone: yaw ~23 deg, pitch ~18 deg).
    sample_max_eye_blink: float = Field(0.35, gt=0.0, le=1.0)
    sample_min_ear: float = Field(0.18, ge=0.0, le=1.0)
    sample_max_look_down: float = Field(0.45, gt=0.0, le=1.0)
    sample_max_yaw_deg: float = Field(25.0, gt=0.0, le=90.0)
    sample_max_pitch_deg: float = Field(20.0, gt=0.0, le=90.0)
    # The learned values are clamped to plausible ranges (a stuck camera angle or an odd
    # face must not produce a baseline that hides closed eyes): open EAR per person
    # 0.25-0.35 (REFERENCE.md) widened by 0.05; open eyeBlink 0..0.3; neutral pose within
    # the sample gates.
    open_ear_range: tuple[float, float] = (0.2, 0.4)
    open_eye_blink_range: tuple[float, float] = (0.0, 0.3)
    neutral_yaw_range_deg: tuple[float, float] = (-25.0, 25.0)
    neutral_pitch_range_deg: tuple[float, float] = (-20.0, 20.0)
    neutral_gaze_range_deg: tuple[float, float] = (-20.0, 20.0)

    @model_validator(mode="after")
    def _ranges(self) -> "CalibrationConfig":
        for name in ("open_ear_range", "open_eye_blink_range", "neutral_yaw_range_deg",
                     "neutral_pitch_range_deg", "neutral_gaze_range_deg"):
            lo, hi = getattr(self, name)
            if lo >= hi:
                raise ValueError(f"{name}: the first value must be below the second")
        # The closure normalisation divides by the open EAR and by (closed - open eyeBlink).
        if self.open_ear_range[0] < 0.05:
            raise ValueError("open_ear_range: the lowest open EAR must be at least 0.05")
        if self.open_eye_blink_range[1] > 0.45:
            raise ValueError("open_eye_blink_range: the highest open eyeBlink must be at most 0.45")
        return self
