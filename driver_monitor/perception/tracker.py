"""Face trackers: the interface every backend implements, the MediaPipe backend, and
`create_tracker`, which builds the configured backend (perception.backend).

The tracker is an I/O adapter (it owns a native model); everything after it is pure.
The LiteRT and onnxruntime backends live in perception/backends/ (docs/backends.md).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
from collections.abc import Iterator
from typing import Protocol

import numpy as np

from driver_monitor.config.perception import DriverSeat, PerceptionConfig, TrackerBackend
from driver_monitor.errors import ModelError, one_line
from driver_monitor.messages import FaceObservation, Frame
from driver_monitor.perception.model import resolve_model_path

log = logging.getLogger(__name__)


class FaceTracker(Protocol):
    """Finds the driver's face in a frame. Frames must come in increasing time order."""

    def track(self, frame: Frame) -> FaceObservation | None: ...

    def close(self) -> None: ...


def is_face(points: np.ndarray) -> bool:
    """Landmarks that can be a face: every point finite and not all on one pixel row or
    column. A landmark model's output that is no face would end in a singular pose solve or
    NaN features downstream: such a frame is a frame without a face, not a dead tracker."""
    return bool(np.isfinite(points).all()) and np.ptp(points[:, 0]) >= 1.0 and np.ptp(points[:, 1]) >= 1.0


Box = tuple[float, float, float, float]

# Keeping the driver among several faces: the face that continues the last frame's driver
# (its landmark box overlapping that one's by more than CONTINUING_IOU: a face moves a few
# pixels between frames) keeps the driver's seat until another face beats it clearly, by
# SWITCH_AREA_RATIO in box area with `largest` (the face ~22 % wider), or by
# SWITCH_SIDE_SHARE of the picture's width towards the driver's side. Without it two faces
# of about the same size swapped on noise alone: two real portraits ~3 % apart in landmark
# box area, the larger jittered by +-2 % in scale, swapped 25 times in 60 frames in MediaPipe
# (tests/test_tracker.py::test_two_faces_of_about_one_size_do_not_swap_the_driver).
CONTINUING_IOU = 0.3
SWITCH_AREA_RATIO = 1.5
SWITCH_SIDE_SHARE = 0.1
# Faces whose centres are within this share of the width of each other are on the same side.
SAME_SIDE_SHARE = 0.1


