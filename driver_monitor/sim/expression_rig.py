"""Facial action units on the face mesh: brow lowerer (AU4), lid tightener (AU7), lip presser
(AU24) and nose wrinkler (AU9), as displacement fields of the control points in head-local
coordinates (x right, y up, z to the camera, pixels), applied before the head pose
(sim/renderer.py), so the photo's skin moves the way the muscle moves it.

The fields follow the appearance changes the FACS manual gives for each unit (Ekman,
Friesen & Hager 2002): AU4 lowers the brows and draws them together, the inner ends most,
and pushes the skin between brow and lid down onto the lid; AU7 raises and straightens the
lower lid and lowers the upper one a little, narrowing the eye from below; AU24 presses the
lips together, so their red parts narrow and the skin above and below them bunches; AU9
wrinkles the nose, pulling the nose wings and the skin beside them up, lifting the upper lip
a little and lowering the inner brows. A field is the unit at FACS intensity E (maximum),
scaled linearly by the commanded amount 0..1. No wrinkles are drawn: MediaPipe's blendshapes
are computed from the landmarks alone (its blendshape model reads 146 landmark positions,
REFERENCE.md), so the displaced texture is what matters. What the real FaceLandmarker reads
on each unit is measured by `python -m driver_monitor.sim.fidelity --expressions`
(docs/simulation.md "Facial action units").
"""

from __future__ import annotations

import numpy as np

from driver_monitor.sim import mesh
from driver_monitor.sim.face_rig import FaceRig

# Brow lowerer (AU4) at E: the brow comes down by this many eye widths (~30 mm: 0.2 is ~6 mm,
# most of the brow-to-lid-fold distance) and its inner end moves this far towards the
# midline (the corrugator pulls the brows together); the skin between brow and lid follows
# from BROW_LID_SHARE at the upper lid's margin to all of it at the brow, the forehead fades
# out over BROW_FOREHEAD_FADE eye widths above it.
BROW_DROP_EYE_WIDTHS = 0.2
BROW_IN_EYE_WIDTHS = 0.08
BROW_LID_SHARE = 0.1
BROW_FOREHEAD_FADE = 0.9
# Lid tightener (AU7) at E: the lower lid rises by this share of the opening, the upper lid
# comes down by this share; the skin under the lower lid follows, fading out over
# LOWER_SKIN_FADE eye widths.
TIGHTEN_LOWER_SHARE = 0.5
TIGHTEN_UPPER_SHARE = 0.1
LOWER_SKIN_FADE = 0.45
# Lip presser (AU24) at E: the outer lip lines move this share of the way to the lips'
# meeting line (the red parts narrow); the skin above the upper lip and below the lower
# follows, fading out at the nose base and towards the chin.
PRESS_SHARE = 0.9
# Nose wrinkler (AU9) at E: the nose wings and the skin beside them rise this many eye
# widths; the upper lip's outer line follows by UPPER_LIP_SHARE; the inner brows come down
# by NOSE_BROW_SHARE of the brow lowerer.
WRINKLE_RISE_EYE_WIDTHS = 0.35
UPPER_LIP_SHARE = 0.5
NOSE_BROW_SHARE = 0.3

UNITS = ("brow_lower", "lid_tighten", "lip_press", "nose_wrinkle")


def _clip01(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0.0, 1.0)


