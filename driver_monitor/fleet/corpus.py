"""The drives of a corpus and their ground truth, found on disk (eval over many drives, sweep).

A corpus is given as directories, list files (.txt: one path a line) or single drives. A drive is

    a replay output     events.jsonl (+ features.csv|parquet, run.yaml)  scored as it is, or
                        decided again from its table under another config
    an extraction       features.parquet + labels.jsonl + run.yaml (`extract`): always
                        decided from its table (its events.jsonl is a by-product of whatever
                        config `extract` ran with, not the config asked for)
    a recording         video (+ labels.jsonl, + features.parquet)      decided from its table,
                        or replayed in full when it has none

and a directory that is none of these holds drives (one level down). Its ground truth: the
drive's labels.jsonl, else that of the recording its run.yaml names as input, else its clip of
a truth.yaml (matched by the drive's name or its input's file name); a drive with none of
these is one error line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from driver_monitor.errors import InputError
from driver_monitor.evaluation.truth import ClipTruth, find_clip
from driver_monitor.fleet.extract import (
    EXTRACTION_KEY,
    LIST_SUFFIXES,
    VIDEO_SUFFIXES,
    is_recording,
    list_file,
    refuse_same_names,
)
from driver_monitor.fleet.table import feature_table_in
from driver_monitor.outputs.event_log import EVENTS_NAME, read_labels
from driver_monitor.provenance import RUN_FILE_NAME
from driver_monitor.recording.format import LABELS_NAME

# `extract` names a drive's directory <name>-<content 12 hex>-<extraction 8 hex>.
_EXTRACTED = re.compile(r"^(?P<name>.+)-[0-9a-f]{12}-[0-9a-f]{8}$")


@dataclass(frozen=True)
class CorpusEntry:
    name: str
    root: Path
    events: Path | None = None  # events.jsonl of a replay
    table: Path | None = None  # the per-frame table to decide from
    recording: Path | None = None  # a recording or video to replay in full when there is no table
    labels: Path | None = None
    clip: str | None = None  # its clip of the truth file

    def truth_of(self, truth: dict[str, ClipTruth] | None) -> ClipTruth | None:
        return truth[self.clip] if truth is not None and self.clip is not None else None

    def read_labels(self) -> list[dict[str, Any]] | None:
        return read_labels(self.labels) if self.labels is not None else None


def find_corpus(inputs: list[str | Path], truth: dict[str, ClipTruth] | None = None,
                truth_path: Path | None = None, _lists: tuple[Path, ...] = ()) -> list[CorpusEntry]:
    """`_lists`: the list files being read (extract.list_file refuses a cycle)."""
    entries: list[CorpusEntry] = []
    for raw in inputs:
        path = Path(raw)
        if path.is_file() and path.suffix.lower() in LIST_SUFFIXES:
            entries += find_corpus(list_file(path, _lists), truth, truth_path, (*_lists, path.resolve()))
        elif _is_drive(path):
            entries.append(_entry(path, truth, truth_path))
        elif path.is_dir():
            inside = [p for p in sorted(path.iterdir()) if _is_drive(p)]
            if not inside:
                raise InputError(f"{path}: no drives in it (replay outputs, `extract` directories, recordings or videos)")
            entries += [_entry(p, truth, truth_path) for p in inside]
        else:
            raise InputError(f"{path}: not a drive, a directory of drives or a list file")
    refuse_same_names([(e.name, e.root) for e in entries], "two drives of the corpus are named")
    return entries


def _is_drive(path: Path) -> bool:
    if path.is_file():
        return path.suffix.lower() in VIDEO_SUFFIXES
    return path.is_dir() and ((path / EVENTS_NAME).is_file() or feature_table_in(path) is not None
                              or is_recording(path))


def _entry(path: Path, truth: dict[str, ClipTruth] | None, truth_path: Path | None) -> CorpusEntry:
    if path.is_file():
        name, events, table, recording, run = path.stem, None, None, path, {}
    else:
        match = _EXTRACTED.match(path.name)
        name = match["name"] if match else path.name
        table = feature_table_in(path)  # (the parts of a recording never closed too)
        recording = path if is_recording(path) else None
        run = _run(path)
        # An extraction's events.jsonl is what the config `extract` ran with decided (drives
        # skipped as extracted before may have run under another one, and the table may be of
        # an older feature code): scored as they are, `eval FEATURE_DIR` would not be the
        # default config's numbers. Its table is decided under the config asked for instead,
        # which also checks the table against that config.
        is_extraction = bool(run.get(EXTRACTION_KEY)) and table is not None
        events = path / EVENTS_NAME if (path / EVENTS_NAME).is_file() and not is_extraction else None
    source = Path(str((run.get("input") or {}).get("path") or "")) if run.get("input") else None
    labels = path / LABELS_NAME if path.is_dir() and (path / LABELS_NAME).is_file() else None
    if labels is None and source is not None and (source / LABELS_NAME).is_file():
        labels = source / LABELS_NAME
    clip = None
    if truth is not None:
        for hint in (name, path.name, *([source.name] if source is not None else [])):
            try:
                clip = find_clip(truth, hint)
                break
            except InputError:
                continue
    if truth is not None and clip is None:
        raise InputError(f"{path}: not a clip of {truth_path} (drive {name!r}; clips: {', '.join(sorted(truth))})")
    if truth is None and labels is None:
        where = f" nor in the recording {source} its {RUN_FILE_NAME} names" if source is not None else ""
        raise InputError(f"{path}: no ground truth: no {LABELS_NAME} in it{where}; label the drive or give --truth")
    return CorpusEntry(name, path, events, table, recording, labels, clip)


def _run(path: Path) -> dict[str, Any]:
    run = path / RUN_FILE_NAME
    if not run.is_file():
        return {}
    try:
        loaded = yaml.safe_load(run.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):  # ValueError: bad UTF-8, or a value YAML cannot build (2020-13-01)
        return {}
    return loaded if isinstance(loaded, dict) else {}
