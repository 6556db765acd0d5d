"""The camera: the pure fault monitor at exact times, and the grabber thread on real
OpenCV captures of small synthetic clips standing in for a camera."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from camera_clips import write_clip

from driver_monitor.config.service import CameraConfig, ReopenBackoff
from driver_monitor.perception.camera_health import CameraFaultMonitor, FrameStats, frame_stats
from driver_monitor.sources.camera import DEVICE_GONE, CameraSource, is_v4l2_source

GOOD = FrameStats(identical_to_previous=False, mean_luma=100.0, luma_std=40.0)
SAME = FrameStats(identical_to_previous=True, mean_luma=100.0, luma_std=40.0)
DARK = FrameStats(identical_to_previous=False, mean_luma=3.0, luma_std=1.0)
FLAT = FrameStats(identical_to_previous=False, mean_luma=128.0, luma_std=0.5)


def cfg(**kw: object) -> CameraConfig:
    base = dict(fps=10.0, no_frame_timeout_periods=5.0, frozen_frame_s=2.0, dark_lens_brightness=8.0,
                covered_lens_contrast=2.0, dark_lens_s=1.0)
    base.update(kw)
    return CameraConfig(**base)


def feed(monitor: CameraFaultMonitor, times: np.ndarray, stats: FrameStats) -> list:
    events = []
    for t in times:
        events += monitor.update(round(float(t), 6), stats, round(float(t), 6))
    return events


def test_good_frames_raise_no_fault() -> None:
    m = CameraFaultMonitor(cfg(), 0.0)
    assert feed(m, np.arange(0.0, 20.0, 0.1), GOOD) == []
    assert not m.active


def test_no_frame_fault_after_n_periods_and_recovery() -> None:
    m = CameraFaultMonitor(cfg(), 0.0)
    assert feed(m, np.arange(0.0, 1.05, 0.1), GOOD) == []  # last frame at t=1.0
    assert m.update(1.5, None) == []  # exactly 5 periods: not yet
    (start,) = m.update(1.51, None)
    assert (start.t, start.name, start.phase) == (1.51, "camera_fault", "start")
    assert start.detail == {"onset_t": 1.0, "reason": "no_frame"}
    assert m.update(1.9, None) == []  # one start only
    (end,) = m.update(2.0, GOOD, 2.0)
    assert (end.t, end.phase) == (2.0, "end")
    assert end.detail["onset_t"] == 2.0 and end.detail["duration_s"] == pytest.approx(1.0)


def test_no_frame_uses_the_source_frame_period() -> None:
    m = CameraFaultMonitor(cfg(), 0.0)
    m.update(0.0, GOOD, 0.0)
    # A 2 fps source: 5 periods are 2.5 s, so 1.0 s without a frame is no fault.
    assert m.update(1.0, None, period_s=0.5) == []
    assert m.update(2.6, None, period_s=0.5)[0].detail["reason"] == "no_frame"


def test_the_end_of_a_fault_names_every_reason_it_had() -> None:
    """A camera gone, then reopened but slow to deliver: the fault goes on under another
    reason, and its end names both (the journal's recovery line says what happened)."""
    m = CameraFaultMonitor(cfg(), 0.0)
    feed(m, np.arange(0.0, 1.05, 0.1), GOOD)
    (start,) = m.update(1.2, None, source_fault="device_gone")
    assert start.detail["reason"] == "device_gone"
    assert m.update(2.0, None) == [] and m.reasons == {"no_frame"}  # reopened, no frame yet
    (end,) = m.update(2.1, GOOD, 2.1)
    assert end.phase == "end" and end.detail["reason"] == "device_gone,no_frame"
    (again,) = m.update(3.0, None, source_fault="read_failed")
    assert again.detail["reason"] == "read_failed"  # a new fault starts with its own reasons
    (end,) = m.update(3.1, GOOD, 3.1)
    assert end.detail["reason"] == "read_failed"


def test_frozen_image_after_frozen_frame_s_of_identical_frames() -> None:
    m = CameraFaultMonitor(cfg(), 0.0)
    feed(m, np.arange(0.0, 0.95, 0.1), GOOD)
    events = feed(m, np.arange(1.0, 2.95, 0.1), SAME)  # identical since 1.0, 1.9 s so far
    assert events == []
    (start,) = m.update(3.0, SAME, 3.0)
    assert start.phase == "start" and start.detail == {"onset_t": 1.0, "reason": "frozen_image"}
    (end,) = m.update(3.1, GOOD, 3.1)
    assert end.phase == "end" and end.detail["reason"] == "frozen_image"


def test_dark_lens_reported_alone_and_covered_lens_when_flat_but_lit() -> None:
    m = CameraFaultMonitor(cfg(), 0.0)
    feed(m, np.arange(0.0, 0.45, 0.1), GOOD)
    assert feed(m, np.arange(0.5, 1.45, 0.1), DARK) == []  # 0.9 s < dark_lens_s
    (start,) = m.update(1.5, DARK, 1.5)
    assert start.detail == {"onset_t": 0.5, "reason": "dark_lens"}  # not also covered_lens
    m2 = CameraFaultMonitor(cfg(), 0.0)
    feed(m2, np.arange(0.0, 0.45, 0.1), GOOD)
    events = feed(m2, np.arange(0.5, 1.55, 0.1), FLAT)
    assert [(e.t, e.detail["reason"]) for e in events] == [(1.5, "covered_lens")]


def test_source_fault_is_immediate_and_masks_no_frame() -> None:
    m = CameraFaultMonitor(cfg(), 0.0)
    (start,) = m.update(0.2, None, source_fault=DEVICE_GONE)
    assert start.t == 0.2 and start.detail["reason"] == "device_gone"
    assert m.update(5.0, None, source_fault=DEVICE_GONE) == []
    assert m.reasons == {"device_gone"}
    (end,) = m.update(5.2, GOOD, 5.2)
    assert end.phase == "end" and end.detail["duration_s"] == pytest.approx(5.0)


def test_frame_stats_on_real_pictures() -> None:
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    assert frame_stats(a, a.copy()).identical_to_previous
    b = a.copy()
    b[0, 0, 0] ^= 1
    assert not frame_stats(b, a).identical_to_previous
    # One bit off in a row the quick comparison skips (every 16th row is sampled first).
    c = a.copy()
    c[17, 40, 2] ^= 1
    assert not frame_stats(c, a).identical_to_previous and frame_stats(c, c.copy()).identical_to_previous
    assert not frame_stats(a, a[:, :32]).identical_to_previous  # another size
    black = frame_stats(np.zeros((48, 64, 3), np.uint8), None)
    assert black.mean_luma == 0.0 and black.luma_std == 0.0
    assert frame_stats(a, None).luma_std > 30


def test_v4l2_sources_are_recognised() -> None:
    assert is_v4l2_source("0") and is_v4l2_source("/dev/video2")
    assert not is_v4l2_source("clip.mp4") and not is_v4l2_source("rtsp://cam/stream")


# ---- the grabber thread on real captures ---------------------------------------------


def take_frames(cam: CameraSource, seconds: float, work_s: float) -> list:
    frames = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        f = cam.latest(0.5)
        if f is not None:
            frames.append(f)
            time.sleep(work_s)  # a consumer slower than the camera
    return frames


def test_grabber_keeps_newest_frame_and_counts_skipped(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "cam.avi", "noise", seconds=0.6, fps=25.0, size=(96, 64))
    cam = CameraSource(str(clip), CameraConfig(device=str(clip)))
    cam.start()
    try:
        assert cam.wait_first_result(5.0)
        frames = take_frames(cam, 1.5, work_s=0.1)
    finally:
        cam.stop()
    seqs = [f.seq for f in frames]
    assert seqs == sorted(set(seqs))
    assert all(b.t > a.t for a, b in zip(frames, frames[1:], strict=False))
    # Every frame the consumer did not take between its first and last one is counted.
    assert cam.skipped_frames == seqs[-1] - seqs[0] + 1 - len(seqs)
    assert cam.skipped_frames >= len(seqs)  # 25 fps camera, ~9 fps consumer
    # The file is paced at its own 25 fps and looped at its end like a camera.
    assert cam.status.nominal_fps == pytest.approx(25.0)
    assert 25 <= cam.grabbed_frames <= 50
    assert cam.status.loops >= 1
    assert frames[0].image.shape == (64, 96, 3) and frames[0].image.dtype == np.uint8


def test_grabber_reports_gone_source_and_recovers_with_backoff(tmp_path: Path) -> None:
    clip = tmp_path / "cam.avi"
    config = CameraConfig(device=str(clip), reopen_backoff=ReopenBackoff(initial_s=0.05, factor=2.0, max_s=0.2))
    cam = CameraSource(str(clip), config)
    cam.start()
    try:
        assert not cam.wait_first_result(2.0)
        assert cam.status.fault == DEVICE_GONE and str(clip) in cam.status.fault_detail
        time.sleep(0.8)
        # Retries at 0.05, 0.1, 0.2, 0.2 ... s: several, but no busy loop.
        assert 3 <= cam.status.failed_opens <= 10
        write_clip(clip, "noise", seconds=0.4, fps=25.0, size=(64, 48))
        created = time.monotonic()
        frame = cam.latest(2.0)
        assert frame is not None and frame.t - created <= 0.2 + 0.15
        assert cam.status.fault is None and cam.status.open
    finally:
        cam.stop()


def test_deleted_file_camera_is_gone_at_its_end(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "cam.avi", "noise", seconds=0.4, fps=25.0, size=(64, 48))
    cam = CameraSource(str(clip), CameraConfig(device=str(clip)))
    cam.start()
    try:
        assert cam.wait_first_result(5.0)
        clip.unlink()
        deadline = time.monotonic() + 2.0
        while cam.status.fault is None and time.monotonic() < deadline:
            cam.latest(0.1)
        assert cam.status.fault == DEVICE_GONE
    finally:
        cam.stop()


@pytest.mark.parametrize(("kind", "reason"), [("still", "frozen_image"), ("black", "dark_lens"), ("flat", "covered_lens")])
def test_picture_faults_from_real_clips(tmp_path: Path, kind: str, reason: str) -> None:
    # 1.5 s: OpenCV's MJPG writer makes a clip's first frame differ from the rest, so each
    # loop of the file briefly unfreezes a "still" clip.
    clip = write_clip(tmp_path / f"{kind}.avi", kind, seconds=1.5, fps=25.0, size=(64, 48))
    config = CameraConfig(device=str(clip), frozen_frame_s=0.5, dark_lens_s=0.5)
    cam = CameraSource(str(clip), config)
    monitor = CameraFaultMonitor(config, time.monotonic())
    cam.start()
    events, previous = [], None
    try:
        end = time.monotonic() + 2.0
        while time.monotonic() < end and not events:
            f = cam.latest(0.2)
            stats = None
            if f is not None:
                stats, previous = frame_stats(f.image, previous), f.image
            events += monitor.update(time.monotonic(), stats, f.t if f else None, cam.status.fault, cam.period_s)
    finally:
        cam.stop()
    assert [(e.name, e.phase, e.detail["reason"]) for e in events] == [("camera_fault", "start", reason)]


@pytest.mark.parametrize("shape", [(1, 640, 3), (16, 16, 3), (23, 640, 3)])
def test_frames_too_small_to_hold_a_face_are_a_camera_fault_not_an_empty_seat(shape: tuple[int, int, int]) -> None:
    # A camera delivering 640x1 or 16x16 pictures was never faulty: its frames were judged,
    # and the daemon raised driver_absent.
    from driver_monitor.config import Config
    from driver_monitor.messages import Frame
    from driver_monitor.pipeline import Pipeline

    class NoFace:
        def track(self, frame: Frame) -> None:
            return None

    class Events:
        def __init__(self) -> None:
            self.events: list = []

        def write(self, result) -> None:
            self.events += [(e.t, e.phase, e.detail.get("reason"), e.detail.get("why"))
                            for e in result.events if e.name == "camera_fault"]

        def close(self) -> None:
            pass

    sink = Events()
    pipeline = Pipeline(Config(), NoFace(), [sink])  # type: ignore[arg-type, list-item]
    rng = np.random.default_rng(3)
    for k in range(40):  # 4 s of small frames, then good ones
        pipeline.process(Frame(k / 10, rng.integers(30, 220, shape if k < 20 else (120, 160, 3), dtype=np.uint8)))
    events = sink.events
    assert events == [(0.0, "start", "small_frame", "frames smaller than 24 pixels on a side"), (2.0, "end", "small_frame", None)]
    assert pipeline.frames == 20  # the good ones only were judged
    assert frame_stats(np.zeros((24, 32, 3), np.uint8), None).too_small is False
