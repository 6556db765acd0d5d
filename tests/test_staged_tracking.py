"""Replay's staged tracking (decode | locate | the rest in three threads) decides exactly
what the serial loop decides, raises a source's error where the serial loop would, and
stops its threads when the caller stops early."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from driver_monitor.config import load_config
from driver_monitor.config.perception import PerceptionConfig
from driver_monitor.errors import InputError
from driver_monitor.messages import Frame
from driver_monitor.outputs.event_log import read_event_log
from driver_monitor.perception.staged_tracking import tracked_frames
from driver_monitor.perception.tracker import create_tracker
from driver_monitor.replay import replay

REPO = Path(__file__).resolve().parents[1]
SELFIE = REPO / "recordings" / "selfie_writing"


def _replay(tmp_path: Path, name: str, **perception) -> tuple[str, list[dict]]:
    base = load_config()
    config = base.model_copy(update={"perception": PerceptionConfig.model_validate({**base.perception.model_dump(), **perception})})
    out = tmp_path / name
    summary = replay(SELFIE, config, out, progress=False)
    assert summary.frames == 225
    return (out / "features.csv").read_text(), read_event_log(out / "events.jsonl")


@pytest.mark.parametrize("schedule", ["mediapipe", "tracked"])
def test_staged_replay_writes_the_same_features_and_events_as_the_serial_loop(tmp_path, schedule):
    staged = _replay(tmp_path, "staged", staged_replay=True, detector_schedule=schedule)
    serial = _replay(tmp_path, "serial", staged_replay=False, detector_schedule=schedule)
    assert staged[0] == serial[0]  # every column of every frame, byte for byte
    assert staged[1] == serial[1]
    assert any(e["name"] == "blink" for e in staged[1])


def _blank_frames(n: int, fail_after: bool = False):
    for i in range(n):
        yield Frame(i / 30.0, np.full((96, 128, 3), 40, np.uint8), i)
    if fail_after:
        raise InputError("clip.mkv: truncated")


def test_a_source_error_arrives_after_every_frame_before_it():
    seen = []
    with create_tracker(PerceptionConfig()) as tracker, pytest.raises(InputError, match="clip.mkv: truncated"):
        for frame, obs in tracked_frames(_blank_frames(7, fail_after=True), tracker):
            seen.append((frame.seq, obs))
    assert seen == [(i, None) for i in range(7)]


def test_stopping_early_ends_the_threads_and_the_source():
    before = threading.active_count()
    source = _blank_frames(10_000)
    with create_tracker(PerceptionConfig()) as tracker:
        frames = tracked_frames(source, tracker)
        for frame, _ in frames:
            if frame.seq == 3:
                break
        frames.close()
    assert threading.active_count() == before
    assert next(source, None) is not None  # the source was left mid-way, not drained


def test_opencv_runs_one_thread_while_the_stages_run_and_as_before_after():
    before = cv2.getNumThreads()
    assert before > 1  # this machine has two cores: otherwise the test shows nothing
    seen = []
    with create_tracker(PerceptionConfig()) as tracker:
        frames = tracked_frames(_blank_frames(5), tracker)
        for _ in frames:
            seen.append(cv2.getNumThreads())
        assert cv2.getNumThreads() == before
        stopped = tracked_frames(_blank_frames(50), tracker)
        next(stopped)
        assert cv2.getNumThreads() == 1
        stopped.close()  # a caller leaving early (an error in the pipeline) restores it too
    assert seen == [1] * 5
    assert cv2.getNumThreads() == before


def test_unstaged_is_the_plain_loop():
    with create_tracker(PerceptionConfig()) as tracker:
        out = list(tracked_frames(_blank_frames(3), tracker, staged=False))
    assert [(f.seq, obs) for f, obs in out] == [(0, None), (1, None), (2, None)]
