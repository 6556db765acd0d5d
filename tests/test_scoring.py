"""Scoring detections against labels: matches, latencies, misses, false alarms."""

import json

import pytest

from driver_monitor.cli import main
from driver_monitor.evaluation.scoring import intervals, score


def ev(t, name, phase=None, kind="event"):
    e = {"t": t, "kind": kind, "name": name}
    if phase:
        e["phase"] = phase
    return e


LABELS = [
    ev(10.0, "long_distraction", "start"), ev(13.5, "long_distraction", "end"),
    ev(20.0, "microsleep", "start"), ev(21.5, "microsleep", "end"),
    ev(30.0, "yawn"),
]


def test_intervals_pair_start_and_end_and_keep_instants():
    got = intervals(LABELS + [ev(31.0, "sleep", "start")])
    assert [(i.name, i.start_t, i.end_t) for i in got] == [
        ("long_distraction", 10.0, 13.5), ("microsleep", 20.0, 21.5), ("yawn", 30.0, 30.0), ("sleep", 31.0, 31.0),
    ]


def test_found_missed_and_false_alarms_with_latency():
    detections = [
        ev(13.0, "long_distraction", "start"), ev(13.6, "long_distraction", "end"),
        ev(21.0, "microsleep", "start"), ev(21.6, "microsleep", "end"),
        ev(50.0, "yawn"),  # too late for the 30 s yawn: a miss and a false alarm
        ev(5.0, "action-not-an-event", kind="action"),
    ]
    s = score(detections, LABELS, max_latency_s=4.0)
    assert s["long_distraction"].found == 1
    assert s["long_distraction"].latencies_s == [pytest.approx(3.0)]
    assert s["microsleep"].latencies_s == [pytest.approx(1.0)]
    assert s["yawn"].missed_at_t == [30.0]
    assert s["yawn"].false_alarms_at_t == [50.0]
    assert s["yawn"].recall == 0.0 and s["long_distraction"].precision == 1.0
    assert "action-not-an-event" not in s


def test_one_detection_matches_one_label():
    labels = [ev(1.0, "blink"), ev(1.2, "blink")]
    s = score([ev(1.1, "blink")], labels)["blink"]
    assert (s.found, len(s.missed_at_t), s.false_alarms) == (1, 1, 0)


