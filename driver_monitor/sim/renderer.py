"""Render one camera frame of a synthetic driver from a FaceRig and the commanded state.

Each frame is the photo warped piecewise-affinely along the face mesh: the control points
are moved in head-local 3D (eyelids, jaw), rotated to the commanded head pose about a pivot
inside the head, projected (weak perspective: a DMS camera at ~60 cm sees a 14 cm face
with little perspective), and every output pixel samples the photo through the affine map
of the triangle that covers it. Triangles are drawn background first, then face triangles
far-to-near, and triangles that turn their back to the camera are dropped, so the far side
of a turned head is hidden. One cv2.remap does the sampling.

Texture effects that belong to the skin (the heart-rate pulse, the iris position) are made
on the photo before the warp, so they move with the face; camera effects (lighting, NIR,
motion blur, noise, vibration) are applied to the rendered frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from driver_monitor.perception.geometry import rotation_matrix
from driver_monitor.sim import mesh
from driver_monitor.sim.expression_rig import UNITS as EXPRESSION_UNITS
from driver_monitor.sim.expression_rig import ExpressionRig
from driver_monitor.sim.face_rig import RING1_SCALE, FaceRig, iris_radius_px

# Average adult face (bizygomatic) width, for turning cm into pixels (ANSUR II: ~14 cm).
FACE_WIDTH_CM = 14.0
# Nominal camera distance of a steering-column DMS camera (~60 cm) for head_z_cm scaling.
CAMERA_DISTANCE_CM = 60.0
# Eyeball model of driver_monitor.perception.geometry (iris offset <-> gaze angle).
EYE_HALF_WIDTH_MM = 14.5
EYEBALL_RADIUS_MM = 12.0
# Relative rPPG pulse strength per channel (de Haan & Jeanne 2013, CHROM: the blood-volume
# pulse signature of skin is ~[0.33, 0.77, 0.53] in normalised R, G, B).
PULSE_RGB = np.array([0.33, 0.77, 0.53]) / 0.77
# Where the closed upper lid comes to rest, from the lower lid (fraction of the opening):
# the upper lid does the travel in a blink (Evinger et al. 1991) and closes slightly over
# the lower lid's margin. The lid fold and the skin below the brow slide down with it (the
# crease flattens); the values were chosen by measuring eyeBlink on renders of the bundled
# faces (docs/simulation.md, fidelity).
LID_MEET_FRACTION = -0.35
LID_FORWARD_EYE_WIDTHS = 0.15
LID_DROOP_AT_30_DEG = 0.4
# How much of the upper lid's travel the lid fold and the skin below the brow follow.
FOLD_FOLLOW = 1.1
BROW_FOLLOW = 0.35
# A held closure is firmer than the passage of a blink: the orbicularis oculi contracts, the
# upper lid is pressed down over the eye along its whole length (its margin then lies below
# the lower lid's, the lashes over it) and the lower lid and the cheek below it ride up (the
# cheek raise of a squeeze, FACS AU6), so the lower lid's margin tucks in behind the closed
# upper lid. It builds up over the last part of the travel (closure SQUEEZE_FROM ->
# SQUEEZE_FULL), so a blink's passage and a half-closed eye look as before. Measured
# (docs/simulation.md, fidelity): the landmarker puts the closed lid line at the top of the
# dark lines it sees, and the photo's own lower lash line, left visible just under a lid
# that only reaches the lower margin, held the lid landmarks (and eyeBlink, 0.56-0.60 on
# obama and biden) up; with the lower lid tucked in and the lid line lower in the middle
# (a deeper lid alone, LID_MEET_FRACTION -0.6/-0.9, was not followed) every face reads
# >= 0.6. The closed lid meets at SQUEEZE_MEET_FRACTION of the opening below the lower lid
# plus SQUEEZE_MEET_EYE_WIDTHS in the middle, tapering to the corners as sin^0.5 (the lid
# drapes over the cornea: deepest over it, flat along most of the eye).
SQUEEZE_FROM = 0.6
SQUEEZE_FULL = 0.9
SQUEEZE_MEET_FRACTION = -0.15
SQUEEZE_MEET_EYE_WIDTHS = 0.12
SQUEEZE_MEET_TAPER = 0.5
# How far the lower lid and the skin under the eye rise at a full squeeze, and how far down
# the cheek the rise reaches (fading linearly to it), both in eye widths (~30 mm: 0.175 is
# ~5 mm, the size of a cheek raise; Ekman & Friesen, FACS AU6).
CHEEK_RISE_EYE_WIDTHS = 0.175
CHEEK_REACH_EYE_WIDTHS = 1.1
# How far each mouth corner draws in at jaw_open = 1 (a yawn rounds the mouth); the chin
# drop is FaceRig.jaw_drop_mouth_widths (docs/simulation.md).
CORNER_IN_MOUTH_WIDTHS = 0.12
# A wide-open jaw stretches the soft tissue of the lower face: the cheeks are drawn down
# and in (a yawn flattens the nasolabial folds and hollows the cheeks), so the lower face
# is longer and narrower. At jaw_open = 1 the face's sides come in by FACE_NARROW_DROPS x
# the chin drop (a squeeze towards the midline, in proportion to the distance from it; 0 at
# the nose base, full FACE_NARROW_SPAN x the nose-base-to-corners height below it), and the
# cheeks beside the mouth between the nose base and the corners follow the jaw down by up
# to CHEEK_DROP of it (0 at the nose base). Measured with sim/fidelity.py (jawOpen at a full
# yawn, astronaut 320x240 / 480x360, with the lower teeth): none 0.50 / 0.51, narrowing 0.2
# 0.55 / 0.53, both 0.57 / 0.56; obama 0.76 -> 0.71, biden 0.47-0.51 -> 0.57-0.60
# (docs/simulation.md).
FACE_NARROW_DROPS = 0.2
FACE_NARROW_SPAN = 1.5
CHEEK_DROP = 0.2
MOUTH_INTERIOR_RGB = (46, 18, 22)
TEETH_RGB = (214, 206, 190)
# In a wide yawn the lower incisors show above the lower lip (the lower lip is stretched
# down and back over them): a band over the middle of the lower lip, this fraction of the
# opening high. Without it the landmarker put the inner lower lip on the tongue (whose
# colour is close to the lip's) and read astronaut's jawOpen 0.41-0.44; with it 0.49-0.52,
# obama 0.66 -> 0.75 (docs/simulation.md).
LOWER_TEETH_FRACTION = 0.06
TONGUE_RGB = (150, 70, 72)
# The upper lashes turn down into a dark fringe along the margin of a closing lid.
LASH_FROM_CLOSURE = 0.5
LASH_RGB = (35, 25, 25)
LASH_OPACITY = 0.6
LASH_WIDTH_EYE_WIDTHS = 0.06
# ... but never thinner than this: at 320x240 (eyes ~19 px wide) 0.06 eye widths rounded to
# a 1-px line, and the closed eye's iris visibility (perception/eye_region.py) read 0.66-0.70
# of the open eye's on astronaut, above what real closed lids read (0.0-0.6, mostly below
# 0.45, docs/drowsiness.md "Iris visibility"): the landmarker's iris point sits on the line,
# and the sides of a 1-px U-shaped line fall off it. 2 px reads 0.38-0.45 (docs/simulation.md,
# "Closed eyes at head-down pitch"); 480x360 and larger already draw >= 2 px.
LASH_MIN_WIDTH_PX = 2
# The iris sits on the front of the eyeball, ~1 eyeball radius in front of the eye corners,
# so when the head pitches the iris moves across the eye opening with it; the warped photo
# has it painted flat between the lids, where it keeps its place and reads as eyes held on
# the camera (head 31 deg down, eyes 13.5 down: eye-in-head read 5 deg UP on astronaut at
# 320x240). The iris is therefore drawn shifted by this multiple of the warp pitch on top
# of the commanded eye-in-head pitch. 1.0 (the geometric parallax) still read 4.5 deg for
# 13.5 and -10 for 0 at 31 deg down (the landmarker reads iris shifts low); 1.5 reads 12-15
# and -1 (astronaut; test_sim_render). Yaw needs none: the eye corners' depth already turns
# the opening (head -21 deg, eyes -9: read -12.5 without any term).
IRIS_PARALLAX_PITCH = 1.5
# Closure from which the iris fades out of the photo, gone at 1 (Renderer._update_texture).
IRIS_HIDDEN_FROM = 0.9
SUNGLASS_RGB = (18, 18, 22)
HAND_RGB = (200, 152, 128)


@dataclass(frozen=True, slots=True)
class RenderState:
    """Everything the renderer needs for one frame (the commanded truth)."""

    head_yaw_deg: float = 0.0
    head_pitch_deg: float = 0.0
    head_roll_deg: float = 0.0
    head_x_cm: float = 0.0  # > 0: to the image's right
    head_y_cm: float = 0.0  # > 0: up
    head_z_cm: float = 0.0  # > 0: further from the camera
    eye_closure_left: float = 0.0  # 0 open .. 1 closed (the driver's left eye)
    eye_closure_right: float = 0.0
    gaze_yaw_deg: float = 0.0  # eye-in-head, > 0 to the driver's left
    gaze_pitch_deg: float = 0.0  # > 0 down
    jaw_open: float = 0.0  # 0 closed .. 1 full yawn
    # Facial action units, 0 none .. 1 FACS intensity E (sim/expression_rig.py).
    brow_lower: float = 0.0  # AU4
    lid_tighten: float = 0.0  # AU7
    lip_press: float = 0.0  # AU24
    nose_wrinkle: float = 0.0  # AU9
    face_visible: bool = True  # False: the driver is out of the seat (empty seat)
    covered: float = 0.0  # 0..1: a hand over the face (1 covers eyes, nose and mouth)
    sunglasses: bool = False
    lighting_gain: float = 1.0  # multiplies the whole frame
    lighting_gradient: float = 0.0  # -1..1: brighter on the image's left (-) or right (+)
    nir: bool = False  # monochrome near-infrared camera look
    pulse: float = 0.0  # -1..1: the blood-volume pulse waveform now
    pulse_amplitude: float = 0.0  # relative green-channel amplitude (0.002..0.01 real)
    noise_sigma: float = 0.0  # sensor noise, grey levels (std)
    noise_index: int = 0  # which precomputed noise field (chosen by the timeline's RNG)
    jitter_x_px: float = 0.0  # camera vibration offset of the whole image
    jitter_y_px: float = 0.0
    exposure_frames: float = 0.0  # exposure time / frame interval: > 0 blurs along motion


class Renderer:
    """Renders RenderStates for one rig (one face at one output size). Deterministic."""

    NOISE_FIELDS = 8

    def __init__(self, rig: FaceRig, noise_seed: int = 0):
        self.rig = rig
        w, h = rig.size
        self._grid_x, self._grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        self._ids = np.empty((h, w), np.int32)
        self._tris = np.concatenate([rig.background_tris, rig.face_tris])
        self._n_bg = len(rig.background_tris)
        # Triangles between ring 2 and the image border never move (identity warp).
        fixed = np.zeros(len(rig.points_src), bool)
        fixed[rig.ring2] = True
        fixed[rig.border] = True
        static = fixed[self._tris].all(axis=1)
        self._dynamic = np.nonzero(~static)[0]
        self._n_dynamic_bg = int((~static[: self._n_bg]).sum())
        self._src = rig.points_src.astype(np.float64)
        self._oval = np.array(mesh.face_oval())
        src_tri = self._src[self._tris]
        self._src_area = _signed_area(src_tri)
        self._lids = _LidRig(rig)
        self._jaw = _JawRig(rig)
        self._expression = ExpressionRig(rig)
        self._eyes = [_IrisRig(rig, mesh.RIGHT_IRIS, mesh.RIGHT_UPPER_LID, mesh.RIGHT_LOWER_LID, "right"),
                      _IrisRig(rig, mesh.LEFT_IRIS, mesh.LEFT_UPPER_LID, mesh.LEFT_LOWER_LID, "left")]
        self._skin = _SkinRig(rig)
        self._texture = rig.canvas.copy()
        self._gradient = np.linspace(-1.0, 1.0, w, dtype=np.float32)[None, :, None]
        rng = np.random.default_rng(noise_seed)
        # Unit-variance noise fields, precomputed (drawing 1 M normals per frame would cost
        # more than the whole warp); the timeline picks one per frame with its seeded RNG.
        self._noise = [np.clip(rng.standard_normal((h, w, 3)) * 16.0, -127, 127).astype(np.int8) for _ in range(self.NOISE_FIELDS)]
        self._scaled_noise: dict[float, list[np.ndarray]] = {}
        self.last_points: np.ndarray | None = None  # the projected control points of the last face frame
        self._last_nose: np.ndarray | None = None

    # -- geometry --------------------------------------------------------------------------
    def project(self, s: RenderState) -> tuple[np.ndarray, np.ndarray]:
        """Image positions (N, 2) and depths (N,) (larger = nearer) of every control point."""
        rig = self.rig
        local = rig.local.copy()
        droop = lid_droop(s.gaze_pitch_deg)
        raise_ = rig.open_lid_raise
        self._lids.apply(local, _with_raise(max(s.eye_closure_right, droop), raise_), _with_raise(max(s.eye_closure_left, droop), raise_))
        self._jaw.apply(local, s.jaw_open)
        self._expression.apply(local, {unit: getattr(s, unit) for unit in EXPRESSION_UNITS})
        r = rotation_matrix(*rig.pose_map.warp_angles(s.head_yaw_deg, s.head_pitch_deg, s.head_roll_deg))
        moving = np.arange(rig.n_face)
        cam = local[moving] @ r.T
        px_per_cm = rig.face_width_px / FACE_WIDTH_CM
        scale = CAMERA_DISTANCE_CM / (CAMERA_DISTANCE_CM + s.head_z_cm)
        cam *= scale
        pivot = rig.pivot
        x = cam[:, 0] + pivot[0] + s.head_x_cm * px_per_cm
        y = -(cam[:, 1] + pivot[1] + s.head_y_cm * px_per_cm)
        pts = self._src.copy()
        pts[moving, 0] = x
        pts[moving, 1] = y
        depth = np.zeros(len(pts))
        depth[moving] = cam[:, 2]
        # Ring 1 (hair, ears) stays radially outside the projected face oval, so it never
        # folds over the face however far the head turns.
        oval = pts[self._oval]
        centre = oval.mean(axis=0)
        pts[rig.ring1] = centre + (oval - centre) * RING1_SCALE
        return pts, depth

    # -- one frame -------------------------------------------------------------------------
    def render(self, s: RenderState) -> np.ndarray:
        rig = self.rig
        h, w = rig.height, rig.width
        if s.face_visible:
            self._update_texture(s)
            pts, depth = self.project(s)
            (x0, y0, x1, y1), map_x, map_y = self._maps(pts, depth)
            # Outside the moving region the warp is the identity: copy, remap only the rest.
            out = self._texture.copy()
            out[y0:y1, x0:x1] = cv2.remap(self._texture, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            if s.jitter_x_px or s.jitter_y_px:
                m = np.float32([[1, 0, s.jitter_x_px], [0, 1, s.jitter_y_px]])
                out = cv2.warpAffine(out, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
            pts_img = pts.copy()
            pts_img[:, 0] += s.jitter_x_px
            pts_img[:, 1] += s.jitter_y_px
            self.last_points = pts_img
            blur = (0.0, 0.0)
            nose = pts_img[mesh.NOSE_TIP].copy()
            if s.exposure_frames > 0 and self._last_nose is not None:
                d = (nose - self._last_nose) * s.exposure_frames  # the motion during the exposure
                blur = (float(np.hypot(*d)), float(np.degrees(np.arctan2(d[1], d[0]))))
            self._last_nose = nose
            closure = (s.eye_closure_right, s.eye_closure_left)
            if max(closure) > LASH_FROM_CLOSURE:
                _draw_lashes(out, pts_img, closure)
            if s.jaw_open > 0.02:
                _fill_mouth(out, pts_img, s.jaw_open)
            if s.sunglasses:
                _draw_sunglasses(out, pts_img)
            if s.covered > 0.0:
                _draw_hand(out, pts_img, s.covered, rig.face_width_px)
        else:
            out = rig.empty_seat
            if s.jitter_x_px or s.jitter_y_px:
                m = np.float32([[1, 0, s.jitter_x_px], [0, 1, s.jitter_y_px]])
                out = cv2.warpAffine(out, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
            else:
                out = out.copy()
            self.last_points = None
            self._last_nose = None
            blur = (0.0, 0.0)
        out = self._camera_effects(out, s, blur)
        return out

    def _update_texture(self, s: RenderState) -> None:
        """Skin pulse and iris position, drawn into the photo before the warp."""
        self._skin.apply(self._texture, s.pulse * s.pulse_amplitude)
        # The mesh turns by the warp pitch (pose_map), so that is the iris's parallax.
        warp_pitch = self.rig.pose_map.warp_angles(s.head_yaw_deg, s.head_pitch_deg, s.head_roll_deg)[1]
        iris_pitch = s.gaze_pitch_deg + IRIS_PARALLAX_PITCH * warp_pitch
        # A shut lid hides the iris. The collapsed opening's slivers still sampled the photo's
        # iris into the closed lid line, which then read darker in the middle like an iris
        # (iris visibility 0.66-0.7 of the open eye's, astronaut 320x240; real closed lids
        # 0.0-0.6). So the iris fades out of the photo over the last of the lid's travel
        # (IRIS_HIDDEN_FROM -> 1); earlier, what is left of the opening still shows it (faded
        # from closure 0.6, a 0.9 closure read eyeBlink 0.56 instead of 0.62 on obama
        # 480x360: a light slit).
        for eye, closure in zip(self._eyes, (s.eye_closure_right, s.eye_closure_left), strict=True):
            hidden = min(max((closure - IRIS_HIDDEN_FROM) / (1.0 - IRIS_HIDDEN_FROM), 0.0), 1.0)
            eye.apply(self._texture, s.gaze_yaw_deg, iris_pitch, hidden=hidden)

    def _maps(self, pts: np.ndarray, depth: np.ndarray) -> tuple[tuple[int, int, int, int], np.ndarray, np.ndarray]:
        """Sampling maps for the region the moving triangles cover (its box, and the maps)."""
        tris = self._tris[self._dynamic]
        dst = pts[tris]  # (T, 3, 2)
        area = _signed_area(dst)
        # Keep triangles with the photo's winding (a flipped one faces away from the camera)
        # and more than a sliver of area (a closed eye's opening collapses to nothing).
        visible = (np.sign(area) == np.sign(self._src_area[self._dynamic])) & (np.abs(area) > 0.05)
        n_bg = self._n_dynamic_bg
        order_face = np.argsort(depth[tris[n_bg:]].mean(axis=1), kind="stable") + n_bg
        order = np.concatenate([np.arange(n_bg), order_face])
        order = order[visible[order]]
        h, w = self.rig.height, self.rig.width
        lo = np.floor(dst.reshape(-1, 2).min(axis=0)).astype(int)
        hi = np.ceil(dst.reshape(-1, 2).max(axis=0)).astype(int) + 1
        x0, y0 = max(int(lo[0]), 0), max(int(lo[1]), 0)
        x1, y1 = min(int(hi[0]), w), min(int(hi[1]), h)
        ids = self._ids[y0:y1, x0:x1]
        identity = len(tris)
        ids.fill(identity)  # pixels no moving triangle covers keep their place
        dst_i = np.round((dst - [x0, y0]) * 16).astype(np.int32)  # 4 fractional bits
        for t in order.tolist():
            cv2.fillConvexPoly(ids, dst_i[t], t, lineType=cv2.LINE_8, shift=4)
        coeff = np.empty((len(tris) + 1, 6), np.float32)
        coeff[:-1] = _affine_dst_to_src(dst, self._src[tris]).reshape(len(tris), 6)
        coeff[-1] = (1, 0, 0, 0, 1, 0)
        gx = self._grid_x[y0:y1, x0:x1]
        gy = self._grid_y[y0:y1, x0:x1]
        c = coeff.T.copy()
        map_x = c[0].take(ids) * gx + c[1].take(ids) * gy + c[2].take(ids)
        map_y = c[3].take(ids) * gx + c[4].take(ids) * gy + c[5].take(ids)
        return (x0, y0, x1, y1), map_x, map_y

    def _noise_fields(self, sigma: float) -> list[np.ndarray]:
        if sigma not in self._scaled_noise:
            self._scaled_noise[sigma] = [np.round(f.astype(np.float32) * (sigma / 16.0)).astype(np.int16) for f in self._noise]
        return self._scaled_noise[sigma]

    def _camera_effects(self, out: np.ndarray, s: RenderState, blur: tuple[float, float]) -> np.ndarray:
        if s.lighting_gradient:
            gain = s.lighting_gain * (1.0 + 0.5 * s.lighting_gradient * self._gradient)
            out = np.clip(out.astype(np.float32) * gain, 0, 255).astype(np.uint8)
        elif s.lighting_gain != 1.0:
            out = cv2.convertScaleAbs(out, alpha=s.lighting_gain)
        if s.nir:
            out = _nir_look(out)
        if blur[0] >= 1.5:
            out = _motion_blur(out, blur[0], -blur[1])
        if s.noise_sigma > 0:
            noise = self._noise_fields(s.noise_sigma)[s.noise_index % self.NOISE_FIELDS]
            out = cv2.add(out, noise, dtype=cv2.CV_8U)  # saturates at 0 and 255
            if s.nir:  # a monochrome sensor: the same noise in all channels
                out[..., 1] = out[..., 0]
                out[..., 2] = out[..., 0]
        return out


# -- control rigs ----------------------------------------------------------------------------
class _LidRig:
    """Per-eye lid closure in head-local coordinates."""

    def __init__(self, rig: FaceRig):
        self.eyes = []
        n = rig.n_face
        loc = rig.local
        for upper, lower, fold, brow in (
            (mesh.RIGHT_UPPER_LID, mesh.RIGHT_LOWER_LID, mesh.RIGHT_LID_FOLD, mesh.RIGHT_BROW_LOWER),
            (mesh.LEFT_UPPER_LID, mesh.LEFT_LOWER_LID, mesh.LEFT_LID_FOLD, mesh.LEFT_BROW_LOWER),
        ):
            u = np.array(upper[1:-1])
            lo = np.array(lower[1:-1])
            meet = loc[lo] + LID_MEET_FRACTION * (loc[u] - loc[lo])
            du = meet - loc[u]
            # The closed lid lies over the eyeball, in front of the lower lid's margin.
            eye_w = float(np.linalg.norm(loc[upper[0]] - loc[upper[-1]]))
            du[:, 2] += LID_FORWARD_EYE_WIDTHS * eye_w
            # Squeeze: where a firm closure puts the lid beyond the blink's meeting line ...
            c0, c1 = loc[upper[0]], loc[upper[-1]]
            along = np.clip((loc[lo, 0] - c0[0]) / (c1[0] - c0[0]), 0.0, 1.0)
            squeezed = loc[lo] + SQUEEZE_MEET_FRACTION * (loc[u] - loc[lo])
            squeezed[:, 1] -= SQUEEZE_MEET_EYE_WIDTHS * eye_w * np.sin(np.pi * along) ** SQUEEZE_MEET_TAPER
            du_squeeze = squeezed - meet
            # ... and how the lower lid and the cheek under the eye rise (up in head-local y),
            # fading downwards to CHEEK_REACH_EYE_WIDTHS and sideways: towards the temple
            # from 0.8 to 1.3 eye widths from the eye's centre (the orbicularis reaches the
            # crow's feet), towards the nose from the inner corner (0.5) to 0.8, so the nose
            # stays; the eye corners and the upper lid stay.
            centre = loc[list(upper) + list(lower)].mean(axis=0)
            dx = (loc[:n, 0] - centre[0]) / eye_w * np.sign(c0[0] - c1[0])  # > 0 towards the temple
            dy = (loc[:n, 1] - centre[1]) / eye_w
            side = np.where(dx >= 0.0, np.clip((1.3 - dx) / 0.5, 0.0, 1.0), np.clip((0.8 + dx) / 0.3, 0.0, 1.0))
            down = np.where(dy < 0.0, np.clip((dy + CHEEK_REACH_EYE_WIDTHS) / (CHEEK_REACH_EYE_WIDTHS - 0.15), 0.0, 1.0), 0.0)
            down[lo] = 1.0
            cheek = np.zeros((len(loc), 3))
            cheek[:n, 1] = CHEEK_RISE_EYE_WIDTHS * eye_w * side * down
            cheek[list(upper)] = 0.0
            moved = np.nonzero(cheek[:, 1])[0]
            self.eyes.append((u, np.array(fold), np.array(brow), du, du_squeeze, moved, cheek[moved]))

    def apply(self, local: np.ndarray, closure_right: float, closure_left: float) -> None:
        """Closure 0..1; below 0 the lid is raised (in the image plane) above the photo's."""
        for (u, fold, brow, du, du_squeeze, moved, cheek), c in zip(self.eyes, (closure_right, closure_left), strict=True):
            if c == 0.0:
                continue
            c = min(c, 1.0)
            if c < 0.0:
                du = du.copy()
                du[:, 2] = 0.0  # a raised lid does not come forward
            w = _squeeze(c)
            d = c * du + w * du_squeeze if w > 0.0 else c * du
            local[u] += d
            local[fold] += FOLD_FOLLOW * d
            local[brow] += BROW_FOLLOW * d
            if w > 0.0:
                local[moved] += w * cheek


