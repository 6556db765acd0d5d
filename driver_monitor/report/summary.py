"""The report's tables, computed from the full per-frame columns and the whole event log
(never from the thinned display data): the drive, events, actions, calibration, the config
against the packaged default, and the ground-truth score."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from driver_monitor import __version__
from driver_monitor.report.data import ReplayData
from driver_monitor.report.ground_truth import GroundTruth
from driver_monitor.report.no_warning import Unwarned
from driver_monitor.report.settings import UsedConfig, config_diff
from driver_monitor.report.timeline import Timeline, finite_number


@dataclass
class Table:
    title: str
    header: Sequence[str]
    rows: list[Sequence[Any]] = field(default_factory=list)
    empty: str = "none"  # shown instead of an empty table
    id: str = ""


def face_found_share(data: ReplayData) -> float | None:
    """Share of the judged frames with a face (as `replay` prints it: rows of pictures camera
    health refused, and a live run's last `monitoring_off` row, are no frames the tracker
    looked at), None without a table."""
    if "face_present" not in data.numeric or not data.frames:
        return None
    present = data.numeric["face_present"]
    judged = data.numeric.get("frame_judged")
    if judged is not None:
        present = present[judged == 1.0]
    return float(np.nansum(present) / len(present)) if len(present) else None


def drive_table(data: ReplayData, used: UsedConfig, input_label: str | None) -> Table:
    run = data.run or {}
    face = face_found_share(data)
    rows: list[Sequence[Any]] = [
        ("replay output", str(data.root)),
        ("input", input_label or _run_get(run, "input", "path") or "unknown (no run.yaml)"),
        ("frames", f"{data.frames}" + (f" ({data.end_t - data.start_t:.1f} s)" if data.frames else "")),
        ("face found", f"{100 * face:.1f} % of frames" if face is not None else "unknown (no feature table)"),
        ("config", used.source),
        ("replayed by", f"driver-monitor {run.get('package_version', '?')}" if run else "unknown (no run.yaml)"),
        ("report by", f"driver-monitor {__version__}"),
    ]
    if run.get("created_utc"):
        rows.append(("replayed at", str(run["created_utc"])))
    if isinstance(run.get("input"), dict) and run["input"].get("sha256"):
        rows.append(("input sha256", str(run["input"]["sha256"])))
    return Table("Drive", ("", ""), rows, id="drive")


def events_table(timeline: Timeline) -> Table:
    rows: list[Sequence[Any]] = []
    for name in sorted({s.name for s in timeline.events}):
        spans = timeline.named(name)
        timed = [s for s in spans if not s.instantaneous]
        total = sum(s.duration_s for s in timed)
        # The longest behaviour, as the log's duration_s gives it (from its onset: a sleep's
        # closure from the eyes' closing, not from the rule firing 3 s later); a span whose
        # end says none (truncated, became) counts from its start line to its end line.
        durations = [d for s in spans
                     if (d := finite_number((s.detail if s.instantaneous else s.end_detail).get("duration_s"))) is not None]
        durations += [s.duration_s for s in timed if finite_number(s.end_detail.get("duration_s")) is None]
        longest = max(durations, default=None)
        rows.append((name, len(spans), f"{total:.1f}" if timed else "-", f"{longest:.2f}" if longest is not None else "-",
                     f"{spans[0].start_t:.2f}", sum(timeline.open_at_end(s) for s in timed) or ""))
    return Table("Events", ("event", "count", "on s", "longest s", "first at s", "open at the end"), rows, id="events")


def actions_table(timeline: Timeline) -> Table:
    rows: list[Sequence[Any]] = []
    for name in sorted({a.name for a in timeline.actions}):
        chosen = [a for a in timeline.actions if a.name == name]
        stages = Counter(a.stage for a in chosen)
        conditions = Counter(str(a.detail.get("condition", "?")) for a in chosen)
        rows.append((name, len(chosen), ", ".join(f"{c} {n}" for c, n in sorted(conditions.items())),
                     ", ".join(f"stage {s if s is not None else '?'}: {n}" for s, n in sorted(stages.items(), key=lambda x: (x[0] is None, x[0] or 0))),
                     f"{sum(a.duration_s for a in chosen):.1f}", f"{chosen[0].start_t:.2f}",
                     sum(timeline.open_at_end(a) for a in chosen) or ""))
    return Table("Actions", ("action", "count", "conditions", "ladder stages", "on s", "first at s", "on at the end"), rows,
                 empty="none (below the speed gates, before monitoring activation, or nothing to act on)", id="actions")


def unwarned_table(unwarned: list[Unwarned], policy_enabled: bool) -> Table:
    """Every event of a policy condition that got no action of its condition, and why
    (report/no_warning.py: from the log, the feature table and the config, never guessed)."""
    rows = [(u.event.name, f"{u.event.start_t:.2f}", u.reason, u.detail) for u in unwarned]
    empty = "none: every event of a policy condition got an action of its condition" if policy_enabled else \
        "none (the policy was disabled: policy.enabled false)"
    return Table("Events without a warning", ("event", "t s", "reason", "from"), rows, empty=empty, id="unwarned")


def calibration_table(data: ReplayData, timeline: Timeline) -> Table:
    rows: list[Sequence[Any]] = []
    for line in timeline.state_lines("calibrating"):
        state = "road ahead unknown: distraction not judged" if line.detail.get("calibrating") else \
            f"road ahead known ({line.detail.get('road_ahead', '?')})"
        rows.append((f"{line.t:.2f}", "calibrating", state))
    calibrated = timeline.state_lines("calibrated")
    for line in calibrated:
        values = ", ".join(f"{k} {_fmt(v)}" for k, v in line.detail.items() if k != "calibrated")
        rows.append((f"{line.t:.2f}", "calibrated", values))
    if not calibrated:
        state = "not calibrated in this drive (population defaults, provisional open-eye baselines)"
        if "calibrated" in data.numeric and np.nansum(data.numeric["calibrated"]) > 0:
            state = "calibrated (the state line was not logged: outputs.log_state_changes off?)"
        rows.append(("-", "calibrated", state))
    return Table("Calibration", ("t s", "state", "values"), rows, id="calibration")


def config_table(used: UsedConfig) -> Table:
    rows = [(key, _fmt(default), _fmt(value)) for key, default, value in config_diff(used.config)]
    empty = "same as the packaged default" if used.known else "unknown (packaged default assumed)"
    return Table(f"Config against the packaged default ({used.source})", ("key", "packaged default", "this replay"),
                 rows, empty=empty, id="config")


def truth_table(truth: GroundTruth) -> Table:
    rows = [(r.name, r.expected, r.found, r.missed, r.false, r.latency_s) for r in truth.rows]
    rows.append(("all", truth.expected, truth.count("found"), truth.count("missed"), truth.count("false"), ""))
    return Table(f"Against {truth.source}", ("event", "expected", "found", "missed", "false", "latency s (median, max)"),
                 rows, id="truth")


def detail_marks_table(truth: GroundTruth) -> Table:
    return Table("Found, missed and false", ("t s", "", "what"),
                 [(f"{m.t:.2f}", m.status, m.text) for m in truth.marks], empty="nothing to score", id="marks")


def _run_get(run: dict[str, Any], *keys: str) -> str | None:
    value: Any = run
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return None if value is None else str(value)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return "-" if value is None else str(value)