def test_eval_cli_prints_a_table(tmp_path, capsys):
    (tmp_path / "events.jsonl").write_text("\n".join(json.dumps(e) for e in [ev(13.0, "long_distraction", "start")]))
    rec = tmp_path / "rec"
    rec.mkdir()
    (rec / "labels.jsonl").write_text("\n".join(json.dumps(e) for e in LABELS))
    assert main(["eval", str(tmp_path), str(rec), "--name", "long_distraction", "--name", "yawn"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:5] == ["event", "labels", "found", "missed", "false"]
    assert out[1].split() == ["long_distraction", "1", "1", "0", "0", "3.00,", "3.00"]
    assert out[2].split() == ["yawn", "1", "0", "1", "0", "-"]


def test_a_microsleep_that_became_sleep_is_not_a_false_alarm():
    detections = [
        ev(21.0, "microsleep", "start"),
        {"t": 23.0, "kind": "event", "name": "microsleep", "phase": "end", "detail": {"became": "sleep"}},
        ev(23.0, "sleep", "start"), ev(24.5, "sleep", "end"),
    ]
    labels = [ev(20.0, "sleep", "start"), ev(24.0, "sleep", "end")]
    s = score(detections, labels)
    assert s["sleep"].latencies_s == [pytest.approx(3.0)]
    assert "microsleep" not in s  # no interval of its own: nothing to score


@pytest.mark.parametrize(("lines", "message"), [
    ([ev(1.0, "sleep", "end")], "labels.jsonl:1: sleep ends without a start before it"),
    ([ev(1.0, "sleep", "start"), ev(2.0, "sleep", "start"), ev(3.0, "sleep", "end")],
     "labels.jsonl:2: sleep starts again before the end of its start on line 1"),
    ([ev(1.0, "slep", "start")], "labels.jsonl:1: unknown event name 'slep' (event names: anger, blink,"),
    ([ev(1.0, "yawn", "middle")], "labels.jsonl:1: detail must be a mapping and phase \"start\", \"end\" or absent "
                                  "(got phase 'middle')"),
])
def test_a_labels_file_that_would_score_silently_wrong_is_one_line(tmp_path, capsys, lines, message):
    (tmp_path / "events.jsonl").write_text(json.dumps(ev(1.5, "sleep", "start")) + "\n")
    labels = tmp_path / "labels.jsonl"
    labels.write_text("\n".join(json.dumps(e) for e in lines) + "\n")
    assert main(["eval", str(tmp_path / "events.jsonl"), str(labels)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {labels.parent}/{message}") and "\n" not in err


def test_eval_refuses_a_name_that_is_no_event(tmp_path, capsys):
    (tmp_path / "events.jsonl").write_text(json.dumps(ev(1.5, "sleep", "start")) + "\n")
    (tmp_path / "labels.jsonl").write_text(json.dumps(ev(1.0, "sleep", "start")) + "\n")
    assert main(["eval", str(tmp_path / "events.jsonl"), str(tmp_path / "labels.jsonl"), "--name", "slep"]) == 1
    assert capsys.readouterr().err.startswith("error: --name slep: not an event name (event names: anger, blink,")


def test_eval_prints_the_true_median_latency(tmp_path, capsys):
    # Latencies 1.0 and 3.0: the median is 2.00 (the upper middle, 3.00, was printed).
    events = [{"t": 11.0, "kind": "event", "name": "yawn"}, {"t": 23.0, "kind": "event", "name": "yawn"}]
    labels = [{"t": 10.0, "kind": "event", "name": "yawn"}, {"t": 20.0, "kind": "event", "name": "yawn"}]
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    (tmp_path / "labels.jsonl").write_text("".join(json.dumps(e) + "\n" for e in labels))
    assert main(["eval", str(tmp_path / "events.jsonl"), str(tmp_path / "labels.jsonl")]) == 0
    assert capsys.readouterr().out.splitlines()[1].split() == ["yawn", "2", "2", "0", "0", "2.00,", "3.00"]


def test_eval_refuses_labels_and_a_truth_file_together(tmp_path, capsys):
    # The labels were silently ignored: the table and the exit status were the truth file's.
    (tmp_path / "events.jsonl").write_text(json.dumps(ev(1.5, "sleep", "start")) + "\n")
    (tmp_path / "labels.jsonl").write_text(json.dumps(ev(1.0, "sleep", "start")) + "\n")
    (tmp_path / "truth.yaml").write_text("drive:\n  file: drive.mp4\n")
    assert main(["eval", str(tmp_path / "events.jsonl"), str(tmp_path / "labels.jsonl"), "--truth",
                 str(tmp_path / "truth.yaml"), "--clip", "drive"]) == 1
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'labels.jsonl'}: eval scores against LABELS or --truth, not both"


@pytest.mark.parametrize("command", ["eval", "sweep"])
def test_a_match_window_with_a_truth_file_is_refused(tmp_path, capsys, command):
    # Against --truth each behaviour's window is the truth rules' own: --max-latency-s changed
    # nothing, and the user read the same table as the answer to another question.
    (tmp_path / "drive").mkdir()
    (tmp_path / "drive" / "events.jsonl").write_text(json.dumps(ev(1.5, "sleep", "start")) + "\n")
    (tmp_path / "truth.yaml").write_text("drive:\n  file: drive.mp4\n")
    (tmp_path / "grid.yaml").write_text("distraction.long_distraction.threshold_s: [3.0]\n")
    args = ([str(tmp_path / "drive")] if command == "eval" else
            [str(tmp_path), "--grid", str(tmp_path / "grid.yaml"), "--out", str(tmp_path / "sweep")])
    assert main([command, *args, "--truth", str(tmp_path / "truth.yaml"), "--max-latency-s", "6"]) == 1
    assert capsys.readouterr().err.strip() == ("error: --max-latency-s: for labels only; against --truth each behaviour's "
                                               "window is the truth rules' own (driver_monitor/evaluation/truth.py)")
    assert not (tmp_path / "sweep").exists()