def _squeeze(closure: float) -> float:
    """How firm the closure is: 0 up to SQUEEZE_FROM, easing (smoothstep) to 1 at SQUEEZE_FULL."""
    t = min(max((closure - SQUEEZE_FROM) / (SQUEEZE_FULL - SQUEEZE_FROM), 0.0), 1.0)
    return t * t * (3.0 - 2.0 * t)


class _JawRig:
    """Jaw opening: the lower lip, chin and jaw move down (head-local), weighted so the lips
    open as a lens and the cheeks stretch down and in."""

    def __init__(self, rig: FaceRig):
        loc = rig.local[: rig.n_face]
        a, b = loc[mesh.MOUTH_CORNERS[0]], loc[mesh.MOUTH_CORNERS[1]]
        mid = (a + b) / 2.0
        half_mouth = float(np.linalg.norm(a[:2] - b[:2])) / 2.0
        chin_drop = float(mid[1] - loc[mesh.CHIN, 1])
        oval = list(mesh.face_oval())
        half_face = float(loc[oval, 0].max() - loc[oval, 0].min()) / 2.0
        dx = np.abs(loc[:, 0] - mid[0])
        # The hinge line: between the corners it follows the inner upper lip, beyond them it
        # is level with the corners. The upper lip belongs to the maxilla and stays; a line
        # through the corners alone put a smiling portrait's upper lip (corners raised above
        # its middle: astronaut) below the hinge, and it was dragged down over the opening.
        inner_up = np.array(mesh.INNER_UPPER_LIP)
        order = np.argsort(loc[inner_up, 0])
        hinge = np.interp(loc[:, 0], loc[inner_up[order], 0], loc[inner_up[order], 1])
        hinge = np.where(dx <= half_mouth, hinge, mid[1])
        below = (hinge - loc[:, 1]) / max(chin_drop, 1e-6)  # 0 at the lip line, 1 at the chin
        w_v = np.clip((below + 0.04) / 0.14, 0.0, 1.0)
        # Nose base (subnasale) to the mouth corners: the cheeks there stretch down with the jaw.
        nose_y = float(loc[mesh.NOSE_BASE, 1])
        span = max(nose_y - mid[1], 1e-6)
        r = dx / max(half_mouth, 1e-6)  # beside the mouth (0.6-1.6 half-widths), fading out by 2.4
        lateral = np.clip((r - 0.6) / 0.4, 0.0, 1.0) * np.clip(1.0 - (r - 1.6) / 0.8, 0.0, 1.0)
        up_to_nose = np.clip((nose_y - loc[:, 1]) / span, 0.0, 1.0) * (loc[:, 1] >= mid[1])
        cheek = CHEEK_DROP * up_to_nose * lateral
        w_v = np.maximum(w_v, cheek)
        w_h = np.clip(1.0 - 0.7 * (dx - half_mouth) / max(half_face - half_mouth, 1e-6), 0.3, 1.0)
        weight = w_v * w_h
        lens = np.sqrt(np.clip(1.0 - (dx / max(half_mouth, 1e-6)) ** 2, 0.0, 1.0))
        lower = list(set(mesh.INNER_LOWER_LIP + mesh.OUTER_LOWER_LIP) - set(mesh.MOUTH_CORNERS) - {61, 291})
        weight[lower] = np.maximum(lens[lower], weight[lower] * 0.0 + lens[lower])
        upper = list(set(mesh.INNER_UPPER_LIP) - set(mesh.MOUTH_CORNERS))
        weight[upper] = -0.12 * lens[upper]  # the upper lip lifts a little
        weight[list(mesh.MOUTH_CORNERS) + [61, 291]] = 0.15
        self.weight = np.zeros(len(rig.local))
        self.weight[: rig.n_face] = weight
        self.drop = rig.jaw_drop_mouth_widths * 2.0 * half_mouth
        # In a yawn the mouth rounds: the corners draw in towards the middle.
        self.inward = np.zeros(len(rig.local))
        corners = [mesh.MOUTH_CORNERS[0], 61, mesh.MOUTH_CORNERS[1], 291]
        self.inward[corners] = np.sign(mid[0] - loc[corners, 0]) * CORNER_IN_MOUTH_WIDTHS * 2.0 * half_mouth
        # The lower face narrows (FACE_NARROW_DROPS): a horizontal squeeze towards the midline,
        # easing in (smoothstep) from the nose base down.
        ease = np.clip((nose_y - loc[:, 1]) / (FACE_NARROW_SPAN * span), 0.0, 1.0)
        ease = ease * ease * (3.0 - 2.0 * ease)
        self.inward[: rig.n_face] += np.sign(mid[0] - loc[:, 0]) * FACE_NARROW_DROPS * self.drop * ease * dx / max(half_face, 1e-6)

    def apply(self, local: np.ndarray, jaw_open: float) -> None:
        if jaw_open <= 0.0:
            return
        j = min(jaw_open, 1.0)
        local[:, 1] -= self.weight * (j * self.drop)
        local[:, 0] += self.inward * j


