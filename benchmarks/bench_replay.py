"""Replay overhead: the full pipeline against a bare MediaPipe FaceLandmarker loop.

Both runs decode the same clip with PyAV and feed every frame to a FaceLandmarker in VIDEO
mode with blendshapes and the transformation matrix on; the full run is `replay` itself
(features, detectors, policy, event log and feature table) with `perception.backend:
mediapipe` and the serial loop, so the ratio stays the pipeline's overhead over its tracker
(the LiteRT / onnxruntime backends and the staged replay: bench_backends.py). Runs alternate and the median
of each is reported, so both see the same machine state.

    python benchmarks/bench_replay.py [CLIP] [--repeats N]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

import av

from driver_monitor.config import load_config
from driver_monitor.config.perception import TrackerBackend
from driver_monitor.perception.tracker import create_face_landmarker
from driver_monitor.replay import replay

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CLIP = REPO / "recordings" / "selfie_writing" / "video.mkv"


def bare_landmarker_loop(clip: Path) -> tuple[int, float]:
    """Decode + detect_for_video and nothing else: the floor any pipeline sits on."""
    import mediapipe as mp

    landmarker = create_face_landmarker(load_config().perception)
    frames = 0
    start = time.perf_counter()
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            image = frame.to_ndarray(format="rgb24")
            ms = int(round(float(frame.pts * stream.time_base) * 1000)) + frames  # strictly increasing
            landmarker.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=image), ms)
            frames += 1
    elapsed = time.perf_counter() - start
    landmarker.close()
    return frames, elapsed


def full_replay(clip: Path) -> tuple[int, float]:
    config = load_config()
    perception = config.perception.model_copy(update={"backend": TrackerBackend.mediapipe, "staged_replay": False})
    with tempfile.TemporaryDirectory() as out:
        summary = replay(clip, config.model_copy(update={"perception": perception}), out, progress=False)
    return summary.frames, summary.wall_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", nargs="?", type=Path, default=DEFAULT_CLIP)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    bare_s, full_s = [], []
    frames = 0
    for _ in range(args.repeats):
        frames, seconds = bare_landmarker_loop(args.clip)
        bare_s.append(seconds)
        full_frames, seconds = full_replay(args.clip)
        assert full_frames == frames, (full_frames, frames)
        full_s.append(seconds)
    bare, full = statistics.median(bare_s), statistics.median(full_s)
    print(f"clip            {args.clip} ({frames} frames)")
    print(f"machine         {platform.processor() or platform.machine()}, {_cpu_count()} cores, Python {platform.python_version()}")
    print(f"bare landmarker {frames / bare:7.1f} frames/s  ({1000 * bare / frames:.2f} ms/frame)")
    print(f"full replay     {frames / full:7.1f} frames/s  ({1000 * full / frames:.2f} ms/frame)")
    print(f"overhead        {full / bare:.3f}x (goal <= 1.10x)")
    return 0


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    raise SystemExit(main())
