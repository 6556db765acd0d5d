"""`driver-monitor extract INPUTS... --out FEATURE_DIR`: the tracker once per drive.

Each drive (a recording directory or a video file) is replayed once in full and its per-frame
table kept, so every later replay, evaluation and sweep of it runs without the tracker (feature
replay, ~100x cheaper). A drive's table goes to

    FEATURE_DIR/<name>-<content>-<extraction>/
        features.parquet   every frame's inputs (docs/features.md), the run's provenance inside
        events.jsonl       what the extraction's config decided (a by-product)
        run.yaml           provenance, with `extraction: {content_sha256, key}`
        labels.jsonl       the recording's labels, when it has some (the corpus travels whole)

keyed by the drive's content (CONTENT_FILES: video, frame times, CAN log, meta.yaml; not its
labels) and the extraction (`extraction_key`: the feature-code version, the face model and the
settings that act before the features). A drive whose directory exists is skipped; a drive is
written to a hidden directory first and renamed when complete, so a crash leaves nothing a
restart would take for done (the leftovers are removed then).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from driver_monitor.config import Config
from driver_monitor.errors import DriverMonitorError, InputError, ReplayCutShort
from driver_monitor.fleet.executor import Engine
from driver_monitor.fleet.table import settings_before_features
from driver_monitor.outputs.feature_table import FEATURES_STEM, table_format
from driver_monitor.provenance import RUN_FILE_NAME, model_provenance
from driver_monitor.recording.format import (
    CAN_LOG_NAMES,
    LABELS_NAME,
    META_NAME,
    TIMESTAMPS_NAME,
    VIDEO_NAMES,
)

VIDEO_SUFFIXES = (".mp4", ".mkv", ".avi", ".mov", ".gif", ".webm")
LIST_SUFFIXES = (".txt", ".list")
CONTENT_FILES = (*VIDEO_NAMES, TIMESTAMPS_NAME, *CAN_LOG_NAMES, META_NAME)
PARTIAL_PREFIX = ".partial-"
EXTRACTION_KEY = "extraction"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Drive:
    name: str
    path: Path  # a recording directory or a video file

    @property
    def labels(self) -> Path | None:
        labels = self.path / LABELS_NAME if self.path.is_dir() else None
        return labels if labels is not None and labels.is_file() else None


def is_recording(path: Path) -> bool:
    return path.is_dir() and any((path / n).is_file() for n in VIDEO_NAMES)


def find_drives(inputs: Iterable[str | Path], _lists: tuple[Path, ...] = ()) -> list[Drive]:
    """Drives from recording directories, video files, directories of those (one level) and
    list files (one path per line, relative to the list; # comments); InputError naming the
    first input that is none of these. `_lists`: the list files being read (a cycle is refused)."""
    drives: list[Drive] = []
    for raw in inputs:
        path = Path(raw)
        if is_recording(path):
            drives.append(Drive(path.name, path))
        elif path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES:
            drives.append(Drive(path.stem, path))
        elif path.is_file() and path.suffix.lower() in LIST_SUFFIXES:
            drives += find_drives(list_file(path, _lists), (*_lists, path.resolve()))
        elif path.is_dir():
            inside = [p for p in sorted(path.iterdir()) if is_recording(p)
                      or (p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)]
            if not inside:
                raise InputError(f"{path}: no recording directories or video files in it")
            drives += find_drives(inside)
        elif not path.exists():
            raise InputError(f"{path}: no such file or directory")
        else:
            raise InputError(f"{path}: not a recording directory, a video file, a directory of them or a list file "
                             f"({', '.join(LIST_SUFFIXES)})")
    refuse_same_names([(d.name, d.path) for d in drives], "two drives are named", ": give each drive its own name")
    return drives


def refuse_same_names(named: Sequence[tuple[str, Path]], problem: str, hint: str = "") -> None:
    """InputError naming the first name two of the (name, path) pairs share, and both paths."""
    names = [name for name, _ in named]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        paths = [str(path) for name, path in named if name == duplicate]
        raise InputError(f"{problem} {duplicate!r} ({paths[0]}, {paths[1]}){hint}")


def list_file(path: Path, reading: tuple[Path, ...] = ()) -> list[Path]:
    """The paths a list file names. `reading`: the list files it is read from (resolved): a
    list that names itself, directly or through another, recursed until a RecursionError."""
    if path.resolve() in reading:
        raise InputError(f"{path}: the list names itself (directly or through another list file)")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the list ({exc})") from None
    entries = [line.split("#", 1)[0].strip() for line in lines]
    out = [path.parent / e for e in entries if e]
    if not out:
        raise InputError(f"{path}: the list names no drive")
    return out


def content_sha256(drive: Drive) -> str:
    """sha256 of what the pipeline reads of the drive (names and contents; not the labels)."""
    digest = hashlib.sha256()
    files = [drive.path / n for n in CONTENT_FILES if (drive.path / n).is_file()] if drive.path.is_dir() else [drive.path]
    for f in files:
        digest.update(f.name.encode() + b"\0")
        try:
            with f.open("rb") as fh:
                while chunk := fh.read(_CHUNK):
                    digest.update(chunk)
        except OSError as exc:
            raise InputError(f"{f}: cannot read it ({exc.strerror})") from None
    return digest.hexdigest()


def extraction_key(config: Config) -> str:
    """What decides a table's inputs besides the drive: the format and feature-code version,
    the face model and the settings that act before the features (16 hex digits)."""
    described = {"table": table_format(), "model": model_provenance(config)["sha256"],
                 "settings": settings_before_features(config.model_dump(mode="json"))}
    return hashlib.sha256(json.dumps(described, sort_keys=True, default=str).encode()).hexdigest()[:16]


def drive_dir_name(drive: Drive, content: str, key: str) -> str:
    return f"{drive.name}-{content[:12]}-{key[:8]}"


def extraction_config(config: Config, one_core: bool = False) -> Config:
    """The config an extraction replays with: Parquet out, no CAN / serial (not driving).
    one_core: a worker among others (a pool, Ray actors of one CPU each) replays serially
    with one thread per model, since staged replay's threads would compete with the other
    workers for the same cores (the features are the same to the bit either way:
    table.SAME_FEATURES_EITHER_WAY)."""
    from driver_monitor.config.overrides import with_overrides

    overrides: dict[str, dict[str, Any]] = {"outputs": {"features_format": "parquet"}, "can": {"enabled": False},
                                            "serial": {"enabled": False}}
    if one_core:
        overrides["perception"] = {"staged_replay": False, "landmark_threads": 1}
    return with_overrides(config, overrides)


@dataclass
class DriveResult:
    drive: Drive
    status: str  # done | skipped | failed
    directory: Path | None = None
    frames: int = 0
    duration_s: float = 0.0
    wall_s: float = 0.0
    error: str | None = None


class ExtractionWorker:
    """One worker (a process of the pool, a Ray actor): replays drives into FEATURE_DIR. It
    lives for the whole extraction; each drive gets a fresh tracker graph, because MediaPipe's
    VIDEO mode carries the previous frame's face into the next and has no reset: one graph
    over two drives would start the second from the first's last face, and its table would not
    be what a replay of that drive sees."""

    def __init__(self, config: Config, out_dir: Path, progress: Callable[[int], None] | None = None,
                 one_core: bool = False):
        # The key names the tracker that really runs: a backend that falls back to MediaPipe
        # on this machine makes MediaPipe's features, which must not be stored (and later
        # reused) under the other backend's key.
        from driver_monitor.perception.tracker import usable_backend

        config = config.model_copy(update={"perception": usable_backend(config.perception)})
        self.config = extraction_config(config, one_core)
        self.out_dir = Path(out_dir)
        self.key = extraction_key(config)
        self.progress = progress

    def run(self, drive: Drive) -> DriveResult:
        started = time.perf_counter()
        try:
            content = content_sha256(drive)
            target = self.out_dir / drive_dir_name(drive, content, self.key)
            if (target / f"{FEATURES_STEM}.parquet").is_file():
                _refresh_labels(drive, target)
                return DriveResult(drive, "skipped", target)
            summary = self._replay(drive, content, target)
        except ReplayCutShort as exc:  # its frames went to the partial directory, now removed
            return DriveResult(drive, "failed", error=f"{exc.reason} (nothing kept: a drive is kept only when it is "
                               "read to its end)", wall_s=time.perf_counter() - started)
        except DriverMonitorError as exc:
            return DriveResult(drive, "failed", error=str(exc), wall_s=time.perf_counter() - started)
        return DriveResult(drive, "done", target, summary.frames, summary.duration_s, time.perf_counter() - started)

    def _replay(self, drive: Drive, content: str, target: Path) -> Any:
        from driver_monitor.replay import replay

        partial = self.out_dir / f"{PARTIAL_PREFIX}{target.name}-{uuid.uuid4().hex[:8]}"
        sinks = [_FrameCounter(self.progress)] if self.progress is not None else []
        try:
            summary = replay(drive.path, self.config, partial, progress=False, extra_sinks=sinks)
            _add_extraction(partial, content, self.key)
            if drive.labels is not None:
                shutil.copyfile(drive.labels, partial / LABELS_NAME)
            try:
                os.rename(partial, target)
            except OSError:
                if not (target / f"{FEATURES_STEM}.parquet").is_file():  # not another worker's copy
                    raise
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        return summary


def _refresh_labels(drive: Drive, target: Path) -> None:
    """Relabelling a drive does not extract it again (the labels are no input of the tracker),
    but the copy beside its table must follow: `eval` and `sweep` read that copy, and would
    score against labels the recording no longer has."""
    copy = target / LABELS_NAME
    if drive.labels is None:
        copy.unlink(missing_ok=True)
        return
    new = Path(drive.labels).read_bytes()
    if not copy.is_file() or copy.read_bytes() != new:
        tmp = target / f".{LABELS_NAME}.{uuid.uuid4().hex[:8]}.tmp"
        tmp.write_bytes(new)
        os.replace(tmp, copy)  # a reader sees the old labels or the new ones, never half


def _add_extraction(directory: Path, content: str, key: str) -> None:
    """run.yaml says what the directory is keyed by."""
    import yaml

    run = directory / RUN_FILE_NAME
    prov = yaml.safe_load(run.read_text(encoding="utf-8")) or {}
    prov[EXTRACTION_KEY] = {"content_sha256": content, "key": key}
    run.write_text(yaml.safe_dump(prov, sort_keys=False, allow_unicode=True), encoding="utf-8")


class _FrameCounter:
    """Sink: tells the progress bar every 50 frames."""

    def __init__(self, progress: Callable[[int], None] | None):
        self.progress = progress
        self.count = 0

    def write(self, result: Any) -> None:
        if result.picture is None:
            return
        self.count += 1
        if self.count == 50 and self.progress is not None:
            self.progress(self.count)
            self.count = 0

    def write_events(self, events: Any) -> None:
        pass

    def close(self) -> None:
        if self.count and self.progress is not None:
            self.progress(self.count)
        self.count = 0


@dataclass
class ExtractSummary:
    out_dir: Path
    engine: str
    results: list[DriveResult] = field(default_factory=list)
    wall_s: float = 0.0
    removed_partial: int = 0

    def count(self, status: str) -> list[DriveResult]:
        return [r for r in self.results if r.status == status]

    def text(self) -> str:
        done = self.count("done")
        frames = sum(r.frames for r in done)
        video_s = sum(r.duration_s for r in done)
        lines = [f"extracted {len(self.results)} drives to {self.out_dir} ({self.engine})",
                 f"  done      {len(done)} ({frames} frames, {video_s:.1f} s of video, "
                 f"{frames / self.wall_s if self.wall_s > 0 else 0:.1f} frames/s in {self.wall_s:.1f} s)",
                 f"  skipped   {len(self.count('skipped'))} (extracted before)",
                 f"  failed    {len(self.count('failed'))}"]
        if self.removed_partial:
            lines.append(f"  removed   {self.removed_partial} unfinished drive(s) of an interrupted run")
        lines += [f"  error: {r.error}" for r in self.count("failed")]
        return "\n".join(lines)


def extract(drives: Sequence[Drive], config: Config, out_dir: str | Path, engine: Engine | None = None,
            progress: bool | None = None) -> ExtractSummary:
    out_dir = Path(out_dir)
    engine = engine if engine is not None else Engine()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot create the feature directory ({exc.strerror})") from None
    summary = ExtractSummary(out_dir, engine.describe, removed_partial=_remove_partial(out_dir))
    started = time.perf_counter()
    from functools import partial

    from driver_monitor.progress import progress_bars

    with progress_bars(progress, len(drives)) as bars:
        one_core = engine.ray is not None or engine.jobs > 1
        for result in engine.run_workers(partial(ExtractionWorker, config, out_dir, one_core=one_core), drives,
                                         bars.frames):
            summary.results.append(result)
            bars.drive_done(result.drive.name, result.frames if engine.ray is not None else 0)
    summary.wall_s = time.perf_counter() - started
    return summary


def _remove_partial(out_dir: Path) -> int:
    stale = [p for p in out_dir.iterdir() if p.is_dir() and p.name.startswith(PARTIAL_PREFIX)]
    for p in stale:
        shutil.rmtree(p, ignore_errors=True)
    return len(stale)
