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


def test_the_last_frames_driver_keeps_the_seat_until_clearly_beaten():
    driver = (500.0, 40.0, 620.0, 190.0)  # 120 x 150 px
    bigger = (10.0, 10.0, 137.0, 160.0)  # 127 x 150 px: 1.06x the area
    much_bigger = (10.0, 10.0, 190.0, 160.0)  # 1.5x the area
    moved = (505.0, 42.0, 625.0, 192.0)  # the driver, a few pixels on
    assert pick_driver([bigger, moved], DriverSeat.largest, 640) == 0  # nothing followed: the larger
    assert pick_driver([bigger, moved], DriverSeat.largest, 640, previous=driver) == 1
    assert pick_driver([much_bigger, moved], DriverSeat.largest, 640, previous=driver) == 0
    # Seat side: faces within 10 % of the width of each other are on one side, the larger
    # the driver; the followed face keeps the seat unless another is 1.5x its area there, or
    # over 20 % of the width (the band and SWITCH_SIDE_SHARE) further towards the seat.
    seated = (340.0, 40.0, 460.0, 190.0)  # centre 400
    same_side = (376.0, 34.0, 504.0, 196.0)  # centre 440 (6 % further right), 1.15x the area
    beside = (420.0, 40.0, 540.0, 190.0)  # centre 480: 12.5 % further right
    far_side = (500.0, 40.0, 620.0, 190.0)  # centre 560: 25 % further right
    assert pick_driver([seated, same_side], DriverSeat.left, 640) == 1
    assert pick_driver([seated, same_side], DriverSeat.left, 640, previous=seated) == 0
    assert pick_driver([seated, beside], DriverSeat.left, 640) == 1
    assert pick_driver([seated, beside], DriverSeat.left, 640, previous=seated) == 0
    assert pick_driver([seated, far_side], DriverSeat.left, 640, previous=seated) == 1
    assert pick_driver([seated, beside], DriverSeat.left, 640, previous=(0.0, 0.0, 5.0, 5.0)) == 1


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


def test_times_that_are_not_finite_are_nudged_forward_too(two_faces):
    with MediaPipeFaceTracker(load_config().perception) as tracker:
        for t in (0.0, float("nan"), float("inf"), 0.1):
            assert tracker.track(Frame(t=t, image=two_faces)) is not None
        assert tracker.retimed_frames == 2 and tracker._last_ms == 100


def test_a_failed_mediapipe_graph_is_started_again(two_faces):
    """After one failed run MediaPipe's graph fails every later frame ("Graph has errors"): a
    live daemon lost every frame from then on. Now the graph is started again and given the
    frame. (The failure here: a picture without pixels handed to the graph itself; the
    tracker answers such a picture with no face without running it.)"""
    with MediaPipeFaceTracker(load_config().perception) as tracker:
        assert tracker.track(Frame(t=0.0, image=two_faces)) is not None
        with pytest.raises((RuntimeError, ValueError)):  # the graph's failure, as MediaPipe raises it
            empty = tracker._mp_image(image_format=tracker._srgb, data=np.zeros((0, 640, 3), np.uint8))
            tracker._landmarker.detect_for_video(empty, 150)
        obs = tracker.track(Frame(t=0.2, image=two_faces))
        assert obs is not None and obs.box_px[0] < 320 and tracker.restarts == 1
        assert tracker.track(Frame(t=0.3, image=two_faces)) is not None and tracker.restarts == 1


@pytest.mark.parametrize("backend", ["mediapipe", "litert"])
def test_a_picture_without_pixels_is_no_face(two_faces, backend):
    """Before, it raised in both trackers, and MediaPipe's graph failed for good on it."""
    tracker = _tracker(backend)
    try:
        assert tracker.track(Frame(t=0.0, image=two_faces)) is not None
        assert tracker.track(Frame(t=0.1, image=two_faces[:0])) is None
        assert tracker.track(Frame(t=0.2, image=two_faces)) is not None
    finally:
        tracker.close()


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


# -- the driver among two faces of about one size: both backends, one policy, no swapping ----

def _two_portraits(scale_left: float) -> np.ndarray:
    """1280x720: the astronaut at `scale_left` of 300x330 px on the left, Obama at 300x330 px
    on the right. Their landmark boxes are the same size at scale ~1.4 (Obama's portrait
    shows the face larger); the detector's boxes hardly change with the scale."""
    import cv2

    from tests.conftest import FACES
    left = cv2.cvtColor(cv2.imread(str(FACES / "astronaut.png")), cv2.COLOR_BGR2RGB)[0:300, 90:360]
    right = cv2.cvtColor(cv2.imread(str(FACES / "obama.jpg")), cv2.COLOR_BGR2RGB)[0:520, 220:720]
    canvas = np.full((720, 1280, 3), 90, dtype=np.uint8)
    h, w = int(330 * scale_left), int(300 * scale_left)
    canvas[60:60 + h, 60:60 + w] = cv2.resize(left, (w, h))
    canvas[100:430, 700:1000] = cv2.resize(right, (300, 330))
    return canvas


def _tracker(backend: str, schedule: str = "mediapipe"):
    from driver_monitor.config.perception import DetectorSchedule, TrackerBackend
    from driver_monitor.perception.tracker import create_tracker
    config = load_config().perception.model_copy(update={
        "backend": TrackerBackend(backend), "detector_schedule": DetectorSchedule(schedule)})
    return create_tracker(config)


def _side(obs) -> str:
    return "-" if obs is None else ("L" if obs.box_px[2] < 640 else "R")


