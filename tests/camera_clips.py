"""Small synthetic videos that stand in for a camera in the camera and daemon tests.

Written with OpenCV (MJPG in AVI: every frame intra-coded, so identical input frames decode
to identical pictures and different ones stay different)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


class NoFace:
    """A tracker that never finds a face (an empty seat; the pictures themselves are live):
    runs the Pipeline's camera health and everything after the tracker without MediaPipe."""

    def track(self, frame: object) -> None:
        return None

    def close(self) -> None:
        pass


def write_clip(
    path: Path,
    kind: str = "noise",
    seconds: float = 1.0,
    fps: float = 25.0,
    size: tuple[int, int] = (160, 120),
    seed: int = 0,
) -> Path:
    """kind: "noise" (a different random picture every frame, no face), "still" (one picture
    repeated: a frozen camera), "black" (a covered lens), "flat" (uniform mid-grey: a lens
    covered by something lit)."""
    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {path}")
    rng = np.random.default_rng(seed)
    still = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    for _ in range(max(1, round(seconds * fps))):
        if kind == "noise":
            image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        elif kind == "still":
            image = still
        elif kind == "black":  # sensor noise of +-2 levels: a covered live camera, not a frozen one
            image = rng.integers(0, 3, (h, w, 3), dtype=np.uint8)
        elif kind == "flat":
            image = (128 + rng.integers(-2, 3, (h, w, 3))).astype(np.uint8)
        else:
            raise ValueError(kind)
        writer.write(image)
    writer.release()
    return path


def write_segments(path: Path, segments: list[tuple[str, float]], fps: float = 25.0,
                   size: tuple[int, int] = (160, 120)) -> list[tuple[str, float, float]]:
    """A clip made of `(kind, seconds)` stretches (kinds as write_clip), each stretch a
    picture of its own. Returns (kind, first frame time, end time) per stretch: frame k is
    at k / fps."""
    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {path}")
    rng = np.random.default_rng(1)
    spans, k = [], 0
    for kind, seconds in segments:
        still = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        n = round(seconds * fps)
        spans.append((kind, k / fps, (k + n) / fps))
        for _ in range(n):
            if kind == "noise":
                image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            elif kind == "still":
                image = still
            elif kind == "flat":
                image = (128 + rng.integers(-2, 3, (h, w, 3))).astype(np.uint8)
            else:
                raise ValueError(kind)
            writer.write(image)
            k += 1
    writer.release()
    return spans
