"""The decision core compiled by mypyc (scripts/compile_core.py) decides exactly what the Python
modules decide: the same events and tables from the same feature tables, and the core's own
tests pass against it. Built once per module into a copy of the source tree (~1 min)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO, SHARED

pytestmark = pytest.mark.slow

# The tree a test run needs beside the package (conftest's REPO): data, scenarios, docs...
_BESIDE = ("recordings", "scenarios", "config", "benchmarks", "data", "systemd", "scripts", "docs",
           "pyproject.toml", "README.md", "Makefile")


@pytest.fixture(scope="module")
def compiled_root(tmp_path_factory) -> Path:
    pytest.importorskip("mypyc", reason="the fast extra (mypy) is not installed")
    root = tmp_path_factory.mktemp("compiled")
    shutil.copytree(REPO / "driver_monitor", root / "driver_monitor",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "compile_core.py"), "--root", str(root)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    # Every module of the core, counted as the script lists them (43 on 2026-12-08), and one
    # extension module built for each (plus mypyc's shared runtime).
    count = len([p for p in (root / "driver_monitor" / "detectors").rglob("*.py") if p.name != "__init__.py"]
                + [p for p in (root / "driver_monitor" / "policy").rglob("*.py") if p.name != "__init__.py"]) + 5
    assert f"compiled {count} modules under {root} ({count + 1} extension modules)" in done.stdout, done.stdout
    return root


def run_compiled(root: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root), "DRIVER_MONITOR_SHARED": str(SHARED)}
    return subprocess.run([sys.executable, *args], cwd=cwd or root, env=env, capture_output=True, text=True,
                          timeout=1200)


def test_the_compiled_modules_are_the_ones_imported(compiled_root):
    done = run_compiled(compiled_root, "-c", "import driver_monitor, driver_monitor.pipeline as p, "
                        "driver_monitor.detectors.eye_closure as e; "
                        "print(driver_monitor.compiled_core(), p.__file__, e.__file__)")
    assert done.returncode == 0, done.stderr
    compiled, pipeline_file, closure_file = done.stdout.split()
    assert compiled == "True" and pipeline_file.endswith(".so") and closure_file.endswith(".so")
    assert pipeline_file.startswith(str(compiled_root))
    import driver_monitor

    assert not driver_monitor.compiled_core()  # this process runs the .py files


def test_compiled_feature_replay_gives_the_events_and_table_of_the_python_one(compiled_root, real_replays,
                                                                               tmp_path):
    from test_feature_replay import same_outputs

    for name, full in real_replays.items():
        out = tmp_path / name
        done = run_compiled(compiled_root, "-m", "driver_monitor", "replay", "--features", str(full),
                            "--out", str(out), "--no-progress")
        assert done.returncode == 0, done.stderr
        same_outputs(full, out)  # events.jsonl and every cell of the table, as the full replay's
        assert yaml.safe_load((out / "run.yaml").read_text())["decision_core"] == "compiled"
        assert yaml.safe_load((full / "run.yaml").read_text())["decision_core"] == "python"


def test_the_core_tests_pass_against_the_compiled_core(compiled_root):
    # The detectors', the calibration's, the policy's, feature replay's and the tables' own tests (sweeps'
    # stage sharing swaps recorded stand-ins into the compiled Pipeline), in a copy of the tree.
    for item in _BESIDE:
        (compiled_root / item).symlink_to(REPO / item)
    shutil.copytree(REPO / "tests", compiled_root / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    files = ["tests/test_drowsiness.py", "tests/test_calibration.py", "tests/test_distraction.py",
             "tests/test_policy_engine.py", "tests/test_anger.py", "tests/test_feature_replay.py",
             "tests/test_outputs.py"]
    done = run_compiled(compiled_root, "-m", "pytest", "-q", "-p", "no:cacheprovider", *files)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout
