"""The layout keeps the flow's direction (issue 14): each folder is one stage, and no module
imports against the flow; names live in one place; what one detector reads from another is
declared, checked and actually produced."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from driver_monitor.config import Config
from driver_monitor.config.policy import ConditionsConfig
from driver_monitor.messages import Features, VehicleState
from driver_monitor.names import CONDITIONS, Column, EventName, StateName
from driver_monitor.outputs.fields import _DRIVER_STATE_ORDER, WARNING_REASONS
from driver_monitor.pipeline import (
    DETECTOR_STAGES,
    PERCEPTION,
    DetectorStage,
    Pipeline,
    check_stage_order,
)
from driver_monitor.privacy import WITHHELD

PACKAGE = Path(__file__).resolve().parents[1] / "driver_monitor"

SHELL = {"assembly", "replay", "record", "service", "reload", "runtime_state", "commands", "cli", "sd_notify", "log_setup",
         "fleet"}
# package or top-level module -> the project packages it must not import (against the flow:
# sources -> perception -> detectors -> policy -> outputs, with config, names, numbers, messages
# and errors below everything, can/ and serial/ as wire libraries, the shell on top).
ONLY: dict[str, set[str]] = {  # the bottom: these may import only what is listed
    "errors": set(), "names": set(), "backoff": set(), "numbers": set(), "messages": {"names", "numbers"},
    "config": {"errors", "names"},
}
FORBIDDEN: dict[str, set[str]] = {
    "can": {"outputs", "pipeline", "vehicle", "sources", "detectors", "policy", "perception", "sim", *SHELL},
    "serial": {"outputs", "pipeline", "vehicle", "sources", "detectors", "policy", "perception", "can", "sim", *SHELL},
    "perception": {"detectors", "policy", "outputs", "pipeline", "can", "serial", "vehicle", "sources", "sim", *SHELL},
    "detectors": {"policy", "outputs", "pipeline", "can", "serial", "vehicle", "sources", "sim", *SHELL},
    "policy": {"detectors", "perception", "outputs", "pipeline", "can", "serial", "vehicle", "sources", "sim", *SHELL},
    "pipeline": {"can", "serial", "vehicle", "sources", "recording", "sim", *SHELL},
    "outputs": {"pipeline", "vehicle", "sources", "detectors", "policy", "perception", "sim", *SHELL},
    "vehicle": {"outputs", "pipeline", "sources", "detectors", "policy", "perception", "sim", *SHELL},
    "sources": {"outputs", "pipeline", "vehicle", "can", "serial", "detectors", "policy", "sim", *SHELL},
    "recording": {"outputs", "pipeline", "vehicle", "sources", "detectors", "policy", "sim", *SHELL},
    "sim": {"pipeline", "outputs", "vehicle", "sources", "detectors", "policy", *SHELL},
    "evaluation": {"pipeline", "can", "serial", "vehicle", "sources", "sim", *SHELL},
}


def unit_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def project_imports(path: Path) -> set[str]:
    """driver_monitor.X imported anywhere in the module (functions included), X only."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else (
            [a.name for a in node.names] if isinstance(node, ast.Import) else [])
        for name in names:
            parts = name.split(".")
            if parts[0] == "driver_monitor" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_no_module_imports_against_the_flow() -> None:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        unit = unit_of(path)
        for dep in sorted(project_imports(path) - {unit}):
            if (unit in ONLY and dep not in ONLY[unit]) or dep in FORBIDDEN.get(unit, set()):
                problems.append(f"{path.relative_to(PACKAGE.parent)} imports driver_monitor.{dep}")
    assert problems == []


def test_the_layout_check_would_catch_a_backward_import(tmp_path: Path) -> None:
    bad = tmp_path / "x.py"
    bad.write_text("def f():\n    from driver_monitor.pipeline import Pipeline\n")
    assert "pipeline" in project_imports(bad) and "pipeline" in FORBIDDEN["outputs"]


def test_every_event_name_written_in_the_code_is_a_known_name() -> None:
    """Event(t, "event" | "state", "<name>", ...) with a literal name anywhere in the package
    names a member of names.EventName / StateName (the one place the names are written)."""
    known = {"event": {e.value for e in EventName}, "state": {s.value for s in StateName}}
    seen = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Event" and len(node.args) >= 3:
                kind, name = node.args[1], node.args[2]
                if isinstance(kind, ast.Constant) and kind.value in known and isinstance(name, ast.Constant):
                    seen.append((kind.value, name.value))
                    assert name.value in known[kind.value], f"{path}: {kind.value} name {name.value!r}"
    assert ("event", "blink") in seen  # the scan sees the detectors' literals


def test_conditions_warning_reasons_and_driver_states_use_the_same_names() -> None:
    assert list(ConditionsConfig.model_fields) == [str(c) for c in CONDITIONS]
    assert set(WARNING_REASONS) - {None, WITHHELD} == set(CONDITIONS)  # withheld: privacy.py
    assert {name for name, _ in _DRIVER_STATE_ORDER} <= set(EventName)


def open_eyes(t: float) -> Features:
    return Features(t=t, face_present=True, head_yaw_deg=0.0, head_pitch_deg=0.0, head_roll_deg=0.0,
                    eye_blink_left=0.05, eye_blink_right=0.05, ear_left=0.3, ear_right=0.3, gaze_yaw_deg=0.0,
                    gaze_pitch_deg=0.0, eye_look_down=0.1, eye_squint=0.1, jaw_open=0.05, face_width_px=200.0,
                    image_brightness=100.0, face_brightness=120.0)


def test_each_declared_read_is_produced_by_the_stage_it_names() -> None:
    pipeline = Pipeline(Config(), tracker=None)  # type: ignore[arg-type]
    pipeline.process_features(open_eyes(0.0), VehicleState(0.0, speed_kph=50.0))
    produced = {stage.name: set(det.columns()) for stage, det in zip(DETECTOR_STAGES, pipeline.detectors, strict=True)}
    reads = [(stage.name, column, producer) for stage in DETECTOR_STAGES for column, producer in stage.reads.items()]
    assert (("distraction", Column.EYES_CLOSED, "drowsiness") in reads
            and ("stress", Column.BLINK_RATE_PER_MIN, "drowsiness") in reads)
    for reader, column, producer in reads:
        if producer != PERCEPTION and not column.endswith("*"):
            assert column in produced[producer], f"{reader} reads {column} from {producer}, which does not write it"


def test_a_detector_sees_only_what_it_declares() -> None:
    stage = DETECTOR_STAGES[2]  # distraction
    assert stage.upstream({"eyes_closed": True, "kss_level": 5.0, "expression_angry": 0.2}) == {"eyes_closed": True}
    assert DETECTOR_STAGES[3].upstream({"blink_rate_per_min": 12.0, "eyes_closed": True, "expression_angry": 0.2}) == {
        "blink_rate_per_min": 12.0, "expression_angry": 0.2}


def test_a_read_from_a_later_stage_is_refused() -> None:
    early = DetectorStage("early", lambda c: None, {"late_column": "late"})  # type: ignore[arg-type,return-value]
    late = DetectorStage("late", lambda c: None)  # type: ignore[arg-type,return-value]
    with pytest.raises(ValueError, match="detector early reads late_column from late, which does not run before it"):
        check_stage_order([early, late])
    check_stage_order([late, early])
