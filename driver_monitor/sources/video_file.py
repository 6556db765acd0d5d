"""Video files as a frame source: mp4 / mkv / avi / mov and GIF, decoded with PyAV.

Times come from the container (pts x time_base), never from its nominal FPS (REFERENCE.md
"video": never trust a file's FPS on replay). GIF frame delays are not reliable timestamps
(shared/data/README.md), so GIFs are read at a configured rate. A sidecar list of exact
capture times (a recording's timestamps.csv) overrides both.

A display matrix (a phone or dash camera that stored its picture lying down) is honoured as
every player honours it: frames come out upright (sources/orientation.py). Non-square pixels
(a sample aspect ratio other than 1: analogue cameras digitised at 720x480 or 720x576) are
stretched to square ones as a player shows them, because the eye and mouth ratios are
measured in pixels.

An interrupted recording (`partial`: its writer was killed or the disk filled up) ends where
its data ends: at the last frame that has both its picture and its time, without an error.
"""

from __future__ import annotations

import bisect
import logging
import os
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from av.sidedata.sidedata import Type as SideDataType

from driver_monitor.errors import InputError
from driver_monitor.messages import Frame
from driver_monitor.sources.orientation import Turn, UnsupportedTurn, apply_turn, display_turn

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = {".mp4", ".mkv", ".avi", ".mov", ".gif", ".webm", ".m4v"}
# Times closer than this are treated as equal and nudged forward so they strictly increase.
_MIN_STEP_S = 1e-3


