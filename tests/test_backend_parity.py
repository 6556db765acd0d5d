"""The LiteRT and onnxruntime backends against MediaPipe Tasks on the same frames.

Every shared and bundled clip goes through MediaPipe's FaceLandmarker and through our
backend (default config: detector_schedule mediapipe; `second_look` off, MediaPipe's rule frame
for frame: what the second look adds is tests/test_second_look.py). Per clip: the face is found in the
same frames, the landmarks are within 1 % of the inter-ocular distance on average,
blendshapes within 0.03 mean absolute error and head pose within 1 degree (mean and 95th
percentile of each angle) — the goals of issue 18. Where they differ the frames are named
here and explained in docs/backends.md ("Parity"). The same events from replay:
tests/test_backend_events.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from driver_monitor.config.perception import PerceptionConfig
from driver_monitor.messages import FaceObservation
from driver_monitor.perception.backends.parity import compare
from driver_monitor.perception.tracker import MediaPipeFaceTracker, create_tracker
from driver_monitor.sources.video_file import VideoFileSource
from tests.conftest import CLIP_GIF_FPS, REPO, SHARED


def track_clip(tracker, path: Path, gif_fps: float = 12.5) -> list[FaceObservation | None]:
    """Every frame of a video file or recording directory through `tracker`."""
    video = path / "video.mkv" if path.is_dir() else path
    with VideoFileSource(video, gif_fps=gif_fps) as source:
        return [tracker.track(frame) for frame in source]

pytestmark = pytest.mark.slow

LANDMARK_MEAN_GOAL = 0.01  # of the inter-ocular distance
BLENDSHAPE_MAE_GOAL = 0.03
POSE_GOAL_DEG = 1.0

# Frames where a backend and MediaPipe differ (face found by one only, or landmarks > 3 %
# of the eye distance apart: parity.FRAME_DIFFERS_AT), with the reason (docs/backends.md, "Parity").
_PRESENCE = "face presence 0.27 here, just over MediaPipe's 0.3 there (glasses at night, eyes shut)"
_ORDER = "two overlapping detections of near-equal score: their order decides which survives the association"
_PROFILE = "a profile view (head turned ~90 deg): the fit moves with sub-pixel differences of the crop"
_TURNED = "the face turned far to a mirror or the passenger (rendered): presence at the 0.3 threshold"
NAMED_FRAMES: dict[str, dict[int, str]] = {
    "car_eyes_closed_woman.mp4": {230: _ORDER, 233: _PRESENCE, 234: _PRESENCE},
    "car_look_around_man.mp4": {105: _PROFILE, 118: _PROFILE},
    # synthetic drives (15 fps, 320x240): the frame where one side drops the face first
    "attentive": {432: _TURNED, 435: _TURNED},  # right-mirror glance 28.0-29.2 s
    "long_distraction_6s": {189: _TURNED},  # passenger glance 8-14 s
}


@dataclass(frozen=True)
class Clip:
    path: Path
    gif_fps: float = 12.5

    @property
    def name(self) -> str:
        return self.path.name


def _clips() -> list[Clip]:
    clips = [Clip(REPO / "recordings" / "selfie_writing"), Clip(REPO / "recordings" / "male_frontal")]
    for folder in (SHARED / "data" / "clips", SHARED / "data" / "real"):
        for path in sorted(folder.glob("*")) if folder.is_dir() else []:
            if path.suffix in (".mp4", ".gif"):
                clips.append(Clip(path, CLIP_GIF_FPS.get(path.name, 12.5)))
    return clips


CLIPS = _clips()


def _track(tracker, clip: Clip) -> list[FaceObservation | None]:
    return track_clip(tracker, clip.path, clip.gif_fps)


@pytest.fixture(scope="module")
def mediapipe_runs():
    cache: dict[str, list[FaceObservation | None]] = {}

    def get(clip: Clip) -> list[FaceObservation | None]:
        if clip.name not in cache:
            with MediaPipeFaceTracker(PerceptionConfig()) as tracker:
                cache[clip.name] = _track(tracker, clip)
        return cache[clip.name]

    return get


@pytest.mark.parametrize("backend", ["litert", "onnxruntime"])
@pytest.mark.parametrize("clip", CLIPS, ids=lambda c: c.name)
def test_backend_matches_mediapipe(mediapipe_runs, clip: Clip, backend: str):
    if not clip.path.exists():
        pytest.skip(f"{clip.path} not found")
    reference = mediapipe_runs(clip)
    with create_tracker(PerceptionConfig(backend=backend, second_look=False)) as tracker:
        assert type(tracker).__name__ == "ModelFaceTracker"
        ours = _track(tracker, clip)
    result = compare(reference, ours)
    named = NAMED_FRAMES.get(clip.name, {})
    assert set(result.differing) <= set(named), f"unnamed differing frames {sorted(set(result.differing) - set(named))}"
    assert len(result.landmark_error) >= 0.9 * result.faces
    assert result.landmark_error.mean() <= LANDMARK_MEAN_GOAL
    assert result.blendshape_mae.mean() <= BLENDSHAPE_MAE_GOAL
    assert (result.pose_error_deg.mean(axis=0) <= POSE_GOAL_DEG).all()
    assert (np.percentile(result.pose_error_deg, 95, axis=0) <= POSE_GOAL_DEG).all()


def test_the_comparison_fails_on_a_different_face_placement(mediapipe_runs):
    """The measure itself: landmarks shifted by 2 % of the eye distance fail the goal."""
    reference = mediapipe_runs(CLIPS[0])
    shifted = []
    for obs in reference:
        iod = float(np.linalg.norm(obs.landmarks_px[468, :2] - obs.landmarks_px[473, :2]))
        shifted.append(FaceObservation(obs.t, obs.landmarks_px + np.float32(0.02 * iod), obs.blendshapes,
                                       obs.transform, obs.box_px, obs.image_size))
    result = compare(reference, shifted)
    assert not result.differing
    assert result.landmark_error.mean() == pytest.approx(0.02 * np.sqrt(2), rel=1e-3)


@pytest.mark.parametrize("scenario", ["attentive", "long_distraction_6s", "yawning_series"])
def test_litert_matches_mediapipe_on_synthetic_drives(simulated_drive, scenario: str):
    """The rendered drives of the scenario suite (shared with the scenario tests)."""
    recording, _, _ = simulated_drive(REPO / "scenarios" / f"{scenario}.yaml")
    with MediaPipeFaceTracker(PerceptionConfig()) as tracker:
        reference = track_clip(tracker, recording)
    with create_tracker(PerceptionConfig(second_look=False)) as tracker:
        ours = track_clip(tracker, recording)
    result = compare(reference, ours)
    assert set(result.differing) <= set(NAMED_FRAMES.get(scenario, {})) and result.faces > 0.9 * result.frames
    assert result.landmark_error.mean() <= LANDMARK_MEAN_GOAL
    assert result.blendshape_mae.mean() <= BLENDSHAPE_MAE_GOAL
    assert (np.percentile(result.pose_error_deg, 95, axis=0) <= POSE_GOAL_DEG).all()
