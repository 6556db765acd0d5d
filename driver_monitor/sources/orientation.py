"""Turning a picture upright: a video's display matrix, a camera mounted turned.

Phones and many dash cameras store the sensor's picture as it was read out and add a display
matrix (ISO/IEC 14496-12 `tkhd`, FFmpeg's AV_FRAME_DATA_DISPLAYMATRIX) that tells a player
how to turn it: a clip filmed with the camera on its side is stored lying down. Every player
(and `ffmpeg` itself) shows it upright; the face models must see it upright too, because the
face detector finds faces only within about 45 degrees of upright, and left and right (the
driver's seat, the mirror zones) are the picture's as shown.

`display_turn` reads the matrix as FFmpeg's own autorotation does (fftools/ffmpeg_filter.c,
`get_rotation` and the transpose / hflip / vflip it inserts), so a file is seen here as
`ffplay` shows it.
"""

from __future__ import annotations

import math
from enum import StrEnum

import cv2
import numpy as np


class Turn(StrEnum):
    """How a stored picture becomes the upright one (the names of FFmpeg's filters)."""

    none = "none"
    clock = "clock"  # a quarter turn clockwise
    cclock = "cclock"  # a quarter turn counter-clockwise
    half = "half"  # half a turn
    transpose = "transpose"  # rows become columns (FFmpeg's transpose=cclock_flip)
    antitranspose = "antitranspose"  # transpose=clock_flip
    hflip = "hflip"
    vflip = "vflip"

    @property
    def swaps_axes(self) -> bool:
        return self in (Turn.clock, Turn.cclock, Turn.transpose, Turn.antitranspose)


class UnsupportedTurn(ValueError):
    """A display matrix that turns by other than a multiple of 90 degrees."""


def display_turn(matrix: bytes | None) -> Turn:
    """The turn a 3x3 display matrix (nine native int32, 16.16 fixed point) asks for.

    Raises UnsupportedTurn for a rotation that is not a multiple of 90 degrees (a player would
    resample the picture; no camera stores one)."""
    if matrix is None or len(matrix) < 36:
        return Turn.none
    m = np.frombuffer(matrix[:36], dtype="=i4").astype(np.float64) / 65536.0
    scale_x, scale_y = math.hypot(m[0], m[3]), math.hypot(m[1], m[4])
    if scale_x == 0.0 or scale_y == 0.0:
        return Turn.none  # a singular matrix: FFmpeg ignores it too
    # av_display_rotation_get: the counter-clockwise angle; FFmpeg turns by its opposite.
    theta = -round(-math.degrees(math.atan2(m[1] / scale_y, m[0] / scale_x)))
    theta -= 360.0 * math.floor(theta / 360.0 + 0.9 / 360.0)
    if abs(theta - 90.0) < 1.0:
        return Turn.transpose if m[3] > 0 else Turn.clock
    if abs(theta - 180.0) < 1.0:
        if m[0] < 0 and m[4] < 0:
            return Turn.half
        if m[0] < 0:
            return Turn.hflip
        return Turn.vflip if m[4] < 0 else Turn.none
    if abs(theta - 270.0) < 1.0:
        return Turn.antitranspose if m[3] < 0 else Turn.cclock
    if abs(theta) > 1.0:
        raise UnsupportedTurn(f"the display matrix turns the picture by {(360.0 - theta) % 360.0:.0f} degrees "
                              "counter-clockwise, not a multiple of 90")
    return Turn.vflip if m[4] < 0 else Turn.none


def turn_for_degrees(clockwise_deg: int) -> Turn:
    """The turn of a camera mounted turned: `camera.rotate_deg` (0, 90, 180, 270 clockwise)."""
    return {0: Turn.none, 90: Turn.clock, 180: Turn.half, 270: Turn.cclock}[clockwise_deg % 360]


_CV2_ROTATE = {Turn.clock: cv2.ROTATE_90_CLOCKWISE, Turn.cclock: cv2.ROTATE_90_COUNTERCLOCKWISE,
               Turn.half: cv2.ROTATE_180}


def apply_turn(image: np.ndarray, turn: Turn) -> np.ndarray:
    """`image` (H, W[, C]) turned upright, as a new contiguous array (the same one for none)."""
    if turn is Turn.none:
        return image
    code = _CV2_ROTATE.get(turn)
    if code is not None:
        return cv2.rotate(image, code)
    if turn is Turn.transpose:
        turned = np.swapaxes(image, 0, 1)
    elif turn is Turn.antitranspose:
        turned = np.swapaxes(image[::-1, ::-1], 0, 1)
    elif turn is Turn.hflip:
        turned = image[:, ::-1]
    else:
        turned = image[::-1]
    return np.ascontiguousarray(turned)
