"""Per-driver calibration: the driver's open-eye baseline and neutral head pose.

Until a driver is calibrated the population defaults below are used and `calibrated` is
False. Learning is done by `Calibrator` (pure: fed timestamped features).
"""

from __future__ import annotations

from dataclasses import dataclass


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
