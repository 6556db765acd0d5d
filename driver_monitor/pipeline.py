"""The one Pipeline for live runs, replay and tests (DESIGN.md "One pipeline, many drivers").

    Frame ─▶ tracker ─▶ features ─▶ calibration ─▶ detectors ─▶ policy ─▶ sinks

`process` runs one frame through the whole flow and returns a `FrameResult`; the caller
(replay loop, live loop, test) decides where frames come from and hands results to sinks.
Only the tracker touches a native model; everything after it is pure and driven by `t`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from driver_monitor.config import Config
from driver_monitor.detectors.base import Detector, DetectorInput
from driver_monitor.detectors.calibration import Calibrator
from driver_monitor.detectors.distraction import DistractionDetector
from driver_monitor.detectors.drowsiness import DrowsinessDetector
from driver_monitor.detectors.presence import PresenceDetector
from driver_monitor.detectors.stress.detector import StressDetector
from driver_monitor.messages import (
    DriverState,
    Event,
    FaceObservation,
    Features,
    Frame,
    PolicyState,
    Scalar,
    VehicleState,
)
from driver_monitor.perception.expression import build_expression_model
from driver_monitor.perception.features import extract_features, no_face_features
from driver_monitor.perception.tracker import FaceTracker
from driver_monitor.policy.engine import PolicyEngine


@dataclass(frozen=True, slots=True)
class FrameResult:
    t: float
    features: Features
    vehicle: VehicleState
    state: DriverState
    events: list[Event] = field(default_factory=list)  # detector events and policy actions
    policy: PolicyState | None = None  # what the policy engine decided at t (None: no policy)

    def row(self) -> dict[str, Scalar]:
        """The per-frame table row: features, then every detector's state columns."""
        row = self.features.columns()
        row.update(self.state.values)
        return row


class Sink(Protocol):
    """Where results go: event log, feature table, CAN, serial, state file."""

    def write(self, result: FrameResult) -> None: ...

    def close(self) -> None: ...


def build_detectors(config: Config) -> list[Detector]:
    return [
        PresenceDetector(config.presence),
        DrowsinessDetector(config.drowsiness),
        DistractionDetector(config.distraction),  # after drowsiness: reads its eyes_closed
        StressDetector(config.stress),  # after drowsiness: reads its blink_rate_per_min
    ]


