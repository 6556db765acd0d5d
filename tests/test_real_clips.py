"""Real footage is the judge (issue 12): the real driver clips of ../shared/data/real, with
their behaviour truth (truth.yaml), replayed with the packaged default config (camera mount
`auto`: nothing told about where each camera sits) and scored by `eval --truth`'s rules
(driver_monitor/evaluation/truth.py): every expected event found, no false alert.

The clips are not redistributable, so they are read from ../shared and these tests skip
with the reason when it is missing. Beyond the scoring rules, each clip's alerts are
asserted exactly (names, and times to two frames), so a change that adds an alert the rules
would excuse (one inside a behaviour interval) still shows.
"""

from __future__ import annotations

import json

import pytest
from conftest import REAL

from driver_monitor.evaluation.truth import ALERT_EVENTS, load_truth, score_clip

pytestmark = pytest.mark.slow

TRUTH = REAL / "truth.yaml"

# clip -> its alert events (name, t) as replay gives them; times in s from the first frame.
EXPECTED_ALERTS: dict[str, list[tuple[str, float]]] = {
    # Eyes closed 0.95-5.5 s behind glasses at night (eyeBlink 0.25-0.7): the microsleep at
    # 1 s of closure, the sleep at 3 s, on the first frame after it with the eyes judged
    # (3.98-4.0 s are not: the verdict is never given from unjudged frames).
    "car_eyes_closed_woman": [("microsleep", 1.98), ("sleep", 4.02)],
    # The yawn at 1 s of open mouth; the closure 1.85-4.58 one microsleep from 1.81 s (read
    # open for 13-33 ms three times in its head-tilted middle: before closure.min_opening_s
    # those split it into slow blinks and a microsleep from 3.0 s, and the slow blinks made
    # the drowsy alert of the earlier runs).
    "car_yawn_man": [("yawn", 1.35), ("microsleep", 2.82)],
    # Over the shoulder 2.7-6.76 s, the face lost 2.83-6.5: long distraction 3 s after the
    # first off-road frame, from the face lost after the turn.
    "car_look_around_man": [("long_distraction", 5.83)],
    "desk_yawn": [("yawn", 4.4)],
    "desk_talking": [],
}


@pytest.fixture(scope="module")
def real_events(real_replays):
    """(truth, {clip: its replay's events}) from the session's replays (conftest)."""
    from driver_monitor.outputs.event_log import read_event_log

    return load_truth(TRUTH), {name: read_event_log(out / "events.jsonl") for name, out in real_replays.items()}


def test_every_real_clip_is_in_the_expectations(real_events):
    truth, _ = real_events
    assert set(truth) == set(EXPECTED_ALERTS)


@pytest.mark.parametrize("name", sorted(EXPECTED_ALERTS))
def test_real_clip_every_expected_event_and_no_false_alert(real_events, name):
    truth, events = real_events
    result = score_clip(name, truth[name], events[name])
    assert not result.missed, [e.describe() for e in result.missed]
    assert not result.false_alerts, result.false_alerts


@pytest.mark.parametrize("name", sorted(EXPECTED_ALERTS))
def test_real_clip_alerts_exactly(real_events, name):
    truth, events = real_events
    got = [(e["name"], e["t"]) for e in events[name]
           if e["kind"] == "event" and e.get("phase") in ("start", None) and e["name"] in ALERT_EVENTS]
    expected = EXPECTED_ALERTS[name]
    assert [n for n, _ in got] == [n for n, _ in expected], got
    # Two frames of the clip (at least 0.035 s; 0.11 s at 18 fps): room for another CPU's
    # landmark model, whose outputs differ in the last digits (tests/test_replay_e2e.py).
    two_frames_s = max(0.035, 2.0 / truth[name].fps + 1e-6)
    for (_, t), (_, want) in zip(got, expected, strict=True):
        assert t == pytest.approx(want, abs=two_frames_s), got


def test_eval_truth_cli_exits_1_on_a_miss_and_0_when_all_is_found(real_events, tmp_path, capsys):
    from driver_monitor.cli import main

    _, events = real_events
    replay_dir = tmp_path / "car_eyes_closed_woman"
    replay_dir.mkdir()
    (replay_dir / "events.jsonl").write_text("\n".join(json.dumps(e) for e in events["car_eyes_closed_woman"]))
    assert main(["eval", str(replay_dir), "--truth", str(TRUTH)]) == 0
    assert "car_eyes_closed_woman" in capsys.readouterr().out
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert main(["eval", str(empty), "--truth", str(TRUTH), "--clip", "car_eyes_closed_woman.mp4"]) == 1
    assert "MISSED eyes_closed 0.95-5.50 s -> sleep in [2.45, 6.50]" in capsys.readouterr().out
