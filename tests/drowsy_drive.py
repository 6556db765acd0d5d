"""Synthetic feature sequences for the drowsiness tests (openpilot test_monitoring.py style).

A drive is a set of piecewise-linear signals of time, sampled at any frame rate into
Features. The eye model makes the fused closure equal to the closure fraction x exactly
with the population-default calibration: eyeBlink = 0.05 + 0.75 x (c_b = x), EAR =
0.31 (1 - x) (c_e = x), so a rule's timing can be computed by hand: a closure ramp from 0
to 1 over [a, a + 0.1] crosses the 0.5 threshold at a + 0.05 at every frame rate.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from driver_monitor.config import Config
from driver_monitor.messages import Event, Features, VehicleState
from driver_monitor.pipeline import Pipeline

Signal = Callable[[float], float]

RAMP_S = 0.1  # lids close / open in 0.1 s


def piecewise(points: list[tuple[float, float]]) -> Signal:
    """Linear through (t, value) points, flat outside them."""

    def value(t: float) -> float:
        if t <= points[0][0]:
            return points[0][1]
        for (t0, v0), (t1, v1) in zip(points, points[1:], strict=False):
            if t <= t1:
                return v0 if t1 == t0 else v0 + (v1 - v0) * (t - t0) / (t1 - t0)
        return points[-1][1]

    return value


def closures(spans: list[tuple[float, float]], ramp_s: float = RAMP_S) -> Signal:
    """Eye closure fraction: 0 open, 1 closed during each (start, end) span; `start` is when
    the lids start to close, `end` when they start to open."""
    points = [(0.0, 0.0)]
    for start, end in spans:
        points += [(start, 0.0), (start + ramp_s, 1.0), (end, 1.0), (end + ramp_s, 0.0)]
    return piecewise(points)


def constant(value: float) -> Signal:
    return lambda t: value


@dataclass
class Drive:
    duration_s: float
    closure: Signal = field(default_factory=lambda: constant(0.0))
    # The left eye's closure where it differs from the right's (a wink, one covered eye).
    closure_left: Signal | None = None
    jaw_open: Signal = field(default_factory=lambda: constant(0.05))
    # The landmarks' mouth aspect ratio (inner-lip gap over mouth width); None: not measured.
    mouth_ratio: Signal | None = None
    pitch_deg: Signal = field(default_factory=lambda: constant(0.0))
    look_down: Signal = field(default_factory=lambda: constant(0.1))
    face_present: Callable[[float], bool] = field(default_factory=lambda: (lambda t: True))
    # Eyes that the model cannot measure (sunglasses): their blendshapes / EAR become NaN.
    eyes_hidden: Callable[[float], bool] = field(default_factory=lambda: (lambda t: False))
    speed_kph: float | None = None
    # Frames that never arrive (dropped by a loaded computer, a camera stall): no Features at all.
    dropped: Callable[[float], bool] = field(default_factory=lambda: (lambda t: False))

    def features(self, t: float) -> Features:
        if not self.face_present(t):
            return Features(t=t, face_present=False)
        x = self.closure(t)
        x_left = x if self.closure_left is None else self.closure_left(t)
        blink, ear = 0.05 + 0.75 * x, 0.31 * (1.0 - x)
        blink_left, ear_left = 0.05 + 0.75 * x_left, 0.31 * (1.0 - x_left)
        if self.eyes_hidden(t):
            blink = ear = blink_left = ear_left = math.nan
        return Features(
            t=t, face_present=True, head_yaw_deg=0.0, head_pitch_deg=self.pitch_deg(t), head_roll_deg=0.0,
            eye_blink_left=blink_left, eye_blink_right=blink, ear_left=ear_left, ear_right=ear,
            gaze_yaw_deg=0.0, gaze_pitch_deg=0.0, eye_look_down=self.look_down(t), eye_squint=0.1,
            jaw_open=self.jaw_open(t), face_width_px=200.0, image_brightness=120.0, face_brightness=130.0,
            mouth_aspect_ratio=self.mouth_ratio(t) if self.mouth_ratio is not None else math.nan,
        )

    def frames(self, fps: float) -> Iterator[Features]:
        n = int(math.floor(self.duration_s * fps + 1e-9)) + 1
        for i in range(n):
            if not self.dropped(i / fps):
                yield self.features(i / fps)


@dataclass
class Run:
    events: list[Event]
    rows: list[dict]

    def named(self, *names: str) -> list[Event]:
        return [e for e in self.events if e.name in names]

    def at(self, t: float) -> dict:
        """The row of the first frame at or after t."""
        return next(r for r in self.rows if r["t"] >= t - 1e-9)


def run(drive: Drive, fps: float = 30.0, config: Config | None = None) -> Run:
    pipeline = Pipeline(config or Config(), tracker=None)  # type: ignore[arg-type]
    events: list[Event] = []
    rows: list[dict] = []
    for f in drive.frames(fps):
        result = pipeline.process_features(f, VehicleState(t=f.t, speed_kph=drive.speed_kph))
        events += [e for e in result.events if e.kind == "event"]
        rows.append({"t": f.t, **result.state.values})
    events += [e for e in pipeline.finish() if e.kind == "event"]
    return Run(events, rows)


DROWSINESS_EVENTS = ("blink", "microsleep", "sleep", "yawn", "nod", "drowsy", "eyes_unavailable")
