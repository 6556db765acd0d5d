"""Cost of heart rate + stress per frame, amortised (goal: <= 0.5 ms).

Feeds a generated 30 fps drive (skin colour with a pulse stepping 70 -> 100 bpm, head
jitter, facial blendshapes, a blink rate from upstream) through StressDetector.update +
columns as the Pipeline calls them; the rPPG window (POS or CHROM, band-pass, spectrum, SNR,
RMSSD) is recomputed once a second inside it. Reports the median over repeats of the mean
time per frame, the median time of a frame that recomputes the window, and the cost
of the perception-side skin colour (perception/skin.py) on a 640x360 picture separately.

    python benchmarks/bench_stress.py [--minutes M] [--repeats N] [--method pos|chrom]
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import statistics
import sys
import time

import numpy as np

from driver_monitor.config.stress import RppgMethod, StressConfig
from driver_monitor.detectors.base import DetectorInput
from driver_monitor.detectors.calibration import Calibration
from driver_monitor.detectors.stress.detector import StressDetector
from driver_monitor.detectors.stress.signals import skin_trace
from driver_monitor.messages import Features, VehicleState
from driver_monitor.perception.skin import mean_skin_rgb

FPS = 30.0
GOAL_MS = 0.5


def synthetic_drive(minutes: float) -> list[tuple[Features, VehicleState, dict]]:
    duration = minutes * 60.0
    trace = skin_trace(duration, FPS, lambda t: 70.0 if t < duration / 2 else 100.0, ibi_jitter_s=0.02, seed=1)
    rng = np.random.default_rng(2)
    frames = []
    for f in trace.features():
        f = dataclasses.replace(f, brow_down=float(rng.uniform(0.0, 0.3)), mouth_press=float(rng.uniform(0.0, 0.2)),
                                eye_squint=float(rng.uniform(0.1, 0.3)))
        frames.append((f, VehicleState(t=f.t), {"blink_rate_per_min": 15.0 + 5.0 * float(rng.random())}))
    return frames


def time_once(config: StressConfig, frames: list[tuple[Features, VehicleState, dict]]) -> tuple[float, float, int]:
    """(mean ms per frame, median ms of the frames that recompute the window, events)."""
    detector = StressDetector(config)
    calibration = Calibration()
    n_events = 0
    window_frames: list[float] = []
    started = time.perf_counter()
    for f, vehicle, upstream in frames:
        before = detector.camera
        t0 = time.perf_counter()
        n_events += len(detector.update(DetectorInput(f, vehicle, calibration, None, upstream)))
        detector.columns()
        if detector.camera is not before:
            window_frames.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    return elapsed / len(frames) * 1000.0, statistics.median(window_frames) * 1000.0, n_events


def skin_cost_ms(repeats: int = 2000) -> float:
    """perception/skin.py on a 640x360 frame with a 200-pixel-wide face."""
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (360, 640, 3), dtype=np.uint8)
    landmarks = np.zeros((478, 3), np.float32)
    landmarks[:, 0], landmarks[:, 1] = 320.0, 180.0
    landmarks[151, :2], landmarks[50, :2], landmarks[280, :2] = (320, 120), (270, 200), (370, 200)
    started = time.perf_counter()
    for _ in range(repeats):
        mean_skin_rgb(image, landmarks, 200.0)
    return (time.perf_counter() - started) / repeats * 1000.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="length of the generated drive")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--method", choices=[m.value for m in RppgMethod], default="pos")
    args = parser.parse_args()
    config = StressConfig.model_validate({"rppg": {"method": args.method}})
    frames = synthetic_drive(args.minutes)
    runs = [time_once(config, frames) for _ in range(args.repeats)]
    per_frame = [ms for ms, _, _ in runs]
    median = statistics.median(per_frame)
    worst = statistics.median(w for _, w, _ in runs)
    skin = skin_cost_ms()
    print(f"machine     {platform.machine()}, Python {platform.python_version()}, {platform.system()}")
    print(f"drive       {len(frames)} frames ({args.minutes:g} min at {FPS:g} fps), {runs[0][2]} events, method {args.method}")
    print(f"per frame   median {median:.4f} ms (min {min(per_frame):.4f}, max {max(per_frame):.4f}) over {args.repeats} runs")
    print(f"window      {worst:.3f} ms for a frame that recomputes the 10 s window (median; once a second)")
    print(f"skin colour {skin:.4f} ms per frame (perception/skin.py, 640x360, three patches)")
    total = median + skin
    print(f"goal        <= {GOAL_MS} ms per frame (detector + skin colour {total:.4f} ms): {'met' if total <= GOAL_MS else 'NOT met'}")
    return 0 if total <= GOAL_MS else 1


if __name__ == "__main__":
    sys.exit(main())
