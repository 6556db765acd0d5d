"""Config of the per-driver calibration (detectors/calibration.py, detectors/road_ahead.py,
docs/drowsiness.md "Calibration", docs/distraction.md "Road-ahead direction")."""

from pydantic import Field, model_validator

from driver_monitor.config.base import Section


class RoadAheadConfig(Section):
    """The driver's road-ahead direction (head pose + eye-in-head gaze when looking at the
    road), learned from where the driver looks most at speed: drivers look at the forward
    roadway most of the time (100-Car / naturalistic studies; REFERENCE.md "glance risk"),
    so the dominant direction is the road whatever the camera's mount (openpilot learns its
    neutral pose the same way, REFERENCE.md "How openpilot does it")."""

    # A first (provisional) direction from this long of steady gaze: a clip or a recording
    # cut from a drive starts mid-drive and must be judged within a second or two (the
    # woman writing in selfie_segmentation_web.mp4 looks down after 1.04 s). A first
    # fixation that was a mirror glance (~1 s, AttenD's 1 s grace: Kircher & Ahlstrom VTI
    # 638A) is undone by re-anchoring below.
    provisional_steady_s: float = Field(1.0, gt=0.0, le=30.0)
    # "Steady": steady_share of the accepted samples of that stretch within this of their
    # median direction. A glance moves the gaze 10-60 deg; a fixation's noise is small for
    # the head pose but the eyeLook pitch jitters +-6 deg frame to frame on a 70 px face
    # (head-pose-face-detection-male.gif), hence the share rather than every sample.
    steady_max_deviation_deg: float = Field(8.0, gt=0.0, le=45.0)
    steady_share: float = Field(0.9, gt=0.0, le=1.0)
    # ... and at least this share of that stretch accepted (face seen, eyes open).
    steady_min_valid_share: float = Field(0.8, gt=0.0, le=1.0)
    # Then, every refine_period_s, the estimate follows the median of the recent samples
    # (last refine_window_s) within mode_radius_deg of it (about the road cone's half-width:
    # those are "looking at the road"), once refine_min_s of them exist. Glances fall
    # outside and never move it.
    refine_period_s: float = Field(1.0, gt=0.0, le=60.0)
    refine_window_s: float = Field(120.0, gt=0.0, le=3600.0)
    refine_min_s: float = Field(2.0, gt=0.0, le=600.0)
    mode_radius_deg: float = Field(8.0, gt=0.0, le=45.0)
    # Re-anchoring: a first steady stretch may still have been a glance (a long mirror or
    # screen check). The densest direction of the window (a histogram of mode_bin_deg bins,
    # smoothed over the road cone) replaces the estimate, before the driver is calibrated,
    # once at least reanchor_min_s of samples and reanchor_min_share of the window lie
    # within mode_radius_deg of it. Drivers look at the forward road most of the time
    # (naturalistic driving: 80-90 % of glance time), so 8 s of it outweighs any one glance;
    # a single glance away that long is a distraction the rules report long before.
    mode_bin_deg: float = Field(2.0, gt=0.0, le=20.0)
    reanchor_min_s: float = Field(8.0, gt=0.0, le=600.0)
    reanchor_min_share: float = Field(0.5, gt=0.0, le=1.0)
    # Once the driver is calibrated (learn_s), it follows slow changes (seat, posture) only
    # within this of the calibrated direction and never re-anchors, so a long phone session
    # cannot teach that the lap is the road.
    settled_max_move_deg: float = Field(8.0, ge=0.0, le=45.0)

    @model_validator(mode="after")
    def _fits_the_window(self) -> "RoadAheadConfig":
        # The window never holds more than refine_window_s of samples: a refine_window_s
        # shortened to 5 s under the default reanchor_min_s (8 s) switched re-anchoring off,
        # and one under refine_min_s left the first provisional direction unrefined, without
        # a word.
        for name in ("refine_min_s", "reanchor_min_s"):
            if getattr(self, name) > self.refine_window_s:
                raise ValueError(f"{name} ({getattr(self, name):g} s) must not exceed refine_window_s "
                                 f"({self.refine_window_s:g} s): the window never holds more samples than that")
        return self


