"""Replay a video file or a recording directory through the Pipeline, as fast as possible.

Writes DIR/events.jsonl and DIR/features.csv|parquet. Whatever was processed before an
input error is flushed to the outputs before the error is reported.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import closing, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from driver_monitor.config import Config
from driver_monitor.errors import InputError
from driver_monitor.messages import Frame
from driver_monitor.outputs.event_log import EventLogWriter
from driver_monitor.outputs.feature_table import FeatureTableWriter
from driver_monitor.perception.staged_tracking import tracked_frames
from driver_monitor.perception.tracker import FaceTracker, create_tracker
from driver_monitor.pipeline import Pipeline
from driver_monitor.recording.format import Recording, open_recording
from driver_monitor.sources.video_file import VideoFileSource
from driver_monitor.vehicle.io import VehicleIo


@dataclass
class ReplaySummary:
    input_path: Path
    out_dir: Path
    frames: int = 0
    face_found_ratio: float = 0.0
    duration_s: float = 0.0  # recording time covered
    wall_s: float = 0.0
    event_counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    outputs: list[str] = field(default_factory=list)  # CAN / serial / vehicle log status lines

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0

    def text(self) -> str:
        events = ", ".join(f"{name} {n}" for name, n in sorted(self.event_counts.items())) or "none"
        lines = [
            f"replayed {self.input_path}",
            f"  frames        {self.frames} ({self.duration_s:.1f} s of video)",
            f"  face found    {100 * self.face_found_ratio:.1f} % of frames",
            f"  speed         {self.frames_per_s:.1f} frames/s ({self.duration_s / self.wall_s if self.wall_s else 0:.1f}x real time)",
            f"  events        {events}",
            f"  outputs       {self.out_dir}",
        ]
        lines += [f"  {line}" for line in self.outputs]
        return "\n".join(lines)


def open_source(input_path: Path, config: Config) -> tuple[VideoFileSource, Recording | None]:
    """A video file, or the video of a recording directory with its exact timestamps."""
    if input_path.is_dir():
        rec = open_recording(input_path)
        source = VideoFileSource(rec.video_path, config.video.gif_fps, config.video.fallback_fps, rec.timestamps_s)
        return source, rec
    return VideoFileSource(input_path, config.video.gif_fps, config.video.fallback_fps), None


def replay(
    input_path: str | Path,
    config: Config,
    out_dir: str | Path,
    progress: bool | None = None,
    tracker: FaceTracker | None = None,
    realtime: bool = False,
) -> ReplaySummary:
    input_path = Path(input_path)
    out_dir = Path(out_dir)
    source, recording = open_source(input_path, config)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        source.close()
        raise InputError(f"{out_dir}: cannot create the output directory ({exc.strerror})") from None
    fmt = config.outputs.features_format.value
    sinks = [EventLogWriter(out_dir / "events.jsonl"), FeatureTableWriter(out_dir / f"features.{fmt}", fmt)]
    try:
        # CAN / serial outputs (each behind its own queue + thread) and the recording's CAN log.
        vehicle_io = VehicleIo.open(config, out_dir, recording)
    except BaseException:
        for sink in sinks:
            sink.close()
        source.close()
        raise
    sinks += vehicle_io.sinks
    own_tracker = tracker is None
    tracker = tracker if tracker is not None else create_tracker(config.perception, config.perception.staged_replay)
    pipeline = Pipeline(config, tracker, sinks)
    summary = ReplaySummary(input_path, out_dir)
    first_t: float | None = None
    started = time.perf_counter()
    try:
        # Decoding, the tracker and the rest run in threads (perception.staged_replay).
        with _progress(source, progress) as frames, closing(
            tracked_frames(frames, tracker, config.perception.staged_replay)
        ) as tracked:
            for frame, obs in tracked:
                if first_t is None:
                    first_t = frame.t
                if realtime:  # pace at recording speed; outputs are timed by frame.t either way
                    _sleep_until(started + (frame.t - first_t))
                pipeline.process_tracked(frame, obs, vehicle_io.vehicle_at(frame.t))
    except InputError as exc:
        summary.error = str(exc)
    finally:
        pipeline.finish()  # also drains and closes the CAN / serial outputs
        vehicle_io.close()
        source.close()
        if own_tracker:
            tracker.close()
    summary.wall_s = time.perf_counter() - started
    summary.frames = pipeline.frames
    summary.face_found_ratio = pipeline.face_found_ratio if pipeline.frames else 0.0
    summary.duration_s = (pipeline.last_t - first_t) if first_t is not None and pipeline.last_t is not None else 0.0
    summary.event_counts = dict(pipeline.event_counts)
    summary.outputs = vehicle_io.summary_lines()
    if summary.error is not None:
        raise InputError(f"{summary.error} ({summary.frames} frames before it were written to {out_dir})")
    return summary


def _progress(source: VideoFileSource, enabled: bool | None) -> nullcontext[Iterator[Frame]]:
    """Frames, with a tqdm bar on stderr when it is a terminal (or when asked)."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return nullcontext(iter(source))
    from tqdm import tqdm

    return nullcontext(tqdm(source, total=source.frame_count_hint or None, unit="frame", file=sys.stderr, leave=False))


def _sleep_until(wall_t: float) -> None:
    delay = wall_t - time.perf_counter()
    if delay > 0:
        time.sleep(delay)
