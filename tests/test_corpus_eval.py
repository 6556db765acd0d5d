"""Corpus evaluation (issue 15): every metric at exact values on hand-made drives (labels and
behaviour-interval truth, events and warnings), then `eval CORPUS` over extracted synthetic
drives and over the real clips with their truth.yaml, with --json, --config and --report."""

from __future__ import annotations

import json
import math
import shutil

import pytest

from driver_monitor.cli import main
from driver_monitor.evaluation.corpus import (
    CorpusScore,
    score_labels,
    score_truth,
    warning_episodes,
    warning_starts,
)
from driver_monitor.evaluation.truth import ClipTruth, expectations, load_truth
from driver_monitor.fleet.sweep import _score_json, _score_of


def ev(t, name, phase=None, kind="event", **detail):
    e = {"t": t, "kind": kind, "name": name}
    if phase:
        e["phase"] = phase
    if detail:
        e["detail"] = detail
    return e


def act(t, name, phase, condition):
    return ev(t, name, phase, kind="action", condition=condition, level=2, stage=0)


LABELS = [ev(10.0, "long_distraction", "start"), ev(14.0, "long_distraction", "end"),
          ev(30.0, "sleep", "start"), ev(34.0, "sleep", "end"), ev(50.0, "yawn")]
DETECTIONS = [
    ev(13.0, "long_distraction", "start"), act(13.0, "chime", "start", "long_distraction"),
    ev(14.5, "long_distraction", "end"), act(14.5, "chime", "end", "long_distraction"),
    ev(31.5, "microsleep", "start"), act(31.5, "haptic_seat", "start", "microsleep"),
    ev(32.5, "microsleep", "end", became="sleep"), act(32.5, "haptic_seat", "end", "microsleep"),
    ev(32.5, "sleep", "start"), act(32.5, "haptic_seat", "start", "sleep"), act(33.0, "chime", "start", "sleep"),
    ev(34.2, "sleep", "end"), act(34.2, "haptic_seat", "end", "sleep"), act(34.2, "chime", "end", "sleep"),
    ev(51.2, "yawn"),
    ev(70.0, "long_distraction", "start"), act(70.0, "chime", "start", "long_distraction"),
    ev(72.0, "long_distraction", "end"), act(72.0, "chime", "end", "long_distraction"),
]


def test_warning_episodes_start_with_a_conditions_first_action():
    assert warning_starts(DETECTIONS) == [("long_distraction", 13.0), ("microsleep", 31.5), ("sleep", 32.5),
                                          ("long_distraction", 70.0)]


def test_labels_corpus_metrics_at_exact_values():
    one = score_labels("a", DETECTIONS, LABELS, duration_s=3600.0)
    empty = score_labels("b", [], [], duration_s=1800.0)
    corpus = CorpusScore([one, empty])
    m = corpus.metrics()
    assert m["hours"] == 1.5 and m["drives"] == 2
    ld = m["events"]["long_distraction"]
    assert (ld["labels"], ld["found"], ld["missed"], ld["false"]) == (1, 1, 0, 1)
    assert (ld["precision"], ld["recall"]) == (0.5, 1.0) and ld["f1"] == pytest.approx(2 / 3)
    assert ld["latency_median_s"] == 3.0 and ld["false_per_hour"] == pytest.approx(1 / 1.5)
    assert m["events"]["sleep"]["latency_median_s"] == 2.5  # the microsleep grew into the sleep: one sleep
    total = m["events_total"]
    assert (total["labels"], total["found"], total["false"]) == (3, 3, 1)
    assert total["precision"] == 0.75 and total["f1"] == pytest.approx(2 * 0.75 / 1.75)
    assert total["latency_median_s"] == 2.5 and total["latency_p90_s"] == pytest.approx(2.9)  # of 1.2, 2.5, 3.0
    # Warnings: the yawn implies none; the microsleep's warning is the sleep's, its change to
    # the sleep ladder the same episode; the warning at 70 s is false.
    w = m["warnings"]
    assert (w["long_distraction"]["labels"], w["long_distraction"]["found"], w["long_distraction"]["false"]) == (1, 1, 1)
    assert (w["sleep"]["labels"], w["sleep"]["found"], w["sleep"]["false"]) == (1, 1, 0)
    assert w["sleep"]["latency_median_s"] == 1.5
    assert m["warnings_total"]["false_per_hour"] == pytest.approx(1 / 1.5)
    per_drive = {d["name"]: d for d in m["per_drive"]}
    assert per_drive["b"]["events"] == {} and per_drive["a"]["duration_s"] == 3600.0
    text = corpus.text()
    assert text.splitlines()[0] == "corpus: 2 drives, 1.500 h of driving"
    assert "all alerts                  3      3      0      1   0.75   1.00   0.86            2.50, 2.90     0.67" in text


