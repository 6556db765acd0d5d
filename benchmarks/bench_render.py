"""Synthetic-drive renderer speed: frames/s at 640x480 on one core.

    python benchmarks/bench_render.py [--size 640x480] [--frames 300] [--face astronaut]

Renders the first seconds of a busy scenario (blinks, glances, talking, a yawn, sensor noise,
vibration and motion blur on) with OpenCV limited to one thread, and reports the render
alone and render + lossless FFV1 encoding, as CPU time (process_time: what one free core
delivers, robust to other load on a shared machine) and as wall time. The one-off setup (face mesh, pose calibration)
is timed separately. Numbers and the machine go in docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("GLOG_minloglevel", "2")

import cv2  # noqa: E402

from driver_monitor.sim.renderer import Renderer  # noqa: E402
from driver_monitor.sim.scenario import parse_scenario  # noqa: E402
from driver_monitor.sim.simulate import get_rig  # noqa: E402
from driver_monitor.sim.timeline import Timeline, frame_times  # noqa: E402
from driver_monitor.sim.writer import SimRecordingWriter  # noqa: E402

SCENARIO = """
name: bench
duration_s: 20
camera: {noise_sigma: 2.0, jitter_px: 0.5, exposure_s: 0.01}
timeline:
  - {at_s: 1.0, do: glance, zone: left_mirror, duration_s: 1.5}
  - {at_s: 3.0, do: talk, duration_s: 3.0}
  - {at_s: 4.0, do: glance, zone: centre_stack, duration_s: 2.0}
  - {at_s: 6.5, do: yawn, duration_s: 3.0}
  - {at_s: 7.0, do: eyes_closed, duration_s: 1.2}
  - {at_s: 9.0, do: look_down, target: phone, duration_s: 2.0}
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--face", default="astronaut")
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    cv2.setNumThreads(1)
    t0 = time.perf_counter()
    rig = get_rig(args.face, (w, h))
    setup_s = time.perf_counter() - t0
    s = parse_scenario(SCENARIO)
    tl = Timeline(s)
    times = frame_times(s.duration_s, s.camera.fps)[: args.frames]
    states = [tl.render_state(tl.state(t), i) for i, t in enumerate(times)]
    renderer = Renderer(rig, noise_seed=0)
    renderer.render(states[0])  # warm up
    t0, c0 = time.perf_counter(), time.process_time()
    frames = [renderer.render(st) for st in states]
    render_s, render_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    with tempfile.TemporaryDirectory() as tmp:
        writer = SimRecordingWriter(Path(tmp), w, h)
        t0, c0 = time.perf_counter(), time.process_time()
        for t, f in zip(times, frames, strict=True):
            writer.add_frame(t, f, {"x": 0.0})
        writer.close({})
        encode_s, encode_cpu_s = time.perf_counter() - t0, time.process_time() - c0
        size_mb = (Path(tmp) / "video.mkv").stat().st_size / 1e6
    n = len(frames)
    print(f"machine   {platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()} python {sys.version.split()[0]} opencv {cv2.__version__}")
    print(f"size      {w}x{h}, face {args.face}, {n} frames")
    print(f"setup     {setup_s:.2f} s (face mesh + pose calibration, once per face and size)")
    print(f"load      {os.getloadavg()[0]:.1f} (1-min load average; CPU-time figures are what one free core gives)")
    print(f"render    {n / render_cpu_s:.1f} frames/s of CPU time, {n / render_s:.1f} wall ({1000 * render_cpu_s / n:.1f} ms/frame, one OpenCV thread)")
    print(f"encode    {n / encode_cpu_s:.1f} frames/s of CPU time, {n / encode_s:.1f} wall (FFV1 lossless, {size_mb / n * 1000:.0f} kB/frame)")
    print(f"together  {n / (render_cpu_s + encode_cpu_s):.1f} frames/s of CPU time")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
