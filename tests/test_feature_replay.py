"""`replay --features` decides exactly what the full replay decided (issue 15): byte-identical
events.jsonl and feature table on the bundled clips, the real clips of ../shared/data/real and
a synthetic drive with warnings, a dark stretch and a silence; the table round-trips the
detectors' inputs exactly; a table that cannot promise that is refused in one line."""

from __future__ import annotations

import gc
import json
import math
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import CLIP_GIF_FPS

from driver_monitor.cli import main
from driver_monitor.config import Config, load_config, parse_config
from driver_monitor.config.perception import TrackerBackend
from driver_monitor.errors import InputError
from driver_monitor.fleet.feature_replay import YOUNG_GC_THRESHOLD, kept_out_of_gc, replay_features
from driver_monitor.fleet.table import read_feature_table
from driver_monitor.messages import DriverState, Features, FrameResult, FrameStats, VehicleState
from driver_monitor.outputs import feature_table
from driver_monitor.outputs.feature_table import FORMAT_KEY, FeatureTableWriter
from driver_monitor.replay import replay

pytestmark = pytest.mark.slow

# The policy acts from the first frame (activation after a minute would leave a short drive
# without a warning), the table is Parquet.
ACTIVE_PARQUET = "policy:\n  monitoring:\n    activation_s: 0\noutputs:\n  features_format: parquet\n"


def same_outputs(full: Path, feature: Path) -> None:
    assert (feature / "events.jsonl").read_text() == (full / "events.jsonl").read_text()
    if (full / "features.csv").exists():
        assert (feature / "features.csv").read_text() == (full / "features.csv").read_text()
    else:
        a, b = pq.read_table(feature / "features.parquet"), pq.read_table(full / "features.parquet")
        assert a.schema == b.schema and repr(a.to_pylist()) == repr(b.to_pylist())  # NaN == NaN here


def clip_config(name: str) -> Config:
    config = load_config()
    if name in CLIP_GIF_FPS:
        config = config.model_copy(update={"video": config.video.model_copy(update={"gif_fps": CLIP_GIF_FPS[name]})})
    return config


@pytest.mark.parametrize("name", ["head-pose-face-detection-female.gif", "head-pose-face-detection-male.gif",
                                  "iris_tracking_example.gif", "selfie_segmentation_web.mp4"])
def test_feature_replay_of_a_bundled_clip_is_the_full_replay(replay_clip, name, tmp_path):
    full = replay_clip(name).summary.out_dir
    summary = replay_features(full / "features.csv", clip_config(name), tmp_path, progress=False)
    same_outputs(full, tmp_path)
    assert summary.frames == replay_clip(name).summary.frames
    assert summary.event_counts == replay_clip(name).summary.event_counts


def test_feature_replay_of_each_real_clip_is_the_full_replay(real_replays, tmp_path):
    for name, full in real_replays.items():
        replay_features(full, load_config(), tmp_path / name, progress=False)
        same_outputs(full, tmp_path / name)


@pytest.fixture(scope="module")
def mixed_full(fleet_drives, tmp_path_factory):
    """The mixed synthetic drive replayed in full with warnings on, into a Parquet table."""
    out = tmp_path_factory.mktemp("mixed") / "full"
    config = parse_config(ACTIVE_PARQUET)
    summary = replay(fleet_drives["fleet_mixed"], config, out, progress=False)
    return out, config, summary


def test_feature_replay_of_a_drive_with_warnings_a_dark_stretch_and_a_silence(mixed_full, tmp_path):
    full, config, summary = mixed_full
    events = [json.loads(line) for line in (full / "events.jsonl").read_text().splitlines()]
    names = {(e["kind"], e["name"]) for e in events}
    # The drive exercises what feature replay must reproduce: warnings and their ladder, the
    # camera health from the table's picture statistics (dark lens, the silence), the vehicle.
    assert {("action", "chime"), ("event", "long_distraction"), ("event", "sleep"), ("event", "yawn"),
            ("event", "camera_fault")} <= names
    reasons = [e["detail"]["reason"] for e in events if e["name"] == "camera_fault" and e["phase"] == "start"]
    assert reasons == ["dark_lens", "no_frame"]
    table = read_feature_table(full)
    assert not all(f.judged for f in table.frames) and any(f.vehicle.indicator_left for f in table.frames)
    assert any(f.vehicle.driver_ack for f in table.frames) and {f.vehicle.speed_kph for f in table.frames} > {0.0, 70.0}
    frozen_before = gc.get_freeze_count()
    replayed = replay_features(full / "features.parquet", config, tmp_path, progress=False)
    # The frames are kept out of the cycle collector only while they are decided.
    assert gc.get_freeze_count() == frozen_before
    same_outputs(full, tmp_path)
    assert (replayed.frames, replayed.event_counts, replayed.action_counts) == (
        summary.frames, summary.event_counts, summary.action_counts)


