"""The real clips as other cameras would film them (benchmarks/real_variants.py): the rules
must hold on a camera turned askew, mirrored, monochrome or of lower resolution, not only on
the five clips as they are (a held-back set of real in-car clips judges the result).

Kept here: the variants that pass and that a change could break. docs/robustness.md lists
every variant, including those that fail today and why.
"""

from __future__ import annotations

import importlib.util

import pytest
from conftest import REPO

from driver_monitor.evaluation.truth import load_truth

pytestmark = pytest.mark.slow

_spec = importlib.util.spec_from_file_location("real_variants", REPO / "benchmarks" / "real_variants.py")
real_variants = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(real_variants)

# (clip, variant) -> the alerts expected, as (name, earliest t, latest t)
CASES = {
    # The camera askew by 8 degrees loses the face with shut eyes for 0.23 s at 3.78-4.0 s:
    # bridged (closure.max_gap_s 0.5), the sleep comes when the eyes are seen closed again.
    ("car_eyes_closed_woman", "rot8"): [("microsleep", 1.95, 2.2), ("sleep", 3.95, 4.2)],
    # Mirrored: the over-the-shoulder look reads the same from the other side.
    ("car_look_around_man", "flip"): [("long_distraction", 5.6, 6.0)],
    # Talking at a desk at half the resolution and in monochrome: still nothing.
    ("desk_talking", "half"): [],
    ("desk_talking", "gray"): [],
    # A yawn filmed in monochrome.
    ("desk_yawn", "gray"): [("yawn", 4.3, 4.6)],
    # In monochrome the landmark model snaps car_yawn_man's open mouth shut for 17-70 ms three
    # times at 1.18-1.35 s: too short for the jaw (yawn.min_closing_s), the yawn is 1 s of
    # open mouth (missed before the rule).
    # (The microsleep measured 3.98 s, 3.80 since blinks too must open for min_opening_s.)
    ("car_yawn_man", "gray"): [("yawn", 1.25, 1.4), ("microsleep", 3.7, 4.1)],
    # The lead-in cut to 0.15 s (times from the cut): no time to learn the road ahead before
    # the look over the shoulder, nor the open eyes before the closure.
    ("car_look_around_man", "late"): [("long_distraction", 3.15, 3.4)],
    ("car_eyes_closed_woman", "late"): [("microsleep", 1.1, 1.3), ("sleep", 3.1, 3.3)],
    # Sensor noise (sigma 8) reads the shut eyes open for 33 ms at 2.98 s: too short for the
    # lids (closure.min_opening_s), the closure goes on to its sleep. The noisy encodes differ
    # from run to run (x264's threads): the closure started 0.05 s later in one CI run
    # (microsleep 2.25, sleep 4.25 s), hence the wider bounds.
    ("car_eyes_closed_woman", "noisy"): [("microsleep", 1.95, 2.35), ("sleep", 3.95, 4.35)],
    # Over-exposed, the face is lost for one frame at 1.13 and 1.18 s of the yawn: no closing
    # of the jaw fits in it (yawn.max_unmeasured_s), the yawn is 1 s of open mouth. The closure
    # reads half-open for a moment at ~2.9 s here (before closure.max_half_open_s: slow blinks
    # before a microsleep at 3.8 s, and drowsy from them).
    ("car_yawn_man", "bright"): [("yawn", 1.35, 1.45), ("microsleep", 3.0, 3.2)],
    # Where the iris cannot be measured the lids alone judge and a shut eye's reading wanders:
    # at half resolution (face 65 px) 0.27-0.5 for 0.35 s at 3.05 s; darkened, one eye reads
    # 0.2-0.35 for seconds and the closure 0.35-0.47 for 0.23 s at 4.75 s. Both split the
    # closure into microsleeps without a sleep before closure.max_half_open_s and
    # eye_closure.symmetric_min_closure 0.25 (docs/drowsiness.md).
    # (Measured 2.35 / 4.35, 3.18 / 5.18 -- 2.78 / 4.98 since blinks too must open for
    # closure.min_opening_s -- and 1.35 / 2.85 s; the bounds leave a few frames for
    # another CPU's landmark model.)
    ("car_eyes_closed_woman", "half"): [("microsleep", 2.25, 2.5), ("sleep", 4.25, 4.5)],
    ("car_eyes_closed_woman", "dark"): [("microsleep", 2.7, 3.35), ("sleep", 4.9, 5.35)],
    ("car_yawn_man", "dark"): [("yawn", 1.3, 1.45), ("microsleep", 2.75, 3.0)],
    # A night camera (monochrome, noisy): jawOpen jumps between 0.01 and 0.8 from frame to frame
    # through the yawn while the landmarks keep the lips 0.8-1.5 apart; the lips keep the
    # opening open (yawn.closing_veto_mouth_ratio), the yawn is found (missed before; measured
    # 4.77 s in two encodes, the bounds leave room for another CPU's models).
    ("desk_yawn", "gray+noisy"): [("yawn", 4.4, 5.2)],
    # A wide monochrome view (the face ~12 % of the width): the detector's boxes of it are not
    # confirmed by the landmark model and the face is lost, which must stay a lost face, never
    # a drifting one read as shut eyes (a rejected fallback gave a microsleep and a sleep here).
    ("desk_talking", "gray+wide"): [],
    # The woman's night closure in the wide view (face ~12 % of the width): the detector boxes
    # it too loosely for the landmark model on 87 % of the frames and the sleep was missed;
    # the tracker's second look (perception.second_look) keeps the face on every frame.
    ("car_eyes_closed_woman", "wide"): [("microsleep", 1.9, 2.1), ("sleep", 3.9, 4.15)],
    # A phone held to the ear (a hand and a phone drawn over the side of the head where
    # MediaPipe finds the face): talking on it raises nothing; the closure beside it and the
    # yawn in front of it are still found (measured 2.40 / 4.40 s, 2.02 / 4.10 since blinks
    # too must open for closure.min_opening_s, and 1.28 / 2.82 s).
    ("desk_talking", "phoneright"): [],
    ("car_eyes_closed_woman", "phoneright"): [("microsleep", 1.95, 2.5), ("sleep", 3.95, 4.5)],
    ("car_yawn_man", "phoneleft"): [("yawn", 1.2, 1.4), ("microsleep", 2.7, 2.95)],
    # A camera close to the face (the face fills a 480x480 picture and leaves it at the edges
    # as the head sinks): the closure is still held to its sleep. Its start differs between
    # encodes (x264's threads): measured 2.18 / 4.18 s here and 1.98 / 3.98 s in a CI run,
    # hence the bounds around both (the truth's closure starts at 0.95 s).
    ("car_eyes_closed_woman", "close"): [("microsleep", 1.9, 2.3), ("sleep", 3.9, 4.3)],
    # A surgical face mask over the nose, mouth and chin (drawn where MediaPipe finds the face,
    # lit as the face is): the eyes above it still close to a sleep (measured 1.98 / 3.98 s, the
    # closure read from 0.98 s), and talking behind it raises nothing (no yawn from a mask).
    ("car_eyes_closed_woman", "facemask"): [("microsleep", 1.9, 2.3), ("sleep", 3.9, 4.3)],
    ("desk_talking", "facemask"): [],
    # Glare on the glasses from the first frame (a veil of light over each lens and a glint):
    # the open iris reads 0.1-0.25 contrast, below what lets the driver's eyes teach their own
    # level. Against the population's it read hidden: talking in monochrome raised sleep at 3.2 s
    # and unresponsive at 6.2 s, the look-around a microsleep at 1.0 s. The level is now capped
    # at what the open eyes have shown lately (calibration.iris_shown_*).
    ("desk_talking", "gray+glare"): [],
    ("car_look_around_man", "glare"): [("long_distraction", 5.6, 6.0)],
    # The same glare from 3 s on, after the driver's level was learned (0.3-0.45): a false
    # microsleep at 7.3 s until the cap followed the last 2 s instead of the population's only.
    ("desk_talking", "gray+lateglare"): [],
}


