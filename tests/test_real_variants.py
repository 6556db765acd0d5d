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
    # Sensor noise (sigma 8) reads the shut eyes open for 33 ms at 2.98 s: too short for the
    # lids (closure.min_opening_s), the closure goes on to its sleep.
    ("car_eyes_closed_woman", "noisy"): [("microsleep", 1.95, 2.2), ("sleep", 3.95, 4.2)],
    # Over-exposed, the face is lost for one frame at 1.13 and 1.18 s of the yawn: no closing
    # of the jaw fits in it (yawn.max_unmeasured_s), the yawn is 1 s of open mouth. The closure
    # reads open for longer than 0.1 s at ~2.9 s here: slow blinks before the microsleep, and
    # drowsy from them (the truth excuses it).
    ("car_yawn_man", "bright"): [("yawn", 1.35, 1.45), ("microsleep", 3.6, 4.1), ("drowsy", 4.5, 5.0)],
}


@pytest.mark.parametrize(("clip", "variant"), sorted(CASES))
def test_real_clip_variant(real_dir, tmp_path, clip, variant):
    truth = load_truth(real_dir / "truth.yaml")[clip]
    path = real_variants.write_variant(real_dir / truth.file, variant, tmp_path / "clips")
    score = real_variants.score_variant(path, truth, tmp_path / "replay")
    assert not score.missed, [e.describe() for e in score.missed]
    assert not score.false_alerts, score.false_alerts
    got = [(a.name, a.t) for a in score.alerts]
    expected = CASES[(clip, variant)]
    assert [n for n, _ in got] == [n for n, *_ in expected], got
    for (_, t), (_, lo, hi) in zip(got, expected, strict=True):
        assert lo <= t <= hi, got
