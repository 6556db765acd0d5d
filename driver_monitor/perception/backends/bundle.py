"""The Face Landmarker bundle (`face_landmarker.task`, a zip) opened as its parts.

MediaPipe's FaceLandmarkerGraph reads these four names from the bundle
(face_landmarker_graph.cc, kFace*TFLiteName / kFaceGeometryPipelineMetadataName).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from driver_monitor.errors import ModelError
from driver_monitor.perception.model import resolve_model_path

FACE_DETECTOR = "face_detector.tflite"
FACE_LANDMARKS = "face_landmarks_detector.tflite"
FACE_BLENDSHAPES = "face_blendshapes.tflite"
GEOMETRY_METADATA = "geometry_pipeline_metadata_landmarks.binarypb"
BUNDLE_PARTS = (FACE_DETECTOR, FACE_LANDMARKS, FACE_BLENDSHAPES, GEOMETRY_METADATA)


@dataclass(frozen=True)
class FaceModelBundle:
    path: Path
    face_detector: bytes
    face_landmarks: bytes
    face_blendshapes: bytes
    geometry_metadata: bytes


def open_bundle(model_path: str | Path | None = None) -> FaceModelBundle:
    """The bundle at `model_path` (None: the vendored one, sha256-checked) split into its
    parts; ModelError with one line naming the file when it is missing, corrupt, not a zip
    or lacks a part."""
    path = resolve_model_path(model_path, expected_sha256=None)  # the vendored one is always checked
    try:
        with zipfile.ZipFile(path) as bundle:
            names = set(bundle.namelist())
            missing = [name for name in BUNDLE_PARTS if name not in names]
            if missing:
                raise ModelError(f"face model {path}: not a Face Landmarker bundle (no {', '.join(missing)} inside)")
            parts = {name: bundle.read(name) for name in BUNDLE_PARTS}
    except zipfile.BadZipFile:
        raise ModelError(f"face model {path}: corrupt (not a readable .task zip bundle)") from None
    except (OSError, EOFError, zipfile.LargeZipFile) as exc:
        raise ModelError(f"face model {path}: cannot read the bundle ({exc.__class__.__name__})") from None
    return FaceModelBundle(
        path=path,
        face_detector=parts[FACE_DETECTOR],
        face_landmarks=parts[FACE_LANDMARKS],
        face_blendshapes=parts[FACE_BLENDSHAPES],
        geometry_metadata=parts[GEOMETRY_METADATA],
    )