def test_truth_corpus_metrics_at_exact_values():
    clip = ClipTruth.model_validate({"file": "c.mp4", "intervals": [
        {"kind": "eyes_closed", "start_s": 1.0, "end_s": 5.0}, {"kind": "look_away", "start_s": 10.0, "end_s": 14.0}]})
    detections = [ev(2.0, "microsleep", "start"), act(2.0, "chime", "start", "microsleep"),
                  ev(4.0, "microsleep", "end", became="sleep"), ev(4.0, "sleep", "start"), ev(5.2, "sleep", "end"),
                  act(5.2, "chime", "end", "microsleep"),
                  ev(13.2, "long_distraction", "start"), act(13.2, "chime", "start", "long_distraction"),
                  act(14.0, "chime", "end", "long_distraction"), ev(20.0, "yawn"),
                  act(40.0, "chime", "start", "driver_absent"), act(41.0, "chime", "end", "driver_absent")]
    s = score_truth("c", clip, detections, duration_s=60.0)
    assert {n: (t.labels, t.found, t.false, t.latencies_s) for n, t in s.events.items()} == {
        "sleep": (1, 1, 0, [3.0]), "long_distraction": (1, 1, 0, [pytest.approx(3.2)]), "yawn": (0, 0, 1, [])}
    assert {n: (t.labels, t.found, t.false, t.latencies_s) for n, t in s.warnings.items()} == {
        "sleep": (1, 1, 0, [1.0]), "long_distraction": (1, 1, 0, [pytest.approx(3.2)]), "driver_absent": (0, 0, 1, [])}


def test_labels_where_monitoring_was_not_active_imply_no_warning():
    # Monitoring active 20-40 s only (the activation minute before, the ignition off after):
    # the long distraction at 10-14 s implies no warning (not_active), the sleep at 30-34 s
    # one (found at 31.5 s); the warning at 70 s happened and is false whatever the state.
    states = [ev(0.0, "monitoring_active", kind="state", active=False),
              ev(20.0, "monitoring_active", kind="state", active=True),
              ev(40.0, "monitoring_active", kind="state", active=False)]
    detections = sorted(states + [d for d in DETECTIONS if not (d["kind"] == "action" and d["t"] < 20.0)],
                        key=lambda e: e["t"])
    s = score_labels("a", detections, LABELS, duration_s=3600.0)
    assert {n: (t.labels, t.found, t.false, t.not_active) for n, t in s.warnings.items()} == {
        "long_distraction": (0, 0, 1, 1), "sleep": (1, 1, 0, 0)}
    corpus = CorpusScore([s])
    assert corpus.metrics()["warnings_total"]["not_active"] == 1
    assert corpus.text().splitlines()[-1].startswith("1 label fell where monitoring was not active")
    # A sweep's trials.jsonl keeps the count (and reads an older line without it as 0).
    assert _score_of("a", _score_json(s)).warnings == s.warnings
    old = {"duration_s": 1.0, "events": {}, "warnings": {"sleep": [1, 1, 0, [1.5]]}}
    assert _score_of("a", old).warnings["sleep"].not_active == 0
    # Without any monitoring_active line the drive counts as active throughout.
    assert score_labels("a", DETECTIONS, LABELS, duration_s=3600.0).warnings["long_distraction"].labels == 1


