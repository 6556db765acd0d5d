"""The HTML drive report without a browser: what it reads, pairs, scores, thins and writes.

The drive is tests/report_drive.py's scripted 130 s replay through the real Pipeline, so the
times asserted here are the pipeline's own (a lap glance at 45 s fires long_distraction at
48.0, the 4.5 s closure at 100 s becomes sleep at 103.0667, ...)."""

from __future__ import annotations

import csv
import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from report_drive import write_replay

from driver_monitor.cli import main
from driver_monitor.config import Config, load_config
from driver_monitor.errors import InputError
from driver_monitor.evaluation.scoring import score
from driver_monitor.evaluation.truth import load_truth, score_clip
from driver_monitor.report.corpus import CorpusDrive, write_corpus_report
from driver_monitor.report.data import load_replay
from driver_monitor.report.decimate import m4_indices, runs
from driver_monitor.report.drive_report import ReportRequest, write_report
from driver_monitor.report.figure import FigureInput, _level_at, build_figure, level_changes
from driver_monitor.report.ground_truth import from_labels, from_truth
from driver_monitor.report.no_warning import PolicyContext, unwarned_events
from driver_monitor.report.plotly_bundle import BASIC_VERSION, bundle_version, plotly_js
from driver_monitor.report.settings import UsedConfig
from driver_monitor.report.summary import (
    actions_table,
    config_table,
    events_table,
    face_found_share,
)
from driver_monitor.report.timeline import build_timeline

DRIVE_S = 130.0


@pytest.fixture(scope="module")
def replay_dir(tmp_path_factory) -> Path:
    return write_replay(tmp_path_factory.mktemp("report") / "drive", DRIVE_S)


@pytest.fixture(scope="module")
def data(replay_dir):
    return load_replay(replay_dir)


def _copy(replay_dir: Path, dest: Path) -> Path:
    dest.mkdir(parents=True)
    for f in replay_dir.iterdir():
        (dest / f.name).write_bytes(f.read_bytes())
    return dest


def test_timeline_pairs_event_and_action_lines_with_their_details(data):
    tl = build_timeline(data.events, data.end_t)
    ld = tl.named("long_distraction")
    assert [(s.start_t, s.end_t, s.onset_t, s.detail["zone"]) for s in ld] == [(48.0, 50.5, 45.0, "lap")]
    sleep = tl.named("sleep")
    # Its end said 0.1 s after the eyes opened (closure.min_opening_s).
    assert [(s.start_t, s.end_t) for s in sleep] == [(103.0667, 104.6667)]
    # The microsleep that grew into the sleep keeps its own span up to the switch.
    assert [(s.start_t, s.end_t, s.end_detail.get("became")) for s in tl.named("microsleep")] == [
        (71.0667, 71.7667, None), (101.0667, 103.0667, "sleep")]
    yawn = tl.named("yawn")
    assert [(s.start_t, s.instantaneous) for s in yawn] == [(86.0, True)]
    chimes = [a for a in tl.actions if a.name == "chime"]
    assert (chimes[0].start_t, chimes[0].end_t, chimes[0].stage, chimes[0].detail["condition"]) == (71.0667, 72.6667, 0, "microsleep")
    assert [line.t for line in tl.state_lines("calibrated")] == [78.6333]


def _bars(fig, lane: int) -> list[tuple[str, float, float]]:
    out = []
    for tr in fig.data:
        if tr.fill == "toself" and tr.name and tr.name.startswith("level"):
            x, y = list(tr.x), list(tr.y)
            out += [(tr.name, x[k], x[k + 1]) for k in range(0, len(x), 6) if abs(y[k] - (lane - 0.3)) < 1e-9]
    return sorted(out, key=lambda b: b[1])


def test_an_action_left_on_while_the_level_changed_is_drawn_at_each_level(data):
    """The drowsy ladder's visual icon starts at 105.5667 with the seat, voice and break advice
    (level 2, stage 2) and stays on to the end (level 1, stage 3: the others ended at 114.4333).
    Its bar was level 2 all the way to 130.0 and its hover said 'level 2, stage 2'."""
    tl = build_timeline(data.events, data.end_t)
    fig = build_figure(FigureInput(data, tl, load_config(None)))
    lane = sorted({a.name for a in tl.actions}).index("visual_icon")
    # 112.0-114.0: driver_absent's notice comes before drowsy's warning (docs/policy.md "Priorities").
    assert [b for b in _bars(fig, lane) if b[1] >= 105] == [
        ("level 2", 105.5667, 112.0), ("level 2", 112.0, 114.0), ("level 2", 114.0, 114.4333), ("level 1", 114.4333, 130.0)]
    hover = [h for tr in fig.data if tr.mode == "markers+text" for h in tr.hovertext]
    assert "visual_icon 114.00-130.00 s: drowsy, level 2 to 1, stage 2 to 3" in hover
    assert "chime 112.00-114.00 s: driver_absent, level 2, stage 0" in hover
    assert "chime 71.07-72.67 s: microsleep, level 2, stage 0" in hover
    # The level drawn is the one the policy logged on every action line.
    changes = level_changes(tl.actions)
    assert changes == [(71.0667, 2), (72.6667, 0), (88.8667, 1), (101.0667, 2), (104.0667, 3), (105.5667, 2),
                       (114.4333, 1), (130.0, 0)]
    for a in tl.actions:
        assert _level_at(changes, a.start_t) == a.detail["level"]
        assert _level_at(changes, a.end_t - 1e-6) == a.end_detail["level"]


def test_a_span_still_open_at_the_end_lasts_to_the_last_time():
    events = [{"t": 1.0, "kind": "event", "name": "drowsy", "phase": "start", "detail": {"level": 7}},
              {"t": 2.0, "kind": "event", "name": "blink"}]
    (span,) = build_timeline(events, end_t=9.5).spans()
    assert (span.start_t, span.end_t, span.truncated) == (1.0, 9.5, True)


