"""End to end: every shared clip through the real MediaPipe FaceLandmarker and the Pipeline."""

import math

import numpy as np
import pytest

CLIPS = [
    "selfie_segmentation_web.mp4",
    "iris_tracking_example.gif",
    "head-pose-face-detection-female.gif",
    "head-pose-face-detection-male.gif",
]


# The iris clip turns the head to ~48 deg of yaw: the face is lost on 3 of its 69 frames here
# (docs/performance.md "Face-finding thresholds"), and a frame more on another CPU's landmark
# model would put it below 95 %.
MIN_FACE_FOUND = {"iris_tracking_example.gif": 0.9}


@pytest.mark.parametrize("name", CLIPS)
def test_face_found_in_at_least_95_percent_of_frames(replay_clip, name):
    clip = replay_clip(name)
    assert clip.summary.frames == len(clip.rows) > 0
    assert clip.summary.face_found_ratio >= MIN_FACE_FOUND.get(name, 0.95)
    times = clip.column("t")
    assert all(b > a for a, b in zip(times, times[1:], strict=False))


def test_female_head_turns_span_at_least_60_degrees_of_yaw(replay_clip):
    yaw = [v for v in replay_clip("head-pose-face-detection-female.gif").column("head_yaw_deg") if not math.isnan(v)]
    assert max(yaw) - min(yaw) >= 60.0
    # She turns both ways: to her left (yaw > 0) and to her right (yaw < 0).
    assert max(yaw) > 25.0 and min(yaw) < -25.0


def test_iris_clip_reaches_yaw_beyond_40_degrees(replay_clip):
    yaw = [v for v in replay_clip("iris_tracking_example.gif").column("head_yaw_deg") if not math.isnan(v)]
    assert max(abs(min(yaw)), abs(max(yaw))) > 40.0


def test_iris_clip_is_timed_at_its_real_rate(replay_clip):
    times = replay_clip("iris_tracking_example.gif").column("t")
    assert times[1] - times[0] == pytest.approx(1 / 16.7, abs=1e-3)
    assert times[-1] == pytest.approx(68 / 16.7, abs=1e-3)


def test_selfie_clip_yields_at_least_three_blinks(replay_clip):
    blinks = replay_clip("selfie_segmentation_web.mp4").events_named("blink")
    assert len(blinks) >= 3
    for blink in blinks:
        assert 0.0 < blink["detail"]["duration_s"] < 1.0
        assert blink["detail"]["onset_t"] <= blink["t"]


def test_selfie_head_pitches_down_when_she_writes(replay_clip):
    # shared/data/README.md: she looks down to write, head pitch up to about +12 deg.
    pitch = replay_clip("selfie_segmentation_web.mp4").column("head_pitch_deg")
    assert 9.0 <= max(pitch) <= 16.0


def test_male_clip_has_no_driver_absent(replay_clip):
    clip = replay_clip("head-pose-face-detection-male.gif")
    assert clip.events_named("driver_absent") == []
    assert not any(clip.column("driver_absent"))


@pytest.mark.parametrize("name", ["head-pose-face-detection-female.gif", "selfie_segmentation_web.mp4"])
def test_mirrored_copy_flips_yaw_and_roll(replay_clip, name):
    plain = replay_clip(name)
    mirror = replay_clip(name, mirror=True)
    assert len(plain.rows) == len(mirror.rows)
    yaw_a, yaw_b = np.array(plain.column("head_yaw_deg")), np.array(mirror.column("head_yaw_deg"))
    # Beyond ~30 deg of yaw the Euler split leaks yaw into roll, so roll is compared on the
    # frames nearer to frontal.
    frontal = np.abs(yaw_a) < 30.0
    for column, frames in (("head_yaw_deg", np.ones_like(frontal)), ("head_roll_deg", frontal)):
        a = np.array(plain.column(column))
        b = np.array(mirror.column(column))
        ok = frames & ~(np.isnan(a) | np.isnan(b))
        # Frame by frame the mirrored value is the negated one (MediaPipe is not perfectly
        # symmetric, so within a few degrees).
        strong = ok & (np.abs(a) > 3.0)
        assert strong.sum() >= 5, column
        assert np.mean(np.sign(a[strong]) == -np.sign(b[strong])) >= 0.9, column
        assert np.median(np.abs(a[ok] + b[ok])) < 5.0, column
    assert np.nanmax(yaw_a) * np.nanmin(yaw_b) < 0
    pitch_a = np.array(plain.column("head_pitch_deg"))
    pitch_b = np.array(mirror.column("head_pitch_deg"))
    # Pitch does not flip: same sign wherever it is clear, and the two copies differ by far
    # less than a negation would make them. The bound is the same few degrees of MediaPipe's
    # asymmetry as above: on the 23-frame female clip the median gap is 2.5 deg on this
    # machine and was 3.1 deg on CI's CPU (the landmark model's float paths differ by CPU).
    ok = ~(np.isnan(pitch_a) | np.isnan(pitch_b))
    clear = ok & (np.abs(pitch_a) > 3.0)
    assert clear.sum() >= 5
    assert np.mean(np.sign(pitch_a[clear]) == np.sign(pitch_b[clear])) >= 0.9
    gap = np.median(np.abs(pitch_a[ok] - pitch_b[ok]))
    assert gap < 5.0
    assert gap < 0.25 * np.median(np.abs(pitch_a[ok] + pitch_b[ok]))
