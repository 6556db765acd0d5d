"""What every detector receives and gives back.

Detectors are pure (DESIGN.md "Functional core"): `update` takes the inputs at time t and
returns the events that started or ended at t; `columns` gives the per-frame state that the
replay writes beside the features and the policy / CAN status read. They never read a
clock, a file or a socket; all times come from `DetectorInput.features.t`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from driver_monitor.detectors.calibration import Calibration
from driver_monitor.messages import Event, Features, Scalar, VehicleState


@dataclass(frozen=True, slots=True)
class DetectorInput:
    features: Features
    vehicle: VehicleState
    calibration: Calibration
    # Policy feedback, one frame late: start time of the driver-facing warning that is active
    # now (None when none is). The `unresponsive` rule uses it: gaze not back on the road
    # within a configured time after a warning (Euro NCAP, REFERENCE.md).
    warning_active_since_t: float | None = None
    # The columns this detector declares it reads from the stages before it
    # (pipeline.DETECTOR_STAGES: e.g. distraction's `unresponsive` rule reads drowsiness's
    # `eyes_closed`), so one can use another's judgement without the two knowing each other.
    upstream: Mapping[str, Scalar] = field(default_factory=dict)


class Detector(Protocol):
    """Every call returns a new list / dict that the detector never changes afterwards: the
    pipeline and a sweep's recordings (fleet/stage_cache.py) keep them as they are."""

    def update(self, inp: DetectorInput) -> list[Event]: ...

    def columns(self) -> dict[str, Scalar]:
        """Per-frame state after the last update; keys are unique across detectors and
        documented in docs/features.md."""
        ...

    def finish(self, t: float) -> list[Event]:
        """End of input at time t: close events still open (detail truncated=True)."""
        ...


class SwitchedOff:
    """A detector the config switches off (privacy `off`): no columns, no events, nothing
    computed."""

    def update(self, inp: DetectorInput) -> list[Event]:
        return []

    def columns(self) -> dict[str, Scalar]:
        return {}

    def finish(self, t: float) -> list[Event]:
        return []

    def relearn_driver(self, t: float) -> list[Event]:
        return []
