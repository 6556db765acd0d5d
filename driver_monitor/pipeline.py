"""The one Pipeline for live runs, replay and tests (DESIGN.md "One pipeline, many drivers").

    Frame ─▶ camera health ─▶ tracker ─▶ features ─▶ calibration ─▶ detectors ─▶ policy ─▶ sinks

`process` runs one frame through the whole flow and hands the `FrameResult` to every sink;
the caller (replay loop, live loop, test) decides where frames come from. Only the tracker
touches a native model; everything after it is pure and driven by `t`.

Camera health is the first stage: a frame that cannot be trusted (frozen, dark, covered,
after a silence) raises `camera_fault` and is not judged, in a replay exactly as live. At
the fault's start the detectors' open events end (`truncated`, reason camera_fault): what
they said about the driver came from pictures that stopped, and must not outlive them.
"""

from __future__ import annotations

import difflib
import functools
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from driver_monitor.config import Config
from driver_monitor.detectors.base import Detector, DetectorInput, SwitchedOff
from driver_monitor.detectors.calibration import Calibrator, CalibratorStage
from driver_monitor.detectors.distraction import DistractionDetector
from driver_monitor.detectors.drowsiness import DrowsinessDetector
from driver_monitor.detectors.emotion.anger import AngerDetector
from driver_monitor.detectors.emotion.daydreaming import DaydreamingDetector
from driver_monitor.detectors.presence import PresenceDetector
from driver_monitor.detectors.stress.detector import StressDetector
from driver_monitor.errors import ConfigError
from driver_monitor.messages import (
    DriverState,
    Event,
    FaceObservation,
    Features,
    Frame,
    FrameResult,
    FrameStats,
    PolicyState,
    Scalar,
    VehicleState,
)
from driver_monitor.names import Column, EventName, PrivateSignal, StateName
from driver_monitor.names import Detector as Stage
from driver_monitor.numbers import finite_or_none
from driver_monitor.outputs.base import Sink
from driver_monitor.perception.camera_health import NO_SOURCE_STATUS, CameraHealth, SourceStatus
from driver_monitor.perception.expression import COLUMN_PREFIX as EXPRESSION_PREFIX
from driver_monitor.perception.expression import ExpressionModel, build_expression_model
from driver_monitor.perception.features import extract_features, no_face_features
from driver_monitor.perception.picture import rgb8_frame
from driver_monitor.perception.tracker import FaceTracker
from driver_monitor.policy.engine import PolicyEngine
from driver_monitor.privacy import PrivacyFilter

__all__ = ["FrameResult", "Pipeline", "Sink", "build_detectors"]

# While the camera is faulty no frame drives the outputs; an idle live loop hands them a
# result this often so CAN / serial keep their periodic status (DMS_Status is 10 Hz).
FAULT_RESULT_PERIOD_S = 0.1

# Pipeline.reconfigure's default: build the expression model there, if its section changed.
BUILD = object()

# The producer of the image models' columns (expression_*), which run before the detectors.
PERCEPTION = "perception"


@dataclass(frozen=True, slots=True)
class DetectorStage:
    """One detector of the flow and what it reads from the stages before it.

    `reads` maps a column (or a prefix ending in `*`) to the stage that writes it; the
    detector sees exactly these columns in DetectorInput.upstream, so what one detector
    takes from another is written here, once, and checked (`check_stage_order`)."""

    name: Stage
    build: Callable[[Config], Detector]
    reads: Mapping[str, str] = field(default_factory=dict)
    # The config sections `build` reads: it is handed a view of the Config with these alone
    # (ConfigSections), so a stage's output is known to depend on them, the calibration, the
    # frames and `reads` only. Sweeps rely on it to decide a stage once for the configs that
    # agree on these (fleet/stage_cache.py).
    sections: tuple[str, ...] = ()
    # Reads DetectorInput.warning_active_since_t: the policy's own decision, fed back, which
    # every other stage and the policy's config can move.
    policy_feedback: bool = False
    # Holds baselines of the driver (their neutral face, calm heart rate, gaze): a journey
    # that may have another driver makes it learn them afresh (Pipeline._learn_a_new_driver).
    per_driver: bool = False
    # The keys read, per tuple of keys offered: the same few tuples come every frame, so the
    # matching (a prefix test per key) runs once per layout, not once per frame.
    _read_keys: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)

    def upstream(self, values: Mapping[str, Scalar]) -> dict[str, Scalar]:
        if not self.reads:
            return {}
        layout = tuple(values)
        keys = self._read_keys.get(layout)
        if keys is None:
            if len(self._read_keys) > 64:
                self._read_keys.clear()
            keys = self._read_keys[layout] = tuple(k for k in layout if self.reads_column(k))
        return {k: values[k] for k in keys}

    def reads_column(self, key: str) -> bool:
        return key in self.reads or any(p.endswith("*") and key.startswith(p[:-1]) for p in self.reads)


