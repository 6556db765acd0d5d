"""Gaze direction of the driver in degrees, relative to their neutral (road-facing) pose.

direction = (head pose - neutral head pose) + (eye-in-head gaze - neutral eye-in-head gaze)

so both head turns ("owl" glances) and eye-only glances ("lizard" glances) move it. Signs
follow messages.Features: yaw > 0 towards the driver's own left, pitch > 0 down. When the
eye-in-head angle is missing (iris not found) the head pose alone is used, because a head
turn is still a measured direction; without a head pose there is no direction (NaN).
"""

from __future__ import annotations

import math

from driver_monitor.detectors.calibration import Calibration
from driver_monitor.messages import Features


def gaze_direction_deg(f: Features, cal: Calibration, eye_pitch: bool = True) -> tuple[float, float]:
    """(yaw, pitch) of the gaze relative to the calibrated neutral pose; NaN when unknown.
    `eye_pitch` False: the eye-in-head pitch is not a gaze now (lowered lids, see
    distraction.py), so the vertical direction is the head's alone."""
    if not f.face_present or math.isnan(f.head_yaw_deg) or math.isnan(f.head_pitch_deg):
        return math.nan, math.nan
    yaw = f.head_yaw_deg - cal.neutral_yaw_deg
    pitch = f.head_pitch_deg - cal.neutral_pitch_deg
    if not math.isnan(f.gaze_yaw_deg):
        yaw += f.gaze_yaw_deg - cal.neutral_gaze_yaw_deg
    if eye_pitch and not math.isnan(f.gaze_pitch_deg):
        pitch += f.gaze_pitch_deg - cal.neutral_gaze_pitch_deg
    return yaw, pitch
