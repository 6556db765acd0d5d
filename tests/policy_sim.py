"""A tiny driver for the policy engine in tests: steps time at a fixed rate, keeps the
active set like the pipeline does, and records every PolicyState by time (openpilot
test_monitoring.py style: synthetic sequences, exact times)."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from driver_monitor.config.policy import PolicyConfig
from driver_monitor.messages import DriverState, Event, PolicyState, VehicleState
from driver_monitor.policy.engine import PolicyEngine


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = deepcopy(base)
    for k, v in over.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def policy_config(**over: Any) -> PolicyConfig:
    """Defaults with monitoring active from the first frame (activation is tested apart)."""
    return PolicyConfig.model_validate(merge({"monitoring": {"activation_s": 0.0}}, over))


class Sim:
    def __init__(self, config: PolicyConfig | None = None, hz: int = 10, speed_kph: float | None = 80.0):
        self.engine = PolicyEngine(config if config is not None else policy_config())
        self.hz = hz
        self.i = 0
        self.active: set[str] = set()
        self.values: dict[str, Any] = {}
        self.speed_kph = speed_kph
        self.ignition_on: bool | None = None
        self.ack = False
        self.states: dict[float, PolicyState] = {}
        self.events: list[Event] = []

    @property
    def t(self) -> float:
        return self.i / self.hz

    def step(self, *events: tuple[str, str | None] | tuple[str, str | None, dict[str, Any]]) -> PolicyState:
        t = self.t
        evs = [Event(t, "event", e[0], e[1], e[2] if len(e) > 2 else {}) for e in events]  # type: ignore[misc]
        for e in evs:
            if e.phase == "start":
                self.active.add(e.name)
            elif e.phase == "end":
                self.active.discard(e.name)
        driver = DriverState(t, True, frozenset(self.active), dict(self.values))
        vehicle = VehicleState(t, speed_kph=self.speed_kph, driver_ack=self.ack, ignition_on=self.ignition_on)
        decision = self.engine.update(driver, evs, vehicle)
        self.states[round(t, 6)] = decision.state
        self.events.extend(decision.events)
        self.i += 1
        return decision.state

    def until(self, t_end: float) -> PolicyState | None:
        """Step every frame with t < t_end (nothing new happens); the next step is at t_end."""
        last = None
        while self.t < t_end - 1e-9:
            last = self.step()
        return last

    def at(self, t: float) -> PolicyState:
        return self.states[round(t, 6)]

    def actions(self, t: float) -> set[str]:
        return set(self.at(t).actions)

    def action_log(self) -> list[tuple[float, str, str | None, str]]:
        return [(round(e.t, 6), e.name, e.phase, e.detail.get("condition")) for e in self.events if e.kind == "action"]
