"""How close a backend's FaceObservations are to MediaPipe's on the same frames, per clip.

    python benchmarks/backend_parity.py CLIP... [--backend litert]
        [--detector-schedule mediapipe|tracked] [--gif-fps 12.5] [--second-look]

prints a Markdown row per clip (driver_monitor/perception/backends/parity.py says what each
figure is); tests/test_backend_parity.py asserts issue 18's goals with the same comparison,
docs/backends.md has the table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from driver_monitor.messages import FaceObservation
from driver_monitor.perception.backends.parity import compare
from driver_monitor.sources.video_file import VideoFileSource


def track_clip(tracker, path: Path, gif_fps: float = 12.5) -> list[FaceObservation | None]:
    """Every frame of a video file or recording directory through `tracker`."""
    video = path / "video.mkv" if path.is_dir() else path
    with VideoFileSource(video, gif_fps=gif_fps) as source:
        return [tracker.track(frame) for frame in source]


def main(argv: list[str] | None = None) -> int:
    from driver_monitor.config.perception import PerceptionConfig
    from driver_monitor.perception.tracker import MediaPipeFaceTracker, create_tracker

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", nargs="+", type=Path)
    parser.add_argument("--backend", default="litert", choices=["litert", "onnxruntime"])
    parser.add_argument("--detector-schedule", default="mediapipe", choices=["mediapipe", "tracked"])
    parser.add_argument("--gif-fps", type=float, default=12.5)
    parser.add_argument("--second-look", action="store_true",
                        help="with the backend's second look (the default config's; off: MediaPipe's rule)")
    args = parser.parse_args(argv)
    config = PerceptionConfig(backend=args.backend, detector_schedule=args.detector_schedule, second_look=args.second_look)
    print(f"backend {args.backend}, detector_schedule {args.detector_schedule}, against MediaPipe Tasks (default config)")
    print("| clip | frames compared | landmarks, mean of eye distance | blendshape MAE | pose mean / p95 (deg, worst angle) | frames that differ |")
    print("|---|---|---|---|---|---|")
    for clip in args.clips:
        with MediaPipeFaceTracker(PerceptionConfig()) as reference_tracker:
            reference = track_clip(reference_tracker, clip, args.gif_fps)
        with create_tracker(config) as tracker:
            ours = track_clip(tracker, clip, args.gif_fps)
        print(compare(reference, ours).row(clip.name), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