def test_a_yawn_is_an_alert_to_find_but_implies_no_warning():
    # A yawn is no policy condition (it feeds the drowsiness level): its truth interval asks for
    # the `yawn` event and for no warning, as a yawn label does.
    clip = ClipTruth.model_validate({"file": "y.mp4", "intervals": [{"kind": "yawn", "start_s": 1.0, "end_s": 4.0}]})
    s = score_truth("y", clip, [ev(2.0, "yawn")], duration_s=10.0)
    assert (s.events["yawn"].labels, s.events["yawn"].found) == (1, 1)
    assert s.warnings == {}
    assert score_labels("y", [ev(2.0, "yawn")], [ev(2.0, "yawn")], duration_s=10.0).warnings == {}


# ---- eval CORPUS ---------------------------------------------------------------------------------

@pytest.mark.slow
def test_eval_a_corpus_of_extractions_and_decide_it_under_another_config(fleet_features, tmp_path, capsys):
    assert main(["eval", str(fleet_features), "--json", str(tmp_path / "default.json")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("corpus: 2 drives, ") and "long_distraction" in out and "visual_time_sharing" in out
    default = json.loads((tmp_path / "default.json").read_text())
    # Every number of the corpus is the sum of its drives'.
    for part in ("events", "warnings"):
        for name, m in default[part].items():
            assert m["labels"] == sum(d[part].get(name, {}).get("labels", 0) for d in default["per_drive"])
            assert m["false"] == sum(d[part].get(name, {}).get("false", 0) for d in default["per_drive"])
    # The drives are shorter than the policy's activation minute: no warning. Decided again
    # with the policy active from the start, the same events give warnings.
    assert default["warnings_total"]["found"] == 0 and default["warnings_total"]["labels"] == 0
    assert default["warnings_total"]["not_active"] > 0
    assert "fell where monitoring was not active" in out
    (tmp_path / "active.yaml").write_text("policy:\n  monitoring:\n    activation_s: 0\n")
    assert main(["eval", str(fleet_features), "-c", str(tmp_path / "active.yaml"), "--json", str(tmp_path / "a.json")]) == 0
    active = json.loads((tmp_path / "a.json").read_text())
    assert active["events"] == default["events"]
    assert active["warnings_total"]["found"] > 0 and active["warnings_total"]["not_active"] == 0
    # A list file names the same corpus.
    (tmp_path / "drives.txt").write_text("".join(f"{p}\n" for p in sorted(fleet_features.iterdir())))
    assert main(["eval", str(tmp_path / "drives.txt"), "--json", str(tmp_path / "l.json")]) == 0
    assert json.loads((tmp_path / "l.json").read_text()) == default


@pytest.mark.slow
def test_eval_of_extractions_decides_them_under_the_default_config_not_their_own_events(fleet_features, tmp_path, capsys):
    # The events.jsonl `extract` leaves is its own config's by-product: emptied, nothing changes.
    corpus = tmp_path / "features"
    shutil.copytree(fleet_features, corpus)
    for events in corpus.glob("*/events.jsonl"):
        events.write_text("")
    assert main(["eval", str(corpus), "--json", str(tmp_path / "emptied.json")]) == 0
    assert main(["eval", str(fleet_features), "--json", str(tmp_path / "default.json")]) == 0
    emptied, default = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("emptied", "default"))
    assert emptied == default and default["events_total"]["found"] > 0


@pytest.mark.slow
def test_eval_the_real_clips_against_their_truth_with_a_report(real_replays, real_dir, tmp_path, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, out in real_replays.items():
        (corpus / name).symlink_to(out)
    truth = real_dir / "truth.yaml"
    assert main(["eval", str(corpus), "--truth", str(truth), "--json", str(tmp_path / "t.json"),
                 "--report", str(tmp_path / "report")]) == 0
    m = json.loads((tmp_path / "t.json").read_text())
    expected = sum(len(expectations(c)) for c in load_truth(truth).values())
    assert m["drives"] == len(real_replays) and m["events_total"]["labels"] == expected
    assert m["events_total"]["found"] == expected and m["events_total"]["false"] == 0
    index = (tmp_path / "report" / "index.html").read_text()
    for name in real_replays:
        assert f'href="{name}.html"' in index and (tmp_path / "report" / f"{name}.html").is_file()
    assert capsys.readouterr().out.splitlines()[-1] == f"report {tmp_path / 'report' / 'index.html'} ({len(real_replays)} drives)"


@pytest.mark.slow
def test_a_corpus_drive_without_labels_is_one_line(real_replays, tmp_path, capsys):
    name, out = next(iter(sorted(real_replays.items())))
    shutil.copytree(out, tmp_path / "corpus" / name)
    assert main(["eval", str(tmp_path / "corpus")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {tmp_path / 'corpus' / name}: no ground truth: no labels.jsonl in it")
    assert err[0].endswith("label the drive or give --truth")


def test_an_empty_corpus_directory_is_one_line(tmp_path, capsys):
    assert main(["eval", str(tmp_path)]) == 1
    assert capsys.readouterr().err.strip() == (f"error: {tmp_path}: no drives in it (replay outputs, `extract` "
                                               "directories, recordings or videos)")


def test_json_and_config_are_for_a_corpus(tmp_path, capsys):
    events = tmp_path / "events.jsonl"
    events.write_text("")
    assert main(["eval", str(events), str(events), "--json", str(tmp_path / "x.json")]) == 1
    assert capsys.readouterr().err.strip() == "error: --config and --json are for a CORPUS (a directory of drives or a list file)"


def test_an_extractions_own_events_are_not_scored_as_a_replays(tmp_path):
    # `extract` leaves the events its own config decided beside the table (a by-product): the
    # drive is decided from its table under the config asked for, never scored from them. A
    # replay output (no `extraction` in its run.yaml) is scored as it is.
    from driver_monitor.fleet.corpus import find_corpus

    for name, run in (("ext-0123456789ab-01234567", "command: replay\nextraction: {content_sha256: x, key: y}\n"),
                      ("rep", "command: replay\n")):
        drive = tmp_path / name
        drive.mkdir()
        for file, text in (("features.parquet", ""), ("events.jsonl", ""), ("labels.jsonl", ""), ("run.yaml", run)):
            (drive / file).write_text(text)
    extraction, replay = find_corpus([tmp_path])
    assert (extraction.name, extraction.events, extraction.table) == ("ext", None, tmp_path / extraction.root.name / "features.parquet")
    assert (replay.name, replay.events) == ("rep", tmp_path / "rep" / "events.jsonl")


def test_a_label_where_its_conditions_speed_gate_was_closed_implies_no_warning():
    # 50 km/h, 19 km/h at 64.5 s, 17 at 65 s, stopped, 30 km/h from 90 s (a frame every 0.5 s).
    # The sleep and microsleep gates (20 km/h, 2 km/h of hysteresis) stay open at 19 km/h, close
    # at 17 and open again at 30; drowsiness's (50 km/h) closes at 19 and stays closed.
    from driver_monitor.config import load_config
    from driver_monitor.evaluation.corpus import speed_gate_closed_spans

    def speed_kph(t):
        return 50.0 if t < 64.5 else 19.0 if t == 64.5 else 17.0 if t == 65.0 else 0.0 if t < 90.0 else 30.0

    gates = speed_gate_closed_spans([(t / 2, speed_kph(t / 2)) for t in range(200)], load_config().policy)
    assert gates["sleep"] == gates["microsleep"] == [(65.0, 90.0)]
    assert gates["drowsy"] == [(64.5, math.inf)]
    # Unknown speed counts as moving (the policy's fail-safe): the gate opens.
    assert speed_gate_closed_spans([(0.0, 0.0), (1.0, None), (2.0, 0.0)], load_config().policy)["sleep"] == [
        (0.0, 1.0), (2.0, math.inf)]
    # A sleep at 70-74 s (window 69.5-78 s) lies wholly where its gate was closed: withheld by
    # design, so no warning expected (counted as not_active); one at 85-89 s reaches past 90 s,
    # where the gate opens: its warning is expected (and missed here).
    labels = [ev(70.0, "sleep", "start"), ev(74.0, "sleep", "end"), ev(85.0, "sleep", "start"), ev(89.0, "sleep", "end")]
    s = score_labels("stop", [ev(71.0, "sleep", "start"), ev(74.0, "sleep", "end")], labels, 100.0, gates=gates)
    assert (s.warnings["sleep"].labels, s.warnings["sleep"].found, s.warnings["sleep"].not_active) == (1, 0, 1)
    assert (s.events["sleep"].labels, s.events["sleep"].found) == (2, 1)  # the detector is scored as before
    assert score_labels("stop", [], labels, 100.0).warnings["sleep"].labels == 2  # gates unknown: all open
    # Truth: an eyes-closed interval answered by microsleep or sleep is withheld where both gates were closed.
    clip = ClipTruth.model_validate({"file": "c.mp4", "intervals": [{"kind": "eyes_closed", "start_s": 70.0, "end_s": 72.0}]})
    assert [e.names for e in expectations(clip)] == [{"microsleep", "sleep"}]
    assert score_truth("c", clip, [], 100.0, gates=gates).warnings["microsleep"].not_active == 1
    assert score_truth("c", clip, [], 100.0, gates={"sleep": [(65.0, 90.0)]}).warnings["microsleep"].labels == 1


def test_an_advisory_conditions_comfort_actions_are_no_warning():
    # Anger (and stress, daydreaming, or `withheld` when privacy keeps the signal) only ever
    # leads to calming comfort actions: neither a warning nor a false one, and an anger label
    # expects none. The sleep's chime is the one warning.
    detections = [act(43.3, "ambient_light", "start", "withheld"), act(43.3, "media_volume_down", "start", "withheld"),
                  act(61.9, "ambient_light", "end", "withheld"), act(61.9, "media_volume_down", "end", "withheld"),
                  act(70.0, "calm_cabin", "start", "anger"), act(75.0, "calm_cabin", "end", "anger"),
                  act(80.0, "suggest_break", "start", "stress"), act(81.0, "suggest_break", "end", "stress"),
                  act(90.0, "ambient_light", "start", "daydreaming"), act(91.0, "ambient_light", "end", "daydreaming"),
                  ev(31.5, "sleep", "start"), act(31.5, "chime", "start", "sleep"), act(33.0, "chime", "end", "sleep")]
    detections.sort(key=lambda e: e["t"])
    assert warning_starts(detections) == [("sleep", 31.5)]
    labels = [ev(30.0, "sleep", "start"), ev(34.0, "sleep", "end"), ev(69.0, "anger", "start"), ev(76.0, "anger", "end")]
    s = score_labels("a", detections, labels, duration_s=3600.0)
    assert {n: (t.labels, t.found, t.false, t.not_active) for n, t in s.warnings.items()} == {"sleep": (1, 1, 0, 0)}
    assert CorpusScore([s]).metrics()["warnings_total"]["false_per_hour"] == 0.0


def test_f1_is_0_when_labels_were_there_and_nothing_was_raised():
    from driver_monitor.evaluation.corpus import Tally

    assert Tally(labels=2).f1 == 0.0 and Tally(labels=2).precision is None  # found nothing, raised nothing
    assert Tally(false=3).f1 == 0.0  # nothing labelled, 3 false alarms
    assert Tally().f1 is None  # nothing labelled nor raised: nothing to judge
    assert Tally(labels=4, found=2, false=2).f1 == 0.5
    s = score_labels("a", [], [ev(1.0, "long_distraction", "start"), ev(1.5, "long_distraction", "end")], 60.0)
    assert "long_distraction            1      0      1      0      -   0.00   0.00" in CorpusScore([s]).text()
    # A sweep's best F1: of two configs at F1 0, the one without false alarms (docs: ties go to
    # fewer false alerts per hour).
    from driver_monitor.fleet.sweep import best_config

    rows = [{"config_id": cid, **{f"alerts.{k}": v for k, v in t.metrics(hours=0.01).items()}}
            for cid, t in (("noisy", Tally(labels=1, false=1)), ("quiet", Tally(labels=1)))]
    assert [r["alerts.f1"] for r in rows] == [0.0, 0.0] and best_config(rows, "f1") == "quiet"


def test_a_process_decides_each_config_by_its_settings_not_its_id():
    # Two `eval -c` runs in one process (or two sweeps with another base) share config ids.
    from driver_monitor.config import load_config
    from driver_monitor.fleet.evaluate import _config

    strict = load_config().model_dump(mode="json")
    strict["distraction"]["long_distraction"]["threshold_s"] = 4.5
    assert _config("config", load_config().model_dump(mode="json")).distraction.long_distraction.threshold_s == 3.0
    assert _config("config", strict).distraction.long_distraction.threshold_s == 4.5


def test_a_warning_already_on_through_a_label_meets_it():
    # The driver looks away again (15-20 s) while the long_distraction warning of the first
    # look (10-14 s) is still on (13-21 s): no policy starts a second episode, and the driver
    # was warned throughout. Before: the second label counted as a missed warning.
    labels = [ev(10.0, "long_distraction", "start"), ev(14.0, "long_distraction", "end"),
              ev(15.0, "long_distraction", "start"), ev(20.0, "long_distraction", "end"),
              ev(40.0, "sleep", "start"), ev(44.0, "sleep", "end")]
    detections = [act(13.0, "chime", "start", "long_distraction"), act(21.0, "chime", "end", "long_distraction"),
                  # A distraction warning that ends at 40.2 s does not cover the sleep from 40 s.
                  act(38.0, "chime", "start", "long_distraction"), act(40.2, "chime", "end", "long_distraction")]
    w = score_labels("a", detections, labels, duration_s=60.0).warnings
    assert (w["long_distraction"].labels, w["long_distraction"].found, w["long_distraction"].false) == (2, 2, 1)
    assert w["long_distraction"].latencies_s == [3.0]  # the second had no start to time
    assert (w["sleep"].labels, w["sleep"].found) == (1, 0)
    # A warning still on at the end of the log (inf) covers a label to the end too.
    open_ended = detections[:1] + detections[2:3]
    w = score_labels("a", open_ended, labels[:4], duration_s=60.0).warnings
    assert (w["long_distraction"].labels, w["long_distraction"].found) == (2, 2)
    # Truth intervals: a sleep inside an unresponsive intervention that began before it.
    clip = ClipTruth.model_validate({"file": "c.mp4", "intervals": [
        {"kind": "look_away", "start_s": 1.0, "end_s": 9.0}, {"kind": "eyes_closed", "start_s": 10.0, "end_s": 14.0}]})
    detections = [act(4.0, "chime", "start", "long_distraction"), act(7.0, "hazard_lights", "start", "unresponsive"),
                  act(8.0, "chime", "end", "long_distraction"), act(15.0, "hazard_lights", "end", "unresponsive")]
    w = score_truth("c", clip, detections, duration_s=20.0).warnings
    assert (w["sleep"].labels, w["sleep"].found, w["sleep"].latencies_s) == (1, 1, [])
    assert (w["long_distraction"].labels, w["long_distraction"].found) == (1, 1)


def test_a_ladder_stage_with_none_of_the_last_stages_actions_is_the_same_warning():
    """The policy ends a frame's actions before it starts the next ones: a stage sharing no
    action with the one before (a custom ladder: [chime] then [voice_prompt, haptic_seat]) was
    read as the warning ending and a new one starting, a second (false) warning."""
    events = [act(10.0, "chime", "start", "long_distraction"),
              act(14.0, "chime", "end", "long_distraction"), act(14.0, "haptic_seat", "start", "long_distraction"),
              act(14.0, "voice_prompt", "start", "long_distraction"),
              act(15.0, "haptic_seat", "end", "long_distraction"), act(15.0, "voice_prompt", "end", "long_distraction"),
              act(20.0, "chime", "start", "long_distraction"), act(21.0, "chime", "end", "long_distraction")]
    assert warning_episodes(events) == [("long_distraction", 10.0, 15.0), ("long_distraction", 20.0, 21.0)]
    labels = [ev(8.0, "long_distraction", "start"), ev(9.0, "long_distraction", "end")]  # window 7.5 .. 13.0
    warnings = score_labels("d", events[:6], labels, 3600.0).warnings
    assert (warnings["long_distraction"].found, warnings["long_distraction"].false) == (1, 0)
