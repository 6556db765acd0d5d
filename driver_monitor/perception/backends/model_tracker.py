"""The FaceTracker that runs the bundle's models itself (LiteRT or onnxruntime).

Per frame, as MediaPipe's FaceLandmarkerGraph does in VIDEO mode, minus its graph:

    detector (128x128)   only when no face is tracked, and every `redetect_interval_s`
                         while one is (a new, better-placed driver; a drifted crop)
    crop                 the previous frame's landmarks -> rotated square (roi.py)
    landmarks (256x256)  478 points + face presence; below min_face_presence_confidence
                         the track is lost and the detector runs on the same frame
    blendshapes          52 scores from 146 of the points in image pixels
    matrix               Procrustes fit of the canonical face (face_geometry.py)

and returns the same FaceObservation as the MediaPipe backend.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from driver_monitor.config.perception import DetectorSchedule, PerceptionConfig, TrackerBackend
from driver_monitor.errors import ModelError
from driver_monitor.messages import FaceObservation, Frame
from driver_monitor.perception.backends import detection
from driver_monitor.perception.backends.bundle import FaceModelBundle, open_bundle
from driver_monitor.perception.backends.face_geometry import FaceGeometrySolver, parse_metadata
from driver_monitor.perception.backends.roi import (
    CropFraming,
    Roi,
    letterbox_roi,
    project_to_image,
    roi_from_detection,
    roi_from_landmarks,
    warp,
)
from driver_monitor.perception.backends.runtime import ModelRunner, check_model
from driver_monitor.perception.tracker import Box, is_face, landmark_box, pick_driver

LANDMARKS_INPUT = 256
NUM_LANDMARKS = 478
# FaceBlendshapesGraph (face_blendshapes_graph.cc, kLandmarksSubsetIdxs): the 146 landmarks
# the blendshape model reads, as (x, y) in image pixels.
BLENDSHAPE_LANDMARKS = np.array([
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63,
    65, 66, 67, 70, 78, 80, 81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133,
    136, 144, 145, 146, 148, 149, 150, 152, 153, 154, 155, 157, 158, 159, 160, 161, 162, 163,
    168, 172, 173, 176, 178, 181, 185, 191, 195, 197, 234, 246, 249, 251, 263, 267, 269, 270,
    276, 282, 283, 284, 285, 288, 291, 293, 295, 296, 297, 300, 308, 310, 311, 312, 314, 317,
    318, 321, 323, 324, 332, 334, 336, 338, 356, 361, 362, 365, 373, 374, 375, 377, 378, 379,
    380, 381, 382, 384, 385, 386, 387, 388, 389, 390, 397, 398, 400, 402, 405, 409, 415, 454,
    466, 468, 469, 470, 471, 472, 473, 474, 475, 476, 477,
])  # fmt: skip
BLENDSHAPE_NAMES = (
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft",
    "browOuterUpRight", "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft",
    "eyeBlinkRight", "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight",
    "eyeLookOutLeft", "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft",
    "eyeSquintRight", "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen",
    "jawRight", "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft",
    "mouthFrownRight", "mouthFunnel", "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthRight", "mouthRollLower",
    "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight",
    "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "noseSneerLeft", "noseSneerRight",
)  # fmt: skip

# How fast the crop framing follows the detector (CropFraming): the weight of each new
# measurement, and of the first one after the face was (re)acquired.
FRAMING_WEIGHT = 0.3
FIRST_FRAMING_WEIGHT = 0.5
# The second look (`_second_look`): the detector's square around a face's crop, in widths
# of that crop (~1.5x the face): the face fills ~1/3 of the detector's input there, the
# scale its anchors were made for, whatever the share of the whole picture.
SECOND_LOOK_SIDE = 2.0
# The tile search (`_tile_search`): square tiles of this share of the picture's longer side
# (faces twice their whole-picture size to the detector), overlapping by at least a quarter
# of a tile so that a face on a seam is whole in one; a face found in two tiles is one face.
TILE_SIDE = 0.5
TILE_MIN_OVERLAP = 0.25
TILE_DUPLICATE_IOU = 0.3
@dataclass(frozen=True, slots=True)
class LocatedFace:
    """Stage 1's result: the driver's landmarks in image pixels at t."""

    t: float
    landmarks_px: np.ndarray
    image_size: tuple[int, int]


RunnerFactory = Callable[[bytes, str, int], ModelRunner]


class ModelFaceTracker:
    """FaceTracker on the bundle's models through `runner_factory(model, name, threads)`.

    Three stages, which perception/staged_tracking.py runs in three threads in replay:
    `detect` (stateless: the detector on this frame's image, when the schedule wants it on
    every frame), `locate` (sequential: pick the crop, landmark model, next crop) and
    `observe` (stateless: blendshapes, matrix). `track` runs them in turn.

    Frames need not have increasing times (there is no graph clock); a time that goes
    backwards simply triggers the periodic detector re-check.
    """

    def __init__(self, config: PerceptionConfig, runner_factory: RunnerFactory, bundle: FaceModelBundle | None = None,
                 models: tuple[bytes, bytes, bytes] | None = None, backend: TrackerBackend | None = None):
        bundle = bundle if bundle is not None else open_bundle(config.model_path)
        detector_model, landmarks_model, blendshapes_model = (
            models if models is not None else (bundle.face_detector, bundle.face_landmarks, bundle.face_blendshapes)
        )
        self.backend = backend if backend is not None else config.backend
        self._detector = runner_factory(detector_model, f"{bundle.path}: face_detector", 1)
        # The second look runs in `locate`, which staged replay runs in another thread than
        # `detect`: an interpreter of its own (one runner is not safe from two threads).
        self._second_look_detector = (
            runner_factory(detector_model, f"{bundle.path}: face_detector", 1) if config.second_look else None
        )
        self._landmarks = runner_factory(landmarks_model, f"{bundle.path}: face_landmarks_detector", config.landmark_threads)
        self._blendshapes = runner_factory(blendshapes_model, f"{bundle.path}: face_blendshapes", 1)
        check_models(self._detector, self._landmarks, self._blendshapes)
        self._geometry = FaceGeometrySolver(parse_metadata(bundle.geometry_metadata, f"{bundle.path}: geometry metadata"))
        self._anchors = detection.ssd_anchors()
        self._config = config
        # MediaPipe's gate (face_landmarker_graph.cc): the detector runs while fewer faces
        # than max_faces are tracked. This tracker follows one face, the driver, so with
        # max_faces > 1 that is every frame.
        self.detects_every_frame = (
            config.detector_schedule is DetectorSchedule.mediapipe and config.max_faces > 1
        )
        self._roi: Roi | None = None
        self._driver_box: Box | None = None  # the last frame's driver (pick_driver's `previous`)
        self._last_detection_t: float | None = None
        self._framing = CropFraming()
        # Counters for benchmarks and tests: how often each model ran.
        self.detector_runs = 0
        self.landmark_runs = 0
        self.second_looks = 0
        self.tile_searches = 0
        self._last_tile_search_t: float | None = None

    # -- the FaceTracker interface -------------------------------------------------------

    def track(self, frame: Frame) -> FaceObservation | None:
        return self.observe(self.locate(frame, self.detect(frame)))

    # -- the stages ------------------------------------------------------------------------

    def detect(self, frame: Frame) -> list[Roi] | None:
        """Stage 0, stateless: the detected faces' crops when the schedule runs the detector
        on every frame, None when `locate` decides (tracked schedule, or max_faces 1). Each
        crop comes with its landmark-model input already warped (Roi.pixels), so stage 1,
        the sequential one, only runs the model."""
        if not self.detects_every_frame or frame.image.size == 0:
            return None
        return [replace(roi, pixels=warp(frame.image, roi, LANDMARKS_INPUT)) for roi in self._detections(frame.image)]

    def locate(self, frame: Frame, detections: list[Roi] | None = None) -> LocatedFace | None:
        """Stage 1, the sequential part: choose the crop (tracked, or a detection), run the
        landmark model, and move the crop for the next frame."""
        image = frame.image
        if image.size == 0:  # no pixels, no face
            self._roi = self._driver_box = None
            return None
        tracked = self._roi
        tracking = tracked is not None
        if detections is None and (self._roi is None or self._recheck_due(frame.t)):
            detections = self._detections(image)  # lost, or the tracked schedule's re-check
        candidates: list[Roi] = []
        if detections is not None:
            candidates = self._candidates(detections, frame.t, image.shape[1])
            crop, points = self._driver_face(image, candidates)
        else:
            crop, points = self._roi, self._landmarks_in(image, self._roi)
            if points is None:  # lost the track: look for the face again now
                tracking = False
                self._roi = None
                candidates = self._candidates(self._detections(image), frame.t, image.shape[1])
                crop, points = self._driver_face(image, candidates)
        if (points is None or crop is None) and self._config.second_look:
            crop, points = self._first_face(image, self._second_look(image, tracked, candidates))
            if points is None and tracked is None and not candidates and self._tile_search_due(frame.t):
                # No face followed and no box in the whole picture: look in tiles.
                crop, points = self._first_face(image, self._second_look(image, None, self._tile_search(image, frame.t)))
        if points is None or crop is None:
            self._roi = self._driver_box = None
            return None
        self._driver_box = landmark_box(points)
        square = roi_from_landmarks(points)
        if crop.source == "detection":  # how the detector frames this face
            measured = CropFraming.measure(crop, square)
            self._framing = self._framing.blend(measured, FRAMING_WEIGHT if tracking else FIRST_FRAMING_WEIGHT)
        self._roi = self._framing.apply(square) if self._config.detector_schedule is DetectorSchedule.tracked else square
        h, w = image.shape[:2]
        return LocatedFace(frame.t, points, (w, h))

    def observe(self, located: LocatedFace | None) -> FaceObservation | None:
        """Stage 2, stateless: blendshapes and the transformation matrix of located landmarks
        (may run in another thread, one frame behind stage 1)."""
        if located is None:
            return None
        points = located.landmarks_px
        w, h = located.image_size
        if not is_face(points):
            return None
        blendshapes = self._blendshape_scores(points, w, h)
        transform = self._geometry.transform(points, w, h)
        box = (float(points[:, 0].min()), float(points[:, 1].min()), float(points[:, 0].max()), float(points[:, 1].max()))
        return FaceObservation(located.t, points, blendshapes, transform, box, (w, h))

    def close(self) -> None:
        self._detector = self._landmarks = self._blendshapes = None  # type: ignore[assignment]
        self._second_look_detector = None

    def __enter__(self) -> ModelFaceTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- steps ---------------------------------------------------------------------------

    def _recheck_due(self, t: float) -> bool:
        """The tracked schedule's periodic re-check (MediaPipe's rule with max_faces 1 has none)."""
        if self._config.detector_schedule is not DetectorSchedule.tracked:
            return False
        last = self._last_detection_t
        return last is None or t < last or t - last >= self._config.redetect_interval_s

    def _detections(self, image: np.ndarray, square: Roi | None = None, min_score: float | None = None) -> list[Roi]:
        """The landmark crops of the faces the detector finds (at most max_faces) in the whole
        picture, or in `square` (a second look, a tile), at its detection threshold or
        `min_score`."""
        self.detector_runs += 1
        h, w = image.shape[:2]
        letterbox = letterbox_roi(w, h) if square is None else square
        crop = warp(image, letterbox, detection.INPUT_SIZE, border_zero=True)
        runner = self._detector if square is None else self._second_look_detector
        # The detector takes [-1, 1] (FaceDetectorGraph's tensor range).
        regressors, scores = _detector_outputs(runner.run_image(crop, 2.0 / 255.0, -1.0))
        threshold = self._config.min_face_detection_confidence if min_score is None else min_score
        boxes, keypoints, probs = detection.decode(regressors, scores, self._anchors, threshold)
        faces = detection.weighted_nms(boxes, keypoints, probs)[: self._config.max_faces]
        # Detector input [0, 1] -> image pixels (the letterbox square's corners).
        to_image = letterbox.crop_to_image(1)
        crops = []
        for box, kps, _ in faces:
            corners = np.array([[box[0], box[1]], [box[2], box[3]]]) @ to_image[:, :2].T + to_image[:, 2]
            crops.append(roi_from_detection(corners.ravel(), kps @ to_image[:, :2].T + to_image[:, 2]))
        return crops

    def _second_look(self, image: np.ndarray, lost: Roi | None, rejected: list[Roi]) -> list[Roi]:
        """Crops to try when the landmark model found no face in any crop the detector placed
        in the whole picture: the detector again, on the square SECOND_LOOK_SIDE times a crop's
        width around it, where the face fills ~1/3 of its input. Around the face followed until
        the last frame (`lost`), whatever it finds there nearest that face's centre; with no
        face followed, around each crop the landmark model rejected (`rejected`), only what the
        detector is sure of there (`second_look_new_face_min_score`). The landmark model then
        confirms or rejects each crop as any other.

        Why: the detector sees the whole picture in 128x128, so a face under ~15 % of the
        picture's width is ~20 px to it, near its smallest anchors; it still finds the face
        but boxes it loosely (1.1-1.2x too big and off centre), and the landmark model rejects
        that crop. Measured on car_eyes_closed_woman (night, glasses, eyes shut) in a picture
        1.5x / 2x wider and higher than the clip: face found on 62 % / 13 % of the frames,
        100 % / 100 % with the second look (desk_yawn at 2x: 48 -> 97 %); as filmed, 96.3 ->
        100 % (13 frames of the closure). A new face needs the detector's confidence in the
        zoomed square: there the woman's face scores 0.73-0.92 (median 0.77 in monochrome),
        while the back of car_look_around_man's head, turned over his shoulder, scores 0.31-0.61
        at every scale (1x-3x) and was taken for a face on 5 frames at the detection threshold."""
        if lost is not None:
            found = self._detections(image, _around(lost))
            self.second_looks += 1
            return sorted(found, key=lambda roi: math.hypot(roi.cx - lost.cx, roi.cy - lost.cy))[:1]
        sure = self._config.second_look_new_face_min_score
        self.second_looks += len(rejected)
        return [face for crop in rejected for face in self._detections(image, _around(crop), min_score=sure)[:1]]

    def _tile_search(self, image: np.ndarray, t: float) -> list[Roi]:
        """The crops of the faces the detector finds in overlapping square tiles half the
        picture's longer side (`_tiles`), each face once, in the driver's order: a face too
        small for the whole-picture pass to box at all is twice as large to the detector in a
        tile. Run when no face is followed and the whole-picture pass found no box, at most
        every `tile_search_interval_s`; the caller takes a face only from a second look
        around what the tiles found (the zoomed detector sure of it, the landmark model
        confirming). Measured: desk_yawn in a monochrome view twice as wide as the clip (face
        10 % of the width) has no box in the whole picture on any frame; in the two tiles
        over it the detector scores it 0.69-0.82, in the second look around that 0.7-0.9."""
        self._last_tile_search_t = t
        self.tile_searches += 1
        found: list[Roi] = []
        for tile in _tiles(image.shape[1], image.shape[0], TILE_SIDE):
            for roi in self._detections(image, tile):
                if all(_iou(roi.box(), kept.box()) <= TILE_DUPLICATE_IOU for kept in found):
                    found.append(roi)
        ordered = []
        while found:
            ordered.append(found.pop(pick_driver([roi.box() for roi in found], self._config.driver_seat, image.shape[1])))
        return ordered

    def _tile_search_due(self, t: float) -> bool:
        interval = self._config.tile_search_interval_s
        last = self._last_tile_search_t
        return interval is not None and (last is None or t < last or t - last >= interval)

    def _candidates(self, detections: list[Roi], t: float, image_width: int) -> list[Roi]:
        """The crops to try after a detector run, the driver's first (driver_seat).

        MediaPipe's association (AssociationNormRectCalculator, association_calculator.h):
        starting from the tracked crop, each detection in score order removes every crop
        already listed that it overlaps by IoU > min_tracking_confidence and joins the list;
        the first max_faces crops are kept. So a detection replaces the tracked crop of its
        face, and the tracked crop stays when the detector missed that face.
        """
        self._last_detection_t = t
        listed = [self._roi] if self._roi is not None else []
        for roi in detections:
            listed = [kept for kept in listed if _iou(kept.box(), roi.box()) <= self._config.min_tracking_confidence]
            listed.append(roi)
        listed = listed[: self._config.max_faces]
        ordered = []
        while listed:
            ordered.append(listed.pop(pick_driver([roi.box() for roi in listed], self._config.driver_seat, image_width)))
        return ordered

    def _driver_face(self, image: np.ndarray, candidates: list[Roi]) -> tuple[Roi | None, np.ndarray | None]:
        """The driver among the candidates the landmark model confirms as faces, chosen as the
        MediaPipe tracker chooses: MediaPipe runs the landmark model on every candidate, and
        MediaPipeFaceTracker picks among the faces by their landmark boxes (pick_driver, the
        last frame's driver kept). The detector's boxes cannot stand in for those: they grow
        little with the face (two real portraits: landmark boxes 134 -> 172 px wide, detector
        boxes 280 -> 291 px), so the smaller face was often taken. One candidate: one run."""
        if len(candidates) <= 1:
            return self._first_face(image, candidates)
        faces = [(crop, points) for crop in candidates
                 if (points := self._landmarks_in(image, crop)) is not None and is_face(points)]
        if not faces:
            return None, None
        driver = pick_driver([landmark_box(points) for _, points in faces], self._config.driver_seat, image.shape[1],
                             self._driver_box)
        return faces[driver]

    def _first_face(self, image: np.ndarray, candidates: list[Roi]) -> tuple[Roi | None, np.ndarray | None]:
        """The first candidate the landmark model confirms as a face. MediaPipe runs the
        landmark model on every candidate and drops those below min_face_presence_confidence
        (a headrest the detector took for a face); trying them in the driver's order gives
        the same face with, usually, one run."""
        for crop in candidates:
            points = self._landmarks_in(image, crop)
            if points is not None:
                return crop, points
        return None, None

    def _landmarks_in(self, image: np.ndarray, roi: Roi) -> np.ndarray | None:
        """(478, 3) landmarks in image pixels, or None when the model says no face is there."""
        self.landmark_runs += 1
        crop = roi.pixels if roi.pixels is not None else warp(image, roi, LANDMARKS_INPUT)
        outputs = self._landmarks.run_image(crop, 1.0 / 255.0, 0.0)  # the model takes [0, 1]
        raw_points, presence_logit = _landmark_outputs(outputs)
        presence = 1.0 / (1.0 + math.exp(-max(-100.0, min(100.0, presence_logit))))
        if presence < self._config.min_face_presence_confidence:
            return None
        h, w = image.shape[:2]
        return project_to_image(raw_points, roi, LANDMARKS_INPUT, w, h)

    def _blendshape_scores(self, points: np.ndarray, width: int, height: int) -> dict[str, float]:
        tensor = np.ascontiguousarray(points[BLENDSHAPE_LANDMARKS, :2], dtype=np.float32)[None]
        scores = np.asarray(self._blendshapes.run(tensor)[0], dtype=np.float64).ravel()
        return dict(zip(BLENDSHAPE_NAMES, scores.tolist(), strict=True))

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


def check_models(detector: ModelRunner, landmarks: ModelRunner, blendshapes: ModelRunner) -> None:
    """ModelError (one line naming the model) unless the three models' tensors are those the
    tracker feeds and reads. A user's bundle (perception.model_path) may hold other models:
    with a detector of another output shape both backends built, then failed on every frame
    with a face (LiteRT a ValueError, MediaPipe a dead graph), and no fallback ran."""
    check_model(detector, (1, detection.INPUT_SIZE, detection.INPUT_SIZE, 3),
                (detection.NUM_ANCHORS * 16, detection.NUM_ANCHORS), ordered=False)
    check_model(landmarks, (1, LANDMARKS_INPUT, LANDMARKS_INPUT, 3), (NUM_LANDMARKS * 3, 1))
    check_model(blendshapes, (1, len(BLENDSHAPE_LANDMARKS), 2), (len(BLENDSHAPE_NAMES),))


def check_bundle(bundle: FaceModelBundle) -> None:
    """`check_models` on a bundle's three tflite models, read by LiteRT (nothing run); no
    check where LiteRT is not installed."""
    from driver_monitor.perception.backends.runtime import LiteRtRunner

    try:
        runners = [LiteRtRunner(model, f"{bundle.path}: {name}") for model, name in (
            (bundle.face_detector, "face_detector"), (bundle.face_landmarks, "face_landmarks_detector"),
            (bundle.face_blendshapes, "face_blendshapes"))]
    except ModelError as exc:
        if "not importable" in str(exc):
            return
        raise
    check_models(*runners)


def _around(crop: Roi) -> Roi:
    """The second look's square: SECOND_LOOK_SIDE times the crop's width, on its centre."""
    side = SECOND_LOOK_SIDE * max(crop.width, crop.height)
    return Roi(crop.cx, crop.cy, side, side, 0.0)


def _tiles(width: int, height: int, share: float) -> list[Roi]:
    """Square tiles of `share` of the longer side covering the picture, evenly spread along
    each side with at least TILE_MIN_OVERLAP of a tile in common between neighbours (a side
    no longer than a tile gets one, centred)."""
    side = share * max(width, height)

    def centres(length: int) -> list[float]:
        if length <= side:
            return [length / 2.0]
        count = math.ceil((length - side) / (side * (1.0 - TILE_MIN_OVERLAP))) + 1
        step = (length - side) / (count - 1)
        return [side / 2.0 + k * step for k in range(count)]

    return [Roi(cx, cy, side, side, 0.0) for cy in centres(height) for cx in centres(width)]


def _detector_outputs(outputs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(896, 16) box regressors and (896,) score logits, told apart by their shapes."""
    by_size = sorted(outputs, key=lambda a: a.size)
    scores, regressors = by_size[0], by_size[-1]
    if scores.size != detection.NUM_ANCHORS or regressors.size != detection.NUM_ANCHORS * 16:
        raise ModelError(f"face detector: unexpected outputs {[a.shape for a in outputs]}")
    return regressors.reshape(detection.NUM_ANCHORS, 16), scores.reshape(detection.NUM_ANCHORS)


def _landmark_outputs(outputs: list[np.ndarray]) -> tuple[np.ndarray, float]:
    """(478, 3) points in crop pixels and the face-presence logit: the model's first two
    outputs (FaceLandmarksDetectorGraph splits its outputs [0, 1) and [1, 2))."""
    points = np.asarray(outputs[0], dtype=np.float32).reshape(NUM_LANDMARKS, 3)
    return points, float(np.asarray(outputs[1]).ravel()[0])


def _iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
