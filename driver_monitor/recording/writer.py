"""Write a recording directory (docs/recording.md): MKV video with exact per-frame times.

PyAV keeps millisecond-exact timestamps in MKV when the stream and codec time base are
1/1000 and no frame rate is set (with a rate it snaps pts to the rate's grid; REFERENCE.md
"video"). The same times go to timestamps.csv at microsecond resolution.

Streaming (a live recording, `record` and the event clips): the directory is readable at
every moment, so a recording killed in any way (SIGKILL, power, a full disk) replays up to
its last complete frame:

- meta.yaml is written first with `complete: false` and replaced (atomically) on close;
- every frame is its own Matroska cluster, flushed to the file as soon as the next frame
  arrives (FFmpeg writes a cluster when it ends; `cluster_time_limit 0`, `flush_packets 1`);
- the encoder holds no frames back (FFV1 is intra-only; x264 runs with zero latency: no
  B-frames, no look-ahead), so one packet per frame leaves the encoder at once;
- timestamps.csv gets a frame's row only after that frame is in the file, one write per
  row; a failed write is cut back to the last whole row.
"""

from __future__ import annotations

import contextlib
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from driver_monitor.errors import InputError
from driver_monitor.recording.files import AppendFile, create_private, make_private_dir
from driver_monitor.recording.format import (
    COMPLETE_KEY,
    META_NAME,
    TIMESTAMPS_HEADER,
    TIMESTAMPS_NAME,
    timestamp_row,
    write_meta,
    write_timestamps,
)

_MS = Fraction(1, 1000)
VIDEO_NAME = "video.mkv"
# Codec names of the config (config/recording.VideoCodec) -> FFmpeg encoders.
ENCODERS = {"ffv1": "ffv1", "h264": "libx264", "libx264": "libx264", "h264_lossless": "libx264rgb", "libx264rgb": "libx264rgb"}
# Encoders of 4:2:0 pictures (even width and height only).
SUBSAMPLED = {"libx264"}


def even_size(codec: str, width: int, height: int) -> tuple[int, int]:
    """The picture size `codec` can store: 4:2:0 needs even sizes (the odd last row / column
    is cut); the RGB codecs keep every pixel."""
    if ENCODERS.get(codec, codec) in SUBSAMPLED:
        return width - width % 2, height - height % 2
    return width, height


class RecordingError(InputError):
    """Writing the recording failed (disk full, directory gone, ...): one line naming the
    file, how many frames are in it, and that it stays readable up to there."""