def test_replay_features_cli_on_a_replay_directory(mixed_full, tmp_path, capsys):
    full, _, _ = mixed_full
    (tmp_path / "c.yaml").write_text(ACTIVE_PARQUET)
    assert main(["replay", "--features", str(full), "-c", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "o"),
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"replayed {full / 'features.parquet'}") and "chime" in out
    same_outputs(full, tmp_path / "o")


def test_a_sweep_batch_decides_each_shared_stage_once_and_each_config_as_alone(mixed_full, monkeypatch):
    """decide_events with a SharedDrive (a sweep's batch of configs over one drive): a stage
    whose key two configs share is decided by the first and replayed for the others, the
    camera heart rate is computed once per `stress.rppg` setting, and every config decides
    exactly what it decides alone: on a drive with warnings, camera faults (the detectors'
    finish mid-drive) and a policy switched off (distraction's unresponsive rule reads the
    policy's warning, so it is never shared)."""
    from driver_monitor.config.overrides import with_overrides
    from driver_monitor.detectors.drowsiness import DrowsinessDetector
    from driver_monitor.detectors.stress.rppg import RppgEstimator
    from driver_monitor.fleet.feature_replay import decide_events
    from driver_monitor.fleet.stage_cache import SharedDrive

    full, config, _ = mixed_full
    table = read_feature_table(full)
    configs = [config,
               with_overrides(config, {"stress": {"enabled": False}}),
               with_overrides(config, {"distraction": {"long_distraction": {"threshold_s": 4.5}}}),
               with_overrides(config, {"stress": {"rppg": {"window_s": 6.0}}}),
               with_overrides(config, {"stress": {"rppg": {"window_s": 6.0}}, "presence": {"absent_after_s": 2.5}}),
               with_overrides(config, {"policy": {"enabled": False}}),
               with_overrides(config, {"drowsiness": {"closure": {"sleep_min_duration_s": 4.0}}})]
    alone = [decide_events(table.frames, c, table.path) for c in configs]
    drowsiness_updates = 0
    update = DrowsinessDetector.update

    def counted(self, inp):
        nonlocal drowsiness_updates
        drowsiness_updates += 1
        return update(self, inp)

    monkeypatch.setattr(DrowsinessDetector, "update", counted)
    shared = SharedDrive()
    shared.plan(configs)
    got = [decide_events(table.frames, c, table.path, shared) for c in configs]
    assert got == alone
    assert alone[2] != alone[0] and alone[5] != alone[0] and alone[6] != alone[0]  # not one answer for all
    judged = sum(f.judged for f in table.frames)
    # Decided 4 times, not 7: two drowsiness settings, and the presence and policy changes move
    # where a new driver's journey may start (the calibration learned afresh), so those two
    # configs share no stage either.
    assert drowsiness_updates == 4 * judged
    for c in (configs[0], configs[3]):
        estimator = RppgEstimator(c.stress.rppg)
        assert repr(shared.heart_rates[c.stress.rppg.model_dump_json()]) == repr(
            [estimator.update(f.features) for f in table.frames if f.judged])
    assert len(shared.heart_rates) == 2
    shared.end_batch()
    assert not shared.stages and shared.heart_rates  # the recordings go with the batch, heart rates stay


