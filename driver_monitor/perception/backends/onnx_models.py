"""The vendored ONNX conversions of the bundle's three models (the onnxruntime backend).

Made by scripts/convert_face_models_to_onnx.py from the vendored face_landmarker.task
(tf2onnx, opset 17, PRelu and channel-Pad rewrites for onnxruntime's CPU kernels; every
output within 1e-3 of LiteRT's). Apache-2.0 like the bundle they come from
(models/README.md). Each file is checked against its sha256 here when loaded.
"""

from __future__ import annotations

from pathlib import Path

from driver_monitor.errors import ModelError
from driver_monitor.perception.backends.bundle import FaceModelBundle
from driver_monitor.perception.model import VENDORED_MODEL_PATH, read_checked

ONNX_DIR = Path(__file__).resolve().parent.parent / "models" / "onnx"
ONNX_SHA256 = {
    "face_detector.onnx": "c681fb4d9e9ecec9589765b4763357fd08cc4d77adb81d6a44ebc3f7dd42405c",
    "face_landmarks_detector.onnx": "c63e3435d7e930a729a3894d690baa70f159ee51e396cb83a507225adbcacc2e",
    "face_blendshapes.onnx": "574e81f6a937d3fa1a33242e0ee21b5bedd43c4f3fca876262fd38473224d4bb",
}


def load_onnx_models(bundle: FaceModelBundle, onnx_dir: Path | None = None) -> tuple[bytes, bytes, bytes]:
    """(detector, landmarks, blendshapes) ONNX bytes, each sha256-checked; ModelError (one
    line naming the file) when one is missing or corrupt, or when the bundle is not the
    vendored one the files were converted from."""
    if bundle.path.resolve() != VENDORED_MODEL_PATH:
        raise ModelError(
            f"face model {bundle.path}: the onnxruntime backend has ONNX conversions of the vendored bundle only "
            "(run scripts/convert_face_models_to_onnx.py --bundle for another one)"
        )
    onnx_dir = onnx_dir if onnx_dir is not None else ONNX_DIR
    models = [read_checked(onnx_dir / name, expected, "ONNX model", "reinstall the package") for name, expected in ONNX_SHA256.items()]
    return models[0], models[1], models[2]
