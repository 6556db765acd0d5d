"""Landmark geometry: head pose, eye aspect ratio, mouth aspect ratio, iris gaze.

Pure numpy; landmark indices are those of the MediaPipe 478-point face mesh (REFERENCE.md
"Signals from MediaPipe Face Landmarker"). "Right eye" means the driver's right eye, which
a driver-facing (unmirrored) camera sees on the left half of the image.

Sign convention (docs/features.md), checked on real clips and on mirrored images:
  yaw   > 0: the head turns to the driver's own left (the nose moves to the image's right)
  pitch > 0: the head tilts down (chin towards the chest)
  roll  > 0: the head tilts towards the driver's right shoulder (the image's left)
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

# Six-point eye sets p1..p6 (corner, upper, upper, corner, lower, lower); REFERENCE.md.
RIGHT_EYE_EAR = (33, 160, 158, 133, 153, 144)
LEFT_EYE_EAR = (362, 385, 387, 263, 373, 380)
# Eye corners (outer, inner) and lid mid-points (upper, lower) for the iris position.
RIGHT_EYE_CORNERS = (33, 133)
LEFT_EYE_CORNERS = (263, 362)
RIGHT_EYE_LIDS = (159, 145)
LEFT_EYE_LIDS = (386, 374)
RIGHT_IRIS_CENTRE = 468
LEFT_IRIS_CENTRE = 473
# Inner lip mid-points (upper, lower) and mouth corners (driver's right, left).
MOUTH_INNER_UPPER, MOUTH_INNER_LOWER = 13, 14
MOUTH_CORNER_RIGHT, MOUTH_CORNER_LEFT = 78, 308

# Eyeball model for turning an iris offset into an angle: the visible eye opening is about
# 28-30 mm wide and the eyeball radius about 12 mm (adult anatomy), so an iris shifted by a
# fraction f of the half-width has moved f * 14.5 mm along an arc of radius 12 mm.
_EYE_HALF_WIDTH_MM = 14.5
_EYEBALL_RADIUS_MM = 12.0
# eyeLook* blendshapes reach ~1 at the end of the eye's range, taken as 35 degrees.
_EYE_LOOK_FULL_SCALE_DEG = 35.0


class HeadPose(NamedTuple):
    yaw_deg: float
    pitch_deg: float
    roll_deg: float


def head_pose_from_matrix(transform: np.ndarray) -> HeadPose:
    """Yaw, pitch and roll of the face from MediaPipe's facial transformation matrix.

    R = M[:3, :3] with its columns normalised (the matrix may carry scale). The Euler
    formulas are REFERENCE.md's: pitch = atan2(R21, R22), yaw = atan2(-R20, hypot(R00, R10)),
    roll = atan2(R10, R00). Their raw signs are mapped to the convention in the module doc:
    in MediaPipe's camera space the raw angles already have these signs: a turn to the
    driver's left gives a positive raw yaw (the nose tip moves to the image's right), a head
    tilted down a positive raw pitch, a tilt to the driver's right shoulder a positive raw
    roll. Measured on head-pose-face-detection-female.gif, selfie_segmentation_web.mp4 (her
    looks down to write read +12 deg) and their mirrored copies: tests/test_perception_e2e.py.
    """
    r = np.asarray(transform, dtype=np.float64)[:3, :3]
    norms = np.linalg.norm(r, axis=0)
    r = r / np.where(norms > 0, norms, 1.0)
    pitch = math.atan2(r[2, 1], r[2, 2])
    yaw = math.atan2(-r[2, 0], math.hypot(r[0, 0], r[1, 0]))
    roll = math.atan2(r[1, 0], r[0, 0])
    return HeadPose(math.degrees(yaw), math.degrees(pitch), math.degrees(roll))


def rotation_matrix(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """The 3x3 rotation whose `head_pose_from_matrix` is (yaw, pitch, roll): the inverse of
    the mapping above, for tests and the synthetic-drive renderer."""
    raw_yaw, raw_pitch, raw_roll = math.radians(yaw_deg), math.radians(pitch_deg), math.radians(roll_deg)
    cx, sx = math.cos(raw_pitch), math.sin(raw_pitch)
    cy, sy = math.cos(raw_yaw), math.sin(raw_yaw)
    cz, sz = math.cos(raw_roll), math.sin(raw_roll)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def eye_aspect_ratio(points_px: np.ndarray, indices: tuple[int, ...]) -> float:
    """EAR (Soukupova & Cech 2016) of one eye: (|p2-p6| + |p3-p5|) / (2 |p1-p4|), from x, y in
    pixels (normalised coordinates distort it by the aspect ratio). ~0.3 open, -> 0 closed."""
    p = points_px[list(indices), :2].astype(np.float64)
    width = np.linalg.norm(p[0] - p[3])
    if width <= 1e-6:
        return math.nan
    height = np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])
    return float(height / (2.0 * width))


def mouth_aspect_ratio(points_px: np.ndarray) -> float:
    """Inner-lip opening over mouth width, both in pixels: ~0 closed, ~0.6+ wide open."""
    width = np.linalg.norm(points_px[MOUTH_CORNER_RIGHT, :2] - points_px[MOUTH_CORNER_LEFT, :2])
    if width <= 1e-6:
        return math.nan
    height = np.linalg.norm(points_px[MOUTH_INNER_UPPER, :2] - points_px[MOUTH_INNER_LOWER, :2])
    return float(height / width)


def iris_offset(points_px: np.ndarray, corners: tuple[int, int], lids: tuple[int, int], iris: int) -> tuple[float, float]:
    """Iris centre relative to the eye opening, in eye-local axes.

    Returns (horizontal, vertical): horizontal is the iris shift along the corner-to-corner
    axis as a fraction of the half-width, > 0 towards the image's right; vertical is the shift
    perpendicular to it as a fraction of the half-width, > 0 downwards in the image.
    """
    a = points_px[corners[0], :2].astype(np.float64)
    b = points_px[corners[1], :2].astype(np.float64)
    axis = b - a
    half_width = np.linalg.norm(axis) / 2.0
    if half_width <= 1e-6:
        return math.nan, math.nan
    axis /= 2.0 * half_width
    if axis[0] < 0:  # always point towards the image's right
        axis = -axis
    normal = np.array([-axis[1], axis[0]])  # image-down when the eye is level
    centre = (a + b) / 2.0
    lid_mid = (points_px[lids[0], :2] + points_px[lids[1], :2]) / 2.0
    centre_v = np.dot(lid_mid - centre, normal)
    d = points_px[iris, :2] - centre
    return float(np.dot(d, axis) / half_width), float((np.dot(d, normal) - centre_v) / half_width)


def iris_gaze_deg(points_px: np.ndarray) -> tuple[float, float]:
    """Eye-in-head gaze (yaw, pitch) in degrees from both irises, by the eyeball model above.

    yaw > 0: eyes turned to the driver's left (iris towards the image's right); pitch > 0:
    eyes turned down. Vertical iris position is weak because the lids follow the eye, so
    callers should prefer the eyeLook blendshapes for pitch (see `blend_gaze_deg`).
    """
    hr, vr = iris_offset(points_px, RIGHT_EYE_CORNERS, RIGHT_EYE_LIDS, RIGHT_IRIS_CENTRE)
    hl, vl = iris_offset(points_px, LEFT_EYE_CORNERS, LEFT_EYE_LIDS, LEFT_IRIS_CENTRE)
    h = (hr + hl) / 2.0
    v = (vr + vl) / 2.0
    return _offset_to_deg(h), _offset_to_deg(v)


def _offset_to_deg(fraction: float) -> float:
    if math.isnan(fraction):
        return math.nan
    s = max(-1.0, min(1.0, fraction * _EYE_HALF_WIDTH_MM / _EYEBALL_RADIUS_MM))
    return math.degrees(math.asin(s))


def blendshape_gaze_deg(blendshapes: dict[str, float] | object) -> tuple[float, float]:
    """Eye-in-head gaze (yaw, pitch) in degrees from the eyeLook* blendshapes.

    For the driver's left eye, looking to their left is eyeLookOutLeft, for the right eye it
    is eyeLookInRight; yaw > 0 to the driver's left as everywhere else.
    """
    g = blendshapes.get  # type: ignore[attr-defined]
    to_left = (g("eyeLookOutLeft", 0.0) + g("eyeLookInRight", 0.0)) / 2.0
    to_right = (g("eyeLookInLeft", 0.0) + g("eyeLookOutRight", 0.0)) / 2.0
    down = (g("eyeLookDownLeft", 0.0) + g("eyeLookDownRight", 0.0)) / 2.0
    up = (g("eyeLookUpLeft", 0.0) + g("eyeLookUpRight", 0.0)) / 2.0
    return (to_left - to_right) * _EYE_LOOK_FULL_SCALE_DEG, (down - up) * _EYE_LOOK_FULL_SCALE_DEG
