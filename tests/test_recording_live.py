"""The parts of a live recording (issue 16), each against real files and real decoders: the
streaming writer's kill-safe order, whole rows only, the BLF CAN log's times, the heart-rate
lines, and the vehicle inputs' "received by the frame's time" rule that makes a replay of the
recorded logs give every frame the vehicle state the live run gave it."""

from __future__ import annotations

import math
import shutil
import stat
from pathlib import Path

import can
import numpy as np
import pytest
import yaml

from driver_monitor.can.logs import VehicleCanEncoder, open_log_source
from driver_monitor.can.rx import VehicleSignalDecoder
from driver_monitor.config.vehicle import VehicleConfig
from driver_monitor.errors import InputError
from driver_monitor.messages import Frame, VehicleState
from driver_monitor.recording.can_log import CanLogWriter
from driver_monitor.recording.files import AppendFile
from driver_monitor.recording.format import heart_rate_row, open_recording, read_timestamps
from driver_monitor.recording.live import LiveRecording
from driver_monitor.recording.writer import RecordingWriter
from driver_monitor.sources.camera import _FilePace
from driver_monitor.sources.video_file import VideoFileSource, read_frames
from driver_monitor.vehicle.heart_rate_log import HeartRateLogSource
from driver_monitor.vehicle.heart_rate_serial import HeartRateReading, HeartRateTimeline


def image(k: int, size: tuple[int, int] = (48, 64)) -> np.ndarray:
    return np.random.default_rng(k).integers(0, 255, (*size, 3), dtype=np.uint8)


def decodable(path: Path) -> int:
    with VideoFileSource(path, partial=True) as source:
        try:
            return sum(1 for _ in source)
        except InputError:
            return 0


@pytest.mark.parametrize("codec", ["ffv1", "h264", "h264_lossless"])
def test_streaming_writer_is_readable_at_every_frame(tmp_path: Path, codec: str) -> None:
    root = tmp_path / "rec"
    writer = RecordingWriter(root, 64, 48, codec=codec, streaming=True, meta={"source": "test"})
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert yaml.safe_load((root / "meta.yaml").read_text())["complete"] is False
    for k in range(12):
        writer.add_frame(round(0.5 + k / 30, 3), image(k))
        # A copy of the directory now is what a kill now would leave.
        snapshot = tmp_path / f"snap{k}"
        shutil.copytree(root, snapshot)
        rows = read_timestamps(snapshot / "timestamps.csv")
        assert len(rows) == k  # the frame just added reaches the file with the next one
        if rows:
            assert decodable(snapshot / "video.mkv") >= len(rows)
            rec = open_recording(snapshot)
            assert not rec.complete
            frames = list(VideoFileSource(rec.video_path, timestamps_s=rec.timestamps_s, partial=True))
            assert [f.t for f in frames] == rows  # every timed frame is there, whole
    writer.close({"stopped": "test"})
    meta = yaml.safe_load((root / "meta.yaml").read_text())
    assert meta["complete"] is True and meta["frames"] == 12 and meta["source"] == "test" and meta["stopped"] == "test"
    assert read_timestamps(root / "timestamps.csv") == [round(0.5 + k / 30, 3) for k in range(12)]
    assert {stat.S_IMODE(p.stat().st_mode) for p in root.iterdir()} == {0o600}
    got = read_frames(root / "video.mkv")
    if codec != "h264":  # lossless: the replay sees the very pixels
        assert all(np.array_equal(f.image, image(k)) for k, f in enumerate(got))


def test_h264_keeps_the_colours(tmp_path: Path) -> None:
    """crf 18, 4:2:0 through OpenCV's RGB -> I420: a smooth coloured picture comes back within
    a grey level or two per channel (a swapped channel or the wrong range would be off by
    tens), and not bit-exact (that is what the lossless codecs are for)."""
    y, x = np.mgrid[0:96, 0:128]
    picture = np.dstack([x * 2, y * 2, 255 - x - y]).clip(0, 255).astype(np.uint8)
    writer = RecordingWriter(tmp_path / "rec", 128, 96, codec="h264")
    for k in range(3):
        writer.add_frame(k / 30, picture)
    writer.close()
    got = read_frames(tmp_path / "rec" / "video.mkv")
    error = np.abs(got[2].image.astype(int) - picture).mean(axis=(0, 1))
    assert (error < 2.5).all() and error.sum() > 0, error