class _IrisRig:
    """Gaze as an iris shift inside the eye opening, drawn on the photo before the warp.

    At setup the iris disc is cut out (only where it was visible between the lids) and its
    place filled with sclera colour; per frame the original eye region is restored and the
    iris is pasted shifted, clipped to the eye opening.
    """

    def __init__(self, rig: FaceRig, iris: tuple[int, ...], upper: tuple[int, ...], lower: tuple[int, ...], name: str):
        pts = rig.points_src.astype(np.float64)
        h, w = rig.height, rig.width
        self.name = name
        opening = np.concatenate([pts[list(upper), :2], pts[list(lower[::-1]), :2]])
        x0, y0 = np.floor(opening.min(axis=0)).astype(int) - 4
        x1, y1 = np.ceil(opening.max(axis=0)).astype(int) + 5
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1, w), min(y1, h)
        self.box = (x0, y0, x1, y1)
        roi = rig.canvas[y0:y1, x0:x1]
        mask = np.zeros(roi.shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.round((opening - [x0, y0]) * 16).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=4)
        self.opening = mask.astype(np.float32)[..., None] / 255.0
        centre = pts[iris[0], :2] - [x0, y0]
        radius = iris_radius_px(pts, iris)
        disc = np.zeros(roi.shape[:2], np.uint8)
        cv2.circle(disc, (int(round(centre[0] * 16)), int(round(centre[1] * 16))), int(round(radius * 1.05 * 16)), 255, -1, cv2.LINE_AA, shift=4)
        disc_f = disc.astype(np.float32)[..., None] / 255.0
        self.iris_alpha = disc_f * self.opening  # the iris as it was visible
        # Sclera colour: the bright part of the opening outside the iris.
        sclera_px = roi[(self.opening[..., 0] > 0.9) & (disc_f[..., 0] < 0.1)]
        if len(sclera_px) >= 3:
            luma = sclera_px.mean(axis=1)
            sclera = sclera_px[luma >= np.percentile(luma, 60)].mean(axis=0)
        else:
            sclera = np.array([215.0, 205.0, 200.0])
        base = roi.astype(np.float32)
        base = base * (1 - self.iris_alpha) + sclera * self.iris_alpha
        self.base = base  # the eye with the iris removed
        self.iris = roi.astype(np.float32)
        self.original = roi.copy()
        # Only pixels inside the opening change (the skin around it belongs to _SkinRig).
        self._inside = np.broadcast_to(self.opening > 0.0, roi.shape)
        corner_a, corner_b = pts[upper[0], :2], pts[upper[-1], :2]
        self.half_width = float(np.linalg.norm(corner_b - corner_a)) / 2.0
        self._last: tuple[float, float] | None = None
        self._shifted = self.original

    def apply(self, texture: np.ndarray, gaze_yaw_deg: float, gaze_pitch_deg: float, hidden: float = 0.0) -> None:
        """Draw the eye with its iris at the gaze; `hidden` 0..1 fades the iris out (a
        closing lid over it)."""
        key = (round(gaze_yaw_deg, 3), round(gaze_pitch_deg, 3))
        x0, y0, x1, y1 = self.box
        region = texture[y0:y1, x0:x1]
        if key == (0.0, 0.0):
            eye = self.original
        else:
            if key != self._last:
                self._last = key
                self._shifted = self._shift(gaze_yaw_deg, gaze_pitch_deg)
            eye = self._shifted
        if hidden > 0.0:
            eye = np.clip(eye * (1.0 - hidden) + self.base * hidden + 0.5, 0, 255).astype(np.uint8)
        np.copyto(region, eye, where=self._inside)

    def _shift(self, gaze_yaw_deg: float, gaze_pitch_deg: float) -> np.ndarray:
        x0, y0, x1, y1 = self.box
        dx = _gaze_offset(gaze_yaw_deg) * self.half_width  # yaw > 0 (driver's left): image right
        dy = _gaze_offset(gaze_pitch_deg) * self.half_width  # > 0 (down): image down
        m = np.float32([[1, 0, dx], [0, 1, dy]])
        size = (x1 - x0, y1 - y0)
        iris = cv2.warpAffine(self.iris, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        alpha = cv2.warpAffine(self.iris_alpha[..., 0], m, size, flags=cv2.INTER_LINEAR)[..., None] * self.opening
        out = self.base * (1 - alpha) + iris * alpha
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _with_raise(closure: float, open_lid_raise: float) -> float:
    """The lid position for a commanded closure on a rig whose open lids are raised by
    open_lid_raise: -raise at 0, easing to no change at 1 ((1 - c)^2, so closed eyes and the
    end of a blink look as before)."""
    return closure - open_lid_raise * (1.0 - min(max(closure, 0.0), 1.0)) ** 2


def lid_droop(gaze_pitch_deg: float) -> float:
    """How far the upper lids follow the eyes down, as a closure: the lid rides on the
    globe, so a 30 deg downward gaze lowers it ~6 mm (12 mm radius) while the lower lid drops
    ~2 mm, narrowing a ~10 mm aperture by ~40 %. This is why looking down reads as closing
    the eyes (REFERENCE.md); truth.csv's eye_closure is the commanded closure without it."""
    return LID_DROOP_AT_30_DEG * min(max(gaze_pitch_deg / 30.0, 0.0), 1.5)


def _gaze_offset(angle_deg: float) -> float:
    """Iris shift as a fraction of the eye half-width (the inverse of geometry's model)."""
    return math.sin(math.radians(angle_deg)) * EYEBALL_RADIUS_MM / EYE_HALF_WIDTH_MM


class _SkinRig:
    """The blood-volume pulse as a small gain on the facial skin (not the eyes, brows or lips)."""

    def __init__(self, rig: FaceRig):
        pts = rig.points_src
        h, w = rig.height, rig.width
        oval = np.array(mesh.face_oval())
        mask = np.zeros((h, w), np.uint8)
        cv2.fillPoly(mask, [np.round(pts[oval]).astype(np.int32)], 255)
        for contour in (mesh.RIGHT_UPPER_LID + mesh.RIGHT_LOWER_LID[::-1], mesh.LEFT_UPPER_LID + mesh.LEFT_LOWER_LID[::-1],
                        mesh.INNER_UPPER_LIP + mesh.OUTER_LOWER_LIP[::-1]):
            poly = np.round(pts[list(contour)]).astype(np.int32)
            cv2.fillPoly(mask, [cv2.convexHull(poly)], 0)
        mask = cv2.erode(mask, np.ones((3, 3), np.uint8))
        ys, xs = np.nonzero(mask)
        self.box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
        x0, y0, x1, y1 = self.box
        weight = mask[y0:y1, x0:x1].astype(np.float32)[..., None] / 255.0
        self.base = rig.canvas[y0:y1, x0:x1].astype(np.float32)
        # The change per unit of pulse: skin colour x channel weight, zero off the skin.
        self.delta = np.ascontiguousarray(self.base * weight * PULSE_RGB.astype(np.float32))
        self._last = 0.0

    def apply(self, texture: np.ndarray, relative: float) -> None:
        """Writes the whole box (the eyes are drawn after it)."""
        if relative == self._last:
            return
        self._last = relative
        x0, y0, x1, y1 = self.box
        out = cv2.scaleAdd(self.delta, float(relative), self.base)
        texture[y0:y1, x0:x1] = cv2.convertScaleAbs(out)  # rounds and saturates


# -- drawing helpers -------------------------------------------------------------------------
def _signed_area(tri: np.ndarray) -> np.ndarray:
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    return 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))


