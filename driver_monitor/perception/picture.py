"""The picture every stage after the source reads: RGB uint8, (H, W, 3) (messages.Frame).

The sources deliver that (PyAV's rgb24; OpenCV's BGR converted), but a camera can hand a
grey or BGRA picture (a GStreamer pipeline ending in GRAY8, an IR sensor), and a caller of
the Pipeline any array. The models read three 8-bit channels: given a grey picture the
LiteRT tracker raised on every frame, given RGBA MediaPipe found no face, and given 16-bit
pixels LiteRT found a face 25 degrees turned on a frontal portrait (tests/test_picture.py).
So every picture is brought to RGB uint8 once, where it enters, or refused in one line.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from driver_monitor.errors import InputError
from driver_monitor.messages import Frame


class PictureError(InputError):
    """A frame whose pixels are no picture the models can read (the shape or type named)."""


def rgb8(image: np.ndarray, bgr: bool = False) -> np.ndarray:
    """`image` as RGB uint8 (H, W, 3), the same array when it is one already.

    grey (H, W) or (H, W, 1): copied to the three channels; RGBA: the alpha channel dropped
    (`bgr`: the channels in OpenCV's order, BGR / BGRA, swapped); uint16: full scale, divided
    by 256 (OpenCV's own conversion of a 16-bit V4L2 grey picture); float: values in [0, 1]
    (the float pictures of OpenCV and MediaPipe), times 255. PictureError for anything else:
    another number of channels or dimensions, another type, a float outside [0, 1] or NaN.
    """
    if not isinstance(image, np.ndarray):
        raise PictureError(f"picture is a {type(image).__name__}, not an array")
    if image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3 and not bgr and image.size:
        return image  # what every source delivers: nothing to do, on every live frame
    shape = "x".join(str(n) for n in image.shape)
    channels = 1 if image.ndim == 2 else image.shape[2] if image.ndim == 3 else 0
    if channels not in (1, 3, 4):
        raise PictureError(f"picture of shape {shape}: not (height, width) grey or (height, width, 1, 3 or 4 channels)")
    if image.dtype == np.uint8:
        pixels = image
    elif image.dtype == np.uint16:
        pixels = (image >> 8).astype(np.uint8)
    elif image.dtype.kind == "f":
        if image.size and not (np.isfinite(image).all() and image.min() >= 0.0 and image.max() <= 1.0):
            raise PictureError(f"float picture of shape {shape}: values not all in [0, 1]")
        pixels = np.rint(image * 255.0).astype(np.uint8)
    else:
        raise PictureError(f"picture of type {image.dtype} (shape {shape}): not uint8, uint16 or float")
    if image.size == 0:  # no pixels: camera health calls it too small (small_frame)
        return np.zeros((*image.shape[:2], 3), np.uint8)
    if channels == 1:
        return cv2.cvtColor(np.ascontiguousarray(pixels.reshape(pixels.shape[:2])), cv2.COLOR_GRAY2RGB)
    if channels == 4:
        return cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_BGRA2RGB if bgr else cv2.COLOR_RGBA2RGB)
    if bgr:
        return cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_BGR2RGB)
    return pixels


def rgb8_frame(frame: Frame) -> Frame:
    """`frame` with its picture as RGB uint8 (`rgb8`): the same frame when it is one already."""
    image = rgb8(frame.image)
    return frame if image is frame.image else replace(frame, image=image)
