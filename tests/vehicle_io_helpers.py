"""Shared builders for the CAN / serial output tests: FrameResults without video."""

from __future__ import annotations

from typing import Any

from driver_monitor.messages import DriverState, Features, PolicyState, VehicleState
from driver_monitor.pipeline import FrameResult

FRAME_PERIOD_S = 0.08  # 12.5 fps, the GIF clips' rate: not a multiple of the 0.1 s status period


def make_result(
    t: float,
    active: frozenset[str] = frozenset(),
    values: dict[str, Any] | None = None,
    policy: PolicyState | None = None,
    speed_kph: float | None = 80.0,
    face_present: bool = True,
) -> FrameResult:
    vals = {"kss_level": 3, "perclos_60s": 0.05, "eyes_off_road_s": 0.0, "distraction_level": 0,
            "stress_level": 0, "face_present": face_present}
    vals.update(values or {})
    return FrameResult(
        t=t,
        features=Features(t=t, face_present=face_present),
        vehicle=VehicleState(t=t, speed_kph=speed_kph),
        state=DriverState(t=t, face_present=face_present, active=active, values=vals),
        policy=policy if policy is not None else PolicyState(t=t),
    )


def frame_times(duration_s: float, period_s: float = FRAME_PERIOD_S) -> list[float]:
    n = int(round(duration_s / period_s))
    return [round(i * period_s, 6) for i in range(n + 1)]
