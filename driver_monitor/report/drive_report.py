"""`driver-monitor report`: one replay output directory -> one self-contained HTML file."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from driver_monitor.config import Config
from driver_monitor.errors import InputError
from driver_monitor.provenance import sha256_of
from driver_monitor.recording.files import write_private_atomic
from driver_monitor.report.data import ReplayData, load_replay
from driver_monitor.report.figure import MAX_POINTS, FigureInput, build_figure
from driver_monitor.report.ground_truth import GroundTruth, from_labels, from_truth
from driver_monitor.report.no_warning import PolicyContext, unwarned_events
from driver_monitor.report.page import Thumbnail, render_page
from driver_monitor.report.plotly_bundle import plotly_js
from driver_monitor.report.settings import resolve_config
from driver_monitor.report.summary import (
    actions_table,
    calibration_table,
    config_table,
    detail_marks_table,
    drive_table,
    events_table,
    face_found_share,
    truth_table,
    unwarned_table,
)
from driver_monitor.report.timeline import build_timeline
from driver_monitor.report.vehicle_speed import find_speed
from driver_monitor.sources.video_file import VIDEO_SUFFIXES


@dataclass
class ReportRequest:
    replay_dir: Path
    out_path: Path
    labels: Path | None = None  # labels.jsonl or a recording directory holding one
    truth: Path | None = None  # truth.yaml (behaviour intervals)
    clip: str | None = None  # the clip of `truth` (default: the replay directory's name)
    video: Path | None = None  # the input: face thumbnails at each event (only when asked)
    input_path: Path | None = None  # the input, for vehicle speed from its CAN log (no pictures)
    config: Config | None = None  # the config the replay ran with (default: run.yaml, else packaged)
    config_source: str | None = None
    max_points: int = MAX_POINTS
    # Labels: when a detection counts for one (`eval --max-latency-s / --early-s`, whose page
    # must mark what its table counted).
    max_latency_s: float = 4.0
    early_s: float = 0.5


@dataclass
class ReportResult:
    path: Path
    bytes: int
    name: str
    truth: GroundTruth | None = None
    face_found: float | None = None
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        lines = [f"report {self.path} ({self.bytes / 1e6:.1f} MB)"]
        if self.truth is not None:
            t = self.truth
            lines.append(f"  against {t.source}: {t.count('found')} found, {t.count('missed')} missed, "
                         f"{t.count('false')} false")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def check_report_path(out: Path, reads: list[Path | None]) -> None:
    """The report must not replace a file it (or the replay before it) reads: an event log,
    a feature table, labels or the video would be lost under the HTML. `reads`: files or
    directories (every file in them, except earlier reports). A place the report cannot be
    written is refused here too: `replay --report` checks before the replay, not after it (a
    file where a directory of the path should be let the whole replay run, then failed)."""
    out = Path(out)
    if out.is_dir():
        raise InputError(f"{out}: cannot write the report (Is a directory)")
    above = out.parent
    while not above.exists() and above != above.parent:
        above = above.parent
    if above.exists() and not above.is_dir():
        raise InputError(f"{out}: cannot write the report ({above} is a file, not a directory)")
    if not out.exists():
        return
    for source in reads:
        if source is None or not Path(source).exists():
            continue
        source = Path(source)
        files = [p for p in source.iterdir() if p.suffix.lower() not in (".html", ".htm")] if source.is_dir() else [source]
        for path in files:
            if path.exists() and os.path.samefile(path, out):
                raise InputError(f"{out}: is {'a file of ' + str(source) if source.is_dir() else 'an input'} the report "
                                 "reads: write the report to another file")


def write_report(req: ReportRequest) -> ReportResult:
    if req.labels is not None and req.truth is not None:
        raise InputError("give --labels or --truth, not both")
    check_report_path(req.out_path, [req.replay_dir, req.video, req.input_path, req.labels, req.truth])
    data = load_replay(req.replay_dir)
    notes = list(data.notes)
    bundle_note = plotly_js()[1]
    if bundle_note:
        notes.append(bundle_note)
    used = resolve_config(req.config, req.config_source, data.run, notes)
    timeline = build_timeline(data.events, data.end_t, data.start_t)
    truth = _ground_truth(req, data)
    recording = _recording_dir(req, data)
    speed = find_speed(data.numeric, data.t, recording, used.config, notes) if data.frames else None
    thumbnails: list[Thumbnail] = []
    _check_inputs(req, data, notes)
    if req.video is not None:
        from driver_monitor.report.thumbnails import face_thumbnails

        thumbnails = face_thumbnails(req.video, timeline.events, used.config)
    policy = PolicyContext(timeline, used.config, data.t, speed, data.numeric.get("vehicle_ignition_on"))
    unwarned = unwarned_events(policy)
    fig_input = FigureInput(data, timeline, used.config, speed, truth, notes, req.max_points, policy, unwarned)
    figure = build_figure(fig_input)
    input_label = str(req.video or req.input_path) if (req.video or req.input_path) else None
    summary = [drive_table(data, used, input_label), events_table(timeline), actions_table(timeline),
               unwarned_table(unwarned, used.config.policy.enabled), calibration_table(data, timeline)]
    tail = [config_table(used)]
    if truth is not None:
        summary.append(truth_table(truth))
        tail.insert(0, detail_marks_table(truth))
    title = f"driver-monitor report: {data.name}"
    subtitle = f"{data.frames} frames, {data.end_t - data.start_t:.1f} s, {len(timeline.events)} events, " \
               f"{len(timeline.actions)} actions"
    page = render_page(title, subtitle, summary, notes, figure, thumbnails, tail)
    out = Path(req.out_path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        # The driver's states and signals, frame by frame: private (0600), and replaced in one
        # step, so a full disk leaves the earlier report whole instead of a cut one.
        write_private_atomic(out, page)
    except OSError as exc:
        raise InputError(f"{out}: cannot write the report ({exc.strerror or exc.__class__.__name__})") from None
    return ReportResult(out, out.stat().st_size, data.name, truth, face_found_share(data), notes)


def _ground_truth(req: ReportRequest, data: ReplayData) -> GroundTruth | None:
    if req.labels is not None:
        return from_labels(req.labels, data.events, data.end_t, req.max_latency_s, req.early_s)
    if req.truth is not None:
        return from_truth(req.truth, req.clip or data.name, data.events, data.end_t)
    return None


def _check_inputs(req: ReportRequest, data: ReplayData, notes: list[str]) -> None:
    """--video / --input must exist, and a video file must be the one the replay read (its
    sha256 in run.yaml): another drive's video would put another face beside these events."""
    for option, path in (("--input", req.input_path), ("--video", req.video)):
        if path is not None and not Path(path).exists():
            raise InputError(f"{path}: no such file or directory ({option})")
    run_input = (data.run or {}).get("input")
    if req.video is None or not isinstance(run_input, dict):
        return
    video, expected, read = Path(req.video), run_input.get("sha256"), Path(str(run_input.get("path", "")))
    if isinstance(expected, str) and sha256_of(video) == expected:
        return  # the very input: the same video file, or the recording directory unchanged
    wrong = InputError(f"{video}: not the video this replay read ({read}, by its sha256 in {data.root / 'run.yaml'})")
    if read.exists():
        # A recording's sha256 covers every file in it (labels added since change it): compare
        # the videos themselves.
        if sha256_of(_video_file(video)) != sha256_of(_video_file(read)):
            raise wrong
        return
    if video.is_file() and read.suffix.lower() in VIDEO_SUFFIXES:
        raise wrong  # the replay read a video file, and this one's sha256 is another
    # A recording directory no longer where the replay read it (or a path relative to
    # another working directory), and changed since: nothing to compare with.
    notes.append(f"--video {video} could not be checked against the replay's input ({read} is not there): make "
                 "sure it is the same drive")


def _video_file(path: Path) -> Path:
    """A video file, or a recording directory's video."""
    if path.is_dir():
        from driver_monitor.recording.format import open_recording

        return open_recording(path).video_path
    return path


def _recording_dir(req: ReportRequest, data: ReplayData) -> Path | None:
    """The recording the replay read (its CAN log gives the vehicle speed): --video or --input,
    else run.yaml's input path when it is a directory that still exists."""
    for path in (req.input_path, req.video):
        if path is not None:
            return path
    run_input = (data.run or {}).get("input")
    if isinstance(run_input, dict) and isinstance(run_input.get("path"), str):
        path = Path(run_input["path"])
        return path if path.is_dir() else None
    return None
