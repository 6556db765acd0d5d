"""Synthetic gaze sequences for the distraction tests (openpilot test_monitoring.py style).

A drive is a list of segments (duration_s, where) sampled at `fps`; frame i is at t = i / fps.
`where` is a zone name from LOOK (a direction well inside that LHD zone), or a dict of
Features fields. Boundaries on multiples of 1/15 s fall on frames at 15, 30 and 60 fps.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from driver_monitor.config.distraction import DistractionConfig
from driver_monitor.detectors.base import DetectorInput
from driver_monitor.detectors.calibration import Calibration
from driver_monitor.detectors.distraction import DistractionDetector
from driver_monitor.messages import Event, Features, VehicleState

# (head yaw, head pitch[, eye-in-head yaw, eye-in-head pitch]) in degrees, inside each
# default LHD zone (config/distraction.py). The cluster is looked at mostly with the eyes.
LOOK: dict[str, tuple[float, ...]] = {
    "road": (0.0, 0.0),
    "cluster": (0.0, 5.0, 0.0, 15.0),
    "rear_mirror": (-30.0, -10.0),
    "left_mirror": (40.0, 0.0),
    "right_mirror": (-60.0, 0.0),
    "infotainment": (-30.0, 25.0),
    "lap": (0.0, 40.0),
    "passenger": (-100.0, 0.0),
    "left_window": (80.0, 0.0),  # zone `other`, on the driver's left
}

OPEN_EYES = {"eye_blink_left": 0.05, "eye_blink_right": 0.05, "ear_left": 0.31, "ear_right": 0.31,
             "eye_look_down": 0.1, "gaze_yaw_deg": 0.0, "gaze_pitch_deg": 0.0}


def features(t: float, where: str | dict[str, Any]) -> Features:
    if where == "absent":
        return Features(t=t, face_present=False)
    values: dict[str, Any] = dict(OPEN_EYES)
    if isinstance(where, str):
        yaw, pitch, *eyes = LOOK[where]
        values.update(head_yaw_deg=yaw, head_pitch_deg=pitch)
        if eyes:
            values.update(gaze_yaw_deg=eyes[0], gaze_pitch_deg=eyes[1])
    else:
        values.update(head_yaw_deg=0.0, head_pitch_deg=0.0)
        values.update(where)
    return Features(t=t, face_present=True, **values)


@dataclass
class Drive:
    events: list[Event] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)

    def named(self, name: str, phase: str | None = "start") -> list[Event]:
        return [e for e in self.events if e.name == name and e.phase == phase]

    def at(self, t: float) -> dict[str, Any]:
        """The columns of the frame at time t."""
        return min(self.rows, key=lambda r: abs(r["t"] - t))


def drive(
    segments: list[tuple[float, str | dict[str, Any]]],
    fps: float = 30.0,
    config: DistractionConfig | None = None,
    vehicle: Callable[[float], VehicleState] | None = None,
    warning_since: Callable[[float], float | None] | None = None,
    upstream: Callable[[float], dict[str, Any]] | None = None,
    calibration: Calibration | None = None,
    finish: bool = True,
) -> Drive:
    det = DistractionDetector(config or DistractionConfig())
    cal = calibration or Calibration()
    out = Drive()
    start = 0.0
    frame = 0
    t = 0.0
    for duration, where in segments:
        end = start + duration
        while (t := frame / fps) < end - 1e-9:
            veh = vehicle(t) if vehicle is not None else VehicleState(t=t)
            w = warning_since(t) if warning_since is not None else None
            up = upstream(t) if upstream is not None else {}
            out.events.extend(det.update(DetectorInput(features(t, where), veh, cal, w, up)))
            out.rows.append({"t": t, **det.columns()})
            frame += 1
        start = end
    if finish:
        out.events.extend(det.finish(out.rows[-1]["t"]))
    return out


def approx_equal(a: float | None, b: float, tol: float = 1e-6) -> bool:
    return a is not None and math.isclose(a, b, abs_tol=tol)
