"""Pictures turned upright: a video's display matrix (replay), camera.rotate_deg (the live camera)."""

from __future__ import annotations

import itertools
import json
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from camera_clips import write_clip

from driver_monitor.cli import main
from driver_monitor.config.service import CameraConfig
from driver_monitor.errors import InputError
from driver_monitor.sources.camera import CameraSource
from driver_monitor.sources.orientation import Turn, UnsupportedTurn, apply_turn, display_turn
from driver_monitor.sources.video_file import VideoFileSource, read_frames

ONE = 1 << 16  # 1.0 in the matrix's 16.16 fixed point


def _matrix(a: int, b: int, c: int, d: int) -> bytes:
    return np.array([a * ONE, b * ONE, 0, c * ONE, d * ONE, 0, 0, 0, 1 << 30], dtype="=i4").tobytes()


def _as_the_matrix_maps_it(image: np.ndarray, a: int, b: int, c: int, d: int) -> np.ndarray:
    """The picture as the display matrix's definition places every pixel (libavutil/display.h:
    (p, q) -> (a p + c q, b p + d q), p to the right, q down), moved back into view."""
    h, w = image.shape[:2]
    q, p = np.mgrid[0:h, 0:w]
    p2, q2 = a * p + c * q, b * p + d * q
    p2, q2 = p2 - p2.min(), q2 - q2.min()
    out = np.zeros((q2.max() + 1, p2.max() + 1, *image.shape[2:]), image.dtype)
    out[q2, p2] = image
    return out


# The eight turns and mirrors a camera can store: every 2x2 matrix of one +-1 per row and column.
AXIS_MATRICES = [
    (a, b, c, d)
    for a, b, c, d in itertools.product((-1, 0, 1), repeat=4)
    if abs(a) + abs(b) == 1 and abs(c) + abs(d) == 1 and abs(a) + abs(c) == 1
]


def test_there_are_eight_axis_matrices() -> None:
    assert len(AXIS_MATRICES) == 8


@pytest.mark.parametrize("abcd", AXIS_MATRICES, ids=[str(m) for m in AXIS_MATRICES])
def test_each_display_matrix_puts_every_pixel_where_the_matrix_says(abcd: tuple[int, int, int, int]) -> None:
    image = np.arange(3 * 4 * 3, dtype=np.uint8).reshape(3, 4, 3)  # every pixel different
    turned = apply_turn(image, display_turn(_matrix(*abcd)))
    assert turned.flags.c_contiguous
    np.testing.assert_array_equal(turned, _as_the_matrix_maps_it(image, *abcd))


def test_known_matrices_and_no_matrix() -> None:
    assert display_turn(None) is Turn.none
    assert display_turn(_matrix(1, 0, 0, 1)) is Turn.none
    # What a phone filming upright with its sensor sideways stores (ffprobe: "rotation of
    # -90.00 degrees"): a player turns it a quarter clockwise.
    assert display_turn(_matrix(0, 1, -1, 0)) is Turn.clock
    assert display_turn(_matrix(-1, 0, 0, -1)) is Turn.half


def test_a_matrix_of_another_angle_is_refused() -> None:
    r = np.radians(30.0)
    m = np.array([np.cos(r) * ONE, -np.sin(r) * ONE, 0, np.sin(r) * ONE, np.cos(r) * ONE, 0, 0, 0, 1 << 30], dtype="=i4")
    with pytest.raises(UnsupportedTurn, match="by 30 degrees counter-clockwise, not a multiple of 90"):
        display_turn(m.tobytes())


