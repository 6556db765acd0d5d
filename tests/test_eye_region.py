"""Eye visibility: eye-region brightness relative to the skin, and the sunglasses gate."""

import math

import numpy as np
import pytest

from driver_monitor.config import Config
from driver_monitor.detectors.calibration import Calibration
from driver_monitor.detectors.eye_closure import EyeClosureJudge
from driver_monitor.messages import Features
from driver_monitor.perception.eye_region import eye_luma_ratio
from driver_monitor.perception.geometry import LEFT_EYE_EAR, RIGHT_EYE_EAR


def _face(eye_level: int, skin_level: int = 160) -> tuple[np.ndarray, np.ndarray]:
    image = np.full((200, 300, 3), skin_level, dtype=np.uint8)
    pts = np.zeros((478, 3), dtype=np.float32)
    for indices, x0 in ((RIGHT_EYE_EAR, 100), (LEFT_EYE_EAR, 170)):
        # corner, upper, upper, corner, lower, lower: a 30 x 10 px eye at y = 80
        for i, (dx, dy) in zip(indices, [(0, 0), (10, -5), (20, -5), (30, 0), (20, 5), (10, 5)], strict=True):
            pts[i, :2] = (x0 + dx, 80 + dy)
        # The measured box spans the corners and the lids padded by a quarter of the eye's
        # width (y 67.5 .. 92.5): paint exactly its pixels.
        image[67:93, x0:x0 + 30] = eye_level
    return image, pts


def test_ratio_is_one_for_eyes_as_bright_as_skin_and_low_behind_dark_lenses():
    image, pts = _face(eye_level=160)
    assert eye_luma_ratio(image, pts, (160.0, 160.0, 160.0)) == pytest.approx(1.0)
    image, pts = _face(eye_level=32)
    assert eye_luma_ratio(image, pts, (160.0, 160.0, 160.0)) == pytest.approx(0.2)


def test_ratio_is_nan_without_skin():
    image, pts = _face(eye_level=32)
    assert math.isnan(eye_luma_ratio(image, pts, None))


def _judge(eye_luma_ratio: float) -> tuple[bool, str]:
    cfg = Config().drowsiness
    judge = EyeClosureJudge(cfg.eye_closure, cfg.eyes, cfg.blink, cfg.closure)
    f = Features(
        t=1.0, face_present=True, head_yaw_deg=0.0, head_pitch_deg=0.0, eye_blink_left=0.4, eye_blink_right=0.4,
        ear_left=0.19, ear_right=0.19, eye_look_down=0.1, face_width_px=200.0, eye_luma_ratio=eye_luma_ratio,
    )
    judge.update(f, Calibration())
    return judge.judgeable, judge.reason


def test_dark_lenses_make_the_eyes_unjudgeable():
    assert _judge(0.2) == (False, "eyes_hidden")
    judgeable, _ = _judge(0.8)
    assert judgeable
    judgeable, _ = _judge(math.nan)  # not measured: no verdict from brightness
    assert judgeable


def _eye_image(open_eye: bool, width_px: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """A skin-coloured picture with two eyes drawn at known landmarks: open = white sclera
    with a dark iris disk at the iris landmark; closed = lid skin with a thin lash line."""
    import cv2

    image = np.full((240, 320, 3), (200, 160, 140), np.uint8)
    pts = np.zeros((478, 3), np.float32)
    for centre, (outer, inner), cx in ((468, (33, 133), 110), (473, (263, 362), 210)):
        cy = 120
        pts[outer, :2] = (cx - width_px / 2, cy)
        pts[inner, :2] = (cx + width_px / 2, cy)
        pts[centre, :2] = (cx, cy)
        if open_eye:
            cv2.ellipse(image, (cx, cy), (width_px // 2, width_px // 5), 0, 0, 360, (235, 235, 235), -1)
            cv2.circle(image, (cx, cy), int(0.2 * width_px), (60, 40, 30), -1)
        else:
            cv2.line(image, (cx - width_px // 2, cy), (cx + width_px // 2, cy), (70, 50, 40), 1)
    return image, pts


def test_iris_contrast_tells_an_open_eye_from_closed_lids():
    from driver_monitor.perception.eye_region import iris_contrast

    open_r, open_l = iris_contrast(*_eye_image(True))
    closed_r, closed_l = iris_contrast(*_eye_image(False))
    assert open_r == pytest.approx(0.77, abs=0.02) and open_l == pytest.approx(open_r)
    # The lash line on the closed lid keeps the vertical contrast; the horizontal one (a line
    # as dark at the sides as in the middle) is gone: under half the open eye's contrast,
    # inside the judge's "hidden" band (iris_hidden_ratio 0.4 .. iris_showing_ratio 0.8).
    assert closed_r == pytest.approx(0.34, abs=0.02) and closed_l == pytest.approx(closed_r)
    assert closed_r / open_r < 0.45


def test_iris_contrast_abstains_on_small_eyes_and_dark_lids():
    from driver_monitor.perception.eye_region import iris_contrast

    assert all(math.isnan(v) for v in iris_contrast(*_eye_image(True, width_px=14)))
    image, pts = _eye_image(True)
    assert all(math.isnan(v) for v in iris_contrast(image // 40, pts))  # lid luma < 12
