"""Camera heart rate (POS / CHROM) on generated skin-colour traces with a known pulse, noise
and motion (driver_monitor/detectors/stress/signals.py): accuracy, cadence, quality and
every abstention reason."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from pydantic import ValidationError

from driver_monitor.config.stress import RppgConfig, RppgMethod
from driver_monitor.detectors.stress import rppg
from driver_monitor.detectors.stress.rppg import (
    HeartRateEstimate,
    RppgEstimator,
    estimate_heart_rate,
)
from driver_monitor.detectors.stress.signals import SkinTrace, skin_trace
from driver_monitor.messages import Features


def run(trace: SkinTrace, config: RppgConfig | None = None) -> list[HeartRateEstimate]:
    """The distinct estimates (one per update period) over the trace."""
    est = RppgEstimator(config or RppgConfig())
    out: list[HeartRateEstimate] = []
    for f in trace.features():
        e = est.update(f)
        if not out or e is not out[-1]:
            out.append(e)
    return [e for e in out if math.isfinite(e.t)]


@pytest.mark.parametrize("method", list(RppgMethod))
@pytest.mark.parametrize("bpm", [60, 75, 100, 120])
def test_still_face_heart_rate_within_3_bpm(method: RppgMethod, bpm: float) -> None:
    trace = skin_trace(30.0, 30.0, bpm, ibi_jitter_s=0.02, seed=bpm)
    full = [e for e in run(trace, RppgConfig(method=method)) if e.t >= 10.0]
    assert len(full) == 20
    valid = [e for e in full if e.valid]
    assert len(valid) >= 18  # an occasional low-SNR window may abstain, never lie
    mae = float(np.mean([abs(e.bpm - bpm) for e in valid]))
    assert mae <= 3.0, mae
    assert all(0.0 < e.quality <= 1.0 and e.snr_db >= 2.5 for e in valid)


def test_estimates_every_second_after_a_full_window() -> None:
    trace = skin_trace(14.0, 30.0, 72, seed=1)
    estimates = run(trace)
    # One estimate per second on the data's clock; the first ones have no full window yet.
    assert [round(e.t, 3) for e in estimates] == pytest.approx([round(k + 0.0, 3) for k in range(1, 14)], abs=0.04)
    assert all(e.status == rppg.NO_DATA for e in estimates if e.t < 9.0)
    assert all(e.valid for e in estimates if e.t >= 10.0)


@pytest.mark.parametrize(("fps", "jitter_s"), [(25.0, 0.0), (60.0, 0.0), (15.0, 0.01)])
def test_frame_rate_and_timestamp_jitter_do_not_change_the_estimate(fps: float, jitter_s: float) -> None:
    # Fewer frames average less sensor noise: the 15 fps trace gets a cleaner sensor.
    trace = skin_trace(25.0, fps, 88, noise_std=0.08 if fps >= 25 else 0.05, frame_jitter_s=jitter_s, seed=7)
    valid = [e for e in run(trace) if e.t >= 11.0 and e.valid]
    assert len(valid) >= 12
    assert max(abs(e.bpm - 88) for e in valid) <= 3.0


def test_light_flicker_is_rejected_by_pos() -> None:
    # 5 % intensity change in the pulse band (swaying through shade): a pure intensity change
    # lies along the skin-tone direction that POS projects out.
    trace = skin_trace(25.0, 30.0, 66, intensity_motion=0.05, motion_hz=1.0, seed=2)
    valid = [e for e in run(trace) if e.t >= 11.0 and e.valid]
    assert len(valid) == 14
    assert max(abs(e.bpm - 66) for e in valid) <= 3.0


@pytest.mark.parametrize("method", list(RppgMethod))
def test_pure_noise_abstains(method: RppgMethod) -> None:
    config = RppgConfig(method=method)
    for seed in range(200):
        noise = skin_trace(10.0, 30.0, 70, amplitude=0.0, seed=seed)
        e = estimate_heart_rate(noise.rgb, 30.0, config)
        assert e.status == rppg.LOW_SNR and math.isnan(e.bpm) and e.quality == 0.0, (seed, e)


def test_heavy_head_motion_abstains() -> None:
    trace = skin_trace(25.0, 30.0, 75, head_motion_deg=15.0, intensity_motion=0.03, seed=4)
    late = [e for e in run(trace) if e.t >= 10.0]
    assert late and all(e.status == rppg.HEAD_MOTION and math.isnan(e.bpm) for e in late)


def test_monochrome_nir_abstains() -> None:
    trace = skin_trace(20.0, 30.0, 75, monochrome=True, seed=5)
    late = [e for e in run(trace) if e.t >= 10.0]
    assert late and all(e.status == rppg.MONOCHROME and math.isnan(e.bpm) for e in late)


def test_low_light_abstains() -> None:
    trace = skin_trace(20.0, 30.0, 75, brightness_scale=0.25, seed=6)
    late = [e for e in run(trace) if e.t >= 10.0]
    assert late and all(e.status == rppg.LOW_LIGHT for e in late)


def test_low_light_is_judged_on_the_frames_whose_brightness_is_known() -> None:
    """A dim face (luma 30 < 40) whose brightness is unknown (NaN) on one frame in ten: one
    unknown frame switched the low-light gate off for the whole window."""
    trace = skin_trace(20.0, 30.0, 75, brightness_scale=0.25, seed=6)
    est = RppgEstimator(RppgConfig())
    statuses = {}
    for i, f in enumerate(trace.features()):
        e = est.update(dataclasses.replace(f, face_brightness=math.nan) if i % 10 == 0 else f)
        statuses[round(e.t, 3)] = e.status
    assert statuses and {s for t, s in statuses.items() if t >= 10.0} == {rppg.LOW_LIGHT}


def test_lost_face_abstains_then_recovers_after_a_full_window() -> None:
    trace = skin_trace(40.0, 30.0, 80, seed=8)
    est = RppgEstimator(RppgConfig())
    by_t: dict[float, HeartRateEstimate] = {}
    for f in trace.features():
        if 15.0 <= f.t < 17.0:  # face lost for 2 s
            f = Features(t=f.t, face_present=False)
        e = est.update(f)
        by_t[round(e.t, 3)] = e
    assert by_t[14.0].valid and abs(by_t[14.0].bpm - 80) <= 3
    # Every window that contains the 2 s hole abstains ...
    assert all(by_t[k].status == rppg.NO_DATA for k in (16.0, 17.0, 20.0, 25.0))
    # ... until 90 % of the window (min_coverage) lies after it.
    assert by_t[26.0].valid and abs(by_t[26.0].bpm - 80) <= 3


def test_time_going_backwards_resets_the_window() -> None:
    est = RppgEstimator(RppgConfig())
    for f in skin_trace(15.0, 30.0, 70, seed=9).features():
        est.update(f)
    assert est.estimate.valid
    est.update(Features(t=0.0, face_present=True, skin_rgb=(170.0, 120.0, 100.0)))
    assert not est.estimate.valid


def test_rmssd_only_when_beat_timing_is_precise() -> None:
    config = RppgConfig()
    errors = []
    for seed in range(10):
        clean = skin_trace(10.0, 30.0, 72, noise_std=0.01, ibi_jitter_s=0.03, seed=seed)
        e = estimate_heart_rate(clean.rgb, 30.0, config)
        assert e.valid and e.rmssd_noise_ms <= config.hrv_max_noise_ms, e
        errors.append(e.rmssd_ms - clean.true_rmssd_ms())
    # Within 10 ms of the true RMSSD (~36 ms here) on clean signals.
    assert abs(float(np.median(errors))) <= 10.0, errors
    # A good heart rate (SNR ~9 dB) but noisy beat times (+50 ms): no RMSSD.
    noisy = skin_trace(10.0, 30.0, 72, noise_std=0.05, seed=1)
    e = estimate_heart_rate(noisy.rgb, 30.0, config)
    assert e.valid and abs(e.bpm - 72) < 1 and e.rmssd_noise_ms > 40.0 and math.isnan(e.rmssd_ms), e
    # Clean, but 15 fps: a frame is 67 ms, no RMSSD.
    slow = skin_trace(10.0, 15.0, 72, noise_std=0.01, seed=1)
    rgb30 = np.column_stack([np.interp(np.arange(0, slow.t[-1], 1 / 30), slow.t, slow.rgb[:, k]) for k in range(3)])
    e = estimate_heart_rate(rgb30, 30.0, config, frame_rate_hz=15.0)
    assert e.valid and math.isnan(e.rmssd_ms)


def test_band_must_fit_below_nyquist() -> None:
    with pytest.raises(ValidationError, match="Nyquist"):
        RppgConfig(resample_hz=8.0, band_high_hz=4.5)
    with pytest.raises(ValidationError, match="band_low_hz"):
        RppgConfig(band_low_hz=1.5, band_high_hz=1.2)


def _pos_window_by_window(rgb: np.ndarray, fs: float, window_s: float) -> np.ndarray:
    """POS as Wang et al. write it: every window normalised, projected, tuned and overlap-added."""
    from numpy.lib.stride_tricks import sliding_window_view

    n = rgb.shape[0]
    win = max(2, int(round(window_s * fs)))
    windows = sliding_window_view(rgb, win, axis=0)  # (n - win + 1, 3, win)
    cn = windows / windows.mean(axis=2, keepdims=True)
    s1 = cn[:, 1, :] - cn[:, 2, :]
    s2 = -2.0 * cn[:, 0, :] + cn[:, 1, :] + cn[:, 2, :]
    sd2 = s2.std(axis=1, keepdims=True)
    h = s1 + s1.std(axis=1, keepdims=True) / np.where(sd2 > 0, sd2, 1.0) * s2
    h -= h.mean(axis=1, keepdims=True)
    out, count = np.zeros(n), np.zeros(n)
    for m in range(h.shape[0]):
        out[m:m + win] += h[m]
        count[m:m + win] += 1
    return out / count


@pytest.mark.parametrize(("n", "fs", "window_s", "level"), [
    (300, 30.0, 1.6, 120.0), (301, 30.0, 0.05, 90.0), (80, 30.0, 2.6, 200.0), (1200, 60.0, 10.0, 40.0), (40, 8.0, 4.9, 1.0),
])
def test_pos_equals_the_window_by_window_algorithm(n: int, fs: float, window_s: float, level: float) -> None:
    """pos_pulse computes POS from prefix sums (O(n)); it must give Wang et al.'s window-by-window
    result to rounding: within 1e-9 of the pulse's amplitude, at bright and at dim skin."""
    rng = np.random.default_rng(n)
    t = np.arange(n) / fs
    beat = np.sin(2 * np.pi * 1.2 * t)
    rgb = np.column_stack([level * (1 + 0.01 * beat) + rng.normal(0, 0.005 * level, n),
                           0.8 * level * (1 + 0.02 * beat) + rng.normal(0, 0.005 * level, n),
                           0.6 * level + rng.normal(0, 0.005 * level, n)])
    expected = _pos_window_by_window(rgb, fs, window_s)
    got = rppg.pos_pulse(rgb, fs, window_s)
    assert got.shape == expected.shape
    assert np.max(np.abs(got - expected)) <= 1e-9 * np.max(np.abs(expected))


def test_pos_of_a_constant_colour_is_zero() -> None:
    """No change in colour, no pulse (alpha's 0/0 guarded): zero to rounding, not NaN."""
    got = rppg.pos_pulse(np.tile([120.0, 90.0, 70.0], (100, 1)), 30.0, 1.6)
    assert np.all(np.isfinite(got)) and np.max(np.abs(got)) < 1e-12
