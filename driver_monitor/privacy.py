"""What of the emotional and physiological signals may leave memory (config `privacy`,
docs/emotion.md "Privacy").

The pipeline computes every signal that is not `off` and hands the policy the whole state
(comfort actions may follow a `memory` signal). Before a result reaches any sink (feature
table, event log, journal, CAN, serial) `PrivacyFilter.result` removes what is not
`output`: the signal's columns (the CAN / serial status then says "unavailable"), its
events and its name among the active events, its values inside other events' details
(a stress event's heart rate), and the reason of a comfort action it caused, which becomes
`withheld` (WarningReason Withheld on CAN, reason 254 on serial). The filter is pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from driver_monitor.config.privacy import PrivacyConfig
from driver_monitor.messages import DriverState, Event, FrameResult
from driver_monitor.names import PRIVATE_COLUMN_PREFIXES, PRIVATE_EVENTS, PrivateSignal

# The condition name a comfort action carries when the signal behind it is withheld.
WITHHELD = "withheld"
# Event-detail keys that hold a signal's values under other names (the stress and anger
# events' evidence): withheld with the signal.
DETAIL_KEYS: dict[PrivateSignal, tuple[str, ...]] = {
    PrivateSignal.HEART_RATE: ("heart_rate", "baseline_heart_rate", "arousal_bpm"),
    PrivateSignal.HRV: ("rmssd", "hrv"),
}


class PrivacyFilter:
    def __init__(self, config: PrivacyConfig):
        self.config = config
        withheld = [s for s in PrivateSignal if not config.written(s)]
        self.column_prefixes = tuple(PRIVATE_COLUMN_PREFIXES[s] for s in withheld)
        self.detail_prefixes = self.column_prefixes + tuple(k for s in withheld for k in DETAIL_KEYS.get(s, ()))
        self.events = frozenset(PRIVATE_EVENTS[s].value for s in withheld if s in PRIVATE_EVENTS)
        self._dropped: dict[tuple[str, ...], tuple[str, ...]] = {}

    @property
    def passes_all(self) -> bool:
        return not self.column_prefixes

    def result(self, result: FrameResult) -> FrameResult:
        if self.passes_all:
            return result
        state = result.state
        values = state.values
        # The columns withheld, per layout of the values: the same layout comes every frame, so the
        # prefix tests run once per layout instead of on every key of every frame.
        layout = tuple(values)
        drop = self._dropped.get(layout)
        if drop is None:
            if len(self._dropped) > 64:
                self._dropped.clear()
            drop = self._dropped[layout] = tuple(k for k in layout if k.startswith(self.column_prefixes))
        values = dict(values)  # a copy without the withheld keys, in the same order
        for k in drop:
            del values[k]
        state = DriverState(t=state.t, face_present=state.face_present, active=self.active(state.active), values=values)
        policy = result.policy
        if policy is not None and policy.condition in self.events:
            policy = replace(policy, condition=WITHHELD)
        # Built field by field: dataclasses.replace costs several times more, every frame.
        return FrameResult(t=result.t, features=result.features, vehicle=result.vehicle, state=state,
                           events=self.event_list(result.events), policy=policy, picture=result.picture,
                           judged=result.judged)

    def active(self, names: Iterable[str]) -> frozenset[str]:
        return frozenset(n for n in names if n not in self.events)

    def event_list(self, events: Iterable[Event]) -> list[Event]:
        out = []
        for e in events:
            if e.kind == "event" and e.name in self.events:
                continue
            detail = dict(e.detail)
            if detail.get("condition") in self.events:  # an action it caused, an ACK of it
                detail["condition"] = WITHHELD
            out.append(replace(e, detail=self._scrub(detail)) if not self.passes_all else e)
        return out

    def _scrub(self, detail: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in detail.items():
            if key.startswith(self.detail_prefixes):
                continue
            out[key] = self._scrub(value) if isinstance(value, Mapping) else value
        return out

    def summary(self) -> dict[str, str]:
        """Each signal's mode, for `status` (the driver is told what is measured)."""
        return {s.value: self.config.mode(s).value for s in PrivateSignal}

