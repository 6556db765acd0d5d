"""One builder of a run's I/O, shared by `run`, `replay` and `record`: the sinks and the vehicle
inputs around the Pipeline, built from the config in one place.

                     replay                      run / record
    file sinks       events.jsonl, features.*,   (record: the same, beside the recording)
                     run.yaml, can_tx.log
    journal          -                           one log line per event
    CAN / serial     each behind its own queue and thread; replay needs the bus / port
                     open now, the daemon retries them with backoff
    vehicle input    the recording's CAN log     the live bus (own thread, reopened with
                                                 backoff), serial heart-rate sensor
    ACK button       from the serial board (both)

    io = RunIo.open(config, Mode.REPLAY, out_dir, recording)
    pipeline = Pipeline(config, tracker, io.sinks)
    for frame in frames:
        pipeline.process(frame, io.vehicle.at(frame.t))
    pipeline.finish()   # closes (drains) every sink
    io.close()          # the vehicle inputs
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from driver_monitor.backoff import Backoff
from driver_monitor.config import Config
from driver_monitor.errors import ConfigError, InputError
from driver_monitor.outputs.base import Sink
from driver_monitor.outputs.event_log import EVENTS_NAME, EventLogWriter
from driver_monitor.outputs.feature_table import (
    FEATURES_STEM,
    PARQUET_PROVENANCE_KEY,
    FeatureTableWriter,
)
from driver_monitor.outputs.fields import (
    FAULT_OUTPUT_DROPS,
    FAULT_VEHICLE_BUS_DOWN,
    FAULT_VEHICLE_RX_ERRORS,
)
from driver_monitor.outputs.journal import JournalSink
from driver_monitor.outputs.threaded import ThreadedOutput
from driver_monitor.provenance import RUN_FILE_NAME, provenance_text, write_run_file
from driver_monitor.recording.format import Recording
from driver_monitor.vehicle.heart_rate_serial import HeartRateSerialReader
from driver_monitor.vehicle.inputs import VehicleInputs, VehicleSource

log = logging.getLogger(__name__)

CAN_TX_LOG_NAME = "can_tx.log"  # candump -l format, input-time stamps: `cantools decode` reads it
# Everything a run writes into its output directory: an older run's files are removed first,
# so no stale can_tx.log or features.parquet sits beside the new outputs.
OUTPUT_NAMES = (EVENTS_NAME, f"{FEATURES_STEM}.csv", f"{FEATURES_STEM}.parquet", CAN_TX_LOG_NAME, RUN_FILE_NAME)


class Mode(StrEnum):
    RUN = "run"  # live camera and bus, the daemon
    REPLAY = "replay"  # a recording or video file, as fast as possible
    RECORD = "record"  # live, writing a recording


def check_io_config(config: Config) -> None:
    """Load the DBCs the config names and check the vehicle signal mapping against them
    (what `check-config` adds to the schema check); ConfigError with one line per problem."""
    from driver_monitor.can.rx import VehicleSignalDecoder
    from driver_monitor.outputs.can_sink import dms_encoder

    problems: list[str] = []
    try:
        dms_encoder(config.can)
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


def clear_outputs(out_dir: Path) -> list[str]:
    """Remove an earlier run's outputs from out_dir; returns the names removed."""
    removed = []
    for name in OUTPUT_NAMES:
        path = out_dir / name
        if path.is_file() or path.is_symlink():
            try:
                path.unlink()
            except OSError as exc:
                raise InputError(f"{path}: cannot remove the output of an earlier run ({exc.strerror})") from None
            removed.append(name)
    return removed


