"""The pieces of the LiteRT / onnxruntime tracker backends, each against a value it must give:
the detector's anchors and box decoding, weighted NMS, the crop warp and its inverse, the
crop framing, and the facial transformation matrix on a face of known pose."""

from __future__ import annotations

import math
import zipfile

import numpy as np
import pytest

from driver_monitor.errors import ModelError
from driver_monitor.perception.backends import detection
from driver_monitor.perception.backends.bundle import open_bundle
from driver_monitor.perception.backends.face_geometry import (
    NEAR_CM,
    VERTICAL_FOV_DEG,
    FaceGeometrySolver,
    parse_metadata,
)
from driver_monitor.perception.backends.roi import (
    CropFraming,
    Roi,
    project_to_image,
    roi_from_detection,
    roi_from_landmarks,
    warp,
)


def test_ssd_anchors_are_the_896_of_blazeface_short_range():
    anchors = detection.ssd_anchors()
    assert anchors.shape == (896, 2)
    # 16x16 cells x 2 anchors at stride 8, then 8x8 cells x 6 anchors at stride 16.
    assert anchors[0].tolist() == pytest.approx([0.5 / 16, 0.5 / 16])
    assert anchors[1].tolist() == anchors[0].tolist()
    assert anchors[2].tolist() == pytest.approx([1.5 / 16, 0.5 / 16])
    assert anchors[512].tolist() == pytest.approx([0.5 / 8, 0.5 / 8])
    assert anchors[517].tolist() == anchors[512].tolist()
    assert anchors[-1].tolist() == pytest.approx([7.5 / 8, 7.5 / 8])


def test_decode_turns_offsets_in_input_pixels_into_boxes_and_keypoints():
    anchors = detection.ssd_anchors()
    regressors = np.zeros((896, 16), np.float32)
    scores = np.full(896, -10.0, np.float32)
    # Anchor 600 sits at ((600 - 512) // 6 % 8 + 0.5) / 8 ...: put a 32x16 px face 8 px right of it.
    regressors[600, :4] = [8.0, -4.0, 32.0, 16.0]
    regressors[600, 4:6] = [-6.4, 12.8]  # keypoint 0
    scores[600] = 2.0
    boxes, keypoints, probs = detection.decode(regressors, scores, anchors, min_score=0.5)
    cx, cy = anchors[600]
    assert boxes.shape == (1, 4)
    assert boxes[0].tolist() == pytest.approx([cx + 8 / 128 - 16 / 128, cy - 4 / 128 - 8 / 128, cx + 8 / 128 + 16 / 128, cy - 4 / 128 + 8 / 128])
    assert keypoints[0, 0].tolist() == pytest.approx([cx - 0.05, cy + 0.1])
    assert probs[0] == pytest.approx(1 / (1 + math.exp(-2.0)))


def test_weighted_nms_merges_overlapping_boxes_by_score_and_keeps_the_best_score():
    boxes = np.array([[0.0, 0.0, 1.0, 1.0], [0.1, 0.0, 1.1, 1.0], [5.0, 5.0, 6.0, 6.0]])
    keypoints = np.zeros((3, 6, 2))
    keypoints[1] += 1.0
    scores = np.array([0.9, 0.3, 0.8])
    merged = detection.weighted_nms(boxes, keypoints, scores)
    assert len(merged) == 2
    box, kps, score = merged[0]
    # IoU of the first two = 0.9 / 1.1 > 0.5: merged 3:1 by score.
    assert box.tolist() == pytest.approx([0.025, 0.0, 1.025, 1.0])
    assert kps[0].tolist() == pytest.approx([0.25, 0.25])
    assert score == 0.9
    assert merged[1][0].tolist() == pytest.approx([5.0, 5.0, 6.0, 6.0]) and merged[1][2] == 0.8