DETECTOR_STAGES: tuple[DetectorStage, ...] = (
    DetectorStage(Stage.PRESENCE, lambda c: PresenceDetector(c.presence), sections=("presence",)),
    DetectorStage(Stage.DROWSINESS, lambda c: DrowsinessDetector(c.drowsiness), sections=("drowsiness",)),
    # The unresponsive rule counts closed eyes as away, and the eyeLook pitch is a gaze only
    # while the eyes are judged open or looking down with open eyes: drowsiness judges them.
    DetectorStage(Stage.DISTRACTION, lambda c: DistractionDetector(c.distraction),
                  {Column.EYES_CLOSED: Stage.DROWSINESS, Column.EYE_CLOSURE: Stage.DROWSINESS,
                   Column.LOOKING_DOWN: Stage.DROWSINESS},
                  sections=("distraction",), policy_feedback=True),  # unresponsive: no return after a warning
    # Blink rate is one stress cue; the optional expression model gives the others.
    DetectorStage(Stage.STRESS, lambda c: StressDetector(c.stress, c.privacy),
                  {Column.BLINK_RATE_PER_MIN: Stage.DROWSINESS, f"{EXPRESSION_PREFIX}*": PERCEPTION},
                  sections=("stress", "privacy"), per_driver=True),
    # Anger abstains on sunglasses and yawns (drowsiness's judgement) and takes heart-rate
    # arousal from stress as supporting evidence; `privacy.anger: off` computes nothing.
    DetectorStage(Stage.ANGER, lambda c: AngerDetector(c.anger) if c.privacy.computed(PrivateSignal.ANGER) else SwitchedOff(),
                  {Column.EYES_JUDGEABLE: Stage.DROWSINESS, Column.MOUTH_OPEN: Stage.DROWSINESS,
                   Column.HEART_RATE_BPM: Stage.STRESS, Column.HEART_RATE_QUALITY: Stage.STRESS},
                  sections=("anger", "privacy"), per_driver=True),
    # Daydreaming reads where the gaze is relative to the learned road ahead (distraction)
    # and the blink rate (drowsiness).
    DetectorStage(Stage.DAYDREAMING,
                  lambda c: DaydreamingDetector(c.daydreaming) if c.privacy.computed(PrivateSignal.DAYDREAMING) else SwitchedOff(),
                  {Column.GAZE_YAW_DEG_ABS: Stage.DISTRACTION, Column.GAZE_PITCH_DEG_ABS: Stage.DISTRACTION,
                   Column.GAZE_ZONE: Stage.DISTRACTION, Column.CALIBRATING: Stage.DISTRACTION,
                   Column.BLINK_RATE_PER_MIN: Stage.DROWSINESS},
                  sections=("daydreaming", "privacy"), per_driver=True),
)


class ConfigSections:
    """What a stage's `build` is handed: the Config's declared sections, and an error naming
    the stage for any other (so `DetectorStage.sections` cannot silently fall out of date)."""

    __slots__ = ("_config", "_stage")

    def __init__(self, config: Config, stage: DetectorStage):
        self._config = config
        self._stage = stage

    def __getattr__(self, name: str) -> object:
        if name in self._stage.sections:
            return getattr(self._config, name)
        raise AttributeError(f"detector stage {self._stage.name} reads config.{name}, "
                             "which its DetectorStage.sections does not declare")


