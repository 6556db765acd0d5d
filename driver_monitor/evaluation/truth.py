"""Behaviour-interval truth (the `truth.yaml` form of ../shared/data/real/) and its scoring.

Truth here is about what the driver did (`eyes_closed`, `yawn`, `look_away`, `look_down`,
`face_absent`, `talking` intervals, plus `ambiguous` spans an annotator could not call), not
about event names. Scoring maps each behaviour to the events a correct detector must raise
(issue 12 "Real clips in the test suite"):

  eyes_closed >= 3 s   `sleep` starting in [onset + 1.5 s, end + 1 s]
  eyes_closed >= 1 s   `microsleep` or `sleep` starting in [onset + 0.5 s, end + 1 s]
  yawn >= 2 s          `yawn` in [onset, end + 2 s]
  look_away / look_down >= 3 s
                       `long_distraction` or `unresponsive` starting in [onset + 2.5 s, end + 1.5 s]

An alert event (ALERT_EVENTS) that starts more than `excuse_margin_s` (1 s) away from every
behaviour interval and ambiguous span is a false alert. Talking excuses nothing (talking is
what an attentive driver does); an `other` span about a phone excuses only `phone_use`. An
alert that fulfils an expectation is never false. Each alert fulfils one expectation at most,
and as many expectations are found as the alerts can fulfil, whatever order the file lists the
intervals in.

The time of an event is its start line's `t` (or the `t` of an instantaneous one): when a live
system would have told the driver, not the onset it reconstructed afterwards.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from driver_monitor.config.loader import format_validation_error, parse_yaml_mapping, read_yaml_text
from driver_monitor.errors import ConfigError, InputError

BehaviourKind = Literal["eyes_closed", "yawn", "look_away", "look_down", "face_absent", "talking"]

# Events that tell the driver something is wrong (a false one costs the driver's trust). Blinks,
# nods, driver_absent / eyes_unavailable / camera_fault (the system's own limits, reported as
# such) are not alerts in this sense.
ALERT_EVENTS = frozenset({
    "microsleep", "sleep", "drowsy", "yawn", "long_distraction", "visual_time_sharing",
    "phone_use", "unresponsive", "stress", "anger", "daydreaming",
})


class _Strict(BaseModel):
    # No NaN or infinity (YAML `.nan` / `.inf`): `end_s: .inf` was an interval no detection
    # could answer in time, scored as missed.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class TruthInterval(_Strict):
    kind: BehaviourKind
    start_s: float = Field(ge=0.0)
    end_s: float = Field(ge=0.0)
    note: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> TruthInterval:
        if self.end_s < self.start_s:
            raise ValueError("end_s must not be before start_s")
        return self

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


class TruthSpan(_Strict):
    """An ambiguous or `other` stretch: `what` names it; `other` entries may have no times."""

    what: str
    start_s: float | None = Field(None, ge=0.0)
    end_s: float | None = Field(None, ge=0.0)
    note: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> TruthSpan:
        # An ambiguous span excuses alerts in it: backwards, it silently excused none.
        if self.start_s is not None and self.end_s is not None and self.end_s < self.start_s:
            raise ValueError("end_s must not be before start_s")
        # A phone span with one time excused no phone_use: it is a stretch or no time at all.
        if (self.start_s is None) != (self.end_s is None):
            raise ValueError("start_s and end_s go together (a span with one of them is no stretch)")
        return self


class AmbiguousSpan(TruthSpan):
    """A stretch not to score hard: its times are what it says. One without them (an end_s
    forgotten) excused nothing, and the alerts in it read as false."""

    start_s: float = Field(ge=0.0)
    end_s: float = Field(ge=0.0)


class ClipTruth(_Strict):
    file: str
    fps: float | None = Field(None, gt=0.0)
    duration_s: float | None = Field(None, gt=0.0)
    size: tuple[int, int] | None = None
    intervals: tuple[TruthInterval, ...] = ()
    ambiguous: tuple[AmbiguousSpan, ...] = ()
    other: tuple[TruthSpan, ...] = ()


def load_truth(path: str | Path) -> dict[str, ClipTruth]:
    """Every clip of a truth.yaml by name; ConfigError with one `FILE: clip.key: ...` line per
    problem."""
    path = Path(path)
    data = parse_yaml_mapping(read_yaml_text(path, "truth file"), str(path), "a mapping of clip names")
    clips: dict[str, ClipTruth] = {}
    problems: list[str] = []
    for name, entry in data.items():
        try:
            clips[str(name)] = ClipTruth.model_validate(entry)
        except ValidationError as exc:
            problems += [f"{path}: {name}{'' if line.startswith('(top level): ') else '.'}{line.removeprefix('(top level)')}"
                         for line in format_validation_error(exc, "unknown key")]
    if problems:
        raise ConfigError(problems)
    return clips


def find_clip(truth: Mapping[str, ClipTruth], hint: str, source: str | Path | None = None) -> str:
    """The clip a replay belongs to, from a name or path hint (clip name or its file's name
    or stem); InputError naming the truth file (`source`) and its clips otherwise."""
    stem = Path(hint).name
    for name, clip in truth.items():
        if stem in (name, clip.file, Path(clip.file).stem):
            return name
    where = f"{source}: " if source is not None else ""
    raise InputError(f"{where}no clip named {stem!r} in the truth file (clips: {', '.join(sorted(truth))})")


@dataclass(frozen=True)
class Expectation:
    """What one behaviour interval requires: one of `names` starting in [earliest_t, latest_t]."""

    behaviour: TruthInterval
    names: frozenset[str]
    earliest_t: float
    latest_t: float

    def describe(self) -> str:
        b = self.behaviour
        return (f"{b.kind} {b.start_s:.2f}-{b.end_s:.2f} s -> {' or '.join(sorted(self.names))} "
                f"in [{self.earliest_t:.2f}, {self.latest_t:.2f}]")


def expectations(clip: ClipTruth) -> list[Expectation]:
    out: list[Expectation] = []
    for b in clip.intervals:
        d = b.duration_s
        if b.kind == "eyes_closed" and d >= 3.0:
            out.append(Expectation(b, frozenset({"sleep"}), b.start_s + 1.5, b.end_s + 1.0))
        elif b.kind == "eyes_closed" and d >= 1.0:
            out.append(Expectation(b, frozenset({"microsleep", "sleep"}), b.start_s + 0.5, b.end_s + 1.0))
        elif b.kind == "yawn" and d >= 2.0:
            out.append(Expectation(b, frozenset({"yawn"}), b.start_s, b.end_s + 2.0))
        elif b.kind in ("look_away", "look_down") and d >= 3.0:
            out.append(Expectation(b, frozenset({"long_distraction", "unresponsive"}), b.start_s + 2.5, b.end_s + 1.5))
    return out


@dataclass(frozen=True)
class Alert:
    name: str
    t: float


@dataclass
class ClipScore:
    clip: str
    found: list[tuple[Expectation, Alert]] = field(default_factory=list)
    missed: list[Expectation] = field(default_factory=list)
    false_alerts: list[Alert] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missed and not self.false_alerts


def alerts(events: Iterable[Mapping[str, Any]]) -> list[Alert]:
    """Alert events by their start time (a microsleep that became a sleep stays one alert at
    its own start, and the sleep is another)."""
    out = [Alert(e["name"], float(e["t"])) for e in events
           if e.get("kind", "event") == "event" and e.get("phase") in ("start", None) and e["name"] in ALERT_EVENTS]
    return sorted(out, key=lambda a: (a.t, a.name))


def _excuses(clip: ClipTruth, name: str) -> list[tuple[float, float]]:
    spans = [(b.start_s, b.end_s) for b in clip.intervals if b.kind != "talking"]
    spans += [(s.start_s, s.end_s) for s in clip.ambiguous if s.start_s is not None and s.end_s is not None]
    if name == "phone_use":
        spans += [(s.start_s, s.end_s) for s in clip.other
                  if "phone" in s.what and s.start_s is not None and s.end_s is not None]
    return spans


def score_clip(name: str, clip: ClipTruth, events: Iterable[Mapping[str, Any]], excuse_margin_s: float = 1.0) -> ClipScore:
    result = ClipScore(name, alerts=alerts(events))
    expected = expectations(clip)
    candidates = [[i for i, a in enumerate(result.alerts)
                   if a.name in exp.names and exp.earliest_t - 1e-6 <= a.t <= exp.latest_t + 1e-6] for exp in expected]
    matched = _match(candidates, sorted(range(len(expected)), key=lambda k: (expected[k].earliest_t, expected[k].latest_t)))
    used = {i for i in matched if i is not None}
    for exp, match in zip(expected, matched, strict=True):
        if match is None:
            result.missed.append(exp)
        else:
            result.found.append((exp, result.alerts[match]))
    for i, a in enumerate(result.alerts):
        if i in used:
            continue
        if not any(s - excuse_margin_s <= a.t <= e + excuse_margin_s for s, e in _excuses(clip, a.name)):
            result.false_alerts.append(a)
    return result


def _match(candidates: Sequence[Sequence[int]], order: Iterable[int]) -> list[int | None]:
    """Per item, the alert it is matched to (None: missed), each alert to one item at most:
    as many items found as can be. In `order` (time) each item takes its earliest free
    candidate; an item left without one then takes one from an item that can move to another
    (the shortest such chain). Taken one by one in the file's order, an expectation listed
    first could take the only alert a later one had, though another alert was there for it:
    the same truth read as a miss in one order and not in another."""
    matched: list[int | None] = [None] * len(candidates)
    owner: dict[int, int] = {}
    order = list(order)
    for k in order:
        free = next((i for i in candidates[k] if i not in owner), None)
        if free is not None:
            matched[k], owner[free] = free, k
    for k in order:
        if matched[k] is not None:
            continue
        reached_from: dict[int, int] = {}  # alert -> the item whose candidate it is on the chain
        queue = deque([k])
        while queue:
            item = queue.popleft()
            free = None
            for i in candidates[item]:
                if i in reached_from:
                    continue
                reached_from[i] = item
                if i not in owner:
                    free = i
                    break
                queue.append(owner[i])
            if free is not None:
                while True:  # each item on the chain takes the alert it reached
                    item = reached_from[free]
                    free, matched[item] = matched[item], free
                    owner[matched[item]] = item  # type: ignore[index]
                    if free is None:
                        break
                break
    return matched


def report(scores: Iterable[ClipScore]) -> str:
    lines = [f"{'clip':<26}{'expected':>9}{'found':>7}{'missed':>8}{'false':>7}  detail"]
    for s in scores:
        detail = [f"found {a.name} at {a.t:.2f}" for _, a in s.found]
        detail += [f"MISSED {e.describe()}" for e in s.missed]
        detail += [f"FALSE {a.name} at {a.t:.2f}" for a in s.false_alerts]
        n = len(s.found) + len(s.missed)
        lines.append(f"{s.clip:<26}{n:>9}{len(s.found):>7}{len(s.missed):>8}{len(s.false_alerts):>7}  {'; '.join(detail) or '-'}")
    return "\n".join(lines)

