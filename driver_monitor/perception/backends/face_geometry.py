"""The facial transformation matrix, solved from the canonical face as MediaPipe does.

A port of MediaPipe's face geometry pipeline (tasks/cc/vision/face_geometry/libs/
geometry_pipeline.cc and procrustes_solver.cc, Apache-2.0): the screen landmarks are put on
the near plane of a virtual perspective camera, unprojected to metric (cm) space with a
scale found in two Procrustes passes, and the weighted orthogonal Procrustes problem from
the canonical face mesh to them gives the 4x4 pose (canonical face, cm -> camera).

The canonical mesh and the landmark weights come from the bundle's
geometry_pipeline_metadata_landmarks.binarypb (a GeometryPipelineMetadata protobuf). Its
schema (geometry_pipeline_metadata.proto, mesh_3d.proto) is declared here with protobuf's
own descriptor API, so the file is parsed by the protobuf library, not by hand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

from driver_monitor.errors import ModelError

# FaceGeometryFromLandmarksGraph's default environment (face_geometry_from_landmarks_graph.cc,
# ConfigureFaceGeometryEnvGeneratorCalculator): a perspective camera with a 63 degree
# vertical field of view, near plane 1 cm, far 100 m, origin at the image's top-left corner.
VERTICAL_FOV_DEG = 63.0
NEAR_CM = 1.0
# The pipeline uses the 468 mesh landmarks only (the iris points are split off first).
MESH_LANDMARKS = 468
# geometry_pipeline_metadata.proto: InputSource FACE_LANDMARK_PIPELINE (DEFAULT means the same).
_FACE_DETECTION_PIPELINE = 2
_PACKAGE = "mediapipe.tasks.vision.face_geometry.proto"


def _metadata_class() -> type:
    """GeometryPipelineMetadata as a protobuf message class (proto2 schema, field numbers as
    in MediaPipe's .proto files; enums declared as int32, which share their wire format)."""
    F = descriptor_pb2.FieldDescriptorProto
    proto = descriptor_pb2.FileDescriptorProto(
        name="driver_monitor/geometry_pipeline_metadata.proto", package=_PACKAGE, syntax="proto2"
    )
    mesh = proto.message_type.add(name="Mesh3d")
    mesh.field.add(name="vertex_type", number=1, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL)
    mesh.field.add(name="primitive_type", number=2, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL)
    mesh.field.add(name="vertex_buffer", number=3, type=F.TYPE_FLOAT, label=F.LABEL_REPEATED)
    mesh.field.add(name="index_buffer", number=4, type=F.TYPE_UINT32, label=F.LABEL_REPEATED)
    ref = proto.message_type.add(name="WeightedLandmarkRef")
    ref.field.add(name="landmark_id", number=1, type=F.TYPE_UINT32, label=F.LABEL_OPTIONAL)
    ref.field.add(name="weight", number=2, type=F.TYPE_FLOAT, label=F.LABEL_OPTIONAL)
    meta = proto.message_type.add(name="GeometryPipelineMetadata")
    meta.field.add(name="input_source", number=3, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL)
    meta.field.add(name="canonical_mesh", number=1, type=F.TYPE_MESSAGE, label=F.LABEL_OPTIONAL,
                   type_name=f".{_PACKAGE}.Mesh3d")
    meta.field.add(name="procrustes_landmark_basis", number=2, type=F.TYPE_MESSAGE, label=F.LABEL_REPEATED,
                   type_name=f".{_PACKAGE}.WeightedLandmarkRef")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.GeometryPipelineMetadata"))


@dataclass(frozen=True)
class CanonicalFace:
    """The Procrustes basis: canonical positions (cm) and weights of the landmarks used."""

    landmark_ids: np.ndarray  # (K,) indices into the 468 mesh landmarks
    positions_cm: np.ndarray  # (3, K) canonical metric positions
    weights: np.ndarray  # (K,) > 0


def parse_metadata(data: bytes, source: str = "geometry metadata") -> CanonicalFace:
    """The canonical face from a GeometryPipelineMetadata blob; ModelError when it is not one."""
    message = _metadata_class()()
    try:
        message.ParseFromString(data)
    except DecodeError:
        raise ModelError(f"{source}: corrupt geometry pipeline metadata (not a protobuf)") from None
    mesh = message.canonical_mesh
    # Mesh3d.VERTEX_PT (the only vertex type): x, y, z, u, v per vertex.
    vertices = np.asarray(mesh.vertex_buffer, dtype=np.float64)
    if mesh.vertex_type != 0 or vertices.size != 5 * MESH_LANDMARKS:
        raise ModelError(f"{source}: expected a {MESH_LANDMARKS}-vertex canonical face mesh, got {vertices.size} floats")
    if message.input_source == _FACE_DETECTION_PIPELINE:
        raise ModelError(f"{source}: metadata for the face detection pipeline, not for landmarks")
    positions = vertices.reshape(MESH_LANDMARKS, 5)[:, :3]
    basis = sorted((ref.landmark_id, ref.weight) for ref in message.procrustes_landmark_basis)
    ids = np.array([i for i, w in basis if w > 0], dtype=np.int64)
    if ids.size < 3 or ids.max() >= MESH_LANDMARKS:
        raise ModelError(f"{source}: the Procrustes landmark basis is empty or out of range")
    weights = np.array([w for _, w in basis if w > 0], dtype=np.float64)
    return CanonicalFace(landmark_ids=ids, positions_cm=positions[ids].T.copy(), weights=weights)


class FaceGeometrySolver:
    """Screen landmarks of one face -> 4x4 facial transformation matrix.

    Landmarks with zero weight do not enter any sum of MediaPipe's solver, so only the
    basis landmarks are kept: the same result with a tenth of the points.
    """

    def __init__(self, canonical: CanonicalFace):
        self._ids = canonical.landmark_ids
        self._canonical = canonical.positions_cm
        self._sqrt_w = np.sqrt(canonical.weights)
        self._total_w = float(canonical.weights.sum())
        # The canonical side of every solve is fixed: centre it once.
        ws = self._canonical * self._sqrt_w
        centre = (ws * self._sqrt_w).sum(axis=1) / self._total_w
        self._weighted_sources = ws
        self._centered_sources = ws - np.outer(centre, self._sqrt_w)
        self._source_norm = float((self._centered_sources * ws).sum())

    def transform(self, landmarks_px: np.ndarray, width: int, height: int) -> np.ndarray:
        """`landmarks_px`: (>=468, 3) x, y in image pixels, z in the pixel scale of x
        (FaceObservation.landmarks_px). Returns the 4x4 canonical-face (cm) -> camera matrix."""
        # The pipeline works on MediaPipe's normalised landmarks (x / W, y / H, z / W).
        pts = np.asarray(landmarks_px, dtype=np.float64)[self._ids]
        # PerspectiveCameraFrustum: the near plane's extent for this aspect ratio.
        height_at_near = 2.0 * NEAR_CM * math.tan(0.5 * math.radians(VERTICAL_FOV_DEG))
        width_at_near = width * height_at_near / height
        # ProjectXY (origin TOP_LEFT: y flipped), z scaled like x.
        x_scale = width_at_near / width
        screen = np.empty((3, len(pts)))
        screen[0] = pts[:, 0] * x_scale - 0.5 * width_at_near
        screen[1] = (1.0 - pts[:, 1] / height) * height_at_near - 0.5 * height_at_near
        screen[2] = pts[:, 2] * x_scale
        # MediaPipe takes the depth offset over all 468 landmarks; z's mean over the basis
        # differs, but the offset only moves every z alike before the rescale below, so
        # it must be the full mean to give the same matrix: computed from all of them.
        depth_offset = float(np.asarray(landmarks_px, dtype=np.float64)[:MESH_LANDMARKS, 2].mean()) * x_scale

        intermediate = screen.copy()
        intermediate[2] *= -1.0  # ChangeHandedness
        first_scale = self._scale(intermediate)
        intermediate = self._unproject(screen, depth_offset, first_scale)
        second_scale = self._scale(intermediate)
        metric = self._unproject(screen, depth_offset, first_scale * second_scale)
        return self._solve(metric)

    @staticmethod
    def _unproject(screen: np.ndarray, depth_offset: float, scale: float) -> np.ndarray:
        """MoveAndRescaleZ, UnprojectXY and ChangeHandedness."""
        out = np.empty_like(screen)
        out[2] = (screen[2] - depth_offset + NEAR_CM) / scale
        out[0] = screen[0] * out[2] / NEAR_CM
        out[1] = screen[1] * out[2] / NEAR_CM
        out[2] *= -1.0
        return out

    def _scale(self, targets: np.ndarray) -> float:
        return float(np.linalg.norm(self._solve(targets)[:3, 0]))

    def _solve(self, targets: np.ndarray) -> np.ndarray:
        """The weighted orthogonal Procrustes problem canonical -> targets (Akca 2003, 2.4),
        as ProcrustesSolver::InternalSolveWeightedOrthogonalProblem."""
        sqrt_w = self._sqrt_w
        weighted_targets = targets * sqrt_w
        design = weighted_targets @ self._centered_sources.T
        u, _, vt = np.linalg.svd(design)
        if np.linalg.det(u) * np.linalg.det(vt) < 0:  # no reflections
            u[:, 2] *= -1.0
        rotation = u @ vt
        scale = float(((rotation @ self._centered_sources) * weighted_targets).sum()) / self._source_norm
        rotation_and_scale = scale * rotation
        diffs = (weighted_targets - rotation_and_scale @ self._weighted_sources) * sqrt_w
        translation = diffs.sum(axis=1) / self._total_w
        out = np.eye(4)
        out[:3, :3] = rotation_and_scale
        out[:3, 3] = translation
        return out