@pytest.mark.parametrize("backend", ["mediapipe", "litert"])
def test_the_driver_is_the_larger_landmark_box_in_every_backend(backend):
    """One picture each, nothing followed before: the face whose landmarks span the larger
    box is the driver. LiteRT used to order the faces by the detector's boxes, which grow
    little with the face (280 -> 291 px while the landmark box grew 134 -> 172 px), and
    took the smaller face on 2 of these 4 pictures where MediaPipe took the larger."""
    picked = []
    for scale in (1.45, 1.6, 1.65, 1.7):
        tracker = _tracker(backend)
        try:
            picked.append(_side(tracker.track(Frame(t=0.0, image=_two_portraits(scale)))))
        finally:
            tracker.close()
    # Landmark box areas, left / right: 0.97, 1.15, 1.24, 1.31 (MediaPipe and LiteRT alike).
    assert "".join(picked) == "RLLL"


@pytest.mark.parametrize("backend,schedule", [("mediapipe", "mediapipe"), ("litert", "mediapipe"), ("litert", "tracked")])
def test_two_faces_of_about_one_size_do_not_swap_the_driver(backend, schedule):
    """The left face about 3 % larger in box area than the right one, its scale jittered by
    +-2 % frame to frame (a driver moving): the driver found first stays the driver. Before,
    MediaPipe swapped faces 25 times in these 60 frames."""
    rng = np.random.default_rng(0)
    tracker = _tracker(backend, schedule)
    try:
        picks = "".join(_side(tracker.track(Frame(t=i / 30, image=_two_portraits(1.5 * (1 + rng.uniform(-0.02, 0.02))))))
                        for i in range(60))
    finally:
        tracker.close()
    assert picks in ("L" * 60, "R" * 60)


@pytest.mark.parametrize("backend", ["mediapipe", "litert"])
def test_a_face_clearly_larger_than_the_driver_takes_over(backend):
    """The left face grows from 1.3 to 2.0 times its size: the driver (the right face, the
    larger at first) keeps the seat until the left face's box is SWITCH_AREA_RATIO times its
    area, then the left face is the driver, once. Before, MediaPipe took the left face from
    the first frame, the larger by 3 %, and LiteRT swapped 6 times (LRRLLLLRLLRLLLL)."""
    from driver_monitor.perception.tracker import SWITCH_AREA_RATIO
    tracker = _tracker(backend)
    picks, areas = [], []
    try:
        for i in range(15):
            obs = tracker.track(Frame(t=i / 30, image=_two_portraits(1.3 + 0.7 * i / 14)))
            picks.append(_side(obs))
            areas.append((obs.box_px[2] - obs.box_px[0]) * (obs.box_px[3] - obs.box_px[1]))
    finally:
        tracker.close()
    switch = "".join(picks).index("L")
    assert "".join(picks) == "R" * switch + "L" * (15 - switch)
    assert 0 < switch < 14
    assert areas[switch] / areas[switch - 1] >= SWITCH_AREA_RATIO


# -- losing and finding the face again (the LiteRT tracker) --------------------------------

def _scene(base: np.ndarray, *faces: tuple[str, int, int, int, int]) -> np.ndarray:
    """`base` with portraits (name, x, y, width, height) pasted in."""
    import cv2

    from tests.conftest import FACES
    crops = {"obama": ("obama.jpg", (slice(0, 520), slice(220, 720))), "astronaut": ("astronaut.png", (slice(0, 300), slice(90, 360)))}
    picture = base.copy()
    for name, x, y, w, h in faces:
        file, crop = crops[name]
        picture[y:y + h, x:x + w] = cv2.resize(cv2.cvtColor(cv2.imread(str(FACES / file)), cv2.COLOR_BGR2RGB)[crop], (w, h))
    return picture


@pytest.mark.parametrize("schedule", ["tracked", "mediapipe"])
def test_the_litert_tracker_finds_a_moved_or_new_face_on_the_first_frame(schedule):
    """The crop follows the last frame's landmarks; where the landmark model finds no face in
    it the detector runs on the same frame. Measured at 30 frames/s, 1280x720: a face that
    jumps across the picture, or leaves while another enters elsewhere, is found on the
    first frame it is there; a face that leaves a textured background is gone on that frame
    (the crop does not stay on the background); a second, larger face is the driver at the
    next detector run: the same frame with the mediapipe schedule, the 1 s re-check
    (redetect_interval_s) with the tracked one."""
    plain = np.full((720, 1280, 3), 90, dtype=np.uint8)
    texture = _blurred(np.random.default_rng(1).integers(0, 255, (720, 1280, 3), dtype=np.uint8))
    left, right = ("obama", 100, 100, 300, 330), ("obama", 880, 300, 300, 330)
    small, big = ("obama", 100, 100, 200, 220), ("astronaut", 800, 200, 405, 446)
    scenes = {
        "jump": [_scene(plain, left)] * 20 + [_scene(plain, right)] * 10,
        "another enters": [_scene(plain, left)] * 20 + [_scene(plain, big)] * 10,
        "leaves": [_scene(texture, left)] * 20 + [texture] * 10,
        "a larger one joins": [_scene(plain, small)] * 20 + [_scene(plain, small, big)] * 15,
    }
    seen = {}
    for name, pictures in scenes.items():
        tracker = _tracker("litert", schedule)
        try:
            seen[name] = "".join(_side(tracker.track(Frame(t=i / 30, image=p))) for i, p in enumerate(pictures))
        finally:
            tracker.close()
    assert seen["jump"] == "L" * 20 + "R" * 10
    assert seen["another enters"] == "L" * 20 + "R" * 10
    assert seen["leaves"] == "L" * 20 + "-" * 10
    took_over = 30 if schedule == "tracked" else 20  # t = 1.0 s: the re-check after the detection at 0
    assert seen["a larger one joins"] == "L" * took_over + "R" * (35 - took_over)


def _blurred(noise: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.GaussianBlur(noise, (0, 0), 4)
