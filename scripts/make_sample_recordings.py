"""Rebuild recordings/ from the licensed clips in data/clips (reproducible).

    python scripts/make_sample_recordings.py [CLIPS_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

from driver_monitor.recording.writer import RecordingWriter
from driver_monitor.sources.video_file import VideoFileSource

REPO = Path(__file__).resolve().parents[1]

SAMPLES = {
    # name: (clip, gif fps, what it shows, licence / attribution)
    "selfie_writing": (
        "selfie_segmentation_web.mp4", None,
        "woman talking to the camera, repeatedly looks down to write (eyes open, eyeBlink > 0.5); real blinks",
        "Apache-2.0, google-ai-edge/mediapipe docs/images/selfie_segmentation_web.mp4",
    ),
    "male_frontal": (
        "head-pose-face-detection-male.gif", 12.5,
        "attentive man, frontal, talking (baseline: no alert expected)",
        "CC-BY-4.0, intel-iot-devkit/sample-videos preview/ (attribution: Intel Corporation)",
    ),
}


def main() -> int:
    clips = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "data" / "clips"
    for name, (clip, gif_fps, shows, licence) in SAMPLES.items():
        source = VideoFileSource(clips / clip, gif_fps=gif_fps or 12.5)
        writer = RecordingWriter(REPO / "recordings" / name, source.width - source.width % 2, source.height - source.height % 2)
        for frame in source:
            writer.add_frame(frame.t, frame.image[: writer._stream.height, : writer._stream.width])
        source.close()
        writer.close({"source": clip, "shows": shows, "licence": licence, "labels": "none (real footage)"})
        print(f"recordings/{name}: {len(writer.times_s)} frames")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
