"""The vendored MediaPipe Face Landmarker bundle: locate it and prove it is the right file."""

from __future__ import annotations

import hashlib
from pathlib import Path

from driver_monitor.errors import ModelError

VENDORED_MODEL_PATH = Path(__file__).resolve().parent / "models" / "face_landmarker.task"
# shared/models/README.md: float16 bundle version 1, 3,758,596 bytes.
FACE_LANDMARKER_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"


def resolve_model_path(path: str | Path | None = None, expected_sha256: str | None = FACE_LANDMARKER_SHA256) -> Path:
    """Return the model path after checking it exists and matches its sha256.

    A user-supplied path is only hash-checked when `expected_sha256` is given (they may
    bring their own, newer bundle); the vendored one always is. Raises ModelError with one
    line naming the file.
    """
    model = Path(path) if path is not None else VENDORED_MODEL_PATH
    if path is None:
        expected_sha256 = FACE_LANDMARKER_SHA256
    try:
        data = model.read_bytes()
    except FileNotFoundError:
        raise ModelError(f"face model {model}: not found (reinstall the package; nothing is downloaded at run time)") from None
    except OSError as exc:
        raise ModelError(f"face model {model}: cannot read ({exc.strerror or exc.__class__.__name__})") from None
    if expected_sha256 is not None:
        digest = hashlib.sha256(data).hexdigest()
        if digest != expected_sha256:
            raise ModelError(f"face model {model}: corrupt (sha256 {digest[:12]}..., expected {expected_sha256[:12]}...)")
    return model
