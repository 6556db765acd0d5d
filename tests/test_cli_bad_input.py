"""Bad input on the command line, found by trying every subcommand with it: each case is one
`error:` line naming the file or key (no traceback), a non-zero exit status, and nothing
destroyed. Every case here was a traceback, a silent wrong answer or lost data before."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from driver_monitor.can.dbc import VEHICLE_EXAMPLE_DBC_PATH
from driver_monitor.cli import main
from driver_monitor.config import load_config

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "scenarios" / "visual_time_sharing.yaml"


def one_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "Traceback" not in err[0], err
    return err[0]


# ---- nothing read is overwritten ----------------------------------------------------------------

def test_the_annotated_video_cannot_be_the_video_being_read(real_dir, tmp_path, capsys):
    video = tmp_path / "v.mp4"
    shutil.copyfile(real_dir / "desk_talking.mp4", video)
    before = video.read_bytes()
    assert main(["annotate", str(video), "-o", str(video)]) == 1
    assert one_error(capsys) == f"error: {video}: is the video being replayed: write the annotated video to another file"
    assert main(["replay", str(video), "--out", str(tmp_path / "out"), "--annotate", str(video)]) == 1
    one_error(capsys)
    assert video.read_bytes() == before  # it was cut to the frames read before the writer truncated it
    assert not (tmp_path / "out").exists()


def test_a_recording_is_not_replayed_into_itself(fleet_drives, tmp_path, capsys):
    recording = tmp_path / "rec"
    shutil.copytree(fleet_drives["visual_time_sharing"], recording)
    files = {p.name: p.read_bytes() for p in recording.iterdir() if p.is_file()}
    assert main(["replay", str(recording), "--out", str(recording)]) == 1
    assert one_error(capsys) == (f"error: {recording}: is the recording being replayed (a recording is never "
                                 "overwritten): give --out another directory")
    assert {p.name: p.read_bytes() for p in recording.iterdir() if p.is_file()} == files


def test_simulate_replaces_an_earlier_simulation_only(tmp_path, capsys):
    out = tmp_path / "sim"
    args = ["simulate", str(SCENARIO), "--out", str(out), "--fps", "2", "--size", "64x48", "--no-progress"]
    assert main(args) == 0
    assert main(args) == 0  # an earlier simulation: rendered again, whole
    capsys.readouterr()
    other = tmp_path / "replayed"
    other.mkdir()
    (other / "events.jsonl").write_text("")
    assert main(["simulate", str(SCENARIO), "--out", str(other), "--fps", "2", "--size", "64x48", "--no-progress"]) == 1
    assert one_error(capsys) == (f"error: {other}: exists, is not empty and is not an earlier simulation (a recording "
                                 "or a replay's outputs are never overwritten): name a new directory")
    assert [p.name for p in other.iterdir()] == ["events.jsonl"]


def test_an_interrupted_replay_says_its_outputs_are_the_drives_start_only(tmp_path, capsys, monkeypatch):
    """Ctrl-C in a replay: its outputs so far are flushed and look like a whole replay's, and
    the one word "interrupted" did not say so (an eval of them scores the rest as missed)."""
    import driver_monitor.replay as replay_module

    sim = tmp_path / "sim"
    assert main(["simulate", str(SCENARIO), "--out", str(sim), "--fps", "2", "--size", "64x48", "--no-progress"]) == 0
    frames = iter(range(5))

    def ctrl_c_on_the_fifth_frame(wall_t: float) -> None:
        if next(frames, None) is None:
            raise KeyboardInterrupt

    monkeypatch.setattr(replay_module, "_sleep_until", ctrl_c_on_the_fifth_frame)
    capsys.readouterr()
    out = tmp_path / "out"
    assert main(["replay", str(sim), "--out", str(out), "--realtime", "--no-progress"]) == 130
    assert capsys.readouterr().err == (f"interrupted: {out} holds the outputs of the drive's start only: replay it "
                                       "again for the whole drive\n")
    assert (out / "events.jsonl").is_file() and (out / "run.yaml").is_file()


# ---- one line, not a traceback ------------------------------------------------------------------

def test_outputs_that_cannot_be_written_are_one_line(real_dir, tmp_path, capsys):
    clip = real_dir / "desk_talking.mp4"
    (tmp_path / "out" / "events.jsonl").mkdir(parents=True)
    assert main(["replay", str(clip), "--out", str(tmp_path / "out")]) == 1
    assert one_error(capsys) == f"error: {tmp_path / 'out' / 'events.jsonl'}: cannot write (Is a directory)"
    assert main(["replay", str(clip), "--out", "/proc/self"]) == 1
    assert one_error(capsys) == "error: /proc/self/events.jsonl: cannot write (No such file or directory)"
    (tmp_path / "d.mp4").mkdir()
    assert main(["annotate", str(clip), "-o", str(tmp_path / "d.mp4")]) == 1
    assert one_error(capsys) == f"error: {tmp_path / 'd.mp4'}: is a directory: name the annotated video's file"
    assert main(["annotate", str(clip), "-o", "/proc/x.mp4"]) == 1
    assert one_error(capsys) == "error: /proc/x.mp4: cannot write (No such file or directory)"


def test_a_report_that_cannot_be_written_there_is_refused_before_the_replay(real_dir, tmp_path, capsys):
    """A file where a directory of the --report path should be: the whole replay ran, then
    the report failed with "(File exists)", as if the report were there already."""
    (tmp_path / "file").write_text("")
    report = tmp_path / "file" / "r.html"
    out = tmp_path / "out"
    assert main(["replay", str(real_dir / "desk_talking.mp4"), "--out", str(out), "--report", str(report)]) == 1
    assert one_error(capsys) == f"error: {report}: cannot write the report ({tmp_path / 'file'} is a file, not a directory)"
    assert not out.exists()


def test_event_logs_and_labels_are_checked_line_by_line(real_replays, tmp_path, capsys):
    drive = real_replays["desk_talking"]
    (tmp_path / "bytes.jsonl").write_bytes(b'{"t": 1.0, "kind": "event", "name": "yawn"}\n\xff\n')
    (tmp_path / "t.jsonl").write_text('{"t": "x", "kind": "event", "name": "blink", "detail": {}}\n')
    (tmp_path / "nan.jsonl").write_text('{"t": NaN, "kind": "event", "name": "blink"}\n')
    for name, expected in (("bytes.jsonl", "not UTF-8 text (byte 44)"), ("t.jsonl", "1: t is not a number of seconds ('x')"),
                           ("nan.jsonl", "1: t is not a number of seconds (nan)")):
        labels = tmp_path / name
        for argv in (["eval", str(drive), str(labels)], ["report", str(drive), "--labels", str(labels),
                                                         "-o", str(tmp_path / "r.html")]):
            assert main(argv) == 1
            sep = ": " if expected.startswith("not") else ":"
            assert one_error(capsys) == f"error: {labels}{sep}{expected}"


@pytest.mark.parametrize(("lines", "problem"), [
    (['{"t": 1.0, "kind": "evnet", "name": "yawn"}'], '1: kind must be "event", "action" or "state" (got \'evnet\')'),
    (['{"t": 5.0, "kind": "event", "name": "sleep", "phase": "start"}',
      '{"t": 2.0, "kind": "event", "name": "sleep", "phase": "end"}'], "2: sleep ends at t 2, before its start at t 5 (line 1)"),
])
def test_a_label_that_would_be_scored_as_something_else_is_refused(tmp_path, capsys, lines, problem):
    """A misspelt kind was skipped by scoring (the label was never counted, so the detection
    read as a false alert) and an end before its start was a label of negative length no
    detection could answer: both a silently different score."""
    drive = tmp_path / "drive"
    drive.mkdir()
    (drive / "events.jsonl").write_text('{"t": 5.5, "kind": "event", "name": "sleep", "phase": "start"}\n')
    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(f"{line}\n" for line in lines))
    assert main(["eval", str(drive), str(labels)]) == 1
    assert one_error(capsys) == f"error: {labels}:{problem}"


def test_a_report_with_nothing_to_plot_says_so(real_replays, tmp_path, capsys):
    drive = tmp_path / "drive"
    drive.mkdir()
    (drive / "events.jsonl").write_text("")
    shutil.copyfile(real_replays["desk_talking"] / "run.yaml", drive / "run.yaml")
    assert main(["report", str(drive)]) == 0  # was a ZeroDivisionError in the figure
    assert "nothing to plot: no per-frame table and no events" in (drive / "report.html").read_text()


def test_a_report_refuses_another_drives_video_and_missing_inputs(real_dir, real_replays, tmp_path, capsys):
    drive = real_replays["desk_talking"]
    out = str(tmp_path / "r.html")
    assert main(["report", str(drive), "--video", str(real_dir / "desk_yawn.mp4"), "-o", out]) == 1
    assert one_error(capsys) == (f"error: {real_dir / 'desk_yawn.mp4'}: not the video this replay read "
                                 f"({real_dir / 'desk_talking.mp4'}, by its sha256 in {drive / 'run.yaml'})")
    assert main(["report", str(drive), "--input", str(tmp_path / "none"), "-o", out]) == 1
    assert one_error(capsys) == f"error: {tmp_path / 'none'}: no such file or directory (--input)"


def test_simulate_checks_its_command_line_as_the_scenario_file(tmp_path, capsys):
    for extra, problem in ((["--seed", "-1"], "seed: Input should be greater than or equal to 0 (got -1)"),
                           (["--fps", "100000"], "camera.fps: Input should be less than or equal to 240 (got 100000.0)")):
        assert main(["simulate", str(SCENARIO), "--out", str(tmp_path / "s"), *extra]) == 2
        assert one_error(capsys) == f"error: the command line's --fps / --size / --seed / --face: {problem}"
    assert main(["simulate", str(SCENARIO), "--out", str(tmp_path / "s"), "--fps", "0.001"]) == 2
    # One frame (at t = 0; "renders no frame" before every frame before the end was counted).
    assert one_error(capsys) == ("error: the command line's --fps: duration_s 30 at camera.fps 0.001 renders 1 frame: "
                                 "a drive needs at least 2 (raise camera.fps)")
    assert not (tmp_path / "s").exists()


def test_a_truncated_gif_is_an_error_not_a_short_drive(clips_dir, tmp_path, capsys):
    cut = tmp_path / "cut.gif"
    cut.write_bytes((clips_dir / "iris_tracking_example.gif").read_bytes()[:200_000])
    assert main(["replay", str(cut), "--out", str(tmp_path / "out")]) == 1
    line = one_error(capsys)
    assert line.startswith(f"error: {cut}: truncated GIF: the file ends without its trailer, after ") and "frames" in line


def test_a_corpus_drive_without_its_table_is_an_error_not_zero_hours(real_replays, real_dir, tmp_path, capsys):
    corpus = tmp_path / "corpus"
    shutil.copytree(real_replays["desk_talking"], corpus / "desk_talking")
    (corpus / "desk_talking" / "features.csv").unlink()
    assert main(["eval", str(corpus), "--truth", str(real_dir / "truth.yaml")]) == 1
    assert one_error(capsys) == (f"error: {corpus / 'desk_talking'}: no per-frame table (features.csv or "
                                 "features.parquet): the drive's duration, and so false alerts per hour, come from it")


@pytest.mark.parametrize("command", [["extract", "--out", "OUT"], ["eval"], ["sweep", "--grid", "GRID", "--out", "OUT"]])
def test_a_list_file_that_names_itself_is_one_line(tmp_path, capsys, command):
    """A list naming itself, directly or through another list, was read again and again until
    a RecursionError traceback."""
    (tmp_path / "grid.yaml").write_text("presence.absent_after_s: [1, 2]\n")
    (tmp_path / "self.txt").write_text("self.txt\n")
    (tmp_path / "a.txt").write_text("# drives of a\nb.txt\n")
    (tmp_path / "b.txt").write_text("a.txt\n")
    args = [a.replace("OUT", str(tmp_path / "out")).replace("GRID", str(tmp_path / "grid.yaml")) for a in command]
    for listed, named in (("self.txt", "self.txt"), ("a.txt", "a.txt")):
        assert main([args[0], str(tmp_path / listed), *args[1:]]) == 1
        assert one_error(capsys) == (f"error: {tmp_path / named}: the list names itself (directly or through "
                                     "another list file)")


def test_a_feature_table_saved_with_a_byte_order_mark_is_read(real_replays, tmp_path, capsys):
    """A features.csv saved again by a spreadsheet starts with a BOM: its first column read as
    "\\ufefft", and the error said "no column `t`" of a header that shows one."""
    drive = tmp_path / "drive"
    shutil.copytree(real_replays["desk_talking"], drive)
    table = drive / "features.csv"
    table.write_bytes(b"\xef\xbb\xbf" + table.read_bytes())
    assert main(["replay", "--features", str(drive), "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    assert (tmp_path / "out" / "events.jsonl").read_text() == (real_replays["desk_talking"] / "events.jsonl").read_text()


# ---- files that say something other than what they seem to ---------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("presence: {absent_after_s: 1}\npresence: {absent_after_s: 2}\n",
     "not valid YAML at line 2, column 1: the key 'presence' is written twice in one mapping"),
    ("presence:\n  absent_after_s: 1\n  absent_after_s: 2\n",
     "not valid YAML at line 3, column 3: the key 'absent_after_s' is written twice in one mapping"),
])
def test_a_key_written_twice_is_refused(tmp_path, capsys, text, expected):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    assert main(["check-config", str(cfg)]) == 2
    assert one_error(capsys) == f"error: {cfg}: {expected}"


def test_a_merge_may_be_overridden_beside_it(tmp_path, capsys):
    merged = tmp_path / "m.yaml"
    merged.write_text("presence:\n  <<: {absent_after_s: 1}\n  absent_after_s: 3\n")
    assert main(["check-config", str(merged)]) == 0
    assert "presence.absent_after_s" in capsys.readouterr().out


@pytest.mark.parametrize(("text", "expected"), [
    ("presence:\n#  absent_after_s: 3\n", "presence: expected a mapping of settings (key: value lines), got nothing (null)"),
    ("presence: [absent_after_s, 3]\n", "presence: expected a mapping of settings (key: value lines), got a list"),
    ("camera: usb\n", "camera: expected a mapping of settings (key: value lines), got str 'usb'"),
])
def test_a_section_that_is_no_mapping_says_what_it_is(tmp_path, capsys, text, expected):
    """pydantic's "Input should be a valid dictionary or instance of PresenceConfig" named a
    class the file does not have, and said nothing of a list."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    assert main(["check-config", str(cfg)]) == 2
    assert one_error(capsys) == f"error: {expected}"
    truth = tmp_path / "truth.yaml"
    truth.write_text("drive: [1]\n")
    (tmp_path / "drive").mkdir(exist_ok=True)
    (tmp_path / "drive" / "events.jsonl").write_text("")
    assert main(["eval", str(tmp_path / "drive"), "--truth", str(truth)]) == 2
    assert one_error(capsys) == (f"error: {truth}: drive: expected a mapping of settings (key: value lines), got a "
                                 "list")  # was "drive.(top level): Input should be ..."