def test_the_crop_maps_its_corners_to_the_rotated_rect_and_back():
    roi = Roi(cx=100.0, cy=80.0, width=64.0, height=64.0, rotation=math.radians(30))
    # The crop's centre pixel lands on the rect's centre; its top-left corner on the rotated corner.
    centre = project_to_image(np.array([[128.0, 128.0, 0.0]]), roi, 256, 640, 480)[0]
    assert centre[:2].tolist() == pytest.approx([100.0, 80.0])
    corner = project_to_image(np.array([[0.0, 0.0, 0.0]]), roi, 256, 640, 480)[0]
    c, s = math.cos(roi.rotation), math.sin(roi.rotation)
    assert corner[:2].tolist() == pytest.approx([100 - 32 * c + 32 * s, 80 - 32 * s - 32 * c], abs=1e-4)
    # The warp samples the image there: a white dot at the rect's centre is at the crop's centre.
    image = np.zeros((160, 200, 3), np.uint8)
    image[80, 100] = 255
    crop = warp(image, roi, 256)
    y, x = np.unravel_index(crop[..., 0].argmax(), crop.shape[:2])
    assert (x, y) == (128, 128)


def test_z_is_scaled_like_mediapipe_by_the_crop_axis_in_normalised_image_units():
    roi = Roi(0.0, 0.0, 256.0, 256.0, rotation=math.radians(12))
    z = project_to_image(np.array([[0.0, 0.0, 10.0]]), roi, 256, 640, 360)[0, 2]
    assert z == pytest.approx(10.0 * math.hypot(math.cos(roi.rotation), math.sin(roi.rotation) * 640 / 360))


def test_rects_from_a_detection_and_from_landmarks():
    keypoints = np.array([[40.0, 50.0], [60.0, 50.0], [50, 60], [50, 70], [30, 55], [70, 55]])
    roi = roi_from_detection(np.array([30.0, 40.0, 70.0, 80.0]), keypoints)
    assert (roi.cx, roi.cy, roi.width, roi.height, roi.rotation, roi.source) == (50.0, 60.0, 60.0, 60.0, 0.0, "detection")
    points = np.zeros((478, 3))
    points[:, 0] = np.linspace(10, 50, 478)
    points[:, 1] = np.linspace(20, 80, 478)
    points[33, :2] = [20, 40]
    points[263, :2] = [40, 60]  # eye corners 45 degrees down to the left eye
    square = roi_from_landmarks(points)
    assert (square.cx, square.cy, square.width, square.height) == (30.0, 50.0, 90.0, 90.0)
    assert square.rotation == pytest.approx(math.radians(45))


def test_crop_framing_measured_on_a_detection_reproduces_it():
    square = Roi(100.0, 100.0, 200.0, 200.0, 0.2)
    detected = Roi(104.0, 109.0, 170.0, 172.0, 0.25, "detection")
    framing = CropFraming.measure(detected, square)
    again = framing.apply(square)
    assert (again.cx, again.cy, again.width, again.height, again.rotation) == pytest.approx(
        (104.0, 109.0, 170.0, 172.0, 0.25))
    half = CropFraming().blend(framing, 0.5)
    assert half.scale_x == pytest.approx((0.88 + 0.85) / 2)


@pytest.fixture(scope="module")
def canonical():
    return parse_metadata(open_bundle().geometry_metadata)


def test_the_bundle_holds_the_canonical_face_and_its_procrustes_basis(canonical):
    assert canonical.positions_cm.shape[0] == 3
    assert len(canonical.landmark_ids) == len(canonical.weights) >= 3
    assert (canonical.weights > 0).all() and canonical.landmark_ids.max() < 468


