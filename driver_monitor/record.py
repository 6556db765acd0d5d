"""`driver-monitor record`: a monitored drive that is also a recording (docs/recording.md).

The live daemon (service.py) with a RecordPlan: the same camera loop, Pipeline, outputs and
signals as `run`; its frames, CAN frames and heart-rate lines go to DIR as it processes them,
its decisions to DIR/events.jsonl and DIR/features.parquet. This module prepares DIR, shows
progress on a terminal, and says in the end what was recorded and why it stopped.

Whatever stops it (--duration, the end of a camera file, Ctrl-C, SIGTERM, a full disk, a
kill), DIR is a recording `replay` reads up to its last complete frame (a landmarks-only one:
`replay --features` reads its table, after a kill from the parts spilled every few seconds,
outputs/feature_table.py); a stop before the first frame leaves no directory behind.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from driver_monitor.early_signals import EarlySignals
from driver_monitor.errors import DriverMonitorError, InputError
from driver_monitor.recording.files import make_private_dir
from driver_monitor.service import Daemon, RecordPlan

if TYPE_CHECKING:
    from driver_monitor.recording.live import LiveRecording

log = logging.getLogger(__name__)


@dataclass
class RecordSummary:
    out_dir: Path
    frames: int = 0  # processed by the pipeline = in the recording
    on_disk: int = 0  # in the recording as a reader finds it
    skipped: int = 0  # frames the camera delivered that the loop never took
    duration_s: float = 0.0
    bytes_written: int = 0
    video: str = ""
    can_frames: int | None = None
    heart_rate: bool = False
    landmarks_only: bool = False  # record --no-video: no frames, only the per-frame table
    event_counts: dict[str, int] = field(default_factory=dict)
    action_counts: dict[str, int] = field(default_factory=dict)
    stopped: str = ""
    error: str | None = None

    def text(self) -> str:
        per_min = self.bytes_written / 1e6 / (self.duration_s / 60.0) if self.duration_s > 0 else 0.0
        state = "complete" if self.error is None else f"readable up to frame {self.on_disk}"
        lines = [
            f"recorded {self.out_dir} ({state})",
            f"  frames        {self._frames_text()} ({self.duration_s:.1f} s), {self.skipped} skipped by the camera loop",
            f"  written       {self.bytes_written / 1e6:.1f} MB ({per_min:.1f} MB per minute){self.video}",
        ]
        if self.can_frames is not None:
            lines.append(f"  CAN           can.blf: {self.can_frames} frames")
        if self.heart_rate:
            lines.append("  heart rate    heart_rate.csv: the serial sensor's lines")
        lines += [
            f"  events        {_counts(self.event_counts)}",
            f"  actions       {_counts(self.action_counts)}",
            f"  stopped       {self.stopped}",
            # A landmarks-only recording has no frames to replay: its table is replayed instead.
            f"  replay        driver-monitor replay {'--features ' if self.landmarks_only else ''}{self.out_dir} "
            f"--config {self.out_dir / 'config.yaml'}",
        ]
        return "\n".join(lines)

    def _frames_text(self) -> str:
        if self.on_disk == self.frames:
            return f"{self.frames} processed and recorded"
        return f"{self.frames} processed, {self.on_disk} in the recording"


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in sorted(counts.items())) or "none"


class Progress:
    """One line on a terminal, rewritten in place: elapsed, frames, drops, MB written."""

    def __init__(self, out: TextIO, enabled: bool | None):
        self.out = out
        self.enabled = out.isatty() if enabled is None else enabled
        self._shown = False

    def __call__(self, daemon: Daemon) -> None:
        if not self.enabled:
            return
        rec = daemon.io.recording
        written = rec.bytes_written() / 1e6 if rec is not None else 0.0
        phase = daemon.status.phase
        line = (f"\r{'recording' if phase == 'running' else phase:9}  {daemon.clock():7.1f} s  "
                f"frames {daemon.pipeline.frames_seen}  dropped {daemon.camera.skipped_frames}  {written:.1f} MB ")
        self.out.write(line)
        self.out.flush()
        self._shown = True

    def end(self) -> None:
        if self._shown:
            self.out.write("\n")
            self.out.flush()


def prepare_out_dir(out_dir: Path) -> bool:
    """DIR must be new or empty (a recording is never overwritten) and writable; made 0700.
    Returns whether this call created it."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: exists and is not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        raise InputError(f"{out_dir}: exists and is not empty (a recording is never overwritten: name a new directory)")
    created = not out_dir.exists()
    try:
        make_private_dir(out_dir)
        probe = out_dir / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        if created:
            with contextlib.suppress(OSError):
                out_dir.rmdir()
        raise InputError(f"{out_dir}: cannot write the recording there ({exc.strerror})") from None
    return created