@pytest.mark.parametrize(("codec", "size"), [("h264_lossless", (65, 49)), ("ffv1", (65, 49)), ("h264", (64, 48))])
def test_an_odd_picture_is_kept_whole_by_the_rgb_codecs(tmp_path: Path, codec: str, size: tuple[int, int]) -> None:
    recording = LiveRecording(tmp_path / "rec", {"source": "test"}, codec=codec)
    for k in range(3):
        recording.frame(Frame(k / 30, np.ascontiguousarray(np.resize(image(k), (49, 65, 3))), k), 1 / 30)
    recording.close()
    assert recording.error is None and (recording.width, recording.height) == size
    got = read_frames(tmp_path / "rec" / "video.mkv")
    assert got[0].image.shape == (size[1], size[0], 3)
    if codec != "h264":
        assert np.array_equal(got[2].image, np.resize(image(2), (49, 65, 3)))


def test_append_file_cuts_a_failed_row_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = AppendFile(tmp_path / "t.csv", "frame,t_s\n")
    rows.append("0,0.100000\n")
    import os

    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, data[:4]))  # the disk fills mid-row
    with pytest.raises(OSError) as info:
        rows.append("1,0.133000\n")
    monkeypatch.undo()
    rows.close()
    assert info.value.errno == 28
    assert (tmp_path / "t.csv").read_text() == "frame,t_s\n0,0.100000\n"


def test_can_log_keeps_the_receive_times_and_survives_a_kill(tmp_path: Path) -> None:
    log = CanLogWriter(tmp_path / "can.blf")
    encoder = VehicleCanEncoder()
    times = [round(0.013 + 0.01 * k, 3) for k in range(400)]
    for k, t in enumerate(times):
        log.add(encoder.encode("VEH_Speed", VehicleState(t=t, speed_kph=float(k % 90)), t), t)
        if k == 250:
            shutil.copy(tmp_path / "can.blf", tmp_path / "killed.blf")  # what a kill here leaves
    log.close()
    assert stat.S_IMODE((tmp_path / "can.blf").stat().st_mode) == 0o600
    messages = list(can.LogReader(str(tmp_path / "can.blf")))
    assert [m.timestamp for m in messages] == pytest.approx(times, abs=1e-9)
    killed = list(can.LogReader(str(tmp_path / "killed.blf")))
    # At most FLUSH_INTERVAL_S (1 s of recording) lost, the rest at the same times.
    assert killed and [m.timestamp for m in killed] == pytest.approx(times[: len(killed)], abs=1e-9)
    assert times[250] - killed[-1].timestamp <= 1.0
    # Replay maps log time to recording time with meta.yaml can_start_time_s 0.
    source = open_log_source(tmp_path / "can.blf", VehicleConfig(), {"can_start_time_s": 0.0})
    assert source.state_at(0.012).speed_kph is None and source.state_at(0.013).speed_kph == 0.0
    assert source.state_at(1.0).speed_kph == 98 % 90


def test_a_frame_sees_only_the_vehicle_values_received_by_its_time() -> None:
    decoder = VehicleSignalDecoder(VehicleConfig())
    encoder = VehicleCanEncoder()
    # Received while the loop was still busy with the frame captured at 1.000 s.
    decoder.feed(encoder.encode("VEH_Speed", VehicleState(t=0, speed_kph=10.0), 0.99), 0.990)
    decoder.feed(encoder.encode("VEH_Speed", VehicleState(t=0, speed_kph=20.0), 1.0), 1.000)
    decoder.feed(encoder.encode("VEH_Speed", VehicleState(t=0, speed_kph=30.0), 1.01), 1.010)
    assert decoder.state_at(0.985).speed_kph is None
    assert decoder.state_at(1.000).speed_kph == 20.0  # the same millisecond counts
    assert decoder.state_at(1.005).speed_kph == 20.0
    assert decoder.state_at(1.010).speed_kph == 30.0
    cycles = VehicleConfig().timeout_cycles * encoder.cycle_s("VEH_Speed")
    assert decoder.state_at(1.010 + cycles).speed_kph == 30.0 and decoder.state_at(1.011 + cycles).speed_kph is None