class ExpressionRig:
    """The four unit fields of one rig; `apply(local, amounts)` adds them in place."""

    def __init__(self, rig: FaceRig):
        n = rig.n_face
        loc = rig.local[:n]
        self.n = n
        eyes = []
        for upper, lower, brow in ((mesh.RIGHT_UPPER_LID, mesh.RIGHT_LOWER_LID, mesh.RIGHT_BROW),
                                   (mesh.LEFT_UPPER_LID, mesh.LEFT_LOWER_LID, mesh.LEFT_BROW)):
            centre = loc[list(upper) + list(lower)].mean(axis=0)
            eye_w = float(np.linalg.norm(loc[upper[0], :2] - loc[upper[-1], :2]))
            eyes.append((upper, lower, brow, centre, eye_w))
        self.mid_x = float((eyes[0][3][0] + eyes[1][3][0]) / 2.0)
        self.eye_w = float((eyes[0][4] + eyes[1][4]) / 2.0)
        brow = np.zeros((n, 3))
        tighten = np.zeros((n, 3))
        for upper, lower, brow_pts, centre, eye_w in eyes:
            side = np.sign(centre[0] - self.mid_x)  # this eye's side of the face
            mine = (loc[:, 0] - self.mid_x) * side >= 0.0
            brow += self._brow(loc, upper, brow_pts, centre, eye_w, side) * mine[:, None]
            tighten += self._tighten(loc, upper, lower, centre, eye_w, side) * mine[:, None]
        self.fields = {
            "brow_lower": brow,
            "lid_tighten": tighten,
            "lip_press": self._press(loc),
            "nose_wrinkle": self._wrinkle(loc) + NOSE_BROW_SHARE * brow,
        }

    def apply(self, local: np.ndarray, amounts: dict[str, float]) -> None:
        for unit, amount in amounts.items():
            if amount:
                local[: self.n] += min(max(amount, 0.0), 1.0) * self.fields[unit]

    # -- the fields ---------------------------------------------------------------------------
    @staticmethod
    def _brow(loc: np.ndarray, upper: tuple[int, ...], brow_pts: tuple[int, ...], centre: np.ndarray,
              eye_w: float, side: float) -> np.ndarray:
        dy = (loc[:, 1] - centre[1]) / eye_w
        towards_temple = (loc[:, 0] - centre[0]) / eye_w * side
        lid = float(np.mean(loc[list(upper[1:-1]), 1]) - centre[1]) / eye_w
        top = float(np.mean(loc[list(brow_pts), 1]) - centre[1]) / eye_w
        rise = BROW_LID_SHARE + (1.0 - BROW_LID_SHARE) * _clip01((dy - lid) / max(top - lid, 1e-6))
        vertical = np.where(dy < lid - 1e-6, 0.0, np.where(dy <= top, rise, _clip01(1.0 - (dy - top) / BROW_FOREHEAD_FADE)))
        # The brow reaches past the eye on both sides; between the brows the skin is pulled
        # down less (it bunches into the frown lines).
        horizontal = np.where(towards_temple >= 0.0, _clip01((1.3 - towards_temple) / 0.4),
                              np.clip(0.5 + (towards_temple + 1.2) / 1.0, 0.5, 1.0))
        w = vertical * horizontal
        inner = np.clip((0.9 - towards_temple) / 1.6, 0.2, 1.0)
        out = np.zeros((len(loc), 3))
        out[:, 1] = -BROW_DROP_EYE_WIDTHS * eye_w * w
        out[:, 0] = -side * BROW_IN_EYE_WIDTHS * eye_w * w * inner
        return out

    @staticmethod
    def _tighten(loc: np.ndarray, upper: tuple[int, ...], lower: tuple[int, ...], centre: np.ndarray,
                 eye_w: float, side: float) -> np.ndarray:
        u, lo = np.array(upper[1:-1]), np.array(lower[1:-1])
        opening = loc[u, 1] - loc[lo, 1]  # > 0: the upper lid is above the lower
        out = np.zeros((len(loc), 3))
        lower_y = float(np.mean(loc[lo, 1]))
        towards_temple = (loc[:, 0] - centre[0]) / eye_w * side
        below = (lower_y - loc[:, 1]) / eye_w
        horizontal = _clip01((0.9 - np.abs(towards_temple)) / 0.3)
        skin = np.where(below > 0.0, _clip01(1.0 - below / LOWER_SKIN_FADE), 0.0) * horizontal
        out[:, 1] = TIGHTEN_LOWER_SHARE * float(np.mean(opening)) * skin
        out[lo, 1] = TIGHTEN_LOWER_SHARE * opening
        out[u, 1] = -TIGHTEN_UPPER_SHARE * opening
        return out

    def _press(self, loc: np.ndarray) -> np.ndarray:
        out = np.zeros((len(loc), 3))
        corners = {mesh.OUTER_UPPER_LIP[0], mesh.OUTER_UPPER_LIP[-1]}
        nose_y = float(loc[mesh.NOSE_BASE, 1])
        chin_y = float(loc[mesh.CHIN, 1])
        x_lo, x_hi = sorted((float(loc[mesh.MOUTH_CORNERS[0], 0]), float(loc[mesh.MOUTH_CORNERS[1], 0])))
        half = (x_hi - x_lo) / 2.0
        across = _clip01(1.0 - np.abs(loc[:, 0] - (x_lo + x_hi) / 2.0) / max(half, 1e-6))
        moves = []
        for outer, inner in ((mesh.OUTER_UPPER_LIP, mesh.INNER_UPPER_LIP), (mesh.OUTER_LOWER_LIP, mesh.INNER_LOWER_LIP)):
            order = np.argsort(loc[list(inner), 0])
            ix, iy = loc[list(inner), 0][order], loc[list(inner), 1][order]
            pts = [i for i in outer if i not in corners]
            d = PRESS_SHARE * (np.interp(loc[pts, 0], ix, iy) - loc[pts, 1])
            out[pts, 1] = d
            moves.append((float(np.mean(loc[pts, 1])), float(np.mean(d))))
        (upper_y, upper_d), (lower_y, lower_d) = moves
        above = _clip01((nose_y - loc[:, 1]) / max(nose_y - upper_y, 1e-6)) * (loc[:, 1] > upper_y)
        below = _clip01(1.0 - (lower_y - loc[:, 1]) / max(0.6 * (lower_y - chin_y), 1e-6)) * (loc[:, 1] < lower_y)
        skin = above * upper_d + below * lower_d
        free = np.ones(len(loc), bool)
        free[list(mesh.OUTER_UPPER_LIP + mesh.OUTER_LOWER_LIP + mesh.INNER_UPPER_LIP + mesh.INNER_LOWER_LIP)] = False
        out[free, 1] = (skin * across)[free]
        return out

    def _wrinkle(self, loc: np.ndarray) -> np.ndarray:
        out = np.zeros((len(loc), 3))
        wings = list(mesh.RIGHT_NOSE_WING + mesh.LEFT_NOSE_WING)
        nose_y = float(loc[mesh.NOSE_BASE, 1])
        wing_top = float(loc[wings, 1].max())
        lip_y = float(np.mean(loc[list(mesh.OUTER_UPPER_LIP[1:-1]), 1]))
        inner_lip_y = float(np.mean(loc[list(mesh.INNER_UPPER_LIP[1:-1]), 1]))
        eye_y = float(np.mean(loc[list(mesh.RIGHT_UPPER_LID + mesh.LEFT_UPPER_LID), 1]))
        y = loc[:, 1]
        vertical = np.select(
            [y >= eye_y, y >= wing_top, y >= nose_y, y >= lip_y, y >= inner_lip_y],
            [np.zeros_like(y),
             _clip01((eye_y - y) / max(eye_y - wing_top, 1e-6)),
             np.ones_like(y),
             UPPER_LIP_SHARE + (1.0 - UPPER_LIP_SHARE) * _clip01((y - lip_y) / max(nose_y - lip_y, 1e-6)),
             UPPER_LIP_SHARE * _clip01((y - inner_lip_y) / max(lip_y - inner_lip_y, 1e-6))],
            np.zeros_like(y),
        )
        horizontal = _clip01((1.1 - np.abs(loc[:, 0] - self.mid_x) / self.eye_w) / 0.5)
        out[:, 1] = WRINKLE_RISE_EYE_WIDTHS * self.eye_w * vertical * horizontal
        return out