def test_open_at_the_end_counts_what_the_drive_ended_with_not_what_a_camera_fault_cut():
    """A sleep cut by a camera fault at 12 s (truncated, reason camera_fault) was counted as open
    at the end of a drive that ended at 30 s; an action still on at the end was said nowhere."""
    events = [
        {"t": 10.0, "kind": "event", "name": "sleep", "phase": "start", "detail": {"onset_t": 7.0}},
        {"t": 10.0, "kind": "action", "name": "visual_icon", "phase": "start",
         "detail": {"condition": "sleep", "level": 2, "stage": 0}},
        {"t": 12.0, "kind": "event", "name": "sleep", "phase": "end", "detail": {"truncated": True, "reason": "camera_fault"}},
        {"t": 12.0, "kind": "event", "name": "camera_fault", "phase": "start", "detail": {"onset_t": 11.0, "reason": "frozen_image"}},
        {"t": 20.0, "kind": "event", "name": "camera_fault", "phase": "end", "detail": {"duration_s": 9.0}},
        {"t": 25.0, "kind": "event", "name": "drowsy", "phase": "start", "detail": {"level": 7}},
        {"t": 30.0, "kind": "event", "name": "drowsy", "phase": "end", "detail": {"truncated": True, "level": 7}},
        {"t": 30.0, "kind": "action", "name": "visual_icon", "phase": "end",
         "detail": {"condition": "sleep", "level": 2, "stage": 1, "truncated": True}},
    ]
    tl = build_timeline(events, 30.0)
    # camera_fault: on 8 s (12-20), the fault itself 9 s (its end's duration_s, from 11.0).
    assert events_table(tl).rows == [("camera_fault", 1, "8.0", "9.00", "12.00", ""),
                                     ("drowsy", 1, "5.0", "5.00", "25.00", 1),
                                     ("sleep", 1, "2.0", "2.00", "10.00", "")]
    actions = actions_table(tl)
    assert actions.header[-1] == "on at the end"
    assert actions.rows == [("visual_icon", 1, "sleep 1", "stage 0: 1", "20.0", "10.00", 1)]
    # A span with no end line is open at the end too (closed at the last time seen).
    (drowsy,) = build_timeline(events[:6], 30.0).named("drowsy")
    assert (drowsy.end_t, build_timeline(events[:6], 30.0).open_at_end(drowsy)) == (30.0, True)
    data = load_replay_like(events)
    fig = build_figure(FigureInput(data, tl, load_config(None)))
    hover = {t.name: list(t.hovertext) for t in fig.data if t.hovertext is not None and t.mode == "markers"}
    assert hover["sleep"] == ["sleep 10.00-12.00 s (cut short: camera_fault) (onset 7.00) onset_t=7.0"]
    # The sleep's icon (priority 90) held the driver's attention: the drowsy advice got none.
    assert hover["drowsy"] == ["drowsy 25.00-30.00 s (still on at the end of the drive) (onset 25.00) level=7 | no warning: "
                               "arbitration: sleep shown (sleep (priority 90) held what the driver sees and hears; "
                               "drowsy is priority 55)"]


def load_replay_like(events):
    """A replay of these events without a feature table."""
    from driver_monitor.report.data import ReplayData

    return ReplayData(root=Path("."), events=events)


def test_m4_keeps_every_peak_and_every_gap():
    values = np.zeros(100_000)
    values[54_321] = 1.0
    values[12_345] = -3.0
    values[7_000:7_010] = np.nan
    idx = m4_indices(values, 4000)
    assert len(idx) <= 4000 + 1000  # 4 per bucket + a missing sample where a bucket has one
    assert 54_321 in idx and 12_345 in idx
    assert np.isnan(values[idx]).any() and all(7_000 <= i < 7_010 for i in idx[np.isnan(values[idx])])
    assert idx[0] == 0 and idx[-1] == len(values) - 1
    assert list(m4_indices(np.arange(10.0), 100)) == list(range(10))  # short traces untouched


def _gap_drive(tmp_path: Path) -> Path:
    """Frames at 30 fps over 0-10 s and 40-50 s (none between: camera_fault no_frame), the eyes
    closed (0.9) from 9.5 s to 40.5 s, a 0.4 s hiccup at 45 s, the gaze on the road throughout."""
    t = np.round(np.concatenate([np.arange(0, 10, 1 / 30), np.arange(40, 45, 1 / 30), np.arange(45.4, 50, 1 / 30)]), 4)
    closure = np.where((t > 9.5) & (t < 40.5), 0.9, 0.1)
    d = tmp_path / "gap"
    d.mkdir()
    with open(d / "features.csv", "w") as f:
        f.write("t,eye_closure,gaze_zone\n")
        f.writelines(f"{a:.4f},{c},{'road' if a < 48 else 'lap'}\n" for a, c in zip(t, closure, strict=True))
    (d / "events.jsonl").write_text(
        '{"t": 11.0, "kind": "event", "name": "camera_fault", "phase": "start", "detail": {"onset_t": 10.0, "reason": "no_frame"}}\n'
        '{"t": 40.0, "kind": "event", "name": "camera_fault", "phase": "end", "detail": {"duration_s": 30.0}}\n')
    return d