@pytest.mark.parametrize("text", ["service:\n  state_dir: ''\n",
                                  "recording:\n  event_clips:\n    enabled: true\n    dir: ''\n"])
def test_an_empty_path_is_not_the_working_directory(tmp_path, capsys, text):
    """"" read as Path("."): the state file, or the driver's video clips, went wherever the
    daemon was started, and check-config called it valid."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    assert main(["check-config", str(cfg)]) == 2
    key = "service.state_dir" if "state_dir" in text else "recording.event_clips.dir"
    assert one_error(capsys) == f"error: {key}: an empty path (null, or no key, for the default) (got '')"


def test_a_boolean_is_not_a_number(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("presence:\n  absent_after_s: true\n")
    assert main(["check-config", str(cfg)]) == 2
    assert one_error(capsys) == "error: presence.absent_after_s: a number is expected, not a boolean (got True)"


@pytest.mark.parametrize(("text", "line"), [
    # In a list, a tuple or a mapping the boolean was still read as 1 / 0: a stress level
    # threshold of 1.0, a KSS floor for level 1, a stress sign of +1.
    ("stress:\n  level:\n    level_thresholds: [true, 1.5, 2.5]\n",
     "stress.level.level_thresholds: a number is expected, not a boolean"),
    ("policy:\n  conditions:\n    drowsy:\n      start_stage_by_level: {true: 1}\n",
     "policy.conditions.drowsy.start_stage_by_level: a number is expected, not a boolean"),
    ("drowsiness:\n  kss:\n    perclos_points: [[0.04, 0.0], [0.3, false]]\n",
     "drowsiness.kss.perclos_points: a number is expected, not a boolean"),
])
def test_a_boolean_is_not_a_number_in_a_list_or_mapping_either(tmp_path, capsys, text, line):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    assert main(["check-config", str(cfg)]) == 2
    assert one_error(capsys) == f"error: {line}"


@pytest.mark.parametrize(("key", "value"), [
    ("policy.conditions.drowsy.value_min", ".nan"),  # no kss_level is >= NaN: drowsy never escalated by its level
    ("drowsiness.eyes.min_face_width_px", ".inf"),  # no face is that wide: the eyes never judged
    ("recording.event_clips.quota_mb", ".inf"),
])
def test_no_setting_takes_nan_or_infinity(tmp_path, capsys, key, value):
    """A bounded setting refused `.nan` / `.inf` by its bound; an unbounded one took them
    without a word."""
    cfg = tmp_path / "c.yaml"
    *sections, last = key.split(".")
    cfg.write_text("".join(f"{'  ' * i}{part}:\n" for i, part in enumerate(sections)) + f"{'  ' * len(sections)}{last}: {value}\n")
    assert main(["check-config", str(cfg)]) == 2
    got = "nan" if value == ".nan" else "inf"
    assert one_error(capsys) == f"error: {key}: Input should be a finite number (got {got})"
    truth = tmp_path / "truth.yaml"
    truth.write_text(f"drive:\n  file: drive.mp4\n  intervals:\n  - {{kind: yawn, start_s: 1.0, end_s: {value}}}\n")
    (tmp_path / "drive").mkdir()
    (tmp_path / "drive" / "events.jsonl").write_text("")
    assert main(["eval", str(tmp_path / "drive"), "--truth", str(truth)]) == 2
    assert one_error(capsys) == f"error: {truth}: drive.intervals.0.end_s: Input should be a finite number (got {got})"


def test_check_config_checks_the_face_model_file_is_there(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("perception:\n  model_path: /nonexistent.task\n")
    assert main(["check-config", str(cfg)]) == 2
    assert one_error(capsys) == "error: perception.model_path: /nonexistent.task: no such file"
    cfg.write_text(f"perception:\n  model_path: {tmp_path}\n")  # was "no such file" of a directory that is there
    assert main(["check-config", str(cfg)]) == 2
    assert one_error(capsys) == f"error: perception.model_path: {tmp_path}: is a directory, not the model file"


def test_an_ambiguous_span_backwards_is_refused(tmp_path, capsys, real_replays):
    truth = tmp_path / "truth.yaml"
    truth.write_text("desk_talking:\n  file: desk_talking.mp4\n  ambiguous:\n  - {what: blink, start_s: 2.0, end_s: 1.0}\n")
    assert main(["eval", str(real_replays["desk_talking"]), "--truth", str(truth)]) == 2
    assert one_error(capsys) == f"error: {truth}: desk_talking.ambiguous.0: end_s must not be before start_s"


def test_small_wording(tmp_path, capsys, real_dir, real_replays):
    assert main(["extract", str(tmp_path / "none.mp4"), "--out", str(tmp_path / "f")]) == 1
    assert one_error(capsys) == f"error: {tmp_path / 'none.mp4'}: no such file or directory"
    truth = tmp_path / "truth.yaml"
    truth.write_text("other:\n  file: other.mp4\n")
    assert main(["eval", str(real_replays["desk_talking"]), "--truth", str(truth)]) == 1
    assert one_error(capsys) == f"error: {truth}: no clip named 'desk_talking' in the truth file (clips: other)"
    assert main(["extract", str(real_dir / "desk_talking.mp4"), "--out", str(tmp_path / "f"), "--jobs", "1" + "0" * 20]) == 1
    assert one_error(capsys) == f"error: --jobs must be at most 1024 (got 1{'0' * 20})"  # was an OverflowError
    with pytest.raises(SystemExit) as exit_info:
        main(["eval", str(real_replays["desk_talking"]), "--truth", str(truth), "--early-s", "-3"])
    assert exit_info.value.code == 2 and "--early-s: must be a finite number >= 0: '-3'" in capsys.readouterr().err


# ---- recordings whose parts do not agree ---------------------------------------------------------

def test_frames_lost_inside_a_recording_are_an_error_not_a_shift(fleet_drives, tmp_path, capsys):
    """A damaged stretch in video.mkv: the decoder skips its frames, and every later frame was
    taken at an earlier row of timestamps.csv (3.4 s early), silently moving the events."""
    recording = tmp_path / "rec"
    shutil.copytree(fleet_drives["visual_time_sharing"], recording)
    video = recording / "video.mkv"
    data = bytearray(video.read_bytes())
    middle = len(data) // 2
    data[middle:middle + len(data) // 20] = bytes(len(data) // 20)  # zeros over 5 % of the file
    video.write_bytes(bytes(data))
    assert main(["replay", str(recording), "--out", str(tmp_path / "out")]) == 1
    line = one_error(capsys)
    assert line.startswith(f"error: {video}: corrupt video: the frame after frame ") and "(frames in between are lost)" in line, line


def test_a_report_of_a_recordings_replay_refuses_another_recordings_video(fleet_drives, tmp_path, capsys):
    """run.yaml's sha256 of a recording directory covers all its files: the check was skipped
    for such a replay, and another drive's face went beside these events."""
    import yaml

    from driver_monitor.provenance import sha256_of

    recording = fleet_drives["visual_time_sharing"]
    drive = tmp_path / "drive"
    drive.mkdir()
    (drive / "events.jsonl").write_text('{"t": 1.0, "kind": "event", "name": "blink"}\n')
    (drive / "run.yaml").write_text(yaml.safe_dump({"input": {"path": str(recording), "sha256": sha256_of(recording)}}))
    out = str(tmp_path / "r.html")
    other = fleet_drives["fleet_mixed"]
    assert main(["report", str(drive), "--video", str(other), "-o", out]) == 1
    assert one_error(capsys) == (f"error: {other}: not the video this replay read ({recording}, by its sha256 in "
                                 f"{drive / 'run.yaml'})")
    assert main(["report", str(drive), "--video", str(other / "video.mkv"), "-o", out]) == 1
    one_error(capsys)
    assert main(["report", str(drive), "--video", str(recording), "-o", out]) == 0
    assert main(["report", str(drive), "--video", str(recording / "video.mkv"), "-o", out]) == 0
    capsys.readouterr()
    # run.yaml's path relative to another working directory, the recording relabelled since:
    # nothing to compare with, so a note rather than a refusal of the right drive.
    (drive / "run.yaml").write_text(yaml.safe_dump({"input": {"path": "elsewhere/visual_time_sharing",
                                                              "sha256": "0" * 64}}))
    assert main(["report", str(drive), "--video", str(recording), "-o", out]) == 0
    assert (f"note: --video {recording} could not be checked against the replay's input "
            "(elsewhere/visual_time_sharing is not there)") in capsys.readouterr().out


