"""Which conditions are active at t, and at what level, from the detectors' output.

A condition is active while
- its duration event is open: its name is in DriverState.active (the pipeline keeps that
  set from the start / end events, the single source of truth, so events closed by a
  reload or at the end of input cannot leave a stale condition here),
- its event started and ended in this very frame (a microsleep known only when the eyes
  open: detail `late`), for that frame: it then clears as one seen in time does,
- an instantaneous event of that name (phase None) happened less than `hold_s` ago,
- or its configured per-frame value is at or above `value_min` (drowsy: kss_level >= 7).

Values written by other detectors are read defensively: a missing key, None, NaN or a
non-number means "no information", never an error.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from driver_monitor.config.policy import ConditionsConfig
from driver_monitor.messages import DriverState, Event
from driver_monitor.names import CONDITIONS, Column

# Where a detector may put the level of an event (drowsy: KSS-like level).
LEVEL_DETAIL_KEYS = ("level", Column.KSS_LEVEL, "kss")


@dataclass(frozen=True, slots=True)
class ConditionSignal:
    active: bool
    level: float | None = None  # e.g. the KSS level of `drowsy`; None when not given


def as_number(value: object) -> float | None:
    """A finite float from a detector value or event detail, else None (bools are not levels)."""
    if type(value) is float:  # the usual case, first (every condition, every frame)
        return value if math.isfinite(value) else None
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


INACTIVE = ConditionSignal(False)
_NEVER = -math.inf


class ConditionTracker:
    def __init__(self, config: ConditionsConfig):
        self.config = config
        self._held_until: dict[str, float] = {}  # instantaneous events: active until
        self._event_level: dict[str, float] = {}  # latest level from an event detail

    @property
    def config(self) -> ConditionsConfig:
        return self._config

    @config.setter
    def config(self, config: ConditionsConfig) -> None:
        """(A reload sets a new one.) Each condition's value rule is looked up once here, not
        on every frame."""
        self._config = config
        self._rules = [(name, cfg.value_key, cfg.value_min) for name, cfg in config.items()]

    def update(self, driver: DriverState, events: Iterable[Event]) -> dict[str, ConditionSignal]:
        t = driver.t
        started: set[str] = set()
        same_frame: set[str] | None = None  # started and ended in this update
        for e in events:
            if e.kind != "event" or e.name not in CONDITIONS:
                continue
            level = _detail_level(e.detail)
            if level is not None:
                self._event_level[e.name] = level
            if e.phase == "start":
                started.add(e.name)
            elif e.phase == "end" and e.name in started:
                # A start and its end in one frame never show in DriverState.active: a 1 s
                # closure seen at 15 or 30 fps (reported late, at the opening) warned or not by
                # the frame rate. Active for that frame, it clears as one seen in time does.
                if same_frame is None:
                    same_frame = set()
                same_frame.add(e.name)
            if e.phase is None:
                hold_s = getattr(self.config, e.name).hold_s
                self._held_until[e.name] = max(self._held_until.get(e.name, -math.inf), e.t + hold_s)
        signals: dict[str, ConditionSignal] = {}
        active_events, values, held_until = driver.active, driver.values, self._held_until
        event_level = self._event_level
        for name, value_key, value_min in self._rules:
            by_event = (name in active_events or t < held_until.get(name, _NEVER)
                        or (same_frame is not None and name in same_frame))
            value = as_number(values.get(value_key)) if value_key is not None else None
            by_value = value is not None and value_min is not None and value >= value_min
            active = by_event or by_value
            if not active:
                if name in event_level:
                    del event_level[name]  # a level belongs to one activation
                signals[name] = INACTIVE
                continue
            levels = [x for x in (self._event_level.get(name) if by_event else None, value) if x is not None]
            signals[name] = ConditionSignal(True, max(levels) if levels else None)
        return signals


def _detail_level(detail: Mapping[str, object]) -> float | None:
    for key in LEVEL_DETAIL_KEYS:
        if key in detail:
            return as_number(detail[key])
    return None
