"""Config of the face tracker and the video sources."""

from enum import StrEnum
from pathlib import Path

from pydantic import Field

from driver_monitor.config.base import Section


class DriverSeat(StrEnum):
    """How to pick the driver when the camera sees several faces."""

    left = "left"  # driver sits on the left (left-hand-drive car)
    right = "right"
    largest = "largest"


class TrackerBackend(StrEnum):
    """What runs the face models (docs/backends.md)."""

    mediapipe = "mediapipe"  # MediaPipe Tasks FaceLandmarker (its own graph)
    litert = "litert"  # the bundle's tflite models in LiteRT, tracked by perception/backends/
    onnxruntime = "onnxruntime"  # the same models converted to ONNX, on onnxruntime's providers


class DetectorSchedule(StrEnum):
    """When the LiteRT / onnxruntime backends run the face detector."""

    mediapipe = "mediapipe"  # MediaPipe's rule: while fewer than max_faces faces are tracked
    tracked = "tracked"  # only when lost, plus a periodic re-check


class PerceptionConfig(Section):
    # None: the vendored model inside the package (checked against its sha256).
    model_path: Path | None = None
    max_faces: int = Field(2, ge=1, le=5)
    # With several faces: "largest" face, or the face whose centre is furthest towards the
    # driver's side of the cabin ("left" for a left-hand-drive car). A driver-facing camera
    # sees the driver's left on the image's right, so "left" picks the face furthest right
    # in the (unmirrored) image. The last frame's driver keeps the seat until another face is
    # 1.5x its box area (or, with a seat side, over 20 % of the width further towards it):
    # two faces of about one size do not swap on noise (perception/tracker.py, pick_driver).
    driver_seat: DriverSeat = DriverSeat.largest
    # MediaPipe's defaults are 0.5; at 0.5 the face is lost in 6 of 69 frames of the large
    # head turns in iris_tracking_example.gif, at 0.3 in 3 (measured; docs/performance.md).
    min_face_detection_confidence: float = Field(0.3, ge=0.0, le=1.0)
    min_face_presence_confidence: float = Field(0.3, ge=0.0, le=1.0)
    min_tracking_confidence: float = Field(0.3, ge=0.0, le=1.0)
    # litert: MediaPipe's landmarks, blendshapes and events (tests/test_backend_parity.py)
    # for 0-5 % less CPU per frame, 1.05x MediaPipe Tasks as a bare tracker, and 1.36x with
    # detector_schedule tracked (docs/performance.md, "Tracker backends"); a backend that
    # fails to load falls back to mediapipe with a warning.
    backend: TrackerBackend = TrackerBackend.litert
    # litert / onnxruntime: when the face detector runs (docs/backends.md).
    #   mediapipe: as MediaPipe's graph, while fewer faces than max_faces are tracked. The
    #     tracker follows the driver only, so with max_faces > 1 on every frame, the landmark
    #     crop taken from the detection: MediaPipe's landmarks to ~0.05 % of the eye distance
    #     and the same events (tests/test_backend_parity.py). max_faces 1: only when lost.
    #   tracked: only when the face is lost and every redetect_interval_s; the crop follows
    #     the previous frame's landmarks (~1.3 ms less per frame; landmarks 0.6-2 % of the
    #     eye distance from MediaPipe's, which differs from itself by 2.5-8 % between
    #     max_faces 1 and 2; events on borderline clips can differ).
    detector_schedule: DetectorSchedule = DetectorSchedule.mediapipe
    redetect_interval_s: float = Field(1.0, gt=0.0, le=60.0)
    # litert / onnxruntime: when the landmark model rejected every crop the detector placed in
    # the whole picture, look again: the detector on a square twice a crop's width around the
    # face followed on the last frame (or, with none, around each rejected crop), its crop
    # confirmed by the landmark model as any other. A face small in the picture (a wide cabin
    # view: the detector sees the whole picture in 128x128) is boxed too loosely for the
    # landmark model and lost on most frames otherwise (docs/backends.md "Second look").
    # false: MediaPipe's rule, frame for frame.
    second_look: bool = True
    # A face not followed on the last frame is taken from a second look only when the detector
    # is this sure of it in the zoomed square: real faces there 0.73-0.92 (median 0.77 at
    # night in monochrome), the back of a head turned over the shoulder 0.31-0.61 at every
    # scale, which the landmark model can take for a face (docs/backends.md "Second look").
    second_look_new_face_min_score: float = Field(0.7, ge=0.0, le=1.0)
    # With second_look: while no face is followed and the whole-picture pass finds no box at
    # all, look in overlapping tiles half the picture's size (a face twice as large to the
    # detector) at most this often, then take a face only from a second look around what
    # they find. ~6 detector runs (~6 ms) per search on a 16:9 picture. null: never.
    tile_search_interval_s: float | None = Field(0.5, gt=0.0, le=60.0)
    # Threads of the landmark model (the others get one) in the live loop, which runs one
    # frame at a time: 2 lets it use both cores of a 2-core car computer (same results to
    # the bit; live p50 19.6 -> 15.1 ms at load 6, docs/performance.md). Staged
    # replay always uses 1 per model: its three threads keep every core busy already.
    landmark_threads: int = Field(2, ge=1, le=16)
    # replay: decode, locate the face (landmark model) and the rest of each frame (blendshapes,
    # features, detectors, outputs) in three threads, on both cores; same results as serial.
    staged_replay: bool = True
    # onnxruntime execution providers in order of preference (CUDAExecutionProvider,
    # TensorrtExecutionProvider need the onnxruntime-gpu wheel); a missing one is an error.
    onnx_providers: tuple[str, ...] = Field(("CPUExecutionProvider",), min_length=1)


class VideoConfig(Section):
    # GIF frame delays are not reliable timestamps (shared/data/README.md): read at this rate.
    gif_fps: float = Field(12.5, gt=0.0, le=240.0)
    # When a container gives no usable timestamps, assume this rate.
    fallback_fps: float = Field(30.0, gt=0.0, le=240.0)
