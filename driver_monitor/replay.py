"""Replay a video file or a recording directory through the Pipeline, as fast as possible.

Writes DIR/events.jsonl, DIR/features.csv|parquet and DIR/run.yaml (provenance), plus
DIR/can_tx.log with CAN on. Whatever was processed before an input error is flushed to the
outputs before the error is reported.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from driver_monitor.assembly import Mode, RunIo
from driver_monitor.config import Config
from driver_monitor.errors import InputError, ReplayCutShort
from driver_monitor.outputs.base import Sink
from driver_monitor.perception.camera_health import NO_SOURCE_STATUS, SourceStatus
from driver_monitor.perception.staged_tracking import tracked_frames
from driver_monitor.perception.tracker import FaceTracker, create_tracker
from driver_monitor.pipeline import Pipeline
from driver_monitor.progress import with_progress
from driver_monitor.provenance import run_provenance
from driver_monitor.recording.format import Recording, open_recording
from driver_monitor.sources.video_file import VideoFileSource


@dataclass
class ReplaySummary:
    input_path: Path
    out_dir: Path
    frames: int = 0
    face_found_ratio: float = 0.0
    duration_s: float = 0.0  # recording time covered
    wall_s: float = 0.0
    event_counts: dict[str, int] = field(default_factory=dict)
    action_counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    outputs: list[str] = field(default_factory=list)  # CAN / serial / vehicle log status lines
    removed: list[str] = field(default_factory=list)  # an earlier run's outputs, removed first

    def take(self, pipeline: Pipeline, io: RunIo, first_t: float | None, wall_s: float) -> None:
        """What the finished pipeline and outputs say."""
        self.wall_s = wall_s
        self.frames = pipeline.frames_seen
        self.face_found_ratio = pipeline.face_found_ratio if pipeline.frames else 0.0
        last_t = pipeline.last_result.t if pipeline.last_result is not None else None
        self.duration_s = (last_t - first_t) if first_t is not None and last_t is not None else 0.0
        self.event_counts = dict(pipeline.event_counts)
        self.action_counts = dict(pipeline.action_counts)
        self.outputs = io.summary_lines()

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0

    def text(self) -> str:
        lines = [
            f"replayed {self.input_path}",
            f"  frames        {self.frames} ({self.duration_s:.1f} s of video)",
            f"  face found    {100 * self.face_found_ratio:.1f} % of frames",
            f"  speed         {self.frames_per_s:.1f} frames/s ({self.duration_s / self.wall_s if self.wall_s else 0:.1f}x real time)",
            f"  events        {_counts(self.event_counts)}",
            f"  actions       {_counts(self.action_counts)}",
            f"  outputs       {self.out_dir}",
        ]
        if self.removed:
            lines.append(f"  replaced      {', '.join(self.removed)} of an earlier run")
        lines += [f"  {line}" for line in self.outputs]
        return "\n".join(lines)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in sorted(counts.items())) or "none"


def open_source(input_path: Path, config: Config) -> tuple[VideoFileSource, Recording | None]:
    """A video file, or the video of a recording directory with its exact timestamps."""
    if input_path.is_dir():
        rec = open_recording(input_path)
        source = VideoFileSource(rec.video_path, config.video.gif_fps, config.video.fallback_fps, rec.timestamps_s,
                                 partial=not rec.complete)
        return source, rec
    return VideoFileSource(input_path, config.video.gif_fps, config.video.fallback_fps), None


def refuse_overwriting_input(video: Path, recording_dir: Path | None, out_dir: Path, sinks: Sequence[Sink]) -> None:
    """InputError when an output would land on what is being read: the outputs written into
    the recording being replayed (its live decisions, events.jsonl / features / run.yaml, would
    be replaced: a recording is never overwritten), or a sink's file (`--annotate`) being the
    video itself (it was cut to the frames read before the writer truncated it)."""
    if recording_dir is not None and _same(out_dir, recording_dir):
        raise InputError(f"{out_dir}: is the recording being replayed (a recording is never overwritten): "
                         "give --out another directory")
    for sink in sinks:
        path = getattr(sink, "path", None)
        if path is not None and _same(Path(path), video):
            raise InputError(f"{path}: is the video being replayed: write the annotated video to another file")


def _same(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def replay(
    input_path: str | Path,
    config: Config,
    out_dir: str | Path,
    progress: bool | None = None,
    tracker: FaceTracker | None = None,
    realtime: bool = False,
    config_path: str | Path | None = None,
    extra_sinks: Sequence[Sink] = (),
) -> ReplaySummary:
    """`extra_sinks` see every frame's result after the run's own outputs (the annotated
    video of `--annotate`, driver_monitor/report/annotate.py)."""
    input_path = Path(input_path)
    out_dir = Path(out_dir)
    source, recording = open_source(input_path, config)
    own_tracker = tracker is None
    # Decoding, the tracker and the rest run in threads (perception.staged_replay), unless
    # the caller brings its own tracker (annotate: it must see each frame as it is judged).
    staged = config.perception.staged_replay and own_tracker
    try:
        refuse_overwriting_input(source.path, recording.root if recording is not None else None, out_dir, extra_sinks)
        provenance = run_provenance("replay", config, input_path, config_path)
        # The tracker and the Pipeline (the expression model, the policy's value keys) before the
        # outputs: one that fails to load left an events.jsonl without events and a run.yaml in
        # place of the earlier run's outputs, which eval reads as a drive where nothing was found.
        tracker = tracker if tracker is not None else create_tracker(config.perception, staged)
    except BaseException:
        source.close()
        raise
    try:
        pipeline = Pipeline(config, tracker, ())
        io = RunIo.open(config, Mode.REPLAY, out_dir, recording, provenance)
    except BaseException:
        if own_tracker:
            tracker.close()
        source.close()
        raise
    pipeline.sinks = [*io.sinks, *extra_sinks]
    summary = ReplaySummary(input_path, out_dir, removed=io.removed_outputs)
    first_t: float | None = None
    # A live recording's camera rate times the no-frame timeout, as it did live.
    period_s = recording.camera_period_s if recording is not None else None
    camera = SourceStatus(period_s=period_s) if period_s is not None else NO_SOURCE_STATUS
    started = time.perf_counter()
    try:
        frames = with_progress(source, source.frame_count_hint, progress)
        with closing(tracked_frames(frames, tracker, staged)) as tracked:
            for frame, obs in tracked:
                if first_t is None:
                    first_t = frame.t
                if realtime:  # pace at recording speed; outputs are timed by frame.t either way
                    _sleep_until(started + (frame.t - first_t))
                pipeline.process_tracked(frame, obs, io.vehicle.at(frame.t), camera)
    except InputError as exc:
        summary.error = str(exc)
    finally:
        pipeline.finish()  # also drains and closes the CAN / serial outputs
        io.close()
        source.close()
        if own_tracker:
            tracker.close()
    summary.take(pipeline, io, first_t, time.perf_counter() - started)
    if summary.error is not None:
        raise ReplayCutShort(summary.error, summary.frames, out_dir)
    return summary


def _sleep_until(wall_t: float) -> None:
    delay = wall_t - time.perf_counter()
    if delay > 0:
        time.sleep(delay)
