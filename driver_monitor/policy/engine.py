"""The policy engine: detector events + DriverState + VehicleState at t -> PolicyState.

Pure (DESIGN.md "Functional core"): no clock, file or socket; time comes from
`DriverState.t`. One `update` per frame, in time order:

1. journey and monitoring activation (ignition, standstill, 1 min at >= 10 km/h),
2. which conditions are active (conditions.py), each condition's speed gate,
3. each condition's ladder (ladder.py): stage, clearing, cooldown, repeats, ACK, recurrence,
4. arbitration: the highest-priority condition with something to show drives what the
   driver sees, hears and feels (HMI_ACTIONS), except that a degraded-monitoring notice
   comes before an advisory, a stale gaze warning, or (while as loud) another warning
   (`_hmi_winner`); vehicle-side measures (VEHICLE_ACTIONS) are
   the union over all conditions,
5. action events (kind "action", phase start/end) for the event log and state events for
   journey starts, monitoring on/off and accepted ACKs.

While `camera_fault` is active every other condition's ladder stops: they are judged from
pictures that can no longer be trusted, and a stale warning (a phone-use chime, a drowsiness
advice clearing over 30 s) must not hide "monitoring unavailable" from the driver, who must
be told within 10 s (Euro NCAP, REFERENCE.md "degraded monitoring"; issue 13). An
intervention already running (hazards, slow-down, minimum-risk request) is the exception: a
camera that fails while the driver is unresponsive cannot show the 1 s of forward gaze that
ends it [REF: intervention end], so its condition counts as still active until the camera
sees again: it goes on and escalates on its schedule, and ends as usual once it can be judged.

`PolicyState.warning_since_t` is when the current warning (level >= 2) asking for the eyes
back on the road began (conditions with clear_on_forward_gaze); the pipeline hands it to the
detectors on the next frame (the unresponsive rule: gaze not back within 3 s of a warning
[REF: unresponsive driver]).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from driver_monitor.config.policy import PolicyConfig
from driver_monitor.messages import DriverState, Event, PolicyState, VehicleState
from driver_monitor.names import DEGRADED_CONDITIONS, Column, EventName, StateName
from driver_monitor.policy.actions import (
    HMI_ACTIONS,
    LEVEL_INTERVENTION,
    LEVEL_WARNING,
    VEHICLE_ACTIONS,
    level_of,
)
from driver_monitor.policy.conditions import ConditionSignal, ConditionTracker
from driver_monitor.policy.gates import JourneyTracker, SpeedGate
from driver_monitor.policy.ladder import IDLE, ConditionLadder, StageOutput

# An intervening condition's signal while the camera is faulty (nothing says it is over).
STILL_ACTIVE = ConditionSignal(True)

# DriverState value written by the distraction detector: True while the gaze is on the road.
EYES_ON_ROAD_KEY = Column.EYES_ON_ROAD


@dataclass(frozen=True, slots=True)
class PolicyDecision:
    state: PolicyState
    events: list[Event] = field(default_factory=list)  # action + state events at state.t


class PolicyEngine:
    def __init__(self, config: PolicyConfig):
        self.config = config
        self.conditions = ConditionTracker(config.conditions)
        self.journeys = JourneyTracker(config.monitoring, config.journey)
        self.ladders: dict[str, ConditionLadder] = {}  # highest priority first: arbitration order
        self.gates: dict[str, SpeedGate] = {}
        self._build_ladders(config)
        self.state: PolicyState | None = None
        self._monitoring_active: bool | None = None
        self._ack_pressed = False
        self._gaze_since_t: float | None = None
        self._shown: dict[str, tuple[str, int]] = {}  # action -> (condition, stage) shown now
        self._shown_level = 0  # PolicyState.level while `_shown` was shown (for end events)
        self._degraded_now: list[str] = []  # degraded-monitoring conditions active at this update
        self._gaze_stale: frozenset[str] = frozenset()  # gaze conditions their detector no longer holds

    def update(self, driver: DriverState, events: Iterable[Event], vehicle: VehicleState) -> PolicyDecision:
        t = driver.t
        events = list(events)
        out: list[Event] = []
        signals = self.conditions.update(driver, events)
        absent_signal = signals.get(EventName.DRIVER_ABSENT)
        absent = EventName.DRIVER_ABSENT in driver.active or bool(absent_signal and absent_signal.active)
        journey = self.journeys.update(t, vehicle, absent)
        if journey.new_journey is not None:
            for ladder in self.ladders.values():
                ladder.new_journey()
            out.append(Event(t, "state", StateName.JOURNEY_START, None, {"journey": journey.journey, "reason": journey.new_journey}))
        monitoring = journey.monitoring_active
        if monitoring != self._monitoring_active:
            out.append(Event(t, "state", StateName.MONITORING_ACTIVE, None, {"active": monitoring}))
            self._monitoring_active = monitoring

        forward_gaze_s = self._forward_gaze_s(t, driver)
        self._degraded_now = [n for n in DEGRADED_CONDITIONS if (sig := signals.get(n)) is not None and sig.active]
        self._gaze_stale = frozenset(n for n, ladder in self.ladders.items()
                                     if ladder.config.clear_on_forward_gaze and not signals[n].active)
        camera_signal = signals.get(EventName.CAMERA_FAULT)
        camera_fault = bool(camera_signal and camera_signal.active)
        outputs: dict[str, StageOutput] = {}
        for name, ladder, gate in self._ladder_gates:
            gate_open = gate.update(vehicle)
            if not monitoring:
                ladder.stop()
                outputs[name] = IDLE
                continue
            if camera_fault and name != EventName.CAMERA_FAULT:
                if not ladder.intervening:
                    ladder.stop()
                    outputs[name] = IDLE
                    continue
                # No picture, no sign of a response: the intervention goes on and escalates on
                # its schedule (to the minimum-risk request) until the camera sees again.
                outputs[name] = ladder.update(t, STILL_ACTIVE, gate_open, forward_gaze_s)
                continue
            outputs[name] = ladder.update(t, signals[name], gate_open, forward_gaze_s)

        ack_rising = bool(vehicle.driver_ack) and not self._ack_pressed
        self._ack_pressed = bool(vehicle.driver_ack)
        if ack_rising and monitoring:
            # The ACK answers what the driver is shown: the highest-priority condition with
            # actions. A sleep warning cannot be acknowledged, and pressing ACK during one
            # does not silently acknowledge a drowsiness advice running underneath.
            # It answers what the driver has been shown, too: a condition that first shows in
            # this very frame (nothing shown before, or a higher one taking over) was not seen
            # when the button went down (within the frame period before, or a CAN tap handed
            # at the next frame), so the press acknowledges nothing: acknowledged, a warning
            # was quietened for the whole journey before its first chime.
            head = _hmi_winner([(n, o) for n, o in outputs.items() if o.announced], self._degraded_now, self._gaze_stale)
            shown = head[0] if head is not None else None
            prev = self.state
            seen = prev is not None and prev.level > 0 and prev.condition == shown
            if shown is not None and seen and not outputs[shown].suppressed_by_ack and self.ladders[shown].acknowledge():
                o = outputs[shown]  # quieten at once, not one frame later
                outputs[shown] = StageOutput(True, o.stage, frozenset(self.ladders[shown].config.ack_actions), True)
                out.append(Event(t, "state", StateName.DRIVER_ACK, None, {"condition": shown}))

        state, shown_actions = self._arbitrate(t, outputs, monitoring)
        out.extend(self._action_events(t, shown_actions, state.level))
        self.state = state
        return PolicyDecision(state, out)

    def reconfigure(self, config: PolicyConfig) -> None:
        """Swap in a new policy config between frames (SIGHUP reload) without forgetting the
        journey: monitoring activation, ACKs, recurrence history, cooldowns, the hourly rate
        limits and running episodes carry over; stages follow the new ladders from the next update, whose
        action events show any change."""
        self.config = config
        self.conditions.config = config.conditions
        self.journeys.monitoring, self.journeys.config = config.monitoring, config.journey
        self._build_ladders(config)

    def _build_ladders(self, config: PolicyConfig) -> None:
        old_ladders, old_gates = self.ladders, self.gates
        hysteresis = config.monitoring.speed_gate_hysteresis_kph
        enabled = sorted(((n, c) for n, c in config.conditions.items() if c.enabled), key=lambda item: -item[1].priority)
        self.ladders, self.gates = {}, {}
        for name, cfg in enabled:
            ladder = ConditionLadder(name, cfg)
            gate = SpeedGate(cfg.min_speed_kph, hysteresis)
            old = old_ladders.get(name)
            if old is not None:
                ladder.acked, ladder.starts, ladder.last_end_t = old.acked, old.starts, old.last_end_t
                ladder.hour_starts = old.hour_starts  # the rate limit too: a reload grants no extra episode
                episode = old.episode
                if episode is not None and episode.run_stage0 < len(cfg.ladder):
                    episode.stage = min(episode.stage, len(cfg.ladder) - 1)
                    ladder.episode = episode
                gate.open = old_gates[name].open or cfg.min_speed_kph <= 0.0
            self.ladders[name], self.gates[name] = ladder, gate
        self._ladder_gates = [(name, ladder, self.gates[name]) for name, ladder in self.ladders.items()]

    def finish(self, t: float) -> list[Event]:
        """End of input: close the action events still open (detail truncated=True)."""
        events = [
            Event(t, "action", action, "end", {"condition": cond, "level": self._shown_level, "stage": stage, "truncated": True})
            for action, (cond, stage) in sorted(self._shown.items())
        ]
        self._shown = {}
        return events

    def _forward_gaze_s(self, t: float, driver: DriverState) -> float | None:
        if EYES_ON_ROAD_KEY not in driver.values:
            self._gaze_since_t = None
            return None  # nobody measures gaze: ladders clear on time alone
        if driver.values.get(EYES_ON_ROAD_KEY) is True or driver.values.get(EYES_ON_ROAD_KEY) == 1:
            if self._gaze_since_t is None:
                self._gaze_since_t = t
            return t - self._gaze_since_t
        self._gaze_since_t = None  # False, None (no face), NaN: not forward gaze
        return 0.0

    def _arbitrate(self, t: float, outputs: dict[str, StageOutput], monitoring: bool) -> tuple[PolicyState, dict[str, tuple[str, int]]]:
        announced = [(n, o) for n, o in outputs.items() if o.announced]  # priority order
        if not announced:  # most frames: what the general case below gives for nothing shown
            return PolicyState(t=t, monitoring_active=monitoring), {}
        winner = _hmi_winner(announced, self._degraded_now, self._gaze_stale)
        shown: dict[str, tuple[str, int]] = {}
        if winner is not None:
            for action in winner[1].actions & HMI_ACTIONS:
                shown[action] = (winner[0], winner[1].stage)
        for name, o in announced:
            for action in o.actions & VEHICLE_ACTIONS:
                shown.setdefault(action, (name, o.stage))
        actions = frozenset(shown)
        level = level_of(actions)
        head = winner if winner is not None else next(((n, o) for n, o in announced if o.suppressed_by_ack), None)
        # The warning the detectors' unresponsive rule waits on: a warning (level >= 2) from a
        # condition that asks for the eyes back on the road (clear_on_forward_gaze). Degraded
        # monitoring and drowsiness warnings are left out: sunglasses must not end in hazards.
        gaze_warning = any(
            o.actions and level_of(o.actions) >= LEVEL_WARNING and self.ladders[n].config.clear_on_forward_gaze
            for n, o in announced
        )
        prev = self.state
        if gaze_warning:
            since = prev.warning_since_t if prev is not None and prev.warning_since_t is not None else t
        else:
            since = None
        condition = head[0] if head else None
        shown_since = None
        if level > 0:
            shown_since = t
            if prev is not None and prev.level > 0 and prev.condition == condition and prev.shown_since_t is not None:
                shown_since = prev.shown_since_t
        state = PolicyState(
            t=t,
            condition=condition,
            level=level,
            actions=actions,
            monitoring_active=monitoring,
            suppressed_by_ack=bool(head and head[1].suppressed_by_ack),
            warning_since_t=since,
            stage=head[1].stage if head else 0,
            shown_since_t=shown_since,
        )
        return state, shown

    def _action_events(self, t: float, shown: dict[str, tuple[str, int]], level: int) -> list[Event]:
        if not shown and not self._shown:  # nothing shown before or now (most frames)
            self._shown_level = level
            return []
        ends, starts = [], []
        for action, (cond, stage) in sorted(self._shown.items()):
            now = shown.get(action)
            if now is None or now[0] != cond:
                detail = {"condition": cond, "level": self._shown_level, "stage": stage}
                ends.append(Event(t, "action", action, "end", detail))
        for action, (cond, stage) in sorted(shown.items()):
            before = self._shown.get(action)
            if before is None or before[0] != cond:
                starts.append(Event(t, "action", action, "start", {"condition": cond, "level": level, "stage": stage}))
        self._shown, self._shown_level = shown, level
        return ends + starts


def _hmi_winner(announced: list[tuple[str, StageOutput]], degraded_now: list[str],
                gaze_stale: frozenset[str] = frozenset()) -> tuple[str, StageOutput] | None:
    """The condition whose actions the driver sees and hears (and whose notice an ACK
    answers): the highest-priority one with actions. A degraded-monitoring notice not yet
    acknowledged (driver_absent, eyes_unavailable) comes first, though, where the winner
    would hide "monitoring unavailable" from the driver past Euro NCAP's 10 s
    [REF: degraded monitoring]:
    - before an advisory (a KSS-7 drowsiness advice shown for minutes);
    - before a warning that asks for the eyes back on the road (clear_on_forward_gaze) whose
      event has ended (`gaze_stale`): frozen, it waits for 1 s of forward gaze, which a driver
      the camera cannot see never gives (a phone-use chime went on for good over
      driver_absent);
    - before any other warning (a KSS-8 drowsiness warning: chime and voice for 60 s) while
      the notice's own stage is as strong (its chime, voice): the driver hears it, then the
      warning comes back.
    An intervention (hazards, slow-down, MRM) and a gaze warning its detector still holds
    always come first. `degraded_now`: the degraded conditions still active (one clearing
    after its event ended does not take over: that would be a notice of something already
    over)."""
    winner = next(((n, o) for n, o in announced if o.actions), None)
    if winner is None or not degraded_now or winner[0] in DEGRADED_CONDITIONS:
        return winner
    level = level_of(winner[1].actions)
    if level >= LEVEL_INTERVENTION:
        return winner
    degraded = next(((n, o) for n, o in announced
                     if n in degraded_now and o.actions and not o.suppressed_by_ack), None)
    if degraded is None:
        return winner
    if level >= LEVEL_WARNING and winner[0] not in gaze_stale and level_of(degraded[1].actions) < level:
        return winner
    return degraded