def test_a_replayed_stage_asked_otherwise_than_recorded_is_an_error_not_a_guess(mixed_full):
    """The recording is handed out call by call: a run over other frames (a bug: a sweep's
    configs share a drive's frames) stops at the first call it does not match."""
    from driver_monitor.fleet.feature_replay import decide_events
    from driver_monitor.fleet.stage_cache import SharedDrive

    full, config, _ = mixed_full
    table = read_feature_table(full)
    shared = SharedDrive()
    shared.plan([config, config])
    decide_events(table.frames, config, table.path, shared)
    assert shared.stages  # recorded: calibration, presence, drowsiness, stress, anger
    with pytest.raises(RuntimeError, match=r"stage \w+: call \d+ is finish, the recording has update"):
        decide_events(table.frames[: len(table.frames) // 2], config, table.path, shared)


def test_an_interruption_of_a_replayed_run_reaches_the_caller_as_it_is(mixed_full):
    """Ctrl-C in a sweep half-way through a drive whose stages are replayed: the pipeline is
    not finished (that raised the stage cache's RuntimeError over the KeyboardInterrupt, so
    the command line printed a traceback instead of "interrupted")."""
    from driver_monitor.fleet.feature_replay import decide_events
    from driver_monitor.fleet.stage_cache import SharedDrive

    full, config, _ = mixed_full
    table = read_feature_table(full)
    shared = SharedDrive()
    shared.plan([config, config])
    decide_events(table.frames, config, table.path, shared)

    def interrupted():
        yield from table.frames[: len(table.frames) // 2]
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        decide_events(interrupted(), config, table.path, shared)


def test_stage_keys_follow_what_each_stage_reads():
    """A stage's key changes with its own sections, the calibration's and its producers' keys;
    distraction (the policy's warning fed back) and daydreaming (reads distraction) have none."""
    from driver_monitor.config.overrides import with_overrides
    from driver_monitor.fleet.stage_cache import CALIBRATION, stage_keys

    base = load_config()
    keys = stage_keys(base)
    assert keys["distraction"] is None and keys["daydreaming"] is None
    assert all(keys[k] is not None for k in (CALIBRATION, "presence", "drowsiness", "stress", "anger"))

    def changed(overrides: dict) -> set[str]:
        other = stage_keys(with_overrides(base, overrides))
        return {k for k in keys if other[k] != keys[k]}

    assert changed({"distraction": {"long_distraction": {"threshold_s": 4.5}}}) == set()
    # The policy's journeys (fed the presence detector's driver_absent) decide where the
    # calibration and the per-driver baselines are learned afresh for a new driver.
    every = {CALIBRATION, "presence", "drowsiness", "stress", "anger"}
    assert changed({"policy": {"enabled": False}}) == every
    assert changed({"policy": {"journey": {"new_after_driver_absent_s": 60.0}}}) == every
    assert changed({"policy": {"monitoring": {"activation_s": 30.0}}}) == set()
    assert changed({"presence": {"absent_after_s": 2.5}}) == every
    assert changed({"drowsiness": {"closure": {"sleep_min_duration_s": 4.0}}}) == {"drowsiness", "stress", "anger"}
    assert changed({"stress": {"rppg": {"window_s": 6.0}}}) == {"stress", "anger"}
    assert changed({"anger": {"level": {"level_scores": [6.0, 9.0]}}}) == {"anger"}
    assert changed({"camera": {"mount": {"placement": "mirror"}}}) == {CALIBRATION, "presence", "drowsiness",
                                                                       "stress", "anger"}


def test_a_stage_reading_an_undeclared_config_section_is_an_error():
    from driver_monitor.pipeline import ConfigSections, DetectorStage

    stage = DetectorStage("probe", lambda c: c.distraction, sections=("presence",))  # type: ignore[arg-type,return-value]
    view = ConfigSections(load_config(), stage)
    assert view.presence == load_config().presence
    with pytest.raises(AttributeError, match="detector stage probe reads config.distraction"):
        stage.build(view)  # type: ignore[arg-type]


# ---- the table keeps every input exactly ---------------------------------------------------------

ODD = [0.1, 1 / 3, 2.0 ** -1074, 1e308, -0.0, math.nan, 123456.78901234567, math.pi]


def result(k: int) -> FrameResult:
    x = ODD[k % len(ODD)]
    features = Features(t=k / 30.0 + 1e-7, face_present=k % 3 != 0, head_yaw_deg=x, ear_left=ODD[(k + 1) % len(ODD)],
                        skin_rgb=None if k % 4 == 0 else (x if not math.isnan(x) else 1.0, 2.5, 1 / 7),
                        colour_image=k % 5 != 0, iris_contrast_right=-x)
    vehicle = VehicleState(features.t, speed_kph=None if k % 2 else x, indicator_left=[None, True, False][k % 3],
                           gear=[None, "D", "R"][k % 3], driver_ack=k % 7 == 0, ignition_on=[True, None][k % 2],
                           external_heart_rate_bpm=None if k % 3 else 71.25,
                           external_rr_intervals_ms=() if k % 2 else (812.5, 1 / 3))
    picture = FrameStats(k % 2 == 1, x if not math.isnan(x) else 0.0, 1 / 3)
    state = DriverState(features.t, features.face_present, values={"expression_calm": ODD[(k + 3) % len(ODD)],
                                                                  "kss_level": 3})
    return FrameResult(features.t, features, vehicle, state, picture=picture, judged=k % 5 != 1)


def same(a: object, b: object) -> bool:
    """Equal field by field, NaN equal to NaN, -0.0 told from 0.0."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if hasattr(a, "__dataclass_fields__"):
        return type(a) is type(b) and all(same(getattr(a, f), getattr(b, f)) for f in a.__dataclass_fields__)
    return a == b and type(a) is type(b)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_every_input_round_trips_exactly(tmp_path, fmt):
    from driver_monitor.provenance import provenance_text, run_provenance, write_run_file

    prov = run_provenance("replay", Config(), None, None)
    writer = FeatureTableWriter(tmp_path / f"features.{fmt}", fmt, {"driver_monitor.run": provenance_text(prov)})
    results = [result(k) for k in range(40)]
    for r in results:
        writer.write(r)
    writer.close()
    write_run_file(tmp_path, prov)
    table = read_feature_table(tmp_path / f"features.{fmt}")
    assert len(table.frames) == len(results)
    for r, frame in zip(results, table.frames, strict=True):
        assert same(frame.features, r.features), (r.features, frame.features)
        assert same(frame.vehicle, r.vehicle) and same(frame.picture, r.picture) and frame.judged == r.judged
        assert same(frame.perception["expression_calm"], r.state.values["expression_calm"])


def test_csv_keeps_detector_columns_at_five_digits_and_a_fault_at_the_start_keeps_them(tmp_path):
    """The detectors' inputs are written exactly, their states readably; a table whose first
    rows are a camera fault's (no detector columns) still gets the columns of the first judged
    frame."""
    writer = FeatureTableWriter(tmp_path / "features.csv")
    fault = FrameResult(0.0, Features(0.0, False), VehicleState(0.0), DriverState(0.0, False),
                        picture=FrameStats(False, 1.0, 0.5))
    judged = FrameResult(0.1, Features(0.1, True, head_yaw_deg=1 / 3), VehicleState(0.1, speed_kph=1 / 3),
                         DriverState(0.1, True, values={"kss_score": 1 / 3}), picture=FrameStats(False, 90.0, 30.0), judged=True)
    writer.write(fault)
    writer.write(judged)
    writer.close()
    header, first, second = (tmp_path / "features.csv").read_text().splitlines()
    cells = dict(zip(header.split(","), second.split(","), strict=True))
    assert cells["head_yaw_deg"] == cells["vehicle_speed_kph"] == "0.3333333333333333" and cells["kss_score"] == "0.33333"
    assert cells["t"] == "0.1" and cells["frame_judged"] == "True"
    assert dict(zip(header.split(","), first.split(","), strict=True))["kss_score"] == ""


@pytest.mark.parametrize(("shadow", "chunk_rows"), [(False, None), (True, None), (False, 2), (True, 3)])
def test_parquet_written_from_results_equals_the_rows(tmp_path, monkeypatch, shadow, chunk_rows):
    """The Parquet writer takes a judged result's columns at close, column by column: the table
    is the one of its rows (`FrameResult.row()`) to the bit, a fault's rows and their missing
    state columns (None) included, a state column seen only after the header dropped, and a
    state column named like an input (shadow) winning as in row(). Held in chunks of a few rows
    (a column all None in one chunk: gaze_zone in frames 2-3), the table is the same, types too."""
    def judged(k: int) -> FrameResult:
        values = {"kss_score": k / 3, "gaze_zone": "road" if k % 2 else None, f"late_{k}": 1.0}
        if shadow and k == 5:
            values["face_brightness"] = -1.0
        return FrameResult(k / 10, Features(k / 10, True, head_yaw_deg=k / 7, skin_rgb=(k + 0.5, 2.0, 3.0) if k % 3 else None),
                           VehicleState(k / 10, speed_kph=k / 3 if k % 4 else None, external_rr_intervals_ms=(800.0,) * (k % 2)),
                           DriverState(k / 10, True, values=values), picture=FrameStats(k == 2, 90.0 + k, 30.0), judged=True)

    def fault(k: int) -> FrameResult:
        return FrameResult(k / 10, Features(k / 10, False), VehicleState(k / 10), DriverState(k / 10, False),
                           picture=FrameStats(True, 1.0, 0.5) if k else None)

    results = [fault(0), judged(1), judged(2), fault(3), judged(4), judged(5), judged(6)]
    by_row = FeatureTableWriter(tmp_path / "b.parquet", "parquet")  # one chunk
    for r in results:
        by_row.write_row(r.row())
    by_row.close()
    if chunk_rows is not None:
        monkeypatch.setattr(feature_table, "PARQUET_CHUNK_ROWS", chunk_rows)
    by_result = FeatureTableWriter(tmp_path / "a.parquet", "parquet")
    held = []
    for r in results:
        by_result.write(r)
        held.append(len(by_result._rows))
    by_result.close()
    if chunk_rows is not None:  # never more than a chunk of Python rows held
        assert max(held) < chunk_rows and held[-1] == len(results) % chunk_rows
    a, b = pq.read_table(tmp_path / "a.parquet"), pq.read_table(tmp_path / "b.parquet")
    assert a.schema == b.schema and "late_1" in a.column_names and "late_4" not in a.column_names
    for name in a.column_names:
        assert all(same(x, y) for x, y in zip(a.column(name).to_pylist(), b.column(name).to_pylist(), strict=True)), name
    assert a.column("face_brightness").to_pylist()[5] == -1.0 if shadow else math.isnan(a.column("face_brightness").to_pylist()[5])
    assert a.column("kss_score").to_pylist()[3] is None and a.column("kss_score").to_pylist()[4] == 4 / 3


# ---- a Parquet table is spilled in parts: a killed writer leaves what it spilled -----------------

def varied(k: int) -> FrameResult:
    """result(k) with what the promotion at close must type across chunks: heart rate None in
    the first rows (null in a chunk of them), an int column that turns float, a column seen
    only after the first judged row (no column of the table)."""
    r = result(k)
    values = {**r.state.values, "heart_rate_bpm": None if k < 20 else 60.0 + k / 8, "kss_level": 3 if k < 30 else 3.5}
    if k >= 25:
        values["late_column"] = k
    return FrameResult(r.t, r.features, r.vehicle, DriverState(r.t, r.state.face_present, values=values),
                       picture=r.picture, judged=r.judged)


def table_of_before(results: list[FrameResult], chunk_rows: int, metadata: dict[str, str], path: Path) -> None:
    """What FeatureTableWriter.close wrote before the parts: every chunk of chunk_rows results
    held in memory as Arrow columns, concatenated with permissive promotion, written once."""
    import pyarrow as pa

    seen: dict[str, None] = {}
    chunks, held, complete = [], [], False
    for k, r in enumerate(results, 1):
        if not complete:  # the columns are fixed at the first judged row
            seen.update(dict.fromkeys(r.row()))
            complete = r.judged
        held.append(r)
        if len(held) == chunk_rows or k == len(results):
            columns = list(seen)
            chunks.append(pa.Table.from_arrays(
                [pa.array(v) for v in feature_table._parquet_columns(held, columns)], names=columns))
            held = []
    table = pa.concat_tables(chunks, promote_options="permissive") if len(chunks) > 1 else chunks[0]
    feature_table.write_parquet(table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata}), path)


def provenance_meta() -> dict[str, str]:
    from driver_monitor.provenance import provenance_text, run_provenance

    return {"driver_monitor.run": provenance_text(run_provenance("replay", Config(), None, None))}


@pytest.mark.parametrize(("chunk_rows", "spill", "spill_s"),
                         [(7, True, None), (1800, True, None), (7, True, 0.4), (12, True, 0.1), (7, False, None)])
def test_parquet_table_put_together_from_its_parts_is_the_one_of_before(tmp_path, monkeypatch, chunk_rows, spill, spill_s):
    """Each chunk goes to disk as it is made (a whole part, 0600, in a hidden 0700 directory
    beside the table) and leaves memory; close puts the table together from the parts: the
    same bytes as the close of before (types promoted, floats byte-stream-split, metadata),
    and no part left. Spilled every 0.1 s of drive time too (record: slices of the next part,
    replaced by the part once it is whole), the same table to the byte. A writer that does not
    spill (replay, extract) holds its chunks in memory as before: no part, the same bytes."""
    import os
    import stat

    monkeypatch.setattr(feature_table, "PARQUET_CHUNK_ROWS", chunk_rows)
    results = [varied(k) for k in range(100)]
    metadata = provenance_meta()
    writer = FeatureTableWriter(tmp_path / "features.parquet", "parquet", metadata, spill=spill, spill_s=spill_s)
    parts = tmp_path / ".features.parquet.parts"
    spilled = []
    for r in results:
        writer.write(r)
        assert writer._unspilled == [] or not spill  # spilled: no whole chunk kept in memory, it is on disk
        spilled.append(sorted(p.name for p in parts.iterdir()) if parts.is_dir() else [])
    if spill_s == 0.4:  # t = k/30 s: 0.4 s is 13 rows, the 7-row chunk comes first
        assert len(spilled[6]) == 1 and len(spilled[-1]) == 14
    elif spill_s == 0.1:  # a slice every 4 rows (0.1 s spanned), a whole part every 12
        assert spilled[2] == [] and spilled[3] == ["000000.0000.parquet"]
        assert spilled[7] == ["000000.0000.parquet", "000000.0001.parquet"] and spilled[11] == ["000000.parquet"]
        assert spilled[16] == ["000000.parquet", "000001.0000.parquet"]  # (15/30 - 12/30 < 0.1 in doubles)
        assert spilled[-1][:8] == [f"{i:06d}.parquet" for i in range(8)]
    elif not spill:
        assert spilled[-1] == [] and len(writer._unspilled) == 14
    elif chunk_rows == 7:
        assert spilled[5] == [] and spilled[6] == ["000000.parquet"] and len(spilled[-1]) == 14
        assert stat.S_IMODE(parts.stat().st_mode) == 0o700
        assert {stat.S_IMODE(p.stat().st_mode) for p in parts.iterdir()} == {0o600}
        assert sorted(p.name for p in parts.iterdir())[:2] == ["000000.parquet", "000001.parquet"]
    else:
        assert spilled[-1] == []  # shorter than a chunk: nothing spilled, nothing read back
    writer.close()
    assert os.listdir(tmp_path) == ["features.parquet"]  # no parts, no temporary file
    assert stat.S_IMODE((tmp_path / "features.parquet").stat().st_mode) == 0o600
    table_of_before(results, chunk_rows, writer.metadata, tmp_path / "before.parquet")
    assert (tmp_path / "features.parquet").read_bytes() == (tmp_path / "before.parquet").read_bytes()
    got = pq.read_table(tmp_path / "features.parquet")
    assert str(got.schema.field("heart_rate_bpm").type) == "double" and str(got.schema.field("kss_level").type) == "double"
    assert "late_column" not in got.column_names and got.column("heart_rate_bpm").to_pylist()[19:21] == [None, 62.5]


def test_spilling_every_few_seconds_gives_the_same_rows_and_types(tmp_path, monkeypatch):
    """record spills every RECORD_SPILL_S of drive time: other chunk boundaries, the same table."""
    results = [varied(k) for k in range(100)]
    for name, spill_s in (("rows", None), ("time", 0.25)):
        writer = FeatureTableWriter(tmp_path / name / "features.parquet", "parquet", provenance_meta(), spill_s=spill_s)
        (tmp_path / name).mkdir()
        for r in results:
            writer.write(r)
        writer.close()
    a, b = pq.read_table(tmp_path / "rows" / "features.parquet"), pq.read_table(tmp_path / "time" / "features.parquet")
    assert a.schema.equals(b.schema, check_metadata=True) and repr(a.to_pylist()) == repr(b.to_pylist())


def test_a_drive_that_starts_in_a_camera_fault_is_spilled_from_its_first_rows(tmp_path, monkeypatch):
    """record spills before the first judged frame too (a camera covered for minutes): those
    chunks lack the detector columns, which the promotion at close fills with nulls in their
    place: the table of a writer that held every row until the first judged one."""
    monkeypatch.setattr(feature_table, "PARQUET_CHUNK_ROWS", 4)
    fault = [FrameResult(k / 30, Features(k / 30, False), VehicleState(k / 30), DriverState(k / 30, False),
                         picture=FrameStats(True, 1.0, 0.5)) for k in range(10)]
    results = fault + [varied(k) for k in range(10, 30)]
    for name, spill in (("held", False), ("spilled", True)):
        (tmp_path / name).mkdir()
        writer = FeatureTableWriter(tmp_path / name / "features.parquet", "parquet", provenance_meta(), spill=spill)
        for r in results:
            writer.write(r)
        if spill:
            assert (tmp_path / name / ".features.parquet.parts" / "000001.parquet").is_file()  # rows 4-7: faults
        writer.close()
    a, b = pq.read_table(tmp_path / "held" / "features.parquet"), pq.read_table(tmp_path / "spilled" / "features.parquet")
    assert a.schema.equals(b.schema, check_metadata=True) and repr(a.to_pylist()) == repr(b.to_pylist())
    assert a.column("kss_level").to_pylist()[9:11] == [None, 3]


def test_a_killed_writer_leaves_parts_read_up_to_the_last_spilled_chunk(tmp_path, monkeypatch, caplog, capsys):
    """A writer never closed (kill -9, a power cut): its table reads from the parts, in order,
    promoted, with one warning; the chunk it held is lost, a part being written (a temporary
    name) is never read, a part the disk never wrote (empty after a power cut) ends the table;
    `replay --features DIR` decides from it."""
    import logging

    monkeypatch.setattr(feature_table, "PARQUET_CHUNK_ROWS", 7)
    results = [FrameResult(k / 30, Features(k / 30, True, head_yaw_deg=k / 7, ear_left=0.3), VehicleState(k / 30),
                           DriverState(k / 30, True, values={"heart_rate_bpm": None if k < 20 else 60.0 + k / 8}),
                           picture=FrameStats(False, 90.0, 30.0), judged=True) for k in range(40)]
    writer = FeatureTableWriter(tmp_path / "features.parquet", "parquet", provenance_meta(), spill=True)
    for r in results:
        writer.write(r)
    del writer  # killed: never closed
    parts = tmp_path / ".features.parquet.parts"
    (parts / ".000005.parquet.4242.tmp").write_bytes(b"PAR1 half a part")  # killed mid-write
    with caplog.at_level(logging.WARNING, logger="driver_monitor.fleet.table"):
        table = read_feature_table(tmp_path)
    assert table.path == parts and len(table.frames) == 35  # 5 parts of 7: the 5 rows held are lost
    for r, frame in zip(results, table.frames, strict=False):
        assert same(frame.features, r.features) and same(frame.vehicle, r.vehicle) and frame.judged
    assert [rec.getMessage() for rec in caplog.records] == [
        f"{tmp_path}: the recording was not closed (killed, or a power cut): its table is read from its 5 spilled "
        "parts, 35 rows, up to t = 1.133 s (the rows after them were not yet written)"]
    caplog.clear()
    (parts / "000005.parquet").write_bytes(b"")  # renamed, but the disk never wrote it: a power cut
    with caplog.at_level(logging.WARNING, logger="driver_monitor.fleet.table"):
        assert len(read_feature_table(tmp_path).frames) == 35
    assert len(caplog.records) == 1 and caplog.records[0].getMessage().endswith(
        "; 000005.parquet is not a readable Parquet file (Parquet file size is 0 bytes): the table ends before it")
    out = tmp_path / "decided"
    assert main(["replay", "--features", str(tmp_path), "--out", str(out), "--no-progress"]) == 0, capsys.readouterr().err
    lines = (out / "features.csv").read_text().splitlines()
    assert len(lines) == 1 + 35 and lines[-1].startswith("1.1333333333333333,True,4.857142857142857,")

    # record spills every few seconds: the slices of the part not yet whole are read too; those
    # a kill left beside their whole part (between writing it and removing them) are not.
    sliced = tmp_path / "sliced"
    sliced.mkdir()
    monkeypatch.setattr(feature_table, "PARQUET_CHUNK_ROWS", 12)
    writer = FeatureTableWriter(sliced / "features.parquet", "parquet", provenance_meta(), spill_s=0.1)
    for r in results:
        writer.write(r)
    parts = sliced / ".features.parquet.parts"
    names = sorted(p.name for p in parts.iterdir())
    assert names == ["000000.parquet", "000001.parquet", "000002.parquet", "000003.0000.parquet"]
    shutil.copy(parts / "000003.0000.parquet", parts / "000001.0000.parquet")  # a slice of part 1, left by a kill
    frames = read_feature_table(sliced).frames
    assert [f.t for f in frames] == [r.t for r in results[:36 + writer._slice_rows]] and writer._slice_rows == 4


@pytest.mark.parametrize("disk_frees_up", [True, False])
def test_a_full_disk_keeps_the_parts_written_before_it(tmp_path, monkeypatch, disk_frees_up):
    """record's table behind GuardedFileSink: a part that cannot be written (ENOSPC) stops the
    table there; at the stop the table is put together when it fits (every row written before
    the failure, the failed chunk's too), else the parts stay, whole, and read back. Before,
    the sink removed the table after any failure, and with it the drive's only copy."""
    import errno
    import os

    from driver_monitor.outputs.guarded import GuardedFileSink

    monkeypatch.setattr(feature_table, "PARQUET_CHUNK_ROWS", 7)
    # The disk fills where Arrow writes (a module of its own, so the compiled core's calls
    # go through the patch too: tests/test_compiled_core.py runs this file against it).
    real_write = pq.write_table
    full = {"on": False}

    def write(table, where, *args, **kwargs):
        if full["on"]:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_write(table, where, *args, **kwargs)

    monkeypatch.setattr(pq, "write_table", write)
    path = tmp_path / "features.parquet"
    sink = GuardedFileSink(FeatureTableWriter(path, "parquet", provenance_meta(), spill=True), path)
    results = [varied(k) for k in range(30)]
    for k, r in enumerate(results):
        full["on"] = k >= 20  # parts 0-1 written (rows 0-13), part 2 (rows 14-20) fails
        sink.write(r)
    assert sink.error == f"{path}: writing failed (No space left on device)"
    full["on"] = not disk_frees_up
    sink.close()
    if disk_frees_up:
        assert os.listdir(tmp_path) == ["features.parquet"]
        assert pq.read_table(path).column("t").to_pylist() == [r.t for r in results[:21]]
    else:
        assert sorted(os.listdir(tmp_path / ".features.parquet.parts")) == ["000000.parquet", "000001.parquet"]
        assert not path.exists() and [f.t for f in read_feature_table(tmp_path).frames] == [r.t for r in results[:14]]


def test_a_new_writer_and_a_new_run_remove_the_parts_of_a_killed_one(tmp_path, monkeypatch):
    """Parts an earlier writer left in an output directory are no part of the next table."""
    from driver_monitor.assembly import clear_outputs

    monkeypatch.setattr(feature_table, "PARQUET_CHUNK_ROWS", 7)
    killed = FeatureTableWriter(tmp_path / "features.parquet", "parquet", provenance_meta(), spill=True)
    for k in range(20):
        killed.write(varied(k))
    assert clear_outputs(tmp_path) == [".features.parquet.parts"] and not (tmp_path / ".features.parquet.parts").exists()
    killed_too = FeatureTableWriter(tmp_path / "features.parquet", "parquet", provenance_meta(), spill=True)
    for k in range(20):
        killed_too.write(varied(k))
    assert (tmp_path / ".features.parquet.parts" / "000001.parquet").is_file()
    writer = FeatureTableWriter(tmp_path / "features.parquet", "parquet", provenance_meta())
    assert not (tmp_path / ".features.parquet.parts").exists()
    for k in range(3):
        writer.write(varied(k))
    writer.close()
    assert pq.read_table(tmp_path / "features.parquet").num_rows == 3


# ---- refusals: one line naming the file ---------------------------------------------------------

def test_a_table_of_another_feature_code_is_refused(mixed_full, tmp_path, capsys):
    full, _, _ = mixed_full
    table = pq.read_table(full / "features.parquet")
    meta = dict(table.schema.metadata)
    fmt = json.loads(meta[FORMAT_KEY.encode()])
    meta[FORMAT_KEY.encode()] = json.dumps({**fmt, "feature_code_version": "0123456789abcdef"}).encode()
    pq.write_table(table.replace_schema_metadata(meta), tmp_path / "features.parquet")
    assert main(["replay", "--features", str(tmp_path / "features.parquet"), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {tmp_path / 'features.parquet'}: features from another feature-code version "
                   f"(0123456789abcdef, this code computes {fmt['feature_code_version']}): extract the drive again "
                   "(`driver-monitor extract`) or replay it in full"]


def test_a_table_without_the_inputs_is_refused(tmp_path):
    (tmp_path / "features.csv").write_text("t,face_present,head_yaw_deg\n0.0,True,1.5\n")
    with pytest.raises(InputError, match="no run.yaml beside it saying which format and feature code made it"):
        read_feature_table(tmp_path)


def test_a_setting_that_acts_before_the_features_is_refused(mixed_full, tmp_path):
    full, config, _ = mixed_full
    other = config.model_copy(update={"camera": config.camera.model_copy(update={"dark_lens_s": 3.0})})
    with pytest.raises(InputError, match=r"camera\.dark_lens_s is 3\.0 in this config but was 2\.0 when the features were made"):
        replay_features(full, other, tmp_path, progress=False)
    gif = config.model_copy(update={"video": config.video.model_copy(update={"gif_fps": 5.0})})
    with pytest.raises(InputError, match=r"video\.gif_fps is 5\.0"):
        replay_features(full, gif, tmp_path, progress=False)
    backend = config.model_copy(update={"perception": config.perception.model_copy(update={"backend": TrackerBackend.mediapipe})})
    with pytest.raises(InputError, match=r"perception\.backend is \"mediapipe\" in this config but was \"litert\""):
        replay_features(full, backend, tmp_path, progress=False)
    # How replay schedules the tracker is no input: the table serves either way.
    serial = config.model_copy(update={"perception": config.perception.model_copy(
        update={"staged_replay": False, "landmark_threads": 1})})
    read_feature_table(full).check_config(serial)


def test_the_cycle_collector_is_kept_off_the_frames_only_while_they_are_decided():
    threshold, frozen_before = gc.get_threshold(), gc.get_freeze_count()
    with pytest.raises(RuntimeError), kept_out_of_gc():
        assert gc.get_threshold() == (max(threshold[0], YOUNG_GC_THRESHOLD), *threshold[1:])
        assert gc.get_freeze_count() > frozen_before
        raise RuntimeError("a frame failed")
    assert gc.get_threshold() == threshold and gc.get_freeze_count() == frozen_before


def test_a_sweep_over_when_a_new_driver_may_take_over_decides_each_config_as_alone():
    """Whether a journey with another driver starts (policy.journey, presence, the policy on at
    all) decides when the calibration and the driver's own baselines are learned afresh, so
    configs that differ there share no stage. Before, they shared the calibration's recording:
    the config without the new journey asked it for calls it never recorded (a RuntimeError
    that stopped the sweep). Driver 1 looks ahead at head pitch 0, leaves the seat at a stop
    for 40 s; driver 2, sitting lower, looks ahead at pitch 16 deg."""

    from driver_monitor.config.overrides import with_overrides
    from driver_monitor.fleet.feature_replay import decide_events
    from driver_monitor.fleet.stage_cache import CALIBRATION, SharedDrive, stage_keys
    from driver_monitor.fleet.table import FrameInput

    def frame(t: float) -> FrameInput:
        speed = 0.0 if 120.0 <= t < 180.0 else 80.0
        features = Features(t, False)
        if not 130.0 <= t < 170.0:
            features = Features(t, True, head_yaw_deg=0.0, head_pitch_deg=16.0 if t >= 170.0 else 0.0,
                                head_roll_deg=0.0, head_z_cm=-60.0, eye_blink_left=0.05, eye_blink_right=0.05,
                                ear_left=0.3, ear_right=0.3, gaze_yaw_deg=0.0, gaze_pitch_deg=0.0,
                                eye_look_down=0.1, eye_squint=0.1, jaw_open=0.05, mouth_aspect_ratio=0.05,
                                face_width_px=200.0, image_brightness=100.0, face_brightness=120.0)
        return FrameInput(features, VehicleState(t, speed_kph=speed), FrameStats(False, 100.0, 30.0), True, {})

    frames = [frame(i / 10) for i in range(2500)]
    base = load_config()
    configs = [base,
               with_overrides(base, {"policy": {"journey": {"new_after_driver_absent_s": 60.0}}}),
               with_overrides(base, {"presence": {"absent_after_s": 50.0}}),
               with_overrides(base, {"policy": {"enabled": False}})]
    alone = [decide_events(frames, c, Path("drive")) for c in configs]
    journeys = [[(e["t"], e["detail"]["reason"]) for e in events if e["name"] == "journey_start"] for events in alone]
    assert journeys[0] == [(0.0, "start"), (162.0, "driver_absent")]
    assert journeys[1] == journeys[2] == [(0.0, "start")] and journeys[3] == []
    assert not [e for e in alone[0] if e["name"] in ("long_distraction", "unresponsive")]
    assert [e["t"] for e in alone[1] if e["name"] == "long_distraction" and e.get("phase") == "start"] == [174.0]
    assert len({stage_keys(c)[CALIBRATION] for c in configs}) == 4
    shared = SharedDrive()
    shared.plan(configs)
    assert [decide_events(frames, c, Path("drive"), shared) for c in configs] == alone
