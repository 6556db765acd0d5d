"""Calibrate a rig's pose map against the real FaceLandmarker (see face_rig.PoseMap).

Renders the rig at a few warp yaws and pitches, reads the pose MediaPipe reports on each
render, and keeps the monotone read -> warp curves. Runs once per rig (~20 landmarker
calls); the result depends only on the photo and the output size, so it is deterministic.
"""

from __future__ import annotations

import numpy as np

from driver_monitor.perception.geometry import head_pose_from_matrix
from driver_monitor.sim.face_rig import FaceRig, PoseMap, detect_mesh

WARP_YAWS_DEG = (-75.0, -60.0, -45.0, -30.0, -15.0, 0.0, 15.0, 30.0, 45.0, 60.0, 75.0)
WARP_PITCHES_DEG = (-40.0, -30.0, -20.0, -10.0, 0.0, 10.0, 20.0, 30.0, 40.0)


def calibrate_pose(rig: FaceRig) -> PoseMap:
    from driver_monitor.sim.renderer import Renderer, RenderState

    rig.pose_map = PoseMap()  # identity while measuring
    renderer = Renderer(rig)

    def read(yaw: float, pitch: float) -> tuple[float, float, float] | None:
        found = detect_mesh(renderer.render(RenderState(head_yaw_deg=yaw, head_pitch_deg=pitch)))
        return None if found is None else tuple(head_pose_from_matrix(found[1]))  # type: ignore[return-value]

    neutral = read(0.0, 0.0)
    if neutral is None:
        return PoseMap()
    yaw_pairs = [(r[0], w) for w in WARP_YAWS_DEG if (r := read(w, 0.0)) is not None]
    pitch_pairs = [(r[1], w) for w in WARP_PITCHES_DEG if (r := read(0.0, w)) is not None]
    yr, yw = _monotone(yaw_pairs)
    pr, pw = _monotone(pitch_pairs)
    return PoseMap(neutral_deg=neutral, yaw_read=yr, yaw_warp=yw, pitch_read=pr, pitch_warp=pw)


def _monotone(pairs: list[tuple[float, float]]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The (read, warp) pairs around warp 0 that keep the read angle strictly increasing."""
    pairs = sorted(pairs, key=lambda p: p[1])
    zero = int(np.argmin([abs(w) for _, w in pairs]))
    keep = [pairs[zero]]
    for p in pairs[zero + 1 :]:
        if p[0] > keep[-1][0] + 0.5:
            keep.append(p)
        else:
            break
    for p in reversed(pairs[:zero]):
        if p[0] < keep[0][0] - 0.5:
            keep.insert(0, p)
        else:
            break
    if len(keep) < 2:
        return (-1.0, 1.0), (-1.0, 1.0)
    return tuple(float(r) for r, _ in keep), tuple(float(w) for _, w in keep)
