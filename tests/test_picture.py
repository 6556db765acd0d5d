"""Pictures that are not RGB uint8 (H, W, 3): made so where they enter, or refused in one line;
through the real trackers, the pipeline keeps going either way."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from driver_monitor.config import Config, load_config
from driver_monitor.config.perception import TrackerBackend
from driver_monitor.config.service import CameraConfig
from driver_monitor.messages import Frame
from driver_monitor.perception.picture import PictureError, rgb8
from driver_monitor.perception.tracker import create_tracker
from driver_monitor.pipeline import Pipeline
from driver_monitor.sources.camera import CameraSource
from tests.conftest import FACES


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    """A real frontal face, RGB 640x480."""
    return cv2.resize(cv2.cvtColor(cv2.imread(str(FACES / "obama.jpg")), cv2.COLOR_BGR2RGB), (640, 480))


def _pipeline(backend: str) -> Pipeline:
    config: Config = load_config()
    config = config.model_copy(update={"perception": config.perception.model_copy(update={"backend": TrackerBackend(backend)})})
    return Pipeline(config, create_tracker(config.perception))


@pytest.mark.parametrize("backend", ["litert", "mediapipe"])
def test_grey_rgba_16_bit_and_float_pictures_read_as_the_rgb_one(backend, portrait):
    """Before: a grey picture raised in both trackers (every frame lost to an error), RGBA
    was no face in MediaPipe and raised in LiteRT, 16-bit pixels raised in MediaPipe and in
    LiteRT gave a face turned -25.5 degrees (the portrait faces the camera), a float picture
    in [0, 1] raised in MediaPipe and was no face in LiteRT."""
    grey = cv2.cvtColor(portrait, cv2.COLOR_RGB2GRAY)
    pictures = [
        ("rgb", portrait),
        ("rgba", cv2.cvtColor(portrait, cv2.COLOR_RGB2RGBA)),
        ("uint16", portrait.astype(np.uint16) * 257),
        ("float", portrait.astype(np.float32) / 255.0),
        ("non-contiguous", np.dstack([portrait, portrait])[:, :, :3]),
        ("larger", cv2.resize(portrait, (1280, 960))),  # the camera renegotiated its mode
        ("grey", grey),
        ("grey, one channel", grey[:, :, None]),
        ("rgb again", portrait),
    ]
    pipeline = _pipeline(backend)
    try:
        yaw = {}
        for k, (name, image) in enumerate(pictures):
            result = pipeline.process(Frame(t=k / 10, image=image))
            assert result.judged and result.features.face_present, name
            yaw[name] = result.features.head_yaw_deg
    finally:
        pipeline.tracker.close()
    for name, value in yaw.items():
        # The same pixels once converted: the same face; grey: a face still, near.
        assert math.isclose(value, yaw["rgb"], abs_tol=3.0 if "grey" in name else 1.0), (name, value, yaw["rgb"])


def test_what_is_no_picture_is_one_line_and_the_pipeline_goes_on(portrait):
    pipeline = _pipeline("litert")
    try:
        bad = [
            (portrait[:, :, :2], r"^picture of shape 480x640x2: not \(height, width\) grey or \(height, width, 1, 3 or 4 channels\)$"),
            (portrait[None], r"^picture of shape 1x480x640x3: not"),
            (portrait > 100, r"^picture of type bool \(shape 480x640x3\): not uint8, uint16 or float$"),
            (portrait.astype(np.float32), r"^float picture of shape 480x640x3: values not all in \[0, 1\]$"),
            (np.full((480, 640, 3), np.nan, np.float32), r"values not all in \[0, 1\]"),
        ]
        for k, (image, message) in enumerate(bad):
            with pytest.raises(PictureError, match=message):
                pipeline.process(Frame(t=k / 10, image=image))
        # A picture without pixels is too small to judge: a camera fault, not an exception.
        empty = pipeline.process(Frame(t=0.5, image=portrait[:0]))
        faults = [(e.phase, e.detail["reason"]) for e in empty.events if e.name == "camera_fault"]
        assert not empty.judged and faults == [("start", "small_frame")]
        good = pipeline.process(Frame(t=0.6, image=portrait))
        assert good.judged and good.features.face_present
        assert not pipeline.camera_health.active
    finally:
        pipeline.tracker.close()


def test_the_camera_hands_grey_and_bgra_pictures_as_rgb():
    """OpenCV can deliver grey (a GStreamer pipeline ending in GRAY8) or BGRA pictures; its
    BGR2RGB conversion raised on a grey one, outside the loop's per-frame guard."""
    camera = CameraSource("/dev/null-camera", CameraConfig(device="/dev/null-camera"))
    bgr = np.zeros((4, 6, 3), np.uint8)
    bgr[..., 0] = 10  # blue
    bgr[..., 2] = 200  # red
    grey = np.full((4, 6), 77, np.uint8)
    bgra = np.dstack([bgr, np.full((4, 6), 255, np.uint8)])
    for seq, (image, expected) in enumerate([(bgr, (200, 0, 10)), (grey, (77, 77, 77)), (bgra, (200, 0, 10))], start=1):
        camera._newest = (seq, seq / 10, image)
        frame = camera.latest(0.0)
        assert frame is not None and frame.image.shape == (4, 6, 3) and frame.image.dtype == np.uint8
        assert tuple(frame.image[0, 0]) == expected


def test_rgb8_keeps_an_rgb_picture_as_it_is(portrait):
    assert rgb8(portrait) is portrait
    assert np.array_equal(rgb8(portrait.astype(np.uint16) * 257), portrait)
    assert np.array_equal(rgb8(portrait.astype(np.float64) / 255.0), portrait)