def pick_driver(boxes: list[Box], seat: DriverSeat, image_width: int, previous: Box | None = None) -> int:
    """Index of the driver's face among several boxes (x0, y0, x1, y1) in pixels.

    largest: the biggest box (the driver sits closest to a driver-facing camera).
    left / right: the driver's seat side. An unmirrored camera facing the driver sees the
    cabin's left on the image's right, so a left-seated driver is the face furthest right;
    the box area breaks near ties (faces within 10 % of the width of each other).
    previous: the last frame's driver box; the face continuing it is kept unless another
    beats it clearly (SWITCH_AREA_RATIO, SWITCH_SIDE_SHARE).
    """
    if len(boxes) == 1:
        return 0
    areas = np.array([(x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in boxes], dtype=np.float64)
    keep = continuing_face(boxes, previous)
    if keep is not None:
        areas[keep] *= SWITCH_AREA_RATIO
    if seat is DriverSeat.largest:
        return int(np.argmax(areas))
    centres = np.array([(x0 + x1) / 2.0 for x0, _, x1, _ in boxes])
    side = centres if seat is DriverSeat.left else -centres
    if keep is not None:
        side[keep] += SWITCH_SIDE_SHARE * image_width
    best = float(side.max())
    near = [i for i, s in enumerate(side) if best - s <= SAME_SIDE_SHARE * image_width]
    return max(near, key=lambda i: areas[i])


def continuing_face(boxes: list[Box], previous: Box | None) -> int | None:
    """The index of the box that continues `previous` (the most overlap, IoU above
    CONTINUING_IOU), None when none does or there is no previous box."""
    if previous is None:
        return None
    overlaps = [box_iou(box, previous) for box in boxes]
    best = int(np.argmax(overlaps))
    return best if overlaps[best] > CONTINUING_IOU else None


def box_iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def landmark_box(points: np.ndarray) -> Box:
    """(x0, y0, x1, y1) of landmarks in pixels: what the driver is chosen by in every backend."""
    return (float(points[:, 0].min()), float(points[:, 1].min()), float(points[:, 0].max()), float(points[:, 1].max()))


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence what MediaPipe's C++ side writes straight to file descriptor 2 while the graph
    starts and runs its first frame (glog/absl banners, XNNPACK and feedback-manager notes:
    a dozen lines of noise in every journal). Python exceptions are unaffected."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def create_face_landmarker(config: PerceptionConfig):  # -> mediapipe FaceLandmarker
    """A MediaPipe FaceLandmarker in VIDEO mode with blendshapes and the transformation
    matrix on, from the config's model and confidences; ModelError (one line) when the model
    is missing, corrupt or cannot be loaded. Also used bare by benchmarks/bench_replay.py."""
    model_path = resolve_model_path(config.model_path, expected_sha256=None)
    if config.model_path is not None:  # a user's bundle: its models' shapes, before MediaPipe runs them
        from driver_monitor.perception.backends.bundle import open_bundle
        from driver_monitor.perception.backends.model_tracker import check_bundle

        check_bundle(open_bundle(model_path))
    # Quieten the native glog/absl chatter on stderr before the graph starts.
    os.environ.setdefault("GLOG_minloglevel", "2")
    try:
        from mediapipe.tasks.python import BaseOptions, vision
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ModelError(f"mediapipe is not importable ({exc}); reinstall driver-monitor") from None
    options = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model_path)),
        running_mode=vision.RunningMode.VIDEO,
        num_faces=config.max_faces,
        min_face_detection_confidence=config.min_face_detection_confidence,
        min_face_presence_confidence=config.min_face_presence_confidence,
        min_tracking_confidence=config.min_tracking_confidence,
        output_face_blendshapes=True,
        output_facial_transformation_matrixes=True,
    )
    try:
        with quiet_native_stderr():
            return vision.FaceLandmarker.create_from_options(options)
    except Exception as exc:  # MediaPipe raises RuntimeError/ValueError with long text
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise ModelError(f"face model {model_path}: cannot be loaded ({first})") from None


