"""One condition's escalation ladder as a small state machine driven by time.

idle ──condition active, gate open, cooldown over──▶ episode (stage by time since it started)
episode ──condition inactive──▶ clearing (stage frozen, actions go on)
clearing ──hysteresis met──▶ idle (cooldown starts) ; clearing ──active again──▶ episode

Within an episode the stage is the last one whose delay_s has passed since the (re)start of
the ladder; a level floor (drowsy KSS 8 -> stage 1) or recurrence (N episodes within M s)
starts the ladder at a later stage, as if its delay had already passed. Repeats restart the
ladder every repeat_every_s (at most max_repeats times per episode). After a driver ACK
(when allowed) the condition only shows its ack_actions for the rest of the journey.

The speed gate decides whether an episode is announced; once an episode has intervened (a
stage with hazards, slow-down or minimum-risk request was shown) it runs until its clearing
rule ends it, whatever the speed: the car slowing below the gate is the intervention
working, and it ends on 1 s of forward gaze [REF: intervention end], not on the speed.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from driver_monitor.config.policy import ConditionPolicy
from driver_monitor.policy.actions import LEVEL_INTERVENTION, level_of
from driver_monitor.policy.conditions import ConditionSignal

EPS = 1e-9  # float slack so a stage due at exactly t fires at t


@dataclass(frozen=True, slots=True)
class StageOutput:
    """What one condition asks for at t. `announced` = an episode runs and its gate is open."""

    announced: bool = False
    stage: int = 0
    actions: frozenset[str] = frozenset()
    suppressed_by_ack: bool = False


IDLE = StageOutput()
HOUR_S = 3600.0  # the rate limit's window (max_episodes_per_hour)


@dataclass(slots=True)
class _Episode:
    started_t: float
    run_start_t: float  # (re)start of the ladder run now showing
    run_stage0: int  # the stage that run started at
    repeats: int = 0
    inactive_since_t: float | None = None
    stage: int = 0
    intervened: bool = False  # an intervention stage was shown: the speed gate no longer ends it


class ConditionLadder:
    def __init__(self, name: str, config: ConditionPolicy):
        self.name = name
        self.config = config
        self.episode: _Episode | None = None
        self.last_end_t: float | None = None
        self.acked = False  # ACKed in this journey
        self.starts: deque[float] = deque()  # episode start times in this journey
        self.hour_starts: deque[float] = deque()  # episode starts within the last hour (rate limit)

    def new_journey(self) -> None:
        self.episode = None
        self.last_end_t = None
        self.acked = False
        self.starts.clear()
        self.hour_starts.clear()

    def stop(self) -> None:
        """Monitoring went off: drop the episode without starting a cooldown."""
        self.episode = None

    def acknowledge(self) -> bool:
        """A driver ACK while this condition is shown. True when it was accepted."""
        if not self.config.ack_allowed or self.episode is None:
            return False
        self.acked = True
        return True

    def update(self, t: float, signal: ConditionSignal, gate_open: bool, forward_gaze_s: float | None) -> StageOutput:
        """forward_gaze_s: how long eyes_on_road has been true without a break (0 when it is
        not), or None when no detector measures it."""
        cfg = self.config
        ep = self.episode
        if ep is None:
            if not (signal.active and gate_open):
                return IDLE
            if self.last_end_t is not None and t < self.last_end_t + cfg.cooldown_s - EPS:
                return IDLE
            while self.hour_starts and t - self.hour_starts[0] >= HOUR_S - EPS:
                self.hour_starts.popleft()
            if cfg.max_episodes_per_hour is not None and len(self.hour_starts) >= cfg.max_episodes_per_hour:
                return IDLE
            ep = self.episode = self._start(t, signal)

        if signal.active:
            ep.inactive_since_t = None
            floor = self._level_floor(signal.level)
            if floor > 0 and floor > ep.stage:  # the level rose: jump up as a fresh start there
                ep.run_start_t, ep.run_stage0 = t, floor
            self._repeat(t, ep)
            ep.stage = self._stage_at(t, ep)
        else:
            if ep.stage < 0:
                # Gone before its first stage was due: a first delay_s > 0 is a debounce, so
                # the episode never happened (no cooldown, not counted for recurrence).
                self.episode = None
                if self.starts and self.starts[-1] == ep.started_t:
                    self.starts.pop()
                if self.hour_starts and self.hour_starts[-1] == ep.started_t:
                    self.hour_starts.pop()
                return IDLE
            if ep.inactive_since_t is None:
                ep.inactive_since_t = t
            if self._cleared(t, ep, forward_gaze_s):
                self.episode = None
                self.last_end_t = t
                return IDLE
            # clearing: the stage is frozen, the actions go on until the hysteresis is met
        stage = max(ep.stage, 0)
        if not gate_open and not ep.intervened:
            return StageOutput(False, stage)
        if ep.stage < 0:  # before the first stage's delay
            return StageOutput(True, stage)
        if self.acked:
            return StageOutput(True, stage, frozenset(cfg.ack_actions), True)
        actions = frozenset(cfg.ladder[ep.stage].actions)
        if not ep.intervened and level_of(actions) >= LEVEL_INTERVENTION:
            ep.intervened = True
        return StageOutput(True, stage, actions)

    @property
    def intervening(self) -> bool:
        """An episode that has shown an intervention runs (escalating or clearing)."""
        return self.episode is not None and self.episode.intervened

    def _start(self, t: float, signal: ConditionSignal) -> _Episode:
        cfg = self.config
        while self.starts and t - self.starts[0] > cfg.recurrence_window_s + EPS:
            self.starts.popleft()
        stage0 = self._level_floor(signal.level)
        if cfg.recurrence_count > 0 and len(self.starts) + 1 >= cfg.recurrence_count:
            stage0 = max(stage0, cfg.recurrence_start_stage)
        self.starts.append(t)
        self.hour_starts.append(t)
        return _Episode(started_t=t, run_start_t=t, run_stage0=stage0, stage=stage0)

    def _level_floor(self, level: float | None) -> int:
        if level is None:
            return 0
        floors = [stage for at_level, stage in self.config.start_stage_by_level.items() if level >= at_level]
        return max(floors, default=0)

    def _stage_at(self, t: float, ep: _Episode) -> int:
        """The stage due at t, or -1 before the first stage's delay (e.g. degraded monitoring
        is told only after a few seconds). A run that starts at a later stage starts as if
        that stage's delay had just passed."""
        ladder = self.config.ladder
        elapsed = t - ep.run_start_t + (ladder[ep.run_stage0].delay_s if ep.run_stage0 > 0 else 0.0)
        if elapsed + EPS < ladder[ep.run_stage0].delay_s:
            return -1
        stage = ep.run_stage0
        for i in range(ep.run_stage0 + 1, len(ladder)):
            if ladder[i].delay_s <= elapsed + EPS:
                stage = i
        return stage

    def _repeat(self, t: float, ep: _Episode) -> None:
        cfg = self.config
        if cfg.repeat_every_s is None or self.acked:
            return
        while ep.repeats < cfg.max_repeats and t - ep.run_start_t + EPS >= cfg.repeat_every_s:
            ep.run_start_t += cfg.repeat_every_s  # on the schedule, whatever the frame rate
            ep.repeats += 1

    def _cleared(self, t: float, ep: _Episode, forward_gaze_s: float | None) -> bool:
        cfg = self.config
        assert ep.inactive_since_t is not None
        if cfg.clear_on_forward_gaze and forward_gaze_s is not None:
            # Euro NCAP 2026: an intervention ends after 1 s of continuous forward gaze
            # [REF: intervention end]; gaze that returned before the detector closed its
            # event counts too.
            return forward_gaze_s + EPS >= cfg.clear_after_s
        return t - ep.inactive_since_t + EPS >= cfg.clear_after_s
