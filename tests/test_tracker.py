"""The MediaPipe tracker: picking the driver among several faces, times, observations."""

import numpy as np
import pytest

from driver_monitor.config import load_config
from driver_monitor.config.perception import DriverSeat
from driver_monitor.messages import Frame
from driver_monitor.perception.tracker import MediaPipeFaceTracker, pick_driver

BIG_LEFT = (10.0, 10.0, 210.0, 260.0)  # 200 x 250 px on the image's left
SMALL_RIGHT = (500.0, 40.0, 620.0, 190.0)  # 120 x 150 px on the image's right


def test_largest_face_is_the_driver_by_default():
    assert pick_driver([SMALL_RIGHT, BIG_LEFT], DriverSeat.largest, 640) == 1


def test_left_seat_driver_is_on_the_image_right():
    # A camera facing a left-hand-drive driver sees the driver's seat on the image's right.
    assert pick_driver([BIG_LEFT, SMALL_RIGHT], DriverSeat.left, 640) == 1
    assert pick_driver([BIG_LEFT, SMALL_RIGHT], DriverSeat.right, 640) == 0


def test_seat_side_ties_go_to_the_larger_face():
    near = (480.0, 40.0, 640.0, 240.0)  # within 10 % of the width of SMALL_RIGHT's centre
    assert pick_driver([SMALL_RIGHT, near], DriverSeat.left, 640) == 1


@pytest.fixture(scope="module")
def two_faces():
    import cv2

    from tests.conftest import FACES
    # Two real portraits cropped to the head, a big one on the image's left and a smaller
    # one on its right (the face detector needs faces of a fair size in the frame).
    big = cv2.cvtColor(cv2.imread(str(FACES / "astronaut.png")), cv2.COLOR_BGR2RGB)[0:300, 90:360]
    small = cv2.cvtColor(cv2.imread(str(FACES / "obama.jpg")), cv2.COLOR_BGR2RGB)[0:520, 220:720]
    canvas = np.full((360, 640, 3), 90, dtype=np.uint8)
    canvas[10:343, 10:310] = cv2.resize(big, (300, 333))
    canvas[70:278, 420:620] = cv2.resize(small, (200, 208))
    return canvas


@pytest.mark.parametrize(
    "seat, expect_left_half",
    [(DriverSeat.largest, True), (DriverSeat.right, True), (DriverSeat.left, False)],
)
def test_real_two_face_picture(two_faces, seat, expect_left_half):
    config = load_config().perception.model_copy(update={"driver_seat": seat})
    with MediaPipeFaceTracker(config) as tracker:
        obs = tracker.track(Frame(t=0.0, image=two_faces))
    assert obs is not None
    centre_x = (obs.box_px[0] + obs.box_px[2]) / 2
    assert (centre_x < 320) == expect_left_half
    assert obs.landmarks_px.shape == (478, 3)
    assert obs.transform.shape == (4, 4)
    assert len(obs.blendshapes) == 52 and "eyeBlinkLeft" in obs.blendshapes
    assert obs.image_size == (640, 360)


def test_non_increasing_times_are_nudged_forward(two_faces):
    with MediaPipeFaceTracker(load_config().perception) as tracker:
        for t in (0.0, 0.0, 0.0004, 0.1):
            tracker.track(Frame(t=t, image=two_faces))
        assert tracker.retimed_frames == 2


def test_mediapipe_landmarks_that_are_no_face_leave_the_other_face_as_the_driver(two_faces):
    """MediaPipe's output for a face whose landmarks are not finite is dropped (as the LiteRT
    and onnxruntime trackers drop theirs): the other face is picked, and with none left the
    frame has no face, instead of NaN features or a singular pose solve downstream."""
    config = load_config().perception.model_copy(update={"driver_seat": DriverSeat.largest})
    with MediaPipeFaceTracker(config) as tracker:
        real_detect = tracker._landmarker.detect_for_video
        spoil: list[int] = []  # indices (in MediaPipe's order) of the faces to spoil

        def detect(image, ms):
            result = real_detect(image, ms)
            for i, face in enumerate(result.face_landmarks):
                if i in spoil:
                    face[17].x = float("nan")
            return result

        tracker._landmarker.detect_for_video = detect
        whole = tracker.track(Frame(t=0.0, image=two_faces))
        assert whole is not None and whole.box_px[0] < 320  # the big face on the left
        result = real_detect(tracker._mp_image(image_format=tracker._srgb, data=two_faces), 66)
        big = min(range(len(result.face_landmarks)), key=lambda i: result.face_landmarks[i][0].x)
        spoil.append(big)
        other = tracker.track(Frame(t=0.1, image=two_faces))
        assert other is not None and other.box_px[0] > 320  # the small face on the right
        spoil.append(1 - big)
        assert tracker.track(Frame(t=0.2, image=two_faces)) is None
