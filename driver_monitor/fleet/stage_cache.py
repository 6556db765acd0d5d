"""Deciding one drive under a batch of configs without deciding the same thing twice.

A sweep varies a few keys; every stage whose inputs those keys do not reach decides the same
frames the same way under each config of the batch. A stage's inputs are, by construction
(pipeline.DETECTOR_STAGES): the frames, the calibration (its config: `calibration`,
`camera.mount`, `distraction.zones.right_hand_drive`; and where it is learned afresh for a new
driver: `policy.enabled`, `policy.journey`, `presence`), the config sections it declares
(`DetectorStage.sections`: `build` sees nothing else) and the columns of the stages it reads.
Distraction also reads the policy's warning, fed back one frame late, which any stage and the
policy's config can move: it, and whatever reads it, is decided afresh for every config.

    keys per config ─▶ a stage whose key two configs of the batch share: the first run records
    its calls (update, columns, finish: what it returned, in order), the later ones replay them

The camera heart rate (detectors/stress/rppg.py, ~1 ms a second of drive) is shared the same way
per `stress.rppg` setting, even when the stress stage itself is not (its thresholds swept).
Every config decides exactly what it decides alone (tests/test_feature_replay.py).

Memory: a recording keeps the stage's column dicts of every frame (~0.7 kB a stage a frame); it
lives for one batch (`end_batch`), the heart rates (one estimate object per second) for the drive.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from driver_monitor.config import Config
from driver_monitor.detectors.base import DetectorInput
from driver_monitor.detectors.calibration import Calibration, calibration_state_event
from driver_monitor.messages import Event, Features, Scalar, VehicleState
from driver_monitor.pipeline import DETECTOR_STAGES, PERCEPTION, Pipeline, calibration_inputs

CALIBRATION = "calibration"


def stage_keys(config: Config) -> dict[str, str | None]:
    """For the calibration and each detector stage (by name): a key that two configs share
    exactly when the stage decides the same under both; None for a stage decided afresh."""
    # What reaches every stage besides its config: the frames camera health lets through and
    # the image-model columns, given only with the expression model on.
    frames = "\n".join((config.camera.model_dump_json(), str(config.stress.expression_model.enabled)))
    # Where a journey that may have another driver starts, the calibration and the per-driver
    # stages learn afresh (Pipeline._learn_a_new_driver): that is the policy's journey rule
    # (on at all, policy.journey) fed the presence detector's driver_absent; and, without a
    # journey, a long absence while the car is not known to move (Pipeline._absence_relearn:
    # policy.journey, presence).
    journeys = "\n".join((str(config.policy.enabled), config.policy.journey.model_dump_json(),
                          config.presence.model_dump_json()))
    calibration = _digest(CALIBRATION, frames, journeys, *(_text(part) for part in calibration_inputs(config)))
    keys: dict[str, str | None] = {CALIBRATION: calibration}
    for stage in DETECTOR_STAGES:
        producers = sorted({p for p in stage.reads.values() if p != PERCEPTION})
        if stage.policy_feedback or any(keys[p] is None for p in producers):
            keys[stage.name] = None
            continue
        sections = (getattr(config, s).model_dump_json() for s in stage.sections)
        keys[stage.name] = _digest(stage.name, calibration, *sections, *(keys[p] or "" for p in producers))
    return keys


def _text(part: object) -> str:
    dump = getattr(part, "model_dump_json", None)
    return dump() if dump is not None else repr(part)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n\x00".join(parts).encode()).hexdigest()


class _Calls:
    """One stage's calls in order, (method, what it returned): recorded by a first run,
    handed out again by later ones. A later run that asks otherwise is a bug, not a guess."""

    def __init__(self, name: str, recorded: list[tuple[str, Any]] | None):
        self.name = name
        self.replaying = recorded is not None
        self.calls: list[tuple[str, Any]] = recorded if recorded is not None else []
        self.next = 0

    def take(self, method: str) -> Any:
        if self.next >= len(self.calls) or self.calls[self.next][0] != method:
            got = self.calls[self.next][0] if self.next < len(self.calls) else "the end"
            raise RuntimeError(f"stage {self.name}: call {self.next + 1} is {method}, the recording has {got}")
        self.next += 1
        return self.calls[self.next - 1][1]

    def check_done(self) -> None:
        if self.replaying and self.next != len(self.calls):
            raise RuntimeError(f"stage {self.name}: {self.next} calls replayed of {len(self.calls)} recorded")


class _RecordedDetector:
    """Stands in for a detector stage (the Detector protocol). Detectors return a new list
    and a new dict on every call and never change them afterwards, so they are kept as they are."""

    def __init__(self, detector: Any, calls: _Calls):
        self.detector = detector
        self.calls = calls

    def _call(self, method: str, *args: Any) -> Any:
        if self.calls.replaying:
            return self.calls.take(method)
        result = getattr(self.detector, method)(*args)
        self.calls.calls.append((method, result))
        return result

    def update(self, inp: DetectorInput) -> list[Event]:
        return self._call("update", inp)  # type: ignore[no-any-return]

    def columns(self) -> dict[str, Scalar]:
        return self._call("columns")  # type: ignore[no-any-return]

    def finish(self, t: float) -> list[Event]:
        return self._call("finish", t)  # type: ignore[no-any-return]

    def relearn_driver(self, t: float) -> list[Event]:
        return self._call("relearn_driver", t)  # type: ignore[no-any-return]


class _RecordedCalibrator:
    """Stands in for the Calibrator: what Pipeline asks of it (update, calibration, state_event)."""

    def __init__(self, calibrator: Any, calls: _Calls):
        self.calibrator = calibrator
        self.calls = calls
        self.calibration: Calibration = calibrator.calibration

    def update(self, features: Features, vehicle: VehicleState | None = None) -> Calibration:
        if self.calls.replaying:
            self.calibration = self.calls.take("update")
        else:
            self.calibration = self.calibrator.update(features, vehicle)
            self.calls.calls.append(("update", self.calibration))
        return self.calibration

    def state_event(self, t: float) -> Event:
        return calibration_state_event(self.calibration, t)


class _RppgRecorder:
    """Stands in for StressDetector.rppg (an RppgEstimator): records the estimates of a first
    run, or hands them out again in a later one. The frames and their order are the same for
    every config of a drive (camera health cannot be swept), so the n-th call gets the n-th
    estimate; `done` checks that a replayed run asked exactly as often, and keeps a first
    run's estimates only once it has finished (a run that failed half-way leaves nothing)."""

    def __init__(self, estimator: Any, heart_rates: dict[str, list[Any]], key: str):
        self.estimator = estimator
        self.heart_rates = heart_rates
        self.key = key
        self.recorded = heart_rates.get(key)
        self.store: list[Any] = []
        self.calls = 0

    @classmethod
    def attach(cls, stress: Any, heart_rates: dict[str, list[Any]]) -> _RppgRecorder | None:
        from driver_monitor.detectors.stress.detector import StressDetector
        from driver_monitor.detectors.stress.rppg import RppgEstimator

        # A switched-off stress detector never asks (its estimates belong to no other config).
        if (not isinstance(stress, StressDetector) or not stress.config.enabled
                or not isinstance(getattr(stress, "rppg", None), RppgEstimator)):
            return None
        recorder = cls(stress.rppg, heart_rates, stress.config.rppg.model_dump_json())
        stress.rppg = recorder
        return recorder

    def update(self, features: Any) -> Any:
        self.calls += 1
        if self.recorded is not None:
            return self.recorded[self.calls - 1]
        estimate = self.estimator.update(features)
        self.store.append(estimate)
        return estimate

    def done(self) -> None:
        if self.recorded is None:
            self.heart_rates[self.key] = self.store
        elif self.calls != len(self.recorded):
            raise RuntimeError(f"camera heart rate asked {self.calls} times, recorded {len(self.recorded)}")


