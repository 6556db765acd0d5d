"""Journeys, monitoring activation and per-condition speed gates.

- A journey starts at ignition on, or after a long standstill, or after the driver was
  absent at a standstill (driver change). ACK suppression, recurrence history and the
  monitoring activation reset with it [REF: acknowledgement "resets each journey"].
- Monitoring becomes active once the vehicle has been at >= activation_speed_kph for
  activation_s in the journey [REF: speed gates], and is off while the ignition is off.
- Unknown speed (None, or a value that is no finite number: NaN) counts as moving; unknown
  ignition (None) counts as on (DESIGN.md "Fail safe").
"""

from __future__ import annotations

from dataclasses import dataclass

from driver_monitor.config.policy import JourneyConfig, MonitoringConfig
from driver_monitor.messages import VehicleState
from driver_monitor.numbers import finite_or_none


@dataclass(frozen=True, slots=True)
class JourneyStatus:
    journey: int  # 1 for the first journey seen, +1 at each new one
    new_journey: str | None  # why a journey started at this update (None: same journey)
    monitoring_active: bool
    moving_s: float  # time at >= activation speed in this journey


def known_speed(vehicle: VehicleState) -> float | None:
    """The vehicle's speed in km/h, or None when unknown. A NaN (or infinite) speed is unknown
    too: compared as a number it read as below every gate, so monitoring never became active
    and every speed gate stayed shut, the opposite of "unknown counts as moving"."""
    return finite_or_none(vehicle.speed_kph)


class JourneyTracker:
    def __init__(self, monitoring: MonitoringConfig, journey: JourneyConfig):
        self.monitoring = monitoring
        self.config = journey
        self.journey = 0
        self.moving_s = 0.0
        self._last_t: float | None = None
        self._ignition_was_off = False
        self._standstill_since: float | None = None
        self._absent_since: float | None = None
        self._gap_used = False  # this standstill / absence already started a journey
        self._was_moving = False  # the previous sample was at >= activation speed

    def update(self, t: float, vehicle: VehicleState, driver_absent: bool) -> JourneyStatus:
        dt = 0.0 if self._last_t is None else max(0.0, t - self._last_t)
        self._last_t = t
        reason: str | None = None
        if self.journey == 0:
            reason = "start"
        ignition_off = vehicle.ignition_on is False
        if ignition_off:
            self._ignition_was_off = True
        elif vehicle.ignition_on is True and self._ignition_was_off:
            self._ignition_was_off = False
            reason = "ignition_on"

        speed = known_speed(vehicle)
        standstill = speed is not None and speed < self.config.standstill_kph
        if standstill:
            if self._standstill_since is None:
                self._standstill_since = t
            if driver_absent:
                self._absent_since = t if self._absent_since is None else self._absent_since
            else:
                self._absent_since = None
            if not self._gap_used and reason is None:
                if t - self._standstill_since >= self.config.new_after_standstill_s:
                    reason = "standstill"
                elif self._absent_since is not None and t - self._absent_since >= self.config.new_after_driver_absent_s:
                    reason = "driver_absent"
        else:
            self._standstill_since = self._absent_since = None
            self._gap_used = False

        if reason is not None:
            self.journey += 1
            self.moving_s = 0.0
            # One new journey per standstill (a journey that began at ignition on or at the
            # first sample may still be cut by a long stop or a driver change).
            self._gap_used = reason in ("standstill", "driver_absent")
            dt = 0.0
        # The time since the previous sample counts as moving when that sample was moving
        # (its speed held until this one), so activation does not depend on the frame rate.
        if self._was_moving:
            self.moving_s += dt
        self._was_moving = not ignition_off and (speed is None or speed >= self.monitoring.activation_speed_kph)
        active = not ignition_off and self.moving_s + 1e-9 >= self.monitoring.activation_s
        return JourneyStatus(self.journey, reason, active, self.moving_s)


class SpeedGate:
    """Open at >= min_speed_kph (or unknown speed), closed below min_speed_kph - hysteresis."""

    def __init__(self, min_speed_kph: float, hysteresis_kph: float):
        self.min_speed_kph = min_speed_kph
        self.hysteresis_kph = hysteresis_kph
        self.open = min_speed_kph <= 0.0

    def update(self, vehicle: VehicleState) -> bool:
        speed = known_speed(vehicle)
        if self.min_speed_kph <= 0.0 or speed is None or speed >= self.min_speed_kph:
            self.open = True
        elif speed < self.min_speed_kph - self.hysteresis_kph:
            self.open = False
        return self.open
