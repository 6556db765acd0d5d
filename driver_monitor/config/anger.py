"""Config of the anger / frustration detector (detectors/anger.py, docs/emotion.md).

Sources: REFERENCE.md "Emotion, anger and daydreaming" (the EMFACS anger prototypes and the
blendshapes that approximate their action units) and the measurements in docs/emotion.md.
Anger is advisory only: these numbers shape an advisory level that may lead to comfort
actions, never to a warning or an intervention.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from driver_monitor.config.base import Section


class NeutralBaselineConfig(Section):
    """The driver's own neutral expression: a robust centre (median) and spread (MAD) of each
    action unit over frames that look neutral, as the open-eye baseline is learned
    (detectors/calibration.py). Population values mean nothing here: the bundled portraits
    read browDown 0.05, 0.78 and 0.52 on their neutral faces (docs/emotion.md)."""

    # Judged only once this much accepted time has been seen (seconds of frames, not a
    # count); fixed from then on for the journey. 30 s: half the calibration minute, many
    # blinks and small movements (our choice).
    learn_s: float = Field(30.0, gt=0.0, le=600.0)
    # A frame teaches only while the vehicle moves at least this fast (unknown speed counts
    # as moving), as the calibration does (Euro NCAP monitoring from 10 km/h, REFERENCE.md).
    min_speed_kph: float = Field(10.0, ge=0.0, le=200.0)
    # A gap between frames credits at most this much learning time.
    max_frame_gap_s: float = Field(0.5, gt=0.0, le=5.0)
    # Samples kept for the median (oldest dropped): at 30 fps 30 s are 900.
    max_samples: int = Field(3000, ge=10, le=100000)


class AngerCueConfig(Section):
    """How far an action unit must rise above the driver's neutral level to count as shown:
    its smoothed score above the neutral median by at least `min_rise` and by at least
    `min_units` robust spreads (1.4826 x MAD, at least `min_spread`: a still face's MAD is
    0.000-0.06 on the shared real clips, so without a floor noise would count as a unit)."""

    # 0.06 and 0.02 (3 spreads = 0.06): the rendered EMFACS anger at FACS E reads rises of
    # only 0.08-0.09 in the weakest unit of a face (mouthPress / mouthRoll on astronaut,
    # browDown on obama, whose neutral already reads 0.78), against 0.003 between two
    # neutral holds (docs/emotion.md "What the landmarker reads").
    min_rise: float = Field(0.06, gt=0.0, le=1.0)
    min_units: float = Field(3.0, gt=0.0, le=20.0)
    min_spread: float = Field(0.02, gt=0.0, le=1.0)
    # First-order smoothing of each score before it is compared: a grimace of a frame or two
    # is not an expression held for seconds.
    smoothing_time_constant_s: float = Field(0.5, ge=0.0, le=10.0)


class AngerAbstainConfig(Section):
    """When the cues have another visible cause, the detector says so and does not judge
    (column anger_abstain)."""

    # Talking moves the jaw up and down: the standard deviation of jawOpen about its trend
    # line over talk_window_s (an expression coming on shifts it as a ramp) above
    # talk_jaw_sd; abstain while it lasts and talk_hold_s after. 0.012: the rendered talk
    # (talking_frown) reads an SD of 0.019-0.05 over 1.5 s, a still rendered face at most
    # 0.005 (docs/emotion.md); desk_talking reads jawOpen 0.02-0.38.
    talk_window_s: float = Field(1.5, gt=0.0, le=10.0)
    talk_jaw_sd: float = Field(0.012, gt=0.0, le=1.0)
    talk_hold_s: float = Field(2.0, ge=0.0, le=30.0)
    # Yawning: the drowsiness detector's open mouth (its yawn rule), or jawOpen above this;
    # abstain while open and yawn_hold_s after (a yawn squeezes the eyes: eyeSquint 0.8 on
    # car_yawn_man).
    yawn_jaw_open: float = Field(0.35, gt=0.0, le=1.0)
    yawn_hold_s: float = Field(3.0, ge=0.0, le=30.0)
    # Glare, low sun: squinting into it lowers the brows and tightens the lids (AU4 + AU6/7,
    # the same units as anger). Abstain while the face is this much brighter than in the
    # neutral baseline, or brighter than glare_face_brightness in absolute terms (0..255
    # luma; the shared real clips read 84-156 by day and night).
    glare_face_brightness_ratio: float = Field(1.3, gt=1.0, le=5.0)
    glare_face_brightness: float = Field(200.0, gt=0.0, le=255.0)
    glare_hold_s: float = Field(2.0, ge=0.0, le=30.0)
    # A face turned away from the road ahead foreshortens the brows and lids: abstain beyond
    # these head angles from the driver's road-ahead direction.
    max_yaw_deg: float = Field(20.0, gt=0.0, le=90.0)
    max_pitch_deg: float = Field(15.0, gt=0.0, le=90.0)
    # A short gap in judgement (a blink, a dropped frame) does not restart the "held for
    # start_after_s" clock; a longer one does.
    grace_s: float = Field(0.5, ge=0.0, le=5.0)


class AngerLevelConfig(Section):
    # Anger is judged on the EMFACS prototypes (Ekman, Friesen & Hager 2002): AU4 brow
    # lowerer + AU5 upper-lid raiser and/or AU7 lid tightener + AU23 lip tightener / AU24
    # lip presser (variants with AU10 / AU17). The level is 1 when AU4, an upper-lid unit
    # and a lower-face unit all show; the combined score (mean of the three groups' evidence
    # in spread units) reaches level 2 and 3 at these.
    level_scores: tuple[float, float] = (5.0, 8.0)
    # Heart-rate arousal from the stress detector (supporting evidence only: it raises the
    # level by one, never makes anger on its own): heart rate this far above the driver's
    # rate during the neutral baseline, with at least this quality. 10 bpm: acute stress in
    # driving raised heart rate by ~5-15 bpm (Healey & Picard 2005, as in config/stress.py).
    arousal_bpm: float = Field(10.0, gt=0.0, le=100.0)
    arousal_min_quality: float = Field(0.3, ge=0.0, le=1.0)
    # `anger` event: starts when the level has been >= 1 for start_after_s (an expression
    # held for seconds, not a grimace), ends when it has been 0 or unjudged for end_after_s.
    start_after_s: float = Field(3.0, ge=0.0, le=120.0)
    end_after_s: float = Field(5.0, ge=0.0, le=600.0)

    @model_validator(mode="after")
    def _ordered(self) -> AngerLevelConfig:
        a, b = self.level_scores
        if not 0 < a < b:
            raise ValueError("level_scores must be positive and increasing")
        return self


class AngerConfig(Section):
    baseline: NeutralBaselineConfig = NeutralBaselineConfig()
    cues: AngerCueConfig = AngerCueConfig()
    abstain: AngerAbstainConfig = AngerAbstainConfig()
    level: AngerLevelConfig = AngerLevelConfig()
