"""What a new user trips over (issue 14 item 6), each at its exact value: times in the
feature table, the DBC's unavailable values, stale outputs, the CAN interface a channel
lands on, journal priorities, check-config's help, scenario typos, the replay summary,
progress on a terminal, a self-contained clone, provenance in every output directory."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from camera_clips import NoFace

from driver_monitor.cli import build_parser, main
from driver_monitor.config import DEFAULT_CONFIG_PATH, parse_config
from driver_monitor.outputs.feature_table import PARQUET_PROVENANCE_KEY, FeatureTableWriter
from driver_monitor.replay import replay

REPO = Path(__file__).resolve().parents[1]
MALE = REPO / "recordings" / "male_frontal"


# ---- features.csv keeps every frame's time exactly -----------------------------------------

def test_feature_table_times_stay_exact_over_a_two_hour_drive(tmp_path: Path) -> None:
    """30 fps for 2 h: 216,000 rows. At 5 significant digits neighbours shared one `t` after
    ~17 min; now every time (and every other input of the detectors) reads back exactly, and
    every frame keeps its own; the detectors' state columns keep 5 digits."""
    path = tmp_path / "features.csv"
    writer = FeatureTableWriter(path)
    times = [k / 30.0 for k in range(2 * 3600 * 30)]
    for t in times:
        writer.write_row({"t": t, "eye_blink_left": 0.123456789, "kss_score": 0.123456789})
    writer.close()
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    read = [float(r["t"]) for r in rows]
    assert len(read) == len(times) and len(set(read)) == len(times)
    assert read == times
    assert rows[-1]["t"] == "7199.966666666666" and rows[-1]["eye_blink_left"] == "0.123456789"
    assert rows[-1]["kss_score"] == "0.12346"  # a detector state: 5 digits


# ---- the DBC names the unavailable raw values -----------------------------------------------