@pytest.mark.parametrize("max_points", [8000, 40])
def test_lines_and_zone_bands_stop_where_the_frames_stop(tmp_path, max_points):
    """No frame from 10 s to 40 s: the closure line ran straight across (eyes closed for 30 s
    nobody saw) and the road band covered the gap and counted it in its share."""
    data = load_replay(_gap_drive(tmp_path))
    fig = build_figure(FigureInput(data, build_timeline(data.events, data.end_t), load_config(None), max_points=max_points))
    closure = next(tr for tr in fig.data if tr.name == "eye_closure")
    x, y = np.asarray(closure.x, dtype=float), np.asarray(closure.y, dtype=float)
    at = int(np.flatnonzero(np.isnan(y) & (x > 9.9) & (x < 40.0))[0])
    assert [round(v, 4) for v in x[[at - 1, at + 1]]] == [9.9667, 40.0]  # the last and first frame beside it
    assert x[at] == pytest.approx((9.9667 + 40.0) / 2, abs=1e-3)
    assert [float(v) for v in y[[at - 1, at + 1]]] == pytest.approx([0.9, 0.9])
    # The 0.4 s hiccup at 45 s (12 frame periods, under the 30 of camera health) is no gap.
    assert not np.isnan(y[(x > 44.9) & (x < 45.5)]).any()
    assert np.isnan(y).sum() == 1
    road = next(tr for tr in fig.data if tr.name and tr.name.startswith("road"))
    lap = next(tr for tr in fig.data if tr.name and tr.name.startswith("lap"))
    assert [None if v is None else round(v, 4) for v in road.x] == [0.0, 10.0, 10.0, 0.0, 0.0, None,
                                                                     40.0, 48.0, 48.0, 40.0, 40.0, None]
    # 18 s of 20 s seen on the road, 2 s (48.0 to the last frame) in the lap.
    assert (road.name, lap.name) == ("road (90 %)", "lap (10 %)")


def test_runs_of_zones():
    assert runs(["road", "road", None, "lap", "lap"]) == [(0, 1, "road"), (2, 2, None), (3, 4, "lap")]


def test_labels_are_marked_found_missed_and_false_as_eval_scores_them(replay_dir, data, tmp_path):
    labels = tmp_path / "labels.jsonl"
    labels.write_text("\n".join(json.dumps(x) for x in [
        {"t": 100.0, "kind": "event", "name": "sleep", "phase": "start"},
        {"t": 104.5, "kind": "event", "name": "sleep", "phase": "end"},
        {"t": 60.0, "kind": "event", "name": "yawn"},
    ]) + "\n")
    gt = from_labels(labels, data.events, data.end_t)
    marks = {(m.status, m.name, round(m.t, 4)) for m in gt.marks}
    assert ("found", "sleep", 103.0667) in marks
    assert ("missed", "yawn", 60.0) in marks
    assert ("false", "yawn", 86.0) in marks
    rows = {r.name: (r.expected, r.found, r.missed, r.false, r.latency_s) for r in gt.rows}
    assert rows["sleep"] == (1, 1, 0, 0, "3.07, 3.07")
    assert rows["yawn"] == (1, 0, 1, 1, "-")
    # The same numbers `eval` prints.
    s = score(data.events, [json.loads(x) for x in labels.read_text().splitlines()])
    assert (s["yawn"].found, s["yawn"].false_alarms, s["sleep"].latencies_s) == (0, 1, [pytest.approx(3.0667)])


def test_the_latency_median_is_evals_for_an_even_count(tmp_path):
    """Two yawns found 0.5 s and 1.5 s late: eval (and the corpus page) say median 1.00; the
    drive report said 1.50 (the upper of the middle two)."""
    labels = tmp_path / "labels.jsonl"
    labels.write_text('{"t": 10.0, "kind": "event", "name": "yawn"}\n{"t": 20.0, "kind": "event", "name": "yawn"}\n')
    detections = [{"t": 10.5, "kind": "event", "name": "yawn"}, {"t": 21.5, "kind": "event", "name": "yawn"}]
    truth = from_labels(labels, detections, 30.0)
    assert [(r.name, r.found, r.latency_s) for r in truth.rows] == [("yawn", 2, "1.00, 1.50")]
    assert score(detections, [json.loads(x) for x in labels.read_text().splitlines()])["yawn"].latencies_s == [0.5, 1.5]


def test_labels_of_another_drive_are_refused_in_one_line(data, tmp_path):
    labels = tmp_path / "labels.jsonl"
    labels.write_text('{"t": 512.0, "kind": "event", "name": "sleep", "phase": "start"}\n')
    with pytest.raises(InputError) as err:
        from_labels(labels, data.events, data.end_t)
    assert str(err.value) == (f"{labels}: label sleep at 512.00 s starts after the replay ends (130.00 s): "
                              "labels of another drive?")


def _truth_file(path: Path, duration_s: float) -> Path:
    path.write_text(yaml.safe_dump({"drive": {
        "file": "drive.mkv", "duration_s": duration_s,
        "intervals": [{"kind": "eyes_closed", "start_s": 100.0, "end_s": 104.5},
                      {"kind": "look_down", "start_s": 45.0, "end_s": 50.0},
                      {"kind": "yawn", "start_s": 20.0, "end_s": 23.0}],
        "ambiguous": [{"what": "glare", "start_s": 84.0, "end_s": 88.0}]}}))
    return path


def test_truth_intervals_are_scored_as_evaluation_truth_scores_them(data, tmp_path):
    truth = _truth_file(tmp_path / "truth.yaml", DRIVE_S)
    gt = from_truth(truth, "drive", data.events, data.end_t)
    by_kind = {s.name: s.status for s in gt.spans}
    assert by_kind["eyes_closed"] == "found" and by_kind["look_down"] == "found" and by_kind["yawn"] == "missed"
    assert by_kind["ambiguous: glare"] == "ambiguous"
    expected = score_clip("drive", load_truth(truth)["drive"], data.events)
    assert gt.count("found") == len(expected.found) and gt.count("missed") == len(expected.missed) == 1
    assert gt.count("false") == len(expected.false_alerts)
    (missed,) = [m for m in gt.marks if m.status == "missed"]
    assert (missed.t, missed.row) == (20.0, "yawn")
    # The latency column: from the behaviour's start to the alert that found it.
    rows = {r.name: r for r in gt.rows}
    for exp, alert in expected.found:
        latency = alert.t - exp.behaviour.start_s
        assert rows[alert.name].latency_s == f"{latency:.2f}, {latency:.2f}"
    assert expected.found


