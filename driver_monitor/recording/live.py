"""The recording `driver-monitor record` writes while the live pipeline runs (docs/recording.md):
the frames the pipeline processed, with their capture times, the CAN frames and the serial
heart-rate lines with the receive times the pipeline used.

    loop thread     frame(frame)  -> a bounded queue (the frame loop never waits on the
                                     encoder unless the encoder falls 2 s behind)
    writer thread   encode + mux + timestamps.csv row (recording/writer.py, streaming)
    CAN thread      can_message   -> can.blf      (recording/can_log.py)
    serial thread   heart_rate_line -> heart_rate.csv

Exactly the processed frames are recorded: when the queue stays full (a disk that cannot keep
up) the loop waits for it — the camera then skips frames the pipeline never sees — and after
STALL_S the recording stops with one line saying why. Any write error (disk full) stops it
the same way; everything written before stays readable (the writers' kill-safe order).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from pathlib import Path
from typing import Any

import can
import numpy as np

from driver_monitor.errors import one_line
from driver_monitor.messages import Frame
from driver_monitor.recording.can_log import CAN_LOG_NAME, CanLogWriter
from driver_monitor.recording.files import AppendFile
from driver_monitor.recording.format import (
    CAMERA_FPS_KEY,
    COMPLETE_KEY,
    HEART_RATE_HEADER,
    HEART_RATE_LOG_NAME,
    META_NAME,
    NO_VIDEO,
    SERIAL_ACK_NAME,
    TIMESTAMPS_HEADER,
    TIMESTAMPS_NAME,
    heart_rate_row,
    timestamp_row,
    write_meta,
)
from driver_monitor.recording.writer import RecordingError, RecordingWriter, even_size

log = logging.getLogger(__name__)

QUEUE_S = 2.0  # frames the encoder may fall behind, in seconds of camera time
STALL_S = 5.0  # the encoder keeping the queue full this long stops the recording
_END = None


class LiveRecording:
    """One recording directory being written. `meta`: what meta.yaml says besides the video
    (source, start time, versions, `can_start_time_s`); it is written with the first frame."""

    def __init__(self, root: Path, meta: dict[str, Any], codec: str = "h264_lossless", crf: int = 18,
                 preset: str = "ultrafast", video: bool = True, can_log: bool = False, heart_rate_log: bool = False):
        self.root = Path(root)
        self.meta = dict(meta)
        self.codec, self.crf, self.preset, self.video = codec, crf, preset, video
        self.frames = 0  # frames handed over (= processed by the pipeline)
        self.error: str | None = None
        self.camera_fps: float | None = None
        self._writer: RecordingWriter | None = None
        self._writer_failed = False  # the video itself cannot be written (a full disk)
        self._rows: AppendFile | None = None  # --no-video: timestamps only
        self._queue: queue.Queue[tuple[float, np.ndarray] | None] | None = None
        self._thread: threading.Thread | None = None
        self._shape: tuple[int, ...] | None = None
        self._first_t: float | None = None
        self._last_t: float | None = None
        self.has_heart_rate_log = heart_rate_log
        self.can_log = CanLogWriter(self.root / CAN_LOG_NAME) if can_log else None
        self._heart_rate: AppendFile | None = None
        self._acks: AppendFile | None = None
        self._heart_rate_lock = threading.Lock()
        if heart_rate_log:
            self._heart_rate = AppendFile(self.root / HEART_RATE_LOG_NAME, HEART_RATE_HEADER)

    # ---- from the frame loop --------------------------------------------------------------
    def frame(self, frame: Frame, period_s: float | None = None) -> None:
        """A frame the pipeline processed (after it did). May wait while the encoder is 2 s
        behind; never raises (a problem becomes `error`, which stops the loop)."""
        if self.error is not None:
            return
        try:
            if self._shape is None:
                self._start(frame, period_s)
            elif frame.image.shape != self._shape:
                h, w = frame.image.shape[:2]
                raise RecordingError(f"{self.root}: the camera picture changed size from {self._shape[1]}x{self._shape[0]} "
                                     f"to {w}x{h}; the recording stops here")
            if self._last_t is not None and int(round(frame.t * 1000)) <= int(round(self._last_t * 1000)):
                # Cannot come from the loop (its clock has a 1 ms grid and it takes only frames
                # later than its last result), and the container keeps ms: refuse loudly.
                raise RecordingError(f"{self.root}: frame times must increase by >= 1 ms ({frame.t} after {self._last_t})")
            self._last_t = frame.t
            if self._first_t is None:
                self._first_t = frame.t
            if self._queue is not None:
                try:
                    self._queue.put((frame.t, frame.image), timeout=STALL_S)
                except queue.Full:
                    raise RecordingError(f"{self.root}: the disk does not keep up: the encoder is {STALL_S:g} s "
                                         f"behind; the recording stops here") from None
            elif self._rows is not None:
                self._rows.append(timestamp_row(self.frames, frame.t))
            self.frames += 1
        except RecordingError as exc:
            self._fail(str(exc))
        except OSError as exc:
            self._fail(f"{self.root}: writing the recording failed ({exc.strerror or one_line(exc)}) after "
                       f"{self.frames} frames; it stays readable up to there")

    def stop_reason(self) -> str | None:
        return self.error

    # ---- from the input threads -----------------------------------------------------------
    def can_message(self, msg: can.Message, t: float) -> None:
        if self.can_log is not None:
            self.can_log.add(msg, t)
            if self.can_log.error is not None and self.error is None:
                self._fail(self.can_log.error)

    def serial_ack(self, t: float) -> None:
        """An ACK press from the serial board, merged into the frame at t (the loop's thread)."""
        try:
            if self._acks is None:
                self._acks = AppendFile(self.root / SERIAL_ACK_NAME, "t_s\n")
            self._acks.append(f"{t:.6f}\n")
        except OSError as exc:
            self._fail(f"{self.root / SERIAL_ACK_NAME}: writing failed ({exc.strerror})")

    def heart_rate_line(self, line: bytes, t: float) -> None:
        with self._heart_rate_lock:
            if self._heart_rate is None:
                return
            try:
                self._heart_rate.append(heart_rate_row(t, line))
            except OSError as exc:
                self._heart_rate.close()
                self._heart_rate = None
                self._fail(f"{self.root / HEART_RATE_LOG_NAME}: writing failed ({exc.strerror})")

    # ---- state ----------------------------------------------------------------------------
    @property
    def frames_on_disk(self) -> int:
        if self._writer is not None:
            return self._writer.frames_on_disk
        return self.frames if self._rows is not None else 0

    @property
    def width(self) -> int:
        return self._writer.width if self._writer is not None else (self._shape[1] if self._shape else 0)

    @property
    def height(self) -> int:
        return self._writer.height if self._writer is not None else (self._shape[0] if self._shape else 0)

    @property
    def first_t(self) -> float | None:
        """Time of the first recorded frame (None before it)."""
        return self._first_t

    @property
    def duration_s(self) -> float:
        """Recording time covered: first to last recorded frame."""
        return (self._last_t - self._first_t) if self._first_t is not None and self._last_t is not None else 0.0

    def bytes_written(self) -> int:
        total = 0
        try:
            with os.scandir(self.root) as entries:
                for entry in entries:
                    if entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_size
        except OSError:
            pass
        return total

    def close(self, meta: dict[str, Any] | None = None) -> None:
        """Drain the queue, finish the video and meta.yaml (`complete: true`), close the logs.
        After an error the directory is left as it is: readable, `complete: false`."""
        if self._queue is not None and self._thread is not None:
            self._queue.put(_END)
            self._thread.join()
        if self.can_log is not None:
            self.can_log.close()
        if self._acks is not None:
            self._acks.close()
        with self._heart_rate_lock:
            if self._heart_rate is not None:
                self._heart_rate.close()
                self._heart_rate = None
        extra = {**(meta or {}), **({"can_frames": self.can_log.frames} if self.can_log is not None else {})}
        if self._writer is not None:
            if self.error is not None:
                self._writer.abort()
                return
            try:
                self._writer.close(extra)
            except RecordingError as exc:
                self._fail(str(exc))
        elif self._rows is not None:
            self._rows.close()
            if self.error is None:
                try:
                    write_meta(self.root / META_NAME, {**self._meta_body(), COMPLETE_KEY: True, "frames": self.frames, **extra})
                except OSError as exc:
                    self._fail(f"{self.root / META_NAME}: not written ({exc.strerror})")

    # ---- parts -----------------------------------------------------------------------------
    def _start(self, frame: Frame, period_s: float | None) -> None:
        self._shape = frame.image.shape
        if period_s and period_s > 0 and round(1.0 / period_s, 3) > 0:  # replay refuses a camera_fps of 0
            self.camera_fps = round(1.0 / period_s, 3)
        h, w = frame.image.shape[:2]
        if not self.video:
            self._rows = AppendFile(self.root / TIMESTAMPS_NAME, TIMESTAMPS_HEADER)
            write_meta(self.root / META_NAME, {COMPLETE_KEY: False, **self._meta_body(), "width_px": w, "height_px": h})
            return
        w, h = even_size(self.codec, w, h)
        self._writer = RecordingWriter(self.root, w, h, codec=self.codec, crf=self.crf, preset=self.preset,
                                       streaming=True, meta=self._meta_body())
        fps = self.camera_fps or 30.0
        self._queue = queue.Queue(maxsize=max(2, int(QUEUE_S * fps)))
        self._thread = threading.Thread(target=self._write_frames, name="recording-writer", daemon=True)
        self._thread.start()

    def _meta_body(self) -> dict[str, Any]:
        body = dict(self.meta)
        if not self.video:
            body["video"] = NO_VIDEO
        if self.camera_fps is not None:
            body[CAMERA_FPS_KEY] = self.camera_fps
        return body

    def _write_frames(self) -> None:
        assert self._queue is not None and self._writer is not None
        writer = self._writer
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if self._writer_failed:
                continue  # drain: the loop stops at the error
            t, image = item
            try:
                writer.add_frame(t, image[: writer.height, : writer.width])
            except RecordingError as exc:
                self._writer_failed = True
                self._fail(str(exc))
            except Exception as exc:  # an encoder problem is this recording's end, never the daemon's
                self._writer_failed = True
                self._fail(f"{self.root}: encoding failed ({one_line(exc)}) after {writer.frames_on_disk} frames")

    def _fail(self, text: str) -> None:
        if self.error is None:
            self.error = text  # record says it, once, when it stops (one line)
            log.debug("%s", text)
