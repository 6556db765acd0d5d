"""The live daemon (`driver-monitor run`): camera -> the same Pipeline as replay -> outputs,
supervised by systemd (openpilot's dmonitoringd pattern: I/O around one logic object).

One frame loop in the main thread does what must happen in order: take the newest camera
frame, run it through the pipeline (camera health first), ping the watchdog (a stalled loop
trips it), publish STATUS and the state file, and swap in a prepared reload or stop between
two frames. Signal handlers only set flags; a reload is parsed off the loop (reload.py). The
sinks and vehicle inputs come from the one builder replay uses (assembly.py).

`record` is the same daemon with a RecordPlan (record.py): its clock counts from the start
on a 1 ms grid (the recording's time base), every processed frame goes to the recording
after the Pipeline (assembly's frame taps), a camera file is played once, and it stops
after the duration, at the file's end, on SIGINT / SIGTERM or when the recording fails.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from driver_monitor.assembly import Mode, RunIo, check_io_config
from driver_monitor.config import Config, load_config
from driver_monitor.config.overrides import with_overrides
from driver_monitor.config.root import config_warnings
from driver_monitor.early_signals import EarlySignals
from driver_monitor.errors import ConfigError, DriverMonitorError, ModelError, one_line
from driver_monitor.log_setup import RepeatLimiter
from driver_monitor.perception.camera_health import SourceStatus
from driver_monitor.perception.expression import build_expression_model
from driver_monitor.perception.tracker import FaceTracker, create_tracker
from driver_monitor.pipeline import BUILD, FAULT_RESULT_PERIOD_S, Pipeline
from driver_monitor.reload import KEEP, PreparedReload, Reloader, reload_error_text
from driver_monitor.runtime_state import DaemonStatus
from driver_monitor.sd_notify import Notifier, watchdog_interval_s
from driver_monitor.sources.camera import CameraSource
from driver_monitor.timebase import on_grid

log = logging.getLogger("driver_monitor.service")

TrackerFactory = Callable[[Config], FaceTracker]
# The lines that answer a SIGHUP pass the repeat limiter whatever came before (log_setup.py):
# an operator who sends a fourth reload within the window must still see how it went.
_ANSWER = {"rate_limit": False}
# "Monitoring off" goes out this many times, one status period apart, so the outputs'
# periodic status frames (due in input time, outputs/schedule.py) carry it twice.
_OFF_REPEATS = 2
# How long `record` may take to finish its files at the stop (the encoder's queue, the
# Parquet table of a long drive); a daemon has shutdown_timeout_s.
RECORD_CLOSE_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class RecordPlan:
    """What makes the daemon `record` (record.py): where, with or without pictures, how long."""

    out_dir: Path
    video: bool = True
    duration_s: float | None = None


def recording_clock(start: float | None = None) -> Callable[[], float]:
    """Seconds since `start` on a 1 ms grid: the recording's time base. Frame, CAN and
    heart-rate times are then exactly what the MKV pts, timestamps.csv and the logs store,
    so a replay sees the very times the live run used (docs/recording.md)."""
    t0 = time.monotonic() if start is None else start
    return lambda: on_grid(time.monotonic() - t0)


class Daemon:
    def __init__(self, config_path: str | Path | None = None, camera: str | None = None,
                 state_dir: str | Path | None = None, notifier: Notifier | None = None,
                 tracker_factory: TrackerFactory | None = None,
                 overrides: Mapping[str, Mapping[str, Any]] | None = None, clock: Callable[[], float] = time.monotonic,
                 record: RecordPlan | None = None, reporter: Callable[[Daemon], None] | None = None):
        """record: run as `record` (RecordPlan); reporter: called every state interval and at
        the end (record's progress line)."""
        self.config_path = Path(config_path) if config_path is not None else None
        self.record = record
        self.reporter = reporter
        self.stop_reason: str | None = None  # why the loop ended (record: duration, end of the file, ...)
        self.error: str | None = None  # a recording that failed, a camera that never opened
        self.notifier = notifier if notifier is not None else Notifier()
        self.tracker_factory = tracker_factory or (lambda c: create_tracker(c.perception))
        # Command-line settings (--camera, --can-interface, ...) win over the file on every
        # load, reloads included.
        self.overrides = {k: dict(v) for k, v in (overrides or {}).items()}
        if camera is not None:
            self.overrides.setdefault("camera", {})["device"] = camera
        self.clock = recording_clock() if record is not None and clock is time.monotonic else clock
        self.status = DaemonStatus(self.config_path, Path(state_dir) if state_dir is not None else None,
                                   write_file=record is None or state_dir is not None)
        self.reloader = Reloader(self._prepare_reload)
        self._stop_requested = threading.Event()
        self._reload_requested = False

    # ---- signals -------------------------------------------------------------------
    def request_stop(self, signum: object = None, *_: object) -> None:
        if self.stop_reason is None and isinstance(signum, int):
            self.stop_reason = signal.Signals(signum).name
        self._stop_requested.set()

    def request_reload(self, *_: object) -> None:
        if self.record is not None:
            # The recording's decisions must replay with the config in its run.yaml.
            log.warning("SIGHUP ignored while recording: a recording keeps the config it started with")
            return
        self._reload_requested = True

    def install_signal_handlers(self, early: EarlySignals | None = None) -> None:
        """The daemon's handlers; `early`: what arrived while it was starting (early_signals.py)
        is acted on as if it came now."""
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGHUP, self.request_reload)
        for signum in early.received if early is not None else ():
            if signum == signal.SIGHUP:
                self.request_reload()
            else:
                self.request_stop(signum)

    def load(self) -> Config:
        """The config file with the command line's overrides, checked as `check-config` checks
        it: the schema, then the DBC files and the vehicle signal mapping, whether or not CAN
        is on now (a config the daemon accepts must not fail later, when CAN is switched on),
        and the event clips' disk quota. ConfigError with one line per problem."""
        config = with_overrides(load_config(self.config_path), self.overrides)
        check_io_config(config)
        return config

    # ---- main ----------------------------------------------------------------------
    def run(self) -> int:
        self.config = self.load()  # ConfigError propagates: nothing started yet
        for problem in config_warnings(self.config):
            log.warning("%s", problem)
        self.limiter = RepeatLimiter(self.config.service.log_repeat_max, self.config.service.log_repeat_window_s).install()
        self.status.configure(self.config, self.status.take_lock(self.config))  # InputError: another daemon's directory
        tracker = self._open_tracker()
        try:
            self.io = self._open_io()
        except BaseException:
            tracker.close()
            raise
        self.pipeline = Pipeline(self.config, tracker, self.io.sinks)
        self.camera = CameraSource(self.config.camera.device, self.config.camera, clock=self.clock,
                                   loop=self.record is None)  # a file is recorded once
        camera_start_t = self.clock()
        self.camera.start()
        try:  # from here on, every exit goes through the orderly stop
            started = self.camera.wait_started(self.config.camera.open_timeout_s, self._stop_requested)
            if not started:
                # Nothing within the open wait: the silence counts from the camera's start, so
                # READY already says no_frame (with its onset then), not "camera ok" and a
                # fault a second later dated at READY.
                self.pipeline.camera_health.start(camera_start_t)
            if self.record is not None and not started and not self._stop_requested.is_set():
                status = self.camera.status
                why = status.fault_detail or f"{self.camera.source}: no frame within {self.config.camera.open_timeout_s:g} s"
                self.error = f"{why} (the camera cannot be opened; nothing recorded)"
                return 1
            self.status.phase = "running"
            self._step(first=True)
            self.notifier.ready(self.status.text(self.pipeline))
            log.info("%s: camera %s, config %s", "recording" if self.record else "running", self.camera.source,
                     self.status.config_name)
            self._loop()
        finally:
            self._shutdown()
        return 1 if self.error is not None else 0

    def _open_io(self) -> RunIo:
        if self.record is None:
            return RunIo.open(self.config, Mode.RUN, clock=self.clock)
        from driver_monitor.provenance import run_provenance

        camera = self.config.camera.device
        extra = {"camera": {"source": camera, "video": self.record.video, "codec": self.config.recording.codec.value}}
        provenance = run_provenance("record", self.config, None, self.config_path, extra)
        return RunIo.open(self.config, Mode.RECORD, self.record.out_dir, provenance=provenance, clock=self.clock,
                          video=self.record.video)

    def _loop(self) -> None:
        wd = watchdog_interval_s()
        next_ping = self.clock()
        self.status.count_fps(self.pipeline.frames, next_ping)  # the first window starts now
        next_state = self.clock() + self.config.service.state_interval_s
        while not self._stop_requested.is_set() and not self._should_stop():
            if self._reload_requested:
                self._reload_requested, self.status.phase = False, "reloading"
                self.notifier.reloading("reloading config")
                log.info("SIGHUP: reloading %s", self.status.config_name, extra=_ANSWER)
                self.reloader.start()
            prepared = self.reloader.take()
            if prepared is not None:
                self._finish_reload(prepared)
            self._step()
            self.limiter.flush()  # a line held back when its window ends: a fault's end too
            now = self.clock()
            if wd is not None and now >= next_ping:
                self.notifier.watchdog()
                next_ping = now + wd
            if now >= next_state:
                self.status.count_fps(self.pipeline.frames, now)
                self._publish()
                if self.reporter is not None:
                    self.reporter(self)
                next_state = now + self.config.service.state_interval_s

    def _recorded_s(self) -> float:
        """Seconds since the first recorded frame (0 before it)."""
        recording = self.io.recording
        first_t = recording.first_t if recording is not None else None
        return self.clock() - first_t if first_t is not None else 0.0

    def _should_stop(self) -> bool:
        """record: a recording that failed, the duration reached, the camera file played."""
        if self.record is None:
            return False
        error = self.io.stop_reason()
        if error is not None:
            self.error, self.stop_reason = error, "the recording failed"
        elif self._recorded_s() >= (self.record.duration_s if self.record.duration_s is not None else math.inf):
            self.stop_reason = "duration reached"
        elif self.camera.exhausted():
            self.stop_reason = "end of the video"
        return self.stop_reason is not None

    def _step(self, first: bool = False) -> None:
        """One loop turn: the newest frame (or none within a short wait) through the pipeline,
        camera health first. The wait is a fraction of a frame period, so watchdog, reload
        and stop stay prompt even when the camera is silent."""
        try:
            frame = self.camera.latest(timeout=0.0 if first else min(0.1, 2 * self.camera.period_s))
        except Exception as exc:  # noqa: BLE001 - a picture no stage can read: that frame, not the daemon
            # (perception/picture.py PictureError: a camera handing 2-channel YUYV or another
            # type of pixels.) Counted and said as a frame error; the turn goes on without a
            # frame, so a camera that hands nothing usable becomes camera_fault no_frame.
            self.status.frame_errors += 1
            log.error("camera frame not usable: %s: %s", exc.__class__.__name__, one_line(exc),
                      extra={"rate_key": "frame-error"})
            frame = None
        last = self.pipeline.last_result
        last_t = last.t if last is not None else -math.inf
        if frame is not None and frame.t <= last_t:
            frame = None  # captured before a result already sent: outputs need time order
        t = frame.t if frame is not None else max(self.clock(), last_t)  # time from the data
        active_before = set(self.pipeline.active)
        status = self.camera.status
        camera = SourceStatus(status.fault, status.fault_detail, self.camera.period_s)
        # A serial ACK press stays in the vehicle state until a result has taken it to the
        # policy: an idle turn during a camera fault hands none (see Pipeline.idle).
        vehicle = self.io.vehicle.at(t, hold_ack=True)
        try:
            if frame is None:
                result = self.pipeline.idle(t, vehicle, camera)
            else:
                started = time.perf_counter()
                result = self.pipeline.process(frame, vehicle, camera)
                self.status.frame_times.add(time.perf_counter() - started)
        except Exception as exc:  # noqa: BLE001 - what nothing foresaw: that frame, not the daemon
            # A stage that raises (a bug, a value no check caught) costs this frame, said in one
            # rate-limited line and counted in the state file; the loop, the watchdog and the
            # outputs' periodic frames go on, and the next frame is judged afresh.
            self.status.frame_errors += 1
            log.error("frame at t=%.3f not processed: %s: %s", t, exc.__class__.__name__, one_line(exc),
                      extra={"rate_key": "frame-error"})
            return
        if result is not None:
            self.io.vehicle.ack_used(result.t)
        if frame is not None:
            for tap in self.io.frame_taps:  # the recording / the event clips' ring: after the Pipeline
                tap.frame(frame, self.camera.period_s)
        if self.pipeline.active != active_before:
            self._publish()  # a state change reaches STATUS= and the state file at once

    def _open_tracker(self) -> FaceTracker:
        """The config's face tracker. A user's model bundle (perception.model_path) that cannot
        be loaded (missing, truncated, models of other shapes) costs that model, never the
        monitoring: one error line, and the packaged model (checked against its sha256) runs
        instead, which the config the daemon reports and records (model_path none) says. A
        daemon that exits here is restarted by systemd into the same failure: a car without
        driver monitoring. The packaged model failing too is the install's fault: it exits."""
        try:
            return self.tracker_factory(self.config)
        except ModelError as exc:
            if self.config.perception.model_path is None:
                raise
            log.error("%s (perception.model_path): monitoring with the packaged face model instead", one_line(exc))
            perception = self.config.perception.model_copy(update={"model_path": None})
            self.config = self.config.model_copy(update={"perception": perception})
            return self.tracker_factory(self.config)

    # ---- reload (prepared off the loop, swapped in between frames) ----------------
    def _prepare_reload(self) -> PreparedReload:  # runs on the reload thread
        old, new = self.config, self.load()
        tracker = self.tracker_factory(new) if new.perception != old.perception else None
        outputs = None
        try:
            # Built here, not in Pipeline.reconfigure on the loop: a missing or bad model file
            # is this reload's error (it stopped the daemon), a slow load no watchdog stall.
            expression = (build_expression_model(new.stress.expression_model)
                          if new.stress.expression_model != old.stress.expression_model else KEEP)
            changed = (new.can, new.serial, new.service.shutdown_timeout_s) != (old.can, old.serial, old.service.shutdown_timeout_s)
            outputs = self.io.open_outputs(new) if changed else None
            # Last: nothing after it can fail and leave the new directory locked for nobody.
            state_lock = self.status.take_lock(new)
        except BaseException:
            if tracker is not None:
                tracker.close()
            for output in (outputs or {}).values():
                output.close()
            raise
        return PreparedReload(new, tracker, outputs, state_lock, expression)

    def _finish_reload(self, prepared: PreparedReload | BaseException) -> None:
        if isinstance(prepared, BaseException):
            self.status.reload_error = reload_error_text(prepared)
            log.error("config reload failed, keeping the running config: %s", self.status.reload_error, extra=_ANSWER)
        else:
            self._apply(prepared)
            self.status.reload_error = None
            self.status.reloads += 1
            log.info("config reloaded (%d)", self.status.reloads, extra=_ANSWER)
            for problem in config_warnings(prepared.config):  # as at the start
                log.warning("%s", problem, extra=_ANSWER)
        self.status.phase = "running"
        self.notifier.ready(self.status.text(self.pipeline))
        self._publish()
        self.reloader.start_pending()

    def _apply(self, p: PreparedReload) -> None:
        old, new = self.config, p.config
        old_tracker = self.pipeline.tracker
        closing = self.pipeline.reconfigure(new, p.tracker, BUILD if p.expression is KEEP else p.expression)
        if p.tracker is not None:
            old_tracker.close()
        if closing:
            self.pipeline.emit(self._now(), closing)
        if p.outputs is not None:
            self.io.replace_outputs(p.outputs, retire=True)  # the old ones drain on a thread of their own
            self.pipeline.sinks = self.io.sinks
        # The DBC and mapping were checked by load(); a file changed on disk since then
        # leaves that input off, with one line, rather than stopping the daemon.
        if (new.can, new.vehicle) != (old.can, old.vehicle):
            self._reopen_input("vehicle CAN input", self.io.reopen_can_input, new)
        if new.stress.external != old.stress.external:
            self._reopen_input("heart-rate sensor", self.io.reopen_heart_rate, new)
        if new.recording != old.recording:
            self._reopen_event_clips(new)
        if new.camera.capture_mode() != old.camera.capture_mode():
            self.camera = self.camera.reopened(new.camera)
            self.pipeline.camera_health.reset_picture()
        self.limiter.max_lines, self.limiter.window_s = new.service.log_repeat_max, new.service.log_repeat_window_s
        self.status.configure(new, p.state_lock)
        self.config = new

    @staticmethod
    def _reopen_input(what: str, reopen: Callable[[Config], None], new: Config) -> None:
        try:
            reopen(new)
        except DriverMonitorError as exc:
            log.error("%s off: %s", what, "; ".join(exc.problems) if isinstance(exc, ConfigError) else exc)

    def _reopen_event_clips(self, new: Config) -> None:
        try:
            self.io.open_event_clips(new)
        except DriverMonitorError as exc:  # the directory went away: monitoring goes on without clips
            log.error("event clips off: %s", "; ".join(exc.problems) if isinstance(exc, ConfigError) else exc)
        self.pipeline.sinks = self.io.sinks

    def _now(self) -> float:
        """Now, but never before the last result handed to the outputs (time order)."""
        last = self.pipeline.last_result
        return max(self.clock(), last.t if last is not None else -math.inf)

    def _publish(self) -> None:
        # The state file first: whoever sees the STATUS= line (systemctl status, a supervisor)
        # and then reads state.json / `driver-monitor status` finds the same state there.
        # (STATUS= first, a loaded CI machine read a state file without the driver_absent
        # that STATUS= already showed.)
        self.status.write(self.pipeline, self.camera, self.io)
        self.notifier.status(self.status.text(self.pipeline))

    # ---- stop ----------------------------------------------------------------------
    def _shutdown(self) -> None:
        self.status.phase = "stopping"
        pipeline = self.pipeline
        self.notifier.stopping(self.status.text(pipeline))
        self.camera.stop(timeout=0.2)  # a grabber stuck in a V4L2 read is a daemon thread: left behind
        last = pipeline.last_result
        # A recording ends with its last result: what was open closes there, as a replay's
        # end of input does (a daemon's stop is now).
        off_t = last.t if self.record is not None and last is not None else self._now()
        vehicle = last.vehicle if last is not None else None
        reason = "service stopping" if self.record is None else f"recording stopped: {self.stop_reason or 'stopped'}"

        timeout_s = self.config.service.shutdown_timeout_s if self.record is None else RECORD_CLOSE_TIMEOUT_S
        # One status period of the slowest periodic output apart, so each of them sends "off"
        # at least twice (a serial status every 0.5 s too), but all of it within half the
        # stop budget: the rest is for draining and closing the outputs.
        off_period_s = min(self.io.status_period_s(FAULT_RESULT_PERIOD_S), 0.5 * timeout_s / _OFF_REPEATS)

        def finish() -> None:
            try:
                pipeline.monitoring_off(off_t, vehicle, reason)
                for k in range(1, _OFF_REPEATS + 1) if self.io.outputs else ():
                    time.sleep(off_period_s)
                    pipeline.monitoring_off(max(self.clock(), off_t + k * off_period_s), vehicle)
                pipeline.finish()  # closes the outputs: each drains its queue, then flushes
            except Exception as exc:  # an output failing at exit must not turn exit 0 into a crash
                log.error("closing the outputs failed: %s", exc)
            self.io.close()
            self.io.close_recording({"stopped": self.stop_reason or "stopped", "dropped_frames": self.camera.skipped_frames})

        closer = threading.Thread(target=finish, name="outputs-close", daemon=True)
        closer.start()
        closer.join(timeout_s)
        if closer.is_alive():
            log.error("outputs did not close within %.1f s; exiting anyway", timeout_s)
        if self.record is not None and self.error is None:
            self.error = self.io.stop_reason()  # a file that failed while closing (a full disk)
        if self.reporter is not None:
            self.reporter(self)
        pipeline.tracker.close()
        self.limiter.flush(stop=True)  # the journal's last word on each kind of line is its latest
        self.status.phase = "stopped"
        self._publish()
        if self.status.lock is not None:
            self.status.lock.release()  # the directory is free for the next daemon
        self.notifier.close()
        log.info("stopped")


def run_daemon(config_path: str | Path | None, camera: str | None, state_dir: str | Path | None = None,
               overrides: Mapping[str, Mapping[str, Any]] | None = None, exit_process: bool = True,
               early: EarlySignals | None = None) -> int:
    """Run the daemon until SIGTERM / SIGINT, then (exit_process) end with os._exit: module
    teardown (MediaPipe pulls in matplotlib) takes 1-3 s on a loaded 2-core machine, which
    would break the 2 s stop budget and achieves nothing for a daemon."""
    daemon = Daemon(config_path, camera, state_dir, overrides=overrides)
    daemon.install_signal_handlers(early)
    rc = daemon.run()
    if exit_process:
        logging.shutdown()  # flushes stderr (the journal)
        os._exit(rc)
    return rc
