"""Extraction and sweeps on Ray (issue 15), against a local Ray instance of 2 CPUs started by
the test: the same tables and the same sweep results as the local runs. Ray is the optional
extra `driver-monitor[fleet]` (CI installs it); without it these tests skip."""

from __future__ import annotations

import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from driver_monitor.cli import main

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow

GRID = "distraction.long_distraction.threshold_s: [3.0, 4.5]\npolicy.monitoring.activation_s: [0, 60]\n"


def test_ray_local_starts_its_own_instance_and_gives_the_local_results(fleet_features, tmp_path, capsys):
    """`--ray local --jobs 2` in a process of its own (this module's instance is not up yet):
    the command starts a local Ray instance of 2 CPUs, runs the sweep's tasks on it and writes
    what the sweep in this process writes."""
    grid = tmp_path / "grid.yaml"
    grid.write_text(GRID)
    common = ["sweep", str(fleet_features), "--grid", str(grid), "--no-progress"]
    assert main([*common, "--out", str(tmp_path / "local")]) == 0
    assert not ray.is_initialized()
    done = subprocess.run([sys.executable, "-m", "driver_monitor", *common, "--out", str(tmp_path / "ray"),
                           "--ray", "local", "--jobs", "2"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "jobs on Ray (local instance, 2 workers)" in done.stdout
    assert rows(tmp_path / "ray" / "results.parquet") == rows(tmp_path / "local" / "results.parquet")


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray instance of 2 CPUs for this module; `--ray auto` joins it."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def rows(path) -> str:
    return repr(pq.read_table(path).to_pylist())


def test_extraction_on_ray_gives_the_local_tables(local_ray, fleet_drives, fleet_features, tmp_path, capsys):
    out = tmp_path / "features"
    assert main(["extract", *map(str, fleet_drives.values()), "--out", str(out), "--ray", "auto", "--no-progress"]) == 0
    assert "(Ray (auto, 2 workers))" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in fleet_features.iterdir())
    for drive_dir in fleet_features.iterdir():
        assert rows(out / drive_dir.name / "features.parquet") == rows(drive_dir / "features.parquet")
        assert (out / drive_dir.name / "events.jsonl").read_text() == (drive_dir / "events.jsonl").read_text()


def test_a_sweep_on_ray_gives_the_local_results(local_ray, fleet_features, tmp_path, capsys):
    grid = tmp_path / "grid.yaml"
    grid.write_text(GRID)
    common = ["sweep", str(fleet_features), "--grid", str(grid), "--no-progress"]
    assert main([*common, "--out", str(tmp_path / "local")]) == 0
    assert main([*common, "--out", str(tmp_path / "ray"), "--ray", "auto"]) == 0
    assert "jobs on Ray (auto, 2 workers)" in capsys.readouterr().out
    assert rows(tmp_path / "ray" / "results.parquet") == rows(tmp_path / "local" / "results.parquet")
    for best in (tmp_path / "local" / "best").iterdir():
        body = best.read_text().split("\n", 2)[2]  # after the header naming the sweep directory
        assert (tmp_path / "ray" / "best" / best.name).read_text().split("\n", 2)[2] == body


def test_eval_on_ray_gives_the_local_numbers(local_ray, fleet_features, tmp_path):
    assert main(["eval", str(fleet_features), "--json", str(tmp_path / "local.json")]) == 0
    assert main(["eval", str(fleet_features), "--json", str(tmp_path / "ray.json"), "--ray", "auto"]) == 0
    assert (tmp_path / "ray.json").read_text() == (tmp_path / "local.json").read_text()