class Pipeline:
    def __init__(self, config: Config, tracker: FaceTracker, sinks: Iterable[Sink] = ()):
        self.config = config
        self.tracker = tracker
        self.sinks = list(sinks)
        self.detectors = build_detectors(config)
        # Optional ONNX face-crop model (perception stage: it needs the picture); its
        # `expression_*` columns reach the detectors as upstream values.
        self.expression = build_expression_model(config.stress.expression_model)
        # Per-driver calibration, learned from the features before the detectors see them
        # (population defaults until calibrated; DetectorInput.calibration).
        self.calibrator = Calibrator(config.calibration)
        self.calibration = self.calibrator.calibration
        self.active: set[str] = set()
        self.frames = 0
        self.face_frames = 0
        self.event_counts: dict[str, int] = {}
        self.last_t: float | None = None
        # Policy feedback for the detectors (one frame late): see DetectorInput.
        self.warning_active_since_t: float | None = None
        # The escalation engine runs after the detectors on every frame (docs/policy.md).
        self.policy_engine: PolicyEngine | None = PolicyEngine(config.policy) if config.policy.enabled else None

    def process(self, frame: Frame, vehicle: VehicleState | None = None) -> FrameResult:
        return self.process_tracked(frame, self.tracker.track(frame), vehicle)

    def process_tracked(self, frame: Frame, obs: FaceObservation | None, vehicle: VehicleState | None = None) -> FrameResult:
        """`process` for a frame the tracker has already seen (perception/staged_tracking.py
        runs the tracker in its own thread during replay)."""
        features = extract_features(obs, frame.image) if obs is not None else no_face_features(frame.t, frame.image)
        perception = self.expression.update(frame, obs) if self.expression is not None else None
        return self.process_features(features, vehicle, perception)

    def process_features(
        self, features: Features, vehicle: VehicleState | None = None, perception: Mapping[str, Scalar] | None = None
    ) -> FrameResult:
        """The pure part: features (+ vehicle) at t -> events and state. Tests drive this.
        `perception`: extra per-frame columns from image models (expression_*), seen by the
        detectors as upstream values and written with their columns."""
        t = features.t
        vehicle = vehicle if vehicle is not None else VehicleState(t=t)
        events: list[Event] = []
        values: dict[str, Scalar] = dict(perception) if perception else {}
        was_calibrated = self.calibration.calibrated
        self.calibration = self.calibrator.update(features, vehicle)
        if self.calibration.calibrated and not was_calibrated and self.config.outputs.log_state_changes:
            events.append(self.calibrator.state_event(t))
        for detector in self.detectors:
            inp = DetectorInput(features, vehicle, self.calibration, self.warning_active_since_t, values)
            events.extend(detector.update(inp))
            values.update(detector.columns())
        self._track_active(events)
        self.frames += 1
        self.face_frames += features.face_present
        self.last_t = t
        state = DriverState(t=t, face_present=features.face_present, active=frozenset(self.active), values=values)
        policy = self._run_policy(state, events, vehicle)
        result = FrameResult(t=t, features=features, vehicle=vehicle, state=state, events=events, policy=policy)
        for sink in self.sinks:
            sink.write(result)
        return result

    def reconfigure(self, config: Config, tracker: FaceTracker | None = None) -> list[Event]:
        """Swap in a new config between frames (the daemon's SIGHUP reload).

        Detectors are rebuilt with the new thresholds. Events the old ones had open are
        closed first at the last frame's time (detail truncated=True), so every start in the
        log keeps its end; the calibration stays (it describes the driver, not the config)
        unless the calibration section itself changed.
        Returns those closing events; the caller hands them to the sinks with `emit`."""
        events: list[Event] = []
        if self.last_t is not None:
            for detector in self.detectors:
                events.extend(detector.finish(self.last_t))
            if self.policy_engine is not None and not config.policy.enabled:
                events.extend(self.policy_engine.finish(self.last_t))
        self._track_active(events)
        if config.calibration != self.config.calibration:
            self.calibrator = Calibrator(config.calibration)  # new rules: learn again
            self.calibration = self.calibrator.calibration
        if not config.policy.enabled:
            self.policy_engine, self.warning_active_since_t = None, None
        elif self.policy_engine is None:
            self.policy_engine = PolicyEngine(config.policy)
        elif config.policy != self.config.policy:
            # Keep the journey (activation, ACKs, running episodes): a reload must not switch
            # monitoring off for the activation minute nor forget an acknowledged warning.
            self.policy_engine.reconfigure(config.policy)
        if config.stress.expression_model != self.config.stress.expression_model:
            self.expression = build_expression_model(config.stress.expression_model)
        self.config = config
        if tracker is not None:
            self.tracker = tracker
        self.detectors = build_detectors(config)
        return events

    def emit(
        self,
        t: float,
        events: list[Event],
        vehicle: VehicleState | None = None,
        policy: PolicyState | None = None,
    ) -> FrameResult:
        """Hand events that come from no frame (camera_fault, a reload, the final
        "monitoring off" status) to every sink, as a result without a face and without
        detector columns. The detectors do not run: a missing picture is not an empty seat.
        The policy runs (camera_fault has its own ladder) unless `policy` is given."""
        events = list(events)
        self._track_active(events)
        vehicle = vehicle if vehicle is not None else VehicleState(t=t)
        state = DriverState(t=t, face_present=False, active=frozenset(self.active), values={})
        if policy is None:
            policy = self._run_policy(state, events, vehicle)
        result = FrameResult(t=t, features=Features(t=t, face_present=False), vehicle=vehicle,
                             state=state, events=events, policy=policy)
        for sink in self.sinks:
            sink.write(result)
        return result

    def finish(self) -> list[Event]:
        """End of input: close open events at the last frame's time and close the sinks."""
        events: list[Event] = []
        if self.last_t is not None:
            for detector in self.detectors:
                events.extend(detector.finish(self.last_t))
            if self.policy_engine is not None:
                events.extend(self.policy_engine.finish(self.last_t))
        self._track_active(events)
        for sink in self.sinks:
            finish_events = getattr(sink, "write_events", None)
            if finish_events is not None and events:
                finish_events(events)
            sink.close()
        return events

    def _run_policy(self, state: DriverState, events: list[Event], vehicle: VehicleState) -> PolicyState | None:
        """Policy after the detectors: appends its action (and state) events to `events` and
        feeds the warning start back to the detectors for the next frame."""
        if self.policy_engine is None:
            return None
        decision = self.policy_engine.update(state, events, vehicle)
        log_states = self.config.outputs.log_state_changes
        events.extend(e for e in decision.events if log_states or e.kind != "state")
        self.warning_active_since_t = decision.state.warning_since_t
        return decision.state

    def _track_active(self, events: list[Event]) -> None:
        for e in events:
            if e.kind != "event":
                continue
            if e.phase == "start":
                self.active.add(e.name)
            elif e.phase == "end":
                self.active.discard(e.name)
            if e.phase != "end":
                self.event_counts[e.name] = self.event_counts.get(e.name, 0) + 1

    @property
    def face_found_ratio(self) -> float:
        return self.face_frames / self.frames if self.frames else math.nan
