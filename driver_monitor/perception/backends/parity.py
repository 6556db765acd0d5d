"""How close a backend's FaceObservations are to MediaPipe's on the same frames (pure: the
observations in, the figures out; benchmarks/backend_parity.py reads the clips).

The row per clip: frames with a face, landmark distance as a share of the
inter-ocular distance (iris centres 468-473), blendshape mean absolute error, head-pose
difference (mean and 95th percentile of yaw, pitch, roll), and the frames where the two
differ (a face found by one only, or landmarks more than 3 % of the eye distance apart).
tests/test_backend_parity.py asserts issue 18's goals with it; docs/backends.md has the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from driver_monitor.messages import FaceObservation
from driver_monitor.perception.geometry import head_pose_from_matrix

IRIS_CENTRES = (468, 473)
FRAME_DIFFERS_AT = 0.03  # landmarks further apart than this share of the eye distance


@dataclass
class Parity:
    frames: int = 0
    faces: int = 0  # frames where MediaPipe found a face
    differing: list[int] = field(default_factory=list)
    landmark_error: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per compared frame, share of IOD
    blendshape_mae: np.ndarray = field(default_factory=lambda: np.zeros(0))
    pose_error_deg: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))  # yaw, pitch, roll

    def row(self, name: str) -> str:
        mean = self.pose_error_deg.mean(axis=0) if len(self.pose_error_deg) else np.full(3, np.nan)
        p95 = np.percentile(self.pose_error_deg, 95, axis=0) if len(self.pose_error_deg) else np.full(3, np.nan)
        differing = ", ".join(str(i) for i in self.differing) or "none"
        return (f"| {name} | {len(self.landmark_error)} of {self.faces} | {100 * self.landmark_error.mean():.2f} % "
                f"(max {100 * self.landmark_error.max(initial=0):.2f}) | {self.blendshape_mae.mean():.4f} | "
                f"{mean.max():.2f} / {p95.max():.2f} | {differing} |")


def compare(reference: list[FaceObservation | None], ours: list[FaceObservation | None]) -> Parity:
    """`ours` against `reference` (MediaPipe), frame by frame."""
    if len(reference) != len(ours):
        raise ValueError(f"{len(reference)} reference frames, {len(ours)} compared")
    out = Parity(frames=len(reference), faces=sum(obs is not None for obs in reference))
    lm, bs, pose = [], [], []
    for i, (a, b) in enumerate(zip(reference, ours, strict=True)):
        if (a is None) != (b is None):
            out.differing.append(i)
            continue
        if a is None or b is None:
            continue
        iod = float(np.linalg.norm(a.landmarks_px[IRIS_CENTRES[0], :2] - a.landmarks_px[IRIS_CENTRES[1], :2]))
        error = float(np.linalg.norm(a.landmarks_px[:, :2] - b.landmarks_px[:, :2], axis=1).mean()) / iod
        if error > FRAME_DIFFERS_AT:
            out.differing.append(i)
            continue
        lm.append(error)
        bs.append(float(np.mean([abs(a.blendshapes[k] - b.blendshapes[k]) for k in a.blendshapes])))
        pose.append(np.abs(np.subtract(head_pose_from_matrix(a.transform), head_pose_from_matrix(b.transform))))
    out.landmark_error = np.array(lm)
    out.blendshape_mae = np.array(bs)
    out.pose_error_deg = np.array(pose).reshape(-1, 3)
    return out
