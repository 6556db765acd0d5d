"""Landmark geometry: head pose from a known matrix, EAR / MAR on known points, iris gaze."""

import math

import numpy as np
import pytest

from driver_monitor.perception import geometry


def _matrix(yaw: float, pitch: float, roll: float, scale: float = 1.0) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3] = geometry.rotation_matrix(yaw, pitch, roll) * scale
    m[:3, 3] = (1.5, -2.0, -45.0)
    return m


@pytest.mark.parametrize(
    "yaw, pitch, roll",
    [(0, 0, 0), (30, 0, 0), (-45, 0, 0), (0, 20, 0), (0, -15, 0), (0, 0, 12), (25, -10, 5), (-40, 15, -20)],
)
def test_pose_round_trips_through_the_matrix(yaw, pitch, roll):
    pose = geometry.head_pose_from_matrix(_matrix(yaw, pitch, roll, scale=1.7))
    assert pose.yaw_deg == pytest.approx(yaw, abs=1e-9)
    assert pose.pitch_deg == pytest.approx(pitch, abs=1e-9)
    assert pose.roll_deg == pytest.approx(roll, abs=1e-9)


def test_pose_from_a_hand_written_matrix():
    # A pure rotation of 30 deg about the camera's vertical axis: R20 = -sin(30 deg).
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    m = np.array([[c, 0, s, 0], [0, 1, 0, 0], [-s, 0, c, 0], [0, 0, 0, 1]])
    pose = geometry.head_pose_from_matrix(m)
    assert pose == pytest.approx((30.0, 0.0, 0.0), abs=1e-9)
    # Pitch about the x axis: R21 = sin, R22 = cos.
    m = np.eye(4)
    m[1:3, 1:3] = [[c, -s], [s, c]]
    assert geometry.head_pose_from_matrix(m) == pytest.approx((0.0, 30.0, 0.0), abs=1e-9)


def _points_with(indices, coords):
    pts = np.zeros((478, 3), dtype=np.float32)
    for i, (x, y) in zip(indices, coords, strict=True):
        pts[i, :2] = (x, y)
    return pts


def test_eye_aspect_ratio_on_known_points():
    # Corners 30 px apart, lids 5 and 4 px apart: EAR = (5 + 4) / (2 * 30) = 0.15.
    coords = [(0, 0), (10, -2.5), (20, -2), (30, 0), (20, 2), (10, 2.5)]
    pts = _points_with(geometry.RIGHT_EYE_EAR, coords)
    assert geometry.eye_aspect_ratio(pts, geometry.RIGHT_EYE_EAR) == pytest.approx(0.15)
    # Closed: lids meet.
    closed = [(0, 0), (10, 0), (20, 0), (30, 0), (20, 0), (10, 0)]
    pts = _points_with(geometry.LEFT_EYE_EAR, closed)
    assert geometry.eye_aspect_ratio(pts, geometry.LEFT_EYE_EAR) == 0.0


def test_eye_aspect_ratio_of_degenerate_eye_is_nan():
    pts = np.zeros((478, 3), dtype=np.float32)
    assert math.isnan(geometry.eye_aspect_ratio(pts, geometry.RIGHT_EYE_EAR))


def test_mouth_aspect_ratio_on_known_points():
    pts = _points_with(
        (geometry.MOUTH_CORNER_RIGHT, geometry.MOUTH_CORNER_LEFT, geometry.MOUTH_INNER_UPPER, geometry.MOUTH_INNER_LOWER),
        [(100, 200), (150, 200), (125, 190), (125, 220)],
    )
    assert geometry.mouth_aspect_ratio(pts) == pytest.approx(30 / 50)


def test_iris_centred_reads_straight_ahead_and_shift_reads_sideways():
    pts = np.zeros((478, 3), dtype=np.float32)
    # Driver's right eye on the image's left, left eye on the right, both 30 px wide.
    for corners, lids, iris, x0 in (
        (geometry.RIGHT_EYE_CORNERS, geometry.RIGHT_EYE_LIDS, geometry.RIGHT_IRIS_CENTRE, 100),
        (geometry.LEFT_EYE_CORNERS, geometry.LEFT_EYE_LIDS, geometry.LEFT_IRIS_CENTRE, 170),
    ):
        pts[corners[0], :2] = (x0, 100)
        pts[corners[1], :2] = (x0 + 30, 100)
        pts[lids[0], :2] = (x0 + 15, 95)
        pts[lids[1], :2] = (x0 + 15, 105)
        pts[iris, :2] = (x0 + 15, 100)
    yaw, pitch = geometry.iris_gaze_deg(pts)
    assert yaw == pytest.approx(0.0, abs=1e-6)
    assert pitch == pytest.approx(0.0, abs=1e-6)
    # Both irises 6 px (0.4 of the half-width) towards the image's right: driver looks left.
    pts[geometry.RIGHT_IRIS_CENTRE, 0] += 6
    pts[geometry.LEFT_IRIS_CENTRE, 0] += 6
    yaw, _ = geometry.iris_gaze_deg(pts)
    expected = math.degrees(math.asin(0.4 * 14.5 / 12.0))
    assert yaw == pytest.approx(expected, rel=1e-6)
    assert yaw > 0


def test_blendshape_gaze_signs():
    looking_left = {"eyeLookOutLeft": 0.8, "eyeLookInRight": 0.8}
    yaw, pitch = geometry.blendshape_gaze_deg(looking_left)
    assert yaw == pytest.approx(0.8 * 35.0)
    assert pitch == 0.0
    yaw, pitch = geometry.blendshape_gaze_deg({"eyeLookDownLeft": 0.6, "eyeLookDownRight": 0.4})
    assert pitch == pytest.approx(0.5 * 35.0)