def test_cantools_decode_says_unavailable_for_perclos_and_eyes_off_road(tmp_path: Path) -> None:
    """An attentive drive at its start has no PERCLOS and no eyes-off-road time yet: the raw
    255 must decode as "Unavailable", not `PERCLOS: 127.5 %`."""
    config = parse_config(f"can:\n  enabled: true\n  channel: val-{os.getpid()}\n")
    replay(MALE, config, tmp_path / "out", progress=False, tracker=NoFace())
    log = (tmp_path / "out" / "can_tx.log").read_text()
    out = subprocess.run([sys.executable, "-m", "cantools", "decode", str(REPO / "config" / "driver_monitor.dbc")],
                         input=log, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    status = out.stdout.split("DMS_Status(")[1:]
    assert len(status) >= 40 and all("PERCLOS: Unavailable" in b for b in status)
    assert "127.5 %" not in out.stdout
    # Eyes-off-road time is unavailable without a picture (a camera fault): raw 255.
    from driver_monitor.can.dbc import DMS_DBC_PATH, load_dbc
    from driver_monitor.outputs.can_sink import DmsCanEncoder
    from driver_monitor.outputs.fields import StatusFields

    db = load_dbc(DMS_DBC_PATH)
    fields = StatusFields(0.0, 4, 15, False, True, False, True, 0, 15, 15, None, None, 0)
    decoded = db.decode_message("DMS_Status", DmsCanEncoder(db).status(fields, 0.0).data)
    assert (str(decoded["EyesOffRoadTime"]), str(decoded["PERCLOS"])) == ("Unavailable", "Unavailable")


# ---- a replay does not leave an older run's outputs beside its own -------------------------

def test_replay_removes_an_earlier_runs_outputs_and_says_so(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "can_tx.log").write_text("(0.000000) dms 3A0#00 T\n")  # from a run with CAN on
    (out / "features.parquet").write_bytes(b"PAR1 old")
    (out / "notes.txt").write_text("mine")  # not ours: kept
    summary = replay(MALE, parse_config(""), out, progress=False, tracker=NoFace())
    assert not (out / "can_tx.log").exists() and not (out / "features.parquet").exists()
    assert (out / "notes.txt").read_text() == "mine"
    assert summary.removed == ["features.parquet", "can_tx.log"]
    assert "  replaced      features.parquet, can_tx.log of an earlier run" in summary.text()


# ---- --can-channel alone: the summary and --help say which interface -----------------------

def test_can_channel_without_interface_names_the_virtual_bus(tmp_path: Path) -> None:
    from driver_monitor.config.overrides import with_io_overrides

    config = with_io_overrides(parse_config(""), can_channel=f"chan-{os.getpid()}")
    summary = replay(MALE, config, tmp_path / "out", progress=False, tracker=NoFace())
    [can_line] = [line for line in summary.outputs if line.startswith("can:")]
    assert "interface virtual (in-process: nobody outside this process hears it)" in can_line
    assert f"channel chan-{os.getpid()}" in can_line
    replay_parser = build_parser()._subparsers._group_actions[0].choices["replay"]
    [interface] = [a for a in replay_parser._actions if "--can-interface" in a.option_strings]
    assert "default can.interface, which is `virtual`: an in-process bus nobody outside this process hears" in interface.help


# ---- journald priorities under systemd ------------------------------------------------------

LOG_SCRIPT = ("import logging; from driver_monitor.log_setup import configure; configure(); "
              "logging.getLogger('driver_monitor.x').warning('camera fault: no_frame'); "
              "logging.getLogger('driver_monitor.x').info('running'); "
              "logging.getLogger('driver_monitor.x').error('reload failed')")


def run_logging(journal: bool) -> list[str]:
    read_fd, write_fd = os.pipe()
    st = os.fstat(write_fd)
    env = dict(os.environ)
    env.pop("JOURNAL_STREAM", None)
    if journal:  # what systemd sets when stderr is its stream (systemd.exec(5))
        env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
    proc = subprocess.Popen([sys.executable, "-c", LOG_SCRIPT], stderr=write_fd, env=env, cwd=REPO)
    os.close(write_fd)
    with os.fdopen(read_fd) as fh:
        text = fh.read()
    proc.wait(30)
    return text.splitlines()


def test_log_lines_carry_syslog_priorities_only_when_stderr_is_the_journal() -> None:
    assert run_logging(journal=True) == [
        "<4>WARNING driver_monitor.x: camera fault: no_frame",
        "<6>INFO driver_monitor.x: running",
        "<3>ERROR driver_monitor.x: reload failed",
    ]
    assert run_logging(journal=False)[0] == "WARNING driver_monitor.x: camera fault: no_frame"


# ---- check-config: closest key, file order, the default and what a file changes -----------

def test_check_config_suggests_the_closest_key_in_file_order(tmp_path: Path, capsys) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("presence:\n  absent_after_s: -1\n"
                    "drowsiness:\n  eye_closure:\n    closed_eye_blnk: 0.7\n"
                    "camera:\n  fps: 0\n  devce: /dev/video2\n"
                    "polcy: {}\n")
    assert main(["check-config", str(path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: presence.absent_after_s: Input should be greater than or equal to 0 (got -1)",
        "error: drowsiness.eye_closure.closed_eye_blnk: unknown key (did you mean 'closed_eye_blink'? "
        "every key with its default: driver-monitor config --default)",
        "error: camera.fps: Input should be greater than 0 (got 0)",
        "error: camera.devce: unknown key (did you mean 'device'? every key with its default: driver-monitor config --default)",
        "error: polcy: unknown key (did you mean 'policy'? every key with its default: driver-monitor config --default)",
    ]


def test_check_config_shows_what_a_partial_file_changes(tmp_path: Path, capsys) -> None:
    path = tmp_path / "partial.yaml"
    path.write_text("presence:\n  absent_after_s: 3.0\npolicy:\n  conditions:\n    sleep: {priority: 95}\n")
    assert main(["check-config", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    at = out.index("changes from the defaults: 2")
    assert out[at + 1:] == ["  presence.absent_after_s: 2.0 -> 3.0", "  policy.conditions.sleep.priority: 90 -> 95"]
    assert main(["check-config", str(DEFAULT_CONFIG_PATH)]) == 0
    assert "changes from the defaults: none" in capsys.readouterr().out


# ---- a scenario typo names the bad value ----------------------------------------------------

def test_scenario_typo_names_the_bad_value_and_the_closest(tmp_path: Path, capsys) -> None:
    scen = tmp_path / "s.yaml"
    scen.write_text("name: s\nduration_s: 5\ntimeline:\n  - {at_s: 1, do: glanse, zone: lap, duration_s: 1}\n")
    assert main(["simulate", str(scen), "--out", str(tmp_path / "o")]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: {scen}: timeline.0: unknown behaviour 'glanse' (did you mean 'glance'? behaviours: ")


# ---- the replay summary counts actions ------------------------------------------------------

def test_replay_summary_counts_actions_as_well_as_events(tmp_path: Path) -> None:
    config = parse_config("policy:\n  monitoring: {activation_s: 0}\n")
    summary = replay(MALE, config, tmp_path / "out", progress=False, tracker=NoFace())
    assert summary.event_counts == {"driver_absent": 1}
    assert summary.action_counts == {"chime": 1, "visual_icon": 1}  # driver_absent's first stage at 2.0 s
    assert "  actions       chime 1, visual_icon 1" in summary.text().splitlines()


# ---- progress on a terminal -----------------------------------------------------------------

class Terminal(io.StringIO):
    """stderr as a user's shell has it: a terminal."""

    def isatty(self) -> bool:
        return True


def run_cli(monkeypatch: pytest.MonkeyPatch, argv: list[str], terminal: bool) -> tuple[int, str]:
    err = Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    code = main(argv)
    return code, err.getvalue()


@pytest.mark.slow
def test_replay_and_simulate_show_progress_on_a_terminal_only(tmp_path: Path, monkeypatch, capsys) -> None:
    code, tty = run_cli(monkeypatch, ["replay", str(MALE), "--out", str(tmp_path / "r")], terminal=True)
    assert code == 0 and re.search(r"\d+/62 \[", tty) and "frame/s]" in tty  # 62 frames in the recording
    code, piped = run_cli(monkeypatch, ["replay", str(MALE), "--out", str(tmp_path / "p")], terminal=False)
    assert code == 0 and "frame/s]" not in piped
    code, quiet = run_cli(monkeypatch, ["replay", str(MALE), "--out", str(tmp_path / "q"), "--no-progress"], terminal=True)
    assert code == 0 and "frame/s]" not in quiet
    scen = tmp_path / "s.yaml"
    scen.write_text("name: s\nduration_s: 1\n")
    code, tty = run_cli(monkeypatch, ["simulate", str(scen), "--out", str(tmp_path / "sim"), "--size", "320x240",
                                      "--fps", "10"], terminal=True)
    assert code == 0 and re.search(r"\d+/1[01] \[", tty) and "frame/s]" in tty  # 1 s at 10 fps
    run = yaml.safe_load((tmp_path / "sim" / "run.yaml").read_text())  # provenance here too
    assert run["command"] == "simulate" and run["input"]["path"] == str(scen) and run["face"]["sha256"]


# ---- a clone alone has what the tests and examples need -------------------------------------

def test_the_licensed_clips_and_faces_are_bundled_with_their_attribution() -> None:
    from tests.conftest import CLIPS, FACES

    readme = (REPO / "data" / "README.md").read_text()
    for name in ("selfie_segmentation_web.mp4", "iris_tracking_example.gif", "head-pose-face-detection-female.gif",
                 "head-pose-face-detection-male.gif"):
        assert (CLIPS / name).is_file() and CLIPS.is_relative_to(REPO) and f"| {name} |" in readme
    attribution = (FACES / "ATTRIBUTION.md").read_text()
    for name in ("astronaut.png", "obama.jpg", "biden.jpg"):
        assert (FACES / name).is_file() and FACES.is_relative_to(REPO) and f"| {name} |" in attribution
    assert not (REPO / "data" / "real").exists()  # the real drivers' footage is not redistributable


def test_readme_examples_point_into_the_clone_not_at_shared() -> None:
    text = (REPO / "README.md").read_text()
    assert "../shared/data/clips" not in text and "data/clips/iris_tracking_example.gif" in text


# ---- provenance in every output directory ---------------------------------------------------

def test_replay_outputs_say_what_made_them(tmp_path: Path) -> None:
    from driver_monitor.perception.model import FACE_LANDMARKER_SHA256
    from driver_monitor.provenance import sha256_of

    cfg = tmp_path / "c.yaml"
    cfg.write_text("outputs:\n  features_format: parquet\n")
    from driver_monitor.config import load_config

    replay(MALE, load_config(cfg), tmp_path / "out", progress=False, tracker=NoFace(), config_path=cfg)
    run = yaml.safe_load((tmp_path / "out" / "run.yaml").read_text())
    assert run["command"] == "replay" and run["package_version"] == "0.1.0"
    assert run["input"] == {"path": str(MALE), "sha256": sha256_of(MALE)}
    assert run["model"]["sha256"] == FACE_LANDMARKER_SHA256
    assert run["config"]["path"] == str(cfg) and run["config"]["sha256"] == sha256_of(cfg)
    assert run["config"]["settings"]["outputs"]["features_format"] == "parquet"
    metadata = pq.read_schema(tmp_path / "out" / "features.parquet").metadata
    assert yaml.safe_load(metadata[PARQUET_PROVENANCE_KEY.encode()].decode()) == run
    json.dumps(run)  # plain data only
