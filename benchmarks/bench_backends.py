"""Tracker backends against bare MediaPipe Tasks on the same frames, and full replay against
the peer-style legacy FaceMesh loop, in alternating runs.

    python benchmarks/bench_backends.py [CLIP ...] [--repeats N] [--peer-python PATH] [--no-replay]
    python benchmarks/bench_backends.py --latency [CLIP] [--repeats N]

Trackers (frames decoded once beforehand, the same list for every run; ms per frame):
  mediapipe-tasks    FaceLandmarker.detect_for_video, VIDEO mode, blendshapes + matrix on:
                     the bare floor of the mediapipe backend (as bench_replay.py)
  litert / onnxruntime, each with detector_schedule mediapipe (the default) and tracked:
                     ModelFaceTracker.track, landmarks + blendshapes + matrix
  legacy-facemesh    mediapipe 0.10.x `solutions.face_mesh.FaceMesh(refine_landmarks=True)`,
                     the model set of the peer open-source DMS, when --peer-python names a
                     Python that has it (a separate venv: it cannot share ours)
End to end (decoding included, what the user waits for):
  replay             `replay()` with the default config (litert, staged threads), serial,
                     with the tracked detector schedule, and with backend mediapipe (staged
                     and serial); events.jsonl + features.csv written
  peer-style loop    in the peer Python: decode + FaceMesh + per-frame EAR, iris gaze ratio
                     and solvePnP head pose (the work of the peer's frame loop, written here,
                     not its code; no drawing, no display)
Live latency (--latency): the clip letterboxed to 640x480, one frame at a time through the
  whole Pipeline, paced at 30 fps (idle cores between frames, as on a car computer); p50 and
  p99 of the time from the frame to its result, per backend and thread setting; and the
  default and tracked litert back to back, unpaced: what a frame costs when the cores have
  not gone idle before it (the difference is the price of waking them).
Every figure is the median over --repeats rounds; in each round every variant runs once,
in turn, so all see the same machine state. Prints a Markdown table for docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CLIP = REPO / "recordings" / "selfie_writing"

# Runs in the peer's Python (mediapipe 0.10.x + av). Decoding is outside the tracker timing
# and inside the end-to-end one, as on our side.
PEER_SCRIPT = r'''
import json, sys, time
import av, cv2, numpy as np
import mediapipe as mp
clip, mode = sys.argv[1], sys.argv[2]
mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1, refine_landmarks=True,
                                        min_detection_confidence=0.5, min_tracking_confidence=0.5)
EYES = ([33, 160, 158, 133, 153, 144], [362, 385, 387, 263, 373, 380])
POSE = [1, 152, 33, 263, 61, 291]
MODEL = np.array([(0, 0, 0), (0, -63.6, -12.5), (-43.3, 32.7, -26), (43.3, 32.7, -26), (-28.9, -28.9, -24.1), (28.9, -28.9, -24.1)], float)
def frames():
    with av.open(clip) as c:
        for f in c.decode(video=0):
            yield f.to_ndarray(format="rgb24")
def per_frame(lms, w, h):
    p = np.array([(l.x * w, l.y * h) for l in lms.landmark])
    ear = [(np.linalg.norm(p[e[1]] - p[e[5]]) + np.linalg.norm(p[e[2]] - p[e[4]])) / (2 * np.linalg.norm(p[e[0]] - p[e[3]])) for e in EYES]
    gaze = [np.linalg.norm(p[468] - (p[33] + p[133]) / 2), np.linalg.norm(p[473] - (p[362] + p[263]) / 2)]
    cam = np.array([[w, 0, w / 2], [0, w, h / 2], [0, 0, 1]], float)
    ok, rvec, tvec = cv2.solvePnP(MODEL, p[POSE], cam, np.zeros(4), flags=cv2.SOLVEPNP_ITERATIVE)
    rmat, _ = cv2.Rodrigues(rvec)
    return ear, gaze, cv2.RQDecomp3x3(rmat)[0]
if mode == "bare":
    images = list(frames())
    start, cpu = time.perf_counter(), time.process_time()
    for img in images:
        mesh.process(img)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    n = len(images)
else:
    n, start, cpu = 0, time.perf_counter(), time.process_time()
    for img in frames():
        res = mesh.process(img)
        if res.multi_face_landmarks:
            per_frame(res.multi_face_landmarks[0], img.shape[1], img.shape[0])
        n += 1
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"frames": n, "seconds": elapsed, "cpu_seconds": cpu, "mediapipe": mp.__version__}))
'''


def decode(clip: Path) -> list:
    from driver_monitor.sources.video_file import VideoFileSource

    video = clip / "video.mkv" if clip.is_dir() else clip
    with VideoFileSource(video) as source:
        return list(source)


def time_mediapipe_tasks(frames: list) -> tuple[float, float]:
    import mediapipe as mp

    from driver_monitor.config import load_config
    from driver_monitor.perception.tracker import create_face_landmarker, quiet_native_stderr

    with quiet_native_stderr():
        landmarker = create_face_landmarker(load_config().perception)
    start, cpu = time.perf_counter(), time.process_time()
    for i, frame in enumerate(frames):
        landmarker.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=frame.image), i * 40)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    landmarker.close()
    return elapsed, cpu


def time_backend(frames: list, **perception) -> tuple[float, float]:
    """One thread per model: the per-frame work, comparable with the other single loops."""
    from driver_monitor.config.perception import PerceptionConfig
    from driver_monitor.perception.tracker import create_tracker

    with create_tracker(PerceptionConfig.model_validate({"landmark_threads": 1, **perception})) as tracker:
        tracker.track(frames[0])  # load and first-call costs are not per-frame costs
        start, cpu = time.perf_counter(), time.process_time()
        for frame in frames:
            tracker.track(frame)
        return time.perf_counter() - start, time.process_time() - cpu


# End-to-end replay variants: the default, MediaPipe, each with and without the staged threads.
REPLAY_VARIANTS = {
    "replay, litert (default: staged)": {},
    "replay, litert, serial": {"staged_replay": False},
    "replay, litert, tracked, staged": {"detector_schedule": "tracked"},
    "replay, mediapipe, staged": {"backend": "mediapipe"},
    "replay, mediapipe, serial": {"backend": "mediapipe", "staged_replay": False},
}


def time_replay(clip: Path, **perception) -> tuple[int, float, float]:
    from driver_monitor.config import load_config
    from driver_monitor.config.perception import PerceptionConfig
    from driver_monitor.replay import replay

    config = load_config()
    config = config.model_copy(update={"perception": PerceptionConfig.model_validate({**config.perception.model_dump(), **perception})})
    with tempfile.TemporaryDirectory() as out:
        cpu = time.process_time()
        summary = replay(clip, config, out, progress=False)
        cpu = time.process_time() - cpu
    return summary.frames, summary.wall_s, cpu


def time_peer(python: str, clip: Path, mode: str) -> tuple[int, float, float, str]:
    video = clip / "video.mkv" if clip.is_dir() else clip
    env = {**os.environ, "GLOG_minloglevel": "2", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([python, "-c", PEER_SCRIPT, str(video), mode], capture_output=True, text=True, env=env, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["frames"], result["seconds"], result["cpu_seconds"], result["mediapipe"]


def bench_clip(clip: Path, args: argparse.Namespace) -> None:
    frames = decode(clip)
    h, w = frames[0].image.shape[:2]
    variants = {
        "mediapipe-tasks (bare)": partial(time_mediapipe_tasks, frames),
        "litert": partial(time_backend, frames, backend="litert"),
        "litert, tracked": partial(time_backend, frames, backend="litert", detector_schedule="tracked"),
        "onnxruntime": partial(time_backend, frames, backend="onnxruntime"),
        "onnxruntime, tracked": partial(time_backend, frames, backend="onnxruntime", detector_schedule="tracked"),
    }
    peer_version = [None]
    if args.peer_python:
        def peer_bare() -> tuple[float, float]:
            _, wall, cpu, peer_version[0] = time_peer(args.peer_python, clip, "bare")
            return wall, cpu

        variants["legacy-facemesh (bare)"] = peer_bare
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    e2e: dict[str, list[tuple[float, float]]] = {}  # frames/s, CPU ms per frame
    for _ in range(args.repeats):
        for name, run in variants.items():
            runs[name].append(run())
        if not args.no_replay:
            for name, update in REPLAY_VARIANTS.items():
                n, wall, cpu = time_replay(clip, **update)
                e2e.setdefault(name, []).append((n / wall, 1000 * cpu / n))
            if args.peer_python:
                n, wall, cpu, peer_version[0] = time_peer(args.peer_python, clip, "loop")
                e2e.setdefault("peer-style loop (legacy FaceMesh)", []).append((n / wall, 1000 * cpu / n))
    base = statistics.median(w for w, _ in runs["mediapipe-tasks (bare)"]) / len(frames)
    print(f"\n{clip} ({len(frames)} frames, {w}x{h}), median of {args.repeats} alternating rounds, "
          f"load {os.getloadavg()[0]:.1f} at the end")
    print("| tracker | ms/frame | frames/s | vs MediaPipe Tasks | CPU ms/frame (all threads) |\n|---|---|---|---|---|")
    for name, values in runs.items():
        per = statistics.median(wall for wall, _ in values) / len(frames)
        cpu = statistics.median(c for _, c in values) / len(frames)
        label = f"{name}, mediapipe {peer_version[0]}" if name.startswith("legacy") and peer_version[0] else name
        print(f"| {label} | {per * 1000:.2f} | {1 / per:.0f} | {base / per:.2f}x | {cpu * 1000:.2f} |")
    if e2e:
        print("| **end to end** (decoding included) |  | frames/s |  | CPU ms/frame |")
        for name, values in e2e.items():
            print(f"| {name} |  | {statistics.median(f for f, _ in values):.0f} |  | "
                  f"{statistics.median(c for _, c in values):.2f} |")


def bench_latency(clip: Path, args: argparse.Namespace) -> None:
    """Per-frame latency as the live daemon sees it: one 640x480 frame at a time through the
    whole Pipeline (tracker, features, detectors, policy), frames paced at 30 fps so the
    cores are idle between them as on a car computer; p50 / p99 of capture -> result."""
    import cv2
    import numpy as np

    from driver_monitor.config import load_config
    from driver_monitor.config.perception import PerceptionConfig
    from driver_monitor.messages import Frame
    from driver_monitor.perception.tracker import create_tracker
    from driver_monitor.pipeline import Pipeline

    images = []
    for frame in decode(clip):
        h, w = frame.image.shape[:2]
        canvas = np.zeros((480, 640, 3), np.uint8)
        scaled = cv2.resize(frame.image, (640, int(h * 640 / w)))
        top = (480 - scaled.shape[0]) // 2
        canvas[top:top + scaled.shape[0]] = scaled
        images.append(canvas)
    variants = {
        "mediapipe": {"backend": "mediapipe"},
        "litert (default: landmark_threads 2)": {},
        "litert, landmark_threads 1": {"landmark_threads": 1},
        "litert, tracked": {"detector_schedule": "tracked"},
        "litert, tracked, landmark_threads 1": {"detector_schedule": "tracked", "landmark_threads": 1},
    }
    unpaced = {"litert (default), frames back to back": {}, "litert, tracked, frames back to back": {"detector_schedule": "tracked"}}
    variants.update(unpaced)
    latencies: dict[str, list[float]] = {name: [] for name in variants}
    cpu_times: dict[str, list[float]] = {name: [] for name in variants}
    base = load_config()
    for _ in range(args.repeats):
        for name, update in variants.items():
            perception = PerceptionConfig.model_validate({**base.perception.model_dump(), **update})
            config = base.model_copy(update={"perception": perception})
            with create_tracker(perception) as tracker:
                pipeline = Pipeline(config, tracker)
                for i, image in enumerate(images):
                    if name not in unpaced:
                        time.sleep(1 / 30)
                    start, cpu = time.perf_counter(), time.process_time()
                    pipeline.process(Frame(i / 30, image, i))
                    latencies[name].append(time.perf_counter() - start)
                    cpu_times[name].append(time.process_time() - cpu)
    print(f"\nlive latency, {clip} letterboxed to 640x480, {len(images)} frames x {args.repeats} rounds paced at 30 fps, "
          f"load {os.getloadavg()[0]:.1f} at the end")
    print("| backend | capture -> result p50 | p99 | CPU ms per frame, p50 (all threads) |\n|---|---|---|---|")
    for name, values in latencies.items():
        values.sort()
        p50, p99 = values[len(values) // 2], values[min(len(values) - 1, int(0.99 * len(values)))]
        print(f"| {name} | {p50 * 1000:.2f} ms | {p99 * 1000:.2f} ms | {statistics.median(cpu_times[name]) * 1000:.2f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", nargs="*", type=Path, default=[DEFAULT_CLIP])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peer-python", default=None, help="a Python with mediapipe 0.10.x (legacy solutions) and av")
    parser.add_argument("--no-replay", action="store_true", help="trackers only")
    parser.add_argument("--latency", action="store_true", help="live per-frame latency at 640x480 instead")
    args = parser.parse_args()
    os.environ.setdefault("GLOG_minloglevel", "2")
    print(f"machine  {platform.machine()}, {len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}, "
          f"load {os.getloadavg()[0]:.1f} at start, {time.strftime('%Y-%m-%d')}")
    for clip in args.clips:
        (bench_latency if args.latency else bench_clip)(clip, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