def test_a_report_never_replaces_a_file_it_reads(real_dir, real_replays, tmp_path, capsys):
    drive = tmp_path / "drive"
    shutil.copytree(real_replays["desk_talking"], drive)
    video = tmp_path / "v.mp4"
    shutil.copyfile(real_dir / "desk_talking.mp4", video)
    files = {p: p.read_bytes() for p in [*drive.iterdir(), video]}
    assert main(["report", str(drive), "-o", str(drive / "events.jsonl")]) == 1
    assert one_error(capsys) == (f"error: {drive / 'events.jsonl'}: is a file of {drive} the report reads: write the "
                                 "report to another file")
    assert main(["report", str(drive), "--video", str(video), "-o", str(video)]) == 1
    assert one_error(capsys) == f"error: {video}: is an input the report reads: write the report to another file"
    assert main(["replay", str(video), "--out", str(tmp_path / "out"), "--report", str(video)]) == 1
    one_error(capsys)
    assert not (tmp_path / "out").exists()  # refused before the replay
    assert {p: p.read_bytes() for p in files} == files
    assert main(["report", str(drive)]) == 0 and main(["report", str(drive)]) == 0  # an earlier report is replaced


def test_event_lines_with_a_detail_that_is_no_mapping_or_nested_too_deep(real_replays, tmp_path, capsys):
    drive = real_replays["desk_talking"]
    (tmp_path / "detail.jsonl").write_text('{"t": 1.0, "kind": "event", "name": "yawn", "detail": "x"}\n')
    (tmp_path / "deep.jsonl").write_text("[" * 100_000 + "\n")
    assert main(["eval", str(drive), str(tmp_path / "detail.jsonl")]) == 1
    assert one_error(capsys) == (f"error: {tmp_path / 'detail.jsonl'}:1: detail must be a mapping and phase "
                                 '"start", "end" or absent (got phase None)')
    assert main(["eval", str(drive), str(tmp_path / "deep.jsonl")]) == 1
    assert one_error(capsys) == f"error: {tmp_path / 'deep.jsonl'}:1: nested too deeply (not an event line)"


