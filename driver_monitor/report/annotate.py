"""The drive's video with what the pipeline saw and decided drawn on every frame: eye and iris
contours, head-pose axes, the gaze ray, the gaze zone, the eye closure, the active events and
the policy's actions. Same frames, same times as the input (each output frame carries its
input frame's time as its presentation timestamp, ms exact), so a frame of the annotated
video is found at the `t` of the event log.

It runs inside a replay: `ObservingTracker` wraps the face tracker and keeps the frame and
the face it was given, `AnnotatedVideoWriter` is a pipeline sink that draws them with the
frame's result (FrameResult) and encodes the picture. Pictures only exist on the machine
that runs it (DESIGN.md "Privacy by default": an annotated video is made only when asked).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from driver_monitor.errors import InputError
from driver_monitor.messages import Event, FaceObservation, Frame, FrameResult
from driver_monitor.perception.geometry import LEFT_IRIS_CENTRE, RIGHT_IRIS_CENTRE
from driver_monitor.perception.tracker import FaceTracker
from driver_monitor.recording.files import create_private

TIME_BASE = Fraction(1, 1000)  # ms, as recordings keep their timestamps (docs/recording.md)
# An instantaneous event (blink, yawn, nod) stays on screen this long after it fired.
INSTANT_SHOWN_S = 1.0
CRF = 20

# RGB colours.
OPEN_EYE = (46, 204, 113)
CLOSED_EYE = (231, 76, 60)
IRIS = (52, 152, 219)
GAZE = (241, 196, 15)
AXES = ((231, 76, 60), (46, 204, 113), (52, 152, 219))  # head x, y, z
TEXT = (255, 255, 255)
LEVEL = {0: (200, 200, 200), 1: (241, 196, 15), 2: (230, 126, 34), 3: (231, 76, 60)}


@cache
def _contours() -> dict[str, list[tuple[int, int]]]:
    """Mesh contours (MediaPipe FaceLandmarksConnections; "left" = the driver's left eye)."""
    from mediapipe.tasks.python.vision.face_landmarker import FaceLandmarksConnections as C

    return {name: [(c.start, c.end) for c in getattr(C, f"FACE_LANDMARKS_{name}")]
            for name in ("LEFT_EYE", "RIGHT_EYE", "LEFT_IRIS", "RIGHT_IRIS")}


class ObservingTracker:
    """A FaceTracker that remembers the last frame and what it found in it."""

    def __init__(self, inner: FaceTracker):
        self.inner = inner
        self.frame: Frame | None = None
        self.observation: FaceObservation | None = None

    def track(self, frame: Frame) -> FaceObservation | None:
        self.observation = self.inner.track(frame)
        self.frame = frame
        return self.observation

    def close(self) -> None:
        self.inner.close()


class AnnotatedVideoWriter:
    """Pipeline sink: one annotated output frame per tracked input frame, at its time."""

    def __init__(self, path: str | Path, tracker: ObservingTracker):
        self.path = Path(path)
        self.tracker = tracker
        self.frames = 0
        self._container: Any = None
        self._stream: Any = None
        self._instants: dict[str, float] = {}  # instantaneous event -> shown until t
        self._last_pts: int | None = None
        if self.path.suffix.lower() not in (".mp4", ".mkv", ".mov"):
            raise InputError(f"{self.path}: the annotated video must be .mp4, .mkv or .mov")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{self.path.parent}: cannot create the directory ({exc.strerror})") from None
        # Whether it can be written is known now, not after the replay's first frame (the file
        # itself is made at the first picture: a bad input leaves no empty video).
        if self.path.is_dir():
            raise InputError(f"{self.path}: is a directory: name the annotated video's file")
        probe = self.path.with_name(f".{self.path.name}.{os.getpid()}.probe")
        try:
            create_private(probe)
            probe.unlink()
        except OSError as exc:
            raise InputError(f"{self.path}: cannot write ({exc.strerror or exc.__class__.__name__})") from None

    def write_events(self, events: Sequence[Event]) -> None:
        """The events that end the input have no picture of their own: nothing to draw."""

    def write(self, result: FrameResult) -> None:
        frame = self.tracker.frame
        for e in result.events:
            if e.kind == "event" and e.phase is None:
                self._instants[e.name] = result.t + INSTANT_SHOWN_S
        # Results that come from no frame (Pipeline.emit: camera faults, a reload) have no picture.
        if frame is None or abs(frame.t - result.t) > 1e-9:
            return
        image = draw(frame.image, self.tracker.observation, result, self._shown_instants(result.t))
        self._encode(image, frame.t)

    def _shown_instants(self, t: float) -> list[str]:
        return sorted(name for name, until in self._instants.items() if until >= t)

    def _encode(self, image: np.ndarray, t: float) -> None:
        h, w = image.shape[:2]
        if self._stream is None:  # opened at the first picture: a bad input leaves no empty file
            try:
                create_private(self.path)  # the driver's face: 0600, as recordings are
                self._container = av.open(str(self.path), mode="w")
            except (OSError, av.error.FFmpegError) as exc:
                raise InputError(f"{self.path}: cannot write ({getattr(exc, 'strerror', None) or exc})") from None
            stream = self._container.add_stream("libx264")
            # yuv420p needs even sizes: one edge row / column is repeated where odd.
            stream.width, stream.height = w + w % 2, h + h % 2
            stream.pix_fmt = "yuv420p"
            stream.time_base = TIME_BASE
            stream.codec_context.time_base = TIME_BASE
            stream.options = {"crf": str(CRF), "preset": "veryfast"}
            self._stream = stream
        if (w % 2) or (h % 2):
            image = cv2.copyMakeBorder(image, 0, h % 2, 0, w % 2, cv2.BORDER_REPLICATE)
        pts = int(round(t / TIME_BASE))
        if self._last_pts is not None and pts <= self._last_pts:
            pts = self._last_pts + 1  # the source already keeps times >= 1 ms apart
        self._last_pts = pts
        av_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        av_frame.pts = pts
        av_frame.time_base = TIME_BASE
        for packet in self._stream.encode(av_frame):
            self._container.mux(packet)
        self.frames += 1

    def close(self) -> None:
        if self._container is None:
            return
        try:
            if self._stream is not None:
                for packet in self._stream.encode(None):
                    self._container.mux(packet)
        finally:
            self._container.close()
            self._container = None


# -- drawing ----------------------------------------------------------------------------------

def draw(image: np.ndarray, obs: FaceObservation | None, result: Any, instants: list[str]) -> np.ndarray:
    """A copy of the RGB frame with the overlay."""
    out = image.copy()
    h, w = out.shape[:2]
    scale = max(0.8, min(w, h) / 480.0)
    thick = max(1, round(2 * scale))
    values = result.state.values
    if obs is not None:
        pts = obs.landmarks_px[:, :2]
        closed = bool(values.get("eyes_closed"))
        contours = _contours()
        for name in ("LEFT_EYE", "RIGHT_EYE"):
            for a, b in contours[name]:
                cv2.line(out, _pt(pts[a]), _pt(pts[b]), CLOSED_EYE if closed else OPEN_EYE, thick, cv2.LINE_AA)
        if len(pts) > max(LEFT_IRIS_CENTRE, RIGHT_IRIS_CENTRE):
            for name in ("LEFT_IRIS", "RIGHT_IRIS"):
                for a, b in contours[name]:
                    cv2.line(out, _pt(pts[a]), _pt(pts[b]), IRIS, max(1, thick - 1), cv2.LINE_AA)
        _head_axes(out, obs, thick)
        _gaze_ray(out, obs, result.features, thick)
    _panel(out, result, instants, scale)
    return out


def _pt(p: np.ndarray) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


def _head_axes(out: np.ndarray, obs: FaceObservation, thick: int) -> None:
    """The face's x (red), y (green) and z (blue) axes from the nose tip, by weak perspective:
    MediaPipe's camera space has y up and z towards the camera, the image y points down."""
    r = np.asarray(obs.transform, dtype=np.float64)[:3, :3]
    norms = np.linalg.norm(r, axis=0)
    if not np.all(norms > 1e-9):
        return
    r = r / norms
    origin = obs.landmarks_px[1, :2]  # nose tip
    length = 0.45 * obs.face_width_px
    for axis, colour in zip(np.eye(3), AXES, strict=True):
        d = r @ axis
        end = origin + length * np.array([d[0], -d[1]])
        cv2.arrowedLine(out, _pt(origin), _pt(end), colour, thick, cv2.LINE_AA, tipLength=0.15)


def _gaze_ray(out: np.ndarray, obs: FaceObservation, features: Any, thick: int) -> None:
    """Head plus eye-in-head direction (docs/features.md signs: yaw + to the driver's left =
    the image's right for an unmirrored camera, pitch + down) from between the irises."""
    yaw = _num(features.head_yaw_deg) + _num(features.gaze_yaw_deg)
    pitch = _num(features.head_pitch_deg) + _num(features.gaze_pitch_deg)
    if math.isnan(yaw) or math.isnan(pitch) or len(obs.landmarks_px) <= LEFT_IRIS_CENTRE:
        return
    start = (obs.landmarks_px[LEFT_IRIS_CENTRE, :2] + obs.landmarks_px[RIGHT_IRIS_CENTRE, :2]) / 2
    length = 0.9 * obs.face_width_px
    end = start + length * np.array([math.sin(math.radians(yaw)), math.sin(math.radians(pitch))])
    cv2.arrowedLine(out, _pt(start), _pt(end), GAZE, thick, cv2.LINE_AA, tipLength=0.1)


def _num(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan


def _panel(out: np.ndarray, result: Any, instants: list[str], scale: float) -> None:
    values = result.state.values
    closure = _num(values.get("eye_closure"))
    lines: list[tuple[str, tuple[int, int, int]]] = [
        (f"t {result.t:8.3f} s", TEXT),
        (f"zone {values.get('gaze_zone') or '-'}", TEXT),
        (f"closure {'--' if math.isnan(closure) else f'{100 * closure:3.0f} %'}", TEXT),
    ]
    if not result.features.face_present:
        lines.append(("no face", CLOSED_EYE))
    active = sorted(result.state.active) + [f"{n}*" for n in instants]
    lines.append((f"events {', '.join(active) if active else '-'}", (241, 196, 15) if active else TEXT))
    policy = result.policy
    if policy is not None and policy.actions:
        lines.append((f"actions {', '.join(sorted(policy.actions))}", LEVEL.get(policy.level, TEXT)))
        lines.append((f"  {policy.condition} level {policy.level} stage {policy.stage}", LEVEL.get(policy.level, TEXT)))
    elif policy is not None and not policy.monitoring_active:
        lines.append(("monitoring not active", (180, 180, 180)))
    font, size = cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale
    line_h = int(22 * scale) + 2
    width = max(cv2.getTextSize(text, font, size, 1)[0][0] for text, _ in lines) + 12
    height = line_h * len(lines) + 8
    h, w = out.shape[:2]
    x1, y1 = min(w, width), min(h, height)
    region = out[0:y1, 0:x1]
    region[:] = (region * 0.45).astype(out.dtype)  # darken behind the text
    for i, (text, colour) in enumerate(lines):
        cv2.putText(out, text, (6, 4 + line_h * (i + 1) - 6), font, size, colour, 1, cv2.LINE_AA)
