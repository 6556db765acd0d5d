"""Score detections (an events.jsonl) against ground truth (a labels.jsonl).

Both files follow docs/event-log.md. A label's `t` is the true onset of the behaviour; a
detection's `t` is when the rule fired, so `detection.t - label.t` is the latency a driver
would experience. A label is found when a detection of the same name fires inside its
window: from `early_s` before the label's onset to `max_latency_s` after its end (or after
its onset for instantaneous labels). Each detection matches one label at most; the rest
are false alarms.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

EventDict = Mapping[str, Any]


@dataclass(frozen=True)
class Interval:
    name: str
    start_t: float
    end_t: float  # == start_t for instantaneous events


@dataclass
class NameScore:
    name: str
    labels: int = 0
    detections: int = 0
    found: int = 0
    latencies_s: list[float] = field(default_factory=list)
    missed_at_t: list[float] = field(default_factory=list)
    false_alarms_at_t: list[float] = field(default_factory=list)

    @property
    def false_alarms(self) -> int:
        return len(self.false_alarms_at_t)

    @property
    def recall(self) -> float | None:
        return self.found / self.labels if self.labels else None

    @property
    def precision(self) -> float | None:
        return self.found / self.detections if self.detections else None


def intervals(events: Iterable[EventDict], kind: str = "event") -> list[Interval]:
    """Pair start/end lines into intervals; a start without an end lasts to the last time;
    instantaneous events (no phase) are zero-length intervals."""
    out: list[Interval] = []
    open_at: dict[str, float] = {}
    last_t = 0.0
    for e in events:
        if e.get("kind", "event") != kind:
            continue
        t = float(e["t"])
        last_t = max(last_t, t)
        phase = e.get("phase")
        name = e["name"]
        if phase == "start":
            open_at.setdefault(name, t)
        elif phase == "end":
            if name in open_at:
                start = open_at.pop(name)
                # A live system reports a long closure as a microsleep first, then ends it
                # with became="sleep" when it reaches the sleep rule: that interval is part
                # of the sleep, not an event of its own.
                if (e.get("detail") or {}).get("became") is None:
                    out.append(Interval(name, start, t))
        else:
            out.append(Interval(name, t, t))
    out.extend(Interval(name, start, last_t) for name, start in open_at.items())
    return sorted(out, key=lambda i: (i.start_t, i.name))


def score(
    detections: Iterable[EventDict],
    labels: Iterable[EventDict],
    max_latency_s: float = 4.0,
    early_s: float = 0.5,
    names: Iterable[str] | None = None,
) -> dict[str, NameScore]:
    found_intervals = intervals(detections)
    label_intervals = intervals(labels)
    wanted = set(names) if names is not None else {i.name for i in label_intervals} | {i.name for i in found_intervals}
    scores = {name: NameScore(name) for name in sorted(wanted)}
    for name, s in scores.items():
        dets = [d for d in found_intervals if d.name == name]
        labs = [lab for lab in label_intervals if lab.name == name]
        s.labels, s.detections = len(labs), len(dets)
        used: set[int] = set()
        for lab in labs:
            match = next(
                (
                    i
                    for i, d in enumerate(dets)
                    if i not in used and lab.start_t - early_s <= d.start_t <= lab.end_t + max_latency_s
                ),
                None,
            )
            if match is None:
                s.missed_at_t.append(lab.start_t)
                continue
            used.add(match)
            s.found += 1
            s.latencies_s.append(dets[match].start_t - lab.start_t)
        s.false_alarms_at_t = [d.start_t for i, d in enumerate(dets) if i not in used]
    return scores


def report(scores: Mapping[str, NameScore]) -> str:
    lines = [f"{'event':<22}{'labels':>7}{'found':>7}{'missed':>8}{'false':>7}{'latency s (median, max)':>26}"]
    for s in scores.values():
        if s.latencies_s:
            # The true median (the mean of the middle two of an even count), as the corpus table.
            latency = f"{statistics.median(s.latencies_s):.2f}, {max(s.latencies_s):.2f}"
        else:
            latency = "-"
        lines.append(f"{s.name:<22}{s.labels:>7}{s.found:>7}{len(s.missed_at_t):>8}{s.false_alarms:>7}{latency:>26}")
    return "\n".join(lines)
