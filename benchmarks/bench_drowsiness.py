"""Cost of the drowsiness detector per frame (goal: <= 0.2 ms).

Feeds a synthetic 30 fps drive (open eyes with normal and slow blinks, microsleeps, a
sleep, look-downs at the lap with lowered lids, yawns and talking, nods, unjudgeable
stretches with hidden eyes, a lost face, noise on every signal) through
DrowsinessDetector.update + columns, the way the Pipeline calls them, and reports the
median over repeats of the mean time per frame. Features are built before timing, so only
the detector is measured; a second figure adds the Calibrator the Pipeline runs before it.

    python benchmarks/bench_drowsiness.py [--minutes M] [--repeats N]
"""

from __future__ import annotations

import argparse
import math
import platform
import random
import statistics
import sys
import time

from driver_monitor.config.calibration import CalibrationConfig
from driver_monitor.config.drowsiness import DrowsinessConfig
from driver_monitor.detectors.base import DetectorInput
from driver_monitor.detectors.calibration import Calibration, Calibrator
from driver_monitor.detectors.drowsiness import DrowsinessDetector
from driver_monitor.messages import Features, VehicleState

FPS = 30.0
# (closure fraction, jaw open, head pitch deg, eyeLookDown, eyes hidden, seconds) pieces.
PIECES = [
    (0.0, 0.05, 0.0, 0.1, False, 3.0),  # open eyes
    (0.0, 0.05, 0.0, 0.1, False, 5.0),
    (1.0, 0.05, 0.0, 0.3, False, 0.15),  # blink
    (1.0, 0.05, 0.0, 0.3, False, 0.6),  # slow blink
    (1.0, 0.05, 0.0, 0.3, False, 1.5),  # microsleep
    (1.0, 0.05, 5.0, 0.3, False, 4.0),  # sleep
    (0.85, 0.05, 12.0, 0.8, False, 2.0),  # look down at the lap, lids lowered, eyes open
    (0.0, 0.6, 0.0, 0.1, False, 3.0),  # yawn
    (0.0, 0.5, 0.0, 0.1, False, 0.5),  # talking
    (0.8, 0.05, 22.0, 0.4, False, 0.8),  # nod
    (0.0, 0.05, 0.0, 0.1, True, 2.0),  # sunglasses / occlusion
    (math.nan, math.nan, math.nan, math.nan, False, 1.0),  # face lost
]


def synthetic_drive(minutes: float, seed: int = 1) -> list[tuple[Features, VehicleState]]:
    rng = random.Random(seed)
    frames: list[tuple[Features, VehicleState]] = []
    t_end = minutes * 60.0
    i = 0
    while (t := i / FPS) < t_end:
        x, jaw, pitch, down, hidden, length = rng.choice(PIECES)
        stop = t + length
        while (t := i / FPS) < min(stop, t_end):
            vehicle = VehicleState(t=t, speed_kph=80.0)
            if math.isnan(x):
                frames.append((Features(t=t, face_present=False), vehicle))
                i += 1
                continue
            xi = min(1.0, max(0.0, x + rng.gauss(0.0, 0.03)))
            blink = math.nan if hidden else 0.05 + 0.75 * xi
            ear = math.nan if hidden else 0.31 * (1.0 - xi)
            f = Features(
                t=t, face_present=True, head_yaw_deg=rng.gauss(0.0, 2.0), head_pitch_deg=pitch + rng.gauss(0.0, 1.0),
                eye_blink_left=blink, eye_blink_right=blink, ear_left=ear, ear_right=ear,
                eye_look_down=down, jaw_open=jaw + rng.gauss(0.0, 0.02), face_width_px=180.0,
                face_brightness=120.0,
            )
            frames.append((f, vehicle))
            i += 1
    return frames


def time_once(config: DrowsinessConfig, frames: list[tuple[Features, VehicleState]],
              with_calibrator: bool = False) -> tuple[float, int]:
    detector = DrowsinessDetector(config)
    calibrator = Calibrator(CalibrationConfig())
    calibration = Calibration()
    n_events = 0
    started = time.perf_counter()
    for f, vehicle in frames:
        if with_calibrator:
            calibration = calibrator.update(f, vehicle)
        n_events += len(detector.update(DetectorInput(f, vehicle, calibration)))
        detector.columns()
    elapsed = time.perf_counter() - started
    return elapsed / len(frames) * 1000.0, n_events


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="length of the synthetic drive")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    config = DrowsinessConfig()
    frames = synthetic_drive(args.minutes)
    runs = [time_once(config, frames) for _ in range(args.repeats)]
    per_frame = [ms for ms, _ in runs]
    median = statistics.median(per_frame)
    print(f"machine     {platform.machine()}, Python {platform.python_version()}, {platform.system()}")
    print(f"drive       {len(frames)} frames ({args.minutes:g} min at {FPS:g} fps), {runs[0][1]} events")
    print(f"per frame   median {median:.4f} ms (min {min(per_frame):.4f}, max {max(per_frame):.4f}) over {args.repeats} runs")
    with_cal = statistics.median(time_once(config, frames, True)[0] for _ in range(args.repeats))
    print(f"+Calibrator median {with_cal:.4f} ms per frame (detector + learning the calibration)")
    print(f"goal        <= 0.2 ms per frame: {'met' if median <= 0.2 else 'NOT met'}")
    return 0 if median <= 0.2 else 1


if __name__ == "__main__":
    sys.exit(main())
