"""Vehicle I/O for one replay (or run): the CAN and serial outputs, each behind its own
queue and thread, and the vehicle input (a recording's CAN log, the serial ACK button).

    io = VehicleIo.open(config, out_dir, recording)
    pipeline = Pipeline(config, tracker, sinks + io.sinks)
    for frame in frames:
        pipeline.process(frame, io.vehicle_at(frame.t))
    pipeline.finish()          # closes (drains) the outputs
    io.close()
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from driver_monitor.config import Config
from driver_monitor.config.loader import format_validation_error
from driver_monitor.errors import ConfigError
from driver_monitor.messages import VehicleState
from driver_monitor.outputs.threaded import OutputStatus, ThreadedOutput

log = logging.getLogger(__name__)

CAN_TX_LOG_NAME = "can_tx.log"  # candump -l format, input-time stamps: `cantools decode` reads it


def with_io_overrides(
    config: Config,
    can_interface: str | None = None,
    can_channel: str | None = None,
    serial_port: str | None = None,
) -> Config:
    """The command line's --can-interface / --can-channel / --serial-port switch the outputs on
    without editing the config; bad values are ConfigErrors naming the key."""
    data = config.model_dump(mode="python")
    if can_interface is not None or can_channel is not None:
        data["can"]["enabled"] = True
        if can_interface is not None:
            data["can"]["interface"] = can_interface
        if can_channel is not None:
            data["can"]["channel"] = can_channel
    if serial_port is not None:
        data["serial"]["enabled"] = True
        data["serial"]["port"] = serial_port
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from None


def check_io_config(config: Config) -> None:
    """Load the DBCs the config names and check the vehicle signal mapping against them
    (what `check-config` adds to the schema check); ConfigError with one line per problem."""
    from driver_monitor.errors import InputError
    from driver_monitor.vehicle.can_rx import VehicleSignalDecoder
    from driver_monitor.vehicle.can_tx import DmsCanEncoder
    from driver_monitor.vehicle.dbc import DMS_DBC_PATH, load_dbc

    problems: list[str] = []
    dms_path = config.can.dbc_path if config.can.dbc_path is not None else DMS_DBC_PATH
    try:
        DmsCanEncoder(load_dbc(dms_path), str(dms_path))
    except InputError as exc:
        problems.append(f"can.dbc_path: {exc}")
    try:
        VehicleSignalDecoder(config.vehicle)
    except InputError as exc:
        problems.append(f"vehicle.dbc_path: {exc}")
    except ConfigError as exc:
        problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)


class VehicleIo:
    def __init__(self) -> None:
        self.outputs: list[ThreadedOutput] = []
        self.vehicle_source: Any = None
        self.serial_sink: Any = None
        self._seen_errors: dict[str, int] = {}
        self._closed = False

    @classmethod
    def open(cls, config: Config, out_dir: Path | None = None, recording: Any = None) -> VehicleIo:
        io = cls()
        try:
            if recording is not None and recording.can_log_path is not None:
                from driver_monitor.vehicle.source import open_log_source

                io.vehicle_source = open_log_source(recording.can_log_path, config.vehicle, recording.meta)
            if config.can.enabled:
                from driver_monitor.outputs.can_sink import CanSink

                tx_log = out_dir / CAN_TX_LOG_NAME if out_dir is not None else None
                sink = CanSink(config.can, tx_log_path=tx_log, faults=lambda: io.faults("can"))
                io.outputs.append(ThreadedOutput(sink, "can", config.can.queue_size))
            if config.serial.enabled:
                from driver_monitor.outputs.serial_sink import SerialSink

                io.serial_sink = SerialSink(config.serial, faults=lambda: io.faults("serial"), require_port=True)
                io.outputs.append(ThreadedOutput(io.serial_sink, "serial", config.serial.queue_size))
        except BaseException:
            io.close_outputs()
            io.close()
            raise
        return io

    @property
    def sinks(self) -> list[ThreadedOutput]:
        return list(self.outputs)

    def vehicle_at(self, t: float) -> VehicleState | None:
        """The vehicle at video time t (None: nothing known, the pipeline assumes unknown),
        with an ACK press from the serial board merged in."""
        state = self.vehicle_source.state_at(t) if self.vehicle_source is not None else None
        if self.serial_sink is not None and self.serial_sink.take_ack():
            state = replace(state, driver_ack=True) if state is not None else VehicleState(t=t, driver_ack=True)
        return state

    def faults(self, consumer: str) -> frozenset[str]:
        """Heartbeat fault flags from the I/O layer: new vehicle CAN errors or output drops
        since this consumer's last heartbeat."""
        out: set[str] = set()
        rx_errors = self.vehicle_source.errors if self.vehicle_source is not None else 0
        drops = sum(o.dropped for o in self.outputs)
        if rx_errors > self._seen_errors.get(f"{consumer}.rx", 0):
            out.add("vehicle_rx_errors")
        if drops > self._seen_errors.get(f"{consumer}.drops", 0):
            out.add("output_drops")
        self._seen_errors[f"{consumer}.rx"] = rx_errors
        self._seen_errors[f"{consumer}.drops"] = drops
        return frozenset(out)

    def statuses(self) -> list[OutputStatus]:
        return [o.status() for o in self.outputs]

    def summary_lines(self) -> list[str]:
        lines = [s.text() for s in self.statuses()]
        src = self.vehicle_source
        if src is not None:
            counts = dict(src.decoder.counts)
            dropped = {k: v for k, v in counts.items() if k not in ("accepted", "ignored")}
            extra = ", ".join(f"{k} {v}" for k, v in sorted(dropped.items()))
            lines.append(f"vehicle CAN log {src.path.name}: {counts.get('accepted', 0)} frames used"
                         f"{', dropped: ' + extra if extra else ''}")
        return lines

    def close_outputs(self) -> None:
        for o in self.outputs:
            o.close()

    def close(self) -> None:
        if self.vehicle_source is not None and not self._closed:
            self.vehicle_source.close()
        self._closed = True
