"""Shared fixtures: paths to the shared data and a session-wide MediaPipe tracker factory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DRIVER_MONITOR_SHARED", REPO.parent / "shared"))
CLIPS = SHARED / "data" / "clips"
FACES = SHARED / "data" / "faces"


@pytest.fixture(scope="session")
def clips_dir() -> Path:
    if not CLIPS.is_dir():
        pytest.skip(f"shared clips not found at {CLIPS}")
    return CLIPS
