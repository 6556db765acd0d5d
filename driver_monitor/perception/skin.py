"""Mean skin colour over landmark-anchored regions, for camera heart rate (rPPG).

Forehead and both cheeks carry the strongest pulse signal and little motion from speech or
blinks (the regions used by POS / CHROM evaluations, REFERENCE.md "Heart rate"). Each region
is a square patch centred on a mesh landmark, sized from the face width, so the cost is three
small slices per frame rather than a polygon mask.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import cv2  # mediapipe's opencv-contrib wheel (REFERENCE.md: never a second OpenCV)
import numpy as np

# Mesh landmarks at the centre of each region: mid-forehead, driver's right cheek, left cheek.
SKIN_REGION_LANDMARKS = (151, 50, 280)
# Patch side as a fraction of the face width: big enough to average sensor noise, small
# enough to stay on skin (no brows, nostrils or hair) for |yaw| up to ~30 degrees.
_PATCH_FRACTION = 0.12
# A colour camera sees skin with R > G > B by tens of levels (|R-G| + |G-B| of the patch
# means ~40-80); a monochrome or NIR picture (three equal channels) shows ~0 plus
# compression noise.
_MONOCHROME_MAX_CHANNEL_SPREAD = 1.5


class SkinSample(NamedTuple):
    rgb: tuple[float, float, float] | None
    colour: bool


def mean_skin_rgb(image: np.ndarray, landmarks_px: np.ndarray, face_width_px: float) -> SkinSample:
    """Mean RGB over the three patches (every pixel counts: the pulse is ~0.3 % of the skin
    level, so averaging sensor noise over many pixels is what makes it visible). cv2.sumElems
    is ~10x cheaper than a numpy sum over a uint8 slice (benchmarks/bench_stress.py)."""
    h, w = image.shape[:2]
    half = max(2, int(face_width_px * _PATCH_FRACTION / 2))
    r = g = b = 0.0
    count = 0
    for idx in SKIN_REGION_LANDMARKS:
        x, y = landmarks_px[idx, 0], landmarks_px[idx, 1]
        if not (math.isfinite(x) and math.isfinite(y)):
            continue
        cx, cy = int(x), int(y)
        patch = image[max(0, cy - half):min(h, cy + half), max(0, cx - half):min(w, cx + half)]
        n = patch.shape[0] * patch.shape[1]
        if n == 0:
            continue
        s = cv2.sumElems(patch)
        r, g, b = r + s[0], g + s[1], b + s[2]
        count += n
    if count == 0:
        return SkinSample(None, True)
    mean = (r / count, g / count, b / count)
    colour = abs(mean[0] - mean[1]) + abs(mean[1] - mean[2]) > _MONOCHROME_MAX_CHANNEL_SPREAD
    return SkinSample(mean, colour)
