"""A synthetic replay output directory for the report tests and benchmarks/bench_report.py.

A scripted drive of any length (a 120 s cycle repeated) is sampled into Features with the
eye model of drowsy_drive.py (eyeBlink = 0.05 + 0.75 x, EAR = 0.31 (1 - x) for closure x)
and run through the real Pipeline (calibration, every detector, the policy) with the real
event-log and feature-table writers, so the directory holds exactly what `replay` writes
for such a drive: every column, the calibration state lines, events and actions.

Per 120 s cycle (t = cycle time): blinks every 4 s (0.15 s), a left-mirror glance at 20 s,
infotainment at 30 s, a 5 s lap glance at 45 s (long_distraction, phone_use), a 1.6 s
closure at 70 s (microsleep), a yawn at 85 s, a 4.5 s closure at 100 s (sleep), the face
gone 110-113.5 s (driver_absent). Speed 0 for 5 s, 80 km/h from 20 s with a slow wave;
an external heart rate of 68 bpm rising 12 bpm over each cycle.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from driver_monitor.config import Config
from driver_monitor.messages import Features, VehicleState
from driver_monitor.outputs.event_log import EventLogWriter
from driver_monitor.outputs.feature_table import FeatureTableWriter
from driver_monitor.pipeline import Pipeline

CYCLE_S = 120.0
RAMP_S = 0.08
# (start, end, head yaw, head pitch) glances in cycle time (directions inside the LHD zones
# of config/distraction.py, as tests/distraction_drive.py LOOK).
GLANCES = ((20.0, 21.0, 40.0, 0.0), (30.0, 31.5, -30.0, 25.0), (45.0, 50.0, 0.0, 40.0))
CLOSURES = ((70.0, 71.6), (100.0, 104.5))
YAWNS = ((85.0, 88.0),)
ABSENT = ((110.0, 113.5),)


def _inside(t: float, spans: tuple[tuple[float, ...], ...]) -> tuple[float, ...] | None:
    return next((s for s in spans if s[0] <= t < s[1]), None)


def _closure(c: float) -> float:
    """Closure fraction at cycle time c: blinks every 4 s and the scripted closures."""
    for start, end in CLOSURES + tuple((b, b + 0.15) for b in np.arange(2.0, CYCLE_S, 4.0)):
        if start <= c < end + RAMP_S:
            if c < start + RAMP_S:
                return (c - start) / RAMP_S
            if c < end:
                return 1.0
            return 1.0 - (c - end) / RAMP_S
    return 0.0


def features_at(t: float, rng: np.random.Generator) -> Features:
    c = t % CYCLE_S
    if _inside(c, ABSENT):
        return Features(t=t, face_present=False)
    glance = _inside(c, GLANCES)
    yaw, pitch = (glance[2], glance[3]) if glance else (2.0 * math.sin(t / 7.0), 1.5 * math.sin(t / 5.0))
    yaw += float(rng.normal(0, 0.6))
    pitch += float(rng.normal(0, 0.6))
    x = _closure(c)
    noise = float(rng.normal(0, 0.006))
    jaw = 0.65 if _inside(c, YAWNS) else 0.06 + 0.04 * abs(math.sin(t * 3.1))
    return Features(
        t=t, face_present=True, head_yaw_deg=yaw, head_pitch_deg=pitch, head_roll_deg=float(rng.normal(0, 1.0)),
        eye_blink_left=0.05 + 0.75 * x, eye_blink_right=0.05 + 0.75 * x,
        ear_left=0.31 * (1.0 - x) + noise, ear_right=0.30 * (1.0 - x) + noise,
        gaze_yaw_deg=0.0, gaze_pitch_deg=0.0, eye_look_down=0.1, eye_squint=0.1, jaw_open=jaw,
        face_width_px=200.0, image_brightness=120.0, face_brightness=130.0,
    )


def vehicle_at(t: float) -> VehicleState:
    c = t % CYCLE_S
    speed = 0.0 if t < 5.0 else min(80.0, 80.0 * (t - 5.0) / 15.0) + 15.0 * math.sin(t / 40.0) * (t > 20.0)
    return VehicleState(t=t, speed_kph=speed, external_heart_rate_bpm=68.0 + 12.0 * c / CYCLE_S)


def write_replay(out_dir: Path, duration_s: float = 120.0, fps: float = 30.0, seed: int = 7,
                 config: Config | None = None) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    sinks = [EventLogWriter(out_dir / "events.jsonl"), FeatureTableWriter(out_dir / "features.csv", "csv")]
    pipeline = Pipeline(config or Config(), tracker=None, sinks=sinks)  # type: ignore[arg-type]
    rng = np.random.default_rng(seed)
    for i in range(int(duration_s * fps) + 1):
        t = i / fps
        pipeline.process_features(features_at(t, rng), vehicle_at(t))
    pipeline.finish()
    return out_dir