def test_truth_of_a_clip_of_another_length_is_refused(data, tmp_path):
    truth = _truth_file(tmp_path / "truth.yaml", 5.9)
    with pytest.raises(InputError, match=r"clip drive lasts 5\.90 s but the replay covers 130\.00 s"):
        from_truth(truth, "drive", data.events, data.end_t)


def test_summary_tables_come_from_the_full_columns(data):
    tl = build_timeline(data.events, data.end_t)
    rows = {r[0]: r for r in events_table(tl).rows}
    # On 2.5 s (48.0-50.5); the glance itself 5 s (its end's duration_s, from its onset).
    assert rows["long_distraction"] == ("long_distraction", 1, "2.5", "5.00", "48.00", "")
    # Alerted 103.07-104.67; the closure itself 4.51 s (the end's duration_s).
    assert rows["sleep"][1:5] == (1, "1.6", "4.51", "103.07")
    assert rows["blink"][1] == len([e for e in data.events if e["name"] == "blink"])
    chime = {r[0]: r for r in actions_table(tl).rows}["chime"]
    assert chime[2] == "driver_absent 1, microsleep 2, sleep 1, unresponsive 1" and "stage 0" in chime[3]
    # 3.5 s of every 120 s without a face, sampled at 30 fps.
    absent = int(np.sum(~data.numeric["face_present"].astype(bool)))
    assert face_found_share(data) == pytest.approx(1 - absent / data.frames)
    assert absent == 105  # 110.0 <= t < 113.5 at 30 fps
    # Rows of pictures camera health refused (no face: not looked at) are no frames of the
    # share, as replay prints it (a dark stretch read 59.5 % in replay, 49.3 % here).
    numeric = dict(data.numeric)
    numeric["frame_judged"] = np.ones(data.frames)
    numeric["frame_judged"][:300] = 0.0
    numeric["face_present"] = numeric["face_present"].copy()
    numeric["face_present"][:300] = 0.0
    refused = dataclasses.replace(data, numeric=numeric)
    assert face_found_share(refused) == pytest.approx(1 - absent / (data.frames - 300))


def test_display_thinning_keeps_peaks_and_never_changes_the_tables(replay_dir, tmp_path):
    thin = write_report(ReportRequest(replay_dir, tmp_path / "thin.html", max_points=400))
    full = write_report(ReportRequest(replay_dir, tmp_path / "full.html", max_points=100_000))
    assert thin.bytes < full.bytes
    table = re.compile(r"<section id=\"events\">.*?</section>", re.S)
    assert table.search(thin.path.read_text()).group(0) == table.search(full.path.read_text()).group(0)
    data = load_replay(replay_dir)
    fig = build_figure(FigureInput(data, build_timeline(data.events, data.end_t), Config(), max_points=400))
    (closure,) = [t for t in fig.data if t.name == "eye_closure"]
    assert len(closure.y) <= 400 + 100
    assert np.nanmax(closure.y) == pytest.approx(np.nanmax(data.numeric["eye_closure"]), abs=1e-6)


def test_the_report_is_one_file_that_asks_nothing_from_a_network(replay_dir, tmp_path):
    result = write_report(ReportRequest(replay_dir, tmp_path / "r.html"))
    text = result.path.read_text(encoding="utf-8")
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    assert not re.search(r"<(script|img|link|iframe)[^>]+(src|href)=\"(?!data:)", text)
    assert f"plotly.js (basic - minified) v{BASIC_VERSION}" in text[:200_000]
    assert result.bytes < 3_000_000


def test_the_vendored_plotly_bundle_matches_the_installed_plotly():
    script, note = plotly_js()
    assert note is None, note
    assert bundle_version(script) == BASIC_VERSION


