"""Config of vehicle I/O: the CAN bus (DMS frames out), the serial link, and the vehicle
signals read through the user's own DBC (docs/can.md, docs/serial-protocol.md)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator

from driver_monitor.config.base import Section


def _valid_can_interface(name: str) -> str:
    import can

    if name not in can.VALID_INTERFACES:
        known = ", ".join(sorted(can.VALID_INTERFACES))
        raise ValueError(f"unknown python-can interface {name!r} (known: {known})")
    return name


class CanConfig(Section):
    # Send DMS_Status / DMS_Warning / DMS_Heartbeat (replay/run switch it on with --can-interface).
    enabled: bool = False
    # Any python-can interface: socketcan (cars), virtual (one process), udp_multicast
    # (across processes on one host, needs msgpack), pcan, kvaser, vector, slcan, ...
    interface: str = "virtual"
    # Channel of that interface: can0 / vcan0 for socketcan, a multicast group for
    # udp_multicast (e.g. 239.74.163.2), any name for virtual.
    channel: str = "dms"
    # Bitrate for interfaces that set it (None: leave the interface's own setting).
    bitrate: int | None = Field(500_000, gt=0)
    # Extra keyword arguments for can.Bus, interface-specific: e.g. {port: 43113} for
    # udp_multicast (sockets bound to one port receive every group on the host, so separate
    # setups need separate ports), {fd: true}, {receive_own_messages: false}.
    options: dict[str, str | int | float | bool] = {}
    # DBC of the frames the daemon sends (None: the packaged config/driver_monitor.dbc).
    # Cycle times come from its GenMsgCycleTime attributes (status 100 ms, warning repeat
    # 200 ms, heartbeat 1000 ms) so the DBC stays the one contract with the vehicle.
    dbc_path: Path | None = None
    # Frames waiting for the bus thread; when full the oldest result is dropped and counted.
    queue_size: int = Field(256, ge=1, le=100_000)
    # A send blocking longer than this counts as a failed send (bus off, TX buffer full).
    send_timeout_s: float = Field(0.02, ge=0.0, le=1.0)
    # After a failed open or send, wait this long before reopening, doubling up to the max.
    reopen_backoff_min_s: float = Field(0.5, gt=0.0, le=60.0)
    reopen_backoff_max_s: float = Field(10.0, gt=0.0, le=600.0)

    @field_validator("interface")
    @classmethod
    def _interface(cls, v: str) -> str:
        return _valid_can_interface(v)

    @field_validator("channel", mode="before")
    @classmethod
    def _channel_number(cls, value: object) -> object:
        # kvaser, vector and neovi number their channels: `channel: 0` is YAML's integer.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _ordered(self) -> CanConfig:
        if self.reopen_backoff_min_s > self.reopen_backoff_max_s:
            raise ValueError("reopen_backoff_min_s must not exceed reopen_backoff_max_s")
        return self


class SerialConfig(Section):
    # Send the framed status / warning / heartbeat (docs/serial-protocol.md) and read the
    # ACK button (replay/run switch it on with --serial-port).
    enabled: bool = False
    # A pyserial URL: /dev/ttyUSB0, /dev/pts/N, loop://, socket://host:port, rfc2217://...
    port: str = ""
    baudrate: int = Field(115_200, gt=0)
    # Periods in input time. 10 Hz status mirrors the CAN DMS_Status cycle.
    status_period_s: float = Field(0.1, gt=0.0, le=10.0)
    # A warning frame goes out on every change and is repeated this often while active.
    warning_repeat_period_s: float = Field(0.2, gt=0.0, le=10.0)
    heartbeat_period_s: float = Field(1.0, gt=0.0, le=60.0)
    # A write blocking longer than this fails (port gone / flow control stuck); the frame is
    # dropped and counted, the output thread never blocks longer.
    write_timeout_s: float = Field(0.05, gt=0.0, le=5.0)
    reopen_backoff_min_s: float = Field(0.5, gt=0.0, le=60.0)
    reopen_backoff_max_s: float = Field(10.0, gt=0.0, le=600.0)
    queue_size: int = Field(256, ge=1, le=100_000)

    @model_validator(mode="after")
    def _ordered(self) -> SerialConfig:
        if self.reopen_backoff_min_s > self.reopen_backoff_max_s:
            raise ValueError("reopen_backoff_min_s must not exceed reopen_backoff_max_s")
        if self.enabled and not self.port:
            raise ValueError("port is required when serial is enabled")
        return self


class SignalMap(Section):
    """Where one VehicleState field comes from in the vehicle DBC."""

    message: str
    signal: str
    # Extra plausibility range (physical units) on top of the DBC's [min|max]; values outside
    # either are dropped and counted, the field keeps its last good value until it times out.
    min_value: float | None = None
    max_value: float | None = None
    # For boolean fields: the DBC value names that mean true (otherwise non-zero is true).
    true_values: list[str] = []

    @model_validator(mode="after")
    def _range(self) -> SignalMap:
        # Upside down, every value was dropped as implausible: the field stayed unknown (an
        # unknown speed is treated as moving) for the whole drive, without a word.
        if self.min_value is not None and self.max_value is not None and self.min_value >= self.max_value:
            raise ValueError(f"min_value ({self.min_value:g}) must be below max_value ({self.max_value:g}): "
                             "no value would pass")
        return self


class VehicleSignals(Section):
    """VehicleState field -> DBC message + signal. null: the car does not send it (unknown)."""

    speed_kph: SignalMap | None = SignalMap(message="VEH_Speed", signal="VehicleSpeed", min_value=0.0, max_value=320.0)
    indicator_left: SignalMap | None = SignalMap(message="VEH_Body", signal="IndicatorLeft")
    indicator_right: SignalMap | None = SignalMap(message="VEH_Body", signal="IndicatorRight")
    gear: SignalMap | None = SignalMap(message="VEH_Body", signal="GearPosition")
    driver_ack: SignalMap | None = SignalMap(message="VEH_Hmi", signal="DmsAckButton")
    ignition_on: SignalMap | None = SignalMap(message="VEH_Body", signal="IgnitionState", true_values=["On", "Start"])
    external_heart_rate_bpm: SignalMap | None = SignalMap(message="VEH_Wearable", signal="WearableHeartRate", min_value=30.0, max_value=220.0)


class VehicleConfig(Section):
    # The user's vehicle DBC (None: the packaged config/vehicle_example.dbc).
    dbc_path: Path | None = None
    signals: VehicleSignals = VehicleSignals()
    # DBC gear value name -> P / R / N / D (anything else reads as unknown).
    gear_names: dict[str, str] = {"P": "P", "R": "R", "N": "N", "D": "D"}
    # A signal not received for this many cycles of its message (GenMsgCycleTime) becomes
    # unknown; unknown speed is treated as moving (DESIGN.md "Fail safe").
    timeout_cycles: float = Field(3.0, gt=0.0, le=100.0)
    # Cycle time assumed for messages whose DBC entry has no GenMsgCycleTime.
    default_cycle_time_s: float = Field(0.1, gt=0.0, le=10.0)
    # Check CRC and alive counter where the DBC declares them (E2E_DataID, *_CRC, *_Counter).
    check_e2e: bool = True
    # Largest accepted counter step (AUTOSAR Profile 2 MaxDeltaCounter); 1 = no frame may be lost.
    max_counter_jump: int = Field(1, ge=1, le=14)
    # The live bus counts as silent after this long without any frame at all (a cut wire, a
    # gateway asleep: not one late message, which timeout_cycles covers): shown in `status`,
    # the heartbeat's Fault_VehicleBusDown bit and one log line.
    bus_silent_after_s: float = Field(2.0, gt=0.0, le=60.0)
    # Bad frames are counted always but logged at most once per this interval of input time.
    log_interval_s: float = Field(5.0, ge=0.0, le=3600.0)

    @field_validator("gear_names")
    @classmethod
    def _gears(cls, v: dict[str, str]) -> dict[str, str]:
        bad = sorted(set(v.values()) - {"P", "R", "N", "D"})
        if bad:
            raise ValueError(f"gear_names values must be P, R, N or D (got {', '.join(bad)})")
        return v
