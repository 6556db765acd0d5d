"""Why a detector event got no warning: the policy's reasons, read back from the event log, the
feature table and the config the replay ran with (never guessed).

An event whose name is a policy condition "got a warning" when an action of its condition (or,
for an advisory condition, one privacy logged as `withheld`) was on at some time while the
condition was active: from the event's start line to its end line, or `hold_s` after an
instantaneous one (docs/policy.md "Conditions"). For each other one, the stretch it was
active is explained piece by piece, in this order, by what withheld the ladder there:

    policy disabled            policy.enabled false: no engine, no action at all
    condition disabled         policy.conditions.NAME.enabled false
    ignition off               monitoring off (monitoring_active state lines) with the
                               feature table's vehicle_ignition_on known false
    monitoring not active      the rest of monitoring off: the activation minute at speed
      (activation)             (policy.monitoring.activation_s) counted from a journey start
    camera fault               every other ladder stops while camera_fault is active
    speed gate closed          the condition's SpeedGate (evaluation/corpus.py
                               speed_gate_closed_spans) fed the vehicle speed of each frame
    acknowledged               a driver_ack state line of the condition earlier in the journey,
                               and its ack_actions are none
    cooldown / rate limit      within cooldown_s of its last episode's end, or
                               max_episodes_per_hour episodes already started in the hour
    arbitration                another condition's HMI actions on (the highest priority shown
                               wins what the driver sees and hears), and the condition's first
                               stage has HMI actions only (vehicle ones would be logged)
    over before its first      what is left of the stretch is shorter than the first stage's
      stage was due            delay_s (a debounce)

A stretch some piece of which none of these explains is "unknown".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from driver_monitor.config import Config
from driver_monitor.config.policy import ConditionPolicy
from driver_monitor.evaluation.corpus import monitoring_active_spans, speed_gate_closed_spans
from driver_monitor.names import ADVISORY_CONDITIONS, CONDITIONS, EventName
from driver_monitor.policy.actions import HMI_ACTIONS
from driver_monitor.privacy import WITHHELD
from driver_monitor.report.timeline import Span, Timeline

Interval = tuple[float, float]  # [from, to): the policy decides at frame times
EPS = 1e-3  # the log's times are rounded to 0.1 ms
ACTIVATION = "monitoring not active (activation)"
IGNITION_OFF = "ignition off"
UNKNOWN = "unknown"
Why = Callable[[float], tuple[str, str]]


@dataclass(frozen=True)
class Unwarned:
    event: Span
    reason: str  # the reasons of its pieces, "; " between them
    detail: str  # where each came from (setting, log line, speed)

    @property
    def text(self) -> str:
        return f"no warning: {self.reason}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class PolicyContext:
    """What the report knows of the policy over the drive."""

    timeline: Timeline
    config: Config
    t: np.ndarray  # frame times of the feature table (may be empty)
    speed_kph: np.ndarray | None  # per frame (NaN: unknown), None: not known at all
    ignition_on: np.ndarray | None  # per frame 1 / 0 / NaN unknown, None: no column

    @property
    def start_t(self) -> float:
        return float(self.t[0]) if len(self.t) else 0.0

    def monitoring_active(self) -> list[Interval] | None:
        """From the monitoring_active state lines; None when the log has none."""
        events = [{"kind": "state", "name": s.name, "t": s.t, "detail": s.detail} for s in self.timeline.states]
        return monitoring_active_spans(events)

    def monitoring_off(self) -> list[Interval]:
        active = self.monitoring_active()
        if active is None:
            return []
        return _subtract([(-math.inf, math.inf)], active)

    def ignition_off(self) -> list[Interval]:
        """Where the feature table says the ignition was known off (frame to next frame)."""
        if self.ignition_on is None or not len(self.t):
            return []
        off = self.ignition_on == 0.0
        return _runs(self.t, off)

    def gate_closed(self) -> dict[str, list[Interval]]:
        if self.speed_kph is None or not len(self.t):
            return {}
        speeds = [(float(t), None if not np.isfinite(v) else float(v)) for t, v in zip(self.t, self.speed_kph, strict=True)]
        return speed_gate_closed_spans(speeds, self.config.policy)

    def journey_starts(self) -> list[float]:
        return [s.t for s in self.timeline.state_lines("journey_start")]


def conditions_of(config: Config) -> dict[str, ConditionPolicy]:
    return dict(config.policy.conditions.items())


def condition_events(timeline: Timeline, config: Config) -> list[Span]:
    """The detector events whose name is a policy condition (the config's conditions)."""
    names = set(CONDITIONS) & set(conditions_of(config))
    return [s for s in timeline.events if s.name in names]


def active_window(span: Span, cfg: ConditionPolicy | None) -> Interval:
    """While the condition was active: start to end, or hold_s after an instantaneous event."""
    if span.instantaneous:
        return span.start_t, span.start_t + (cfg.hold_s if cfg is not None else 0.0)
    return span.start_t, span.end_t


def warned(span: Span, timeline: Timeline, cfg: ConditionPolicy | None) -> list[Span]:
    """The actions of the event's condition on while it was active."""
    a0, a1 = active_window(span, cfg)
    names = {span.name, WITHHELD} if span.name in ADVISORY_CONDITIONS else {span.name}
    return [a for a in timeline.actions if str(a.detail.get("condition")) in names
            and a.start_t <= a1 + EPS and a.end_t >= a0 - EPS]


def unwarned_events(ctx: PolicyContext) -> list[Unwarned]:
    """Every condition event without an action of its condition, with why."""
    out: list[Unwarned] = []
    blockers = _Blockers(ctx)
    for span in condition_events(ctx.timeline, ctx.config):
        cfg = conditions_of(ctx.config).get(span.name)
        if warned(span, ctx.timeline, cfg):
            continue
        reason, detail = blockers.explain(span, cfg)
        out.append(Unwarned(span, reason, detail))
    return out


class _Blockers:
    """The stretches each reason withheld a condition's ladder, computed once per drive."""

    def __init__(self, ctx: PolicyContext):
        self.ctx = ctx
        self.policy = ctx.config.policy
        self.conditions = conditions_of(ctx.config)
        self.off = ctx.monitoring_off()
        self.ignition = _intersect(self.off, ctx.ignition_off())
        self.activation = _subtract(self.off, self.ignition)
        self.active = ctx.monitoring_active()
        self.gates = ctx.gate_closed()
        self.journeys = ctx.journey_starts()
        self.camera = [(s.start_t, s.end_t) for s in ctx.timeline.named(EventName.CAMERA_FAULT) if not s.instantaneous]

    def explain(self, span: Span, cfg: ConditionPolicy | None) -> tuple[str, str]:
        name = span.name
        if not self.policy.enabled:
            return "policy disabled", "policy.enabled: false"
        if cfg is None or not cfg.enabled:
            return "condition disabled", f"policy.conditions.{name}.enabled: false"
        window = active_window(span, cfg)
        left = [window] if window[1] > window[0] + EPS else []
        point = window[0]
        reasons: list[tuple[str, str]] = []
        for blocked, why in self._blocked(name, cfg):
            if left:
                covered = _intersect(left, blocked)
                if not covered:
                    continue
                left = _subtract(left, blocked)
                at = covered[0][0]
            elif any(a - EPS <= point < b for a, b in blocked):
                at = point
            else:
                continue
            reasons.append(why(at))
            if not left:
                break
        else:
            delay = cfg.ladder[0].delay_s
            if left and delay > 0 and all(b - a < delay - EPS for a, b in left):
                reasons.append(("over before its first stage was due",
                                f"policy.conditions.{name}.ladder[0].delay_s {delay:g} s"))
                left = []
            if left or not reasons:
                reasons.append((UNKNOWN, ""))
        seen: dict[str, str] = {}
        for reason, detail in reasons:
            seen.setdefault(reason, detail)
        return "; ".join(seen), "; ".join(d for d in seen.values() if d)

    def _blocked(self, name: str, cfg: ConditionPolicy) -> list[tuple[list[Interval], Why]]:
        """(where, why) in the order they are told: why(t) gives (reason, detail) at t."""
        act = self.policy.monitoring
        out: list[tuple[list[Interval], Why]] = [
            (self.ignition, lambda at: (IGNITION_OFF, "vehicle_ignition_on false in the feature table")),
            (self.activation, lambda at: (ACTIVATION, self._activation_detail(at, act.activation_s, act.activation_speed_kph))),
        ]
        if name != EventName.CAMERA_FAULT:
            out.append((self.camera, lambda at: ("camera fault", "camera_fault active: every other ladder stops")))
        out.append((self.gates.get(name, []), lambda at: (
            f"speed gate closed (speed {self._speed(at)} km/h < min_speed_kph {cfg.min_speed_kph:g})",
            f"policy.conditions.{name}.min_speed_kph {cfg.min_speed_kph:g}, closes below "
            f"{cfg.min_speed_kph - act.speed_gate_hysteresis_kph:g} (speed_gate_hysteresis_kph)")))
        if not cfg.ack_actions:
            acks = self._acks(name)
            out.append((acks, lambda at: ("acknowledged", "driver_ack at " + ", ".join(
                f"{t:.2f} s" for t, _ in acks if t <= at + EPS) + f" this journey; policy.conditions.{name}.ack_actions: none")))
        cooldown, rate = self._held_back(name, cfg)
        out.append((cooldown, lambda at: ("cooldown", f"policy.conditions.{name}.cooldown_s {cfg.cooldown_s:g} s after its "
                                          f"last episode ended at {self._ended_before(name, at):.2f} s")))
        out.append((rate, lambda at: ("rate limit", f"policy.conditions.{name}.max_episodes_per_hour "
                                      f"{cfg.max_episodes_per_hour}: as many started within the hour")))
        if set(cfg.ladder[0].actions) <= HMI_ACTIONS:
            for other, spans in self._shown_by_others(name).items():
                other_cfg = self.conditions.get(other)
                priority = other_cfg.priority if other_cfg is not None else "?"
                out.append((spans, lambda at, other=other, priority=priority: (
                    f"arbitration: {other} shown",
                    f"{other} (priority {priority}) held what the driver sees and hears; {name} is priority {cfg.priority}")))
        return [(b, why) for b, why in out if b]

    def _speed(self, at: float) -> str:
        """The vehicle speed at the frame at or before `at`."""
        speed, t = self.ctx.speed_kph, self.ctx.t
        if speed is None or not len(t):
            return "?"
        i = max(0, int(np.searchsorted(t, at + EPS, side="right")) - 1)
        return f"{float(speed[i]):.1f}" if np.isfinite(speed[i]) else "?"

    def _activation_detail(self, at: float, activation_s: float, speed_kph: float) -> str:
        starts = [s for s in self.ctx.timeline.state_lines("journey_start") if s.t <= at + EPS]
        since = f" since the journey start at {starts[-1].t:.2f} s ({starts[-1].detail.get('reason', '?')})" if starts else ""
        later = [a for a, _ in (self.active or []) if a >= at - EPS]
        when = f"active from {later[0]:.2f} s" if later else "not active again in this drive"
        return f"{when}: policy.monitoring.activation_s {activation_s:g} s at >= {speed_kph:g} km/h{since}"

    def _journey_end(self, t: float) -> float:
        return next((j for j in self.journeys if j > t + EPS), math.inf)

    def _acks(self, name: str) -> list[Interval]:
        return [(s.t, self._journey_end(s.t)) for s in self.ctx.timeline.state_lines("driver_ack")
                if s.detail.get("condition") == name]

    def _episodes(self, name: str) -> list[Interval]:
        """The condition's episodes: its action spans merged."""
        spans = sorted((a.start_t, a.end_t) for a in self.ctx.timeline.actions if a.detail.get("condition") == name)
        return _union(spans)

    def _ended_before(self, name: str, at: float) -> float:
        return max((b for _, b in self._episodes(name) if b <= at + EPS), default=math.nan)

    def _held_back(self, name: str, cfg: ConditionPolicy) -> tuple[list[Interval], list[Interval]]:
        episodes = self._episodes(name)
        cooldown = [(b, min(b + cfg.cooldown_s, self._journey_end(b))) for _, b in episodes] if cfg.cooldown_s > 0 else []
        rate: list[Interval] = []
        n = cfg.max_episodes_per_hour
        if n is not None:
            starts = [a for a, _ in episodes]
            for i in range(len(starts) - n + 1):
                # n starts within the hour: none more until the oldest of them is an hour old
                first, last = starts[i], starts[i + n - 1]
                if last - first < 3600.0 and self._journey_end(first) > last:
                    rate.append((last, min(first + 3600.0, self._journey_end(last))))
        return _union(cooldown), _union(rate)

    def _shown_by_others(self, name: str) -> dict[str, list[Interval]]:
        out: dict[str, list[Interval]] = {}
        for a in self.ctx.timeline.actions:
            other = str(a.detail.get("condition"))
            if a.name in HMI_ACTIONS and other != name and a.end_t > a.start_t:
                out.setdefault(other, []).append((a.start_t, a.end_t))
        return {k: _union(v) for k, v in out.items()}


# -- intervals ---------------------------------------------------------------------------------

def _union(spans: Sequence[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1] + EPS:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _intersect(xs: Sequence[Interval], ys: Sequence[Interval]) -> list[Interval]:
    out = [(max(a, c), min(b, d)) for a, b in xs for c, d in ys]
    return _union([(a, b) for a, b in out if b > a + EPS])


def _subtract(xs: Sequence[Interval], ys: Sequence[Interval]) -> list[Interval]:
    out = list(xs)
    for c, d in _union(ys):
        nxt: list[Interval] = []
        for a, b in out:
            if d <= a or c >= b:
                nxt.append((a, b))
                continue
            if c > a + EPS:
                nxt.append((a, c))
            if d < b - EPS:
                nxt.append((d, b))
        out = nxt
    return out


def _runs(t: np.ndarray, mask: np.ndarray) -> list[Interval]:
    """Where mask holds, each frame to the next frame's time (the last to the last time)."""
    ends = np.append(t[1:], t[-1])
    return _union([(float(t[i]), float(ends[i])) for i in np.flatnonzero(mask)])