def check_stage_order(stages: Iterable[DetectorStage]) -> None:
    """Every read names a stage that runs before the reader (ValueError otherwise)."""
    before = {PERCEPTION}
    for stage in stages:
        for column, producer in stage.reads.items():
            if producer not in before:
                raise ValueError(f"detector {stage.name} reads {column} from {producer}, which does not run before it")
        before.add(stage.name)


check_stage_order(DETECTOR_STAGES)


def calibration_inputs(config: Config) -> tuple[object, ...]:
    return config.calibration, config.camera.mount, config.distraction.zones.right_hand_drive


# Journey starts (policy.gates.JourneyTracker) after which the driver may be another one.
NEW_DRIVER_REASONS = frozenset({"driver_absent", "ignition_on", "standstill"})


def _calibrator(config: Config) -> CalibratorStage:
    return Calibrator(config.calibration, config.camera.mount, config.distraction.zones.right_hand_drive)


def build_detectors(config: Config) -> list[Detector]:
    return [stage.build(ConfigSections(config, stage)) for stage in DETECTOR_STAGES]  # type: ignore[arg-type]


@functools.cache
def detector_value_names() -> frozenset[str]:
    """Every per-frame value the detectors put in DriverState.values (their columns, the
    same whatever the thresholds): what a policy condition's value_key may name. The image
    models' `expression_*` columns come on top, named by the model's config."""
    return frozenset(str(name) for detector in build_detectors(Config()) for name in detector.columns())


def value_key_problems(config: Config) -> list[str]:
    """A policy condition's value_key that no detector gives was None on every frame: the
    condition never activated by its level, without a word (`stress_levl`). One line per
    such key (checked here, where the detectors are known: the config layer may not import
    them)."""
    known = detector_value_names()
    problems = []
    for name, condition in config.policy.conditions.items():
        key = condition.value_key
        if key is None or key in known or key.startswith(EXPRESSION_PREFIX):
            continue
        close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'? " if close else ""
        problems.append(f"policy.conditions.{name}.value_key: no detector gives this per-frame value "
                        f"({hint}the columns are in docs/features.md) (got {key!r})")
    return problems


def check_value_keys(config: Config) -> None:
    """ConfigError with value_key_problems, if any."""
    problems = value_key_problems(config)
    if problems:
        raise ConfigError(problems)


