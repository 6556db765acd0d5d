"""Behaviour-interval truth (truth.yaml) and the issue-12 scoring rules, on made-up events."""

from __future__ import annotations

import pytest

from driver_monitor.errors import ConfigError, InputError
from driver_monitor.evaluation.truth import (
    ClipTruth,
    expectations,
    find_clip,
    load_truth,
    score_clip,
)

TRUTH = """
drive:
  file: drive.mp4
  fps: 30
  intervals:
  - {kind: eyes_closed, start_s: 2.0, end_s: 6.0}
  - {kind: eyes_closed, start_s: 10.0, end_s: 11.5}
  - {kind: eyes_closed, start_s: 14.0, end_s: 14.6}
  - {kind: yawn, start_s: 20.0, end_s: 23.0}
  - {kind: look_down, start_s: 30.0, end_s: 34.0}
  - {kind: talking, start_s: 40.0, end_s: 50.0}
  ambiguous:
  - {what: head_turned, start_s: 60.0, end_s: 61.0}
  other:
  - {what: phone_at_ear, start_s: 70.0, end_s: 75.0}
  - {what: camera_above}
"""


def ev(name: str, t: float, phase: str | None = "start") -> dict:
    e = {"t": t, "kind": "event", "name": name}
    if phase:
        e["phase"] = phase
    return e


@pytest.fixture
def clip(tmp_path) -> ClipTruth:
    path = tmp_path / "truth.yaml"
    path.write_text(TRUTH)
    return load_truth(path)["drive"]


def test_each_behaviour_maps_to_the_events_a_correct_detector_raises(clip):
    got = [(sorted(e.names), e.earliest_t, e.latest_t) for e in expectations(clip)]
    assert got == [
        (["sleep"], 3.5, 7.0),  # >= 3 s: sleep from onset + 1.5 to end + 1
        (["microsleep", "sleep"], 10.5, 12.5),  # >= 1 s: from onset + 0.5 to end + 1
        (["yawn"], 20.0, 25.0),  # the 0.6 s closure expects nothing; yawn to end + 2
        (["long_distraction", "unresponsive"], 32.5, 35.5),
    ]


def test_found_missed_and_false_alerts_with_the_excuses(clip):
    events = [
        ev("microsleep", 3.0), ev("microsleep", 5.0, "end"), ev("sleep", 5.0),  # sleep found
        ev("yawn", 21.0, None),
        ev("phone_use", 31.0),  # inside the look-down: excused, and not the expected event
        ev("long_distraction", 45.0),  # talking excuses nothing
        ev("unresponsive", 60.5),  # ambiguous span excuses
        ev("phone_use", 74.0), ev("long_distraction", 74.5),  # the phone excuses only phone_use
        ev("blink", 90.0, None), ev("driver_absent", 95.0),  # not alerts
    ]
    s = score_clip("drive", clip, events)
    assert [(e.behaviour.kind, a.name, a.t) for e, a in s.found] == [("eyes_closed", "sleep", 5.0), ("yawn", "yawn", 21.0)]
    assert [(e.behaviour.kind, e.behaviour.start_s) for e in s.missed] == [("eyes_closed", 10.0), ("look_down", 30.0)]
    assert [(a.name, a.t) for a in s.false_alerts] == [("long_distraction", 45.0), ("long_distraction", 74.5)]
    assert not s.ok


def test_an_alert_within_1_s_of_an_interval_is_excused_and_one_beyond_is_not(clip):
    s = score_clip("drive", clip, [ev("drowsy", 12.4), ev("drowsy", 12.6)])
    assert [a.t for a in s.false_alerts] == [12.6]


def test_bad_truth_files_get_one_line_per_problem(tmp_path):
    path = tmp_path / "truth.yaml"
    path.write_text("a:\n  file: a.mp4\n  intervals:\n  - {kind: snoozing, start_s: 1, end_s: 2}\n"
                    "b:\n  file: b.mp4\n  intervals:\n  - {kind: yawn, start_s: 3, end_s: 2}\n")
    with pytest.raises(ConfigError) as exc:
        load_truth(path)
    lines = exc.value.problems
    assert len(lines) == 2
    assert lines[0].startswith(f"{path}: a.intervals.0.kind: Input should be 'eyes_closed'")
    assert lines[1] == f"{path}: b.intervals.0: end_s must not be before start_s"


def test_a_replay_is_matched_to_its_clip_by_name_or_file(clip, tmp_path):
    truth = {"drive": clip}
    assert find_clip(truth, "out/drive") == "drive" and find_clip(truth, "drive.mp4") == "drive"
    with pytest.raises(InputError, match="no clip named 'other' in the truth file \\(clips: drive\\)"):
        find_clip(truth, "other")


@pytest.mark.parametrize("reverse", [False, True])
def test_each_expectation_is_found_whatever_the_order_the_truth_lists_them_in(reverse):
    """A 4 s closure then, 0.5 s later, a 1.5 s one: the sleep at 5.0 s is in both windows, the
    microsleep at 6.0 s only in the second's. Listed second-first, the short closure took the
    sleep and the long one was missed (and `eval --truth` exited 1), though each had an alert."""
    long = {"kind": "eyes_closed", "start_s": 0.0, "end_s": 4.0}  # sleep in [1.5, 5.0]
    short = {"kind": "eyes_closed", "start_s": 4.5, "end_s": 6.0}  # microsleep or sleep in [5.0, 7.0]
    clip = ClipTruth(file="drive.mp4", intervals=[short, long] if reverse else [long, short])
    s = score_clip("drive", clip, [ev("sleep", 5.0), ev("microsleep", 6.0)])
    assert sorted((e.behaviour.start_s, a.name, a.t) for e, a in s.found) == [(0.0, "sleep", 5.0), (4.5, "microsleep", 6.0)]
    assert s.missed == [] and s.false_alerts == [] and s.ok


def test_an_ambiguous_span_without_both_times_is_refused(tmp_path):
    """An ambiguous span with its end_s forgotten was accepted and excused nothing: the alerts
    the annotator meant it to excuse read as false (and `eval --truth` exited 1)."""
    path = tmp_path / "truth.yaml"
    path.write_text("a:\n  file: a.mp4\n  ambiguous:\n  - {what: head_turned, start_s: 2.0}\n"
                    "  other:\n  - {what: camera_above}\n")  # an `other` entry may have no times
    with pytest.raises(ConfigError) as exc:
        load_truth(path)
    assert exc.value.problems == [f"{path}: a.ambiguous.0.end_s: Field required"]
    path.write_text("a:\n  file: a.mp4\n  other:\n  - {what: phone_at_ear, start_s: 2.0}\n")  # excused no phone_use
    with pytest.raises(ConfigError) as exc:
        load_truth(path)
    assert exc.value.problems == [f"{path}: a.other.0: start_s and end_s go together (a span with one of them is no stretch)"]
