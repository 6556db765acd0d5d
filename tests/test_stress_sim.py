"""Camera heart rate and stress on synthetic drives (driver_monitor/sim: a rendered face with
a commanded skin pulse), through the real replay path (video.mkv, MediaPipe, features, rPPG,
stress). Issue 8's accuracy targets:

- still head at 60 / 75 / 100 / 120 bpm: heart-rate MAE <= 3 bpm;
- heavy head motion and a monochrome NIR camera: abstain instead of a wrong number;
- a 70 -> 100 bpm step raises the stress level within 20 s.

Drives are small (240x180 at 15 fps) to keep the suite fast; scenarios are written here so
they state exactly what each test needs.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from driver_monitor.config import Config
from driver_monitor.replay import replay

sim = pytest.importorskip("driver_monitor.sim.simulate")

pytestmark = pytest.mark.slow

CAMERA = {"fps": 15, "width": 240, "height": 180}
SEGMENT_S = 13.0
RATES = (60.0, 75.0, 100.0, 120.0)


def _drive(tmp: Path, name: str, scenario: dict[str, Any], config: Config | None = None) -> list[dict[str, str]]:
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": name, **scenario}), encoding="utf-8")
    rec = tmp / name
    sim.simulate(path, rec)
    out = tmp / f"{name}-out"
    replay(rec, config or Config(), out, progress=False)
    with (out / "features.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _num(value: str) -> float:
    return float(value) if value not in ("", "None") else math.nan


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stress_sim")


@pytest.fixture(scope="module")
def rates_drive(work: Path) -> list[dict[str, str]]:
    """Still head, the pulse stepping 60 -> 75 -> 100 -> 120 bpm every 13 s."""
    timeline = [{"at_s": SEGMENT_S * k, "do": "heart_rate", "bpm": bpm, "ease": "step"} for k, bpm in enumerate(RATES) if k]
    return _drive(work, "rates", {
        "duration_s": SEGMENT_S * len(RATES), "seed": 5, "camera": CAMERA,
        "driver": {"heart_rate_bpm": RATES[0], "pulse_amplitude": 0.005, "head_sway_deg": 0.4},
        "timeline": timeline,
    })


@pytest.mark.parametrize("segment", range(len(RATES)))
def test_still_head_heart_rate_mae_within_3_bpm(rates_drive: list[dict[str, str]], segment: int) -> None:
    bpm = RATES[segment]
    start, end = SEGMENT_S * segment, SEGMENT_S * (segment + 1)
    # Rows whose whole 10 s window lies inside this segment (one estimate per second).
    rows = [r for r in rates_drive if start + 10.0 <= float(r["t"]) < end]
    assert rows
    estimates = {round(_num(r["heart_rate_bpm"]), 6) for r in rows}
    valid = [v for v in estimates if not math.isnan(v)]
    assert len(valid) >= 2, estimates  # it does report on a still face
    mae = sum(abs(v - bpm) for v in valid) / len(valid)
    assert mae <= 3.0, (bpm, valid)
    assert all(r["heart_rate_source"] in ("camera", "none") for r in rows)


def test_heavy_head_motion_abstains(work: Path) -> None:
    # Head swinging +-35 deg twice a second (checking both mirrors in a hurry, shaking).
    timeline = [
        {"at_s": 0.5 + 0.5 * k, "do": "glance", "yaw_deg": 35.0 if k % 2 == 0 else -35.0, "duration_s": 0.3,
         "head_share": 1.0, "transition_s": 0.15}
        for k in range(28)
    ]
    rows = _drive(work, "motion", {
        "duration_s": 15.0, "seed": 6, "camera": CAMERA,
        "driver": {"heart_rate_bpm": 72, "pulse_amplitude": 0.005, "head_sway_deg": 0.4}, "timeline": timeline,
    })
    late = [r for r in rows if 10.0 <= float(r["t"]) <= 14.5]
    assert late
    assert all(r["heart_rate_source"] == "none" and r["heart_rate_bpm"] == "" for r in late), \
        {(r["heart_rate_camera_status"], r["heart_rate_bpm"]) for r in late}
    assert {r["heart_rate_camera_status"] for r in late} <= {"head_motion", "no_data"}
    assert "head_motion" in {r["heart_rate_camera_status"] for r in late}


def test_nir_camera_abstains(work: Path) -> None:
    rows = _drive(work, "nir", {
        "duration_s": 13.0, "seed": 7, "camera": {**CAMERA, "nir": True, "noise_sigma": 2.0},
        "driver": {"heart_rate_bpm": 72, "pulse_amplitude": 0.005, "head_sway_deg": 0.4},
    })
    faces = [r for r in rows if r["face_present"] == "True"]
    assert len(faces) > 0.9 * len(rows)
    assert all(r["colour_image"] == "False" for r in faces)
    late = [r for r in rows if float(r["t"]) >= 10.0]
    assert late and all(r["heart_rate_camera_status"] == "monochrome" and r["heart_rate_bpm"] == "" for r in late)
    assert all(r["stress_level"] == "" or r["heart_rate_source"] == "none" for r in late)


def test_heart_rate_step_70_to_100_raises_the_stress_level_within_20_s(work: Path) -> None:
    # The baseline is shortened to 15 s so the drive stays short: the first estimate comes
    # at ~10 s, the baseline is learned by ~25 s, the step is at 30 s.
    config = Config.model_validate({"stress": {"baseline": {"baseline_s": 15.0}}})
    rows = _drive(work, "step", {
        "duration_s": 50.0, "seed": 8, "camera": CAMERA,
        "driver": {"heart_rate_bpm": 70, "pulse_amplitude": 0.005, "head_sway_deg": 0.4},
        "timeline": [{"at_s": 30.0, "do": "heart_rate", "bpm": 100, "ramp_s": 1.0}],
    }, config)
    before = [r for r in rows if 26.0 <= float(r["t"]) < 30.0]
    assert before and all(r["stress_level"] == "0" for r in before)
    raised = [float(r["t"]) for r in rows if float(r["t"]) >= 30.0 and r["stress_level"] not in ("", "0")]
    assert raised and raised[0] <= 50.0
    assert raised[0] - 30.0 <= 20.0
    after = [r for r in rows if float(r["t"]) >= 42.0 and r["heart_rate_bpm"]]
    assert after and all(abs(_num(r["heart_rate_bpm"]) - 100.0) <= 3.0 for r in after)