def _write_mp4(path: Path, frames: list[np.ndarray], rotation_deg: int | None, fps: int = 25) -> Path:
    """Lossless H.264 (libx264rgb, qp 0): decoded frames are the written ones to the bit."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264rgb", rate=fps, options={"qp": "0", "preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = w, h, "rgb24"
        if rotation_deg is not None:
            stream.set_display_rotation(rotation_deg)
        for image in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return path


@pytest.fixture(scope="module")
def selfie_frames(clips_dir: Path) -> list[np.ndarray]:
    return [f.image for f in read_frames(clips_dir / "selfie_segmentation_web.mp4")[:20]]


@pytest.mark.parametrize(("stored_turn", "rotation_deg"), [(-1, 90), (1, -90), (2, 180)])
def test_a_clip_stored_turned_is_read_upright(tmp_path: Path, selfie_frames: list[np.ndarray],
                                              stored_turn: int, rotation_deg: int) -> None:
    # The camera stored the picture turned (np.rot90: counter-clockwise quarter turns) and the
    # display matrix says how to turn it back, as a phone does.
    stored = [np.ascontiguousarray(np.rot90(f, stored_turn)) for f in selfie_frames[:3]]
    clip = _write_mp4(tmp_path / "turned.mp4", stored, rotation_deg)
    source = VideoFileSource(clip)
    frames = list(source)
    assert len(frames) == 3
    for frame, upright in zip(frames, selfie_frames, strict=False):
        np.testing.assert_array_equal(frame.image, upright)
    assert source.turn is not Turn.none


def test_replay_of_a_clip_stored_turned_decides_as_the_upright_clip(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                    selfie_frames: list[np.ndarray]) -> None:
    upright = _write_mp4(tmp_path / "upright.mp4", selfie_frames, None)
    turned = _write_mp4(tmp_path / "turned.mp4", [np.ascontiguousarray(np.rot90(f, -1)) for f in selfie_frames], 90)
    tables = {}
    for clip in (upright, turned):
        out = tmp_path / clip.stem
        assert main(["replay", str(clip), "--out", str(out), "--no-progress"]) == 0
        tables[clip.stem] = (out / "features.csv").read_text()
        events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
        assert not [e for e in events if e["name"] == "driver_absent"]
    capsys.readouterr()
    assert tables["turned"] == tables["upright"]
    header, first = tables["turned"].splitlines()[:2]
    assert dict(zip(header.split(","), first.split(","), strict=True))["face_present"] in ("1", "True", "true")


def test_an_unsupported_display_angle_is_one_line_naming_the_file(tmp_path: Path, selfie_frames: list[np.ndarray]) -> None:
    clip = _write_mp4(tmp_path / "askew.mp4", selfie_frames[:2], 30)
    with pytest.raises(InputError, match=r"askew.mp4: the display matrix turns the picture by 30 degrees"):
        read_frames(clip)


@pytest.mark.parametrize(("rotate_deg", "turn"), [(90, Turn.clock), (180, Turn.half), (270, Turn.cclock)])
def test_the_camera_picture_is_turned_by_rotate_deg(tmp_path: Path, rotate_deg: int, turn: Turn) -> None:
    clip = write_clip(tmp_path / "cam.avi", "still", seconds=0.4, fps=25.0, size=(96, 64))
    pictures = {}
    for deg in (0, rotate_deg):
        camera = CameraSource(str(clip), CameraConfig(device=str(clip), rotate_deg=deg))
        camera.start()
        try:
            assert camera.wait_first_result(5.0)
            frame = camera.latest(2.0)
        finally:
            camera.stop()
        assert frame is not None
        pictures[deg] = frame.image
    assert pictures[0].shape == (64, 96, 3)
    np.testing.assert_array_equal(pictures[rotate_deg], apply_turn(pictures[0], turn))


def test_rotate_deg_takes_quarter_turns_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("camera:\n  rotate_deg: 45\n")
    assert main(["check-config", str(config)]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "camera.rotate_deg" in err


@pytest.mark.parametrize(("pixel_aspect", "square_size"), [(Fraction(2, 1), (320, 90)), (Fraction(1, 2), (160, 180))])
def test_non_square_pixels_are_stretched_to_square_ones(tmp_path: Path, selfie_frames: list[np.ndarray],
                                                        pixel_aspect: Fraction, square_size: tuple[int, int]) -> None:
    # An analogue camera digitised with non-square pixels: a player shows the picture
    # stretched, and the eye and mouth ratios must be measured on that picture.
    small = [cv2.resize(f, (160, 90), interpolation=cv2.INTER_AREA) for f in selfie_frames[:2]]
    clip = tmp_path / "sar.mp4"
    with av.open(str(clip), "w") as container:
        stream = container.add_stream("libx264rgb", rate=25, options={"qp": "0", "preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = 160, 90, "rgb24"
        stream.codec_context.sample_aspect_ratio = pixel_aspect
        for image in small:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    frames = read_frames(clip)
    assert [f.image.shape for f in frames] == [(square_size[1], square_size[0], 3)] * 2
    np.testing.assert_array_equal(frames[0].image, cv2.resize(small[0], square_size, interpolation=cv2.INTER_LINEAR))