@dataclass
class SharedDrive:
    """What the configs of one drive share in one process: the camera heart rate per
    `stress.rppg` setting (for the drive), the stages' recordings (for the batch)."""

    heart_rates: dict[str, list[Any]] = field(default_factory=dict)
    stages: dict[str, list[tuple[str, Any]]] = field(default_factory=dict)
    # Stage keys at least two configs of the batch share: only those are recorded.
    wanted: set[str] = field(default_factory=set)

    def plan(self, configs: Iterable[Config]) -> None:
        """The batch about to be decided: record the stages two or more of its configs share."""
        counts = Counter(k for c in configs for k in stage_keys(c).values() if k is not None)
        self.wanted = {k for k, n in counts.items() if n >= 2}

    def end_batch(self) -> None:
        self.stages.clear()
        self.wanted = set()

    def attach(self, pipeline: Pipeline) -> _Run:
        """Put the recorders into a fresh pipeline (before its first frame)."""
        keys = stage_keys(pipeline.config)
        run = _Run(self)
        key = keys[CALIBRATION]
        calls = self._calls(CALIBRATION, key)
        if calls is not None:
            pipeline.calibrator = _RecordedCalibrator(pipeline.calibrator, calls)
            run.add(key, calls)
        for i, stage in enumerate(DETECTOR_STAGES):
            key = keys[stage.name]
            calls = self._calls(stage.name, key)
            if calls is None or not calls.replaying:  # the real detector runs: share its heart rate
                run.rppg = run.rppg or _RppgRecorder.attach(pipeline.detectors[i], self.heart_rates)
            if calls is not None:
                pipeline.detectors[i] = _RecordedDetector(pipeline.detectors[i], calls)
                run.add(key, calls)
        return run

    def _calls(self, name: str, key: str | None) -> _Calls | None:
        if key is None:
            return None
        if key in self.stages:
            return _Calls(name, self.stages[key])
        return _Calls(name, None) if key in self.wanted else None


class _Run:
    """One config's run over the drive: its recorders, checked and kept when it finished."""

    def __init__(self, shared: SharedDrive):
        self.shared = shared
        self.recorders: list[tuple[str, _Calls]] = []
        self.rppg: _RppgRecorder | None = None

    def add(self, key: str | None, calls: _Calls) -> None:
        assert key is not None
        self.recorders.append((key, calls))

    def done(self) -> None:
        for key, calls in self.recorders:
            calls.check_done()
            if not calls.replaying:
                self.shared.stages[key] = calls.calls
        if self.rppg is not None:
            self.rppg.done()
