"""The live daemon (`driver-monitor run`): camera -> the same Pipeline as replay -> outputs,
supervised by systemd (openpilot's dmonitoringd pattern: I/O around one logic object).

One frame loop in the main thread does what must happen in order: take the newest camera
frame, run it through the pipeline (camera health first), ping the watchdog (a stalled loop
trips it), publish STATUS and the state file, and swap in a prepared reload or stop between
two frames. Signal handlers only set flags; a reload is parsed off the loop (reload.py). The
sinks and vehicle inputs come from the one builder replay uses (assembly.py).
"""

from __future__ import annotations

import logging
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from driver_monitor.assembly import Mode, RunIo
from driver_monitor.config import Config, load_config
from driver_monitor.config.overrides import with_overrides
from driver_monitor.log_setup import RepeatLimiter
from driver_monitor.perception.camera_health import SourceStatus
from driver_monitor.perception.tracker import FaceTracker, create_tracker
from driver_monitor.pipeline import FAULT_RESULT_PERIOD_S, Pipeline
from driver_monitor.reload import PreparedReload, Reloader, reload_error_text
from driver_monitor.runtime_state import DaemonStatus
from driver_monitor.sd_notify import Notifier, watchdog_interval_s
from driver_monitor.sources.camera import CameraSource

log = logging.getLogger("driver_monitor.service")

TrackerFactory = Callable[[Config], FaceTracker]
# "Monitoring off" goes out this many times, one status period apart, so the outputs'
# periodic status frames (due in input time, outputs/schedule.py) carry it twice.
_OFF_REPEATS = 2


