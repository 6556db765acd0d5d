"""Batch feature extraction on an accelerator: frames/s per GPU through onnxruntime.

    python benchmarks/bench_gpu_extraction.py [CLIP ...] [--batch 32] [--frames N]
        [--providers TensorrtExecutionProvider,CUDAExecutionProvider,CPUExecutionProvider]

Fleet extraction (features once per recorded drive, DESIGN.md "The engineer's loop") has
every frame up front, so it need not track: the detector runs on every frame (the
`mediapipe` detector schedule's crops) and the landmark model, the expensive one, takes
`--batch` face crops per call (the vendored ONNX landmark model has a free batch axis; the
detector and blendshape models are fixed at batch 1 and run per frame). Decoding and the
crops run on the CPU, the models on the first available provider in the list (onnxruntime-gpu
brings CUDA / TensorRT; the CPU wheel has only CPUExecutionProvider).

Prints the providers in use, frames/s and ms per frame by stage, and, as a correctness check
of the batch path, the largest landmark difference from the ModelFaceTracker (onnxruntime,
CPU) on the same frames. Not yet run on a GPU: no GPU was available where it was written
(docs/performance.md); its CPU path runs in tests/test_bench_gpu_extraction.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CLIP = REPO / "recordings" / "selfie_writing"
DEFAULT_PROVIDERS = "TensorrtExecutionProvider,CUDAExecutionProvider,CPUExecutionProvider"


def decode(clip: Path, limit: int | None) -> list:
    from driver_monitor.sources.video_file import VideoFileSource

    video = clip / "video.mkv" if clip.is_dir() else clip
    with VideoFileSource(video) as source:
        frames = []
        for frame in source:
            frames.append(frame)
            if limit is not None and len(frames) >= limit:
                break
        return frames


class BatchExtractor:
    """Detector per frame, landmark model per batch of crops, blendshapes and matrix per face."""

    def __init__(self, providers: list[str]):
        import onnxruntime as ort

        from driver_monitor.perception.backends import detection
        from driver_monitor.perception.backends.bundle import open_bundle
        from driver_monitor.perception.backends.face_geometry import (
            FaceGeometrySolver,
            parse_metadata,
        )
        from driver_monitor.perception.backends.onnx_models import load_onnx_models

        available = ort.get_available_providers()
        self.providers = [p for p in providers if p in available] or ["CPUExecutionProvider"]
        bundle = open_bundle()
        detector, landmarks, blendshapes = load_onnx_models(bundle)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        self._detector = ort.InferenceSession(detector, options, providers=self.providers)
        self._landmarks = ort.InferenceSession(landmarks, options, providers=self.providers)
        self._blendshapes = ort.InferenceSession(blendshapes, options, providers=self.providers)
        self._geometry = FaceGeometrySolver(parse_metadata(bundle.geometry_metadata))
        self._anchors = detection.ssd_anchors()
        self.stage_s = {"detector": 0.0, "landmarks": 0.0, "blendshapes + matrix": 0.0}

    def _crop_of(self, image: np.ndarray):
        from driver_monitor.perception.backends import detection
        from driver_monitor.perception.backends.model_tracker import _detector_outputs
        from driver_monitor.perception.backends.roi import letterbox_roi, roi_from_detection, warp

        h, w = image.shape[:2]
        letterbox = letterbox_roi(w, h)
        tensor = warp(image, letterbox, detection.INPUT_SIZE, border_zero=True).astype(np.float32)[None] * np.float32(2 / 255) - 1
        regressors, scores = _detector_outputs(self._detector.run(None, {self._detector.get_inputs()[0].name: tensor}))
        boxes, keypoints, probs = detection.decode(regressors, scores, self._anchors, 0.3)
        faces = detection.weighted_nms(boxes, keypoints, probs)[:1]
        if not faces:
            return None
        box, kps, _ = faces[0]
        m = letterbox.crop_to_image(1)
        corners = np.array([[box[0], box[1]], [box[2], box[3]]]) @ m[:, :2].T + m[:, 2]
        return roi_from_detection(corners.ravel(), kps @ m[:, :2].T + m[:, 2])

    def extract(self, frames: list, batch: int) -> list[np.ndarray | None]:
        from driver_monitor.perception.backends.model_tracker import (
            BLENDSHAPE_LANDMARKS,
            LANDMARKS_INPUT,
        )
        from driver_monitor.perception.backends.roi import project_to_image, warp

        out: list[np.ndarray | None] = []
        for start in range(0, len(frames), batch):
            chunk = frames[start:start + batch]
            t0 = time.perf_counter()
            rois = [self._crop_of(f.image) for f in chunk]
            t1 = time.perf_counter()
            found = [i for i, r in enumerate(rois) if r is not None]
            results: list[np.ndarray | None] = [None] * len(chunk)
            if found:
                crops = np.stack([warp(chunk[i].image, rois[i], LANDMARKS_INPUT) for i in found]).astype(np.float32) / 255
                raw, presence = self._landmarks.run(None, {self._landmarks.get_inputs()[0].name: crops})[:2]
                t2 = time.perf_counter()
                for k, i in enumerate(found):
                    if 1 / (1 + np.exp(-float(presence.ravel()[k]))) < 0.3:
                        continue
                    h, w = chunk[i].image.shape[:2]
                    points = project_to_image(raw[k].reshape(478, 3), rois[i], LANDMARKS_INPUT, w, h)
                    subset = np.ascontiguousarray(points[BLENDSHAPE_LANDMARKS, :2], np.float32)[None]
                    self._blendshapes.run(None, {self._blendshapes.get_inputs()[0].name: subset})
                    self._geometry.transform(points, w, h)
                    results[i] = points
            else:
                t2 = time.perf_counter()
            self.stage_s["detector"] += t1 - t0
            self.stage_s["landmarks"] += t2 - t1
            self.stage_s["blendshapes + matrix"] += time.perf_counter() - t2
            out.extend(results)
        return out


def reference_landmarks(frames: list) -> list[np.ndarray | None]:
    from driver_monitor.config.perception import PerceptionConfig
    from driver_monitor.perception.tracker import create_tracker

    with create_tracker(PerceptionConfig(backend="onnxruntime", max_faces=2)) as tracker:
        return [None if (obs := tracker.track(f)) is None else obs.landmarks_px for f in frames]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", nargs="*", type=Path, default=[DEFAULT_CLIP])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--frames", type=int, default=None, help="at most this many frames per clip")
    parser.add_argument("--providers", default=DEFAULT_PROVIDERS)
    args = parser.parse_args()
    frames = [f for clip in args.clips for f in decode(clip, args.frames)]
    extractor = BatchExtractor(args.providers.split(","))
    extractor.extract(frames[: min(len(frames), args.batch)], args.batch)  # warm-up: sessions, kernels
    extractor.stage_s = dict.fromkeys(extractor.stage_s, 0.0)
    start = time.perf_counter()
    landmarks = extractor.extract(frames, args.batch)
    elapsed = time.perf_counter() - start
    print(f"providers      {', '.join(extractor.providers)}")
    if extractor.providers == ["CPUExecutionProvider"]:
        print("note           no GPU provider here: this is the CPU path (frames/s of one CPU, not of a GPU)")
    print(f"machine        {os.cpu_count()} CPUs; {len(frames)} frames, batch {args.batch}")
    print(f"frames/s       {len(frames) / elapsed:.1f}")
    for stage, seconds in extractor.stage_s.items():
        print(f"  {stage:22s} {1000 * seconds / len(frames):.2f} ms/frame")
    reference = reference_landmarks(frames)
    both = [(a, b) for a, b in zip(landmarks, reference, strict=True) if a is not None and b is not None]
    worst = max((float(np.abs(a[:, :2] - b[:, :2]).max()) for a, b in both), default=float("nan"))
    print(f"check          {len(both)} faces, largest landmark difference from the tracker {worst:.3f} px")
    return 0


if __name__ == "__main__":
    sys.exit(main())