def _affine_dst_to_src(dst: np.ndarray, src: np.ndarray) -> np.ndarray:
    """(T, 2, 3) affine maps taking each destination triangle onto its source triangle."""
    ones = np.ones(dst.shape[:2] + (1,))
    m = np.concatenate([dst, ones], axis=2)  # (T, 3, 3)
    det = np.linalg.det(m)
    bad = np.abs(det) < 1e-9
    if bad.any():
        m = m.copy()
        m[bad] = np.eye(3)
    sol = np.linalg.solve(m, src)  # (T, 3, 2): [x y 1] @ sol = src
    return np.transpose(sol, (0, 2, 1))


def _fill_mouth(out: np.ndarray, pts: np.ndarray, jaw_open: float) -> None:
    """The open mouth: a dark cavity, the upper teeth's edge under the upper lip, the
    tongue at the bottom and the lower incisors' edge above the lower lip, clipped to the
    inner lip contour."""
    contour = list(mesh.INNER_UPPER_LIP) + list(mesh.INNER_LOWER_LIP[-2:0:-1])
    poly = pts[contour]
    x0, y0 = np.floor(poly.min(axis=0)).astype(int) - 2
    x1, y1 = np.ceil(poly.max(axis=0)).astype(int) + 3
    h, w = out.shape[:2]
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    local = poly - [x0, y0]
    roi = out[y0:y1, x0:x1]
    mask = np.zeros(roi.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(local * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
    cavity = np.empty_like(roi)
    cavity[:] = MOUTH_INTERIOR_RGB
    upper = pts[list(mesh.INNER_UPPER_LIP)] - [x0, y0]
    lower = pts[list(mesh.INNER_LOWER_LIP)] - [x0, y0]
    gap = float(np.max(lower[:, 1]) - np.min(upper[:, 1]))
    width = float(upper[-1, 0] - upper[0, 0])
    if gap > 3:
        # Upper teeth: a band under the middle of the upper lip, a tenth of the opening high.
        teeth = upper[2:-2] + [0.0, 0.0]
        band = np.concatenate([teeth, teeth[::-1] + [0.0, max(1.0, 0.12 * gap)]])
        cv2.fillPoly(cavity, [np.round(band * 16).astype(np.int32)], TEETH_RGB, cv2.LINE_AA, shift=4)
        # Tongue: a low ellipse resting on the lower lip.
        c = lower[len(lower) // 2]
        axes = (max(1, int(0.3 * abs(width))), max(1, int(0.22 * gap)))
        cv2.ellipse(cavity, (int(c[0]), int(c[1] - 0.05 * gap)), axes, 0, 180, 360, TONGUE_RGB, -1, cv2.LINE_AA)
        # Lower incisors: a band over the middle of the lower lip, in front of the tongue.
        incisors = lower[3:-3]
        band = np.concatenate([incisors, incisors[::-1] - [0.0, max(1.0, LOWER_TEETH_FRACTION * gap)]])
        cv2.fillPoly(cavity, [np.round(band * 16).astype(np.int32)], TEETH_RGB, cv2.LINE_AA, shift=4)
    alpha = mask.astype(np.float32)[..., None] / 255.0
    roi[:] = (roi * (1.0 - alpha) + cavity * alpha).astype(np.uint8)


def _draw_lashes(out: np.ndarray, pts: np.ndarray, closure: tuple[float, float]) -> None:
    for upper, c in zip((mesh.RIGHT_UPPER_LID, mesh.LEFT_UPPER_LID), closure, strict=True):
        a = LASH_OPACITY * min(max((c - LASH_FROM_CLOSURE) / (1.0 - LASH_FROM_CLOSURE), 0.0), 1.0)
        if a <= 0.0:
            continue
        p = pts[list(upper)]
        width = max(LASH_MIN_WIDTH_PX, int(round(float(np.linalg.norm(p[0] - p[-1])) * LASH_WIDTH_EYE_WIDTHS)))
        x0, y0 = np.floor(p.min(axis=0)).astype(int) - width - 1
        x1, y1 = np.ceil(p.max(axis=0)).astype(int) + width + 2
        h, w = out.shape[:2]
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 <= x0 or y1 <= y0:
            continue
        roi = out[y0:y1, x0:x1]
        ov = roi.copy()
        cv2.polylines(ov, [np.round((p - [x0, y0]) * 16).astype(np.int32)], False, LASH_RGB, width, cv2.LINE_AA, shift=4)
        cv2.addWeighted(ov, a, roi, 1.0 - a, 0.0, dst=roi)


def _draw_sunglasses(out: np.ndarray, pts: np.ndarray) -> None:
    lenses = []
    for upper, lower, brow in ((mesh.RIGHT_UPPER_LID, mesh.RIGHT_LOWER_LID, mesh.RIGHT_BROW_LOWER),
                               (mesh.LEFT_UPPER_LID, mesh.LEFT_LOWER_LID, mesh.LEFT_BROW_LOWER)):
        eye = pts[list(upper) + list(lower) + list(brow)]
        centre = pts[list(upper) + list(lower)].mean(axis=0)
        lens = centre + (cv2.convexHull(eye.astype(np.float32))[:, 0] - centre) * 1.35
        lenses.append(lens)
        cv2.fillPoly(out, [np.round(lens * 16).astype(np.int32)], SUNGLASS_RGB, lineType=cv2.LINE_AA, shift=4)
    a = lenses[0][np.argmax(lenses[0][:, 0])]
    b = lenses[1][np.argmin(lenses[1][:, 0])]
    thick = max(2, int(round(np.linalg.norm(lenses[0].max(0) - lenses[0].min(0)) / 12)))
    cv2.line(out, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), SUNGLASS_RGB, thick, cv2.LINE_AA)


def _draw_hand(out: np.ndarray, pts: np.ndarray, amount: float, face_w: float) -> None:
    """A flat hand (palm, four fingers and a thumb) raised over the face from below, shaded
    darker towards the wrist and between the fingers, with soft edges."""
    nose = pts[mesh.NOSE_TIP]
    height = float(np.linalg.norm(pts[mesh.CHIN] - pts[mesh.FOREHEAD]))
    # amount 1: the palm is centred on the nose; 0: below the face.
    cy = nose[1] + (1.0 - amount) * 1.6 * height
    cx = nose[0]
    h, w = out.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    palm_w, palm_h = 0.55 * face_w, 0.42 * height
    cv2.ellipse(mask, (int(cx), int(cy + 0.1 * height)), (int(palm_w), int(palm_h)), 0, 0, 360, 255, -1, cv2.LINE_AA)
    finger_w = max(2, int(0.17 * face_w))
    for i, off in enumerate((-0.36, -0.12, 0.12, 0.36)):
        x = int(cx + off * face_w * 1.05)
        y_top = int(cy - (0.62 + 0.06 * (i in (1, 2))) * height)
        cv2.line(mask, (x, int(cy)), (x, y_top), 255, finger_w, cv2.LINE_AA)
    cv2.line(mask, (int(cx - 0.55 * face_w), int(cy + 0.2 * height)), (int(cx - 0.85 * face_w), int(cy - 0.2 * height)), 255, finger_w, cv2.LINE_AA)
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    alpha = cv2.GaussianBlur(mask[y0:y1, x0:x1], (0, 0), max(0.8, face_w / 120)).astype(np.float32)[..., None] / 255.0
    # Shading: lighter at the fingertips, darker towards the wrist; grooves between fingers.
    rows = np.linspace(1.08, 0.82, y1 - y0, dtype=np.float32)[:, None, None]
    groove = cv2.GaussianBlur(255 - mask[y0:y1, x0:x1], (0, 0), max(1.0, face_w / 60)).astype(np.float32)[..., None] / 255.0
    skin = np.array(HAND_RGB, np.float32) * rows * (1.0 - 0.35 * groove)
    roi = out[y0:y1, x0:x1]
    roi[:] = np.clip(roi * (1.0 - alpha) + skin * alpha, 0, 255).astype(np.uint8)


def _nir_look(out: np.ndarray) -> np.ndarray:
    """Monochrome near-infrared look: at 850-940 nm skin is bright and even (haemoglobin and
    melanin absorb little), so luma weighted towards red, with a flatter skin contrast."""
    grey = cv2.transform(out, np.array([[0.62, 0.30, 0.08]], dtype=np.float32))
    grey = cv2.convertScaleAbs(grey, alpha=1.1, beta=8)
    return cv2.merge([grey, grey, grey])


def _motion_blur(out: np.ndarray, length_px: float, angle_deg: float) -> np.ndarray:
    n = int(min(max(round(length_px), 2), 31))
    kernel = np.zeros((n, n), np.float32)
    kernel[n // 2, :] = 1.0 / n
    rot = cv2.getRotationMatrix2D(((n - 1) / 2.0, (n - 1) / 2.0), angle_deg, 1.0)
    kernel = cv2.warpAffine(kernel, rot, (n, n))
    kernel /= max(kernel.sum(), 1e-6)
    return cv2.filter2D(out, -1, kernel, borderType=cv2.BORDER_REPLICATE)