class MediaPipeFaceTracker:
    """MediaPipe FaceLandmarker in VIDEO mode with blendshapes and the transformation matrix.

    VIDEO mode (not LIVE_STREAM, which silently drops frames; REFERENCE.md) needs strictly
    increasing integer-millisecond timestamps: a frame whose time would not increase (or is
    not finite) is given the previous time + 1 ms, and counted in `retimed_frames`. A graph
    that failed is started again (`restarts`).
    """

    def __init__(self, config: PerceptionConfig):
        self._config = config
        self._landmarker = create_face_landmarker(config)
        import mediapipe as mp

        self._mp_image = mp.Image
        self._srgb = mp.ImageFormat.SRGB
        self._seat = config.driver_seat
        self._last_ms: int | None = None
        self.retimed_frames = 0
        self.restarts = 0  # graphs started again after a failure
        self._driver_box: Box | None = None  # the last frame's driver (pick_driver's `previous`)

    def _timestamp_ms(self, t: float) -> int:
        ms = int(round(t * 1000.0)) if math.isfinite(t) else None
        if ms is None or (self._last_ms is not None and ms <= self._last_ms):
            ms = self._last_ms + 1 if self._last_ms is not None else 0
            self.retimed_frames += 1
        self._last_ms = ms
        return ms

    def track(self, frame: Frame) -> FaceObservation | None:
        image = frame.image
        if image.size == 0:  # no pixels, no face (MediaPipe's graph would fail on it)
            self._driver_box = None
            return None
        if not image.flags["C_CONTIGUOUS"]:
            image = np.ascontiguousarray(image)
        mp_image = self._mp_image(image_format=self._srgb, data=image)
        try:
            result = self._detect(mp_image, frame.t)
        except (RuntimeError, ValueError) as exc:
            # A graph that failed once fails every later frame ("Graph has errors"): a dead
            # tracker in a live daemon. Start a new one and give it this frame; what fails
            # on a fresh graph too is this frame's, raised.
            log.warning("MediaPipe face landmarker failed (%s): restarting it", one_line(exc),
                        extra={"rate_key": "mediapipe-restart"})
            self._restart()
            result = self._detect(mp_image, frame.t)
        if not result.face_landmarks:
            self._driver_box = None
            return None
        h, w = image.shape[:2]
        faces = [
            np.array([(p.x * w, p.y * h, p.z * w) for p in lms], dtype=np.float32)
            for lms in result.face_landmarks
        ]
        kept = [i for i, f in enumerate(faces)
                if is_face(f) and np.isfinite(np.asarray(result.facial_transformation_matrixes[i])).all()]
        if not kept:
            self._driver_box = None
            return None
        faces = [faces[i] for i in kept]
        blendshape_lists = [result.face_blendshapes[i] for i in kept]
        matrices = [result.facial_transformation_matrixes[i] for i in kept]
        boxes = [landmark_box(f) for f in faces]
        i = pick_driver(boxes, self._seat, w, self._driver_box)
        self._driver_box = boxes[i]
        blendshapes = {c.category_name: float(c.score) for c in blendshape_lists[i]}
        transform = np.asarray(matrices[i], dtype=np.float64)
        return FaceObservation(frame.t, faces[i], blendshapes, transform, boxes[i], (w, h))

    def _detect(self, mp_image, t: float):  # -> FaceLandmarkerResult
        if self._last_ms is None:  # the first inference prints the rest of the start-up notes
            with quiet_native_stderr():
                return self._landmarker.detect_for_video(mp_image, self._timestamp_ms(t))
        return self._landmarker.detect_for_video(mp_image, self._timestamp_ms(t))

    def _restart(self) -> None:
        landmarker, self._landmarker = self._landmarker, None
        try:
            landmarker.close()
        except Exception:  # noqa: BLE001 - closing a failed graph raises its error again
            # ...and a second close, the one its __del__ makes when it is collected, blocks for
            # ever in MediaPipe 1.2.3 (a test hung there): mark it closed, leaving its native
            # graph unfreed (a restart is rare).
            with contextlib.suppress(Exception):
                landmarker._handle = None
        self._landmarker = create_face_landmarker(self._config)
        self._last_ms = None
        self._driver_box = None
        self.restarts += 1

    def close(self) -> None:
        landmarker, self._landmarker = getattr(self, "_landmarker", None), None
        if landmarker is not None:
            landmarker.close()

    def __enter__(self) -> MediaPipeFaceTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # MediaPipe's own __del__ fails at interpreter exit
        with contextlib.suppress(Exception):
            self.close()


def usable_backend(config: PerceptionConfig) -> PerceptionConfig:
    """`config` naming the backend create_tracker will run on this machine: a model backend
    that cannot be built here is mediapipe (with create_tracker's warning line). For what
    must name the runtime that made the features (an extraction's key), not the one asked for."""
    if config.backend is TrackerBackend.mediapipe:
        return config
    from driver_monitor.perception.backends.factory import create_model_tracker

    try:
        create_model_tracker(config).close()
    except ModelError as exc:
        log.warning("perception.backend %s unavailable, using mediapipe: %s", config.backend.value, exc)
        return config.model_copy(update={"backend": TrackerBackend.mediapipe})
    return config


def create_tracker(config: PerceptionConfig, staged: bool = False) -> FaceTracker:
    """The tracker `config.backend` names. A LiteRT / onnxruntime backend that cannot be
    built (its runtime missing, a vendored ONNX file corrupt, an execution provider this
    machine lacks) logs one warning line and falls back to MediaPipe: a car must not lose
    its monitoring over a speed-up. A missing or corrupt bundle fails MediaPipe too: that
    ModelError (one line naming the file) reaches the caller (the daemon then runs the
    packaged model: service.py Daemon._open_tracker).

    staged: for replay's staged threads (perception/staged_tracking.py), which keep every
    core busy already: each model then runs on one thread, whatever landmark_threads says
    for the live loop's one frame at a time."""
    if config.backend is TrackerBackend.mediapipe:
        return MediaPipeFaceTracker(config)
    if staged:
        config = config.model_copy(update={"landmark_threads": 1})
    from driver_monitor.perception.backends.factory import create_model_tracker

    try:
        return create_model_tracker(config)
    except ModelError as exc:
        log.warning("perception.backend %s unavailable, using mediapipe: %s", config.backend.value, exc)
        return MediaPipeFaceTracker(config)
