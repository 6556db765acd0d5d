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
        read_checked(model, expected_sha256)
    else:  # the user's own file: the key that names it, not a reinstall, is what to fix
        read_checked(model, expected_sha256, "face model (perception.model_path)", "check perception.model_path")
    return model


def read_checked(path: Path, expected_sha256: str | None, what: str = "face model",
                 missing: str = "reinstall the package; nothing is downloaded at run time") -> bytes:
    """The file's bytes after checking its sha256 (when given); ModelError with one line
    naming `what` and the file when it is missing, unreadable or corrupt."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelError(f"{what} {path}: not found ({missing})") from None
    except OSError as exc:
        raise ModelError(f"{what} {path}: cannot read ({exc.strerror or exc.__class__.__name__})") from None
    if expected_sha256 is not None:
        digest = hashlib.sha256(data).hexdigest()
        if digest != expected_sha256:
            raise ModelError(f"{what} {path}: corrupt (sha256 {digest[:12]}..., expected {expected_sha256[:12]}...)")
    return data
