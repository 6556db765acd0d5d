"""The vehicle as the pipeline sees it: one VehicleState per frame, merged from every input.

    CAN (live bus or a recording's log)  speed, indicators, gear, ACK, ignition, heart rate
    serial board                         an ACK button press (a recording: serial_ack.csv)
    serial heart-rate sensor             heart rate and beat intervals (CAN's heart rate wins)

`VehicleInputs.at(t)` is asked once per frame with the frame's time. It also counts what
the heartbeats' fault bits report: new vehicle-frame errors since each output's previous
heartbeat, and a vehicle bus that is down or silent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from driver_monitor.can.rx import RxStatus
from driver_monitor.messages import VehicleState


class VehicleSource(Protocol):
    """Where the CAN signals come from (can/rx.LiveCanVehicleSource, can/logs.CanLogVehicleSource)."""

    def state_at(self, t: float) -> VehicleState: ...

    @property
    def errors(self) -> int: ...

    def status(self) -> RxStatus | None:
        """The live bus's state; None for a source without a bus (a log)."""
        ...

    def summary_line(self) -> str:
        """One line for a summary: frames used and dropped."""
        ...

    def close(self) -> None: ...


AckInput = Callable[[], bool]  # True once per ACK press since the last call
# The frame time at which a serial ACK press was handed to the pipeline (a recording keeps it).
AckTap = Callable[[float], None]


class RecordedAcks:
    """The serial ACK presses of a recording (serial_ack.csv: the frame times the live run
    merged them at), handed to the frames of a replay at the same times."""

    def __init__(self, times_s: list[float]):
        self._times = sorted(times_s)
        self._next = 0

    def pressed_at(self, t: float) -> bool:
        pressed = False
        while self._next < len(self._times) and self._times[self._next] <= t + 1e-6:
            pressed, self._next = True, self._next + 1
        return pressed


class HeartRateInput(Protocol):
    """A serial heart-rate sensor: live (vehicle/heart_rate_serial.py) or a recording's
    lines (vehicle/heart_rate_log.py)."""

    def apply(self, vehicle: VehicleState) -> VehicleState: ...

    def status(self) -> dict[str, object]: ...

    def close(self) -> None: ...


class VehicleInputs:
    def __init__(self, can: VehicleSource | None = None, ack: AckInput | None = None,
                 heart_rate: HeartRateInput | None = None):
        self.can = can
        self.ack = ack
        self.heart_rate = heart_rate
        self.ack_tap: AckTap | None = None  # a live recording: where a press is written
        self.recorded_acks: RecordedAcks | None = None  # a replay of a recording
        self._seen_errors: dict[str, int] = {}
        self._ack_pending = False  # a serial press taken from the board, not yet used
        self._can_ack_was = False  # CAN's ACK in the previous state asked for
        self._can_press_pending = False  # a CAN press (rising edge) not yet used

    def at(self, t: float, hold_ack: bool = False) -> VehicleState | None:
        """The vehicle at t (None: nothing known; the pipeline then assumes unknown, and
        unknown speed counts as moving).

        A serial ACK press is in the state returned, once. `hold_ack`: it stays in every
        state returned until `ack_used` says one of them reached the policy: the live loop
        asks on every turn, but while the camera is faulty only some turns hand a result to
        the policy (Pipeline.idle), and a press carried by a turn that did not was lost. A
        vehicle CAN press (the rising edge of its driver_ack) is held the same way: a tap
        the decoder hands once (can/rx.py) was lost on such a turn too."""
        state = self.can.state_at(t) if self.can is not None else None
        can_pressed = state is not None and state.driver_ack
        if can_pressed and not self._can_ack_was:
            self._can_press_pending = True
        self._can_ack_was = can_pressed
        if self._can_press_pending:
            if state is not None and not can_pressed:  # (state_at always gives a state)
                state = replace(state, driver_ack=True)
            if not hold_ack:
                self._can_press_pending = False
        if self.ack is not None and self.ack():
            self._ack_pending = True
        pressed = self._ack_pending
        if pressed and not hold_ack:
            self.ack_used(t)
        if self.recorded_acks is not None and self.recorded_acks.pressed_at(t):
            pressed = True
        if pressed:
            state = replace(state, driver_ack=True) if state is not None else VehicleState(t=t, driver_ack=True)
        if self.heart_rate is not None:
            state = self.heart_rate.apply(state if state is not None else VehicleState(t=t))
        return state

    def ack_used(self, t: float) -> None:
        """The state of `at(..., hold_ack=True)` reached the policy in the result at t: a
        serial press it carried is used (and a recording keeps it at t, where a replay hands
        it to the policy again); so is a vehicle CAN press (its log is recorded as received)."""
        self._can_press_pending = False
        if self._ack_pending:
            self._ack_pending = False
            if self.ack_tap is not None:
                self.ack_tap(t)

    @property
    def errors(self) -> int:
        return self.can.errors if self.can is not None else 0

    def new_errors(self, consumer: str) -> bool:
        """True when vehicle frames were dropped since `consumer`'s previous call."""
        errors = self.errors
        new = errors > self._seen_errors.get(consumer, 0)
        self._seen_errors[consumer] = errors
        return new

    def bus_status(self) -> RxStatus | None:
        return self.can.status() if self.can is not None else None

    def bus_down(self) -> bool:
        """A live vehicle bus that cannot be opened or delivers nothing."""
        status = self.bus_status()
        return status is not None and not status.ok

    def status(self) -> dict[str, Any]:
        """The state file's view of the vehicle inputs."""
        out: dict[str, Any] = {}
        bus = self.bus_status()
        if bus is not None:
            out["can"] = bus.text()
        if self.heart_rate is not None:
            out["heart_rate"] = self.heart_rate.status()
        return out

    def close(self) -> None:
        if self.can is not None:
            self.can.close()
        if self.heart_rate is not None:
            self.heart_rate.close()