class VideoFileSource:
    """Iterates a video file as `Frame`s with strictly increasing times (s from the start).

    Raises InputError (one line naming the file) when the file is missing, not a video, or
    breaks off mid-stream; frames yielded before the error are good and stay delivered.
    """

    def __init__(
        self,
        path: str | Path,
        gif_fps: float = 12.5,
        fallback_fps: float = 30.0,
        timestamps_s: Sequence[float] | None = None,
        partial: bool = False,
    ):
        self.path = Path(path)
        self.partial = partial
        self.gif_fps = gif_fps
        self.fallback_fps = fallback_fps
        self.timestamps_s = timestamps_s
        self.retimed_frames = 0  # frames whose time had to be nudged to keep times increasing
        self._pts_is_time: bool | None = None  # the pts carry the timestamps (a recording of ours): _check_pts
        self.turn = Turn.none  # how the display matrix turns the stored picture upright
        self._matrix: bytes | None = None
        if not self.path.exists():
            raise InputError(f"{self.path}: no such file")
        if self.path.is_dir():
            raise InputError(f"{self.path}: is a directory, not a video file")
        self._container = self._open()
        stream = self._video_stream()
        self.width = stream.codec_context.width
        self.height = stream.codec_context.height
        # Square pixels: stretch the shorter side, never drop resolution.
        sar = stream.sample_aspect_ratio
        self.pixel_aspect = sar if sar is not None and sar > 0 and sar != 1 else None
        if self.pixel_aspect is not None:
            log.info("%s: pixels of aspect ratio %s stretched to square ones: %dx%d -> %dx%d", self.path, sar,
                     self.width, self.height, *_square_size(self.width, self.height, self.pixel_aspect))
        self.frame_count_hint = stream.frames or 0
        duration = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else None
        if duration is None and self._container.duration:
            duration = self._container.duration / av.time_base
        # What the container promises; a stream that stops well short of it was cut off.
        self.declared_duration_s = duration
        if not self.frame_count_hint and duration:
            rate = float(stream.average_rate) if stream.average_rate else self.fallback_fps
            self.frame_count_hint = int(duration * rate)
        if timestamps_s is not None:
            self.frame_count_hint = len(timestamps_s)

    @property
    def is_gif(self) -> bool:
        return self.path.suffix.lower() == ".gif" or self._container.format.name == "gif"

    def _open(self) -> av.container.InputContainer:
        try:
            return av.open(str(self.path), mode="r")
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            raise InputError(f"{self.path}: not a readable video ({_short(exc)})") from None

    def _video_stream(self) -> av.video.stream.VideoStream:
        if not self._container.streams.video:
            self._container.close()
            raise InputError(f"{self.path}: contains no video stream")
        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"
        return stream

    def __iter__(self) -> Iterator[Frame]:
        stream = self._container.streams.video[0]
        last_t: float | None = None
        index = 0
        try:
            for av_frame in self._container.decode(stream):
                if self.partial and self.timestamps_s is not None and index >= len(self.timestamps_s):
                    break  # the writer stopped before this frame's time reached timestamps.csv
                t = self._time_of(av_frame, index, stream)
                if last_t is not None and t < last_t + _MIN_STEP_S:
                    t = last_t + _MIN_STEP_S
                    self.retimed_frames += 1
                last_t = t
                image = self._upright(av_frame, av_frame.to_ndarray(format="rgb24"))
                yield Frame(t=t, image=image, seq=index)
                index += 1
        except av.error.FFmpegError as exc:
            if not (self.partial and index > 0):
                raise InputError(f"{self.path}: corrupt or truncated video after frame {index} ({_short(exc)})") from None
            log.warning("%s: interrupted recording: its last frame is cut off (%s)", self.path, _short(exc))
        if index == 0:
            raise InputError(f"{self.path}: no decodable video frames")
        if self.partial:
            log.warning("%s: interrupted recording (meta.yaml complete: false): read up to its last complete frame, "
                        "%d frames, %.3f s", self.path, index, last_t if last_t is not None else 0.0)
            return
        self._check_complete(index, last_t)

    def _upright(self, av_frame: av.VideoFrame, image: np.ndarray) -> np.ndarray:
        """The picture as a player shows it: in square pixels, turned as the frame's display
        matrix says."""
        side = av_frame.side_data.get(SideDataType.DISPLAYMATRIX)
        matrix = bytes(side) if side is not None else None
        if matrix != self._matrix:
            self._matrix = matrix
            try:
                turn = display_turn(matrix)
            except UnsupportedTurn as exc:
                raise InputError(f"{self.path}: {exc}") from None
            if turn is not self.turn:
                log.info("%s: frames turned upright as its display matrix asks (%s)", self.path, turn.value)
            self.turn = turn
        if self.pixel_aspect is not None:
            size = _square_size(image.shape[1], image.shape[0], self.pixel_aspect)
            image = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
        return apply_turn(image, self.turn)

    def _check_complete(self, frames: int, last_t: float | None) -> None:
        """A cut-off MKV/MP4 often decodes without any error up to the cut: compare what was
        decoded with what the sidecar timestamps or the container header promised."""
        if self.timestamps_s is not None:
            if frames < len(self.timestamps_s):
                raise InputError(f"{self.path}: truncated video: {frames} of {len(self.timestamps_s)} frames in the timestamps")
            return
        if self.is_gif:
            # A GIF declares no duration; its data ends with the trailer byte 0x3B (GIF89a
            # spec, section 27). FFmpeg decodes a cut one up to the cut without a word.
            if not _ends_with_gif_trailer(self.path):
                raise InputError(f"{self.path}: truncated GIF: the file ends without its trailer, after {frames} frames")
            return
        if self.declared_duration_s is None or last_t is None or frames < 2:
            return
        period_s = last_t / (frames - 1) if last_t > 0 else 1.0 / self.fallback_fps
        # Frame times count from the stream's first pts; a Matroska duration counts from 0
        # (a live recording starts a while after its clock did): compare on the latter.
        stream = self._container.streams.video[0]
        start_s = float(stream.start_time * stream.time_base) if stream.start_time and stream.time_base else 0.0
        if last_t + max(0.0, start_s) + 3 * period_s < self.declared_duration_s:
            raise InputError(
                f"{self.path}: truncated video: frames end at {last_t:.2f} s, the container declares {self.declared_duration_s:.2f} s"
            )

    def _time_of(self, av_frame: av.VideoFrame, index: int, stream: av.video.stream.VideoStream) -> float:
        if self.timestamps_s is not None:
            if index >= len(self.timestamps_s):
                raise InputError(f"{self.path}: more frames than timestamps in the sidecar ({len(self.timestamps_s)})")
            t = float(self.timestamps_s[index])
            self._check_pts(av_frame, index, stream, t)
            return t
        if self.is_gif:
            return index / self.gif_fps
        if av_frame.pts is not None and stream.time_base is not None:
            start = stream.start_time or 0
            return float((av_frame.pts - start) * stream.time_base)
        return index / self.fallback_fps

    def _check_pts(self, av_frame: av.VideoFrame, index: int, stream: av.video.stream.VideoStream, t: float) -> None:
        """A recording of ours stores each frame's time as its pts in ms (recording/writer.py)
        and in timestamps.csv. Frames the decoder skips (a damaged stretch of the file) would
        shift every later frame onto an earlier row's time without a word: where the first
        frame shows that convention, a frame whose pts is the time of a later row is that row's
        frame: the rows before it lost theirs, and the video is corrupt from there. (Times that
        differ otherwise, a silence or a repeat written in the sidecar only, are taken by row,
        as a file of another clock is.)"""
        if av_frame.pts is None or stream.time_base is None:
            return
        pts_s = float(av_frame.pts * stream.time_base)
        if self._pts_is_time is None:
            self._pts_is_time = stream.time_base == _MS_TIME_BASE and abs(pts_s - t) <= _PTS_SLACK_S
        if self._pts_is_time and pts_s > t + _PTS_SLACK_S and self._is_a_later_row(pts_s, index):
            raise InputError(f"{self.path}: corrupt video: the frame after frame {index - 1} has the time {pts_s:.3f} s, "
                             f"timestamps.csv row {index} says {t:.3f} s (frames in between are lost)")

    def _is_a_later_row(self, time_s: float, index: int) -> bool:
        rows = self.timestamps_s
        assert rows is not None
        j = bisect.bisect_left(rows, time_s - _PTS_SLACK_S, lo=index + 1)
        return j < len(rows) and abs(float(rows[j]) - time_s) <= _PTS_SLACK_S

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> VideoFileSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_frames(path: str | Path, **kwargs: object) -> list[Frame]:
    """All frames of a (short) file, for tests and tools."""
    with VideoFileSource(path, **kwargs) as source:  # type: ignore[arg-type]
        return list(source)


def mirrored(frame: Frame) -> Frame:
    """The same frame flipped left-right (a mirrored camera)."""
    return Frame(t=frame.t, image=np.ascontiguousarray(frame.image[:, ::-1]), seq=frame.seq)


def _square_size(width: int, height: int, pixel_aspect: Fraction) -> tuple[int, int]:
    """(width, height) of the picture in square pixels: the shorter side stretched."""
    if pixel_aspect > 1:
        return round(width * pixel_aspect), height
    return width, round(height / pixel_aspect)


def _short(exc: BaseException) -> str:
    strerror = getattr(exc, "strerror", None)
    if strerror:
        return str(strerror)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    return text[:160]


_MS_TIME_BASE = Fraction(1, 1000)  # recording/writer.py's stream time base
_PTS_SLACK_S = 0.0015  # pts are whole ms, timestamps.csv keeps µs digits of the same ms times


def _ends_with_gif_trailer(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            if fh.tell() == 0:
                return False
            fh.seek(-1, os.SEEK_END)
            return fh.read(1) == b"\x3b"
    except OSError:
        return True  # unreadable now: the decoder has said what it could read
