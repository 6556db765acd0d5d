"""The eye-closure judge on single frames at exact values: a steep glance down with one
iris still in sight is a glance (the closure read from the lid depth alone), both irises
hidden is a closure whatever the head does."""

from __future__ import annotations

import pytest

from driver_monitor.config import Config
from driver_monitor.detectors.calibration import Calibration
from driver_monitor.detectors.eye_closure import EyeClosureJudge
from driver_monitor.messages import Features

# This driver's open eyes (phone_use_lap.yaml rendered at 320x240: astronaut, head level).
CAL = Calibration(open_eye_blink_left=0.07, open_eye_blink_right=0.05, open_ear_left=0.314, open_ear_right=0.31,
                  open_iris_contrast_left=0.75, open_iris_contrast_right=0.66)


def judge() -> EyeClosureJudge:
    d = Config().drowsiness
    return EyeClosureJudge(d.eye_closure, d.eyes, d.blink, d.closure)


def frame(iris_left: float, iris_right: float) -> Features:
    """The head 29 deg down to a phone in the lap, head yaw -5: eyeBlink 0.37/0.26, EAR 0.12/
    0.16 (lids lowered with the gaze), eyeLookDown 0.25 (measured at 9.0 s of that drive)."""
    return Features(t=9.0, face_present=True, head_yaw_deg=-5.3, head_pitch_deg=29.5, head_roll_deg=0.0,
                    eye_blink_left=0.37, eye_blink_right=0.26, ear_left=0.12, ear_right=0.16,
                    gaze_yaw_deg=-4.0, gaze_pitch_deg=11.0, eye_look_down=0.25, face_width_px=80.0,
                    iris_contrast_left=iris_left, iris_contrast_right=iris_right)


def test_one_iris_in_sight_makes_a_steep_look_down_a_glance_not_a_closure():
    j = judge()
    # Left iris at 0.2 / 0.75 = 0.27 of open... hidden; right 0.66 / 0.66 = 1.0: showing.
    j.update(frame(0.2, 0.66), CAL)
    assert j.judgeable and j.looking_down
    # Left cue 1, right 0: the mean says 0.5, the eye in sight decides.
    assert j.iris_hidden == pytest.approx(0.5)
    # EAR depth 1 - 0.14 / 0.312 = 0.55, below the 0.84 a downward gaze itself gives: open.
    assert j.eye_closure == pytest.approx(0.0)
    assert not j.eyes_closed


def test_both_irises_hidden_is_a_closure_even_with_the_head_down():
    j = judge()
    j.update(frame(0.2, 0.15), CAL)
    assert j.judgeable and not j.looking_down
    assert j.iris_hidden == pytest.approx(1.0)
    # lids 0.5 * c_b + 0.5 * c_e per eye, blended 0.6 / 0.4 with the iris cue 1:
    # left c_b (0.37-0.07)/(0.8-0.07) = 0.411, c_e 1-0.12/0.314 = 0.618 -> 0.6*0.514+0.4 = 0.709;
    # right c_b (0.26-0.05)/0.75 = 0.28, c_e 1-0.16/0.31 = 0.484 -> 0.6*0.382+0.4 = 0.629.
    assert j.closure_left == pytest.approx(0.709, abs=1e-3)
    assert j.closure_right == pytest.approx(0.629, abs=1e-3)
    assert j.eye_closure == pytest.approx((0.709 + 0.629) / 2, abs=1e-3)
    assert j.eyes_closed
