"""Skin colour for camera heart rate (perception/skin.py), and the whole chain on real face
pixels: a portrait with a generated pulse and sensor noise, through MediaPipe, features,
rPPG and the stress detector; the same frames in grey (an NIR camera) must abstain."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from driver_monitor.config import Config
from driver_monitor.detectors.stress.signals import PBV_SIGNATURE
from driver_monitor.messages import Frame
from driver_monitor.perception.skin import SKIN_REGION_LANDMARKS, mean_skin_rgb
from driver_monitor.perception.tracker import MediaPipeFaceTracker
from driver_monitor.pipeline import FrameResult, Pipeline
from tests.conftest import FACES


def landmarks_at(points: dict[int, tuple[float, float]]) -> np.ndarray:
    lm = np.full((478, 3), np.nan, np.float32)
    for idx, (x, y) in points.items():
        lm[idx, :2] = (x, y)
    return lm


def test_mean_over_the_three_patches_only() -> None:
    img = np.zeros((200, 200, 3), np.uint8)
    forehead, right_cheek, left_cheek = SKIN_REGION_LANDMARKS
    img[40:60, 90:110] = (200, 120, 100)  # forehead patch
    img[110:130, 50:70] = (180, 110, 90)
    img[110:130, 130:150] = (160, 100, 80)
    lm = landmarks_at({forehead: (100, 50), right_cheek: (60, 120), left_cheek: (140, 120)})
    # face width 100 px -> patches of 12 px (half 6): all inside the painted squares.
    sample = mean_skin_rgb(img, lm, 100.0)
    assert sample.rgb == pytest.approx((180.0, 110.0, 90.0))
    assert sample.colour is True


def test_patches_clip_at_the_picture_edge_and_skip_missing_landmarks() -> None:
    img = np.full((50, 50, 3), (150, 100, 80), np.uint8)
    forehead, right_cheek, _ = SKIN_REGION_LANDMARKS
    lm = landmarks_at({forehead: (0.0, 0.0), right_cheek: (49.0, 49.0)})  # corners; left cheek NaN
    sample = mean_skin_rgb(img, lm, 100.0)
    assert sample.rgb == pytest.approx((150.0, 100.0, 80.0))
    assert mean_skin_rgb(img, landmarks_at({}), 100.0).rgb is None


def test_grey_picture_is_not_colour() -> None:
    img = np.full((100, 100, 3), 90, np.uint8)
    lm = landmarks_at({i: (50.0, 50.0) for i in SKIN_REGION_LANDMARKS})
    sample = mean_skin_rgb(img, lm, 80.0)
    assert sample.rgb == pytest.approx((90.0, 90.0, 90.0)) and sample.colour is False


FPS = 20.0
SECONDS = 14.0
BPM = 84.0


@pytest.fixture(scope="module")
def pulsing_portrait() -> list[np.ndarray]:
    """astronaut.png at 256x256 with a blood-volume pulse (0.8 % green, PBV signature) on
    every pixel and 2 levels of sensor noise, 14 s at 20 fps."""
    path = FACES / "astronaut.png"
    base = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    base = cv2.resize(base, (256, 256), interpolation=cv2.INTER_AREA).astype(np.float32)
    rng = np.random.default_rng(0)
    gain = 0.008 * PBV_SIGNATURE / PBV_SIGNATURE[1]
    frames = []
    for k in range(int(SECONDS * FPS)):
        pulse = math.sin(2 * math.pi * BPM / 60.0 * k / FPS)
        img = base * (1.0 + pulse * gain) + rng.normal(0.0, 2.0, base.shape)
        frames.append(np.clip(img + 0.5, 0, 255).astype(np.uint8))
    return frames


def run(frames: list[np.ndarray], grey: bool) -> list[FrameResult]:
    config = Config()
    out = []
    with MediaPipeFaceTracker(config.perception) as tracker:
        pipeline = Pipeline(config, tracker)
        for k, img in enumerate(frames):
            if grey:
                img = np.repeat(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)
            out.append(pipeline.process(Frame(t=k / FPS, image=img, seq=k)))
    return out


@pytest.mark.slow
def test_pulse_on_real_face_pixels_is_measured(pulsing_portrait: list[np.ndarray]) -> None:
    results = run(pulsing_portrait, grey=False)
    assert all(r.features.face_present and r.features.colour_image for r in results)
    late = [r.row() for r in results if r.t >= 10.5]
    assert late and all(row["heart_rate_source"] == "camera" for row in late)
    assert all(abs(row["heart_rate_bpm"] - BPM) <= 3.0 for row in late)


@pytest.mark.slow
def test_the_same_frames_in_grey_abstain(pulsing_portrait: list[np.ndarray]) -> None:
    results = run(pulsing_portrait[: int(12 * FPS)], grey=True)
    assert all(r.features.face_present and not r.features.colour_image for r in results)
    late = [r.row() for r in results if r.t >= 10.5]
    assert late and all(row["heart_rate_camera_status"] == "monochrome" and math.isnan(row["heart_rate_bpm"]) for row in late)