class CalibrationConfig(Section):
    # The driver counts as calibrated after this much valid time (seconds of accepted
    # samples, not frames): the first valid minute, as openpilot learns the neutral pose over
    # ~60 s at speed (REFERENCE.md). The open-eye baselines are fixed then; the road-ahead
    # direction keeps being refined (road_ahead.settled_max_move_deg).
    learn_s: float = Field(60.0, gt=0.0, le=600.0)
    # Samples count only while the vehicle moves at least this fast (when the speed is
    # known): Euro NCAP starts monitoring after 1 min at >= 10 km/h (REFERENCE.md).
    min_speed_kph: float = Field(10.0, ge=0.0, le=200.0)
    # Until then, the open-eye baselines (EAR, eyeBlink, iris contrast) are provisional:
    # after this much accepted time they are the same percentile of this driver's samples
    # so far (refreshed each second), not the population's. Open EAR is 0.23-0.36 across the
    # drivers of the shared clips against the population's 0.31, so judging closure against
    # the population reads a narrow-eyed driver as a quarter closed (docs/drowsiness.md).
    # A second of open eyes is enough for a median. 0 disables (population defaults until
    # learn_s).
    provisional_eyes_after_s: float = Field(1.0, ge=0.0, le=600.0)
    # A gap between frames longer than this credits only this much learning time (a
    # stalled camera must not stretch one frame over seconds).
    max_frame_gap_s: float = Field(0.5, gt=0.0, le=5.0)
    # Percentile of the accepted samples taken as the open-eye baseline: the median ignores
    # the blinks that slip through the gates below.
    percentile: float = Field(50.0, ge=1.0, le=99.0)
    # A frame teaches the open-eye baseline and the road-ahead direction only when it looks
    # like an open-eyed driver by absolute standards, so a driver who starts with closed or
    # downcast eyes cannot teach that closed is normal: eyeBlink (mean of the eyes) at most
    # sample_max_eye_blink (open eyes read 0.0-0.15, blinks 0.55-0.9, shared/data/README.md;
    # a head turned 15-20 deg reads the far eye 0.33-0.44 open, car_look_around_man), EAR at
    # least sample_min_ear (open 0.25-0.35, closed 0.01-0.09 measured; looking down to write
    # 0.18 of the open EAR: selfie_segmentation_web, docs/drowsiness.md "Measured cues on
    # real clips"), eyeLookDown at most sample_max_look_down (only the extreme
    # look-downs: a camera above the driver reads an attentive gaze at eyeLookDown 0.43-0.76,
    # car_look_around_man; the lids of a real look-down fail the EAR gate), iris contrast
    # (perception/eye_region.py) at least sample_min_iris_contrast where measured (open
    # 0.32-0.9, closed -0.3..0.4 on the shared real clips) ...
    sample_max_eye_blink: float = Field(0.35, gt=0.0, le=1.0)
    sample_min_ear: float = Field(0.18, ge=0.0, le=1.0)
    sample_max_look_down: float = Field(0.8, gt=0.0, le=1.0)
    sample_min_iris_contrast: float = Field(0.2, ge=-1.0, le=1.0)
    # The open iris level an eye is judged against (its learned one, the population's before)
    # is capped at the highest contrast the eye has shown over the last iris_shown_window_s
    # with the lid gates above passing and its own eyeBlink at most iris_shown_max_eye_blink,
    # when it read so on at least iris_shown_min_share of the face's frames there
    # (detectors/calibration.py RecentIris). Glare on glasses holds an open iris at 0.1-0.3,
    # below sample_min_iris_contrast and below a level learned before the glare came; against
    # those an attentive driver read as asleep (benchmarks/real_variants.py `glare`,
    # docs/robustness.md). Open eyes read eyeBlink 0.0-0.15; shut ones 0.23 and more
    # (car_yawn_man, 95 % of the closure's frames), 0.25-0.39 behind glasses at night, so a
    # closure neither enters the maximum nor makes the share.
    iris_shown_max_eye_blink: float = Field(0.2, ge=0.0, le=1.0)
    iris_shown_window_s: float = Field(2.0, gt=0.0, le=60.0)
    iris_shown_min_share: float = Field(0.5, gt=0.0, le=1.0)
    # ... and, for the eye baselines, with the head within these angles of the road-ahead
    # direction (of the mount before one is learned): a turned head foreshortens the lids.
    sample_max_yaw_deg: float = Field(25.0, gt=0.0, le=90.0)
    sample_max_pitch_deg: float = Field(20.0, gt=0.0, le=90.0)
    # The learned values are clamped to plausible ranges (an odd face must not produce a
    # baseline that hides closed eyes): open EAR ~0.31 on a frontal face, the best cut-off
    # 0.21-0.29 from person to person (REFERENCE.md), so 0.2-0.4 for an open level; open
    # eyeBlink 0..0.3; open iris contrast as measured, widened.
    open_ear_range: tuple[float, float] = (0.2, 0.4)
    open_eye_blink_range: tuple[float, float] = (0.0, 0.3)
    open_iris_contrast_range: tuple[float, float] = (0.3, 1.0)
    # Eye-in-head part of the road-ahead direction: the iris-based yaw of a driver looking
    # ahead reads 15-24 deg off on a real face close to the camera (desk_talking), so the
    # learned eye offset is clamped to this.
    neutral_gaze_range_deg: tuple[float, float] = (-25.0, 25.0)
    road_ahead: RoadAheadConfig = RoadAheadConfig()

    @model_validator(mode="after")
    def _ranges(self) -> "CalibrationConfig":
        for name in ("open_ear_range", "open_eye_blink_range", "open_iris_contrast_range", "neutral_gaze_range_deg"):
            lo, hi = getattr(self, name)
            if lo >= hi:
                raise ValueError(f"{name}: the first value must be below the second")
        # The closure normalisation divides by the open EAR and by (closed - open eyeBlink).
        if self.open_ear_range[0] < 0.05:
            raise ValueError("open_ear_range: the lowest open EAR must be at least 0.05")
        if self.open_eye_blink_range[1] > 0.45:
            raise ValueError("open_eye_blink_range: the highest open eyeBlink must be at most 0.45")
        if self.open_iris_contrast_range[0] < 0.05:
            raise ValueError("open_iris_contrast_range: the lowest open contrast must be at least 0.05")
        return self