class RunIo:
    def __init__(self, mode: Mode, clock: Callable[[], float] = time.monotonic):
        self.mode = mode
        self.clock = clock
        self.file_sinks: list[Sink] = []
        self.outputs: dict[str, ThreadedOutput] = {}
        self.vehicle = VehicleInputs()
        self.removed_outputs: list[str] = []
        self._seen_drops: dict[str, int] = {}

    @classmethod
    def open(cls, config: Config, mode: Mode, out_dir: Path | None = None, recording: Recording | None = None,
             provenance: Mapping[str, Any] | None = None, clock: Callable[[], float] = time.monotonic) -> RunIo:
        io = cls(mode, clock)
        try:
            if out_dir is not None:
                io._open_files(config, out_dir, provenance)
            if mode is Mode.RUN:
                io.file_sinks.append(JournalSink())
            io.replace_outputs(io.open_outputs(config, out_dir))
            io.vehicle.can = io._open_can_input(config, recording)
            if mode is not Mode.REPLAY:
                io.vehicle.heart_rate = open_heart_rate(config, clock)
        except BaseException:
            io.close(outputs=True)
            raise
        return io

    @property
    def sinks(self) -> list[Sink]:
        return [*self.file_sinks, *self.outputs.values()]

    # ---- the parts ------------------------------------------------------------------
    def _open_files(self, config: Config, out_dir: Path, provenance: Mapping[str, Any] | None) -> None:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{out_dir}: cannot create the output directory ({exc.strerror})") from None
        self.removed_outputs = clear_outputs(out_dir)
        metadata = {PARQUET_PROVENANCE_KEY: provenance_text(provenance)} if provenance else None
        fmt = config.outputs.features_format.value
        self.file_sinks += [EventLogWriter(out_dir / EVENTS_NAME),
                            FeatureTableWriter(out_dir / f"{FEATURES_STEM}.{fmt}", fmt, metadata)]
        if provenance:
            write_run_file(out_dir, provenance)

    def open_outputs(self, config: Config, out_dir: Path | None = None) -> dict[str, ThreadedOutput]:
        """CAN and serial, each behind its own queue and thread (a broken bus blocks only its
        own thread). Replay needs them open now (InputError naming the bus or port); the
        daemon's sinks retry with backoff. A bad DBC raises InputError."""
        from driver_monitor.outputs.can_sink import CanSink
        from driver_monitor.outputs.serial_sink import SerialSink

        live = self.mode is not Mode.REPLAY
        close_s = config.service.shutdown_timeout_s if live else 5.0
        outputs: dict[str, ThreadedOutput] = {}
        try:
            if config.can.enabled:
                tx_log = out_dir / CAN_TX_LOG_NAME if out_dir is not None else None
                can_sink = CanSink(config.can, tx_log_path=tx_log, faults=lambda: self.faults("can"), require_bus=not live)
                outputs["can"] = ThreadedOutput(can_sink, "can", config.can.queue_size, close_s)
            if config.serial.enabled:
                serial_sink = SerialSink(config.serial, faults=lambda: self.faults("serial"), require_port=not live)
                outputs["serial"] = ThreadedOutput(serial_sink, "serial", config.serial.queue_size, close_s)
        except BaseException:
            for output in outputs.values():
                output.close()
            raise
        return outputs

    def replace_outputs(self, outputs: dict[str, ThreadedOutput], retire: bool = False) -> None:
        """Swap in new outputs (a reload). With `retire`, the old ones drain their queues and
        close on a thread of their own (up to shutdown_timeout_s: not on the frame loop). The
        ACK button follows the serial link of the new outputs."""
        old = list(self.outputs.values())
        self.outputs = outputs
        serial = outputs.get("serial")
        self.vehicle.ack = serial.sink.take_ack if serial is not None else None
        if retire and old:
            threading.Thread(target=lambda: [o.close() for o in old], name="outputs-retire", daemon=True).start()

    def _open_can_input(self, config: Config, recording: Recording | None) -> VehicleSource | None:
        if self.mode is Mode.REPLAY:
            if recording is None or recording.can_log_path is None:
                return None
            from driver_monitor.can.logs import open_log_source

            return open_log_source(recording.can_log_path, config.vehicle, recording.meta)
        return open_live_can_input(config, self.clock)

    def reopen_can_input(self, config: Config) -> None:
        if self.vehicle.can is not None:
            self.vehicle.can.close()
        self.vehicle.can = None
        self.vehicle.can = open_live_can_input(config, self.clock)

    def reopen_heart_rate(self, config: Config) -> None:
        if self.vehicle.heart_rate is not None:
            self.vehicle.heart_rate.close()
        self.vehicle.heart_rate = None
        self.vehicle.heart_rate = open_heart_rate(config, self.clock)

    # ---- what the heartbeats and the status say ----------------------------------------
    def faults(self, consumer: str) -> frozenset[str]:
        """Fault bits from the I/O layer for one output's heartbeat (outputs/fields.FAULTS):
        vehicle frame errors and output drops new since that output's previous heartbeat,
        and a vehicle bus that is down or silent."""
        faults: set[str] = set()
        if self.vehicle.new_errors(consumer):
            faults.add(FAULT_VEHICLE_RX_ERRORS)
        drops = sum(o.dropped for o in list(self.outputs.values()))
        if drops > self._seen_drops.get(consumer, 0):
            faults.add(FAULT_OUTPUT_DROPS)
        self._seen_drops[consumer] = drops
        if self.vehicle.bus_down():
            faults.add(FAULT_VEHICLE_BUS_DOWN)
        return frozenset(faults)

    def output_status(self) -> dict[str, str]:
        return {name: o.status().text() for name, o in self.outputs.items()}

    def summary_lines(self) -> list[str]:
        lines = list(self.output_status().values())
        if self.vehicle.can is not None:
            lines.append(self.vehicle.can.summary_line())
        return lines

    def close(self, outputs: bool = False) -> None:
        """Close the vehicle inputs (and, when the Pipeline never owned them, the sinks)."""
        if outputs:
            for sink in self.sinks:
                sink.close()
        self.vehicle.close()


def open_live_can_input(config: Config, clock: Callable[[], float] = time.monotonic) -> VehicleSource | None:
    """Vehicle signals (speed, indicators, ACK) from the CAN interface the DMS frames go to;
    without CAN every signal is unknown, and unknown speed counts as moving (DESIGN.md). A bus
    that cannot be opened now is retried with backoff by the source's own thread."""
    if not config.can.enabled:
        return None
    from driver_monitor.can.bus import describe_bus, open_bus
    from driver_monitor.can.rx import LiveCanVehicleSource

    can_config = config.can
    backoff = Backoff(can_config.reopen_backoff_min_s, can_config.reopen_backoff_max_s)
    return LiveCanVehicleSource(lambda: open_bus(can_config), config.vehicle, describe_bus(can_config),
                                backoff, config.vehicle.bus_silent_after_s, clock)


def open_heart_rate(config: Config, clock: Callable[[], float] = time.monotonic) -> HeartRateSerialReader | None:
    """The serial heart-rate sensor of stress.external.serial_port, read in its own thread
    (it reopens the port with backoff by itself), or None when none is set."""
    external = config.stress.external
    if external.serial_port is None:
        return None
    log.info("heart-rate sensor: %s at %d baud", external.serial_port, external.serial_baudrate)
    return HeartRateSerialReader(external.serial_port, external.serial_baudrate, external.max_age_s, clock=clock)