def test_heart_rate_lines_replay_into_the_same_vehicle_states(tmp_path: Path) -> None:
    lines = [(0.40, b"HR,70,850"), (0.80, b"rubbish"), (1.20, b"HR,72,830,835"), (1.95, b"HR,0"), (2.00, b"HR,75")]
    live = HeartRateTimeline(max_age_s=0.5)
    path = tmp_path / "heart_rate.csv"
    with path.open("w") as fh:
        fh.write("t_s,line\n")
        fh.writelines(heart_rate_row(t, line) for t, line in lines)
    from driver_monitor.vehicle.heart_rate_serial import LineError, parse_line

    for t, line in lines:
        try:
            reading = parse_line(line)
        except LineError:
            continue
        if reading is not None:
            live.add(t, reading)
    logged = HeartRateLogSource(path, max_age_s=0.5)
    assert (logged.lines_ok, logged.lines_bad) == (4, 1)
    frame_times = [round(0.1 * k, 3) for k in range(30)]
    got_live = [live.apply(VehicleState(t=t)) for t in frame_times]
    got_log = [logged.apply(VehicleState(t=t)) for t in frame_times]
    assert got_live == got_log
    by_t = dict(zip(frame_times, got_live, strict=True))
    assert by_t[0.3].external_heart_rate_bpm is None and by_t[0.4].external_heart_rate_bpm == 70.0
    assert by_t[0.4].external_rr_intervals_ms == (850.0,) and by_t[0.5].external_rr_intervals_ms == ()
    assert by_t[0.9].external_heart_rate_bpm == 70.0 and by_t[1.0].external_heart_rate_bpm is None  # 0.5 s old
    assert by_t[1.2].external_rr_intervals_ms == (830.0, 835.0) and by_t[1.9].external_heart_rate_bpm is None
    assert by_t[2.0].external_heart_rate_bpm == 75.0  # after "no contact"
    assert HeartRateTimeline(1.0).apply(VehicleState(t=1.0, external_heart_rate_bpm=60.0)).external_heart_rate_bpm == 60.0
    timeline = HeartRateTimeline(1.0)
    timeline.add(1.0, HeartRateReading(80.0))
    assert timeline.apply(VehicleState(t=1.0, external_heart_rate_bpm=60.0)).external_heart_rate_bpm == 60.0  # CAN wins


def test_no_video_recording_has_times_and_meta_but_no_picture(tmp_path: Path) -> None:
    rec = LiveRecording(tmp_path / "r", {"source": "cam"}, video=False)
    (tmp_path / "r").mkdir()
    for k in range(5):
        rec.frame(Frame(round(0.2 + k * 0.033, 3), image(k)), 1 / 30)
    rec.close({"stopped": "test"})
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["meta.yaml", "timestamps.csv"]
    meta = yaml.safe_load((tmp_path / "r" / "meta.yaml").read_text())
    assert meta["video"] == "none" and meta["frames"] == 5 and meta["complete"] is True and meta["camera_fps"] == 30.0
    with pytest.raises(InputError, match="a landmarks-only recording"):
        open_recording(tmp_path / "r")


def test_a_picture_that_changes_size_stops_the_recording_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "r").mkdir()
    rec = LiveRecording(tmp_path / "r", {})
    rec.frame(Frame(0.1, image(0)), 1 / 30)
    rec.frame(Frame(0.2, image(1, (24, 32))), 1 / 30)
    assert rec.stop_reason() == f"{tmp_path / 'r'}: the camera picture changed size from 64x48 to 32x24; the recording stops here"
    rec.close()
    assert read_timestamps(tmp_path / "r" / "timestamps.csv") == [0.1]


