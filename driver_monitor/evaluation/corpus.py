"""Scores over many drives: per event name and in total, for the detectors' events and for the
policy's warnings (docs/scaling.md, "eval over a corpus").

Per drive, the detections are matched to the ground truth exactly as `eval` does for one drive
(labels.jsonl: evaluation/scoring.py; behaviour intervals of a truth.yaml: evaluation/truth.py),
then the counts are summed over the corpus:

    labels     ground-truth items (labels, or the events a truth interval requires)
    found      items a detection of theirs matched            missed = labels - found
    false      detections no item matched (false alarms)
    precision  found / (found + false)      recall  found / labels
    F1         their harmonic mean, 2 found / (2 found + false + missed): 0 when labels were
               there and none found (precision is undefined then), none when nothing was
               labelled nor raised
    latency    detection start - the item's onset, median and p90 over the found items (s)
    false/h    false alarms per hour of driving (the drives' first to last frame)

Totals count the alert events only (truth.ALERT_EVENTS: not blinks, nods, nor the system's own
limits such as driver_absent or camera_fault, which have rows of their own).

Warnings: the policy's action lines of its safety conditions, grouped into episodes (a
condition's first action that starts while none of that condition's actions is on; its actions
ending and others starting in one frame, a ladder stage, go on with the episode). The
advisory conditions (names.ADVISORY_CONDITIONS: stress, anger, daydreaming, and `withheld`,
what privacy calls their actions when the signal is not written) only ever lead to calming
comfort actions, never to a warning: their actions are no warnings and their labels imply
none. Every label whose name is a safety condition (a truth interval: every expectation whose
events include one; a yawn is no policy condition and implies none) implies a warning starting
in its window: the first unused warning
there, whatever its condition (latency from the label's onset: a microsleep's warning answers
the sleep it becomes). A warning inside the window of a label that already has one is the same
episode going on (an escalation, microsleep becoming sleep) and is not counted; any other
warning is false. A label with no unused warning start in its window is still found when a
warning episode that started before its latest time was on to the label's end (within
ON_THROUGH_SLACK_S): a driver distracted again while the last warning is still on, a sleep
inside an `unresponsive` intervention, two labels overlapping in one episode. The driver was
being warned throughout, and no policy starts a second episode for it. Its latency is counted
when the episode started after the label's onset (none before: no start to time).
A label whose window lies wholly where monitoring was not active (the `monitoring_active`
state lines: before the activation minute at speed, ignition off) implies no warning: it is
counted as `not_active`, not in `labels`, so a corpus of short clips or parked stretches does
not read as warnings missed. Drives without any monitoring_active line count as active.
Likewise a label whose window lies wholly where its condition's speed gate was closed
(policy.conditions.NAME.min_speed_kph, with the hysteresis of policy.monitoring: a sleep while
stopped at a light) implies no warning, since the policy withholds it there by design: it is
counted as `not_active` too. The gate is rebuilt with the policy's own SpeedGate from the
vehicle speed of each frame (the feature table's vehicle_speed_kph) under the config that
decided the events; where the speeds or that config are unknown, every gate counts as open.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from driver_monitor.evaluation.scoring import NameScore, intervals, score
from driver_monitor.evaluation.truth import (
    ALERT_EVENTS,
    ClipScore,
    ClipTruth,
    _excuses,
    expectations,
    score_clip,
)
from driver_monitor.names import ADVISORY_CONDITIONS, CONDITIONS
from driver_monitor.privacy import WITHHELD

if TYPE_CHECKING:
    from driver_monitor.config.policy import PolicyConfig

EventDict = Mapping[str, Any]
# The conditions whose actions are warnings: every policy condition but the advisory ones.
WARNING_CONDITIONS: frozenset[str] = frozenset(CONDITIONS) - ADVISORY_CONDITIONS
TOTAL = "all alerts"
WARNINGS_TOTAL = "all warnings"


@dataclass
class Tally:
    labels: int = 0
    found: int = 0
    false: int = 0
    latencies_s: list[float] = field(default_factory=list)
    not_active: int = 0  # warnings: labels while monitoring was not active or gated off by speed (none expected)

    def add(self, other: Tally) -> None:
        self.labels += other.labels
        self.found += other.found
        self.false += other.false
        self.latencies_s += other.latencies_s
        self.not_active += other.not_active

    @property
    def missed(self) -> int:
        return self.labels - self.found

    @property
    def precision(self) -> float | None:
        return self.found / (self.found + self.false) if self.found + self.false else None

    @property
    def recall(self) -> float | None:
        return self.found / self.labels if self.labels else None

    @property
    def f1(self) -> float | None:
        # The harmonic mean of precision and recall in counts: defined whenever either is, so
        # a config that found none of the labels (raising nothing: no precision) scores 0, not
        # "nothing to say", and ranks with the others that score 0 (sweep's tie rule).
        judged = 2 * self.found + self.false + self.missed
        return 2 * self.found / judged if judged else None

    @property
    def latency_median_s(self) -> float | None:
        return float(np.median(self.latencies_s)) if self.latencies_s else None

    @property
    def latency_p90_s(self) -> float | None:
        return float(np.percentile(self.latencies_s, 90)) if self.latencies_s else None

    def metrics(self, hours: float) -> dict[str, Any]:
        return {
            "labels": self.labels, "found": self.found, "missed": self.missed, "false": self.false,
            "precision": self.precision, "recall": self.recall, "f1": self.f1,
            "latency_median_s": self.latency_median_s, "latency_p90_s": self.latency_p90_s,
            "false_per_hour": self.false / hours if hours > 0 else None,
            "not_active": self.not_active,
        }


@dataclass
class DriveScore:
    """One drive's tallies; `detail` is what the single-drive scorer returned (the HTML corpus
    report shows it): {name: NameScore} for labels, a ClipScore for truth."""

    name: str
    duration_s: float
    events: dict[str, Tally] = field(default_factory=dict)
    warnings: dict[str, Tally] = field(default_factory=dict)
    detail: Mapping[str, NameScore] | ClipScore | None = None


# ---- one drive ----------------------------------------------------------------------------------

def score_labels(name: str, detections: Sequence[EventDict], labels: Sequence[EventDict], duration_s: float,
                 max_latency_s: float = 4.0, early_s: float = 0.5, gates: GateSpans | None = None) -> DriveScore:
    """gates: speed_gate_closed_spans of the drive under the config that decided it (None: unknown,
    every gate open)."""
    names = score(detections, labels, max_latency_s, early_s)
    events = {n: Tally(s.labels, s.found, s.false_alarms, list(s.latencies_s)) for n, s in names.items()}
    windows = [(lab.name, lab.start_t, lab.start_t - early_s, lab.end_t + max_latency_s, lab.end_t)
               for lab in intervals(labels) if lab.name in WARNING_CONDITIONS]
    warnings = _score_warnings(windows, warning_episodes(detections), excuses=[],
                               active=monitoring_active_spans(detections),
                               withheld=_withheld_by_gate(gates, lambda w: {w[0]}))
    return DriveScore(name, duration_s, events, warnings, names)


def score_truth(name: str, clip: ClipTruth, detections: Sequence[EventDict], duration_s: float,
                gates: GateSpans | None = None) -> DriveScore:
    result = score_clip(name, clip, detections)
    events: dict[str, Tally] = {}
    for exp, alert in result.found:
        tally = events.setdefault(primary_name(exp.names), Tally())
        tally.labels += 1
        tally.found += 1
        tally.latencies_s.append(alert.t - exp.behaviour.start_s)
    for exp in result.missed:
        events.setdefault(primary_name(exp.names), Tally()).labels += 1
    for alert in result.false_alerts:
        events.setdefault(alert.name, Tally()).false += 1
    # A warning anywhere from the behaviour's onset to the event's latest time is in time.
    # Only what the policy warns of: a yawn is no condition (it feeds the drowsiness level).
    expected = [e for e in expectations(clip) if e.names & WARNING_CONDITIONS]
    windows = [(primary_name(e.names), e.behaviour.start_s, e.behaviour.start_s, e.latest_t, e.behaviour.end_s)
               for e in expected]
    # An expectation met by any of several events (microsleep or sleep) is withheld only where
    # the gates of all its conditions were closed.
    conditions = {id(w): e.names & WARNING_CONDITIONS for w, e in zip(windows, expected, strict=True)}
    excuses = sorted({span for n in CONDITIONS for span in _excuses(clip, n)})
    warnings = _score_warnings(windows, warning_episodes(detections), excuses, margin_s=1.0,
                               active=monitoring_active_spans(detections),
                               withheld=_withheld_by_gate(gates, lambda w: conditions[id(w)]))
    return DriveScore(name, duration_s, events, warnings, result)


def primary_name(names: Iterable[str]) -> str:
    """The row a truth expectation is counted in: its first name (microsleep for microsleep
    or sleep, long_distraction for long_distraction or unresponsive)."""
    return sorted(names)[0]


def warning_starts(events: Iterable[EventDict]) -> list[tuple[str, float]]:
    """(condition, t) of each warning episode: an action start of a safety condition none of
    whose actions is on (an advisory condition's comfort actions are no warning)."""
    return [(condition, start) for condition, start, _ in warning_episodes(events)]


def warning_episodes(events: Iterable[EventDict]) -> list[tuple[str, float, float]]:
    """(condition, start t, end t) of each warning episode, in order of start: from the
    condition's first action start while none of its actions is on to the end of its last one
    (inf: still on when the log ends). Actions of the condition that end and start in one frame
    (a ladder stage with none of the last one's actions) continue its episode."""
    on: dict[str, set[str]] = {}
    open_at: dict[str, int] = {}  # condition -> index of its episode now on
    ended: dict[str, tuple[int, float]] = {}  # condition -> its last episode and when it ended
    episodes: list[tuple[str, float, float]] = []
    for e in events:
        if e.get("kind") != "action":
            continue
        condition = str((e.get("detail") or {}).get("condition"))
        if condition in ADVISORY_CONDITIONS or condition == WITHHELD:
            continue
        actions = on.setdefault(condition, set())
        t = float(e["t"])
        if e.get("phase") == "start":
            if not actions:
                last = ended.pop(condition, None)
                if last is not None and last[1] == t:
                    # The policy writes a frame's ends before its starts: a ladder stage (or the
                    # ACK's actions) sharing no action with the one before ends all of them and
                    # starts others at the same t. The warning goes on; it is no new episode.
                    open_at[condition] = last[0]
                    episodes[last[0]] = (condition, episodes[last[0]][1], math.inf)
                else:
                    open_at[condition] = len(episodes)
                    episodes.append((condition, t, math.inf))
            actions.add(e["name"])
        elif e.get("phase") == "end" and e["name"] in actions:
            actions.discard(e["name"])
            if not actions and condition in open_at:
                i = open_at.pop(condition)
                episodes[i] = (condition, episodes[i][1], t)
                ended[condition] = (i, t)
    return sorted(episodes, key=lambda s: s[1])


def monitoring_active_spans(events: Iterable[EventDict]) -> list[tuple[float, float]] | None:
    """Where the policy's monitoring was active, from its `monitoring_active` state lines;
    None when the drive has none (an older output, the policy off): active throughout."""
    spans: list[tuple[float, float]] = []
    since: float | None = None
    seen = False
    for e in events:
        if e.get("kind") != "state" or e.get("name") != "monitoring_active":
            continue
        seen = True
        t = float(e["t"])
        if bool((e.get("detail") or {}).get("active")):
            since = t if since is None else since
        elif since is not None:
            spans.append((since, t))
            since = None
    if since is not None:
        spans.append((since, math.inf))
    return spans if seen else None


GateSpans = Mapping[str, Sequence[tuple[float, float]]]  # condition -> (from, to) where its gate was closed


def speed_gate_closed_spans(speeds: Iterable[tuple[float, float | None]], policy: PolicyConfig) -> dict[str, list[tuple[float, float]]]:
    """Per policy condition with a speed gate, where the gate was closed: the policy's own
    SpeedGate (hysteresis included) fed each frame's (t, vehicle speed km/h, None unknown)."""
    from driver_monitor.messages import VehicleState
    from driver_monitor.policy.gates import SpeedGate

    hysteresis = policy.monitoring.speed_gate_hysteresis_kph
    gates = {name: SpeedGate(cfg.min_speed_kph, hysteresis) for name, cfg in policy.conditions.items()
             if cfg.min_speed_kph > 0.0}
    closed_since: dict[str, float] = {}
    out: dict[str, list[tuple[float, float]]] = {name: [] for name in gates}
    for t, speed_kph in speeds:
        vehicle = VehicleState(t, speed_kph)
        for name, gate in gates.items():
            if gate.update(vehicle):
                if name in closed_since:
                    out[name].append((closed_since.pop(name), t))
            else:
                closed_since.setdefault(name, t)
    for name, since in closed_since.items():
        out[name].append((since, math.inf))  # closed to the end: nothing warns after it either
    return out


# A warning episode that ends this little before a behaviour's annotated end was on through
# it: truth boundaries are uncertain by about 0.25 s (../shared/data/real/truth.yaml).
ON_THROUGH_SLACK_S = 0.5

Window = tuple[str, float, float, float, float]  # row, onset, earliest, latest, the behaviour's end


def _withheld_by_gate(gates: GateSpans | None, conditions_of: Callable[[Window], set[str]]) -> Callable[[Window], bool] | None:
    """Whether a window lies wholly inside a span where the speed gates of all its conditions
    were closed (the policy withholds its warning there by design)."""
    if gates is None:
        return None

    def withheld(w: Window) -> bool:
        conditions = conditions_of(w)
        return bool(conditions) and all(
            any(a - 1e-6 <= w[2] and w[3] <= b + 1e-6 for a, b in gates.get(c, ())) for c in conditions)

    return withheld


def _score_warnings(windows: Sequence[Window], episodes: Sequence[tuple[str, float, float]],
                    excuses: Sequence[tuple[float | None, float | None]], margin_s: float = 0.0,
                    active: Sequence[tuple[float, float]] | None = None,
                    withheld: Callable[[Window], bool] | None = None) -> dict[str, Tally]:
    """windows: (row, onset, earliest, latest, end) per item implying a warning; `episodes`:
    warning_episodes of the drive; `active`: where monitoring was active (None: throughout). A
    window outside every active span, or one `withheld` says lies where its speed gate was
    closed, implies none."""
    starts = [(condition, start) for condition, start, _ in episodes]
    tallies: dict[str, Tally] = {}
    used: set[int] = set()

    def expected(w: Window) -> bool:
        if active is not None and not any(a <= w[3] + 1e-6 and w[2] - 1e-6 <= b for a, b in active):
            return False
        return withheld is None or not withheld(w)

    for row, *_ in (w for w in windows if not expected(w)):
        tallies.setdefault(row, Tally()).not_active += 1
    windows = [w for w in windows if expected(w)]
    for row, onset, earliest, latest, end in sorted(windows, key=lambda w: w[1]):
        tally = tallies.setdefault(row, Tally())
        tally.labels += 1
        match = next((i for i, (_, t) in enumerate(starts) if i not in used and earliest - 1e-6 <= t <= latest + 1e-6), None)
        if match is not None:
            used.add(match)
            tally.found += 1
            tally.latencies_s.append(starts[match][1] - onset)
        else:
            # An episode already on (or one another label's window took) that was on from in
            # time to the behaviour's end: warned throughout.
            on = next((start for _, start, stop in episodes
                       if start <= latest + 1e-6 and stop >= end - ON_THROUGH_SLACK_S), None)
            if on is not None:
                tally.found += 1
                if on >= onset - 1e-6:
                    tally.latencies_s.append(on - onset)
    for i, (condition, t) in enumerate(starts):
        if i in used or any(earliest - 1e-6 <= t <= latest + 1e-6 for _, _, earliest, latest, _ in windows):
            continue
        if any(s is not None and e is not None and s - margin_s <= t <= e + margin_s for s, e in excuses):
            continue
        tallies.setdefault(condition, Tally()).false += 1
    return tallies


# ---- the corpus ---------------------------------------------------------------------------------

@dataclass
class CorpusScore:
    drives: list[DriveScore]

    @property
    def hours(self) -> float:
        return sum(d.duration_s for d in self.drives) / 3600.0

    def events(self) -> dict[str, Tally]:
        return _sum(d.events for d in self.drives)

    def warnings(self) -> dict[str, Tally]:
        return _sum(d.warnings for d in self.drives)

    def events_total(self) -> Tally:
        total = Tally()
        for name, tally in self.events().items():
            if name in ALERT_EVENTS:
                total.add(tally)
        return total

    def warnings_total(self) -> Tally:
        total = Tally()
        for tally in self.warnings().values():
            total.add(tally)
        return total

    def metrics(self) -> dict[str, Any]:
        """Everything, JSON-ready (`eval --json`, a sweep's row)."""
        h = self.hours
        return {
            "drives": len(self.drives), "hours": h,
            "events": {n: t.metrics(h) for n, t in sorted(self.events().items())},
            "events_total": self.events_total().metrics(h),
            "warnings": {n: t.metrics(h) for n, t in sorted(self.warnings().items())},
            "warnings_total": self.warnings_total().metrics(h),
            "per_drive": [{"name": d.name, "duration_s": d.duration_s,
                           "events": {n: t.metrics(d.duration_s / 3600.0) for n, t in sorted(d.events.items())},
                           "warnings": {n: t.metrics(d.duration_s / 3600.0) for n, t in sorted(d.warnings.items())}}
                          for d in self.drives],
        }

    def text(self, names: Iterable[str] | None = None) -> str:
        """The table; `names`: only these event rows (the totals stay those of every alert)."""
        h = self.hours
        wanted = set(names) if names else None
        lines = [f"corpus: {len(self.drives)} drives, {h:.3f} h of driving", _HEADER.format("event")]
        lines += [_row(n, t, h) for n, t in sorted(self.events().items()) if wanted is None or n in wanted]
        lines.append(_row(TOTAL, self.events_total(), h))
        lines += ["", _HEADER.format("warning")]
        lines += [_row(n, t, h) for n, t in sorted(self.warnings().items())]
        lines.append(_row(WARNINGS_TOTAL, self.warnings_total(), h))
        not_active = self.warnings_total().not_active
        if not_active:
            lines.append(f"{not_active} label{'s' if not_active != 1 else ''} fell where monitoring was not active "
                         "(before policy.monitoring.activation_s at speed, or the ignition off) or where their "
                         "condition's speed gate was closed (policy.conditions.NAME.min_speed_kph): no warning "
                         "expected there, not counted above")
        return "\n".join(lines)


def _sum(parts: Iterable[Mapping[str, Tally]]) -> dict[str, Tally]:
    out: dict[str, Tally] = {}
    for part in parts:
        for name, tally in part.items():
            out.setdefault(name, Tally()).add(tally)
    return out


_HEADER = "{:<22}" + f"{'labels':>7}{'found':>7}{'missed':>7}{'false':>7}{'prec':>7}{'recall':>7}{'F1':>7}" \
          f"{'latency s (med, p90)':>22}{'false/h':>9}"


def _row(name: str, t: Tally, hours: float) -> str:
    latency = "-" if not t.latencies_s else f"{t.latency_median_s:.2f}, {t.latency_p90_s:.2f}"
    per_hour = f"{t.false / hours:.2f}" if hours > 0 else "-"
    return (f"{name:<22}{t.labels:>7}{t.found:>7}{t.missed:>7}{t.false:>7}{_share(t.precision):>7}"
            f"{_share(t.recall):>7}{_share(t.f1):>7}{latency:>22}{per_hour:>9}")


def _share(value: float | None) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2f}"
