"""Real attentive drivers, looped (benchmarks/real_attentive.py): the real clips' attentive
stretches played forward and back, alone and around their behaviours. A rule must raise
nothing on them and still find the behaviour after a long attentive lead-in, when the road
ahead and the driver's neutral pose are already learned (docs/robustness.md)."""

from __future__ import annotations

import importlib.util

import pytest
from conftest import REPO

from driver_monitor.config import load_config
from driver_monitor.evaluation.truth import load_truth, score_clip
from driver_monitor.outputs.event_log import read_event_log
from driver_monitor.replay import replay

_spec = importlib.util.spec_from_file_location("real_attentive", REPO / "benchmarks" / "real_attentive.py")
real_attentive = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(real_attentive)


def test_a_recipe_plays_its_segments_in_order_without_repeating_a_seam():
    times = [i / 10 for i in range(10)]  # 0.0 .. 0.9 s at 10 fps
    order, truth_at, truth_from = real_attentive.frame_order(
        times, 10.0, [("loop", 0.0, 0.4, 1.0), ("fwd", 0.2, 0.6, "truth"), ("back", 0.0, 0.3)])
    # Ping-pong 0,1,2,3 / 2,1 / 0,1,... for 10 frames (no endpoint twice), then 2..5 forward
    # (the truth from 0.2 s plays from index 10), then 2,1,0 backward.
    assert order == [0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 3, 4, 5, 2, 1, 0]
    assert (truth_at, truth_from) == (10, 0.2)


@pytest.mark.slow
def test_a_yawn_after_eight_seconds_of_attentive_driving(real_dir, tmp_path):
    """car_yawn_man's yawn after 8.7 s of his attentive end looped: the yawn, and the
    microsleep of his 2.7 s closure at 2.90 s into the clip (11.60 s here), as in the clip
    alone (2.82 s). With the head-tilt gate judged from the learned neutral pose alone (+14
    deg: the head back to -20 in the yawn read as turned), it came at 12.92 s."""
    truth = load_truth(real_dir / "truth.yaml")
    path, clip_truth = real_attentive.build("yawnman_pre8", None, tmp_path / "clips", truth)
    replay(path, load_config(), tmp_path / "out", progress=False)
    events = read_event_log(tmp_path / "out" / "events.jsonl")
    score = score_clip("yawnman_pre8", clip_truth, events)
    assert not score.missed and not score.false_alerts
    starts = {e["name"]: e["t"] for e in events if e.get("kind") == "event" and e.get("phase") in (None, "start")
              and e["name"] in ("yawn", "microsleep", "sleep")}
    assert starts["yawn"] == pytest.approx(10.05, abs=0.1)
    assert 11.5 <= starts["microsleep"] <= 11.75 and "sleep" not in starts


@pytest.mark.slow
def test_a_glance_to_the_side_window_then_attentive_raises_nothing(real_dir, tmp_path):
    """The look over the shoulder to 30 deg past the road (0.6 s) and back, then 14 s of his
    attentive start looped: nothing (the glance is no long distraction)."""
    truth = load_truth(real_dir / "truth.yaml")
    path, clip_truth = real_attentive.build("look_glance_first", None, tmp_path / "clips", truth)
    replay(path, load_config(), tmp_path / "out", progress=False)
    score = score_clip("look_glance_first", clip_truth, read_event_log(tmp_path / "out" / "events.jsonl"))
    assert not score.found and not score.missed and not score.false_alerts
