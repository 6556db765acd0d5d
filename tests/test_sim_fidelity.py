"""Fidelity of rendered frames as the real FaceLandmarker (VIDEO mode) reads them, for each
bundled portrait (docs/simulation.md "Fidelity"). Slow: ~10 s per face on a free core."""

from __future__ import annotations

import pytest

from driver_monitor.sim import fidelity as fid

SIZE = (320, 240)
FACES = ("astronaut", "obama", "biden")


@pytest.fixture(scope="module")
def results() -> dict[str, fid.FidelityResult]:
    return {face: fid.measure(face, SIZE) for face in FACES}


@pytest.mark.slow
@pytest.mark.parametrize("face", FACES)
def test_eyes_read_closed_when_closed_and_open_when_open(results: dict[str, fid.FidelityResult], face: str) -> None:
    r = results[face]
    # Target 0.6 (issue 3), met by every face since the held closure is rendered as a firm
    # one (renderer.SQUEEZE_*: lid line lower, lower lid tucked in; docs); and well above
    # the open reading.
    assert r.blink_closed[1.0] >= fid.BLINK_CLOSED_MIN
    assert r.blink_closed[0.9] >= fid.BLINK_CLOSED_MIN
    assert r.blink_closed[0.9] >= 1.8 * r.blink_open
    # Open: <= 0.3 (issue 3) for every face; a squinting portrait (obama) gets its lids
    # raised when commanded open (calibrate.calibrate_open_lids).
    assert r.blink_open <= fid.BLINK_OPEN_MAX


@pytest.mark.slow
@pytest.mark.parametrize("face", FACES)
def test_head_pose_reads_within_5_deg_of_the_command(results: dict[str, fid.FidelityResult], face: str) -> None:
    r = results[face]
    for cmd, read in r.yaw_read.items():
        assert read == pytest.approx(cmd, abs=fid.POSE_TOLERANCE_DEG), f"yaw {cmd}"
    for cmd, read in r.pitch_read.items():
        assert read == pytest.approx(cmd, abs=fid.POSE_TOLERANCE_DEG), f"pitch {cmd}"


@pytest.mark.slow
@pytest.mark.parametrize("face", FACES)
def test_full_yawn_opens_the_jaw(results: dict[str, fid.FidelityResult], face: str) -> None:
    # Target 0.5 (issue 3) for every face: the lower face stretches down and in with the
    # jaw, the lower incisors show, and the chin drop is measured per face
    # (calibrate.calibrate_jaw_drop); astronaut.png's broad smile reads 0.56-0.57 (docs).
    assert results[face].jaw_open >= fid.JAW_OPEN_MIN


@pytest.mark.slow
@pytest.mark.parametrize("face", FACES)
def test_face_found_whenever_shown_and_never_in_the_empty_seat(results: dict[str, fid.FidelityResult], face: str) -> None:
    r = results[face]
    assert r.found_when_absent == 0
    # biden.jpg (turned 11.5 deg in the photo) too, since it is rigged from its frontal view.
    assert r.found_ratio >= fid.FOUND_MIN


@pytest.mark.slow
def test_closed_eyes_read_closed_with_the_head_down_and_hide_the_iris() -> None:
    # The sleep posture (issue 12): astronaut, the scenarios' face, with the head 0-30 deg
    # down. Real closed lids read iris visibility 0.0-0.6 of the driver's open level, mostly
    # below 0.45 (config/drowsiness.py); before the shut lid hid the photo's iris, astronaut
    # read 0.68 at 0 deg (docs/simulation.md "Closed eyes at head-down pitch").
    r = fid.measure_head_down("astronaut", SIZE)
    level = r.open[0.0]
    for pitch in fid.HEAD_DOWN_PITCHES_DEG:
        closed, opened = r.closed[pitch], r.open[pitch]
        assert closed.eye_blink >= 0.55, pitch
        assert closed.ear <= 0.25 * level.ear, pitch
        assert closed.iris <= 0.45 * level.iris, pitch
        # ... while the open eye keeps its iris and its opening.
        assert opened.iris >= 0.8 * level.iris and opened.ear >= 0.8 * level.ear, pitch
        assert opened.eye_blink <= fid.BLINK_OPEN_MAX, pitch
