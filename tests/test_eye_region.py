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
