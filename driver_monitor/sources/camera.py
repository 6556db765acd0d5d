"""The live camera: OpenCV capture on a grabber thread that keeps only the newest frame.

Why a grabber thread: V4L2 drivers queue frames; a loop that reads only when it is ready
for the next one would process old pictures with growing lag (REFERENCE.md "video"). The
thread reads as fast as the camera delivers and keeps the newest frame with its capture
time (time.monotonic) and sequence number; the frame loop takes the newest and counts
the ones it never saw as skipped.

Sources: a V4L2 device path (/dev/video0) or index ("0") opens with CAP_V4L2 and the
configured mode; any other path or URL opens with OpenCV's default backend, so a video
file can stand in for a camera. A file is played at its own frame rate and, at its end,
reopened like a re-plugged camera (a file deleted meanwhile is then a `device_gone`), or,
with `loop=False` (`record`: a file is recorded once), the source ends (`exhausted()`).

Faults the thread itself sees (`open_failed`, `device_gone`, `read_failed`) close the
capture and reopen it with exponential backoff; the picture faults (no frame, frozen,
dark, covered) are judged inside the Pipeline (perception/camera_health.py) from the
frames' times and statistics, as in a replay.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

# OpenCV's FFmpeg writes its own complaints straight to stderr ("[mov,mp4,...] moov atom not
# found"), once for every reopen of a bad file: raw lines in the journal beside the one
# camera_fault line that already says the source cannot be opened. Quiet (AV_LOG_QUIET) unless
# the environment asks otherwise (OPENCV_FFMPEG_LOGLEVEL=32 shows them while debugging).
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

from driver_monitor.backoff import Backoff
from driver_monitor.config.service import CameraConfig
from driver_monitor.messages import Frame
from driver_monitor.perception.picture import rgb8
from driver_monitor.sources.orientation import apply_turn, turn_for_degrees

log = logging.getLogger(__name__)

# Source faults raised by the grabber thread.
OPEN_FAILED = "open_failed"
DEVICE_GONE = "device_gone"
READ_FAILED = "read_failed"

def is_v4l2_source(source: str) -> bool:
    return source.isdigit() or source.startswith("/dev/")


@dataclass
class CameraStatus:
    source: str
    open: bool = False
    fault: str | None = None  # the grabber's own fault, None while frames flow
    fault_detail: str = ""
    nominal_fps: float = 0.0
    width_px: int = 0
    height_px: int = 0
    opens: int = 0  # successful opens (the first one included)
    failed_opens: int = 0
    loops: int = 0  # times a video-file camera was replayed from its start
    ended: bool = False  # a video file played once to its end (loop=False)


class _FilePace:
    """When a file's next frame is due on the clock: at its own position in the file (OpenCV's
    CAP_PROP_POS_MSEC, the container pts) after the first one, so a file with exact times (a
    recording, a synthetic drive) plays at the rate it was captured; at the nominal rate when
    the position does not advance. Late frames are not caught up in a burst."""

    def __init__(self) -> None:
        self._start: float | None = None  # clock at the first frame
        self._first_pos = 0.0
        self._last_pos = -math.inf
        self._last_due = -math.inf

    def due(self, pos_s: float, period_s: float, now: float) -> float:
        if self._start is None:
            self._start, self._first_pos, self._last_pos, self._last_due = now, pos_s, pos_s, now
            return now
        if math.isfinite(pos_s) and pos_s > self._last_pos:
            due = self._start + (pos_s - self._first_pos)
            self._last_pos = pos_s
        else:
            due = self._last_due + period_s
        if due < now - period_s:  # behind (a slow decode): restart the schedule from now
            self._start, self._first_pos = now - (self._last_pos - self._first_pos), self._first_pos
            due = now
        self._last_due = due
        return due


class CameraSource:
    """Grabber thread around cv2.VideoCapture. `latest(timeout)` hands the newest frame (RGB)
    that the caller has not seen yet, or None; it never blocks longer than `timeout`."""

    def __init__(self, source: str, config: CameraConfig, clock: Callable[[], float] = time.monotonic,
                 loop: bool = True):
        self.source = str(source)
        self.loop = loop
        self.config = config
        self.clock = clock
        self.is_device = is_v4l2_source(self.source)
        self.status = CameraStatus(source=self.source)
        self._turn = turn_for_degrees(config.rotate_deg)
        self.skipped_frames = 0
        self.grabbed_frames = 0
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._newest: tuple[int, float, np.ndarray] | None = None  # (seq, t, BGR image)
        self._seq = 0
        self._last_taken_seq = 0
        self._thread: threading.Thread | None = None
        self._backoff = Backoff(config.reopen_backoff.initial_s, config.reopen_backoff.max_s,
                                config.reopen_backoff.factor, clock)
        self.next_reopen_t: float | None = None
        if self.is_device:
            # OpenCV's V4L2 backend waits this long in select() for a frame before read()
            # fails (default 10 s); keep it near the no-frame timeout so a stalled device is
            # reopened rather than waited on for ever. Read once per process by OpenCV.
            timeout_s = max(1, math.ceil(config.no_frame_timeout_periods * config.frame_period_s * 2))
            os.environ.setdefault("OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT", str(timeout_s))

    # ---- consumer side -------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="camera-grabber", daemon=True)
        self._thread.start()

    def latest(self, timeout: float) -> Frame | None:
        deadline = time.monotonic() + max(0.0, timeout)
        with self._cond:
            while self._newest is None or self._newest[0] <= self._last_taken_seq:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stop.is_set():
                    return None
                self._cond.wait(remaining)
            seq, t, image = self._newest
            if self._last_taken_seq and seq > self._last_taken_seq + 1:
                self.skipped_frames += seq - self._last_taken_seq - 1
            self._last_taken_seq = seq
        # OpenCV delivers BGR (or grey, or BGRA: a GStreamer pipeline, an IR sensor, on which
        # BGR2RGB raised out of the daemon's loop); Frame is RGB. Converted (and turned upright,
        # camera.rotate_deg) here, on the consumer's side, so the grabber does no work for
        # frames that will be skipped.
        return Frame(t=t, image=apply_turn(rgb8(image, bgr=True), self._turn), seq=seq)

    def wait_started(self, timeout_s: float, stop: threading.Event) -> bool:
        """At start: wait up to timeout_s for a first frame or a fault (say so when neither
        came). True if a frame came."""
        deadline = time.monotonic() + timeout_s
        while not stop.is_set() and time.monotonic() < deadline:
            if self.wait_first_result(0.1):
                return True
            if self.status.fault is not None:
                return False
        if not stop.is_set():
            log.warning("camera %s: no frame within %.1f s of start", self.source, timeout_s)
        return False

    def wait_first_result(self, timeout: float) -> bool:
        """Wait until the camera delivered a frame or reported a fault. True if a frame came."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._newest is None and self.status.fault is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return self._newest is not None

    def exhausted(self) -> bool:
        """A video file played once to its end (loop=False) and its last frame taken."""
        with self._cond:
            return self.status.ended and (self._newest is None or self._newest[0] <= self._last_taken_seq)

    @property
    def period_s(self) -> float:
        fps = self.status.nominal_fps
        return 1.0 / fps if fps > 0 else self.config.frame_period_s

    def reopened(self, config: CameraConfig) -> CameraSource:
        """This camera stopped and a new one started with `config` (a reload changed the
        capture mode); the count of skipped frames carries over."""
        self.stop()
        camera = CameraSource(config.device, config, clock=self.clock, loop=self.loop)
        camera.skipped_frames = self.skipped_frames
        camera.start()
        return camera

    def stop(self, timeout: float = 1.0) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    # ---- grabber thread ------------------------------------------------------------
    def _run(self) -> None:
        cap: cv2.VideoCapture | None = None
        pace = _FilePace()
        frames_since_open = 0
        try:
            while not self._stop.is_set():
                if cap is None:
                    if self.next_reopen_t is not None:
                        wait = self.next_reopen_t - self.clock()
                        if wait > 0 and self._stop.wait(wait):
                            break
                    cap = self._open()
                    frames_since_open = 0
                    pace = _FilePace()
                    if cap is None:
                        continue
                ok, image = cap.read()
                if ok and image is not None and not self.is_device:
                    # A file delivers as fast as it decodes: each frame is handed over at its
                    # own time in the file (container pts), like a camera delivering it.
                    wait = pace.due(cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0, self.period_s, self.clock()) - self.clock()
                    if wait > 0 and self._stop.wait(wait):
                        break
                t = self.clock()
                if not ok or image is None:
                    cap.release()
                    cap = None
                    if not self.is_device and frames_since_open > 0 and not self.loop:
                        with self._cond:
                            self.status.ended = True  # played once: the source ends here
                            self._cond.notify_all()
                        break
                    if not self.is_device and frames_since_open > 0:
                        # End of a file standing in for a camera: play it again at once.
                        self.status.loops += 1
                        self.next_reopen_t = None
                        continue
                    self._set_fault(READ_FAILED, f"{self.source}: read failed")
                    self._schedule_reopen()
                    continue
                frames_since_open += 1
                self.grabbed_frames += 1
                with self._cond:
                    self._seq += 1
                    self._newest = (self._seq, t, image)
                    if self.status.fault is not None:
                        self.status.fault = None
                        self.status.fault_detail = ""
                    self._backoff.reset()
                    self._cond.notify_all()
        finally:
            if cap is not None:
                cap.release()
            self.status.open = False

    def _open(self) -> cv2.VideoCapture | None:
        src = self.source
        if self.is_device:
            path = f"/dev/video{src}" if src.isdigit() else src
            if not os.path.exists(path):
                return self._open_failed(DEVICE_GONE, f"{path}: no such device")
            cap = cv2.VideoCapture(int(src) if src.isdigit() else src, cv2.CAP_V4L2)
            if cap.isOpened():
                self._apply_mode(cap)
        else:
            if "://" not in src and not os.path.exists(src):
                return self._open_failed(DEVICE_GONE, f"{src}: no such file")
            cap = cv2.VideoCapture(src)
        if not cap.isOpened():
            cap.release()
            return self._open_failed(OPEN_FAILED, f"{src}: cannot be opened")
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.status.nominal_fps = float(fps) if fps and 0 < fps <= 240 else self.config.fps
        self.status.width_px = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.status.height_px = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.status.open = True
        self.status.opens += 1
        self.next_reopen_t = None
        if self.status.opens == 1 or self.status.fault is not None:
            log.info("camera %s open: %dx%d at %.1f frames/s", src, self.status.width_px,
                     self.status.height_px, self.status.nominal_fps)
        return cap

    def _apply_mode(self, cap: cv2.VideoCapture) -> None:
        cfg = self.config
        if cfg.fourcc:
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*cfg.fourcc))
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, cfg.width_px)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, cfg.height_px)
        cap.set(cv2.CAP_PROP_FPS, cfg.fps)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, cfg.buffer_size)

    def _open_failed(self, reason: str, detail: str) -> None:
        self.status.open = False
        self.status.failed_opens += 1
        self._set_fault(reason, detail)
        self._schedule_reopen()
        return None

    def _set_fault(self, reason: str, detail: str) -> None:
        with self._cond:
            self.status.open = False
            self.status.fault = reason
            self.status.fault_detail = detail
            self._cond.notify_all()

    def _schedule_reopen(self) -> None:
        wait = self._backoff.failed()
        self.next_reopen_t = self.clock() + wait
        log.debug("camera %s: reopening in %.1f s", self.source, wait)