class Daemon:
    def __init__(self, config_path: str | Path | None = None, camera: str | None = None,
                 state_dir: str | Path | None = None, notifier: Notifier | None = None,
                 tracker_factory: TrackerFactory | None = None,
                 overrides: Mapping[str, Mapping[str, Any]] | None = None, clock: Callable[[], float] = time.monotonic):
        self.config_path = Path(config_path) if config_path is not None else None
        self.notifier = notifier if notifier is not None else Notifier()
        self.tracker_factory = tracker_factory or (lambda c: create_tracker(c.perception))
        # Command-line settings (--camera, --can-interface, ...) win over the file on every
        # load, reloads included.
        self.overrides = {k: dict(v) for k, v in (overrides or {}).items()}
        if camera is not None:
            self.overrides.setdefault("camera", {})["device"] = camera
        self.clock = clock
        self.status = DaemonStatus(self.config_path, Path(state_dir) if state_dir is not None else None)
        self.reloader = Reloader(self._prepare_reload)
        self._stop_requested = threading.Event()
        self._reload_requested = False

    # ---- signals -------------------------------------------------------------------
    def request_stop(self, *_: object) -> None:
        self._stop_requested.set()

    def request_reload(self, *_: object) -> None:
        self._reload_requested = True

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGHUP, self.request_reload)

    def load(self) -> Config:
        return with_overrides(load_config(self.config_path), self.overrides)

    # ---- main ----------------------------------------------------------------------
    def run(self) -> int:
        self.config = self.load()  # ConfigError propagates: nothing started yet
        self.limiter = RepeatLimiter(self.config.service.log_repeat_max, self.config.service.log_repeat_window_s).install()
        self.status.configure(self.config)
        tracker = self.tracker_factory(self.config)
        try:
            self.io = RunIo.open(self.config, Mode.RUN, clock=self.clock)
        except BaseException:
            tracker.close()
            raise
        self.pipeline = Pipeline(self.config, tracker, self.io.sinks)
        self.camera = CameraSource(self.config.camera.device, self.config.camera, clock=self.clock)
        self.camera.start()
        try:  # from here on, every exit goes through the orderly stop
            self.camera.wait_started(self.config.camera.open_timeout_s, self._stop_requested)
            self.status.phase = "running"
            self._step(first=True)
            self.notifier.ready(self.status.text(self.pipeline))
            log.info("running: camera %s, config %s", self.camera.source, self.status.config_name)
            self._loop()
        finally:
            self._shutdown()
        return 0

    def _loop(self) -> None:
        wd = watchdog_interval_s()
        next_ping = self.clock()
        self.status.count_fps(self.pipeline.frames, next_ping)  # the first window starts now
        next_state = self.clock() + self.config.service.state_interval_s
        while not self._stop_requested.is_set():
            if self._reload_requested:
                self._reload_requested, self.status.phase = False, "reloading"
                self.notifier.reloading("reloading config")
                log.info("SIGHUP: reloading %s", self.status.config_name)
                self.reloader.start()
            prepared = self.reloader.take()
            if prepared is not None:
                self._finish_reload(prepared)
            self._step()
            now = self.clock()
            if wd is not None and now >= next_ping:
                self.notifier.watchdog()
                next_ping = now + wd
            if now >= next_state:
                self.status.count_fps(self.pipeline.frames, now)
                self._publish()
                next_state = now + self.config.service.state_interval_s

    def _step(self, first: bool = False) -> None:
        """One loop turn: the newest frame (or none within a short wait) through the pipeline,
        camera health first. The wait is a fraction of a frame period, so watchdog, reload
        and stop stay prompt even when the camera is silent."""
        frame = self.camera.latest(timeout=0.0 if first else min(0.1, 2 * self.camera.period_s))
        last = self.pipeline.last_result
        last_t = last.t if last is not None else -math.inf
        if frame is not None and frame.t <= last_t:
            frame = None  # captured before a result already sent: outputs need time order
        t = frame.t if frame is not None else max(self.clock(), last_t)  # time from the data
        active_before = set(self.pipeline.active)
        status = self.camera.status
        camera = SourceStatus(status.fault, status.fault_detail, self.camera.period_s)
        vehicle = self.io.vehicle.at(t)
        if frame is None:
            self.pipeline.idle(t, vehicle, camera)
        else:
            started = time.perf_counter()
            self.pipeline.process(frame, vehicle, camera)
            self.status.frame_times.add(time.perf_counter() - started)
        if self.pipeline.active != active_before:
            self._publish()  # a state change reaches STATUS= and the state file at once

    # ---- reload (prepared off the loop, swapped in between frames) ----------------
    def _prepare_reload(self) -> PreparedReload:  # runs on the reload thread
        old, new = self.config, self.load()
        tracker = self.tracker_factory(new) if new.perception != old.perception else None
        try:
            changed = (new.can, new.serial, new.service.shutdown_timeout_s) != (old.can, old.serial, old.service.shutdown_timeout_s)
            outputs = self.io.open_outputs(new) if changed else None
        except BaseException:
            if tracker is not None:
                tracker.close()
            raise
        return PreparedReload(new, tracker, outputs)

    def _finish_reload(self, prepared: PreparedReload | BaseException) -> None:
        if isinstance(prepared, BaseException):
            self.status.reload_error = reload_error_text(prepared)
            log.error("config reload failed, keeping the running config: %s", self.status.reload_error)
        else:
            self._apply(prepared)
            self.status.reload_error = None
            self.status.reloads += 1
            log.info("config reloaded (%d)", self.status.reloads)
        self.status.phase = "running"
        self.notifier.ready(self.status.text(self.pipeline))
        self._publish()
        self.reloader.start_pending()

    def _apply(self, p: PreparedReload) -> None:
        old, new = self.config, p.config
        old_tracker = self.pipeline.tracker
        closing = self.pipeline.reconfigure(new, p.tracker)
        if p.tracker is not None:
            old_tracker.close()
        if closing:
            self.pipeline.emit(self._now(), closing)
        if p.outputs is not None:
            self.io.replace_outputs(p.outputs, retire=True)  # the old ones drain on a thread of their own
            self.pipeline.sinks = self.io.sinks
        if (new.can, new.vehicle) != (old.can, old.vehicle):
            self.io.reopen_can_input(new)
        if new.stress.external != old.stress.external:
            self.io.reopen_heart_rate(new)
        if new.camera.capture_mode() != old.camera.capture_mode():
            self.camera = self.camera.reopened(new.camera)
            self.pipeline.camera_health.reset_picture()
        self.limiter.max_lines, self.limiter.window_s = new.service.log_repeat_max, new.service.log_repeat_window_s
        self.status.configure(new)
        self.config = new

    def _now(self) -> float:
        """Now, but never before the last result handed to the outputs (time order)."""
        last = self.pipeline.last_result
        return max(self.clock(), last.t if last is not None else -math.inf)

    def _publish(self) -> None:
        self.notifier.status(self.status.text(self.pipeline))
        self.status.write(self.pipeline, self.camera, self.io)

    # ---- stop ----------------------------------------------------------------------
    def _shutdown(self) -> None:
        self.status.phase = "stopping"
        pipeline = self.pipeline
        self.notifier.stopping(self.status.text(pipeline))
        self.camera.stop(timeout=0.2)  # a grabber stuck in a V4L2 read is a daemon thread: left behind
        off_t = self._now()
        vehicle = pipeline.last_result.vehicle if pipeline.last_result is not None else None

        def finish() -> None:
            try:
                pipeline.monitoring_off(off_t, vehicle, "service stopping")
                for k in range(1, _OFF_REPEATS + 1) if self.io.outputs else ():
                    time.sleep(FAULT_RESULT_PERIOD_S)
                    pipeline.monitoring_off(max(self.clock(), off_t + k * FAULT_RESULT_PERIOD_S), vehicle)
                pipeline.finish()  # closes the outputs: each drains its queue, then flushes
            except Exception as exc:  # an output failing at exit must not turn exit 0 into a crash
                log.error("closing the outputs failed: %s", exc)
            self.io.close()

        closer = threading.Thread(target=finish, name="outputs-close", daemon=True)
        closer.start()
        closer.join(self.config.service.shutdown_timeout_s)
        if closer.is_alive():
            log.error("outputs did not close within %.1f s; exiting anyway", self.config.service.shutdown_timeout_s)
        pipeline.tracker.close()
        self.status.phase = "stopped"
        self._publish()
        self.notifier.close()
        log.info("stopped")


def run_daemon(config_path: str | Path | None, camera: str | None, state_dir: str | Path | None = None,
               overrides: Mapping[str, Mapping[str, Any]] | None = None, exit_process: bool = True) -> int:
    """Run the daemon until SIGTERM / SIGINT, then (exit_process) end with os._exit: module
    teardown (MediaPipe pulls in matplotlib) takes 1-3 s on a loaded 2-core machine, which
    would break the 2 s stop budget and achieves nothing for a daemon."""
    daemon = Daemon(config_path, camera, state_dir, overrides=overrides)
    daemon.install_signal_handlers()
    rc = daemon.run()
    if exit_process:
        logging.shutdown()  # flushes stderr (the journal)
        os._exit(rc)
    return rc