@pytest.mark.parametrize(("clip", "variant"), sorted(CASES))
def test_real_clip_variant(real_dir, tmp_path, clip, variant):
    truth = load_truth(real_dir / "truth.yaml")[clip]
    start_s = 0.0
    if "late" in real_variants.parse_variant(variant):
        start_s = real_variants.late_start_s(truth)
        truth = real_variants.shift_truth(truth, start_s)
    path = real_variants.write_variant(real_dir / truth.file, variant, tmp_path / "clips", start_s)
    score = real_variants.score_variant(path, truth, tmp_path / "replay")
    assert not score.missed, [e.describe() for e in score.missed]
    assert not score.false_alerts, score.false_alerts
    got = [(a.name, a.t) for a in score.alerts]
    expected = CASES[(clip, variant)]
    assert [n for n, _ in got] == [n for n, *_ in expected], got
    for (_, t), (_, lo, hi) in zip(got, expected, strict=True):
        assert lo <= t <= hi, got


def test_a_late_start_moves_the_truth_with_the_cut(real_dir):
    truth = load_truth(real_dir / "truth.yaml")["car_look_around_man"]
    start_s = real_variants.late_start_s(truth)
    assert start_s == pytest.approx(2.7 - real_variants.LATE_LEAD_S)
    cut = real_variants.shift_truth(truth, start_s)
    assert [(b.kind, b.start_s, b.end_s) for b in cut.intervals] == [
        ("look_away", pytest.approx(0.15), pytest.approx(6.76 - start_s)),
        ("face_absent", pytest.approx(3.2 - start_s), pytest.approx(6.35 - start_s))]
    assert cut.duration_s == pytest.approx(truth.duration_s - start_s)
    # desk_talking is talking from its first frame: nothing to cut.
    assert real_variants.late_start_s(load_truth(real_dir / "truth.yaml")["desk_talking"]) is None
    with pytest.raises(ValueError, match="gray\\+grey"):
        real_variants.parse_variant("gray+grey")


