"""Ground truth beside the detections: labels.jsonl (scored as `eval` scores it,
evaluation/scoring.py) or behaviour-interval truth.yaml (evaluation/truth.py), turned into
spans to draw and found / missed / false marks to put on the time axis.

Truth of another drive is refused with one line: labels that start after the replay ended,
or a truth clip whose length is not the replay's.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from driver_monitor.errors import InputError
from driver_monitor.evaluation import scoring
from driver_monitor.evaluation import truth as truth_mod
from driver_monitor.outputs.event_log import read_labels

Status = Literal["found", "missed", "false"]

# A label may start this long after the last frame and still belong to the drive (the last
# frame period, rounding); more means the labels describe another drive.
END_TOLERANCE_S = 1.0


@dataclass(frozen=True)
class TruthSpan:
    name: str  # label name or behaviour kind
    start_t: float
    end_t: float
    note: str = ""
    status: str = ""  # found | missed | ambiguous | "" (not scored: talking, short blinks...)


@dataclass(frozen=True)
class Mark:
    t: float
    status: Status
    name: str
    text: str
    row: str  # the lane it is drawn on: the detection's name (found, false) or the truth's (missed)


@dataclass
class ScoreRow:
    name: str
    expected: int
    found: int
    missed: int
    false: int
    latency_s: str = "-"


@dataclass
class GroundTruth:
    source: str  # what was compared, for the summary ("labels FILE", "truth FILE, clip NAME")
    spans: list[TruthSpan] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    rows: list[ScoreRow] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for m in self.marks if m.status == status)

    @property
    def expected(self) -> int:
        return self.count("found") + self.count("missed")


def labels_path(path: str | Path) -> Path:
    """labels.jsonl, or the recording directory holding it (as `eval` takes it)."""
    path = Path(path)
    if path.is_dir():
        inner = path / "labels.jsonl"
        if not inner.is_file():
            raise InputError(f"{path}: no labels.jsonl in this directory")
        return inner
    return path


def from_labels(path: str | Path, detections: Sequence[Mapping[str, Any]], replay_end_t: float,
                max_latency_s: float = 4.0, early_s: float = 0.5) -> GroundTruth:
    path = labels_path(path)
    labels = read_labels(path)
    label_spans = scoring.intervals(labels)
    late = [s for s in label_spans if s.start_t > replay_end_t + END_TOLERANCE_S]
    if late:
        first = late[0]
        raise InputError(f"{path}: label {first.name} at {first.start_t:.2f} s starts after the replay ends "
                         f"({replay_end_t:.2f} s): labels of another drive?")
    scores = scoring.score(detections, labels, max_latency_s, early_s)
    out = GroundTruth(source=f"labels {path}")
    for name, s in scores.items():
        missed = list(s.missed_at_t)
        latencies = list(s.latencies_s)
        for lab in (lab for lab in label_spans if lab.name == name):
            if lab.start_t in missed:
                missed.remove(lab.start_t)
                out.spans.append(TruthSpan(name, lab.start_t, lab.end_t, status="missed"))
                out.marks.append(Mark(lab.start_t, "missed", name, f"missed {name} (label {lab.start_t:.2f} s)", name))
            else:
                latency = latencies.pop(0)
                out.spans.append(TruthSpan(name, lab.start_t, lab.end_t, status="found"))
                out.marks.append(Mark(lab.start_t + latency, "found", name,
                                      f"found {name} at {lab.start_t + latency:.2f} s (label {lab.start_t:.2f} s, "
                                      f"latency {latency:.2f} s)", name))
        out.marks += [Mark(t, "false", name, f"false {name} at {t:.2f} s", name) for t in s.false_alarms_at_t]
        if s.labels or s.detections:
            out.rows.append(ScoreRow(name, s.labels, s.found, len(s.missed_at_t), s.false_alarms, _latency(s.latencies_s)))
    out.marks.sort(key=lambda m: m.t)
    return out


def from_truth(path: str | Path, clip_hint: str, detections: Sequence[Mapping[str, Any]],
               replay_end_t: float) -> GroundTruth:
    truth = truth_mod.load_truth(path)
    clip_name = truth_mod.find_clip(truth, clip_hint, path)
    clip = truth[clip_name]
    if clip.duration_s is not None and abs(clip.duration_s - replay_end_t) > max(END_TOLERANCE_S, 0.1 * clip.duration_s):
        raise InputError(f"{path}: clip {clip_name} lasts {clip.duration_s:.2f} s but the replay covers "
                         f"{replay_end_t:.2f} s: truth of another drive? (name the clip with --clip)")
    result = truth_mod.score_clip(clip_name, clip, detections)
    out = GroundTruth(source=f"truth {path}, clip {clip_name}")
    found_behaviours = {id(exp.behaviour) for exp, _ in result.found}
    missed_behaviours = {id(exp.behaviour) for exp in result.missed}
    for b in clip.intervals:
        status = "found" if id(b) in found_behaviours else "missed" if id(b) in missed_behaviours else ""
        out.spans.append(TruthSpan(b.kind, b.start_s, b.end_s, b.note, status))
    for span in clip.ambiguous:
        if span.start_s is not None and span.end_s is not None:
            out.spans.append(TruthSpan(f"ambiguous: {span.what}", span.start_s, span.end_s, span.note, "ambiguous"))
    for span in clip.other:
        if span.start_s is not None and span.end_s is not None:
            out.spans.append(TruthSpan(f"other: {span.what}", span.start_s, span.end_s, span.note, ""))
    for exp, alert in result.found:
        out.marks.append(Mark(alert.t, "found", alert.name, f"found {alert.name} at {alert.t:.2f} s for {exp.describe()}", alert.name))
    for exp in result.missed:
        out.marks.append(Mark(exp.behaviour.start_s, "missed", "/".join(sorted(exp.names)), f"MISSED {exp.describe()}", exp.behaviour.kind))
    for alert in result.false_alerts:
        out.marks.append(Mark(alert.t, "false", alert.name, f"FALSE {alert.name} at {alert.t:.2f} s", alert.name))
    out.marks.sort(key=lambda m: m.t)
    names = sorted({m.name for m in out.marks})
    # Latency: from the behaviour's start (truth.yaml's start_s) to the alert that found it.
    latencies: dict[str, list[float]] = {}
    for exp, alert in result.found:
        latencies.setdefault(alert.name, []).append(alert.t - exp.behaviour.start_s)
    for name in names:
        marks = [m for m in out.marks if m.name == name]
        found = sum(m.status == "found" for m in marks)
        missed = sum(m.status == "missed" for m in marks)
        out.rows.append(ScoreRow(name, found + missed, found, missed, sum(m.status == "false" for m in marks),
                                 _latency(latencies.get(name, []))))
    return out


def _latency(latencies_s: Sequence[float]) -> str:
    if not latencies_s:
        return "-"
    # The median as `eval` prints it (and the corpus page): of an even count, the mean of the
    # middle two.
    return f"{statistics.median(latencies_s):.2f}, {max(latencies_s):.2f}"
