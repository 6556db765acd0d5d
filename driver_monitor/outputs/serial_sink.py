"""Serial output: status / warning / heartbeat frames (docs/serial-protocol.md) on a pyserial
port, timed in input time like the CAN frames; the ACK button comes back on the same port.

Runs inside a ThreadedOutput; a vanished or stuck port costs dropped, counted frames and a
reopen with backoff (SerialLink), never a blocked frame loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from driver_monitor.config.vehicle import SerialConfig
from driver_monitor.errors import InputError
from driver_monitor.messages import Event, FrameResult
from driver_monitor.outputs.fields import (
    ACTIONS,
    FAULTS,
    LEVEL_UNAVAILABLE,
    faults_of,
    status_fields,
    system_state,
    version_numbers,
    warning_fields,
)
from driver_monitor.outputs.schedule import Due, OutputSchedule
from driver_monitor.serial.link import SerialLink
from driver_monitor.serial.protocol import (
    FLAG_ACK_SUPPRESSED,
    FLAG_FACE_PRESENT,
    FLAG_MONITORING_ACTIVE,
    FLAG_SPEED_UNKNOWN,
    TYPE_HEARTBEAT,
    TYPE_STATUS,
    TYPE_WARNING,
    U8_UNAVAILABLE,
    U16_UNAVAILABLE,
    pack,
)

FaultsProvider = Callable[[], frozenset[str]]


def _ms(t: float) -> int:
    return max(0, int(round(t * 1000))) & 0xFFFFFFFF


class SerialFrameEncoder:
    """FrameResult -> serial frames, one sequence number per sender (wraps at 256)."""

    def __init__(self) -> None:
        self.seq = 0
        self.version = version_numbers()

    def _next_seq(self) -> int:
        seq, self.seq = self.seq, (self.seq + 1) & 0xFF
        return seq

    def encode_due(self, due: Due, extra_faults: frozenset[str] = frozenset()) -> bytes:
        r = due.result
        if due.kind == "status":
            f = status_fields(r)
            flags = ((FLAG_FACE_PRESENT if f.face_present else 0) | (FLAG_MONITORING_ACTIVE if f.monitoring_active else 0)
                     | (FLAG_ACK_SUPPRESSED if f.ack_suppressed else 0) | (FLAG_SPEED_UNKNOWN if f.speed_unknown else 0))
            return pack(
                TYPE_STATUS, self._next_seq(), t_ms=_ms(due.t), system_state=f.system_state,
                driver_state=f.driver_state, flags=flags, kss=f.kss,
                distraction_level=U8_UNAVAILABLE if f.distraction_level == LEVEL_UNAVAILABLE else f.distraction_level,
                stress_level=U8_UNAVAILABLE if f.stress_level == LEVEL_UNAVAILABLE else f.stress_level,
                eyes_off_road_cs=U16_UNAVAILABLE if f.eyes_off_road_s is None else min(65534, int(round(f.eyes_off_road_s * 100))),
                perclos_permille=U16_UNAVAILABLE if f.perclos_percent is None else int(round(f.perclos_percent * 10)),
                policy_level=f.policy_level,
            )
        if due.kind == "warning":
            w = warning_fields(r)
            actions = sum(1 << i for i, a in enumerate(ACTIONS) if a in w.actions)
            return pack(
                TYPE_WARNING, self._next_seq(), t_ms=_ms(due.t), level=w.level, reason=w.reason,
                actions=actions, flags=1 if w.ack_suppressed else 0,
                active_time_ds=min(65535, int(round(w.active_time_s * 10))),
            )
        faults = faults_of(r, extra_faults)
        return pack(
            TYPE_HEARTBEAT, self._next_seq(), t_ms=_ms(due.t), system_state=system_state(r),
            faults=sum(1 << i for i, f in enumerate(FAULTS) if f in faults),
            version_major=self.version[0], version_minor=self.version[1],
        )


class SerialSink:
    def __init__(self, config: SerialConfig, faults: FaultsProvider | None = None, link: SerialLink | None = None,
                 require_port: bool = False):
        """require_port: raise InputError when the port cannot be opened now (replay, where the
        user named it); otherwise keep retrying with backoff (the daemon)."""
        self.config = config
        self.link = link if link is not None else SerialLink(
            config.port, config.baudrate, config.write_timeout_s, config.reopen_backoff_min_s, config.reopen_backoff_max_s)
        if require_port and not self.link.is_open:
            self.link.close()
            raise InputError(f"serial {config.port}: {self.link.last_error or 'cannot open'}")
        self.schedule = OutputSchedule(config.status_period_s, config.warning_repeat_period_s, config.heartbeat_period_s)
        self.encoder = SerialFrameEncoder()
        self.faults = faults if faults is not None else (lambda: frozenset())
        self.frames_sent = 0
        self.frames_failed = 0

    def write(self, result: FrameResult) -> None:
        for due in self.schedule.update(result):
            faults = self.faults() if due.kind == "heartbeat" else frozenset()
            if self.link.write(self.encoder.encode_due(due, faults)):
                self.frames_sent += 1
            else:
                self.frames_failed += 1
                if due.kind == "warning":
                    self.schedule.warning_lost()

    def take_ack(self) -> bool:
        return self.link.take_ack()

    def status_detail(self) -> dict[str, Any]:
        return {"frames sent": self.frames_sent, "send failures": self.frames_failed,
                "port": "open" if self.link.is_open else "down", "rx errors": self.link.decoder.errors,
                "acks": self.link.ack_count}

    def write_events(self, events: Sequence[Event]) -> None:
        """End-of-input events have no frame of their own: nothing to send."""

    def close(self) -> None:
        self.link.close()
