"""Drowsiness end to end on real video through MediaPipe (replay_clip caches each clip once
per session, tests/conftest.py)."""

from __future__ import annotations

import math

import pytest

DROWSINESS_EVENTS = ("microsleep", "sleep", "yawn", "nod", "drowsy", "eyes_unavailable")

# selfie_segmentation_web.mp4: she looks down to write at 1.0-3.2 s, 3.85-4.7 s and
# 5.84-6.7 s with OPEN eyes (eyeBlink 0.58-0.7, EAR 0.04-0.09 for up to 2.2 s) and blinks
# at the start / end of each look-down (shared/data/README.md, measured here).
LOOK_DOWNS_S = [(1.2, 3.05), (4.05, 4.55), (5.9, 6.6)]


def test_selfie_writing_gives_blinks_and_no_microsleep_or_sleep(replay_clip):
    clip = replay_clip("selfie_segmentation_web.mp4")
    blinks = clip.events_named("blink")
    assert len(blinks) >= 3
    for blink in blinks:
        assert 0.0 < blink["detail"]["duration_s"] < 0.3  # real blinks are short
    # The blinks sit at the edges of the look-downs, where the real blinks are.
    onsets = [b["detail"]["onset_t"] for b in blinks]
    assert any(0.9 <= t <= 1.2 for t in onsets) and any(3.0 <= t <= 3.2 for t in onsets)
    assert not [e for e in clip.events if e["name"] in DROWSINESS_EVENTS]


def test_selfie_look_downs_are_looking_down_not_closed_eyes(replay_clip):
    clip = replay_clip("selfie_segmentation_web.mp4")
    for start, end in LOOK_DOWNS_S:
        rows = [r for r in clip.rows if start <= r["t"] <= end]
        assert rows and all(r["looking_down"] for r in rows), (start, end)
        closed_s = sum(1 for r in rows if r["eyes_closed"]) / 25.0
        assert closed_s <= 0.2, (start, end, closed_s)  # at most a blink inside
    # With the eyes open and the head pitched (4.9-5.8 s, eyeBlink 0.01) nothing is closed.
    rows = [r for r in clip.rows if 4.9 <= r["t"] <= 5.8]
    assert not any(r["eyes_closed"] or r["looking_down"] for r in rows)
    assert all(r["eyes_judgeable"] for r in clip.rows)
    assert max(r["kss_level"] for r in clip.rows) <= 4


def test_male_clip_raises_no_drowsiness_event(replay_clip):
    clip = replay_clip("head-pose-face-detection-male.gif")
    assert not [e for e in clip.events if e["name"] in DROWSINESS_EVENTS]
    assert all(r["eyes_judgeable"] for r in clip.rows)
    closure = [r["eye_closure"] for r in clip.rows]
    assert all(not math.isnan(c) for c in closure)
    assert max(closure[:-3]) < 0.35  # open eyes, a closing lid only in the last frames
    assert math.isnan(clip.rows[-1]["perclos_60s"])  # 5 s of video: no PERCLOS yet
    assert {r["kss_level"] for r in clip.rows} == {3}


@pytest.mark.parametrize("name", ["iris_tracking_example.gif", "head-pose-face-detection-female.gif"])
def test_head_turning_clips_raise_no_microsleep_or_sleep(replay_clip, name):
    clip = replay_clip(name)
    assert not [e for e in clip.events if e["name"] in ("microsleep", "sleep")]
