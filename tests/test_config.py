"""check-config: a valid file passes with a summary; every kind of error is one line naming
the dotted key or the file, exit 2, no traceback."""

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from driver_monitor.cli import main
from driver_monitor.config import DEFAULT_CONFIG_PATH, ConfigError, load_config, parse_config

REPO = Path(__file__).resolve().parents[1]


def run_check(capsys, path) -> tuple[int, str, str]:
    code = main(["check-config", str(path)])
    out, err = capsys.readouterr()
    return code, out, err


def test_repo_default_is_the_packaged_default():
    assert (REPO / "config" / "default.yaml").resolve() == DEFAULT_CONFIG_PATH.resolve()


def test_default_config_is_valid_and_summarised(capsys):
    code, out, err = run_check(capsys, REPO / "config" / "default.yaml")
    assert code == 0
    assert "valid" in out
    assert "drowsiness" in out and "perception" in out
    assert err == ""


def test_empty_file_gives_all_defaults(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("")
    assert load_config(path) == load_config(None)


def _write(tmp_path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "text, expected_line",
    [
        ("drowsiness:\n  blink:\n    closed_treshold: 0.5\n", "error: drowsiness.blink.closed_treshold: unknown key"),
        ("presence:\n  absent_after_s: soon\n", "error: presence.absent_after_s: Input should be a valid number"),
        ("presence:\n  absent_after_s: -1\n", "error: presence.absent_after_s: Input should be greater than or equal to 0"),
        ("perception:\n  driver_seat: middle\n", "error: perception.driver_seat: Input should be 'left', 'right' or 'largest'"),
        ("outputs:\n  features_format: xlsx\n", "error: outputs.features_format: Input should be 'csv' or 'parquet'"),
        ("perception:\n  max_faces: 0\n", "error: perception.max_faces: Input should be greater than or equal to 1"),
        ("drowsiness:\n  blink:\n    open_threshold: 0.9\n", "error: drowsiness.blink: open_threshold must be below closed_threshold"),
        ("drowsiness:\n  blink:\n    rate_window_s: 15\n",
         "error: drowsiness.blink: rate_min_judged_s (20.0 s) must be at most rate_window_s (15.0 s)"),
        ("typo_section: {}\n", "error: typo_section: unknown key"),
        # The window never holds more than refine_window_s of samples: these never happened.
        ("calibration:\n  road_ahead:\n    refine_window_s: 5\n",
         "error: calibration.road_ahead: reanchor_min_s (8 s) must not exceed refine_window_s (5 s): the window never "
         "holds more samples than that"),
        ("calibration:\n  road_ahead:\n    refine_min_s: 200\n",
         "error: calibration.road_ahead: refine_min_s (200 s) must not exceed refine_window_s (120 s)"),
    ],
)
def test_each_problem_is_one_line_with_the_dotted_path(tmp_path, capsys, text, expected_line):
    code, out, err = run_check(capsys, _write(tmp_path, text))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(expected_line), lines[0]
    assert out == ""


def test_several_problems_give_one_line_each(tmp_path, capsys):
    text = "presence:\n  absent_after_s: -1\n  present_after_s: x\nfoo: 1\n"
    code, _, err = run_check(capsys, _write(tmp_path, text))
    assert code == 2
    lines = sorted(err.strip().splitlines())
    assert [line.split(":")[1].strip() for line in lines] == ["foo", "presence.absent_after_s", "presence.present_after_s"]


def test_not_yaml(tmp_path, capsys):
    code, _, err = run_check(capsys, _write(tmp_path, "drowsiness: [1, 2\n"))
    assert code == 2
    assert err.strip().splitlines() == [err.strip()]
    assert "c.yaml: not valid YAML at line 2" in err


def test_yaml_that_is_not_a_mapping(tmp_path, capsys):
    code, _, err = run_check(capsys, _write(tmp_path, "- a\n- b\n"))
    assert code == 2
    assert "expected a mapping of sections" in err


def test_missing_file(tmp_path, capsys):
    code, _, err = run_check(capsys, tmp_path / "nope.yaml")
    assert code == 2
    assert err.strip() == f"error: {tmp_path / 'nope.yaml'}: no such file"


def test_directory_instead_of_file(tmp_path, capsys):
    code, _, err = run_check(capsys, tmp_path)
    assert code == 2
    assert "is a directory" in err


def test_real_process_prints_no_traceback(tmp_path):
    bad = _write(tmp_path, "presence: {absent_after_s: [1]}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "driver_monitor", "check-config", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: presence.absent_after_s:")


def test_parse_config_raises_config_error_with_problems():
    with pytest.raises(ConfigError) as info:
        parse_config("presence: {absent_after_s: 100}")
    assert info.value.problems == ["presence.absent_after_s: Input should be less than or equal to 60 (got 100)"]


def test_an_event_clip_cap_shorter_than_one_clip_is_refused():
    """max_clip_s 1 with before_s 2 + after_s 1 cut a phone_use clip 1 s before its trigger."""
    with pytest.raises(ConfigError) as info:
        parse_config("recording: {event_clips: {before_s: 2, after_s: 1, max_clip_s: 1}}")
    assert info.value.problems == ["recording.event_clips: max_clip_s (1) must be at least before_s + after_s (3): "
                                   "one clip is that long"]
    assert parse_config("recording: {event_clips: {before_s: 2, after_s: 1, max_clip_s: 3}}")


def test_loaded_config_is_immutable():
    config = load_config()
    with pytest.raises(ValidationError, match="frozen"):
        config.presence.absent_after_s = 5.0  # type: ignore[misc]
