"""The bundle's face detector (BlazeFace short range, 128x128): anchors, decoding, NMS.

Numbers from MediaPipe's FaceDetectorGraph (tasks/cc/vision/face_detector/
face_detector_graph.cc): SSD anchors of 4 layers with strides 8, 16, 16, 16 and fixed unit
size (896 anchors); boxes as centre offsets in 128-pixel units with 6 keypoints; sigmoid
scores clipped at +-100; weighted non-maximum suppression at IoU 0.5
(FaceDetectorGraphOptions.min_suppression_threshold's default).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

INPUT_SIZE = 128
_STRIDES = (8, 16, 16, 16)
_ANCHORS_PER_LAYER = 2  # aspect ratio 1.0 plus the interpolated scale (also 1.0)
SCORE_CLIP = 100.0
NMS_IOU = 0.5
NUM_ANCHORS = 896  # 16x16 cells x 2 anchors (stride 8) + 8x8 cells x 6 (three layers of stride 16)
NUM_KEYPOINTS = 6  # right eye, left eye, nose tip, mouth, right ear tragion, left ear tragion


def ssd_anchors() -> np.ndarray:
    """(896, 2) anchor centres in [0, 1], in the order the model's outputs use
    (SsdAnchorsCalculator: layers with the same stride share one feature map)."""
    centres = []
    layer = 0
    while layer < len(_STRIDES):
        stride = _STRIDES[layer]
        same = 0
        while layer < len(_STRIDES) and _STRIDES[layer] == stride:
            same += 1
            layer += 1
        cells = -(-INPUT_SIZE // stride)  # ceil
        for y in range(cells):
            for x in range(cells):
                centres.extend([((x + 0.5) / cells, (y + 0.5) / cells)] * (_ANCHORS_PER_LAYER * same))
    return np.asarray(centres, dtype=np.float32)


@dataclass(frozen=True)
class FaceDetection:
    """One face, in image pixels: box (x0, y0, x1, y1), 6 keypoints (6, 2), score 0..1."""

    box: tuple[float, float, float, float]
    keypoints: np.ndarray
    score: float


def decode(
    regressors: np.ndarray, scores: np.ndarray, anchors: np.ndarray, min_score: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw outputs (896, 16) and (896,) -> boxes (N, 4) as x0, y0, x1, y1 and keypoints
    (N, 6, 2), both in [0, 1] of the detector's input, and scores (N,), for the anchors whose
    score reaches `min_score` (TensorsToDetectionsCalculator, reverse_output_order)."""
    probs = 1.0 / (1.0 + np.exp(-np.clip(scores.astype(np.float64), -SCORE_CLIP, SCORE_CLIP)))
    keep = np.flatnonzero(probs >= min_score)
    raw = regressors[keep].astype(np.float64) / INPUT_SIZE
    centre = anchors[keep].astype(np.float64)
    cx = raw[:, 0] + centre[:, 0]
    cy = raw[:, 1] + centre[:, 1]
    half_w, half_h = raw[:, 2] / 2.0, raw[:, 3] / 2.0
    boxes = np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], axis=1)
    keypoints = raw[:, 4:16].reshape(-1, NUM_KEYPOINTS, 2) + centre[:, None, :]
    return boxes, keypoints, probs[keep].astype(np.float64)


def weighted_nms(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
                 iou_threshold: float = NMS_IOU) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """NonMaxSuppressionCalculator's WEIGHTED algorithm: the best remaining detection and
    every other one overlapping it by more than `iou_threshold` are merged into their
    score-weighted mean box and keypoints, with the best one's score."""
    order = list(np.argsort(-scores, kind="stable"))
    out = []
    while order:
        best = order[0]
        ious = _iou(boxes[best], boxes[order])
        group = [i for i, iou in zip(order, ious, strict=True) if iou > iou_threshold]
        if best not in group:  # a degenerate (zero-area) box overlaps nothing, not even itself
            group.insert(0, best)
        w = scores[group][:, None]
        total = float(w.sum())
        box = (boxes[group] * w).sum(axis=0) / total
        kps = (keypoints[group] * w[:, :, None]).sum(axis=0) / total
        out.append((box, kps, float(scores[best])))
        taken = set(group)
        order = [i for i in order if i not in taken]
    return out


def _iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    ix = np.clip(np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]), 0.0, None)
    iy = np.clip(np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]), 0.0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
