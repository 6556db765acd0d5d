"""Mean skin colour over landmark-anchored regions, for camera heart rate (rPPG).

Forehead and both cheeks carry the strongest pulse signal and little motion from speech or
blinks (the regions used by POS / CHROM evaluations, REFERENCE.md "Heart rate"). Each region
is a square patch centred on a mesh landmark, sized from the face width, so the cost is three
small slices per frame rather than a polygon mask.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

# Mesh landmarks at the centre of each region: mid-forehead, driver's right cheek, left cheek.
SKIN_REGION_LANDMARKS = (151, 50, 280)
# Patch side as a fraction of the face width: big enough to average sensor noise, small
# enough to stay on skin (no brows, nostrils or hair) for |yaw| up to ~30 degrees.
_PATCH_FRACTION = 0.12
# A colour camera shows a mean |R-G| + |G-B| of several levels on skin; a monochrome or NIR
# picture (three equal channels) shows ~0 (plus compression noise).
_MONOCHROME_MAX_CHANNEL_SPREAD = 1.5


class SkinSample(NamedTuple):
    rgb: tuple[float, float, float] | None
    colour: bool


def mean_skin_rgb(image: np.ndarray, landmarks_px: np.ndarray, face_width_px: float) -> SkinSample:
    h, w = image.shape[:2]
    half = max(2, int(face_width_px * _PATCH_FRACTION / 2))
    sums = np.zeros(3, dtype=np.float64)
    count = 0
    spread = 0.0
    for idx in SKIN_REGION_LANDMARKS:
        x, y = landmarks_px[idx, 0], landmarks_px[idx, 1]
        if not (math.isfinite(x) and math.isfinite(y)):
            continue
        cx, cy = int(x), int(y)
        patch = image[max(0, cy - half):min(h, cy + half), max(0, cx - half):min(w, cx + half)]
        if patch.size == 0:
            continue
        px = patch.reshape(-1, 3).astype(np.float32)
        sums += px.sum(axis=0)
        count += px.shape[0]
        spread += float(np.abs(px[:, 0] - px[:, 1]).sum() + np.abs(px[:, 1] - px[:, 2]).sum())
    if count == 0:
        return SkinSample(None, True)
    mean = sums / count
    colour = spread / count > _MONOCHROME_MAX_CHANNEL_SPREAD
    return SkinSample((float(mean[0]), float(mean[1]), float(mean[2])), colour)