def test_older_replays_without_new_columns_get_notes_not_errors(replay_dir, tmp_path):
    old = _copy(replay_dir, tmp_path / "old")
    dropped = {"eye_closure_left", "eye_closure_right", "iris_hidden", "calibrating", "away_evidence_share",
               "perclos_60s", "perclos_180s", "gaze_zone"}
    with (replay_dir / "features.csv").open(newline="") as src, (old / "features.csv").open("w", newline="") as dst:
        reader = csv.DictReader(src)
        keep = [c for c in reader.fieldnames if c not in dropped]
        writer = csv.DictWriter(dst, keep, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(reader)
    result = write_report(ReportRequest(old, old / "report.html"))
    assert "eye closure: no column eye_closure_left, eye_closure_right in this replay's table (older replay?): not drawn" in result.notes
    assert "PERCLOS: no column perclos_60s, perclos_180s in this replay's table (older replay?): not drawn" in result.notes
    assert "gaze zone: no gaze_zone column in this replay's table: not drawn" in result.notes
    assert "PERCLOS (P80" not in result.path.read_text()


def test_a_replay_without_its_table_still_shows_its_events(replay_dir, tmp_path):
    d = _copy(replay_dir, tmp_path / "events_only")
    (d / "features.csv").unlink()
    result = write_report(ReportRequest(d, d / "r.html"))
    assert result.notes[0] == f"no per-frame table (features.parquet or features.csv) in {d}: timelines show events only"
    assert "Events (spans from the rule firing" in result.path.read_text()


def test_config_comes_from_run_yaml_and_its_diff_and_thresholds_show(replay_dir, tmp_path):
    d = _copy(replay_dir, tmp_path / "with_run")
    config = load_config(None)
    settings = config.model_dump(mode="json")
    settings["drowsiness"]["blink"]["closed_threshold"] = 0.6
    (d / "run.yaml").write_text(yaml.safe_dump({"command": "replay", "package_version": "0.1.0",
                                                "input": {"path": "recordings/x"},
                                                "config": {"path": "tuned.yaml", "settings": settings}}))
    result = write_report(ReportRequest(d, d / "r.html"))
    text = result.path.read_text()
    assert "run.yaml (tuned.yaml)" in text
    # A replay with the packaged default says so once, not in double brackets.
    (d / "run.yaml").write_text(yaml.safe_dump({"command": "replay", "config": {"path": "(packaged default)",
                                                                              "settings": settings}}))
    text = write_report(ReportRequest(d, d / "r.html")).path.read_text()
    assert "run.yaml: (packaged default)" in text and "((packaged default))" not in text
    assert "<td>drowsiness.blink.closed_threshold</td><td class=\"num\">0.5</td><td class=\"num\">0.6</td>" in text
    assert '"name":"closed from 0.6"' in text
    used = UsedConfig(config, "packaged", True)
    assert config_table(used).rows == []
    (d / "run.yaml").write_text("config: [unclosed")
    assert f"{d / 'run.yaml'}: not readable YAML; provenance not shown" in write_report(ReportRequest(d, d / "r.html")).notes


def test_vehicle_speed_comes_from_the_recordings_can_log(replay_dir, tmp_path):
    from driver_monitor.can.logs import write_vehicle_can_log
    from driver_monitor.messages import VehicleState
    from driver_monitor.recording.format import write_meta
    from driver_monitor.recording.writer import RecordingWriter
    from driver_monitor.report.vehicle_speed import speed_from_recording

    rec = tmp_path / "rec"
    writer = RecordingWriter(rec, 64, 48)
    for i in range(3):
        writer.add_frame(i * 0.5, np.zeros((48, 64, 3), np.uint8))
    writer.close()
    states = [VehicleState(t=i * 0.1, speed_kph=10.0 * i) for i in range(20)]
    start = write_vehicle_can_log(states, rec / "can.blf")
    meta = yaml.safe_load((rec / "meta.yaml").read_text())
    write_meta(rec / "meta.yaml", {**meta, "can_start_time_s": start})
    speed = speed_from_recording(rec, Config(), np.array([0.0, 0.5, 1.0, 1.85]))
    assert speed[1:] == pytest.approx([50.0, 100.0, 180.0], abs=0.5)


def test_cli_report_and_its_errors_in_one_line(replay_dir, tmp_path, capsys):
    out = tmp_path / "cli.html"
    assert main(["report", str(replay_dir), "-o", str(out)]) == 0
    assert out.stat().st_size > 100_000
    assert capsys.readouterr().out.startswith(f"report {out} (")

    empty = tmp_path / "empty"
    empty.mkdir()
    broken = _copy(replay_dir, tmp_path / "broken")
    (broken / "features.csv").write_bytes(b"t,eye_closure\n0.0,0.1\n\x00\xff,zz,1,2\n")
    labels = tmp_path / "other.jsonl"
    labels.write_text('{"t": 900.0, "kind": "event", "name": "yawn"}\n')
    cases = [
        (["report", str(tmp_path / "nowhere")], f"error: {tmp_path / 'nowhere'}: no such directory"),
        (["report", str(empty)], f"error: {empty}: no events.jsonl here: not a replay output directory "
                                 "(`driver-monitor replay INPUT --out DIR` writes one)"),
        (["report", str(broken)], f"error: {broken / 'features.csv'}: not a readable feature table"),
        (["report", str(replay_dir), "-o", str(tmp_path / "x.html"), "--labels", str(labels)],
         f"error: {labels}: label yawn at 900.00 s starts after the replay ends"),
    ]
    for argv, expected in cases:
        assert main(argv) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(expected), err


def test_a_table_whose_t_is_not_seconds_is_one_line_naming_it(tmp_path, capsys):
    """A `t` of text cells, or another tool's timestamps, was a KeyError traceback."""
    import datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    text, stamps = tmp_path / "text", tmp_path / "stamps"
    for d in (text, stamps):
        d.mkdir()
        (d / "events.jsonl").write_text('{"t": 0.5, "kind": "event", "name": "blink"}\n')
    (text / "features.csv").write_text("t,eye_closure\nabc,0.1\n1.0,0.2\n")
    pq.write_table(pa.table({"t": [datetime.datetime(2024, 1, 1), datetime.datetime(2024, 1, 1, 0, 0, 1)],
                             "eye_closure": [0.1, 0.2]}), stamps / "features.parquet")
    for path, column in ((text / "features.csv", "string"), (stamps / "features.parquet", "timestamp[us]")):
        assert main(["report", str(path.parent), "-o", str(tmp_path / "r.html")]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [f"error: {path}: `t` is not seconds (a {column} column; not a driver-monitor feature table?)"]
    assert not (tmp_path / "r.html").exists()


def test_corpus_report_has_one_row_per_drive_linking_to_its_report(data, tmp_path):
    drive_html = tmp_path / "drives" / "a.html"
    drive_html.parent.mkdir()
    drive_html.write_text("<html></html>")
    labels = [{"t": 100.0, "kind": "event", "name": "sleep", "phase": "start"},
              {"t": 104.5, "kind": "event", "name": "sleep", "phase": "end"}]
    scores = score(data.events, labels, names=["sleep"])
    truth = load_truth(_truth_file(tmp_path / "truth.yaml", DRIVE_S))
    clip_score = score_clip("drive", truth["drive"], data.events)
    index = write_corpus_report([CorpusDrive("a", drive_html, scores, {"frames": 3901}),
                                 CorpusDrive("b", None, clip_score)], tmp_path / "index.html")
    text = index.read_text()
    assert '<a href="drives/a.html">a</a>' in text
    assert ('<td>3901</td><td class="num">1</td><td class="num">1</td><td class="num">0</td>'
            '<td class="num">0</td><td class="found">ok</td>') in text
    b = clip_score
    expected_b = (len(b.found) + len(b.missed), len(b.found), len(b.missed), len(b.false_alerts))
    assert "".join(f'<td class="num">{v}</td>' for v in expected_b) + '<td class="missed">FAIL</td>' in text
    all_row = re.search(r"<tr><td>all</td>(.*?)</tr>", text).group(1)
    found = 1 + len(b.found)
    assert all_row.startswith(f'<td class="num">{1 + expected_b[0]}</td><td class="num">{found}</td>')


def test_corpus_report_counts_in_evals_rows_with_evals_median_and_is_private(tmp_path):
    """The page's table is eval's: a microsleep-or-sleep found by a sleep is counted in the
    microsleep row, the median of two latencies is their mean, and the file is the owner's
    only (the drivers' states, as every output of a replay)."""
    from driver_monitor.evaluation.corpus import score_truth

    truth_path = tmp_path / "truth.yaml"
    truth_path.write_text(yaml.safe_dump({"clip": {"file": "clip.mp4", "fps": 30, "duration_s": 30.0, "intervals": [
        {"kind": "yawn", "start_s": 0.0, "end_s": 3.0}, {"kind": "yawn", "start_s": 10.0, "end_s": 13.0},
        {"kind": "eyes_closed", "start_s": 20.0, "end_s": 21.5}]}}))
    clip = load_truth(truth_path)["clip"]
    events = [{"t": 0.5, "kind": "event", "name": "yawn"}, {"t": 10.567, "kind": "event", "name": "yawn"},
              {"t": 20.8, "kind": "event", "name": "sleep", "phase": "start"}]
    drive = CorpusDrive("clip", None, score_clip("clip", clip, events))
    evaluated = score_truth("clip", clip, events, 30.0).events
    assert set(drive.counts_by_name()) == set(evaluated) == {"yawn", "microsleep"}
    assert drive.counts_by_name()["yawn"].latencies_s == evaluated["yawn"].latencies_s
    index = write_corpus_report([drive], tmp_path / "index.html")
    assert f"{evaluated['yawn'].latency_median_s:.2f}, 0.57" == "0.53, 0.57"
    assert "<td>yawn</td>" in index.read_text() and "0.53, 0.57" in index.read_text()
    assert index.stat().st_mode & 0o777 == 0o600


def test_eval_report_writes_the_drive_and_an_index_row(replay_dir, tmp_path, capsys):
    labels = tmp_path / "labels.jsonl"
    labels.write_text('{"t": 100.0, "kind": "event", "name": "sleep", "phase": "start"}\n'
                      '{"t": 104.5, "kind": "event", "name": "sleep", "phase": "end"}\n')
    out = tmp_path / "eval"
    assert main(["eval", str(replay_dir), str(labels), "--name", "sleep", "--report", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"report {out / 'drive.html'}, index {out / 'index.html'}" in printed
    index = (out / "index.html").read_text()
    assert '<a href="drive.html">drive</a>' in index and '<td class="found">ok</td>' in index
    assert "found sleep at 103.07 s (label 100.00 s, latency 3.07 s)" in (out / "drive.html").read_text()
    assert (out / "drive.html").stat().st_mode & 0o777 == 0o600
    truth = _truth_file(tmp_path / "truth.yaml", DRIVE_S)
    assert main(["eval", str(replay_dir), "--truth", str(truth), "--clip", "drive", "--report", str(out)]) == 1
    assert '<td class="missed">FAIL</td>' in (out / "index.html").read_text()  # the yawn was missed


# -- why no warning ----------------------------------------------------------------------------

def _unwarned_section(html: str) -> list[tuple[str, ...]]:
    section = re.search(r"<section id=\"unwarned\">.*?</section>", html, re.S)
    assert section is not None, "no 'events without a warning' table"
    rows = re.findall(r"<tr>(.*?)</tr>", section.group(0), re.S)
    return [tuple(re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)) for r in rows if "<td" in r]


def test_an_event_before_monitoring_activation_says_so(replay_dir, tmp_path):
    """The lap glance fires long_distraction at 48.0 and phone_use at 47.0; monitoring becomes
    active only at 66.9 (60 s at >= 10 km/h from 6.9 s): neither gets a warning. (The
    driver_absent notice at 112.0 reaches the driver over drowsy's warning: docs/policy.md
    "Priorities".) Nothing on the page said why."""
    html = write_report(ReportRequest(replay_dir, tmp_path / "r.html")).path.read_text()
    rows = _unwarned_section(html)
    assert [r[:3] for r in rows] == [
        ("phone_use", "47.00", "monitoring not active (activation)"),
        ("long_distraction", "48.00", "monitoring not active (activation)"),
    ]
    assert rows[1][3] == ("active from 66.90 s: policy.monitoring.activation_s 60 s at &gt;= 10 km/h since the "
                          "journey start at 0.00 s (start)")
    # The event's hover says it too, and the policy row shows where monitoring was active.
    data = load_replay(replay_dir)
    fig = build_figure(FigureInput(data, build_timeline(data.events, data.end_t), load_config(None)))
    hover = [h for tr in fig.data if tr.hovertext is not None for h in tr.hovertext]
    assert any(h.startswith("long_distraction 48.00-50.50 s") and "no warning: monitoring not active (activation)" in h
               for h in hover)
    (active,) = [tr for tr in fig.data if tr.name == "monitoring active"]
    assert list(active.x)[:4] == [66.9, 130.0, 130.0, 66.9]
    assert any(a.text == "journey 1 (start)" for a in fig.layout.annotations)


def _policy_drive(tmp_path: Path, **long_distraction) -> list[tuple[str, ...]]:
    config = Config.model_validate({"policy": {"monitoring": {"activation_s": 0},
                                               "conditions": {"long_distraction": long_distraction,
                                                              "phone_use": {"enabled": False}}}})
    d = write_replay(tmp_path / "drive", 60.0, config=config)
    html = write_report(ReportRequest(d, tmp_path / "r.html", config=config, config_source="test")).path.read_text()
    return _unwarned_section(html)


def test_an_event_below_its_speed_gate_says_the_speed(tmp_path):
    """Monitoring active from the start, long_distraction gated from 100 km/h: the car does
    94.0 km/h at 48.0 (80 + 15 sin(48/40)), so the gate never opened."""
    rows = _policy_drive(tmp_path, min_speed_kph=100.0)
    assert [r[:4] for r in rows] == [
        ("phone_use", "47.00", "condition disabled", "policy.conditions.phone_use.enabled: false"),
        ("long_distraction", "48.00", "speed gate closed (speed 94.0 km/h &lt; min_speed_kph 100)",
         "policy.conditions.long_distraction.min_speed_kph 100, closes below 98 (speed_gate_hysteresis_kph)"),
    ]


def test_an_event_of_a_disabled_condition_says_so(tmp_path):
    rows = _policy_drive(tmp_path, enabled=False)
    assert [r[:3] for r in rows] == [("phone_use", "47.00", "condition disabled"),
                                     ("long_distraction", "48.00", "condition disabled")]


def test_the_policy_disabled_and_a_drive_without_a_gap_in_the_warnings(tmp_path):
    config = Config.model_validate({"policy": {"enabled": False}})
    d = write_replay(tmp_path / "off", 50.0, config=config)
    html = write_report(ReportRequest(d, tmp_path / "r.html", config=config, config_source="test")).path.read_text()
    assert [r[:3] for r in _unwarned_section(html)] == [("phone_use", "47.00", "policy disabled"),
                                                        ("long_distraction", "48.00", "policy disabled")]
    assert "no monitoring_active state lines in this log" in html


def _ctx(events, config=None, t=None, speed=None, ignition=None):
    tl = build_timeline(events, 100.0)
    t = np.arange(0.0, 100.0, 0.5) if t is None else t
    return PolicyContext(tl, config or Config(), t, speed, ignition)


def test_ignition_off_acknowledged_cooldown_and_unknown_come_from_the_log():
    """Synthetic lines: monitoring off from 20 s with the ignition known off 20-40 s, then the
    activation minute after the ignition_on journey; a stress acknowledged (no ack_actions)."""
    events = [
        {"t": 0.0, "kind": "state", "name": "journey_start", "detail": {"journey": 1, "reason": "start"}},
        {"t": 0.0, "kind": "state", "name": "monitoring_active", "detail": {"active": True}},
        {"t": 5.0, "kind": "event", "name": "stress", "phase": "start", "detail": {}},
        {"t": 5.0, "kind": "action", "name": "calm_cabin", "phase": "start", "detail": {"condition": "stress", "level": 1, "stage": 0}},
        {"t": 6.0, "kind": "state", "name": "driver_ack", "detail": {"condition": "stress"}},
        {"t": 6.0, "kind": "action", "name": "calm_cabin", "phase": "end", "detail": {"condition": "stress", "level": 1, "stage": 0}},
        {"t": 7.0, "kind": "event", "name": "stress", "phase": "end", "detail": {}},
        {"t": 10.0, "kind": "event", "name": "stress", "phase": "start", "detail": {}},
        {"t": 12.0, "kind": "event", "name": "stress", "phase": "end", "detail": {}},
        {"t": 15.0, "kind": "event", "name": "sleep", "phase": "start", "detail": {}},
        {"t": 16.0, "kind": "event", "name": "sleep", "phase": "end", "detail": {}},
        {"t": 20.0, "kind": "state", "name": "monitoring_active", "detail": {"active": False}},
        {"t": 30.0, "kind": "event", "name": "sleep", "phase": "start", "detail": {}},
        {"t": 32.0, "kind": "event", "name": "sleep", "phase": "end", "detail": {}},
        {"t": 40.0, "kind": "state", "name": "journey_start", "detail": {"journey": 2, "reason": "ignition_on"}},
        {"t": 38.0, "kind": "event", "name": "long_distraction", "phase": "start", "detail": {}},
        {"t": 45.0, "kind": "event", "name": "long_distraction", "phase": "end", "detail": {}},
    ]
    ignition = np.where((np.arange(0.0, 100.0, 0.5) >= 20.0) & (np.arange(0.0, 100.0, 0.5) < 40.0), 0.0, 1.0)
    got = [(u.event.name, u.event.start_t, u.reason, u.detail) for u in unwarned_events(_ctx(events, ignition=ignition))]
    assert got == [
        ("stress", 10.0, "acknowledged", "driver_ack at 6.00 s this journey; policy.conditions.stress.ack_actions: none"),
        ("sleep", 15.0, "unknown", ""),
        ("sleep", 30.0, "ignition off", "vehicle_ignition_on false in the feature table"),
        ("long_distraction", 38.0, "ignition off; monitoring not active (activation)",
         "vehicle_ignition_on false in the feature table; not active again in this drive: "
         "policy.monitoring.activation_s 60 s at >= 10 km/h since the journey start at 40.00 s (ignition_on)"),
    ]


def test_a_killed_recording_is_drawn_from_the_parts_its_table_spilled(tmp_path, monkeypatch, caplog):
    """A recording killed (kill -9, a power cut) has no features.parquet, only the parts its
    writer spilled (outputs/feature_table.py): the report draws the timelines from them, as
    `replay --features` decides from them, not events only."""
    import logging

    from report_drive import features_at, vehicle_at

    from driver_monitor.outputs import feature_table
    from driver_monitor.outputs.event_log import EventLogWriter
    from driver_monitor.pipeline import Pipeline
    from driver_monitor.provenance import provenance_text, run_provenance

    class Killed:  # the table's writer, never closed
        def __init__(self, writer):
            self.writer = writer

        def write(self, result):
            self.writer.write(result)

        def write_events(self, events):
            pass

        def close(self):
            pass

    monkeypatch.setattr(feature_table, "PARQUET_CHUNK_ROWS", 100)
    out = tmp_path / "killed"
    out.mkdir()
    writer = feature_table.FeatureTableWriter(
        out / "features.parquet", "parquet",
        {"driver_monitor.run": provenance_text(run_provenance("record", Config(), None, None))}, spill=True)
    pipeline = Pipeline(Config(), tracker=None, sinks=[EventLogWriter(out / "events.jsonl"), Killed(writer)])  # type: ignore[arg-type]
    rng = np.random.default_rng(7)
    for i in range(250):
        pipeline.process_features(features_at(i / 30, rng), vehicle_at(i / 30))
    pipeline.finish()
    assert not (out / "features.parquet").exists()
    with caplog.at_level(logging.WARNING, logger="driver_monitor.report.data"):
        killed = load_replay(out)
    assert len(killed.t) == 200  # two parts of 100 rows; the 50 rows held were lost with the writer
    assert killed.t[0] == 0.0 and killed.t[-1] == pytest.approx(199 / 30)
    assert not any("events only" in note for note in killed.notes)
    # The page says it too (the log line is gone when the report is opened).
    assert f"{out}: the recording was not closed (killed or cut off): its signals end where its spilled table does" \
        in killed.notes
    assert [r.getMessage() for r in caplog.records] == [
        f"{out}: the recording was not closed: its timelines end where its spilled table does"]
    assert np.isfinite(killed.numeric["head_yaw_deg"]).sum() > 150


def test_eval_report_marks_labels_with_evals_match_window(replay_dir, tmp_path, capsys):
    """`eval --max-latency-s 13 --report`: the table counted the sleep at 103.07 s for the label
    ending at 90.5 s, but the drive's page scored with the default 4 s and marked it missed."""
    labels = tmp_path / "labels.jsonl"
    labels.write_text('{"t": 90.0, "kind": "event", "name": "sleep", "phase": "start"}\n'
                      '{"t": 90.5, "kind": "event", "name": "sleep", "phase": "end"}\n')
    out = tmp_path / "eval"
    assert main(["eval", str(replay_dir), str(labels), "--name", "sleep", "--max-latency-s", "13", "--report", str(out)]) == 0
    assert capsys.readouterr().out.splitlines()[1].split()[:5] == ["sleep", "1", "1", "0", "0"]
    page = (out / "drive.html").read_text()
    assert "found sleep at 103.07 s (label 90.00 s, latency 13.07 s)" in page and "missed sleep" not in page


def test_an_end_line_without_its_start_is_drawn_from_the_start_of_the_log():
    """An event clip's log (times from the clip's start) holds the end of a driver_absent that
    began before the clip's window: its end line was dropped, the absence was on no row and in
    no table."""
    events = [{"t": 0.5, "kind": "event", "name": "blink", "detail": {"onset_t": 0.4, "duration_s": 0.1}},
              {"t": 3.0, "kind": "event", "name": "driver_absent", "phase": "end", "detail": {"onset_t": 2.9}},
              {"t": 3.2, "kind": "action", "name": "visual_icon", "phase": "end",
               "detail": {"condition": "driver_absent", "level": 1, "stage": 0}}]
    tl = build_timeline(events, end_t=6.0, start_t=0.0)
    (absent,) = tl.named("driver_absent")
    assert (absent.start_t, absent.end_t, absent.before_log, absent.truncated, absent.onset_t) == (0.0, 3.0, True, False, 0.0)
    assert [(a.name, a.start_t, a.end_t) for a in tl.actions] == [("visual_icon", 0.0, 3.2)]
    rows = {r[0]: r for r in events_table(tl).rows}
    assert rows["driver_absent"] == ("driver_absent", 1, "3.0", "3.00", "0.00", "")


def test_nan_and_infinity_in_a_lines_detail_do_not_stop_the_report(tmp_path):
    """JSON lines may carry NaN / Infinity (Python's json writes and reads them): an action's
    `level` NaN stopped the report with a traceback (int(NaN)); a blink's duration NaN was the
    drowsiness table's longest."""
    replay = tmp_path / "drive"
    replay.mkdir()
    lines = [{"t": 1.0, "kind": "event", "name": "blink", "detail": {"onset_t": 0.9, "duration_s": float("nan")}},
             {"t": 2.0, "kind": "event", "name": "blink", "detail": {"onset_t": 1.85, "duration_s": 0.15}},
             {"t": 3.0, "kind": "event", "name": "sleep", "phase": "start", "detail": {"onset_t": float("inf")}},
             {"t": 3.0, "kind": "action", "name": "chime", "phase": "start",
              "detail": {"condition": "sleep", "level": float("nan"), "stage": float("nan")}},
             {"t": 5.0, "kind": "action", "name": "chime", "phase": "end", "detail": {"condition": "sleep"}},
             {"t": 6.0, "kind": "event", "name": "sleep", "phase": "end", "detail": {}}]
    (replay / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))
    result = write_report(ReportRequest(replay, tmp_path / "r.html"))
    page = result.path.read_text()
    assert "chime" in page and "NaN" not in re.sub(r"<script>.*?</script>", "", page, flags=re.S)
    tl = build_timeline(lines)
    (chime,) = tl.actions
    assert chime.stage is None and tl.named("sleep")[0].onset_t == 3.0
    blink = {r[0]: r for r in events_table(tl).rows}["blink"]
    assert blink == ("blink", 2, "-", "0.15", "1.00", "")
