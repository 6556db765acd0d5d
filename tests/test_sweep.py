"""`sweep` (issue 15): grids and random searches checked against the config schema before
anything runs, configs scored over a labelled corpus by feature replay, one results row per
config, the Pareto front, best configs that check-config accepts and that differ from the base
only in the swept keys, and a resumed sweep that redoes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from driver_monitor.cli import main
from driver_monitor.config import load_config
from driver_monitor.errors import ConfigError
from driver_monitor.fleet.grid import load_grid, trials
from driver_monitor.fleet.sweep import best_config, pareto_front


def grid_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "grid.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, expected", [
    ("distraction.long_distraction.treshold_s: [2.5, 3.0]\n",
     "distraction.long_distraction.treshold_s: unknown key (did you mean 'threshold_s'? every key with its default: "
     "driver-monitor config --default)"),
    ("distractoin.long_distraction.threshold_s: [2.5]\n",
     "distractoin.long_distraction.threshold_s: unknown key (did you mean 'distraction'? every key with its default: "
     "driver-monitor config --default)"),
    ("camera.dark_lens_s: [1.0, 2.0]\n",
     "camera.dark_lens_s: acts before the features (the tracker, frame times, camera health or vehicle signals): the "
     "feature tables were made with one value of it; sweep it with full replays instead"),
    ("perception: [{}]\n", "perception: acts before the features"),
    ("distraction.long_distraction.threshold_s: [3.0, -1]\n",
     "distraction.long_distraction.threshold_s=-1: distraction.long_distraction.threshold_s: Input should be greater than 0"),
    ("distraction.long_distraction.threshold_s: []\n", "distraction.long_distraction.threshold_s: an empty list sweeps nothing"),
    ("search: random\nkeys:\n  distraction.long_distraction.threshold_s: {min: 2, max: 4}\n",
     "samples: a random search needs samples: 1..100000 (got 0)"),
    ("distraction.long_distraction.threshold_s: {min: 2.0, max: 4.0}\n",
     "distraction.long_distraction.threshold_s: a grid needs values: a list, or {min, max, step}"),
    # A key that goes on past a single value, or into a list by a name or past its end, was
    # a traceback (TypeError, ValueError, IndexError) while the grid was checked.
    ("distraction.long_distraction.threshold_s.max: [1.0]\n",
     "distraction.long_distraction.threshold_s.max: distraction.long_distraction.threshold_s is a single setting, "
     "with no keys under it"),
    ("policy.conditions.sleep.ladder.first.delay_s: [1.0]\n",
     "policy.conditions.sleep.ladder.first.delay_s: policy.conditions.sleep.ladder is a list of 3: its items are "
     "0 to 2"),
    ("policy.conditions.sleep.ladder.7.delay_s: [1.0]\n",
     "policy.conditions.sleep.ladder.7.delay_s: policy.conditions.sleep.ladder is a list of 3: its items are 0 to 2"),
])
def test_a_bad_grid_is_one_line_naming_the_file_and_key(tmp_path, capsys, text, expected):
    path = grid_file(tmp_path, text)
    assert main(["sweep", str(tmp_path), "--grid", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {path}: {expected}"), err
    assert not (tmp_path / "out").exists()  # nothing ran


def test_a_grid_is_every_combination_and_a_random_search_is_the_same_for_a_seed(tmp_path):
    base = load_config()
    grid = load_grid(grid_file(tmp_path, "distraction.long_distraction.threshold_s: [2.5, 3.0]\n"
                                         "distraction.zones.road.yaw_max_deg: {min: 15, max: 25, step: 5}\n"))
    got = trials(grid, base)
    assert [t.values for t in got] == [
        {"distraction.long_distraction.threshold_s": a, "distraction.zones.road.yaw_max_deg": b}
        for a in (2.5, 3.0) for b in (15, 20, 25)]
    assert got[1].config.distraction.zones.road.yaw_max_deg == 20.0 and len({t.id for t in got}) == 6
    random_text = ("search: random\nsamples: 5\nseed: 7\nkeys:\n  distraction.long_distraction.threshold_s: {min: 2.0, max: 4.0}\n"
                   "  policy.monitoring.activation_s: [0, 60]\n")
    first = trials(load_grid(grid_file(tmp_path, random_text)), base)
    again = trials(load_grid(grid_file(tmp_path, random_text)), base)
    assert [t.values for t in first] == [t.values for t in again] and len(first) == 5
    assert all(2.0 <= t.values["distraction.long_distraction.threshold_s"] <= 4.0 for t in first)
    # Draws that repeat one another are one config, decided and scored once.
    few = trials(load_grid(grid_file(tmp_path, "search: random\nsamples: 6\nseed: 3\nkeys:\n"
                                               "  distraction.long_distraction.threshold_s: [3.0, 5.0]\n")), base)
    assert sorted(t.values["distraction.long_distraction.threshold_s"] for t in few) == [3.0, 5.0]


def test_an_item_of_a_tuple_setting_is_swept_by_its_index(tmp_path):
    from driver_monitor.fleet.sweep import partial_config

    base = load_config()
    assert isinstance(base.stress.level.level_thresholds, tuple)
    got = trials(load_grid(grid_file(tmp_path, "stress.level.level_thresholds.0: [0.5, 0.75]\n")), base)
    assert [t.config.stress.level.level_thresholds for t in got] == [
        (0.5, *base.stress.level.level_thresholds[1:]), (0.75, *base.stress.level.level_thresholds[1:])]
    # The best config's file sets the whole list, as the trial's config has it.
    assert partial_config({}, got[1]) == {"stress": {"level": {"level_thresholds": [0.75, *base.stress.level.level_thresholds[1:]]}}}


def test_a_drives_batches_hold_the_configs_that_share_stages(tmp_path):
    """Grid order alternates the drowsiness value; the batches group the configs by it, so each
    batch decides drowsiness, stress and anger once (fleet/stage_cache.py)."""
    from driver_monitor.fleet.corpus import CorpusEntry
    from driver_monitor.fleet.evaluate import DriveJob
    from driver_monitor.fleet.stage_cache import stage_keys
    from driver_monitor.fleet.sweep import _batches, _sharing_order

    grid = load_grid(grid_file(tmp_path, "distraction.long_distraction.threshold_s: [2.5, 3.0]\n"
                                         "drowsiness.closure.microsleep_min_duration_s: [0.8, 1.0]\n"))
    swept = trials(grid, load_config())
    by_id = {t.id: t for t in swept}
    assert [t.values["drowsiness.closure.microsleep_min_duration_s"] for t in swept] == [0.8, 1.0, 0.8, 1.0]
    entry = CorpusEntry(name="d", root=tmp_path)
    job = DriveJob(entry, (), None, tuple((t.id, {}) for t in swept))
    # 1 worker: one batch per drive; 2 workers, 4 drives: 8 batches wanted, so 2 per drive.
    [one] = _batches([job], {}, workers=1, order=_sharing_order(swept))
    batches = _batches([job] * 4, {}, workers=2, order=_sharing_order(swept))
    assert len(one.configs) == 4 and {len(b.configs) for b in batches} == {2}
    for batch in batches[:2]:
        keys = {stage_keys(by_id[config_id].config)["drowsiness"] for config_id, _ in batch.configs}
        assert len(keys) == 1
    assert _batches([job] * 4, {}, workers=2)[0].configs == job.configs[:2]  # grid order: 0.8 then 1.0


def test_a_combination_the_schema_refuses_is_named(tmp_path):
    grid = load_grid(grid_file(tmp_path, "camera.reopen_backoff.initial_s: [2.0, 10.0]\ncamera.reopen_backoff.max_s: [5.0]\n"))
    with pytest.raises(ConfigError) as refused:
        trials(grid, load_config())
    assert refused.value.problems == [
        f"{grid.path}: camera.reopen_backoff.initial_s=10.0, camera.reopen_backoff.max_s=5.0: camera.reopen_backoff: "
        "max_s (5.0) must not be below initial_s (10.0)"]


def test_pareto_front_and_best_configs():
    rows = [{"config_id": "a", "alerts.recall": 1.0, "alerts.false_per_hour": 2.0, "alerts.f1": 0.6},
            {"config_id": "b", "alerts.recall": 0.8, "alerts.false_per_hour": 0.5, "alerts.f1": 0.7},
            {"config_id": "c", "alerts.recall": 0.8, "alerts.false_per_hour": 1.0, "alerts.f1": 0.65},  # beaten by b
            {"config_id": "d", "alerts.recall": 0.5, "alerts.false_per_hour": 0.0, "alerts.f1": 0.5},
            {"config_id": "e", "alerts.recall": None, "alerts.false_per_hour": 0.0, "alerts.f1": None}]
    assert pareto_front(rows) == ["d", "b", "a"]
    assert best_config(rows, "recall") == "a" and best_config(rows, "f1") == "b"
    assert best_config(rows, "false_per_hour") == "d"  # the tie with e goes to the higher recall


def test_a_config_with_nothing_to_judge_ranks_above_one_that_only_raised_false_alerts():
    """A corpus of attentive drives labels nothing: a config raising nothing has no F1 (nothing
    labelled nor raised), one raising false alerts has F1 0. The silent one was ranked below
    everything, so best/f1.yaml was a config with false alerts."""
    rows = [{"config_id": "noisy", "alerts.f1": 0.0, "alerts.precision": 0.0, "alerts.recall": None,
             "alerts.false_per_hour": 2.0, "warnings.f1": 0.0},
            {"config_id": "silent", "alerts.f1": None, "alerts.precision": None, "alerts.recall": None,
             "alerts.false_per_hour": 0.0, "warnings.f1": None}]
    assert {o: best_config(rows, o) for o in ("f1", "precision", "warnings_f1", "false_per_hour")} == {
        "f1": "silent", "precision": "silent", "warnings_f1": "silent", "false_per_hour": "silent"}
    # Any success still beats nothing to judge (a config whose labels all fell where monitoring was off).
    rows.append({"config_id": "warns", "alerts.f1": None, "alerts.false_per_hour": 0.0, "warnings.f1": 0.5})
    assert best_config(rows, "warnings_f1") == "warns"


def test_configs_tied_on_the_pareto_front_are_all_on_it():
    # f and g sit at b's point (no config beats any of them): all three are on the front.
    rows = [{"config_id": "a", "alerts.recall": 1.0, "alerts.false_per_hour": 2.0},
            {"config_id": "f", "alerts.recall": 0.8, "alerts.false_per_hour": 0.5},
            {"config_id": "b", "alerts.recall": 0.8, "alerts.false_per_hour": 0.5},
            {"config_id": "c", "alerts.recall": 0.8, "alerts.false_per_hour": 1.0},
            {"config_id": "g", "alerts.recall": 0.8, "alerts.false_per_hour": 0.5}]
    assert pareto_front(rows) == ["f", "b", "g", "a"]


# ---- a sweep over extracted drives ------------------------------------------------------------------

GRID = "distraction.long_distraction.threshold_s: [3.0, 4.5]\npolicy.monitoring.activation_s: [0]\n"


@pytest.mark.slow
def test_a_sweep_scores_every_config_and_writes_results_front_and_best(fleet_features, tmp_path, capsys):
    base = tmp_path / "base.yaml"
    base.write_text("presence:\n  absent_after_s: 2.5\n")
    out = tmp_path / "sweep"
    args = ["sweep", str(fleet_features), "--grid", str(grid_file(tmp_path, GRID)), "--out", str(out), "-c", str(base),
            "--no-progress"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert text.startswith("swept 2 configs over 2 drives (") and "best recall" in text
    rows = pq.read_table(out / "results.parquet").to_pylist()
    assert [r["set.distraction.long_distraction.threshold_s"] for r in rows] == [3.0, 4.5]
    assert {"alerts.recall", "alerts.false_per_hour", "alerts.latency_p90_s", "warnings.f1", "pareto",
            "event.long_distraction.recall", "warning.long_distraction.found"} <= set(rows[0])
    # The mixed drive's glance lasts 4 s: found at 3 s, missed at 4.5 s.
    assert rows[0]["event.long_distraction.found"] == 1 and rows[1]["event.long_distraction.found"] == 0
    assert rows[0]["alerts.recall"] > rows[1]["alerts.recall"]
    assert rows[0]["pareto"] and (out / "pareto.csv").read_text().splitlines()[1].startswith(rows[0]["config_id"])
    # The best config: the base file with the swept keys, nothing else; check-config takes it.
    best = yaml.safe_load((out / "best" / "recall.yaml").read_text())
    assert best == {"presence": {"absent_after_s": 2.5}, "distraction": {"long_distraction": {"threshold_s": 3.0}},
                    "policy": {"monitoring": {"activation_s": 0.0}}}
    assert main(["check-config", str(out / "best" / "recall.yaml")]) == 0
    capsys.readouterr()
    # The same numbers as eval of that config over the corpus.
    assert main(["eval", str(fleet_features), "-c", str(out / "best" / "recall.yaml"), "--json", str(tmp_path / "e.json")]) == 0
    evaluated = json.loads((tmp_path / "e.json").read_text())
    assert evaluated["events_total"]["recall"] == rows[0]["alerts.recall"]
    assert evaluated["warnings_total"]["f1"] == rows[0]["warnings.f1"]


@pytest.mark.slow
def test_an_interrupted_sweep_resumes_without_redoing_finished_work(fleet_features, tmp_path, capsys):
    grid = grid_file(tmp_path, GRID)
    out = tmp_path / "sweep"
    args = ["sweep", str(fleet_features), "--grid", str(grid), "--out", str(out), "--no-progress"]
    assert main(args) == 0
    capsys.readouterr()
    complete = pq.read_table(out / "results.parquet").to_pylist()
    lines = (out / "trials.jsonl").read_text().splitlines()
    assert len(lines) == 4  # 2 configs x 2 drives
    # Killed after three scores, the fourth line half written.
    (out / "trials.jsonl").write_text("\n".join(lines[:3]) + "\n" + lines[3][:20])
    (out / "results.parquet").unlink()
    assert main(args) == 0
    assert "3 config-drive scores kept from before (resumed)" in capsys.readouterr().out
    assert repr(pq.read_table(out / "results.parquet").to_pylist()) == repr(complete)
    # The cut line was dropped before the redone job's line was appended, so the directory
    # resumes again (the new line joined to the cut one made it unreadable).
    assert [json.loads(line)["drive"] for line in (out / "trials.jsonl").read_text().splitlines()] == [
        json.loads(line)["drive"] for line in lines]
    assert main(args) == 0
    assert "4 config-drive scores kept from before (resumed)" in capsys.readouterr().out
    # Another grid in the same directory is refused.
    grid.write_text(GRID.replace("4.5", "5.0"))
    assert main(args) == 1
    assert capsys.readouterr().err.strip() == f"error: {out}: holds another sweep (its grid differs): choose another --out, or remove it"


@pytest.mark.slow
def test_a_sweep_extracts_a_recording_without_features_first(fleet_drives, fleet_features, tmp_path, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "visual_time_sharing").symlink_to(fleet_drives["visual_time_sharing"])
    out = tmp_path / "sweep"
    assert main(["sweep", str(corpus), "--grid", str(grid_file(tmp_path, GRID)), "--out", str(out), "--no-progress"]) == 0
    (extracted,) = (out / "features").iterdir()
    (made_before,) = [p for p in fleet_features.iterdir() if p.name.startswith("visual_time_sharing-")]
    assert extracted.name == made_before.name
    assert repr(pq.read_table(extracted / "features.parquet").to_pylist()) == repr(
        pq.read_table(made_before / "features.parquet").to_pylist())


@pytest.mark.slow
def test_a_sweep_scored_against_other_labels_is_another_sweep(fleet_features, tmp_path, capsys):
    """Relabelling a drive (or editing truth.yaml) changes what every stored score means: a
    resumed sweep must not mix scores made against the old labels with new ones."""
    import shutil

    corpus = tmp_path / "corpus"
    shutil.copytree(fleet_features, corpus)
    out = tmp_path / "sweep"
    args = ["sweep", str(corpus), "--grid", str(grid_file(tmp_path, GRID)), "--out", str(out), "--no-progress"]
    assert main(args) == 0
    capsys.readouterr()
    labels = next(corpus.glob("fleet_mixed-*/labels.jsonl"))
    lines = labels.read_text().splitlines()
    labels.write_text("\n".join(lines[:-1]) + "\n")  # one label fewer
    assert main(args) == 1
    assert capsys.readouterr().err.strip() == (
        f"error: {out}: holds another sweep (its ground_truth differs): choose another --out, or remove it")


def test_a_config_that_never_raised_an_event_has_zeros_in_its_columns():
    from driver_monitor.evaluation.corpus import CorpusScore, DriveScore, Tally
    from driver_monitor.fleet.grid import Trial
    from driver_monitor.fleet.sweep import result_rows

    base = load_config()
    swept = [Trial("loud", {"x": 1}, base), Trial("quiet", {"x": 2}, base)]
    results = {"loud": CorpusScore([DriveScore("d", 1800.0, {"unresponsive": Tally(false=1)},
                                               {"sleep": Tally(labels=1, found=1, latencies_s=[1.0])})]),
               "quiet": CorpusScore([DriveScore("d", 1800.0, {}, {})])}
    loud, quiet = result_rows(swept, results)
    assert set(loud) == set(quiet)
    assert (quiet["event.unresponsive.labels"], quiet["event.unresponsive.false"], quiet["event.unresponsive.false_per_hour"],
            quiet["event.unresponsive.f1"]) == (0, 0, 0.0, None)
    assert (quiet["warning.sleep.labels"], quiet["warning.sleep.found"], quiet["warning.sleep.not_active"]) == (0, 0, 0)
    assert (loud["event.unresponsive.false"], loud["event.unresponsive.false_per_hour"]) == (1, 2.0)


def test_grid_values_are_kept_as_the_config_holds_them_and_repeats_are_one_config(tmp_path):
    # "2.5" is read as the number 2.5, as check-config reads the same YAML; 3 and 3.0 (and a value
    # listed twice) are one config, decided and scored once.
    base = load_config()
    got = trials(load_grid(grid_file(tmp_path, 'distraction.long_distraction.threshold_s: ["2.5", 3.0, 3.0, 3]\n')), base)
    assert [t.values for t in got] == [{"distraction.long_distraction.threshold_s": 2.5},
                                       {"distraction.long_distraction.threshold_s": 3.0}]
    assert [type(t.values["distraction.long_distraction.threshold_s"]) for t in got] == [float, float]
    assert len({t.id for t in got}) == 2 and got[0].config.distraction.long_distraction.threshold_s == 2.5
    # An item of a ladder list, too.
    ladder = trials(load_grid(grid_file(tmp_path, "policy.conditions.sleep.ladder.0.delay_s: ['0', 0]\n")), base)
    assert [t.values for t in ladder] == [{"policy.conditions.sleep.ladder.0.delay_s": 0.0}]


def test_the_best_config_sets_a_key_under_a_section_the_base_file_leaves_empty(tmp_path):
    """`sleep:` with its settings commented out is a valid base config (the defaults): writing
    best/*.yaml from it raised a TypeError after every config had run."""
    from driver_monitor.config.loader import parse_config, parse_yaml_mapping
    from driver_monitor.fleet.sweep import partial_config

    text = "policy:\n  conditions:\n    sleep:\n    # min_speed_kph: 20\n"
    base = parse_config(text)
    got = trials(load_grid(grid_file(tmp_path, "policy.conditions.sleep.min_speed_kph: [5.0, 10.0]\n")), base)
    data = partial_config(parse_yaml_mapping(text, "base.yaml", "a mapping"), got[1])
    assert data == {"policy": {"conditions": {"sleep": {"min_speed_kph": 10.0}}}}
    assert parse_config(yaml.safe_dump(data)).policy.conditions.sleep.min_speed_kph == 10.0