class RecordingWriter:
    """Frames in (RGB uint8, time in s from the recording start), a recording directory out.

    codec "libx264"/"h264" (crf 18: compact, for real footage) or "ffv1" (lossless: keeps the
    sub-percent skin-colour pulse that camera heart rate needs). `streaming`: a live
    recording, readable at every moment (module docstring); `meta` then goes to meta.yaml
    at once (with `complete: false`) and again, completed, on close.
    """

    def __init__(self, root: str | Path, width: int, height: int, codec: str = "libx264", crf: int = 18,
                 preset: str = "medium", streaming: bool = False, meta: dict[str, Any] | None = None):
        self.root = Path(root)
        self.streaming = streaming
        self.meta: dict[str, Any] = dict(meta or {})
        self.video_path = self.root / VIDEO_NAME
        self.times_s: list[float] = []
        self._rows: AppendFile | None = None
        self._rows_written = 0
        self._packets = 0
        self._closed = False
        encoder = ENCODERS.get(codec, codec)
        try:
            make_private_dir(self.root) if streaming else self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{self.root}: cannot create the recording directory ({exc.strerror})") from None
        try:
            create_private(self.video_path)
            if streaming:
                write_meta(self.root / META_NAME, {COMPLETE_KEY: False, **self._body(width, height, encoder)})
                self._rows = AppendFile(self.root / TIMESTAMPS_NAME, TIMESTAMPS_HEADER)
            options = {"flush_packets": "1", "cluster_time_limit": "0"} if streaming else {}
            self._container = av.open(str(self.video_path), mode="w", options=options)
        except OSError as exc:
            self._close_rows()
            raise RecordingError(f"{self.root}: cannot write the recording ({exc.strerror or exc})") from None
        stream = self._container.add_stream(encoder)
        stream.width, stream.height = width, height
        stream.time_base = _MS
        stream.codec_context.time_base = _MS
        if encoder == "ffv1":
            stream.pix_fmt = "bgr0"
        elif encoder == "libx264rgb":
            # Lossless (qp 0) RGB: the frames go in as they are (no colour conversion) and a
            # decoder gives back the same bytes (tests/test_recording_codecs.py). ultrafast:
            # the slower presets save 10-20 % of the bytes for 2.7-3.8x the CPU on the real
            # clips (2026-12-05, docs/performance.md "Recording").
            stream.pix_fmt = "rgb24"
            stream.options = self._x264_options({"qp": "0", "preset": "ultrafast"}, streaming)
        else:
            stream.pix_fmt = "yuv420p"
            stream.options = self._x264_options({"crf": str(crf), "preset": preset}, streaming)
        self._encoder = encoder
        self._stream = stream

    @staticmethod
    def _x264_options(options: dict[str, str], streaming: bool) -> dict[str, str]:
        # One encoder thread: the writer already runs beside the frame loop, and x264's own
        # threads cost 10-20 % more CPU per frame in synchronisation (640x480, measured
        # 2026-12-05) for a speed a 30 fps camera does not need.
        options = {**options, "threads": "1"}
        if streaming:
            options["tune"] = "zerolatency"
        return options

    @property
    def width(self) -> int:
        return self._stream.width

    @property
    def height(self) -> int:
        return self._stream.height

    @property
    def frames_on_disk(self) -> int:
        """Frames a reader finds in the directory now (streaming: rows in timestamps.csv)."""
        return self._rows_written if self.streaming else len(self.times_s)

    def video_bytes(self) -> int:
        try:
            return self.video_path.stat().st_size
        except OSError:
            return 0

    def add_frame(self, t: float, image: np.ndarray) -> None:
        pts = int(round(t * 1000.0))
        if self.times_s and pts <= int(round(self.times_s[-1] * 1000.0)):
            raise ValueError(f"frame times must increase by >= 1 ms ({t} after {self.times_s[-1]})")
        # The frame wraps the array (from_numpy_buffer: no copy; from_ndarray copied the
        # picture, 0.25-0.8 ms of a 640x480 frame); the encoder is done with it when encode()
        # returns (x264 and FFV1 take their own copy or encode at once).
        if self._encoder in SUBSAMPLED:
            # OpenCV's SIMD RGB -> I420 (BT.601, limited range: what swscale does by default
            # and what a decoder assumes) costs ~0.5 ms at 640x480 against ~2 ms in swscale.
            frame = av.VideoFrame.from_numpy_buffer(cv2.cvtColor(image, cv2.COLOR_RGB2YUV_I420), format="yuv420p")
        elif image.strides[1:] == (3, 1):  # rows of packed RGB, whatever the row stride (a cut odd column)
            frame = av.VideoFrame.from_numpy_buffer(image, format="rgb24", width=image.shape[1])
        else:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        frame.pts = pts
        frame.time_base = _MS
        try:
            packets = self._stream.encode(frame)
            self.times_s.append(pts / 1000.0)
            for packet in packets:
                self._container.mux(packet)
                self._packets += 1
            if self.streaming:
                # A frame's cluster reaches the file when the next frame's packet is muxed.
                self._write_rows(self._packets - 1)
        except OSError as exc:
            raise self._error(exc) from None

    def close(self, meta: dict[str, Any] | None = None) -> None:
        """Flush the encoder and finish the directory. A failure (disk full) raises
        RecordingError; the directory then stays what it was: readable, `complete: false`."""
        if self._closed:
            return
        self._closed = True
        try:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
                self._packets += 1
            self._container.close()
        except OSError as exc:
            self._close_rows()
            raise self._error(exc) from None
        self.meta.update(meta or {})
        body = {
            "frames": len(self.times_s),
            "duration_s": round(self.times_s[-1] - self.times_s[0], 3) if self.times_s else 0.0,
            **self._body(self._stream.width, self._stream.height, self._stream.codec_context.name),
        }
        try:
            if self.streaming:
                self._write_rows(len(self.times_s))
                self._close_rows()
                write_meta(self.root / META_NAME, {COMPLETE_KEY: True, **body})
            else:
                write_timestamps(self.root / TIMESTAMPS_NAME, self.times_s)
                write_meta(self.root / META_NAME, body)
        except OSError as exc:
            self._close_rows()
            raise self._error(exc) from None

    def abort(self) -> None:
        """Stop without finishing (after an error): release the files; the directory stays
        readable up to its last complete frame, meta.yaml `complete: false`."""
        if self._closed:
            return
        self._closed = True
        # The disk that failed a frame may fail the trailer too: then the rows stay as they
        # are; if the container closes, every frame muxed so far is in the file.
        with contextlib.suppress(OSError, ValueError):
            self._container.close()
            if self.streaming:
                self._write_rows(self._packets)
        self._close_rows()

    # ---- parts ---------------------------------------------------------------------------
    def _body(self, width: int, height: int, encoder: str) -> dict[str, Any]:
        body: dict[str, Any] = {"width_px": width, "height_px": height, "video": self.video_path.name, "codec": encoder}
        body.update(self.meta)
        return body

    def _write_rows(self, upto: int) -> None:
        """Rows for frames [written, upto) of times_s, one write each."""
        assert self._rows is not None
        while self._rows_written < min(upto, len(self.times_s)):
            self._rows.append(timestamp_row(self._rows_written, self.times_s[self._rows_written]))
            self._rows_written += 1

    def _close_rows(self) -> None:
        if self._rows is not None:
            self._rows.close()
            self._rows = None

    def _error(self, exc: OSError) -> RecordingError:
        why = exc.strerror or str(exc)
        return RecordingError(f"{self.root}: writing the recording failed ({why}) after {self.frames_on_disk} frames; "
                              f"it stays readable up to there")
