"""Config of the stress detector: camera heart rate (rPPG), HRV, facial cues, external heart
rate, the optional ONNX expression model and the stress level (docs/stress.md).

Sources of the defaults: ../shared/REFERENCE.md "Heart rate and stress" and the papers cited
per key. Stress is advisory only (REFERENCE.md): these numbers shape an advisory level, never
an intervention.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, model_validator

from driver_monitor.config.base import Section


class RppgMethod(StrEnum):
    pos = "pos"  # Plane-Orthogonal-to-Skin, Wang et al. 2017
    chrom = "chrom"  # chrominance, de Haan & Jeanne 2013


class RppgConfig(Section):
    method: RppgMethod = RppgMethod.pos
    # Heart rate from the spectral peak of the last window_s of pulse signal, re-estimated
    # every update_period_s. 8-10 s windows [REF: Heart rate and stress].
    window_s: float = Field(10.0, ge=4.0, le=60.0)
    update_period_s: float = Field(1.0, gt=0.0, le=10.0)
    # Skin colour samples arrive at the frame times; they are resampled onto this uniform grid
    # so the filters and the spectrum do not depend on the camera's frame rate or jitter.
    resample_hz: float = Field(30.0, ge=8.0, le=120.0)
    # Pass band 0.7-3 Hz = 42-180 bpm [REF: Heart rate and stress].
    band_low_hz: float = Field(0.7, gt=0.0, le=2.0)
    band_high_hz: float = Field(3.0, gt=1.0, le=6.0)
    # Butterworth order of the band-pass (applied forwards and backwards: zero phase).
    filter_order: int = Field(3, ge=1, le=8)
    # POS temporal-normalisation window: 1.6 s = 32 frames at 20 fps (Wang et al. 2017, l=32;
    # long enough for one cardiac cycle at 40 bpm).
    pos_window_s: float = Field(1.6, ge=0.5, le=5.0)
    # SNR (de Haan & Jeanne 2013): spectral power within +-snr_halfwidth_hz of the peak and of
    # its first harmonic over the rest of the band. Below min_snr_db the estimate is withheld.
    # 2.5 dB: on 1000 generated 10 s windows of pure sensor noise the SNR never exceeded
    # 2.2 dB (POS 1.7, CHROM 2.2; median -4 dB; tests/test_rppg.py), so noise does not read as
    # a pulse; a still face gives 4-10 dB.
    snr_halfwidth_hz: float = Field(0.1, gt=0.0, le=0.5)
    min_snr_db: float = Field(2.5, ge=-20.0, le=30.0)
    # heart_rate_quality = 0 at min_snr_db .. 1 at good_snr_db (linear, clipped).
    good_snr_db: float = Field(10.0, ge=-10.0, le=40.0)
    # A window counts only when skin colour covers this share of it with no hole longer
    # than max_gap_s (a lost face, a dropped frame burst).
    min_coverage: float = Field(0.9, gt=0.0, le=1.0)
    max_gap_s: float = Field(0.5, gt=0.0, le=5.0)
    # Head motion: mean angular speed of the head over the window above this -> abstain.
    # Motion is the main failure of rPPG (POS 4.0 bpm MAE still vs 12.4 bpm under motion,
    # rPPG-Toolbox, REFERENCE.md); 20 deg/s is a head sweeping +-10 deg once per second.
    max_head_speed_deg_s: float = Field(20.0, gt=0.0, le=500.0)
    # Mean translation speed of the face over the window (cm/s) above this -> abstain.
    max_head_translation_cm_s: float = Field(10.0, gt=0.0, le=200.0)
    # Head pose is resampled at this rate before the path length is measured, so landmark
    # jitter (~0.5 deg per frame) does not add up to "motion" at high frame rates.
    motion_sample_hz: float = Field(4.0, gt=0.0, le=30.0)
    # Mean luma of the face (0..255) below this -> abstain: the pulse (~0.3 % of the skin
    # level) sinks into sensor noise and quantisation in dim light.
    min_face_brightness: float = Field(40.0, ge=0.0, le=255.0)
    # HRV (RMSSD of beat-to-beat intervals from the pulse upstrokes) only when the beat
    # timing is precise enough: sensor noise jitters each beat time by about
    # noise / (2 pi f A), which inflates the RMSSD by sqrt(6) times that. The SNR is no gate
    # for this (genuine HRV spreads the spectral peak and lowers the SNR). The predicted
    # inflation matched the measured one within ~20 % on generated traces (docs/stress.md);
    # 15 ms is half a typical resting RMSSD (20-50 ms). At frame rates below
    # hrv_min_frame_rate_hz one frame is > 50 ms and the noise estimate is unreliable.
    # 10 s RMSSD tracks the 5 min value (Munoz et al. 2015, PLoS ONE 10(9)).
    hrv_max_noise_ms: float = Field(15.0, gt=0.0, le=200.0)
    hrv_min_frame_rate_hz: float = Field(20.0, gt=0.0, le=240.0)
    hrv_min_beats: int = Field(6, ge=3, le=100)
    # Beat-to-beat intervals further than this share from their median are artefacts
    # (missed or extra peaks) and are dropped before the RMSSD (the usual 20 % rule,
    # Task Force of the ESC/NASPE 1996 editing practice).
    hrv_max_ibi_deviation: float = Field(0.2, gt=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> RppgConfig:
        if self.band_low_hz >= self.band_high_hz:
            raise ValueError("band_low_hz must be below band_high_hz")
        if self.band_high_hz >= self.resample_hz / 2:
            raise ValueError("band_high_hz must be below half of resample_hz (Nyquist)")
        if self.good_snr_db <= self.min_snr_db:
            raise ValueError("good_snr_db must be above min_snr_db")
        if self.pos_window_s >= self.window_s:
            raise ValueError("pos_window_s must be below window_s")
        return self


class ExternalHeartRateConfig(Section):
    # An external sensor (CAN signal in VehicleState.external_heart_rate_bpm, or the serial
    # reader) is preferred over the camera while it is fresh: a contact sensor is far more
    # accurate than rPPG in a moving car. A reading older than max_age_s is ignored.
    max_age_s: float = Field(3.0, gt=0.0, le=60.0)
    # Readings outside this range are sensor faults, not heart rates.
    min_bpm: float = Field(30.0, ge=0.0, le=100.0)
    max_bpm: float = Field(220.0, ge=100.0, le=300.0)
    # HRV from the sensor's beat-to-beat intervals (serial sensors that send RR): RMSSD over
    # the intervals of the last hrv_window_s, with the rPPG section's artefact editing and
    # minimum beat count. 30 s: ultra-short RMSSD from >= 10 s tracks the 5 min value (Munoz
    # et al. 2015); 30 s gives ~35 intervals at 70 bpm instead of ~12.
    hrv_window_s: float = Field(30.0, ge=5.0, le=600.0)
    # Serial sensor (driver_monitor/vehicle/heart_rate_serial.py, docs/stress.md): null = none.
    serial_port: str | None = None
    serial_baudrate: int = Field(115200, ge=1200, le=4_000_000)


class BaselineConfig(Section):
    # The driver's own baseline, learned from the first baseline_s of usable data of a
    # journey (assumed calm) [REF: Heart rate and stress: "relative to the driver's own
    # baseline"]. While no stress is flagged the baseline keeps following the driver slowly
    # with this time constant (first-order filter), so a long drive's drift is not read as
    # stress.
    baseline_s: float = Field(60.0, ge=5.0, le=1800.0)
    adapt_time_constant_s: float = Field(600.0, gt=0.0, le=36000.0)
    # Per-frame cues (blendshapes, blink rate, model outputs) are smoothed with a first-order
    # filter of this time constant before they are compared with the baseline: a stress
    # expression is held for seconds, a grimace while talking is not.
    cue_smoothing_time_constant_s: float = Field(5.0, ge=0.0, le=120.0)
    # The baseline is learned (and follows the driver) only while the vehicle moves at least
    # this fast (unknown speed counts as moving): resting in a parked car is not "calm
    # driving". 10 km/h: where Euro NCAP starts monitoring [REF: speed gates].
    min_speed_kph: float = Field(10.0, ge=0.0, le=200.0)
    # A cue missing for longer than this restarts its smoothing, and a gap counts at most
    # this long towards the baseline.
    max_gap_s: float = Field(2.0, gt=0.0, le=60.0)


class CueScalesConfig(Section):
    # Deviation from the baseline that counts as one unit of stress evidence, per cue.
    # Heart rate: acute stress in driving raised heart rate by ~5-15 bpm (Healey & Picard
    # 2005, IEEE T-ITS 6(2)); 10 bpm = one unit.
    heart_rate_bpm: float = Field(10.0, gt=0.0, le=100.0)
    # RMSSD falls under stress (Kim et al. 2018, Psychiatry Investig. 15(3), review): a 30 %
    # drop = one unit (relative to the baseline RMSSD).
    rmssd_drop: float = Field(0.3, gt=0.0, le=1.0)
    # Blendshape scores 0..1 (browDown ~AU4, mouthPress ~AU24, eyeSquint): +0.15 = one unit.
    # AU4 / AU24 are weak cues [REF: Heart rate and stress]; their weights below are low.
    brow_down: float = Field(0.15, gt=0.0, le=1.0)
    mouth_press: float = Field(0.15, gt=0.0, le=1.0)
    eye_squint: float = Field(0.15, gt=0.0, le=1.0)
    # Blink rate change relative to the baseline rate (rises under stress and workload,
    # Haak et al. 2009): +50 % = one unit.
    blink_rate_change: float = Field(0.5, gt=0.0, le=5.0)
    # Expression-model signals (after their own normalisation): 0.3 = one unit.
    expression: float = Field(0.3, gt=0.0, le=10.0)


class CueWeightsConfig(Section):
    # Weight of each cue in the stress score (a weighted mean over the cues available now).
    # Heart rate / HRV carry most of the evidence; facial cues are weak [REF: Heart rate and
    # stress].
    heart_rate: float = Field(1.0, ge=0.0, le=10.0)
    rmssd: float = Field(1.0, ge=0.0, le=10.0)
    brow_down: float = Field(0.3, ge=0.0, le=10.0)
    mouth_press: float = Field(0.3, ge=0.0, le=10.0)
    eye_squint: float = Field(0.2, ge=0.0, le=10.0)
    blink_rate: float = Field(0.3, ge=0.0, le=10.0)
    expression: float = Field(0.5, ge=0.0, le=10.0)


class StressLevelConfig(Section):
    # Stress score (weighted evidence units) at which levels 1, 2, 3 begin. A level is left
    # only when the score falls hysteresis below its threshold, so noise near a boundary
    # does not flicker the level.
    level_thresholds: tuple[float, float, float] = (0.75, 1.5, 2.5)
    hysteresis: float = Field(0.25, ge=0.0, le=2.0)
    # The score is smoothed with a first-order filter of this time constant before levels.
    smoothing_time_constant_s: float = Field(3.0, ge=0.0, le=60.0)
    # `stress` event: starts when the level has been >= event_min_level for start_after_s,
    # ends when it has been below for end_after_s.
    event_min_level: int = Field(2, ge=1, le=3)
    start_after_s: float = Field(5.0, ge=0.0, le=120.0)
    end_after_s: float = Field(15.0, ge=0.0, le=600.0)

    @model_validator(mode="after")
    def _ordered(self) -> StressLevelConfig:
        a, b, c = self.level_thresholds
        if not 0 < a < b < c:
            raise ValueError("level_thresholds must be positive and increasing")
        if self.hysteresis >= a:
            raise ValueError("hysteresis must be below the first level threshold")
        return self


class ChannelOrder(StrEnum):
    rgb = "RGB"
    bgr = "BGR"


class TensorLayout(StrEnum):
    nchw = "NCHW"
    nhwc = "NHWC"


class ExpressionOutput(Section):
    # One output tensor of the model: its name in the ONNX graph, and the signal name of
    # each of its elements in order (e.g. [valence, arousal] or the emotion classes).
    name: str
    signals: list[str] = Field(min_length=1)
    # Apply a softmax first (class logits -> probabilities).
    softmax: bool = False


class ExpressionModelConfig(Section):
    # A user-supplied face-crop model run with onnxruntime (docs/stress.md); off by default,
    # no weights are shipped.
    enabled: bool = False
    model_path: Path | None = None
    # Name of the input tensor; null = the model's first input.
    input_name: str | None = None
    input_width_px: int = Field(224, ge=8, le=1024)
    input_height_px: int = Field(224, ge=8, le=1024)
    # Face box grown by this share on every side before cropping (models are trained on
    # loose crops).
    crop_margin: float = Field(0.2, ge=0.0, le=2.0)
    channel_order: ChannelOrder = ChannelOrder.rgb
    layout: TensorLayout = TensorLayout.nchw
    # input = (pixel / input_scale - mean) / std per channel, in channel_order. Defaults are
    # the ImageNet statistics most published models use.
    input_scale: float = Field(255.0, gt=0.0)
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    outputs: list[ExpressionOutput] = Field(default_factory=list)
    # onnxruntime execution providers in order of preference; CPU is always available.
    providers: list[str] = Field(default_factory=lambda: ["CPUExecutionProvider"], min_length=1)
    # Run the model at most this often (it costs far more than the landmarks); the last
    # outputs are held in between.
    min_interval_s: float = Field(0.5, ge=0.0, le=60.0)
    # Intra-op threads (the machines have 2 cores; the face tracker needs them too).
    threads: int = Field(1, ge=1, le=64)
    # How each signal counts towards stress: +1 = higher means more stressed (arousal,
    # "angry", "fear"), -1 = lower means more stressed (valence). Unlisted signals are only
    # reported.
    stress_signs: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _complete(self) -> ExpressionModelConfig:
        if self.enabled and self.model_path is None:
            raise ValueError("model_path is required when enabled")
        if self.enabled and not self.outputs:
            raise ValueError("outputs must name at least one output tensor when enabled")
        if any(s <= 0 for s in self.std):
            raise ValueError("std must be positive")
        # A sign for a signal no output names counted for nothing: its expression_ column
        # never comes, so a misspelt signal switched the model's stress cue off without a word.
        signals = [signal for output in self.outputs for signal in output.signals]
        unknown = [name for name in self.stress_signs if name not in signals]
        if self.outputs and unknown:
            raise ValueError(f"stress_signs: {unknown[0]!r} is not a signal of outputs ({', '.join(signals)})")
        return self


class StressConfig(Section):
    # False: no heart rate and no stress level (the columns stay none / empty).
    enabled: bool = True
    rppg: RppgConfig = RppgConfig()
    external: ExternalHeartRateConfig = ExternalHeartRateConfig()
    baseline: BaselineConfig = BaselineConfig()
    scales: CueScalesConfig = CueScalesConfig()
    weights: CueWeightsConfig = CueWeightsConfig()
    level: StressLevelConfig = StressLevelConfig()
    expression_model: ExpressionModelConfig = ExpressionModelConfig()
