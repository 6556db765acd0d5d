"""When each output frame is due, in input time (pure: driven only by FrameResult.t).

A live ECU sends its status from a 10 Hz timer with the newest state it knows. Replaying a
recording must give the same frames, so the schedule works in recording time: a periodic
frame due at d carries the newest result with t <= d, and its timestamp is d itself (not the
time of the frame that revealed it was due). Frames are therefore exactly one period apart
in input time whatever the camera's frame rate, and a replay as fast as possible sends the
same sequence as one paced in real time.

Warnings follow AUTOSAR's "mixed" transmission mode: sent at once on every change of
(level, condition, actions, ack suppression) and repeated every repeat period while the
level is above 0; the change back to level 0 is sent once. A warning frame the sink could not
send (`warning_lost`: bus off, port gone) goes out again with the next status frame: lost, the
change back to level 0 was never repeated and the vehicle kept the warning's hazard lights and
chime after the link came back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from driver_monitor.messages import FrameResult, PolicyState

FrameKind = Literal["status", "warning", "heartbeat"]

# After a gap in the input longer than this many periods (a paused recording, a stalled
# camera), periodic frames and warning repeats restart from the present instead of sending
# the backlog.
MAX_BACKLOG_PERIODS = 20


@dataclass(frozen=True, slots=True)
class Due:
    kind: FrameKind
    t: float  # input time the frame is due (its timestamp)
    result: FrameResult  # the one it describes (the newest one with t <= due time)


class _Periodic:
    def __init__(self, kind: FrameKind, period_s: float):
        self.kind = kind
        self.period_s = period_s
        self.t0: float | None = None
        self.k = 0  # index of the next due frame: due at t0 + k * period (no drift)

    def due(self, t: float, prev: FrameResult | None, current: FrameResult) -> list[Due]:
        if self.t0 is None:
            self.t0, self.k = t, 0
        out: list[Due] = []
        next_t = self.t0 + self.k * self.period_s
        if t - next_t > MAX_BACKLOG_PERIODS * self.period_s:
            self.t0, self.k, next_t = t, 0, t
        # 1 µs tolerance: 0.1 * 3 != 0.3 in binary floating point.
        while next_t <= t + 1e-6:
            src = current if next_t >= t - 1e-6 or prev is None else prev
            out.append(Due(self.kind, next_t, src))
            self.k += 1
            next_t = self.t0 + self.k * self.period_s
        return out


def warning_key(policy: PolicyState | None) -> tuple[object, ...] | None:
    if policy is None:
        return None
    return (policy.level, policy.condition, frozenset(policy.actions), policy.suppressed_by_ack)


class OutputSchedule:
    """Feed every FrameResult in time order; get the frames due up to its time."""

    def __init__(self, status_period_s: float, warning_repeat_period_s: float, heartbeat_period_s: float):
        self._status = _Periodic("status", status_period_s)
        self._heartbeat = _Periodic("heartbeat", heartbeat_period_s)
        self.status_period_s = status_period_s
        self.warning_repeat_period_s = warning_repeat_period_s
        self._prev: FrameResult | None = None
        self._warning_key: tuple[object, ...] | None = None
        self._warning_next_t: float | None = None
        self._warning_lost = False

    def warning_lost(self) -> None:
        """The sink could not send a warning frame: the current warning is due again with the
        next status frame (and again after that while sends keep failing)."""
        self._warning_lost = True

    def update(self, result: FrameResult) -> list[Due]:
        t = result.t
        out = self._status.due(t, self._prev, result)
        warnings = self._warnings(result)
        if warnings:
            self._warning_lost = False
        elif self._warning_lost and out and self._warning_key is not None:
            # Paced with the status frames (not every camera frame while the bus is down); the
            # key is the current one, or _warnings would have sent the change.
            warnings = [Due("warning", t, result)]
            self._warning_lost = False
        out += warnings
        out += self._heartbeat.due(t, self._prev, result)
        self._prev = result
        out.sort(key=lambda d: d.t)  # stable: status before warning before heartbeat at one t
        return out

    def _warnings(self, result: FrameResult) -> list[Due]:
        policy = result.policy
        key = warning_key(policy)
        if key is None:
            return []
        t = result.t
        out: list[Due] = []
        # Repeats that fell due before this frame describe the previous frame's warning.
        if self._warning_next_t is not None and self._prev is not None:
            if t - self._warning_next_t > MAX_BACKLOG_PERIODS * self.warning_repeat_period_s:
                # A gap: no backlog (it was 5 stale repeats a second of the gap, sent at once
                # ahead of the current status frame), the repeat is due now.
                self._warning_next_t = t
            while self._warning_next_t < t - 1e-6:
                out.append(Due("warning", self._warning_next_t, self._prev))
                self._warning_next_t += self.warning_repeat_period_s
        if key != self._warning_key:
            # The first result only announces a warning when there is one (level 0 at start
            # is the receiver's default, no frame needed).
            if self._warning_key is not None or policy.level > 0:
                out.append(Due("warning", t, result))
            self._warning_key = key
            self._warning_next_t = t + self.warning_repeat_period_s if policy.level > 0 else None
            return out
        if self._warning_next_t is not None and self._warning_next_t <= t + 1e-6:
            out.append(Due("warning", self._warning_next_t, result))
            self._warning_next_t += self.warning_repeat_period_s
        return out
