"""One builder of a run's I/O, shared by `run`, `replay` and `record`: the sinks and the vehicle
inputs around the Pipeline, built from the config in one place.

                     replay                      run / record
    file sinks       events.jsonl, features.*,   record: events.jsonl, features.parquet,
                     run.yaml, can_tx.log        run.yaml, config.yaml beside the recording
    journal          -                           run: one log line per event
    recording        -                           record: the processed frames, CAN log and
                                                 heart-rate lines (recording/live.py)
                                                 run: event clips, when configured
    CAN / serial     each behind its own queue and thread; replay needs the bus / port
                     open now, the daemon retries them with backoff
    vehicle input    the recording's CAN log     the live bus (own thread, reopened with
                     and heart-rate lines        backoff), serial heart-rate sensor
    ACK button       from the serial board (both)

    io = RunIo.open(config, Mode.REPLAY, out_dir, recording)
    pipeline = Pipeline(config, tracker, io.sinks)
    for frame in frames:
        pipeline.process(frame, io.vehicle.at(frame.t))
    pipeline.finish()   # closes (drains) every sink
    io.close()          # the vehicle inputs
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from driver_monitor.backoff import Backoff
from driver_monitor.config import Config
from driver_monitor.config.recording import clip_quota_problem
from driver_monitor.errors import ConfigError, InputError
from driver_monitor.names import EXPRESSION_PREFIX, Column
from driver_monitor.outputs.base import Sink
from driver_monitor.outputs.event_log import EVENTS_NAME, EventLogWriter
from driver_monitor.outputs.feature_table import (
    FEATURES_STEM,
    PARQUET_PROVENANCE_KEY,
    RECORD_SPILL_S,
    FeatureTableWriter,
    parts_dir,
)
from driver_monitor.outputs.fields import (
    FAULT_OUTPUT_DROPS,
    FAULT_VEHICLE_BUS_DOWN,
    FAULT_VEHICLE_RX_ERRORS,
)
from driver_monitor.outputs.guarded import GuardedFileSink
from driver_monitor.outputs.journal import JournalSink
from driver_monitor.outputs.threaded import ThreadedOutput
from driver_monitor.provenance import RUN_FILE_NAME, provenance_text, write_run_file
from driver_monitor.recording.files import write_private_atomic
from driver_monitor.recording.format import CONFIG_NAME, Recording
from driver_monitor.vehicle.heart_rate_serial import HeartRateSerialReader
from driver_monitor.vehicle.inputs import HeartRateInput, VehicleInputs, VehicleSource

if TYPE_CHECKING:
    import can

    from driver_monitor.messages import Frame
    from driver_monitor.outputs.event_clips import EventClips
    from driver_monitor.recording.live import LiveRecording

log = logging.getLogger(__name__)

CAN_TX_LOG_NAME = "can_tx.log"  # candump -l format, input-time stamps: `cantools decode` reads it
# Everything a run writes into its output directory: an older run's files are removed first,
# so no stale can_tx.log or features.parquet sits beside the new outputs.
OUTPUT_NAMES = (EVENTS_NAME, f"{FEATURES_STEM}.csv", f"{FEATURES_STEM}.parquet", CAN_TX_LOG_NAME, RUN_FILE_NAME)


class Mode(StrEnum):
    RUN = "run"  # live camera and bus, the daemon
    REPLAY = "replay"  # a recording or video file, as fast as possible
    RECORD = "record"  # live, writing a recording


class FrameTap(Protocol):
    """What sees every frame the live loop processed, after the Pipeline did (a recording,
    the event clips' ring buffer): `period_s` is the camera's nominal frame period."""

    def frame(self, frame: Frame, period_s: float | None = None) -> None: ...

    def stop_reason(self) -> str | None:
        """Why the loop must stop now (a recording that cannot be written), or None."""
        ...


def check_io_config(config: Config) -> None:
    """Load the DBCs the config names and check the vehicle signal mapping against them, and
    the policy's value_keys against the detectors' columns (what `check-config` adds to the
    schema check); ConfigError with one line per problem."""
    from driver_monitor.can.rx import VehicleSignalDecoder
    from driver_monitor.outputs.can_sink import dms_encoder

    problems: list[str] = []
    clips = clip_quota_problem(config.recording.event_clips, config.camera.width_px, config.camera.height_px, config.camera.fps)
    if clips is not None:
        problems.append(clips)
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
    # A policy value_key no detector gives (the detectors' import, ~1.5 s, only when a key is
    # not one of the names other stages read, as the default kss_level is).
    if any(c.value_key is not None and c.value_key not in set(Column) and not c.value_key.startswith(EXPRESSION_PREFIX)
           for _, c in config.policy.conditions.items()):
        from driver_monitor.pipeline import value_key_problems

        problems.extend(value_key_problems(config))
    model_path = config.perception.model_path
    if model_path is not None and not model_path.is_file():  # its contents are checked when it loads
        what = "is a directory, not the model file" if model_path.is_dir() else (
            "not a regular file" if model_path.exists() else "no such file")
        problems.append(f"perception.model_path: {model_path}: {what}")
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
    parts = parts_dir(out_dir / f"{FEATURES_STEM}.parquet")  # an earlier run killed before its close
    if parts.is_dir():
        try:
            shutil.rmtree(parts)
        except OSError as exc:
            raise InputError(f"{parts}: cannot remove the output of an earlier run ({exc.strerror})") from None
        removed.append(parts.name)
    return removed


class RunIo:
    def __init__(self, mode: Mode, clock: Callable[[], float] = time.monotonic):
        self.mode = mode
        self.clock = clock
        self.file_sinks: list[Sink] = []
        self.outputs: dict[str, ThreadedOutput] = {}
        self.vehicle = VehicleInputs()
        self.removed_outputs: list[str] = []
        self.recording: LiveRecording | None = None  # record: the recording being written
        self.event_clips: EventClips | None = None  # run: the event clips, when configured
        self._guarded: list[GuardedFileSink] = []
        self._seen_drops: dict[str, int] = {}

    @classmethod
    def open(cls, config: Config, mode: Mode, out_dir: Path | None = None, recording: Recording | None = None,
             provenance: Mapping[str, Any] | None = None, clock: Callable[[], float] = time.monotonic,
             video: bool = True) -> RunIo:
        """record: `out_dir` is the recording directory (made by the caller, empty); `video`
        False records no picture (`record --no-video`)."""
        io = cls(mode, clock)
        try:
            if out_dir is not None:
                io._open_files(config, out_dir, provenance)
            if mode is Mode.RECORD:
                if out_dir is None:
                    raise ValueError("record needs its recording directory")
                io._open_recording(config, out_dir, provenance or {}, video)
            if mode is Mode.RUN:
                io.file_sinks.append(JournalSink())
                try:
                    io.open_event_clips(config)
                except InputError as exc:
                    # A clip directory that cannot be made (a disk read-only or full at boot) costs
                    # the clips, never the monitoring: one line, as on a reload (service.py) and
                    # as for a state directory. A quota too small (ConfigError) still refuses.
                    log.error("event clips off: %s", exc)
            io.replace_outputs(io.open_outputs(config, out_dir))
            io.vehicle.can = io._open_can_input(config, recording)
            io.vehicle.heart_rate = io._open_heart_rate(config, recording)
            if io.recording is not None:
                io.vehicle.ack_tap = io.recording.serial_ack
            if recording is not None and recording.serial_ack_path is not None:
                from driver_monitor.recording.format import read_serial_acks
                from driver_monitor.vehicle.inputs import RecordedAcks

                io.vehicle.recorded_acks = RecordedAcks(read_serial_acks(recording.serial_ack_path,
                                                                          torn_tail_ok=not recording.complete))
        except BaseException:
            io.close(outputs=True)
            io.close_recording()
            raise
        return io

    @property
    def sinks(self) -> list[Sink]:
        return [*self.file_sinks, *self.outputs.values()]

    @property
    def frame_taps(self) -> list[FrameTap]:
        """What sees every processed frame (service.py calls them after the Pipeline)."""
        return [tap for tap in (self.recording, self.event_clips) if tap is not None]

    def status_period_s(self, default_s: float) -> float:
        """The longest status period of the periodic outputs (CAN's from its DBC, serial's
        from its config): the spacing at which every one of them sends a fresh status
        frame; `default_s` without such an output."""
        periods = [schedule.status_period_s for o in self.outputs.values()
                   if (schedule := getattr(o.sink, "schedule", None)) is not None]
        return max(periods, default=default_s)

    def stop_reason(self) -> str | None:
        """A live recording that cannot go on (disk full, ...): the loop stops, saying this."""
        for tap in self.frame_taps:
            reason = tap.stop_reason()
            if reason is not None:
                return reason
        return next((g.error for g in self._guarded if g.error is not None), None)

    # ---- the parts ------------------------------------------------------------------
    def _open_files(self, config: Config, out_dir: Path, provenance: Mapping[str, Any] | None) -> None:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{out_dir}: cannot create the output directory ({exc.strerror})") from None
        self.removed_outputs = clear_outputs(out_dir)
        metadata = {PARQUET_PROVENANCE_KEY: provenance_text(provenance)} if provenance else None
        # A recording's table is Parquet (docs/recording.md), whatever replay writes.
        fmt = "parquet" if self.mode is Mode.RECORD else config.outputs.features_format.value
        path = out_dir / EVENTS_NAME
        opened: list[Sink] = []
        try:
            opened.append(EventLogWriter(path))
            path = out_dir / f"{FEATURES_STEM}.{fmt}"
            # record: a kill or a power cut loses at most RECORD_SPILL_S of the table (a
            # landmarks-only recording has nothing else).
            opened.append(FeatureTableWriter(path, fmt, metadata,
                                             spill_s=RECORD_SPILL_S if self.mode is Mode.RECORD else None))
            if provenance:
                path = out_dir / RUN_FILE_NAME
                write_run_file(out_dir, provenance)
        except OSError as exc:  # a directory in the way, /proc, a read-only file system
            for sink in opened:
                sink.close()
            raise InputError(f"{path}: cannot write ({exc.strerror or exc.__class__.__name__})") from None
        if self.mode is Mode.RECORD:  # a full disk stops the recording cleanly, not the loop
            self._guarded = [GuardedFileSink(opened[0], out_dir / EVENTS_NAME, lines=True),
                             GuardedFileSink(opened[1], out_dir / f"{FEATURES_STEM}.{fmt}")]
            opened = list(self._guarded)
        self.file_sinks += opened

    def _open_recording(self, config: Config, out_dir: Path, provenance: Mapping[str, Any], video: bool) -> None:
        from driver_monitor.recording.live import LiveRecording

        write_private_atomic(out_dir / CONFIG_NAME, replay_config_text(config))
        rec = config.recording
        self.recording = LiveRecording(
            out_dir, recording_meta(config, provenance), codec=rec.codec.value, crf=rec.h264_crf,
            preset=rec.h264_preset.value, video=video, can_log=config.can.enabled,
            heart_rate_log=config.stress.external.serial_port is not None)

    def open_event_clips(self, config: Config) -> None:
        """The event clips of `run` (recording.event_clips), or none; ConfigError when the
        quota is smaller than one clip, InputError when the directory cannot be made."""
        if self.event_clips is not None:
            self.file_sinks.remove(self.event_clips)
            self.event_clips.close()  # an open clip goes to the old worker, written in the background
            self.event_clips = None
        if not config.recording.event_clips.enabled:
            return
        problem = clip_quota_problem(config.recording.event_clips, config.camera.width_px, config.camera.height_px,
                                     config.camera.fps)
        if problem is not None:
            raise ConfigError([problem])
        from driver_monitor.outputs.event_clips import EventClips

        try:
            clips = EventClips(config, replay_config_text(config), recording_meta(config, {}))
        except OSError as exc:
            raise InputError(f"recording.event_clips.dir: {exc.filename or ''}: cannot be used ({exc.strerror})") from None
        self.event_clips = clips
        self.file_sinks.append(clips)
        log.info("event clips: %s, %g s before to %g s after a %s, quota %g MB, kept %g days",
                 clips.store.root, config.recording.event_clips.before_s, config.recording.event_clips.after_s,
                 " or ".join((["warning"] if config.recording.event_clips.on_warning else [])
                             + [str(e) for e in config.recording.event_clips.events]) or "(no trigger)",
                 config.recording.event_clips.quota_mb, config.recording.event_clips.retention_days)

    def close_recording(self, meta: Mapping[str, Any] | None = None) -> None:
        """Finish the recording (after the vehicle inputs are closed: nothing taps it then)."""
        if self.recording is not None:
            self.recording.close(dict(meta or {}))

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
        return open_live_can_input(config, self.clock, self._tap_can)

    def _open_heart_rate(self, config: Config, recording: Recording | None) -> HeartRateInput | None:
        """Live: the serial sensor; replay: the lines a recording holds (heart_rate.csv)."""
        if self.mode is not Mode.REPLAY:
            return open_heart_rate(config, self.clock, self._tap_heart_rate)
        if recording is None or recording.heart_rate_log_path is None:
            return None
        from driver_monitor.vehicle.heart_rate_log import HeartRateLogSource

        return HeartRateLogSource(recording.heart_rate_log_path, config.stress.external.max_age_s,
                                  torn_tail_ok=not recording.complete)

    def reopen_can_input(self, config: Config) -> None:
        if self.vehicle.can is not None:
            self.vehicle.can.close()
        self.vehicle.can = None
        self.vehicle.can = open_live_can_input(config, self.clock, self._tap_can)

    def reopen_heart_rate(self, config: Config) -> None:
        if self.vehicle.heart_rate is not None:
            self.vehicle.heart_rate.close()
        self.vehicle.heart_rate = None
        self.vehicle.heart_rate = open_heart_rate(config, self.clock, self._tap_heart_rate)

    # ---- what the live inputs hand the recorders (on their own threads) ----------------
    def _tap_can(self, msg: can.Message, t: float) -> None:
        for recorder in (self.recording, self.event_clips):
            if recorder is not None:
                recorder.can_message(msg, t)

    def _tap_heart_rate(self, line: bytes, t: float) -> None:
        for recorder in (self.recording, self.event_clips):
            if recorder is not None:
                recorder.heart_rate_line(line, t)

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

    def clips_status(self) -> dict[str, Any] | None:
        return self.event_clips.status() if self.event_clips is not None else None

    def output_status(self) -> dict[str, str]:
        return {name: o.status().text() for name, o in self.outputs.items()}

    def summary_lines(self) -> list[str]:
        lines = list(self.output_status().values())
        if self.vehicle.can is not None:
            lines.append(self.vehicle.can.summary_line())
        summary = getattr(self.vehicle.heart_rate, "summary_line", None)  # a recording's heart_rate.csv
        if summary is not None:
            lines.append(summary())
        return lines

    def close(self, outputs: bool = False) -> None:
        """Close the vehicle inputs (and, when the Pipeline never owned them, the sinks)."""
        if outputs:
            for sink in self.sinks:
                sink.close()
        self.vehicle.close()


def open_live_can_input(config: Config, clock: Callable[[], float] = time.monotonic,
                        tap: Callable[[can.Message, float], None] | None = None) -> VehicleSource | None:
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
                                backoff, config.vehicle.bus_silent_after_s, clock, tap)


def open_heart_rate(config: Config, clock: Callable[[], float] = time.monotonic,
                    tap: Callable[[bytes, float], None] | None = None) -> HeartRateSerialReader | None:
    """The serial heart-rate sensor of stress.external.serial_port, read in its own thread
    (it reopens the port with backoff by itself), or None when none is set."""
    external = config.stress.external
    if external.serial_port is None:
        return None
    log.info("heart-rate sensor: %s at %d baud", external.serial_port, external.serial_baudrate)
    return HeartRateSerialReader(external.serial_port, external.serial_baudrate, external.max_age_s, clock=clock,
                                 tap=tap)


def replay_config_text(config: Config) -> str:
    """config.yaml of a recording or clip: the config the live run used, to replay it with
    (`replay DIR --config DIR/config.yaml`). The CAN and serial outputs are switched off in it:
    they decide nothing, and a replay on another machine has neither bus nor port."""
    settings = config.model_dump(mode="json")
    settings["can"]["enabled"] = False
    settings["serial"]["enabled"] = False
    header = ("# The config the live run used (driver-monitor record / event clip), to replay it with:\n"
              "#   driver-monitor replay DIR --config DIR/config.yaml\n"
              "# can.enabled and serial.enabled are off here (outputs decide nothing); run.yaml has them as used.\n")
    return header + provenance_text(settings)


def recording_meta(config: Config, provenance: Mapping[str, Any]) -> dict[str, Any]:
    """What meta.yaml says about the live run besides the video: where it came from, which
    package, model and config made its decisions, and how its CAN log is timed."""
    from driver_monitor import __version__
    from driver_monitor.provenance import model_provenance

    meta: dict[str, Any] = {"source": str(config.camera.device)}
    if "created_utc" in provenance:
        meta["started_utc"] = provenance["created_utc"]
    meta["package_version"] = __version__
    meta["model_sha256"] = model_provenance(config)["sha256"]
    # The runtime that ran the model (issue 18): its landmarks differ from another's in the
    # last digits, so an exact replay needs the same one (it is also in config.yaml).
    meta["tracker_backend"] = config.perception.backend.value
    cfg = provenance.get("config")
    if isinstance(cfg, Mapping):
        meta["config"] = {"path": cfg.get("path"), "sha256": cfg.get("sha256")}
    meta["config_settings_sha256"] = _settings_sha256(config)
    if config.can.enabled:
        meta["can_start_time_s"] = 0.0  # the CAN log's times are the recording's (recording/can_log.py)
    return meta


def _settings_sha256(config: Config) -> str:
    """sha256 of every setting (the config as used, defaults and overrides included)."""
    return hashlib.sha256(json.dumps(config.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()
