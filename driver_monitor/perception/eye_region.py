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

    0.58-0.84 measured for open or closed eyes, well below 0.45 behind dark lenses
    (docs/drowsiness.md).
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


# -- iris visibility -------------------------------------------------------------------------
# Closed lids and a downward gaze both bring the lid landmarks together (REFERENCE.md
# "looking down reads as closing the eyes": eyeBlink > 0.5 for seconds with open eyes looking
# down; docs/drowsiness.md measures the lids in both cases), and the blendshape
# model sees only those landmarks. The picture differs: with the eye open, looking down or
# not, the iris (dark) shows between the lids at the iris landmark; with the lids closed that
# point is lid skin crossed by a thin lash line (contact sheets in docs/drowsiness.md).
#
# Per eye, two contrasts around the iris centre c, in units of the iris radius r, sampled on
# a grid aligned with the eye's corner-to-corner axis. r is taken as 0.2 x the corner-to-
# corner width (iris diameter ~11.7 mm over a ~29 mm eye opening; the mesh's iris ring
# measures 0.17-0.22 x the width on the shared clips) because the ring shrinks as the lids
# close, while the corners stay put:
#   vertical    1 - darkest luma within +-0.2 r of c / median luma at 1.7-2.0 r above and
#               below c (lid skin in both states);
#   horizontal  1 - darkest luma within +-0.3 r of c along the axis / median luma at
#               1.5-2.5 r to either side (sclera when open, lid and lash line when closed).
# The measure is their mean: 0.4-0.9 with the iris showing, about -0.3..0.45 with the lids
# closed on the shared real clips (docs/drowsiness.md "Iris visibility"). Eyeliner and dark
# lashes keep it high on a closed eye, so a high value is weak evidence of open eyes while a
# low value is strong evidence of closed ones: the detectors use it that way round.
_IRIS = ((468, (33, 133)), (473, (263, 362)))
_IRIS_RADIUS_PER_WIDTH = 0.2
_V_STEPS = np.arange(-2.0, 2.0001, 0.1)  # along the eye's normal, in iris radii
_V_ACROSS = np.arange(-0.3, 0.3001, 0.15)
_H_STEPS = np.arange(-2.5, 2.5001, 0.1)  # along the eye's axis
_H_ACROSS = np.arange(-0.2, 0.2001, 0.1)
_V_SKIN = np.r_[0:4, len(_V_STEPS) - 4:len(_V_STEPS)]  # |v| >= 1.7 r
_V_CENTRE = slice(18, 23)  # |v| <= 0.2 r
_H_SIDES = np.r_[0:11, len(_H_STEPS) - 11:len(_H_STEPS)]  # |h| >= 1.5 r
_H_CENTRE = slice(22, 29)  # |h| <= 0.3 r
# Sample offsets in (axis, normal) units of r: the vertical profile's points, then the
# horizontal one's; one remap per frame reads both eyes' points.
_OFFSETS = np.concatenate([
    np.stack(np.broadcast_arrays(_V_ACROSS[None, :], _V_STEPS[:, None]), axis=-1).reshape(-1, 2),
    np.stack(np.broadcast_arrays(_H_STEPS[:, None], _H_ACROSS[None, :]), axis=-1).reshape(-1, 2),
])
_N_V = len(_V_STEPS) * len(_V_ACROSS)
# Below these the measure is noise: an eye opening under 18 px wide (an iris ~7 px across:
# the 70 px face of head-pose-face-detection-male.gif reads 0.06-0.2 with open eyes, the
# 22 px eyes of selfie_segmentation_web.mp4 0.7), or a lid in near darkness.
MIN_EYE_WIDTH_PX = 18.0
MIN_LID_LUMA = 12.0
_LUMA_F32 = np.asarray(_LUMA, dtype=np.float32)
_ONES_V = np.ones(len(_V_ACROSS), dtype=np.float32)
_ONES_H = np.ones(len(_H_ACROSS), dtype=np.float32)


def _median(values: np.ndarray) -> float:
    """Median of a short vector (np.median's overhead is ~100 us, this ~3 us)."""
    v = np.sort(values)
    n = v.size
    return float(v[n // 2]) if n % 2 else float((v[n // 2 - 1] + v[n // 2]) / 2.0)


def iris_contrast(image: np.ndarray, landmarks_px: np.ndarray) -> tuple[float, float]:
    """(right, left) iris visibility of the driver's eyes, NaN where not measurable."""
    grids, frames = [], []
    for centre_idx, corners in _IRIS:
        c = landmarks_px[centre_idx, :2].astype(np.float64)
        axis = (landmarks_px[corners[1], :2] - landmarks_px[corners[0], :2]).astype(np.float64)
        length = float(np.linalg.norm(axis))
        if not (math.isfinite(length) and length >= MIN_EYE_WIDTH_PX and np.isfinite(c).all()):
            frames.append(None)
            continue
        axis = axis / length
        if axis[0] < 0:
            axis = -axis
        normal = np.array([-axis[1], axis[0]])  # image-down for a level eye
        radius = _IRIS_RADIUS_PER_WIDTH * length
        basis = np.stack([axis, normal]) * radius  # rows: unit axis, unit normal (scaled)
        grids.append(c + _OFFSETS @ basis)
        frames.append(len(grids) - 1)
    if not grids:
        return math.nan, math.nan
    points = np.concatenate(grids).astype(np.float32)
    rgb = cv2.remap(image, points[:, None, 0].copy(), points[:, None, 1].copy(), cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE)
    luma = rgb.reshape(-1, 3).astype(np.float32) @ _LUMA_F32
    per_eye = len(_OFFSETS)
    out = []
    for index in frames:
        if index is None:
            out.append(math.nan)
            continue
        samples = luma[index * per_eye:(index + 1) * per_eye]
        # Sums across each line: the contrasts are ratios within one profile.
        v = samples[:_N_V].reshape(len(_V_STEPS), len(_V_ACROSS)) @ _ONES_V
        h = samples[_N_V:].reshape(len(_H_STEPS), len(_H_ACROSS)) @ _ONES_H
        lid, sides = _median(v[_V_SKIN]), _median(h[_H_SIDES])
        if lid < MIN_LID_LUMA * len(_V_ACROSS) or sides < MIN_LID_LUMA * len(_H_ACROSS):
            out.append(math.nan)
            continue
        vertical = 1.0 - float(v[_V_CENTRE].min()) / lid
        horizontal = 1.0 - float(h[_H_CENTRE].min()) / sides
        out.append((vertical + horizontal) / 2.0)
    return out[0], out[1]
