"""Event clips (outputs/event_clips.py, recording/clip_store.py): the ring buffer, the trigger
window at exact times, extension and cap, warning triggers, the CAN / heart-rate logs of a
clip, privacy (0700 / 0600), the quota and the retention age. Synthetic frames and results,
no MediaPipe: the clip writer's real encoder writes real directories that replay reads."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import can
import numpy as np
import pytest
import yaml
from vehicle_io_helpers import make_result

from driver_monitor.can.logs import open_log_source
from driver_monitor.config import Config
from driver_monitor.messages import Event, Frame, PolicyState
from driver_monitor.outputs.event_clips import EventClips
from driver_monitor.recording.clip_store import PARTIAL_PREFIX, ClipStore
from driver_monitor.recording.format import open_recording, read_heart_rate_log, read_timestamps
from driver_monitor.runtime_state import clips_line
from driver_monitor.sources.video_file import read_frames

PERIOD_S = 0.1


def clip_config(tmp_path: Path, **clips: object) -> Config:
    settings = {"enabled": True, "dir": str(tmp_path / "clips"), "before_s": 2.0, "after_s": 1.0, "events": ["microsleep"],
                "quota_mb": 1000.0, "codec": "ffv1", **clips}
    return Config.model_validate({"recording": {"event_clips": settings}})


def image(k: int) -> np.ndarray:
    rng = np.random.default_rng(k)
    return rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)


def drive(clips: EventClips, until_s: float, events: dict[float, list[Event]] | None = None,
          policy: dict[float, PolicyState] | None = None, start_s: float = 0.0) -> None:
    """Frames every 0.1 s: the pipeline's result (with its events) first, then the frame tap,
    as the daemon's loop calls them."""
    k = int(round(start_s / PERIOD_S))
    while k * PERIOD_S <= until_s + 1e-9:
        t = round(k * PERIOD_S, 3)
        result = make_result(t, policy=(policy or {}).get(t))
        result.events.extend((events or {}).get(t, []))
        clips.write(result)
        clips.frame(Frame(t, image(k)), PERIOD_S)
        k += 1