def test_a_file_camera_is_paced_by_its_own_frame_times() -> None:
    pace = _FilePace()
    assert pace.due(0.0, 1 / 24, now=10.0) == 10.0
    assert pace.due(0.067, 1 / 24, now=10.01) == pytest.approx(10.067)
    assert pace.due(0.133, 1 / 24, now=10.08) == pytest.approx(10.133)
    assert pace.due(0.133, 1 / 24, now=10.14) == pytest.approx(10.133 + 1 / 24)  # no position: nominal rate
    assert pace.due(0.300, 1 / 24, now=12.0) == 12.0  # far behind: from now on, no burst
    assert pace.due(0.400, 1 / 24, now=12.0) == pytest.approx(12.1)
    assert not math.isnan(pace.due(float("nan"), 0.04, now=12.2))


def test_serial_ack_presses_are_recorded_at_their_frame_and_replayed_there(tmp_path: Path) -> None:
    from driver_monitor.recording.format import read_serial_acks
    from driver_monitor.vehicle.inputs import RecordedAcks, VehicleInputs

    presses = iter([False, True, False, False, True, True, False])
    frames = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
    (tmp_path / "r").mkdir()
    rec = LiveRecording(tmp_path / "r", {})
    live = VehicleInputs(ack=lambda: next(presses))
    live.ack_tap = rec.serial_ack
    live_acks = [(s.driver_ack if (s := live.at(t)) is not None else False) for t in frames]
    rec.close()
    assert live_acks == [False, True, False, False, True, True, False]
    times = read_serial_acks(tmp_path / "r" / "serial_ack.csv")
    assert times == [0.2, 0.5, 0.6]
    replayed = VehicleInputs()
    replayed.recorded_acks = RecordedAcks(times)
    assert [(s.driver_ack if (s := replayed.at(t)) is not None else False) for t in frames] == live_acks


@pytest.mark.parametrize("tail", [b"6,0.", b"6,", b"\0" * 300, b"6,0.7\0\0\0\0"], ids=["torn-time", "torn-row", "nul-tail", "row-then-nul"])
def test_a_recording_cut_mid_row_reads_up_to_its_last_whole_row(tmp_path: Path, tail: bytes) -> None:
    """A power cut can leave the last row of a file half-written (no newline) or followed by
    NUL bytes (the file's size reached the disk before its data). A recording never closed
    (`complete: false`) is read up to its last whole row; before, one torn row made the whole
    recording unreadable ("t_s is not a number", "line contains NUL")."""
    root = tmp_path / "cut"
    writer = RecordingWriter(root, 64, 48, codec="ffv1", streaming=True, meta={"source": "test"})
    for k in range(7):
        writer.add_frame(round(0.1 * k, 3), image(k))  # never closed: a kill or a power cut
    (root / "heart_rate.csv").write_bytes(b"t_s,line\n0.150000,\"HR,70\"\n0.350000,\"HR,71\"\n" + tail.replace(b"6,", b"0.55"))
    (root / "serial_ack.csv").write_bytes(b"t_s\n0.300000\n" + tail.replace(b"6,", b""))
    with (root / "timestamps.csv").open("ab") as fh:
        fh.write(tail)
    rec = open_recording(root)
    assert not rec.complete
    assert rec.timestamps_s == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]  # the six whole rows
    from driver_monitor.recording.format import read_serial_acks

    assert read_serial_acks(root / "serial_ack.csv", torn_tail_ok=True) == [0.3]
    logged = HeartRateLogSource(root / "heart_rate.csv", max_age_s=1.0, torn_tail_ok=True)
    assert (logged.lines_ok, logged.lines_bad) == (2, 0)
    # A recording that says it was closed has no excuse: the same row is an error naming it.
    meta = yaml.safe_load((root / "meta.yaml").read_text())
    (root / "meta.yaml").write_text(yaml.safe_dump({**meta, "complete": True}))
    with pytest.raises(InputError, match=r"timestamps\.csv"):
        open_recording(root)
