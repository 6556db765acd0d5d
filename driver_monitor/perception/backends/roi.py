"""The rotated square a model looks at, and the affine warps in and out of it.

MediaPipe's conventions (Apache-2.0 sources named per function): a region of interest is a
centre, a size and a rotation; ImageToTensorCalculator's OpenCV converter maps the rect's
corners onto the tensor's corners (pixel index 0 to `size`) with bilinear sampling, and
LandmarkProjectionCalculator maps model outputs back with the same rotation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

# FaceDetectorGraph (face_detector_graph.cc): the detection box is enlarged 1.5x to hold
# the whole face; FaceLandmarksDetectorGraph (face_landmarks_detector_graph.cc): the next
# frame's crop is the landmarks' box made square on its long side, enlarged 1.5x.
DETECTION_ROI_SCALE = 1.5
LANDMARKS_ROI_SCALE = 1.5
# The eye corners whose line the landmark crop keeps horizontal (33 -> 263), and the
# detector keypoints that do the same (0 -> 1, the two eyes).
ROTATION_LANDMARKS = (33, 263)
ROTATION_KEYPOINTS = (0, 1)


@dataclass(frozen=True, slots=True)
class Roi:
    """A rotated rectangle in image pixels; rotation in radians (clockwise on screen)."""

    cx: float
    cy: float
    width: float
    height: float
    rotation: float = 0.0
    source: str = "landmarks"  # "detection" when the face detector placed it
    # The landmark model's input warped from this rect ahead of time (uint8), if it was.
    pixels: np.ndarray | None = field(default=None, compare=False, repr=False)

    def box(self) -> tuple[float, float, float, float]:
        """Axis-aligned bounds of the unrotated rect (AssociationNormRectCalculator's view)."""
        return (self.cx - self.width / 2, self.cy - self.height / 2, self.cx + self.width / 2, self.cy + self.height / 2)

    def crop_to_image(self, size: int) -> np.ndarray:
        """2x3 affine matrix: tensor pixel (u, v) of a size x size crop -> image pixel."""
        c, s = math.cos(self.rotation), math.sin(self.rotation)
        a = np.array([[c, -s], [s, c]]) @ np.diag([self.width / size, self.height / size])
        origin = np.array([self.cx, self.cy]) - a @ np.array([size / 2.0, size / 2.0])
        return np.hstack([a, origin[:, None]])


def normalize_radians(angle: float) -> float:
    return angle - 2.0 * math.pi * math.floor((angle + math.pi) / (2.0 * math.pi))


def _rotation(start: np.ndarray, end: np.ndarray) -> float:
    """DetectionsToRectsCalculator::ComputeRotation with a target angle of 0 (pixels)."""
    return normalize_radians(-math.atan2(-(float(end[1]) - float(start[1])), float(end[0]) - float(start[0])))


def roi_from_detection(box: np.ndarray, keypoints: np.ndarray) -> Roi:
    """The landmark model's crop for a detected face (box x0, y0, x1, y1 and keypoints in
    image pixels): the box centre, the box enlarged 1.5x, turned to level the eyes."""
    x0, y0, x1, y1 = (float(v) for v in box)
    rotation = _rotation(keypoints[ROTATION_KEYPOINTS[0]], keypoints[ROTATION_KEYPOINTS[1]])
    return Roi((x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) * DETECTION_ROI_SCALE, (y1 - y0) * DETECTION_ROI_SCALE, rotation,
               "detection")


def roi_from_landmarks(landmarks_px: np.ndarray) -> Roi:
    """The next frame's crop from this frame's landmarks (pixels): centre of their box,
    its long side enlarged 1.5x as a square, turned to level the eye corners."""
    xs, ys = landmarks_px[:, 0], landmarks_px[:, 1]
    x0, x1, y0, y1 = float(xs.min()), float(xs.max()), float(ys.min()), float(ys.max())
    side = max(x1 - x0, y1 - y0) * LANDMARKS_ROI_SCALE
    rotation = _rotation(landmarks_px[ROTATION_LANDMARKS[0]], landmarks_px[ROTATION_LANDMARKS[1]])
    return Roi((x0 + x1) / 2, (y0 + y1) / 2, side, side, rotation)


@dataclass(frozen=True, slots=True)
class CropFraming:
    """Where the detector would put the crop, relative to the landmarks' own square.

    MediaPipe with max_faces > 1 runs its detector on every frame and takes the landmark
    crop from the detection (AssociationNormRectCalculator keeps the later, detector
    input), so its landmarks come from the detector's framing of the face. Measured on the
    shared clips, that crop is 0.85-0.91 of roi_from_landmarks' square, its centre 2-4 % of
    the width lower, turned a few degrees from the eye-corner line. Tracking with that
    framing instead of the landmarks' own keeps the tracker's landmarks on MediaPipe's
    (docs/backends.md, "Parity"); every detector run measures it for the face in view.
    """

    scale_x: float = 0.88
    scale_y: float = 0.88
    offset_x: float = 0.0  # along the crop's x axis, in landmark-square widths
    offset_y: float = 0.025
    rotation: float = 0.0  # radians added to the eye-corner angle

    def apply(self, square: Roi) -> Roi:
        c, s = math.cos(square.rotation), math.sin(square.rotation)
        dx, dy = self.offset_x * square.width, self.offset_y * square.width
        return Roi(square.cx + c * dx - s * dy, square.cy + s * dx + c * dy, square.width * self.scale_x,
                   square.height * self.scale_y, normalize_radians(square.rotation + self.rotation))

    @staticmethod
    def measure(detected: Roi, square: Roi) -> CropFraming:
        """The framing that turns `square` (from landmarks) into `detected` (same frame)."""
        c, s = math.cos(square.rotation), math.sin(square.rotation)
        dx, dy = detected.cx - square.cx, detected.cy - square.cy
        return CropFraming(detected.width / square.width, detected.height / square.width,
                           (c * dx + s * dy) / square.width, (-s * dx + c * dy) / square.width,
                           normalize_radians(detected.rotation - square.rotation))

    def blend(self, other: CropFraming, weight: float) -> CropFraming:
        """Exponential average: `weight` of `other`, the rest of this one."""
        def mix(a: float, b: float) -> float:
            return a + weight * (b - a)

        return CropFraming(mix(self.scale_x, other.scale_x), mix(self.scale_y, other.scale_y),
                           mix(self.offset_x, other.offset_x), mix(self.offset_y, other.offset_y),
                           normalize_radians(self.rotation + weight * normalize_radians(other.rotation - self.rotation)))


def letterbox_roi(width: int, height: int) -> Roi:
    """The whole image padded to a square (ImageToTensorCalculator with keep_aspect_ratio)."""
    side = float(max(width, height))
    return Roi(width / 2.0, height / 2.0, side, side, 0.0)


def warp(image: np.ndarray, roi: Roi, size: int, border_zero: bool = False) -> np.ndarray:
    """The size x size uint8 crop of `roi`: bilinear, pixels outside the image replicated
    from its edge (the landmark model) or black (the detector's letterbox)."""
    return cv2.warpAffine(
        image,
        roi.crop_to_image(size),
        (size, size),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT if border_zero else cv2.BORDER_REPLICATE,
        borderValue=(0, 0, 0),
    )


def project_to_image(points: np.ndarray, roi: Roi, size: int, image_width: int, image_height: int) -> np.ndarray:
    """(N, 3) model outputs in crop pixels -> (N, 3) image pixels, z in the pixel scale of x.

    z as MediaPipe scales it (LandmarkProjectionCalculator with IMAGE_DIMENSIONS,
    CalculateZScale): by the length of the crop's x axis measured in normalised image units
    (x / W, y / H), then times W here. On a non-square image that length grows with the
    crop's rotation: sqrt(cos^2 + sin^2 * (W / H)^2) times the crop width, 4.6 % more at
    12 degrees of roll in 16:9 (measured against MediaPipe 1.2.3 on selfie_writing)."""
    m = roi.crop_to_image(size)
    out = np.empty_like(points, dtype=np.float32)
    out[:, :2] = points[:, :2] @ m[:, :2].T + m[:, 2]
    c, s = math.cos(roi.rotation), math.sin(roi.rotation)
    z_scale = (roi.width / size) * math.hypot(c, s * image_width / image_height)
    out[:, 2] = points[:, 2] * z_scale
    return out
