"""A portrait prepared for rendering: the photo framed for the output size, its face mesh in
3D, the surrounding rings and the textures the renderer modulates (iris, empty seat).

The face mesh is found once, with the real FaceLandmarker in IMAGE mode; everything after
that is geometry on the 478 landmarks.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from driver_monitor.errors import InputError, ModelError
from driver_monitor.perception.geometry import head_pose_from_matrix
from driver_monitor.perception.model import resolve_model_path
from driver_monitor.perception.tracker import quiet_native_stderr
from driver_monitor.sim import mesh

# Bundled portraits (driver_monitor/sim/faces/ATTRIBUTION.md).
FACES_DIR = Path(__file__).resolve().parent / "faces"
BUNDLED_FACES = {"astronaut": "astronaut.png", "obama": "obama.jpg", "biden": "biden.jpg"}

# Framing of a driver-facing camera: the face spans about a third of the image width at
# 640x480 (a DMS camera on the steering column, ~60 cm away, ~50 deg horizontal FOV).
FACE_WIDTH_FRACTION = 0.30
FACE_CENTRE = (0.5, 0.47)  # fraction of width, height
# The head turns about a pivot behind the face (the neck); 0.35 face widths behind the face
# oval keeps the face in frame at large turns (a 40 deg turn shifts it ~0.2 face widths).
PIVOT_DEPTH_FACE_WIDTHS = 0.35
# Rings around the face oval: ring 1 (hair, ears) turns with the head; ring 2 stays with the
# body and the seat; the image border is fixed.
RING1_SCALE = 1.3
# MediaPipe's landmark z is a relative depth that is flatter than a real face (the nose
# protrudes ~1/3 of the face width, z gives ~1/5). With 1.8x relief a warp of ~50 deg reads
# as 40 deg and the turned face stays trackable (1.0: 40 deg read as 25; 1.5: obama lost
# its face at -40 deg for a few frames; measured with sim/fidelity.py).
DEPTH_GAIN = 1.8
RING2_SCALE = 1.9


def resolve_face(name_or_path: str | Path) -> Path:
    """A bundled face by name ("astronaut", "obama", "biden") or a path to a photo."""
    key = str(name_or_path)
    if key in BUNDLED_FACES:
        return FACES_DIR / BUNDLED_FACES[key]
    path = Path(name_or_path)
    if not path.is_file():
        names = ", ".join(sorted(BUNDLED_FACES))
        raise InputError(f"{path}: face photo not found (bundled faces: {names})")
    return path


def load_photo(path: Path) -> np.ndarray:
    data = np.fromfile(str(path), dtype=np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        raise InputError(f"{path}: not an image OpenCV can read")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


# The landmarker of the open `shared_image_landmarker` block (at most one).
_SHARED_LANDMARKER: list[Any] = []


def _new_image_landmarker() -> Any:
    os.environ.setdefault("GLOG_minloglevel", "2")
    try:
        from mediapipe.tasks.python import BaseOptions, vision
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ModelError(f"mediapipe is not importable ({exc})") from None
    options = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(resolve_model_path())),
        running_mode=vision.RunningMode.IMAGE,
        num_faces=1,
        output_facial_transformation_matrixes=True,
    )
    with quiet_native_stderr():  # the graph's start-up banners, as for the tracker
        return vision.FaceLandmarker.create_from_options(options)


@contextmanager
def shared_image_landmarker() -> Iterator[None]:
    """One IMAGE-mode landmarker for every `detect_mesh` inside the block (building a rig
    detects the face more than once, and creating a landmarker costs ~0.5 s), closed at its
    end. Never one left for the interpreter's exit: MediaPipe's dispatcher is gone by then and
    the landmarker's __del__ prints a traceback ("Exception ignored in FaceLandmarker.__del__");
    an exit handler cannot close it either (the dispatcher's thread pool stops before those run)."""
    if _SHARED_LANDMARKER:  # nested: the outer block's
        yield
        return
    landmarker = _new_image_landmarker()
    _SHARED_LANDMARKER.append(landmarker)
    try:
        yield
    finally:
        _SHARED_LANDMARKER.clear()
        landmarker.close()


def detect_mesh(image_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(478x3 landmarks in pixels, 4x4 transform) of the largest face, or None."""
    import mediapipe as mp

    img = np.ascontiguousarray(image_rgb)
    with shared_image_landmarker(), quiet_native_stderr():
        result = _SHARED_LANDMARKER[0].detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=img))
    if not result.face_landmarks:
        return None
    h, w = img.shape[:2]
    lms = np.array([(p.x * w, p.y * h, p.z * w) for p in result.face_landmarks[0]], dtype=np.float64)
    return lms, np.asarray(result.facial_transformation_matrixes[0], dtype=np.float64)


@dataclass
class PoseMap:
    """Commanded head pose -> the warp angles that make the FaceLandmarker read it.

    A warped photo is a 2D approximation of a turned head: the landmarker reads its yaw at
    ~0.6 of the warp angle (the photo has no new shading or silhouette for the turned side),
    and reads a pitch offset that depends on where the face sits in the frame (perspective).
    calibrate_pose measures both on renders of this rig and stores piecewise-linear maps.
    """

    neutral_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)  # what the unrotated photo reads
    yaw_read: tuple[float, ...] = (-1.0, 1.0)  # measured yaw at the warp yaws below
    yaw_warp: tuple[float, ...] = (-1.0, 1.0)
    pitch_read: tuple[float, ...] = (-1.0, 1.0)
    pitch_warp: tuple[float, ...] = (-1.0, 1.0)

    def warp_angles(self, yaw_deg: float, pitch_deg: float, roll_deg: float) -> tuple[float, float, float]:
        return (
            _interp(yaw_deg, self.yaw_read, self.yaw_warp),
            _interp(pitch_deg, self.pitch_read, self.pitch_warp),
            roll_deg - self.neutral_deg[2],
        )


def _interp(x: float, xs: tuple[float, ...], ys: tuple[float, ...]) -> float:
    """Piecewise-linear through (xs, ys), extrapolated linearly at both ends."""
    if x <= xs[0]:
        return ys[0] + (x - xs[0]) * (ys[1] - ys[0]) / (xs[1] - xs[0])
    if x >= xs[-1]:
        return ys[-1] + (x - xs[-1]) * (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
    return float(np.interp(x, xs, ys))


@dataclass
class FaceRig:
    """A portrait framed for one output size, ready to render."""

    photo_path: Path
    size: tuple[int, int]  # (width, height)
    canvas: np.ndarray  # RGB uint8 (H, W, 3): the framed photo
    empty_seat: np.ndarray  # RGB uint8: the same scene with the head removed
    points_src: np.ndarray  # (N, 2) float32 where each control point is in the canvas
    local: np.ndarray  # (N, 3) head-local 3D coordinates (x right, y up, z to the camera), px
    pivot: np.ndarray  # (3,) pivot in camera-like coordinates (x right, y up, z to camera), px
    n_face: int  # points [0, n_face) are landmarks; then ring 1, ring 2, border
    ring1: np.ndarray  # indices of ring-1 points
    ring2: np.ndarray
    border: np.ndarray
    face_tris: np.ndarray  # (T, 3)
    background_tris: np.ndarray  # (B, 3)
    face_width_px: float
    photo_pose_deg: tuple[float, float, float]
    pose_map: PoseMap = field(default_factory=lambda: PoseMap())
    # Chin drop at jaw_open = 1 in mouth widths: a full yawn opens the mouth about as high as
    # it is wide; much more makes the landmarker's jawOpen fall again on the smiling photos
    # (docs/simulation.md). calibrate.calibrate_jaw_drop chooses it per face (0.65-0.85).
    jaw_drop_mouth_widths: float = 0.65
    # How far the upper lids are raised (in closure units, 0..1 of the opening) when the
    # eyes are commanded open: closure 0 means "fully open", but a smiling portrait squints
    # (obama: eyeBlink 0.33 on the photo's own lids); calibrate.calibrate_open_lids measures it.
    open_lid_raise: float = 0.0
    # The photo's own (yaw, pitch, roll) when the rig was built from its frontal view
    # (calibrate.frontal_view); None when the photo was used as it is.
    frontalized_from_deg: tuple[float, float, float] | None = None

    @property
    def width(self) -> int:
        return self.size[0]

    @property
    def height(self) -> int:
        return self.size[1]


def build_rig(photo: str | Path, size: tuple[int, int], image: np.ndarray | None = None) -> FaceRig:
    """Find the face in the photo, frame it for `size` and build the control mesh.

    `image` (RGB) replaces the photo's pixels, e.g. the photo turned to face the camera
    (calibrate.frontal_view); `photo` still names the rig's source."""
    path = resolve_face(photo)
    if image is None:
        image = load_photo(path)
    found = detect_mesh(image)
    if found is None:
        raise InputError(f"{path}: no face found in the photo (the renderer needs one clearly visible face)")
    lms, transform = found
    yaw0, pitch0, roll0 = head_pose_from_matrix(transform)
    w, h = size
    oval = list(mesh.face_oval())
    oval_xy = lms[oval, :2]
    face_w_photo = float(oval_xy[:, 0].max() - oval_xy[:, 0].min())
    scale = FACE_WIDTH_FRACTION * w / face_w_photo
    centre_photo = oval_xy.mean(axis=0)
    tx = FACE_CENTRE[0] * w - scale * centre_photo[0]
    ty = FACE_CENTRE[1] * h - scale * centre_photo[1]
    affine = np.array([[scale, 0.0, tx], [0.0, scale, ty]])
    interp = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_CUBIC
    canvas = cv2.warpAffine(image, affine, (w, h), flags=interp, borderMode=cv2.BORDER_REPLICATE)
    pts = lms.copy()
    pts[:, :2] = pts[:, :2] * scale + [tx, ty]
    pts[:, 2] *= scale
    face_w = face_w_photo * scale

    # Camera-like coordinates: x right, y up, z towards the camera (MediaPipe's z grows away).
    cam = np.stack([pts[:, 0], -pts[:, 1], -pts[:, 2] * DEPTH_GAIN], axis=1)
    oval_cam = cam[oval]
    side = cam[[234, 454]].mean(axis=0)  # the sides of the face at the ears' height
    pivot = np.array([oval_cam[:, 0].mean(), side[1], oval_cam[:, 2].mean() - PIVOT_DEPTH_FACE_WIDTHS * face_w])
    # The photo's own pose is not undone here: the pose MediaPipe reads from a photo depends on
    # where the face sits in that photo (perspective); calibrate_pose measures the framed render.
    local_face = cam - pivot

    # Rings: scaled copies of the face oval about its centre (in the canvas).
    centre = pts[oval, :2].mean(axis=0)
    ring1_xy = centre + (pts[oval, :2] - centre) * RING1_SCALE
    ring2_xy = centre + (pts[oval, :2] - centre) * RING2_SCALE
    ring1_cam = np.stack([ring1_xy[:, 0], -ring1_xy[:, 1], oval_cam[:, 2] - 0.25 * face_w], axis=1)
    ring1_local = ring1_cam - pivot
    border_xy = _border_points(w, h, 6)
    n = pts.shape[0]
    n1, n2, nb = len(oval), len(oval), len(border_xy)
    points_src = np.concatenate([pts[:, :2], ring1_xy, ring2_xy, border_xy]).astype(np.float32)
    # Ring 2 and the border do not turn with the head: their "local" coordinates are unused.
    fixed = np.zeros((n2 + nb, 3))
    local = np.concatenate([local_face, ring1_local, fixed])
    ring1 = np.arange(n, n + n1)
    ring2 = np.arange(n + n1, n + n1 + n2)
    border = np.arange(n + n1 + n2, n + n1 + n2 + nb)

    face_tris = mesh.face_triangles()
    background_tris = _background_triangles(points_src, np.array(oval), ring1, ring2, border)
    empty_seat = _empty_seat(canvas, ring2_xy)
    return FaceRig(
        photo_path=path,
        size=(w, h),
        canvas=canvas,
        empty_seat=empty_seat,
        points_src=points_src,
        local=local,
        pivot=pivot,
        n_face=n,
        ring1=ring1,
        ring2=ring2,
        border=border,
        face_tris=face_tris,
        background_tris=background_tris,
        face_width_px=face_w,
        photo_pose_deg=(yaw0, pitch0, roll0),
    )


def _border_points(w: int, h: int, per_side: int) -> np.ndarray:
    xs = np.linspace(0, w - 1, per_side)
    ys = np.linspace(0, h - 1, per_side)
    top = np.stack([xs, np.zeros_like(xs)], 1)
    bottom = np.stack([xs, np.full_like(xs, h - 1)], 1)
    left = np.stack([np.zeros_like(ys[1:-1]), ys[1:-1]], 1)
    right = np.stack([np.full_like(ys[1:-1], w - 1), ys[1:-1]], 1)
    # Slightly outside the image so every pixel lies inside some triangle.
    pts = np.concatenate([top, bottom, left, right])
    c = np.array([(w - 1) / 2.0, (h - 1) / 2.0])
    return c + (pts - c) * 1.02


def _background_triangles(points: np.ndarray, oval: np.ndarray, ring1: np.ndarray, ring2: np.ndarray, border: np.ndarray) -> np.ndarray:
    """Delaunay triangles of oval + rings + border that lie outside the face oval."""
    from scipy.spatial import Delaunay

    idx = np.concatenate([oval, ring1, ring2, border])
    tri = Delaunay(points[idx].astype(np.float64))
    simplices = idx[tri.simplices]
    oval_poly = points[oval].astype(np.float32).reshape(-1, 1, 2)
    keep = []
    for s in simplices:
        cx, cy = points[s].mean(axis=0)
        if cv2.pointPolygonTest(oval_poly, (float(cx), float(cy)), False) < 0:
            keep.append(s)
    return np.asarray(keep, dtype=np.int32)


def _empty_seat(canvas: np.ndarray, ring_xy: np.ndarray) -> np.ndarray:
    """The scene without the driver: the head (inside the outer ring) and the body below it
    are filled from the background around them by inpainting at 1/8 scale, then blurred so
    no face- or body-like structure is left."""
    h, w = canvas.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    hull = cv2.convexHull(ring_xy.astype(np.float32)).astype(np.int32)
    cv2.fillConvexPoly(mask, hull, 255)
    x0, y0, bw, bh = cv2.boundingRect(hull)
    cx = x0 + bw / 2.0
    # The torso: from the middle of the head down to the bottom, a little wider than it.
    cv2.rectangle(mask, (int(cx - 0.75 * bw), int(y0 + bh / 2)), (int(cx + 0.75 * bw), h - 1), 255, -1)
    mask = cv2.dilate(mask, np.ones((9, 9), np.uint8))
    sw, sh = max(w // 8, 8), max(h // 8, 8)
    small = cv2.resize(canvas, (sw, sh), interpolation=cv2.INTER_AREA)
    small_mask = cv2.resize(mask, (sw, sh), interpolation=cv2.INTER_NEAREST)
    filled = cv2.inpaint(small, small_mask, 3, cv2.INPAINT_TELEA)
    filled = cv2.GaussianBlur(cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR), (0, 0), max(2.0, w / 160))
    soft = cv2.GaussianBlur(mask, (0, 0), max(2.0, w / 100)).astype(np.float32)[..., None] / 255.0
    return (canvas * (1 - soft) + filled * soft).astype(np.uint8)


def iris_radius_px(points: np.ndarray, iris: tuple[int, ...]) -> float:
    c = points[iris[0], :2]
    return float(np.mean([math.dist(c, points[i, :2]) for i in iris[1:]]))
