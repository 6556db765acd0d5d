"""How visible the eyes are: eye-region brightness relative to the driver's own skin.

Dark lenses (sunglasses) keep the face mesh and even produce steady eyeBlink / EAR values,
so closure alone cannot tell "eyes hidden" from "eyes half closed" (measured on the
sunglasses scenario: a steady half closure that no rule fires on). The picture can: behind
a lens the eye region is far darker than the cheeks and forehead, while an open eye
(sclera, iris, lids) or a closed one (lid skin) stays close to the skin's brightness.
"""

from __future__ import annotations

import math

import cv2  # mediapipe's opencv-contrib wheel (REFERENCE.md: never a second OpenCV)
import numpy as np

from driver_monitor.perception.geometry import LEFT_EYE_EAR, RIGHT_EYE_EAR

_LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601
# The box spans the eye corners and is padded above and below by this fraction of the
# eye's width: it then holds the lids too, so a closed eye reads as skin, not as a hole.
_VERTICAL_PAD_FRACTION = 0.25


def _luma(rgb: tuple[float, ...]) -> float:
    return _LUMA[0] * rgb[0] + _LUMA[1] * rgb[1] + _LUMA[2] * rgb[2]


def eye_luma_ratio(image: np.ndarray, landmarks_px: np.ndarray, skin_rgb: tuple[float, float, float] | None) -> float:
    """Mean luma of both eye regions over the mean skin luma; NaN when not measurable.

    ~0.8-1.1 for open or closed eyes, well below 0.5 behind dark lenses (docs/drowsiness.md).
    """
    if skin_rgb is None:
        return math.nan
    skin = _luma(skin_rgb)
    if skin < 1.0:
        return math.nan
    h, w = image.shape[:2]
    total = 0.0
    pixels = 0
    for indices in (RIGHT_EYE_EAR, LEFT_EYE_EAR):
        pts = landmarks_px[list(indices), :2]
        x0, y0 = pts.min(axis=0)
        x1, y1 = pts.max(axis=0)
        pad = (x1 - x0) * _VERTICAL_PAD_FRACTION
        xa, xb = max(0, int(x0)), min(w, int(math.ceil(x1)))
        ya, yb = max(0, int(y0 - pad)), min(h, int(math.ceil(y1 + pad)))
        n = (xb - xa) * (yb - ya)
        if n <= 0:
            continue
        total += _luma(cv2.sumElems(image[ya:yb, xa:xb]))
        pixels += n
    if pixels == 0:
        return math.nan
    return total / pixels / skin