def test_the_matrix_of_a_canonical_face_at_a_known_pose(canonical):
    """Render the canonical face through the pipeline's own camera at yaw 20, pitch -10,
    roll 5 and 50 cm, as screen landmarks (x, y in pixels, z relative like the landmark
    model's); the solver must give back that rotation."""
    yaw, pitch, roll = np.radians([20.0, -10.0, 5.0])
    rx = np.array([[1, 0, 0], [0, math.cos(pitch), -math.sin(pitch)], [0, math.sin(pitch), math.cos(pitch)]])
    ry = np.array([[math.cos(yaw), 0, math.sin(yaw)], [0, 1, 0], [-math.sin(yaw), 0, math.cos(yaw)]])
    rz = np.array([[math.cos(roll), -math.sin(roll), 0], [math.sin(roll), math.cos(roll), 0], [0, 0, 1]])
    rotation = rz @ ry @ rx
    width, height = 640, 480
    full = np.zeros((468, 3))
    full[canonical.landmark_ids] = canonical.positions_cm.T
    camera = full @ rotation.T + np.array([1.0, -2.0, -50.0])
    # Perspective projection on the near plane, then to pixels (origin top-left).
    h_near = 2 * NEAR_CM * math.tan(math.radians(VERTICAL_FOV_DEG) / 2)
    w_near = h_near * width / height
    x_near = camera[:, 0] * NEAR_CM / -camera[:, 2]
    y_near = camera[:, 1] * NEAR_CM / -camera[:, 2]
    px = np.empty((468, 3))
    px[:, 0] = (x_near / w_near + 0.5) * width
    px[:, 1] = (0.5 - y_near / h_near) * height
    # Relative depth in the pixel scale of x: the landmark model's z (towards the camera < 0).
    px[:, 2] = -(camera[:, 2] - camera[:, 2].mean()) * (NEAR_CM / 50.0) / w_near * width
    matrix = FaceGeometrySolver(canonical).transform(px, width, height)
    solved = matrix[:3, :3] / np.linalg.norm(matrix[:3, :3], axis=0)
    angle = math.degrees(math.acos(np.clip((np.trace(solved.T @ rotation) - 1) / 2, -1, 1)))
    assert angle < 1.0
    assert matrix[2, 3] == pytest.approx(-50.0, rel=0.1)


def test_a_corrupt_bundle_or_metadata_is_one_line_naming_the_file(tmp_path):
    broken = tmp_path / "broken.task"
    broken.write_bytes(b"not a zip at all")
    with pytest.raises(ModelError, match=r"broken.task: corrupt"):
        open_bundle(broken)
    partial = tmp_path / "partial.task"
    with zipfile.ZipFile(partial, "w") as z:
        z.writestr("face_detector.tflite", b"x")
    with pytest.raises(ModelError, match=r"partial.task: not a Face Landmarker bundle \(no face_landmarks_detector.tflite"):
        open_bundle(partial)
    with pytest.raises(ModelError, match=r"meta: corrupt geometry pipeline metadata"):
        parse_metadata(b"\xff\xff\xff", "meta")


@pytest.mark.parametrize("perception,detector_runs", [
    ({}, 60),  # MediaPipe's rule with max_faces 2: every frame
    ({"max_faces": 1}, 1),  # MediaPipe's rule with max_faces 1: only when lost (never here)
    ({"detector_schedule": "tracked"}, 3),  # when lost, and at t = 1.0 and 2.0 s
    ({"detector_schedule": "tracked", "redetect_interval_s": 0.5}, 5),
])
def test_when_the_detector_runs(perception, detector_runs):
    from pathlib import Path

    from driver_monitor.config.perception import PerceptionConfig
    from driver_monitor.perception.tracker import create_tracker
    from driver_monitor.sources.video_file import VideoFileSource

    video = Path(__file__).resolve().parents[1] / "recordings" / "selfie_writing" / "video.mkv"
    with VideoFileSource(video) as source:
        frames = [f for _, f in zip(range(60), source, strict=False)]
    assert frames[-1].t == pytest.approx(59 / 25, abs=0.01)
    with create_tracker(PerceptionConfig.model_validate(perception)) as tracker:
        found = [tracker.track(f) is not None for f in frames]
    assert all(found)
    assert (tracker.detector_runs, tracker.landmark_runs) == (detector_runs, 60)
