"""The event log and the per-frame table, as replay writes them."""

import json
import math

import pyarrow.parquet as pq
import pytest

from driver_monitor.errors import InputError
from driver_monitor.messages import Event, Features
from driver_monitor.outputs.event_log import EventLogWriter, read_event_log
from driver_monitor.outputs.feature_table import FeatureTableWriter


def test_event_log_lines_follow_the_contract(tmp_path):
    path = tmp_path / "events.jsonl"
    log = EventLogWriter(path)
    log.write_events(
        [
            Event(1.23456789, "event", "driver_absent", "start", {"onset_t": 0.5}),
            Event(2.0, "event", "blink", None, {"duration_s": 0.1234567, "x": math.nan}),
            Event(3.0, "action", "chime", None, {"level": 2}),
        ]
    )
    log.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines == [
        {"t": 1.2346, "kind": "event", "name": "driver_absent", "phase": "start", "detail": {"onset_t": 0.5}},
        {"t": 2.0, "kind": "event", "name": "blink", "detail": {"duration_s": 0.1235, "x": None}},
        {"t": 3.0, "kind": "action", "name": "chime", "detail": {"level": 2}},
    ]
    assert read_event_log(path) == lines


def test_reading_a_bad_event_log_names_file_and_line(tmp_path):
    path = tmp_path / "labels.jsonl"
    path.write_text('{"t": 1, "kind": "event", "name": "sleep"}\n{"t": 2,\n')
    with pytest.raises(InputError, match=r"labels.jsonl:2: not JSON"):
        read_event_log(path)
    path.write_text('{"t": 1, "name": "sleep"}\n')
    with pytest.raises(InputError, match=r"labels.jsonl:1: needs the keys t, kind and name"):
        read_event_log(path)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_feature_table_has_one_row_per_frame(tmp_path, fmt):
    path = tmp_path / f"features.{fmt}"
    table = FeatureTableWriter(path, fmt)
    rows = [
        {**Features(t=0.0, face_present=False).columns(), "heart_rate_bpm": None},
        {**Features(t=0.04, face_present=True, head_yaw_deg=12.5).columns(), "heart_rate_bpm": 71.0},
    ]
    for row in rows:
        table.write_row(row)
    table.close()
    if fmt == "parquet":
        got = pq.read_table(path).to_pylist()
        assert got[1]["head_yaw_deg"] == 12.5 and got[1]["heart_rate_bpm"] == 71.0
        assert got[0]["heart_rate_bpm"] is None and got[0]["face_present"] is False
    else:
        lines = path.read_text().splitlines()
        header = lines[0].split(",")
        assert header[:3] == ["t", "face_present", "head_yaw_deg"] and "skin_g" in header
        second = dict(zip(header, lines[2].split(","), strict=True))
        assert second["head_yaw_deg"] == "12.5" and second["face_present"] == "True"
        first = dict(zip(header, lines[1].split(","), strict=True))
        assert first["head_yaw_deg"] == ""  # NaN is an empty cell


def test_parquet_floats_are_byte_stream_split_and_read_back_to_the_bit(tmp_path):
    path = tmp_path / "features.parquet"
    table = FeatureTableWriter(path, "parquet")
    odd = [0.1, -0.0, math.inf, 1e-300, 12.5, math.nan]
    for k, value in enumerate(odd):
        table.write_row({**Features(t=k / 30, face_present=k % 2 == 0, head_yaw_deg=value).columns(),
                         "gear": "D" if k < 3 else "R"})
    table.close()
    meta = pq.ParquetFile(path).metadata.row_group(0)
    encodings = {meta.column(i).path_in_schema: meta.column(i).encodings for i in range(meta.num_columns)}
    assert "BYTE_STREAM_SPLIT" in encodings["head_yaw_deg"] and "BYTE_STREAM_SPLIT" in encodings["t"]
    assert "RLE_DICTIONARY" in encodings["gear"] and "BYTE_STREAM_SPLIT" not in encodings["face_present"]
    got = pq.read_table(path).to_pydict()
    assert [math.copysign(1, v) for v in got["head_yaw_deg"][:5]] == [1, -1, 1, 1, 1]
    assert got["head_yaw_deg"][:5] == odd[:5] and math.isnan(got["head_yaw_deg"][5])
    assert got["t"] == [k / 30 for k in range(6)] and got["gear"] == ["D", "D", "D", "R", "R", "R"]


def test_status_fields_read_a_value_that_is_no_finite_number_as_unavailable():
    """What CAN and serial carry: an infinite KSS or eyes-off-road value (a detector column
    gone wrong) was an OverflowError in int(round(inf)) on the output thread, and a NaN speed
    went out as a known speed, where the policy reads it as unknown (policy/gates.py)."""
    from driver_monitor.messages import DriverState, Features, FrameResult, VehicleState
    from driver_monitor.outputs.fields import KSS_UNAVAILABLE, LEVEL_UNAVAILABLE, status_fields

    values = {"kss_level": math.inf, "eyes_off_road_s": math.inf, "perclos_60s": math.nan,
              "distraction_level": -math.inf, "stress_level": True}
    result = FrameResult(5.0, Features(5.0, True), VehicleState(5.0, speed_kph=math.nan),
                         DriverState(5.0, True, values=values))
    f = status_fields(result)
    assert (f.kss, f.distraction_level, f.stress_level) == (KSS_UNAVAILABLE, LEVEL_UNAVAILABLE, LEVEL_UNAVAILABLE)
    assert f.eyes_off_road_s is None and f.perclos_percent is None and f.speed_unknown is True
