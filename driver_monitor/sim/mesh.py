"""The face mesh the renderer warps: MediaPipe's 468-point tessellation plus the holes it leaves.

MediaPipe's tessellation (FaceLandmarksConnections.FACE_LANDMARKS_TESSELATION) lists edges;
its triangles are the 3-cycles of that edge graph minus the few 3-cycles that enclose other
vertices (they are not faces of the mesh). The mesh leaves the eye openings and the mouth as
holes; the renderer needs them as triangles too (the eye opening collapses when the lid
closes, the lip gap opens with the jaw), so they are closed here with strips between the
upper and lower contours, which keeps the lid and lip lines as mesh edges.

Index lists are the standard MediaPipe face-mesh contours, ordered from one corner to the
other. "Right" is the driver's right eye (the image's left in an unmirrored camera), as in
driver_monitor.perception.geometry.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from functools import lru_cache

import numpy as np

# Eye contours, corner to corner (outer corner first for the right eye: 33 -> 133).
RIGHT_UPPER_LID = (33, 246, 161, 160, 159, 158, 157, 173, 133)
RIGHT_LOWER_LID = (33, 7, 163, 144, 145, 153, 154, 155, 133)
LEFT_UPPER_LID = (263, 466, 388, 387, 386, 385, 384, 398, 362)
LEFT_LOWER_LID = (263, 249, 390, 373, 374, 380, 381, 382, 362)
# The ring of skin above each upper lid (the lid fold) and the one above it (below the brow):
# stretched down when the lid closes so the lid skin, not a painted line, covers the eye.
RIGHT_LID_FOLD = (247, 30, 29, 27, 28, 56, 190)
LEFT_LID_FOLD = (467, 260, 259, 257, 258, 286, 414)
RIGHT_BROW_LOWER = (113, 225, 224, 223, 222, 221, 189)
LEFT_BROW_LOWER = (342, 445, 444, 443, 442, 441, 413)
RIGHT_IRIS = (468, 469, 470, 471, 472)  # centre first, then four points on the rim
LEFT_IRIS = (473, 474, 475, 476, 477)

# Eyebrows, outer end to inner end: the upper and the lower edge (FaceLandmarksConnections
# FACE_LANDMARKS_RIGHT_EYEBROW / LEFT_EYEBROW).
RIGHT_BROW = (70, 63, 105, 66, 107, 46, 53, 52, 65, 55)
LEFT_BROW = (300, 293, 334, 296, 336, 276, 283, 282, 295, 285)
# The wings of the nose (alae), from the tip's side round to the cheek (FACE_LANDMARKS_NOSE).
RIGHT_NOSE_WING = (45, 220, 115, 48, 64, 98)
LEFT_NOSE_WING = (275, 440, 344, 278, 294, 327)

# Lips, corner to corner (78 = driver's right corner, 308 = left).
INNER_UPPER_LIP = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
INNER_LOWER_LIP = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
OUTER_UPPER_LIP = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
OUTER_LOWER_LIP = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
MOUTH_CORNERS = (78, 308)
CHIN = 152
NOSE_TIP = 1
NOSE_BASE = 2  # subnasale, where the upper lip's skin meets the nose
FOREHEAD = 10

MESH_POINTS = 468  # the iris points 468..477 are not part of the tessellation


def _strip(upper: tuple[int, ...], lower: tuple[int, ...]) -> list[tuple[int, int, int]]:
    """Triangles between two contours sharing their end points (a closed lens shape)."""
    tris: list[tuple[int, int, int]] = []
    for i in range(len(upper) - 1):
        u0, u1 = upper[i], upper[i + 1]
        l0, l1 = lower[i], lower[i + 1]
        if i == 0:
            tris.append((u0, u1, l1))  # u0 == l0: the corner
        elif i == len(upper) - 2:
            tris.append((u0, u1, l0))  # u1 == l1: the other corner
        else:
            tris.append((u0, u1, l1))
            tris.append((u0, l1, l0))
    return tris


EYE_OPENING_RIGHT = tuple(_strip(RIGHT_UPPER_LID, RIGHT_LOWER_LID))
EYE_OPENING_LEFT = tuple(_strip(LEFT_UPPER_LID, LEFT_LOWER_LID))
MOUTH_GAP = tuple(_strip(INNER_UPPER_LIP, INNER_LOWER_LIP))


@lru_cache(maxsize=1)
def tessellation_triangles() -> tuple[tuple[int, int, int], ...]:
    """The face mesh's triangles as 3-cycles of the tessellation edges (not yet filtered)."""
    from mediapipe.tasks.python.vision import FaceLandmarksConnections

    adj: dict[int, set[int]] = defaultdict(set)
    for c in FaceLandmarksConnections.FACE_LANDMARKS_TESSELATION:
        adj[c.start].add(c.end)
        adj[c.end].add(c.start)
    tris = set()
    for a, na in adj.items():
        for b in na:
            for c in na & adj[b]:
                tris.add(tuple(sorted((a, b, c))))
    return tuple(sorted(tris))


@lru_cache(maxsize=1)
def face_oval() -> tuple[int, ...]:
    """The face silhouette landmarks as one ordered loop."""
    from mediapipe.tasks.python.vision import FaceLandmarksConnections

    nxt = {c.start: c.end for c in FaceLandmarksConnections.FACE_LANDMARKS_FACE_OVAL}
    loop = [10]
    while nxt[loop[-1]] != loop[0]:
        loop.append(nxt[loop[-1]])
    return tuple(loop)


def face_triangles() -> np.ndarray:
    """(T, 3) triangles of the face: the tessellation faces plus the eye-opening and lip-gap
    strips. A 3-cycle of the edge graph is not a face when each of its three edges already
    borders more than two 3-cycles (in a manifold mesh an edge borders at most two faces):
    the tessellation has two such cycles, around the nostrils."""
    cycles = tessellation_triangles()
    count: Counter[tuple[int, int]] = Counter()
    for a, b, c in cycles:
        count.update(((a, b), (b, c), (a, c)))
    tris = [t for t in cycles if not all(count[e] > 2 for e in ((t[0], t[1]), (t[1], t[2]), (t[0], t[2])))]
    tris += list(EYE_OPENING_RIGHT) + list(EYE_OPENING_LEFT) + list(MOUTH_GAP)
    return np.asarray(tris, dtype=np.int32)
