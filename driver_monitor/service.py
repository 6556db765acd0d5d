"""The live daemon (`driver-monitor run`): camera -> the same Pipeline as replay -> outputs,
supervised by systemd.

One frame loop in the main thread does everything that must happen in order: take the
newest camera frame, judge camera faults, run the pipeline, ping the systemd watchdog (so a
stalled loop trips it), publish STATUS and the state file, and apply a reload or a stop
between two frames. Signal handlers only set flags (REFERENCE.md "config": reload = set a
flag, re-read, validate, swap; keep the old config on error).

Fail safe, fail loud (DESIGN.md): a camera fault is a `camera_fault` event on every output,
never an exception out of the loop; a bad config on reload keeps the running one.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
from pydantic import ValidationError

from driver_monitor.config import Config, load_config
from driver_monitor.config.loader import format_validation_error
from driver_monitor.errors import ConfigError, DriverMonitorError, InputError
from driver_monitor.messages import Event, PolicyState, VehicleState
from driver_monitor.outputs.threaded import ThreadedOutput
from driver_monitor.perception.tracker import FaceTracker, create_tracker
from driver_monitor.pipeline import FrameResult, Pipeline
from driver_monitor.runtime_state import resolve_state_dir, write_state
from driver_monitor.sd_notify import Notifier, watchdog_interval_s
from driver_monitor.sources.camera import CameraFaultMonitor, CameraSource, frame_stats
from driver_monitor.sources.heart_rate_serial import HeartRateSerialReader
from driver_monitor.vehicle.source import LiveCanVehicleSource

log = logging.getLogger("driver_monitor.service")
event_log = logging.getLogger("driver_monitor.events")

# Camera settings that need the capture reopened when a reload changes them.
_CAMERA_OPEN_FIELDS = ("device", "width_px", "height_px", "fps", "fourcc", "buffer_size")


class RepeatLimiter(logging.Filter):
    """At most `max_lines` records with the same key per `window_s`; the number held back is
    appended to the next line let through, so journald stays readable when a fault flaps.
    The key is the record's `rate_key` extra, else its message template and level."""

    def __init__(self, max_lines: int, window_s: float, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.max_lines = max_lines
        self.window_s = window_s
        self.clock = clock
        self._windows: dict[Any, list[float | int]] = {}  # key -> [window start, sent, held]

    def filter(self, record: logging.LogRecord) -> bool:
        key = getattr(record, "rate_key", None) or (record.name, record.levelno, str(record.msg))
        now = self.clock()
        w = self._windows.get(key)
        if w is None or now - w[0] >= self.window_s:
            held = int(w[2]) if w is not None else 0
            self._windows[key] = [now, 1, 0]
            if held:
                record.msg = f"{record.getMessage()} ({held} similar lines held back in the last {self.window_s:g} s)"
                record.args = None
            return True
        if w[1] < self.max_lines:
            w[1] += 1
            return True
        w[2] += 1
        return False


def describe_event(e: Event) -> str:
    parts = [e.name] + ([e.phase] if e.phase else [])
    detail = " ".join(f"{k}={_fmt(v)}" for k, v in e.detail.items())
    return f"{e.kind} {' '.join(parts)} t={e.t:.3f}" + (f" {detail}" if detail else "")


def _fmt(v: Any) -> str:
    return f"{v:.3f}" if isinstance(v, float) else str(v)


class EventLogSink:
    """Every event and action as one log line on stderr (journald), repeats rate-limited by
    name and phase through RepeatLimiter."""

    def write(self, result: FrameResult) -> None:
        for e in result.events:
            level = logging.WARNING if e.name == "camera_fault" and e.phase == "start" else logging.INFO
            event_log.log(level, "%s", describe_event(e), extra={"rate_key": ("event", e.name, e.phase)})

    def write_events(self, events: list[Event]) -> None:
        for e in events:
            event_log.info("%s", describe_event(e), extra={"rate_key": ("event", e.name, e.phase)})

    def close(self) -> None:
        pass


TrackerFactory = Callable[[Config], FaceTracker]

# While the camera is faulty no frame drives the outputs; the loop hands them a result this
# often so CAN / serial keep sending their periodic status (DMS_Status is 10 Hz, docs/can.md).
FAULT_RESULT_PERIOD_S = 0.1


class Daemon:
    def __init__(
        self,
        config_path: str | Path | None = None,
        camera: str | None = None,
        state_dir: str | Path | None = None,
        notifier: Notifier | None = None,
        tracker_factory: TrackerFactory | None = None,
        overrides: Mapping[str, Mapping[str, Any]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.config_path = Path(config_path) if config_path is not None else None
        self.state_dir_override = Path(state_dir) if state_dir is not None else None
        self.notifier = notifier if notifier is not None else Notifier()
        self.tracker_factory = tracker_factory or (lambda c: create_tracker(c.perception))
        # Command-line settings (--camera, --can-interface, ...) that win over the file on
        # every load, reloads included: {section: {key: value}}.
        self.overrides = {k: dict(v) for k, v in (overrides or {}).items()}
        if camera is not None:
            self.overrides.setdefault("camera", {})["device"] = camera
        self.outputs: dict[str, ThreadedOutput] = {}
        self.serial_sink: Any = None
        self.vehicle_source: LiveCanVehicleSource | None = None
        self.heart_rate_reader: HeartRateSerialReader | None = None
        self._seen_counts: dict[tuple[str, str], int] = {}
        self._vehicle_retry_t: float | None = None
        self._vehicle_backoff_s = 0.5
        self.clock = clock
        self._stop_requested = threading.Event()
        self._reload_requested = False
        self.phase = "starting"
        self.reloads = 0
        self.reload_error: str | None = None
        self.fps = 0.0
        self.last_result: FrameResult | None = None
        self._previous_image: np.ndarray | None = None
        self._skipped_before = 0
        self.started_wall = time.time()
        # Set in run().
        self.config: Config
        self.pipeline: Pipeline
        self.camera: CameraSource
        self.monitor: CameraFaultMonitor
        self.state_dir: Path

    # ---- signals -------------------------------------------------------------------
    def request_stop(self, *_: object) -> None:
        self._stop_requested.set()

    def request_reload(self, *_: object) -> None:
        self._reload_requested = True

    def install_signal_handlers(self) -> None:
        def on_stop(signum: int, _frame: FrameType | None) -> None:
            self.request_stop()

        def on_hup(signum: int, _frame: FrameType | None) -> None:
            self.request_reload()

        signal.signal(signal.SIGTERM, on_stop)
        signal.signal(signal.SIGINT, on_stop)
        signal.signal(signal.SIGHUP, on_hup)

    # ---- config --------------------------------------------------------------------
    def load(self) -> Config:
        config = load_config(self.config_path)
        if not self.overrides:
            return config
        data = config.model_dump()
        for section, values in self.overrides.items():
            data[section].update(values)
        try:
            return Config.model_validate(data)
        except ValidationError as exc:
            raise ConfigError([f"command line: {line}" for line in format_validation_error(exc)]) from None

    # ---- outputs and vehicle input -------------------------------------------------
    def _open_outputs(self, config: Config) -> tuple[dict[str, ThreadedOutput], Any]:
        """CAN and serial, each behind its own queue and thread (a broken bus blocks only
        its own thread). A bus or port that cannot be opened now is retried by its sink;
        a bad DBC raises InputError. Returns the outputs and the serial sink (ACK input)."""
        outputs: dict[str, ThreadedOutput] = {}
        serial_sink = None
        close_s = config.service.shutdown_timeout_s
        try:
            if config.can.enabled:
                from driver_monitor.outputs.can_sink import CanSink

                sink = CanSink(config.can, faults=lambda: self.heartbeat_faults("can"), require_bus=False)
                outputs["can"] = ThreadedOutput(sink, "can", config.can.queue_size, close_s)
            if config.serial.enabled:
                from driver_monitor.outputs.serial_sink import SerialSink

                serial_sink = SerialSink(config.serial, faults=lambda: self.heartbeat_faults("serial"))
                outputs["serial"] = ThreadedOutput(serial_sink, "serial", config.serial.queue_size, close_s)
        except BaseException:
            for output in outputs.values():
                output.close()
            raise
        return outputs, serial_sink

    def _open_vehicle(self, config: Config) -> LiveCanVehicleSource | None:
        """Vehicle signals (speed, indicators, ACK) from the same CAN interface; without it
        every signal is unknown and unknown speed counts as moving (DESIGN.md)."""
        if not config.can.enabled:
            return None
        from driver_monitor.outputs.can_sink import open_bus

        try:
            bus = open_bus(config.can)
        except InputError as exc:
            wait = self._vehicle_backoff_s
            self._vehicle_retry_t = self.clock() + wait
            self._vehicle_backoff_s = min(2 * wait, config.can.reopen_backoff_max_s)
            log.error("vehicle signals unavailable: %s (speed unknown: treated as moving); retry in %.1f s",
                      exc, wait, extra={"rate_key": "vehicle-rx-open"})
            return None
        self._vehicle_retry_t = None
        self._vehicle_backoff_s = config.can.reopen_backoff_min_s
        return LiveCanVehicleSource(bus, config.vehicle, clock=self.clock)

    def _retry_vehicle(self) -> None:
        """A CAN interface that was missing at start (adapter unplugged, link down) is
        retried with backoff, so the vehicle signals come back without a restart."""
        if self._vehicle_retry_t is not None and self.clock() >= self._vehicle_retry_t:
            self.vehicle_source = self._open_vehicle(self.config)
            if self.vehicle_source is not None:
                log.info("vehicle signals: CAN %s %s open", self.config.can.interface, self.config.can.channel)

    def heartbeat_faults(self, consumer: str) -> frozenset[str]:
        """Fault bits for one output's heartbeat (vehicle.fields.FAULTS): the camera while
        its fault lasts; vehicle RX errors and output drops when new since that output's
        previous heartbeat (as replay's VehicleIo reports them)."""
        faults: set[str] = set()
        monitor = getattr(self, "monitor", None)
        if monitor is not None and monitor.active:
            faults.add("camera_fault")
        counters = {
            "vehicle_rx_errors": self.vehicle_source.errors if self.vehicle_source is not None else 0,
            "output_drops": sum(o.dropped for o in list(self.outputs.values())),
        }
        for name, count in counters.items():
            if count > self._seen_counts.get((consumer, name), 0):
                faults.add(name)
            self._seen_counts[(consumer, name)] = count
        return frozenset(faults)

    def vehicle_at(self, t: float) -> VehicleState | None:
        """The vehicle at t (None: nothing known: unknown speed counts as moving), with an
        ACK press from the serial board and a serial heart-rate sensor's reading merged in
        (a CAN heart rate, when there is one, wins: HeartRateSerialReader.apply)."""
        state = self.vehicle_source.state_at(t) if self.vehicle_source is not None else None
        if self.serial_sink is not None and self.serial_sink.take_ack():
            state = replace(state, driver_ack=True) if state is not None else VehicleState(t=t, driver_ack=True)
        if self.heart_rate_reader is not None:
            state = self.heart_rate_reader.apply(state if state is not None else VehicleState(t=t))
        return state

    def _open_heart_rate(self, config: Config) -> HeartRateSerialReader | None:
        """The serial heart-rate sensor of stress.external.serial_port, read in its own
        thread (it reopens the port with backoff by itself), or None when none is set."""
        external = config.stress.external
        if external.serial_port is None:
            return None
        log.info("heart-rate sensor: %s at %d baud", external.serial_port, external.serial_baudrate)
        return HeartRateSerialReader(external.serial_port, external.serial_baudrate, external.max_age_s, clock=self.clock)

    # ---- main ----------------------------------------------------------------------
    def run(self) -> int:
        self.config = self.load()  # ConfigError propagates: nothing started yet
        limiter = RepeatLimiter(self.config.service.log_repeat_max, self.config.service.log_repeat_window_s)
        handlers = logging.getLogger().handlers
        for h in handlers:
            h.addFilter(limiter)
        self.limiter = limiter
        self.state_dir = resolve_state_dir(self.state_dir_override or self.config.service.state_dir)
        tracker = self.tracker_factory(self.config)
        try:
            self.outputs, self.serial_sink = self._open_outputs(self.config)
            self._vehicle_backoff_s = self.config.can.reopen_backoff_min_s
            self.vehicle_source = self._open_vehicle(self.config)
            self.heart_rate_reader = self._open_heart_rate(self.config)
            self.pipeline = Pipeline(self.config, tracker, [EventLogSink(), *self.outputs.values()])
        except BaseException:
            tracker.close()
            for output in self.outputs.values():
                output.close()
            raise
        self.camera = CameraSource(self.config.camera.device, self.config.camera, clock=self.clock)
        self.camera.start()
        try:
            got_frame = False
            deadline = self.clock() + self.config.camera.open_timeout_s
            while not self._stop_requested.is_set() and self.clock() < deadline:
                got_frame = self.camera.wait_first_result(0.1)
                if got_frame or self.camera.status.fault is not None:
                    break
            if not got_frame and self.camera.status.fault is None:
                log.warning("camera %s: no frame within %.1f s of start", self.camera.source,
                            self.config.camera.open_timeout_s)
            self.monitor = CameraFaultMonitor(self.config.camera, self.clock())
            self.phase = "running"
            self._step(first=True)
            self.notifier.ready(self.status_text())
            log.info("running: camera %s, config %s", self.camera.source, self.config_path or "(packaged default)")
            self._loop()
        finally:
            self._shutdown()
        return 0

    def _loop(self) -> None:
        wd = watchdog_interval_s()
        next_ping = self.clock()
        next_state = self.clock() + self.config.service.state_interval_s
        frames_in_window = 0
        window_start = self.clock()
        while not self._stop_requested.is_set():
            if self._reload_requested:
                self._reload_requested = False
                self._reload()
            processed = self._step()
            frames_in_window += processed
            self._retry_vehicle()
            now = self.clock()
            if wd is not None and now >= next_ping:
                self.notifier.watchdog()
                next_ping = now + wd
            if now >= next_state:
                span = now - window_start
                if span > 0:
                    self.fps = frames_in_window / span
                frames_in_window = 0
                window_start = now
                self._publish()
                next_state = now + self.config.service.state_interval_s

    def _step(self, first: bool = False) -> int:
        """One loop turn: newest frame (or none within a short wait), camera faults, pipeline.
        Returns 1 if a frame went through the pipeline."""
        # Wait at most a fraction of a frame period so watchdog, reload and stop stay prompt
        # even when the camera is silent.
        frame = self.camera.latest(timeout=0.0 if first else min(0.1, 2 * self.camera.period_s))
        last_t = self.last_result.t if self.last_result is not None else -math.inf
        if frame is not None and frame.t <= last_t:
            frame = None  # captured before a result already sent: outputs need time order
        # Time from the data: the frame's capture time, or now when no frame came.
        t = frame.t if frame is not None else max(self.clock(), last_t)
        stats = None
        if frame is not None:
            stats = frame_stats(frame.image, self._previous_image)
            self._previous_image = frame.image
        vehicle = self.vehicle_at(t)
        events = self.monitor.update(
            t, stats, frame.t if frame is not None else None, self.camera.status.fault, self.camera.period_s
        )
        if events:
            for e in events:
                if e.phase == "start":
                    log.warning("camera fault: %s (%s)", e.detail.get("reason"), self._fault_text())
                else:
                    log.info("camera recovered after %.1f s", float(e.detail.get("duration_s", 0.0)))
            self.last_result = self.pipeline.emit(t, events, vehicle)
            self._publish()
        if frame is None or self.monitor.active:
            # No picture to judge, or one that cannot be trusted (frozen, dark, covered):
            # the detectors wait; camera_fault is what every output shows meanwhile.
            if self.monitor.active and self.last_result is not None and t - self.last_result.t >= FAULT_RESULT_PERIOD_S:
                self.last_result = self.pipeline.emit(t, [], vehicle)
            return 0
        self.last_result = self.pipeline.process(frame, vehicle)
        return 1

    # ---- reload --------------------------------------------------------------------
    def _reload(self) -> None:
        self.phase = "reloading"
        self.notifier.reloading("reloading config")
        log.info("SIGHUP: reloading %s", self.config_path or "(packaged default)")
        try:
            self._apply(self.load())
        except ConfigError as exc:
            self.reload_error = "; ".join(exc.problems)
            log.error("config reload failed, keeping the running config: %s", self.reload_error)
        except DriverMonitorError as exc:  # a valid file naming a model or DBC that fails to load
            self.reload_error = str(exc)
            log.error("config reload failed, keeping the running config: %s", self.reload_error)
        else:
            self.reload_error = None
            self.reloads += 1
            log.info("config reloaded (%d)", self.reloads)
        self.phase = "running"
        self.notifier.ready(self.status_text())
        self._publish()

    def _apply(self, new: Config) -> None:
        """Swap in a validated config. What can fail on a valid file (a face model or DBC
        that does not load) is built first; the running parts are only swapped after."""
        old = self.config
        tracker = self.tracker_factory(new) if new.perception != old.perception else None
        opened = None
        if (new.can, new.serial, new.service.shutdown_timeout_s) != (old.can, old.serial, old.service.shutdown_timeout_s):
            try:
                opened = self._open_outputs(new)
            except BaseException:
                if tracker is not None:
                    tracker.close()
                raise
        if tracker is not None:
            self.pipeline.tracker.close()
        closing = self.pipeline.reconfigure(new, tracker)
        if closing:
            self.last_result = self.pipeline.emit(self._now(), closing)
        if opened is not None:
            for output in self.outputs.values():
                output.close()
            self.outputs, self.serial_sink = opened
            self.pipeline.sinks = [s for s in self.pipeline.sinks if isinstance(s, EventLogSink)]
            self.pipeline.sinks += list(self.outputs.values())
        if (new.can, new.vehicle) != (old.can, old.vehicle):
            if self.vehicle_source is not None:
                self.vehicle_source.close()
            self._vehicle_retry_t = None
            self._vehicle_backoff_s = new.can.reopen_backoff_min_s
            self.vehicle_source = self._open_vehicle(new)
        if new.stress.external != old.stress.external:
            if self.heart_rate_reader is not None:
                self.heart_rate_reader.close()
            self.heart_rate_reader = self._open_heart_rate(new)
        if new.camera != old.camera:
            self.monitor.reconfigure(new.camera)
            if any(getattr(new.camera, f) != getattr(old.camera, f) for f in _CAMERA_OPEN_FIELDS):
                self.camera.stop()
                self._skipped_before += self.camera.skipped_frames  # counts survive a reopen
                self.camera = CameraSource(new.camera.device, new.camera, clock=self.clock)
                self.camera.start()
                self._previous_image = None
        if new.service != old.service:
            self.limiter.max_lines = new.service.log_repeat_max
            self.limiter.window_s = new.service.log_repeat_window_s
            self.state_dir = resolve_state_dir(self.state_dir_override or new.service.state_dir)
        self.config = new

    def _fault_text(self) -> str:
        """Why, in words, for the journal line of a camera fault."""
        if self.camera.status.fault_detail:
            return self.camera.status.fault_detail
        cfg = self.config.camera
        why = {
            "no_frame": f"no new frame for {cfg.no_frame_timeout_periods:g} frame periods",
            "frozen_image": f"identical frames for {cfg.frozen_frame_s:g} s",
            "dark_lens": f"mean brightness below {cfg.dark_lens_brightness:g} for {cfg.dark_lens_s:g} s",
            "covered_lens": f"no contrast (luma std below {cfg.covered_lens_contrast:g}) for {cfg.dark_lens_s:g} s",
        }
        return "; ".join(why.get(r, r) for r in sorted(self.monitor.reasons))

    def _now(self) -> float:
        """Now, but never before the last result handed to the outputs (time order)."""
        last_t = self.last_result.t if self.last_result is not None else -math.inf
        return max(self.clock(), last_t)

    # ---- status --------------------------------------------------------------------
    def driver_summary(self) -> tuple[bool, list[str]]:
        r = self.last_result
        if r is None:
            return False, []
        return r.state.face_present, sorted(r.state.active)

    def status_text(self) -> str:
        if self.phase in ("stopping", "stopped"):
            return f"{self.phase}: monitoring off"
        face, active = self.driver_summary()
        monitor = getattr(self, "monitor", None)
        if monitor is not None and monitor.active:
            camera = "FAULT " + ",".join(sorted(monitor.reasons))
        else:
            camera = "ok"
        text = f"{self.fps:.1f} fps; camera {camera}; face {'yes' if face else 'no'}; active: {', '.join(active) or 'none'}"
        if self.reload_error:
            text += f"; reload failed, running config kept: {self.reload_error}"
        return text

    def state(self) -> dict[str, Any]:
        face, active = self.driver_summary()
        return {
            "pid": os.getpid(),
            "phase": self.phase,
            "started_wall": self.started_wall,
            "updated_wall": time.time(),
            "camera_source": self.camera.source,
            "camera_open": self.camera.status.open,
            "camera_faults": sorted(self.monitor.reasons) if hasattr(self, "monitor") else [],
            "camera_fault_detail": self.camera.status.fault_detail,
            "camera_fps": self.camera.status.nominal_fps,
            "frames": self.pipeline.frames if hasattr(self, "pipeline") else 0,
            "skipped_frames": self._skipped_before + self.camera.skipped_frames,
            "fps": round(self.fps, 2),
            "face_present": face,
            "active": active,
            "config_path": str(self.config_path) if self.config_path else "(packaged default)",
            "reloads": self.reloads,
            "reload_error": self.reload_error,
            "status": self.status_text(),
            "outputs": {name: o.status().text() for name, o in self.outputs.items()},
            "vehicle_rx_errors": self.vehicle_source.errors if self.vehicle_source is not None else None,
        }

    def _publish(self) -> None:
        self.notifier.status(self.status_text())
        try:
            write_state(self.state_dir, self.state())
        except OSError as exc:
            log.warning("state file in %s not written (%s)", self.state_dir, exc.strerror,
                        extra={"rate_key": "state-file"})

    # ---- stop ----------------------------------------------------------------------
    def _shutdown(self) -> None:
        self.phase = "stopping"
        self.notifier.stopping(self.status_text())
        camera = getattr(self, "camera", None)
        if camera is not None:
            camera.stop(timeout=0.2)  # a grabber stuck in a V4L2 read is a daemon thread: left behind
        if self.heart_rate_reader is not None:
            self.heart_rate_reader.close()
        pipeline = getattr(self, "pipeline", None)
        if pipeline is None:
            self.notifier.close()
            return
        # The last word on every output: monitoring is off (the vehicle must not take the
        # silence for an attentive driver). Sent twice, one status period apart, so the
        # outputs' periodic status frames (due in input time, vehicle/schedule.py) carry it.
        off_t = self._now()
        off_policy = PolicyState(t=off_t, monitoring_active=False)
        vehicle = self.last_result.vehicle if self.last_result is not None else None

        def finish() -> None:
            try:
                pipeline.emit(off_t, [Event(off_t, "state", "monitoring_off", None, {"reason": "service stopping"})],
                              vehicle, off_policy)
                if self.outputs:
                    time.sleep(FAULT_RESULT_PERIOD_S)
                    t2 = max(self.clock(), off_t + FAULT_RESULT_PERIOD_S)
                    pipeline.emit(t2, [], vehicle, PolicyState(t=t2, monitoring_active=False))
                pipeline.finish()  # closes the outputs: each drains its queue, then flushes
            except Exception as exc:  # an output failing at exit must not turn exit 0 into a crash
                log.error("closing the outputs failed: %s", exc)
            if self.vehicle_source is not None:
                self.vehicle_source.close()

        closer = threading.Thread(target=finish, name="outputs-close", daemon=True)
        closer.start()
        closer.join(self.config.service.shutdown_timeout_s)
        if closer.is_alive():
            log.error("outputs did not close within %.1f s; exiting anyway", self.config.service.shutdown_timeout_s)
        pipeline.tracker.close()
        self.phase = "stopped"
        self._publish()
        self.notifier.close()
        log.info("stopped")


def run_daemon(
    config_path: str | Path | None,
    camera: str | None,
    state_dir: str | Path | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    exit_process: bool = True,
) -> int:
    """Run the daemon until SIGTERM / SIGINT. With `exit_process` the process ends right
    after the orderly shutdown (outputs closed, logs flushed) with os._exit: the interpreter's
    module teardown (MediaPipe pulls in matplotlib and more) takes 1-3 s on a loaded 2-core
    machine, which would break the 2 s stop budget and achieves nothing for a daemon."""
    daemon = Daemon(config_path, camera, state_dir, overrides=overrides)
    daemon.install_signal_handlers()
    rc = daemon.run()
    if exit_process:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(rc)
    return rc
