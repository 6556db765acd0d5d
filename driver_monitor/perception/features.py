"""Per-frame features from a face observation (pure: image + landmarks in, numbers out)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from driver_monitor.messages import FaceObservation, Features
from driver_monitor.perception import geometry
from driver_monitor.perception.eye_region import eye_luma_ratio, iris_contrast
from driver_monitor.perception.skin import mean_skin_rgb

# Luma weights (ITU-R BT.601) for brightness; computed on a subsampled grid to stay cheap.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
_BRIGHTNESS_STEP_PX = 8


def image_brightness(image: np.ndarray) -> float:
    sample = image[::_BRIGHTNESS_STEP_PX, ::_BRIGHTNESS_STEP_PX]
    return float(sample.reshape(-1, 3).mean(axis=0) @ _LUMA)


def _mean(blendshapes: Mapping[str, float], a: str, b: str) -> float:
    """Mean of two blendshape scores as a plain float (NaN when either is missing)."""
    return float((blendshapes.get(a, math.nan) + blendshapes.get(b, math.nan)) / 2.0)


def no_face_features(t: float, image: np.ndarray | None = None) -> Features:
    brightness = image_brightness(image) if image is not None else math.nan
    return Features(t=t, face_present=False, image_brightness=brightness)


def extract_features(obs: FaceObservation, image: np.ndarray) -> Features:
    """All per-frame measurements of one observed face (conventions in geometry.py)."""
    pts = obs.landmarks_px
    bs = obs.blendshapes
    pose = geometry.head_pose_from_matrix(obs.transform)
    iris_yaw, _ = geometry.iris_gaze_deg(pts)
    look_yaw, look_pitch = geometry.blendshape_gaze_deg(bs)
    # Horizontal: the iris position is a direct measurement and works on every face; the
    # eyeLook scores saturate and vary per person, so they only fill in when the iris fails.
    # Vertical: the lids follow the eye, which hides vertical iris motion, so the eyeLook
    # scores lead (REFERENCE.md: eyeLookDown is high when looking down).
    gaze_yaw = iris_yaw if not math.isnan(iris_yaw) else look_yaw
    gaze_pitch = look_pitch
    x0, y0, x1, y1 = (int(v) for v in obs.box_px)
    h, w = image.shape[:2]
    face = image[max(0, y0):min(h, y1):4, max(0, x0):min(w, x1):4]
    face_brightness = float(face.reshape(-1, 3).mean(axis=0) @ _LUMA) if face.size else math.nan
    skin = mean_skin_rgb(image, pts, obs.face_width_px)
    translation = obs.transform[:3, 3]
    iris_right, iris_left = iris_contrast(image, pts)
    return Features(
        t=obs.t,
        face_present=True,
        head_yaw_deg=pose.yaw_deg,
        head_pitch_deg=pose.pitch_deg,
        head_roll_deg=pose.roll_deg,
        head_x_cm=float(translation[0]),
        head_y_cm=float(translation[1]),
        head_z_cm=float(translation[2]),
        eye_blink_left=bs.get("eyeBlinkLeft", math.nan),
        eye_blink_right=bs.get("eyeBlinkRight", math.nan),
        ear_left=geometry.eye_aspect_ratio(pts, geometry.LEFT_EYE_EAR),
        ear_right=geometry.eye_aspect_ratio(pts, geometry.RIGHT_EYE_EAR),
        gaze_yaw_deg=gaze_yaw,
        gaze_pitch_deg=gaze_pitch,
        eye_look_down=(bs.get("eyeLookDownLeft", math.nan) + bs.get("eyeLookDownRight", math.nan)) / 2.0,
        eye_squint=(bs.get("eyeSquintLeft", math.nan) + bs.get("eyeSquintRight", math.nan)) / 2.0,
        jaw_open=bs.get("jawOpen", math.nan),
        mouth_aspect_ratio=geometry.mouth_aspect_ratio(pts),
        brow_down=(bs.get("browDownLeft", math.nan) + bs.get("browDownRight", math.nan)) / 2.0,
        mouth_press=(bs.get("mouthPressLeft", math.nan) + bs.get("mouthPressRight", math.nan)) / 2.0,
        brow_inner_up=bs.get("browInnerUp", math.nan),
        eye_wide=_mean(bs, "eyeWideLeft", "eyeWideRight"),
        nose_sneer=_mean(bs, "noseSneerLeft", "noseSneerRight"),
        mouth_roll=_mean(bs, "mouthRollLower", "mouthRollUpper"),
        mouth_frown=_mean(bs, "mouthFrownLeft", "mouthFrownRight"),
        jaw_forward=float(bs.get("jawForward", math.nan)),
        face_width_px=obs.face_width_px,
        image_brightness=image_brightness(image),
        face_brightness=face_brightness,
        skin_rgb=skin.rgb,
        colour_image=skin.colour,
        eye_luma_ratio=eye_luma_ratio(image, pts, skin.rgb),
        iris_contrast_left=iris_left,
        iris_contrast_right=iris_right,
    )