def test_a_can_log_outside_the_video_is_said_not_ignored(fleet_drives, tmp_path, capsys):
    recording = tmp_path / "rec"
    shutil.copytree(fleet_drives["visual_time_sharing"], recording)
    meta = recording / "meta.yaml"
    text = meta.read_text()
    assert "can_start_time_s:" in text
    lines = [line if not line.startswith("can_start_time_s:") else "can_start_time_s: 1600000000.0"
             for line in text.splitlines()]
    meta.write_text("\n".join(lines) + "\n")
    assert main(["replay", str(recording), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "0 frames used, NONE within the video's times" in out and "check can_start_time_s in meta.yaml" in out
    meta.write_text("\n".join(line if not line.startswith("can_start_time_s:") else "can_start_time_s: .inf"
                              for line in lines) + "\n")
    assert main(["replay", str(recording), "--out", str(tmp_path / "out")]) == 1
    assert "can_start_time_s must be a number (got inf)" in one_error(capsys)


@pytest.mark.parametrize(("line", "problem"), [
    ("complete: 'false'", "complete must be true or false (got 'false')"),
    ("camera_fps: '30'", "camera_fps must be a positive number of frames a second (got '30')"),
    ("camera_fps: 0", "camera_fps must be a positive number of frames a second (got 0)"),
    ("video: [a, b]", "video must be a file name or none (got ['a', 'b'])"),
])
def test_meta_yaml_keys_replay_acts_on_are_of_their_type(fleet_drives, tmp_path, capsys, line, problem):
    """A quoted `complete: "false"` read the recording as complete (a truncation error, or
    frames after the writer's last complete one), a quoted camera_fps left the no-frame
    timeout unscaled: both without a word."""
    recording = tmp_path / "rec"
    shutil.copytree(fleet_drives["visual_time_sharing"], recording)
    meta = recording / "meta.yaml"
    key = line.split(":")[0]
    meta.write_text("".join(f"{row}\n" for row in meta.read_text().splitlines() if not row.startswith(f"{key}:"))
                    + line + "\n")
    assert main(["replay", str(recording), "--out", str(tmp_path / "out")]) == 1
    assert one_error(capsys) == f"error: {meta}: {problem}"


def test_a_recording_with_two_can_logs_names_them(fleet_drives, tmp_path, capsys):
    recording = tmp_path / "rec"
    shutil.copytree(fleet_drives["visual_time_sharing"], recording)
    (log,) = [p for p in recording.iterdir() if p.name.startswith("can.")]
    other = recording / ("can.asc" if log.name != "can.asc" else "can.log")
    other.write_text("")
    assert main(["replay", str(recording), "--out", str(tmp_path / "out")]) == 1
    names = ", ".join(sorted((log.name, other.name), key=("can.blf", "can.asc", "can.log", "can.csv").index))
    assert one_error(capsys) == f"error: {recording}: 2 CAN logs ({names}): keep the one recorded with this drive"


def test_a_heart_rate_log_says_what_it_gave(tmp_path):
    from driver_monitor.vehicle.heart_rate_log import HeartRateLogSource

    path = tmp_path / "heart_rate.csv"
    path.write_text("t_s,line\n" + "".join(f"{i}.0,GARBAGE{i}\n" for i in range(30)))
    assert HeartRateLogSource(path, 5.0).summary_line() == "heart-rate log heart_rate.csv: 0 readings, 30 bad lines"


def test_check_config_warns_when_degraded_monitoring_reaches_the_driver_too_late(tmp_path, capsys):
    """Detector delay + first notice beyond Euro NCAP's 10 s: a warning, not an error (a
    recording's config.yaml of before this check must still replay)."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text("policy:\n  conditions:\n    eyes_unavailable:\n      ladder:\n"
                   "        - {delay_s: 3.0, actions: [visual_icon, chime]}\n")
    assert main(["check-config", str(cfg)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == ("warning: policy.conditions.eyes_unavailable: drowsiness.eyes.unavailable_after_s (8 s) plus its "
                      "first notice's delay_s (3 s) tells the driver after 11 s, beyond "
                      "policy.degraded_notice_within_s (10 s, Euro NCAP)")


# ---- YAML values that YAML itself cannot build ----------------------------------------------------

@pytest.mark.parametrize(("value", "column", "problem"), [
    ("2020-13-01", 19, "'2020-13-01' is not a valid timestamp (month must be in 1..12)"),
    ("1" + "0" * 5000, 19, "an integer of more than 4300 digits"),
    ("!!bool maybe", 19, "'maybe' is not a valid bool"),  # explicit tags on the wrong value: KeyError,
    ("!!timestamp x", 19, "'x' is not a valid timestamp"),  # AttributeError,
    ("!!set [1]", 19, "expected a mapping node, but found sequence"),  # TypeError
])
def test_a_yaml_value_that_cannot_be_built_is_one_line(tmp_path, capsys, value, column, problem):
    """A date with month 13, or an integer past Python's 4300-digit limit: PyYAML's resolver
    takes it for a date / an int, and building one raised ValueError, not a YAMLError: a
    traceback from check-config, run (the daemon's start), simulate, eval --truth, sweep --grid."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"presence:\n  absent_after_s: {value}\n")
    assert main(["check-config", str(cfg)]) == 2
    assert one_error(capsys) == f"error: {cfg}: not valid YAML at line 2, column {column}: {problem}"
    scenario = tmp_path / "s.yaml"
    scenario.write_text(f"name: x\nduration_s: {value}\n")
    assert main(["simulate", str(scenario), "--out", str(tmp_path / "sim")]) == 2
    assert one_error(capsys) == f"error: {scenario}: not valid YAML at line 2, column 13: {problem}"


def test_a_run_yaml_that_cannot_be_built_is_a_note_in_the_report(tmp_path, capsys):
    drive = tmp_path / "drive"
    drive.mkdir()
    (drive / "events.jsonl").write_text("")
    (drive / "run.yaml").write_text("input: 2020-13-01\n")
    assert main(["report", str(drive)]) == 0  # run.yaml is informative there: a note
    assert f"note: {drive / 'run.yaml'}: not readable YAML; provenance not shown" in capsys.readouterr().out


@pytest.mark.parametrize(("text", "reason"), [
    ("grid: [\n", "while parsing a flow node"),  # a YAMLError's text spans four lines
    ("grid: 2020-13-01\n", "month must be in 1..12"),
    ("grid: \"\xff\"\n", "'utf-8' codec can't decode byte 0xff in position 7: invalid start byte"),
])
def test_a_damaged_sweep_yaml_is_one_line(tmp_path, text, reason):
    from driver_monitor.config import Config
    from driver_monitor.errors import InputError
    from driver_monitor.fleet.grid import load_grid
    from driver_monitor.fleet.sweep import _claim

    (tmp_path / "grid.yaml").write_text("presence.absent_after_s: [1, 2]\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "sweep.yaml").write_bytes(text.encode("latin-1"))
    with pytest.raises(InputError) as info:
        _claim(out, load_grid(tmp_path / "grid.yaml"), Config(), [], None, 4.0, 0.5, {})
    assert str(info.value) == (f"{out / 'sweep.yaml'}: unreadable ({reason}); remove the directory or choose "
                               "another --out")


@pytest.mark.parametrize(("condition", "text", "warning"), [
    ("long_distraction", "repeat_every_s: 20",
     "warning: policy.conditions.long_distraction: repeat_every_s (20 s) with max_repeats 0 never repeats the ladder: "
     "set max_repeats, or repeat_every_s: null for no repeats"),
    ("drowsy", "max_repeats: 0",
     "warning: policy.conditions.drowsy: repeat_every_s (300 s) with max_repeats 0 never repeats the ladder: set "
     "max_repeats, or repeat_every_s: null for no repeats"),
])
def test_check_config_warns_of_repeats_that_never_come(tmp_path, capsys, condition, text, warning):
    """A repeat interval with max_repeats 0 (the default of every condition but drowsy)
    validated and never repeated the warning. A warning, not an error: a recording's
    config.yaml of before this check must still replay."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"policy:\n  conditions:\n    {condition}: {{{text}}}\n")
    assert main(["check-config", str(cfg)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == warning
    assert [line for line in out if line.startswith("warning:")] == [warning]


def test_repeat_every_s_null_is_no_repeats_without_a_warning(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("policy:\n  conditions:\n    drowsy: {repeat_every_s: null}\n")
    assert main(["check-config", str(cfg)]) == 0
    assert "warning" not in capsys.readouterr().out


def test_check_config_warns_of_relative_paths(tmp_path, capsys, monkeypatch):
    """A relative path is read against the working directory, not the config file's: it passed
    check-config run beside the DBC and failed (or read another file) under the systemd
    service, whose working directory is /."""
    (tmp_path / "my_car.dbc").write_text(VEHICLE_EXAMPLE_DBC_PATH.read_text(encoding="utf-8"))
    cfg = tmp_path / "c.yaml"
    cfg.write_text("vehicle:\n  dbc_path: my_car.dbc\nrecording:\n  event_clips: {dir: clips}\n"
                   f"service:\n  state_dir: {tmp_path / 'state'}\n")
    monkeypatch.chdir(tmp_path)
    assert main(["check-config", str(cfg)]) == 0
    warnings = [line for line in capsys.readouterr().out.splitlines() if line.startswith("warning:")]
    assert warnings == [
        f"warning: {key}: {value!r} is relative: it is read against the working directory (/ under the systemd "
        "service), not the config file's; give an absolute path"
        for key, value in (("vehicle.dbc_path", "my_car.dbc"), ("recording.event_clips.dir", "clips"))
    ]


def test_a_plausibility_range_upside_down_is_refused(tmp_path, capsys):
    # min_value above max_value dropped every value as implausible: the speed stayed unknown
    # (treated as moving) for the whole drive, without a word.
    cfg = tmp_path / "c.yaml"
    cfg.write_text("vehicle:\n  signals:\n    speed_kph: {message: VEH_Speed, signal: VehicleSpeed, min_value: 320, "
                   "max_value: 0}\n")
    assert main(["check-config", str(cfg)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: vehicle.signals.speed_kph: min_value (320) must be below max_value (0): no value would pass"]


def test_an_unquoted_on_read_as_a_boolean_says_to_quote_it(tmp_path, capsys):
    # YAML 1.1 reads On / Off / Yes / No unquoted as booleans: `true_values: [On, Start]` (the
    # DBC's value names, as docs/can.md lists them but unquoted) said only "got True".
    cfg = tmp_path / "c.yaml"
    cfg.write_text("vehicle:\n  signals:\n    ignition_on: {message: VEH_Body, signal: IgnitionState, "
                   "true_values: [On, Start]}\n")
    assert main(["check-config", str(cfg)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: vehicle.signals.ignition_on.true_values.0: a text is expected, and YAML reads an unquoted "
        "on / off / yes / no / true / false as a boolean: quote it (got True)"]


def test_a_camera_index_may_be_written_as_a_number_and_an_empty_device_is_refused(tmp_path, capsys):
    # `device: 0` (the index the comment names, unquoted) was "Input should be a valid
    # string (got 0)"; an empty one (`--camera "$CAM"` with CAM unset) started a daemon that
    # only ever reported camera_fault device_gone ("camera , no such file").
    cfg = tmp_path / "c.yaml"
    cfg.write_text("camera:\n  device: 0\n")
    assert load_config(cfg).camera.device == "0"
    cfg.write_text("camera:\n  device: ' '\n")
    assert main(["check-config", str(cfg)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: camera.device: an empty camera device (a V4L2 path such as /dev/video0, an index such as 0, or a "
        "video file) (got ' ')"]
    cfg.write_text("camera:\n  device: -1\n")
    assert main(["check-config", str(cfg)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: camera.device: a camera index is 0 or more (got -1)"]


def test_a_can_channel_may_be_written_as_a_number(tmp_path):
    # kvaser / vector / neovi channels are numbers: `channel: 0` was "Input should be a valid
    # string (got 0)".
    cfg = tmp_path / "c.yaml"
    cfg.write_text("can:\n  interface: kvaser\n  channel: 0\n")
    assert load_config(cfg).can.channel == "0"


def test_a_refused_value_key_leaves_no_empty_replay_behind(real_replays, tmp_path, capsys):
    # The Pipeline refuses it, but replay had opened its outputs first: an events.jsonl with
    # no event and a run.yaml, which eval reads as a drive where nothing was found.
    cfg = tmp_path / "c.yaml"
    cfg.write_text("policy:\n  conditions:\n    stress: {value_key: stress_levl, value_min: 2}\n")
    out = tmp_path / "out"
    drive = real_replays["car_look_around_man"]
    assert main(["replay", "--features", str(drive), "-c", str(cfg), "--out", str(out), "--no-progress"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: policy.conditions.stress.value_key: no detector gives this per-frame value (did you mean "
        "'stress_level'? the columns are in docs/features.md) (got 'stress_levl')"]
    assert not out.exists()


def test_a_replay_whose_expression_model_cannot_load_leaves_the_earlier_outputs(real_dir, tmp_path, capsys):
    # The outputs were opened (the earlier run's removed, an empty events.jsonl and a run.yaml
    # written) before the Pipeline loaded the model: eval then read the drive as one where
    # nothing was found.
    out = tmp_path / "out"
    clip = real_dir / "car_look_around_man.mp4"
    assert main(["replay", str(clip), "--out", str(out), "--no-progress"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert "long_distraction" in before["events.jsonl"].decode()
    cfg = tmp_path / "c.yaml"
    cfg.write_text("stress:\n  expression_model:\n    enabled: true\n    model_path: /nonexistent.onnx\n"
                   "    outputs: [{name: x, signals: [a]}]\n")
    capsys.readouterr()
    assert main(["replay", str(clip), "-c", str(cfg), "--out", str(out), "--no-progress"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: stress.expression_model.model_path: /nonexistent.onnx: no such file"]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
