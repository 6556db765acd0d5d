"""Provenance of an output directory: what made it, from what, with which settings.

Every directory `replay` and `simulate` write gets a `run.yaml`; `features.parquet` carries
the same text in its metadata (key `driver_monitor.run`), so a table copied out of its
directory still says where it came from. A result that cannot be traced to its config,
model and input cannot be compared with another one.

    command: replay
    created_utc: '2025-01-01T12:00:00Z'
    package_version: 0.1.0
    python: 3.11.2
    decision_core: python          # or compiled (scripts/compile_core.py)
    input: {path: recordings/selfie_writing, sha256: ...}
    model: {path: .../face_landmarker.task, sha256: ...}
    config: {path: (packaged default), sha256: ..., settings: {...every setting...}}
    feature_table: {format_version: 2, feature_code_version: ...}
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from driver_monitor import __version__, compiled_core
from driver_monitor.config import DEFAULT_CONFIG_PATH, Config
from driver_monitor.outputs.files import open_private

RUN_FILE_NAME = "run.yaml"
PACKAGED_DEFAULT = "(packaged default)"
_CHUNK = 1 << 20
# The code that computes the per-frame table's inputs (the face measurements, the picture
# statistics, the frame times, the vehicle signals), relative to the package. A table made
# by other code may hold other inputs, so feature replay refuses it rather than decide on
# numbers a full replay would not see (docs/features.md "Feature replay").
FEATURE_CODE = ("perception", "sources/video_file.py", "recording/format.py", "can/rx.py", "can/logs.py",
                "vehicle/inputs.py")


def sha256_of(path: Path) -> str | None:
    """sha256 of a file, or of a directory's files (names and contents, sorted), or None
    when it cannot be read."""
    digest = hashlib.sha256()
    try:
        files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
        for f in files:
            if path.is_dir():
                digest.update(f.name.encode() + b"\0")
            with f.open("rb") as fh:
                while chunk := fh.read(_CHUNK):
                    digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


@functools.cache
def feature_code_version() -> str:
    """sha256 (16 hex digits) of the sources in FEATURE_CODE, names and contents."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for entry in FEATURE_CODE:
        path = root / entry
        for f in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes())
    return digest.hexdigest()[:16]


def model_provenance(config: Config) -> dict[str, Any]:
    from driver_monitor.perception.model import FACE_LANDMARKER_SHA256, VENDORED_MODEL_PATH

    if config.perception.model_path is None:  # the vendored model is checked against this at load
        return {"path": str(VENDORED_MODEL_PATH), "sha256": FACE_LANDMARKER_SHA256}
    path = Path(config.perception.model_path)
    return {"path": str(path), "sha256": sha256_of(path)}


def run_provenance(command: str, config: Config | None, input_path: str | Path | None,
                   config_path: str | Path | None, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """config None: a command that runs no pipeline (simulate): no model, no config."""
    prov: dict[str, Any] = {
        "command": command,
        "created_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "package_version": __version__,
        "python": platform.python_version(),
        # scripts/compile_core.py: the same decisions, compiled (a stale build runs old code).
        "decision_core": "compiled" if compiled_core() else "python",
    }
    if input_path is not None:
        path = Path(input_path)
        prov["input"] = {"path": str(path), "sha256": sha256_of(path)}
    if config is not None:
        cfg_file = Path(config_path) if config_path is not None else DEFAULT_CONFIG_PATH
        prov["model"] = model_provenance(config)
        prov["config"] = {
            "path": str(config_path) if config_path is not None else PACKAGED_DEFAULT,
            "sha256": sha256_of(cfg_file),
            "settings": config.model_dump(mode="json"),
        }
        from driver_monitor.outputs.feature_table import table_format

        prov["feature_table"] = table_format()
    prov.update(extra or {})
    return prov


# libyaml's safe loader and dumper where PyYAML was built with it: the same documents, ~10x
# faster (a provenance holds the whole config; feature replay reads and writes one per drive).
YAML_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
YAML_SAFE_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def provenance_text(prov: Mapping[str, Any]) -> str:
    return yaml.dump(dict(prov), Dumper=YAML_SAFE_DUMPER, sort_keys=False, allow_unicode=True)


def write_run_file(out_dir: Path, prov: Mapping[str, Any]) -> Path:
    path = out_dir / RUN_FILE_NAME
    with open_private(path, "w", encoding="utf-8") as fh:
        fh.write(provenance_text(prov))
    return path