class Pipeline:
    def __init__(self, config: Config, tracker: FaceTracker | None, sinks: Iterable[Sink] = (),
                 image_models: bool = True):
        """tracker None and image_models False: a pipeline fed features only (feature replay,
        tests); `process` needs both."""
        check_value_keys(config)
        self.config = config
        self.tracker = tracker
        self.sinks: list[Sink] = list(sinks)
        self.detectors = build_detectors(config)
        # Optional ONNX face-crop model (perception stage: it needs the picture); its
        # `expression_*` columns reach the detectors as upstream values.
        self.image_models = image_models
        self.expression = build_expression_model(config.stress.expression_model) if image_models else None
        # Per-driver calibration, learned from the features before the detectors see them
        # (population defaults until calibrated; DetectorInput.calibration).
        self.calibrator = _calibrator(config)
        self.calibration = self.calibrator.calibration
        self._road_ahead_known: bool | None = None  # last reported `calibrating` state
        # The driver absent (driver_absent) since, while the car is not known to move; and
        # whether this absence already made the pipeline learn a new driver (_absence_relearn).
        self._absent_since_t: float | None = None
        self._absence_relearned = False
        self.camera_health = CameraHealth(config.camera)
        # What of the emotional signals reaches the sinks (docs/emotion.md "Privacy"): the
        # policy sees everything computed, the outputs only what privacy says `output`.
        self.privacy = PrivacyFilter(config.privacy)
        self.active: set[str] = set()
        self.frames = 0  # frames judged (went through the detectors)
        self.frames_seen = 0  # frames handed to `process`, judged or not
        self.face_frames = 0
        self.event_counts: dict[str, int] = {}
        self.action_counts: dict[str, int] = {}
        self.last_t: float | None = None  # time of the last judged frame
        self.last_result: FrameResult | None = None
        # Policy feedback for the detectors (one frame late): see DetectorInput.
        self.warning_active_since_t: float | None = None
        # The escalation engine runs after the detectors on every frame (docs/policy.md).
        self.policy_engine: PolicyEngine | None = PolicyEngine(config.policy) if config.policy.enabled else None

    def process(self, frame: Frame, vehicle: VehicleState | None = None,
                camera: SourceStatus = NO_SOURCE_STATUS) -> FrameResult:
        """One frame: camera health, then (if the picture can be trusted) the whole flow.
        `camera`: what a live camera says about itself (its own fault, its frame period)."""
        return self.process_tracked(frame, None, vehicle, camera, track=True)

    def process_tracked(self, frame: Frame, obs: FaceObservation | None, vehicle: VehicleState | None = None,
                        camera: SourceStatus = NO_SOURCE_STATUS, track: bool = False) -> FrameResult:
        """`process` for a frame the tracker has already seen (perception/staged_tracking.py
        runs the tracker in its own thread during replay); `track`: run the tracker here, and
        only on a picture that can be trusted. A grey, RGBA, 16-bit or float picture is made RGB
        uint8 first; one that is no picture raises PictureError (one line)."""
        frame = rgb8_frame(frame)
        picture = self.camera_health.stats(frame)
        refused = self.check_picture(frame.t, picture, vehicle, camera)
        if refused is not None:
            return refused
        if track:
            assert self.tracker is not None, "a pipeline without a tracker is fed features (process_features)"
            obs = self.tracker.track(frame)
        features = extract_features(obs, frame.image) if obs is not None else no_face_features(frame.t, frame.image)
        perception = self.expression.update(frame, obs) if self.expression is not None else None
        return self.process_features(features, vehicle, perception, picture)

    def check_picture(self, t: float, picture: FrameStats, vehicle: VehicleState | None = None,
                      camera: SourceStatus = NO_SOURCE_STATUS) -> FrameResult | None:
        """Camera health for the frame at t: the frame's result when its picture cannot be
        judged, None when it can (the caller then runs perception and `process_features`).
        `process` calls it with the picture's statistics, feature replay with the table's."""
        self.frames_seen += 1
        events = self.camera_health.observe(t, picture, camera)
        gap = [e for e in events if e.t < t]  # a silence before this frame
        if gap:
            self._camera_result(gap[0].t, gap, vehicle)
            events = [e for e in events if e.t >= t]
        if self.camera_health.active:
            return self._camera_result(t, events, vehicle, picture)
        if events:  # the fault ended with this frame
            self.emit(t, events, vehicle)
        return None

    def idle(self, t: float, vehicle: VehicleState | None = None,
             camera: SourceStatus = NO_SOURCE_STATUS) -> FrameResult | None:
        """The live loop got no frame by t: judge the camera (no_frame, the source's fault).
        While a fault lasts, a result reaches the sinks every FAULT_RESULT_PERIOD_S."""
        events = self.camera_health.idle(t, camera)
        last = self.last_result.t if self.last_result is not None else -math.inf
        if events or (self.camera_health.active and t - last >= FAULT_RESULT_PERIOD_S - 1e-9):
            return self._camera_result(max(t, last), events, vehicle)
        return None

    def process_features(
        self, features: Features, vehicle: VehicleState | None = None, perception: Mapping[str, Scalar] | None = None,
        picture: FrameStats | None = None,
    ) -> FrameResult:
        """The pure part: features (+ vehicle) at t -> events and state. Tests drive this.
        `perception`: extra per-frame columns from image models (expression_*), seen by the
        detectors that declare them (DETECTOR_STAGES) and written with their columns.
        `picture`: the statistics camera health judged the frame by (for the table only)."""
        t = features.t
        vehicle = vehicle if vehicle is not None else VehicleState(t=t)
        events: list[Event] = []
        values: dict[str, Scalar] = dict(perception) if perception else {}
        was_calibrated = self.calibration.calibrated
        self.calibration = self.calibrator.update(features, vehicle)
        if self.calibration.calibrated and not was_calibrated and self.config.outputs.log_state_changes:
            events.append(self.calibrator.state_event(t))
        if self.calibration.road_ahead_known != self._road_ahead_known:
            # `calibrating` (DESIGN.md states): the driver's road-ahead direction is not
            # known yet, so distraction is not judged; said at the start and when it ends.
            self._road_ahead_known = self.calibration.road_ahead_known
            if self.config.outputs.log_state_changes:
                events.append(Event(t, "state", StateName.CALIBRATING, None, {
                    "calibrating": not self._road_ahead_known, "road_ahead": self.calibration.road_ahead}))
        calibration, warning_since = self.calibration, self.warning_active_since_t
        reads_nothing: DetectorInput | None = None  # one input for the stages that read no column
        for i, detector in enumerate(self.detectors):
            # A detector added beyond the declared stages (a test's probe) reads nothing upstream.
            if i < len(DETECTOR_STAGES) and DETECTOR_STAGES[i].reads:
                inp = DetectorInput(features, vehicle, calibration, warning_since, DETECTOR_STAGES[i].upstream(values))
            else:
                if reads_nothing is None:
                    reads_nothing = DetectorInput(features, vehicle, calibration, warning_since, {})
                inp = reads_nothing
            events.extend(detector.update(inp))
            values.update(detector.columns())
        self._track_active(events)
        self.frames += 1
        self.face_frames += features.face_present
        self.last_t = t
        state = DriverState(t=t, face_present=features.face_present, active=frozenset(self.active), values=values)
        policy = self._run_policy(state, events, vehicle)
        closed = self._absence_relearn(t, vehicle)
        if closed:
            events.extend(closed)
            self._track_active(closed)
        return self._deliver(FrameResult(t=t, features=features, vehicle=vehicle, state=state, events=events,
                                         policy=policy, picture=picture, judged=True))

    def reconfigure(self, config: Config, tracker: FaceTracker | None = None,
                    expression: ExpressionModel | None | object = BUILD) -> list[Event]:
        """Swap in a new config between frames (the daemon's SIGHUP reload).

        `expression`: the model for the new stress.expression_model, built beforehand (the
        daemon loads it on its reload thread: a model that fails must fail the reload, not the
        loop, and a slow one must not stall it); BUILD builds it here when that section changed.

        A detector whose config sections (DetectorStage.sections) changed is rebuilt with
        the new thresholds; the events it had open are closed first at the last frame's time
        (detail truncated=True), so every start in the log keeps its end. The others are kept
        with their history: a reload that changes an output, or the stress section only, must
        not restart a glance's timer, empty the PERCLOS windows or learn a driver's calm
        baseline afresh from whatever mood the driver is in at the reload. The calibration
        stays (it describes the driver, not the config) unless its own rules changed.
        Returns those closing events; the caller hands them to the sinks with `emit`."""
        check_value_keys(config)  # before anything changes: a refused config leaves the running one
        kept = [all(getattr(config, section) == getattr(self.config, section) for section in stage.sections)
                for stage in DETECTOR_STAGES]
        events: list[Event] = []
        if self.last_t is not None:
            events.extend(e for detector, keep in zip(self.detectors, kept, strict=False) if not keep
                          for e in detector.finish(self.last_t))
            if self.policy_engine is not None and not config.policy.enabled:
                events.extend(self.policy_engine.finish(self.last_t))
        self._track_active(events)
        if calibration_inputs(config) != calibration_inputs(self.config):
            self.calibrator = _calibrator(config)  # new rules or a new mount: learn again
            self.calibration = self.calibrator.calibration
        if not config.policy.enabled:
            self.policy_engine, self.warning_active_since_t = None, None
        elif self.policy_engine is None:
            self.policy_engine = PolicyEngine(config.policy)
        elif config.policy != self.config.policy:
            # Keep the journey (activation, ACKs, running episodes): a reload must not switch
            # monitoring off for the activation minute nor forget an acknowledged warning.
            self.policy_engine.reconfigure(config.policy)
        if expression is not BUILD:
            if self.image_models:
                self.expression = expression  # type: ignore[assignment]
        elif config.stress.expression_model != self.config.stress.expression_model and self.image_models:
            self.expression = build_expression_model(config.stress.expression_model)
        self.camera_health.reconfigure(config.camera)
        self.privacy = PrivacyFilter(config.privacy)
        self.config = config
        if tracker is not None:
            self.tracker = tracker
        self.detectors = [detector if keep else stage.build(ConfigSections(config, stage))  # type: ignore[arg-type]
                          for stage, detector, keep in zip(DETECTOR_STAGES, self.detectors, kept, strict=False)]
        return events

    def emit(
        self,
        t: float,
        events: list[Event],
        vehicle: VehicleState | None = None,
        policy: PolicyState | None = None,
        picture: FrameStats | None = None,
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
        return self._deliver(FrameResult(t=t, features=Features(t=t, face_present=False), vehicle=vehicle,
                                         state=state, events=events, policy=policy, picture=picture))

    def close_events(self, t: float) -> list[Event]:
        """Close every open event (detectors, camera fault, policy actions) at t, e.g. when
        the daemon stops; the caller hands them to the sinks (`emit`)."""
        events = self._close_detector_events(t) + self.camera_health.finish(t)
        if self.policy_engine is not None:
            events += self.policy_engine.finish(t)
        return events

    def monitoring_off(self, t: float, vehicle: VehicleState | None = None, reason: str | None = None) -> FrameResult:
        """The last word on every output when the service stops: monitoring is off (the
        vehicle must not take the silence for an attentive driver). With a reason, every open
        event is closed first and a `monitoring_off` state line says why; without, the same
        status again (the outputs' periodic frames carry it)."""
        events: list[Event] = []
        if reason is not None:
            events = self.close_events(t) + [Event(t, "state", StateName.MONITORING_OFF, None, {"reason": reason})]
        return self.emit(t, events, vehicle, PolicyState(t=t, monitoring_active=False))

    def finish(self) -> list[Event]:
        """End of input: close open events at the last frame's time and close the sinks."""
        events: list[Event] = []
        if self.last_result is not None:
            events = self.close_events(self.last_result.t)
        self._track_active(events)
        written = self.privacy.event_list(events)
        for sink in self.sinks:
            if written:
                sink.write_events(written)
            sink.close()
        return events

    def _camera_result(self, t: float, events: list[Event], vehicle: VehicleState | None,
                       picture: FrameStats | None = None) -> FrameResult:
        """A result while the picture cannot be judged. At a fault's start the driver-state
        events the detectors had open end: the camera-fault warning is what the vehicle sees."""
        if any(e.name == EventName.CAMERA_FAULT and e.phase == "start" for e in events):
            events = self._close_detector_events(t, reason=EventName.CAMERA_FAULT) + events
        return self.emit(t, events, vehicle, picture=picture)

    def _close_detector_events(self, t: float, reason: str | None = None) -> list[Event]:
        events = [e for detector in self.detectors for e in detector.finish(t)]
        if reason is not None:
            events = [replace(e, detail={**e.detail, "reason": reason}) for e in events]
        return events

    def _deliver(self, result: FrameResult) -> FrameResult:
        """Hands the sinks what privacy lets out and counts it (the replay summary prints the
        counts); returns the whole result (the caller is in memory). `last_result`, read by
        `status`, is the written one."""
        written = self.privacy.result(result)
        for e in written.events:
            if e.kind == "event" and e.phase != "end":
                self.event_counts[e.name] = self.event_counts.get(e.name, 0) + 1
            elif e.kind == "action" and e.phase == "start":
                self.action_counts[e.name] = self.action_counts.get(e.name, 0) + 1
        for sink in self.sinks:
            sink.write(written)
        self.last_result = written
        return result

    def _run_policy(self, state: DriverState, events: list[Event], vehicle: VehicleState) -> PolicyState | None:
        """Policy after the detectors: appends its action (and state) events to `events` and
        feeds the warning start back to the detectors for the next frame."""
        if self.policy_engine is None:
            return None
        decision = self.policy_engine.update(state, events, vehicle)
        log_states = self.config.outputs.log_state_changes
        events.extend(e for e in decision.events if log_states or e.kind != "state")
        self.warning_active_since_t = decision.state.warning_since_t
        if any(e.kind == "state" and e.name == StateName.JOURNEY_START and e.detail.get("reason") in NEW_DRIVER_REASONS
               for e in decision.events):
            closed = self._learn_a_new_driver(state.t)
            events.extend(closed)
            self._track_active(closed)
        return decision.state

    def _absence_relearn(self, t: float, vehicle: VehicleState) -> list[Event]:
        """A driver change that no journey can show: the driver absent for
        `policy.journey.new_after_driver_absent_s` while the car was not known to move (its
        speed unknown: a unit without vehicle signals; or the policy switched off) makes the
        pipeline learn a new driver, once per absence (a journey_start that did already counts).
        A journey's driver change needs a known standstill, so on such a unit the first driver's
        settled road ahead stayed for the next: an attentive driver sitting 16 deg lower got
        `unresponsive` for good. The policy's journey (activation minute, ACKs) is not touched:
        unknown speed counts as moving there. Returns the per-driver stages' closing events."""
        if EventName.DRIVER_ABSENT not in self.active:
            self._absent_since_t, self._absence_relearned = None, False
            return []
        speed = finite_or_none(vehicle.speed_kph)
        if speed is not None and speed >= self.config.policy.journey.standstill_kph:
            self._absent_since_t = None  # moving: the same driver, out of the camera's sight
            return []
        if self._absent_since_t is None:
            self._absent_since_t = t
        if self._absence_relearned or t - self._absent_since_t < self.config.policy.journey.new_after_driver_absent_s:
            return []
        return self._learn_a_new_driver(t)

    def _learn_a_new_driver(self, t: float) -> list[Event]:
        """A journey that may have another driver (the seat left empty at a stop, the ignition
        cycled, a long stop): the calibration is learned again from the next frame on. Kept,
        the first driver's road-ahead direction (settled, it moves 8 deg at most) made an
        attentive second driver who sits 16 deg lower read as looking away for good: a
        stuck unresponsive and a minimum-risk request (REFERENCE: the neutral pose is learned
        per driver).

        The stages that hold the driver's own baselines (stress, anger, daydreaming:
        `per_driver`) learn them afresh too, their open episodes closed at t (reason
        journey_start): kept, the first driver's neutral face and calm heart rate made a
        second driver's neutral face anger and his resting heart rate stress for the whole
        journey. Returns those closing events."""
        self.calibrator = _calibrator(self.config)
        self.calibration = self.calibrator.calibration
        self._absence_relearned = EventName.DRIVER_ABSENT in self.active
        events = [e for stage, detector in zip(DETECTOR_STAGES, self.detectors, strict=False) if stage.per_driver  # a test probe may follow
                  for e in detector.relearn_driver(t)]  # type: ignore[attr-defined]
        return [replace(e, detail={**e.detail, "reason": StateName.JOURNEY_START.value}) for e in events]

    def _track_active(self, events: list[Event]) -> None:
        for e in events:
            if e.kind != "event":
                continue
            if e.phase == "start":
                self.active.add(e.name)
            elif e.phase == "end":
                self.active.discard(e.name)

    @property
    def face_found_ratio(self) -> float:
        return self.face_frames / self.frames if self.frames else math.nan