def test_rescore_decides_the_replayed_variants_again_with_another_config(real_dir, tmp_path):
    from driver_monitor.config import load_config
    from driver_monitor.config.overrides import with_overrides

    truth = load_truth(real_dir / "truth.yaml")
    path = real_variants.write_variant(real_dir / truth["desk_yawn"].file, "half", tmp_path / "clips")
    replayed = real_variants.score_variant(path, truth["desk_yawn"], tmp_path / "replays" / path.stem)
    (again,) = real_variants.rescore(tmp_path, truth, load_config())
    # From the feature table alone, the very alerts of the full replay.
    assert again.clip == replayed.clip == "desk_yawn__half"
    assert [(a.name, a.t) for a in again.alerts] == [(a.name, a.t) for a in replayed.alerts] != []
    # With the yawn needing 3 s of open mouth, the 3.2 s yawn (truncated by the clip) is missed.
    longer = with_overrides(load_config(), {"drowsiness": {"yawn": {
        **load_config().drowsiness.yawn.model_dump(), "min_duration_s": 3.5}}})
    (missed,) = real_variants.rescore(tmp_path, truth, longer)
    assert missed.alerts == [] and len(missed.missed) == 1


def test_the_phone_covers_the_side_of_the_head_and_leaves_the_eyes_clear(real_dir):
    import av
    import numpy as np

    with av.open(str(real_dir / "desk_talking.mp4")) as clip:
        frame = next(clip.decode(video=0)).to_ndarray(format="rgb24")
    for side, ear, eye in (("left", 234, 33), ("right", 454, 263)):
        phone = real_variants._PhoneAtEar(side)
        try:
            drawn = phone(frame)
            face = phone._faces.last
        finally:
            phone.close()
        assert face is not None
        changed = np.any(drawn != frame, axis=2)
        x, y = face[ear].astype(int)
        assert changed[y - 5:y + 5, x - 5:x + 5].mean() > 0.9  # the ear is behind the phone
        for index in (eye, 159, 145, 386, 374, 468, 473):  # corners, lids and irises untouched
            x, y = face[index].astype(int)
            assert not changed[y - 3:y + 3, x - 3:x + 3].any(), index


