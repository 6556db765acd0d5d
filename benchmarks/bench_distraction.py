"""Cost of the distraction detector per frame (goal: <= 0.2 ms).

Feeds a synthetic 30 fps drive (road driving with mirror and cluster checks, infotainment
and lap glances, a long distraction, time-sharing, indicator use, closed eyes, a lost
face) through DistractionDetector.update + columns, the way the Pipeline calls it, and
reports the median over repeats of the mean time per frame. Features are built before
timing, so only the detector is measured.

    python benchmarks/bench_distraction.py [--minutes M] [--repeats N] [--method window|attend]
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import time

from driver_monitor.config.distraction import DistractionConfig
from driver_monitor.detectors.base import DetectorInput
from driver_monitor.detectors.calibration import Calibration
from driver_monitor.detectors.distraction import DistractionDetector
from driver_monitor.messages import Features, VehicleState

FPS = 30.0
# (zone-ish head yaw, pitch, seconds) pieces the drive is drawn from.
PIECES = [
    (0.0, 2.0, 4.0),  # road
    (0.0, 2.0, 6.0),  # road
    (40.0, 0.0, 0.8),  # left mirror
    (-60.0, 0.0, 0.9),  # right mirror
    (-30.0, -10.0, 0.7),  # rear-view mirror
    (0.0, 20.0, 0.6),  # cluster
    (-30.0, 25.0, 1.5),  # infotainment
    (0.0, 40.0, 2.2),  # lap
    (-30.0, 25.0, 3.6),  # long glance
    (-100.0, 0.0, 1.0),  # passenger
]


def synthetic_drive(minutes: float, seed: int = 1) -> list[tuple[Features, VehicleState, dict]]:
    rng = random.Random(seed)
    frames: list[tuple[Features, VehicleState, dict]] = []
    t_end = minutes * 60.0
    i = 0
    while (t := i / FPS) < t_end:
        yaw, pitch, length = rng.choice(PIECES)
        closed = rng.random() < 0.03
        absent = rng.random() < 0.01
        indicator = rng.random() < 0.1
        stop = t + length
        while (t := i / FPS) < min(stop, t_end):
            noise_yaw, noise_pitch = rng.gauss(0.0, 2.0), rng.gauss(0.0, 2.0)
            if absent:
                f = Features(t=t, face_present=False)
            else:
                blink = 0.9 if closed else 0.05
                f = Features(
                    t=t, face_present=True, head_yaw_deg=yaw + noise_yaw, head_pitch_deg=pitch + noise_pitch,
                    gaze_yaw_deg=rng.gauss(0.0, 3.0), gaze_pitch_deg=rng.gauss(0.0, 3.0),
                    eye_blink_left=blink, eye_blink_right=blink,
                )
            vehicle = VehicleState(t=t, speed_kph=rng.choice([None, 30.0, 80.0]), indicator_left=indicator, indicator_right=False)
            frames.append((f, vehicle, {"eyes_closed": closed}))
            i += 1
    return frames


def time_once(config: DistractionConfig, frames: list[tuple[Features, VehicleState, dict]]) -> tuple[float, int]:
    detector = DistractionDetector(config)
    calibration = Calibration()
    n_events = 0
    started = time.perf_counter()
    for f, vehicle, upstream in frames:
        warning = 10.0 if f.t > 10.0 and int(f.t) % 20 == 0 else None
        n_events += len(detector.update(DetectorInput(f, vehicle, calibration, warning, upstream)))
        detector.columns()
    elapsed = time.perf_counter() - started
    return elapsed / len(frames) * 1000.0, n_events


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="length of the synthetic drive")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--method", choices=["window", "attend"], default="window")
    args = parser.parse_args()
    base = DistractionConfig()
    config = base.model_copy(update={"time_sharing": base.time_sharing.model_copy(update={"method": args.method})})
    frames = synthetic_drive(args.minutes)
    runs = [time_once(config, frames) for _ in range(args.repeats)]
    per_frame = [ms for ms, _ in runs]
    median = statistics.median(per_frame)
    print(f"machine     {platform.machine()}, Python {platform.python_version()}, {platform.system()}")
    print(f"drive       {len(frames)} frames ({args.minutes:g} min at {FPS:g} fps), {runs[0][1]} events, method {args.method}")
    print(f"per frame   median {median:.4f} ms (min {min(per_frame):.4f}, max {max(per_frame):.4f}) over {args.repeats} runs")
    print(f"goal        <= 0.2 ms per frame: {'met' if median <= 0.2 else 'NOT met'}")
    return 0 if median <= 0.2 else 1


if __name__ == "__main__":
    sys.exit(main())