def remove_recording(out_dir: Path, created: bool) -> None:
    """Nothing was recorded: leave no directory replay could not read."""
    if created:
        shutil.rmtree(out_dir, ignore_errors=True)
    else:  # an empty directory the user made: empty it again
        for entry in out_dir.iterdir():
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)


def record(camera: str, out_dir: str | Path, config_path: str | Path | None = None,
           overrides: Mapping[str, Mapping[str, Any]] | None = None, duration_s: float | None = None,
           video: bool = True, progress: bool | None = None, state_dir: str | Path | None = None,
           install_signals: bool = True, early: EarlySignals | None = None) -> RecordSummary:
    """Record until the duration, the end of a camera file, SIGINT / SIGTERM or a failure.
    Raises InputError / ConfigError when nothing could be recorded (the directory is then
    removed); returns the summary otherwise, with `error` set when the recording stopped on a
    failure (the directory stays readable up to its last complete frame)."""
    out_dir = Path(out_dir)
    created = prepare_out_dir(out_dir)
    bar = Progress(sys.stderr, progress)
    daemon = Daemon(config_path, camera, state_dir, overrides=overrides,
                    record=RecordPlan(out_dir, video, duration_s), reporter=bar)
    if install_signals:
        daemon.install_signal_handlers(early)
    try:
        daemon.run()
    except DriverMonitorError:
        remove_recording(out_dir, created)
        raise
    except OSError as exc:  # the directory's first files could not be written (a full disk)
        remove_recording(out_dir, created)
        raise InputError(f"{out_dir}: cannot write the recording ({exc.strerror or exc}; nothing recorded)") from None
    finally:
        bar.end()
    summary = _summary(daemon, out_dir)
    if summary.on_disk == 0:
        remove_recording(out_dir, created)
        raise InputError(summary.error or f"{camera}: no frame was recorded ({summary.stopped}); nothing kept")
    return summary


def _summary(daemon: Daemon, out_dir: Path) -> RecordSummary:
    rec: LiveRecording | None = getattr(daemon, "io", None) and daemon.io.recording
    pipeline = getattr(daemon, "pipeline", None)
    summary = RecordSummary(out_dir, error=daemon.error, stopped=daemon.stop_reason or "stopped")
    if pipeline is not None:
        summary.event_counts = dict(pipeline.event_counts)
        summary.action_counts = dict(pipeline.action_counts)
    if rec is not None:
        summary.frames = rec.frames
        summary.on_disk = rec.frames_on_disk
        summary.bytes_written = rec.bytes_written()
        summary.duration_s = rec.duration_s
        if rec.video and rec.width:
            fps = f" at {rec.camera_fps:g} fps" if rec.camera_fps else ""
            summary.video = f"; video.mkv {rec.codec} {rec.width}x{rec.height}{fps}"
        elif not rec.video:
            summary.video = "; no video (landmarks only)"
            summary.landmarks_only = True
        summary.can_frames = rec.can_log.frames if rec.can_log is not None else None
        summary.heart_rate = rec.has_heart_rate_log
    if getattr(daemon, "camera", None) is not None:
        summary.skipped = daemon.camera.skipped_frames
    return summary


def exit_now(code: int) -> None:
    """End the process at once (as `run` does): MediaPipe's module teardown takes seconds and
    achieves nothing after the files are closed."""
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)