def test_behind_sunglasses_the_eyes_are_not_judged_and_the_rest_still_is(real_dir, tmp_path):
    import pandas as pd

    truth = load_truth(real_dir / "truth.yaml")["car_yawn_man"]
    path = real_variants.write_variant(real_dir / truth.file, "sunglasses", tmp_path / "clips")
    score = real_variants.score_variant(path, truth, tmp_path / "replay")
    # The closure is behind the lenses: no microsleep from eyes nobody can see (nor from the
    # dark lenses themselves), while the yawn in front of them is found (measured 1.38 s).
    assert [e.behaviour.kind for e in score.missed] == ["eyes_closed"] and not score.false_alerts
    assert [(a.name, round(a.t, 1)) for a in score.alerts] == [("yawn", 1.4)]
    table = pd.read_csv(tmp_path / "replay" / "features.csv")
    # The lenses are drawn where the variant's own MediaPipe pass found the eyes, and x264's
    # encodes differ from run to run: in one CI run a lens slipped on 1 frame of 460 as the
    # head tilted back (eye_luma_ratio 0.4506 against the 0.45 limit) and the eyes were judged
    # open there. A stray frame concludes nothing; the eyes must stay unjudged on the rest.
    assert table.face_present.all() and table.eyes_judgeable.sum() <= 2 and not table.eyes_closed.any()
    assert table.eye_luma_ratio.max() < 0.5  # dark lenses (perception/eye_region.py)


def test_the_face_mask_covers_the_mouth_and_chin_and_leaves_the_eyes_clear(real_dir):
    import av
    import numpy as np

    with av.open(str(real_dir / "desk_talking.mp4")) as clip:
        frame = next(clip.decode(video=0)).to_ndarray(format="rgb24")
    mask = real_variants._FaceMask()
    try:
        drawn = mask(frame)
        face = mask._faces.find(frame)
    finally:
        mask.close()
    assert face is not None
    changed = np.any(drawn != frame, axis=2)
    for index in (13, 14, 61, 291, 199, 1):  # lips, mouth corners, chin, nose tip: behind it
        x, y = face[index].astype(int)
        assert changed[y - 2:y + 3, x - 2:x + 3].all(), index
    for index in (33, 133, 263, 362, 159, 145, 386, 374, 468, 473, 105, 334):  # eyes, brows: clear
        x, y = face[index].astype(int)
        assert not changed[y - 3:y + 3, x - 3:x + 3].any(), index
    # No face found, nothing drawn: a mask turns away with the face (unlike a phone held still).
    blank = np.zeros_like(frame)
    mask = real_variants._FaceMask()
    try:
        assert mask(frame) is not frame and mask(blank) is blank
    finally:
        mask.close()


def test_behind_a_face_mask_the_closure_is_held_through_the_fits_that_read_open(real_dir, tmp_path):
    truth = load_truth(real_dir / "truth.yaml")["car_yawn_man"]
    path = real_variants.write_variant(real_dir / truth.file, "facemask", tmp_path / "clips")
    score = real_variants.score_variant(path, truth, tmp_path / "replay")
    # The yawn is behind the mask (the landmark model draws a closed mouth on it). As the head
    # tilts back the masked face is lost for up to 0.3 s at a time and read open on single
    # frames (a 0.32 s old closure at 2.13 s, the first frame after a gap): lids cannot reopen
    # and shut again within closure.min_opening_s, and an opening after unjudged frames lasts
    # from its first open frame, so the 1.85-4.58 s closure is one microsleep (measured 2.95 s;
    # before both rules, blinks only). `drowsy` may follow from the long closures (in 1 of 5
    # runs here: the encodes differ by a hair between runs).
    assert [e.behaviour.kind for e in score.missed] == ["yawn"] and not score.false_alerts
    assert [a.name for a in score.alerts if a.name != "drowsy"] == ["microsleep"]
    assert 2.7 <= next(a.t for a in score.alerts if a.name == "microsleep") <= 3.3