def wait_written(clips: EventClips, n: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while clips.written + clips.failed < n:
        assert time.monotonic() < deadline, "the clip worker wrote nothing"
        time.sleep(0.02)


def only_clip(root: Path) -> Path:
    dirs = [p for p in root.iterdir() if not p.name.startswith(".")]
    assert len(dirs) == 1, dirs
    return dirs[0]


def test_a_chosen_event_writes_before_s_to_after_s_around_it(tmp_path: Path) -> None:
    clips = EventClips(clip_config(tmp_path), "settings: {}\n", {"source": "test"})
    start = Event(5.0, "event", "microsleep", "start", {"onset_t": 4.5})
    blink = Event(3.5, "event", "blink", None, {"onset_t": 3.4})  # not a trigger, but in the window
    drive(clips, 8.0, {5.0: [start], 3.5: [blink]})
    wait_written(clips, 1)
    clips.close()
    clip = only_clip(tmp_path / "clips")
    assert clip.name.endswith("-microsleep")
    # 3.0 .. 6.0 s of the drive, in the clip's own time: 31 frames.
    times = read_timestamps(clip / "timestamps.csv")
    assert times[0] == 0.0 and times[-1] == 3.0 and len(times) == 31
    frames = read_frames(clip / "video.mkv", timestamps_s=times)
    assert np.array_equal(frames[0].image, image(30)) and np.array_equal(frames[-1].image, image(60))  # lossless
    events = [yaml.safe_load(line) for line in (clip / "events.jsonl").read_text().splitlines()]
    assert events == [{"t": 0.5, "kind": "event", "name": "blink", "detail": {"onset_t": 0.4}},
                      {"t": 2.0, "kind": "event", "name": "microsleep", "phase": "start", "detail": {"onset_t": 1.5}}]
    meta = yaml.safe_load((clip / "meta.yaml").read_text())
    assert meta["clip"]["triggers"] == ["microsleep"] and meta["clip"]["trigger_t_s"] == 2.0
    assert meta["clip"]["daemon_start_t"] == 3.0 and meta["camera_fps"] == 10.0 and meta["source"] == "test"
    assert (clip / "config.yaml").read_text() == "settings: {}\n"
    # Private: the directories 0700, every file 0600.
    assert stat.S_IMODE((tmp_path / "clips").stat().st_mode) == 0o700 and stat.S_IMODE(clip.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in clip.iterdir()} == {0o600}
    assert open_recording(clip).complete
    status = clips.status()
    assert status["count"] == 1 and status["bytes"] == sum(p.stat().st_size for p in clip.iterdir())
    assert status["last"] == clip.name and status["written"] == 1 and status["recording"] is False


def test_a_trigger_inside_a_clip_extends_it_up_to_max_clip_s(tmp_path: Path) -> None:
    clips = EventClips(clip_config(tmp_path, max_clip_s=5.0), "", {})
    starts = {t: [Event(t, "event", "microsleep", "start")] for t in (5.0, 5.8, 6.5)}
    drive(clips, 12.0, starts)
    wait_written(clips, 1)
    clips.close()
    times = read_timestamps(only_clip(tmp_path / "clips") / "timestamps.csv")
    # 3.0 .. min(6.5 + 1.0, 3.0 + 5.0) = 7.5 s of the drive: one clip, not three.
    assert times[-1] == 4.5 and len(times) == 46


def test_a_warning_start_triggers_and_a_not_chosen_event_does_not(tmp_path: Path) -> None:
    clips = EventClips(clip_config(tmp_path, events=[]), "", {})
    warning = PolicyState(t=4.0, condition="phone_use", level=2, warning_since_t=4.0)
    policy = {round(k * PERIOD_S, 3): warning for k in range(40, 50)}  # one warning, ten frames long
    drive(clips, 8.0, {2.0: [Event(2.0, "event", "microsleep", "start")]}, policy)
    wait_written(clips, 1)
    clips.close()
    clip = only_clip(tmp_path / "clips")
    assert clip.name.endswith("-warning-phone_use")
    assert yaml.safe_load((clip / "meta.yaml").read_text())["clip"]["trigger_t_s"] == 2.0


def test_no_trigger_no_clip_and_the_ring_keeps_only_before_s(tmp_path: Path) -> None:
    clips = EventClips(clip_config(tmp_path, on_warning=False), "", {})
    warning = PolicyState(t=4.0, condition="phone_use", level=2, warning_since_t=4.0)
    drive(clips, 30.0, {5.0: [Event(5.0, "event", "blink", None)]}, {4.0: warning})
    assert len(clips._frames) == 21  # 28.0 .. 30.0 s: nothing older is held
    clips.close()
    assert list((tmp_path / "clips").iterdir()) == [] and clips.written == 0


def test_a_stop_inside_a_clip_writes_what_it_has(tmp_path: Path) -> None:
    clips = EventClips(clip_config(tmp_path), "", {})
    drive(clips, 5.4, {5.0: [Event(5.0, "event", "microsleep", "start")]})
    clips.close()
    wait_written(clips, 1)
    times = read_timestamps(only_clip(tmp_path / "clips") / "timestamps.csv")
    assert times[-1] == pytest.approx(2.4) and len(times) == 25


def test_the_clip_holds_the_can_frames_and_heart_rate_lines_of_its_window(tmp_path: Path) -> None:
    clips = EventClips(clip_config(tmp_path), "", {})
    for k in range(80):
        t = round(k * 0.1 + 0.05, 3)
        clips.can_message(can.Message(arbitration_id=0x100 + k % 3, data=bytes([k] * 8), is_extended_id=False), t)
        clips.heart_rate_line(f"HR,{60 + k % 10}".encode(), t)
    drive(clips, 8.0, {5.0: [Event(5.0, "event", "microsleep", "start")]})
    wait_written(clips, 1)
    clips.close()
    clip = only_clip(tmp_path / "clips")
    messages = list(can.LogReader(str(clip / "can.blf")))
    assert [round(m.timestamp, 6) for m in messages] == [round(k * 0.1 + 0.05 - 3.0, 6) for k in range(30, 60)]
    assert [m.data[0] for m in messages] == list(range(30, 60))
    assert yaml.safe_load((clip / "meta.yaml").read_text())["can_start_time_s"] == 0.0
    source = open_log_source(clip / "can.blf", Config().vehicle, {"can_start_time_s": 0.0})
    source.state_at(3.0)
    assert source.frames == 30  # every logged frame fed by the clip's end
    rows = read_heart_rate_log(clip / "heart_rate.csv")
    assert rows[0] == (pytest.approx(0.05), "HR,60") and len(rows) == 30


def test_a_clip_that_cannot_be_written_leaves_nothing_and_monitoring_goes_on(tmp_path: Path) -> None:
    clips = EventClips(clip_config(tmp_path), "", {})
    frames_dir = tmp_path / "clips"
    # Where the clip is written is unusable (a file stands where a directory must go).
    (tmp_path / "not-a-dir").write_text("")
    clips.store.partial_dir = lambda name: tmp_path / "not-a-dir" / name  # type: ignore[method-assign]
    drive(clips, 8.0, {5.0: [Event(5.0, "event", "microsleep", "start")]})
    wait_written(clips, 1)
    clips.close()
    assert clips.failed == 1 and clips.written == 0 and "Not a directory" in (clips.last_error or "")
    assert list(frames_dir.iterdir()) == []


def test_clips_beyond_the_queue_bound_are_dropped_while_the_writer_is_stuck(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # A writer slower than the triggers queued every finished clip with its raw frames (~420 MB
    # for 15 s at 640x480) until the daemon was killed for memory; now at most
    # MAX_QUEUED_CLIPS wait beside the one being written, the rest are dropped and counted.
    import threading

    import driver_monitor.outputs.event_clips as event_clips

    release = threading.Event()
    real_write_clip = event_clips.write_clip

    def stuck_write_clip(*args, **kwargs):  # type: ignore[no-untyped-def]
        release.wait(30.0)
        return real_write_clip(*args, **kwargs)

    monkeypatch.setattr(event_clips, "write_clip", stuck_write_clip)
    clips = EventClips(clip_config(tmp_path), "", {})
    try:
        # Five microsleeps 5 s apart: five clips of 2 s before to 1 s after each.
        starts = [3.0, 8.0, 13.0, 18.0, 23.0]
        events = {t: [Event(t, "event", "microsleep", "start")] for t in starts}
        drive(clips, 6.0, events)  # the first clip (1.0-4.0) is finished...
        deadline = time.monotonic() + 10.0
        while not clips.writing:  # ... and taken by the writer, which is stuck
            assert time.monotonic() < deadline
            time.sleep(0.01)
        drive(clips, 26.0, events, start_s=6.1)
        # The first is being written, two wait, the fourth and fifth were dropped.
        assert clips.dropped == 2 and clips.status()["dropped"] == 2
        assert clips.last_error == "clip microsleep at t=23.000 dropped: 2 clips already wait for the writer"
        assert clips_line(clips.status()).endswith(
            ", writing one, 2 dropped (writer behind) (last error: clip microsleep at t=23.000 dropped: "
            "2 clips already wait for the writer)")
        release.set()
        wait_written(clips, 3)
    finally:
        release.set()
        clips.close()
    assert clips.written == 3 and clips.failed == 0
    written = sorted(p.name for p in (tmp_path / "clips").iterdir() if not p.name.startswith("."))
    assert len(written) == 3


def _fake_clip(root: Path, name: str, size: int, age_s: float, now: float) -> Path:
    path = root / name
    path.mkdir(parents=True)
    (path / "video.mkv").write_bytes(b"\0" * size)
    os.utime(path, (now - age_s, now - age_s))
    return path


def test_store_deletes_by_age_then_oldest_first_by_quota_and_cleans_half_written_clips(tmp_path: Path) -> None:
    now = 1_800_000_000.0  # 2027: a clock that is set
    root = tmp_path / "clips"
    store = ClipStore(root, quota_bytes=2500, retention_s=3600.0, wall=lambda: now)
    old = _fake_clip(root, "20250101T100000Z-sleep", 100, 7200.0, now)
    first = _fake_clip(root, "20250101T115500Z-phone_use", 1000, 300.0, now)
    second = _fake_clip(root, "20250101T115640Z-microsleep", 1000, 200.0, now)
    third = _fake_clip(root, "20250101T115640Z-warning-microsleep-2", 1000, 100.0, now)
    # Not clips (a `dir` pointed at a directory that holds other things): never counted, never deleted.
    others = [_fake_clip(root, "my_project", 3000, 7200.0, now), _fake_clip(root, "old_notes", 10, 30 * 86400.0, now)]
    partial = root / f"{PARTIAL_PREFIX}e"
    partial.mkdir()
    store.open()
    assert not partial.exists() and stat.S_IMODE(root.stat().st_mode) == 0o700
    assert store.prune() == [old, first]  # the age first, then the oldest until 2000 <= 2500 bytes
    assert all(p.is_dir() for p in others)
    assert [c.path for c in store.clips()] == [second, third] and store.deleted == 2
    store.quota_bytes = 500  # one clip alone over the quota: the quota wins
    assert store.prune() == [second, third] and store.clips() == []


def test_a_wall_clock_jump_deletes_no_fresh_clip_by_age(tmp_path: Path) -> None:
    # A car's clock is set after boot (GPS): a clip written in "1970" was deleted as older than
    # the retention age at the next prune, and one written while the clock was ahead was kept
    # past it. Their age now counts from the first prune that sees them with a set clock.
    root = tmp_path / "clips"
    wall = [1_000.0]  # 1970: not set yet
    store = ClipStore(root, quota_bytes=1e9, retention_s=3600.0, wall=lambda: wall[0])
    boot = _fake_clip(root, "19700101T000512Z-driver_absent", 100, 0.0, wall[0])
    store.open()
    assert store.prune() == [] and boot.is_dir()  # no set clock, no age
    wall[0] = 1_800_000_000.0  # GPS sets the clock
    ahead = _fake_clip(root, "20290101T000000Z-sleep", 100, -86400.0, wall[0])  # a clock a day ahead
    stale = _fake_clip(root, "20270115T080000Z-phone_use", 100, 7200.0, wall[0])  # really 2 h old
    assert store.prune() == [stale]
    assert boot.is_dir() and ahead.is_dir()
    assert boot.stat().st_mtime == ahead.stat().st_mtime == wall[0]  # their age starts now
    wall[0] += 3000.0
    assert store.prune() == []
    wall[0] += 601.0
    assert store.prune() == [boot, ahead] and store.clips() == []


def test_a_clip_past_the_retention_age_is_deleted_while_the_daemon_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Clips were pruned only at start and after a new clip: a daemon that ran on without a
    # trigger kept a clip past retention_days for as long as it ran (a car left running, a
    # fleet PC that is never restarted).
    import driver_monitor.outputs.event_clips as event_clips

    monkeypatch.setattr(event_clips, "PRUNE_EVERY_S", 0.05)
    wall = [1_800_000_000.0]
    root = tmp_path / "clips"
    clip = _fake_clip(root, "20270115T080000Z-microsleep", 100, 0.5 * 86400.0, wall[0])  # half a day old
    clips = EventClips(clip_config(tmp_path, retention_days=1.0), "", {}, wall=lambda: wall[0])
    try:
        time.sleep(0.3)
        assert clip.is_dir() and clips.status()["count"] == 1
        wall[0] += 0.5 * 86400.0 + 1.0  # a day and a second old, no trigger since the start
        deadline = time.monotonic() + 5.0
        while clip.is_dir() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not clip.is_dir()
        assert clips.status()["count"] == 0 and clips.status()["deleted"] == 1
    finally:
        clips.close()


def test_a_clip_directory_that_cannot_be_made_at_start_leaves_monitoring_on(tmp_path: Path,
                                                                           caplog: pytest.LogCaptureFixture) -> None:
    # The daemon refused to start ("error: recording.event_clips.dir: ...: cannot be used"):
    # a clip disk gone read-only or full at boot left the car with no driver monitoring at all,
    # where a reload with the same directory goes on without clips, as a state directory that
    # cannot be used does (docs/service.md).
    from driver_monitor.assembly import Mode, RunIo

    (tmp_path / "a_file").write_text("")
    config = clip_config(tmp_path, dir=str(tmp_path / "a_file" / "clips"))
    with caplog.at_level("ERROR"):
        io = RunIo.open(config, Mode.RUN)
    try:
        assert io.event_clips is None and not any(isinstance(s, EventClips) for s in io.sinks)
        assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [
            f"event clips off: recording.event_clips.dir: {tmp_path / 'a_file' / 'clips'}: cannot be used (Not a directory)"]
    finally:
        io.close(outputs=True)


@pytest.mark.slow
def test_the_live_daemon_writes_a_clip_and_status_shows_it(tmp_path: Path, daemons: list) -> None:
    import subprocess
    import sys

    from daemon_harness import BASE_CONFIG, REPO, DaemonProcess

    clips_dir = tmp_path / "clips"
    config = BASE_CONFIG.format(absent_after_s=30.0) + f"""
recording:
  event_clips:
    enabled: true
    dir: {clips_dir}
    before_s: 1.0
    after_s: 0.5
    events: [blink]
    quota_mb: 500
"""
    camera = REPO / "recordings" / "selfie_writing" / "video.mkv"  # she blinks within seconds
    d = DaemonProcess(tmp_path, camera, config)
    daemons.append(d)
    d.wait_ready()
    deadline = time.monotonic() + 60.0
    while not any(not p.name.startswith(".") for p in clips_dir.iterdir()):
        assert d.proc.poll() is None and time.monotonic() < deadline, d.stderr_text()
        time.sleep(0.1)
    time.sleep(1.5)  # the next state-file refresh
    status = subprocess.run([sys.executable, "-m", "driver_monitor", "status", "--state-dir", str(d.state_dir)],
                            cwd=REPO, capture_output=True, text=True, timeout=30).stdout
    line = next(line for line in status.splitlines() if line.startswith("  event clips"))
    assert f" in {clips_dir}, " in line and " MB of 500 MB quota, last " in line and "-blink" in line
    count, mb = line.split()[2], line.split(", ")[1].split()[0]
    on_disk = [p for p in clips_dir.iterdir() if not p.name.startswith(".")]
    assert 1 <= int(count) <= len(on_disk) and float(mb) > 0.0, line  # more may have come since
    rc, _ = d.stop()
    assert rc == 0
    clip = sorted(p for p in clips_dir.iterdir() if not p.name.startswith("."))[0]
    rec = open_recording(clip)
    assert rec.timestamps_s is not None and 1.2 <= rec.timestamps_s[-1] - rec.timestamps_s[0] <= 1.6
    assert any('"name":"blink"' in line for line in (clip / "events.jsonl").read_text().splitlines())
    assert stat.S_IMODE(clip.stat().st_mode) == 0o700
