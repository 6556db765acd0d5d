"""Camera heart rate (remote photoplethysmography) from the mean skin colour per frame.

    skin RGB(t) ─▶ resample to a uniform grid ─▶ POS | CHROM ─▶ band-pass 0.7-3 Hz
      ─▶ spectrum ─▶ peak = heart rate, SNR = quality ─▶ (good SNR) beat peaks ─▶ RMSSD

POS: W. Wang, A. C. den Brinker, S. Stuijk, G. de Haan, "Algorithmic Principles of Remote
PPG", IEEE Trans. Biomed. Eng. 64(7), 2017 (Algorithm 1). CHROM: G. de Haan, V. Jeanne,
"Robust Pulse Rate From Chrominance-Based rPPG", IEEE Trans. Biomed. Eng. 60(10), 2013; the
SNR definition is theirs too. Both are the robust classical methods (REFERENCE.md "Heart rate
and stress"); GREEN is much worse and is not offered.

The estimator is pure (DESIGN.md): `update(features)` with the time from the data. It
abstains (bpm NaN, a reason string) rather than guess when the picture has no colour, the
face is too dark, the head moves a lot, samples are missing or the pulse does not stand out
of the noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np
from scipy import signal

from driver_monitor.config.stress import RppgConfig, RppgMethod
from driver_monitor.messages import Features

# Abstention reasons (the heart_rate_status column; docs/stress.md).
OK = "ok"
NO_DATA = "no_data"  # not enough skin samples in the window (warming up, face lost, gaps)
MONOCHROME = "monochrome"  # NIR / grey picture: no colour for POS / CHROM
LOW_LIGHT = "low_light"
HEAD_MOTION = "head_motion"
LOW_SNR = "low_snr"


@dataclass(frozen=True, slots=True)
class HeartRateEstimate:
    t: float  # time of the window's end
    bpm: float = math.nan  # NaN when abstaining
    snr_db: float = math.nan
    quality: float = 0.0  # 0 (unusable) .. 1 (good), from the SNR
    rmssd_ms: float = math.nan  # NaN unless the beat timing is precise enough for HRV
    rmssd_noise_ms: float = math.nan  # predicted RMSSD inflation from sensor noise
    status: str = NO_DATA

    @property
    def valid(self) -> bool:
        return self.status == OK


# Sample layout in the ring buffer: t, r, g, b, yaw, pitch, roll, x, y, z, brightness, colour.
_N_FIELDS = 12


class HeartRateSource(Protocol):
    """What the stress detector asks of its camera heart rate: an RppgEstimator, or a stand-in
    that records or replays one (fleet/stage_cache.py). A Protocol, so the compiled core
    (scripts/compile_core.py) takes either."""

    def update(self, f: Features) -> HeartRateEstimate: ...


class RppgEstimator:
    """Sliding-window heart rate from skin colour; re-estimated every update_period_s."""

    def __init__(self, config: RppgConfig):
        self.config = config
        # Samples of the current window: rows _lo.._hi of a growing array (appending a row is
        # cheap; a deque of tuples cost ~1 ms to turn into an array at every estimate).
        self._buf = np.empty((256, _N_FIELDS))
        self._lo = 0
        self._hi = 0
        self._next_due_t: float | None = None
        self.estimate = HeartRateEstimate(t=math.nan)

    def reset(self) -> None:
        self._lo = self._hi = 0
        self._next_due_t = None
        self.estimate = HeartRateEstimate(t=math.nan)

    def _append(self, row: tuple[float, ...]) -> None:
        if self._hi == self._buf.shape[0]:
            live = self._hi - self._lo
            buf = self._buf if 2 * live <= self._buf.shape[0] else np.empty((2 * self._buf.shape[0], _N_FIELDS))
            buf[:live] = self._buf[self._lo:self._hi]
            self._buf, self._lo, self._hi = buf, 0, live
        self._buf[self._hi] = row
        self._hi += 1

    def update(self, f: Features) -> HeartRateEstimate:
        c = self.config
        t = f.t
        if self._hi > self._lo and t <= self._buf[self._hi - 1, 0]:
            # Time went backwards (a new input): the buffer no longer describes the past.
            if t < self._buf[self._hi - 1, 0]:
                self.reset()
            else:
                return self.estimate
        if f.face_present and f.skin_rgb is not None and all(math.isfinite(v) for v in f.skin_rgb):
            r, g, b = f.skin_rgb
            self._append((
                t, r, g, b, f.head_yaw_deg, f.head_pitch_deg, f.head_roll_deg,
                f.head_x_cm, f.head_y_cm, f.head_z_cm, f.face_brightness, 1.0 if f.colour_image else 0.0,
            ))
        horizon = t - c.window_s
        buf = self._buf
        while self._lo < self._hi and buf[self._lo, 0] < horizon:
            self._lo += 1
        if self._next_due_t is None:
            self._next_due_t = t + c.update_period_s
            return self.estimate
        if t + 1e-9 < self._next_due_t:
            return self.estimate
        # Keep the 1 s cadence on the data's clock even when frames arrive irregularly.
        self._next_due_t += c.update_period_s * max(1, math.floor((t - self._next_due_t) / c.update_period_s) + 1)
        self.estimate = self._estimate(t)
        return self.estimate

    def _estimate(self, t: float) -> HeartRateEstimate:
        c = self.config
        if self._hi - self._lo < 4:
            return HeartRateEstimate(t=t, status=NO_DATA)
        s = self._buf[self._lo:self._hi]
        ts = s[:, 0]
        span = ts[-1] - ts[0]
        if t - ts[-1] > c.max_gap_s or span < c.min_coverage * c.window_s or np.max(np.diff(ts)) > c.max_gap_s:
            return HeartRateEstimate(t=t, status=NO_DATA)
        if np.any(s[:, 11] < 0.5):
            return HeartRateEstimate(t=t, status=MONOCHROME)
        # Judged on the frames whose face brightness is known (one NaN frame switched it off).
        brightness = s[:, 10][np.isfinite(s[:, 10])]
        if brightness.size and float(np.mean(brightness)) < c.min_face_brightness:
            return HeartRateEstimate(t=t, status=LOW_LIGHT)
        motion_grid = np.arange(ts[0], ts[-1], 1.0 / c.motion_sample_hz)
        if (
            _mean_speed(ts, s[:, 4:7], motion_grid) > c.max_head_speed_deg_s
            or _mean_speed(ts, s[:, 7:10], motion_grid) > c.max_head_translation_cm_s
        ):
            return HeartRateEstimate(t=t, status=HEAD_MOTION)
        fs = c.resample_hz
        grid = np.arange(ts[0], ts[-1], 1.0 / fs)
        rgb = np.column_stack([np.interp(grid, ts, s[:, k]) for k in (1, 2, 3)])
        frame_rate_hz = (ts.shape[0] - 1) / span
        return estimate_heart_rate(rgb, fs, c, t, frame_rate_hz)


def estimate_heart_rate(
    rgb: np.ndarray, fs: float, c: RppgConfig, t: float = math.nan, frame_rate_hz: float | None = None
) -> HeartRateEstimate:
    """Heart rate from uniformly sampled skin colour (N, 3) at fs Hz; the whole array is the
    window. frame_rate_hz: the camera's rate before resampling (default fs)."""
    if rgb.shape[0] < int(c.pos_window_s * fs) + 2 or np.any(rgb.mean(axis=0) <= 0):
        return HeartRateEstimate(t=t, status=NO_DATA)
    if c.method is RppgMethod.pos:
        raw = pos_pulse(rgb, fs, c.pos_window_s)
    else:
        raw = chrom_pulse(rgb, fs, c.band_low_hz, c.band_high_hz, c.filter_order)
    pulse = bandpass(raw, fs, c.band_low_hz, c.band_high_hz, c.filter_order)
    f0, snr_db = spectral_peak(pulse, fs, c.band_low_hz, c.band_high_hz, c.snr_halfwidth_hz)
    quality = float(np.clip((snr_db - c.min_snr_db) / (c.good_snr_db - c.min_snr_db), 0.0, 1.0))
    if not math.isfinite(f0) or snr_db < c.min_snr_db:
        return HeartRateEstimate(t=t, snr_db=snr_db, quality=0.0, status=LOW_SNR)
    rmssd = math.nan
    noise_ms = rmssd_noise_ms(raw, pulse, fs, f0, c.band_high_hz - c.band_low_hz)
    if (frame_rate_hz or fs) >= c.hrv_min_frame_rate_hz and noise_ms <= c.hrv_max_noise_ms:
        rmssd = rmssd_ms(pulse, fs, f0, c.hrv_max_ibi_deviation, c.hrv_min_beats)
    return HeartRateEstimate(
        t=t, bpm=60.0 * f0, snr_db=snr_db, quality=quality, rmssd_ms=rmssd, rmssd_noise_ms=noise_ms, status=OK
    )


def pos_pulse(rgb: np.ndarray, fs: float, window_s: float) -> np.ndarray:
    """POS (Wang et al. 2017, Algorithm 1): in each window of l samples, normalise the colour
    by its temporal mean, project onto the plane orthogonal to the skin tone
    P = [[0, 1, -1], [-2, 1, 1]], tune the two projections with alpha = std(S1)/std(S2), and
    overlap-add the zero-mean result.

    Computed in O(n) rather than window by window (tests/test_rppg.py holds it to the
    window-by-window form within 1e-9 of the pulse's amplitude): a window's pulse is a fixed
    linear mix of the raw channels, h_m(i) = sum_c coef_m[c] * rgb[i, c] - offset_m, with
    coef = (-2 alpha / mean_r, (1 + alpha) / mean_g, (alpha - 1) / mean_b) and offset_m its
    window mean, and alpha needs only the window's means and covariances; so the window
    statistics and the overlap-add are differences of prefix sums. The window-by-window form
    spent ~0.3 ms an estimate, a third of the camera heart rate."""
    n = rgb.shape[0]
    win = max(2, int(round(window_s * fs)))
    m = n - win + 1
    centre = rgb.mean(axis=0)
    x = rgb - centre  # centred: the sums of squares stay small, the covariances exact enough
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    sums = np.zeros((n + 1, 9))
    np.cumsum(np.column_stack((x, r * r, g * g, b * b, r * g, r * b, g * b)), axis=0, out=sums[1:])
    w = (sums[win:] - sums[:m]) / win  # (m, 9): each window's mean of x and of the products
    mu_r, mu_g, mu_b = w[:, 0], w[:, 1], w[:, 2]
    # The window mean of each raw channel (the normalisation), its inverse, the covariances.
    mean_r, mean_g, mean_b = mu_r + centre[0], mu_g + centre[1], mu_b + centre[2]
    inv_r, inv_g, inv_b = 1.0 / mean_r, 1.0 / mean_g, 1.0 / mean_b
    rr, gg, bb = w[:, 3] - mu_r * mu_r, w[:, 4] - mu_g * mu_g, w[:, 5] - mu_b * mu_b
    rg, rb, gb = w[:, 6] - mu_r * mu_g, w[:, 7] - mu_r * mu_b, w[:, 8] - mu_g * mu_b
    # S1 = G' - B', S2 = -2R' + G' + B' on the normalised colour X' = X / mean.
    gg_n, bb_n, gb_n = gg * inv_g * inv_g, bb * inv_b * inv_b, gb * inv_g * inv_b
    var1 = gg_n + bb_n - 2.0 * gb_n
    var2 = 4.0 * rr * inv_r * inv_r + gg_n + bb_n + 2.0 * gb_n - 4.0 * inv_r * (rg * inv_g + rb * inv_b)
    sd2 = np.sqrt(np.maximum(var2, 0.0))
    alpha = np.sqrt(np.maximum(var1, 0.0)) / np.where(sd2 > 0, sd2, 1.0)
    coef = np.empty((m + 1, 4))  # prefix sums over windows of (coef_r, coef_g, coef_b, offset)
    coef[0] = 0.0
    coef[1:, 0] = -2.0 * alpha * inv_r
    coef[1:, 1] = (1.0 + alpha) * inv_g
    coef[1:, 2] = (alpha - 1.0) * inv_b
    coef[1:, 3] = coef[1:, 0] * mean_r + coef[1:, 1] * mean_g + coef[1:, 2] * mean_b
    np.cumsum(coef, axis=0, out=coef)
    # Sample i lies in windows max(0, i - win + 1) .. min(i, m - 1).
    i = np.arange(n)
    lo = np.maximum(i - win + 1, 0)
    hi = np.minimum(i + 1, m)
    total = coef[hi] - coef[lo]
    return (np.einsum("ij,ij->i", rgb, total[:, :3]) - total[:, 3]) / (hi - lo)


def chrom_pulse(rgb: np.ndarray, fs: float, low_hz: float, high_hz: float, order: int) -> np.ndarray:
    """CHROM (de Haan & Jeanne 2013, eqs. 8-11): X = 3R - 2G, Y = 1.5R + G - 1.5B on the
    mean-normalised colour, both band-passed, S = Xf - alpha * Yf, alpha = std(Xf)/std(Yf)."""
    cn = rgb / rgb.mean(axis=0, keepdims=True)
    x = 3.0 * cn[:, 0] - 2.0 * cn[:, 1]
    y = 1.5 * cn[:, 0] + cn[:, 1] - 1.5 * cn[:, 2]
    xf = bandpass(x, fs, low_hz, high_hz, order)
    yf = bandpass(y, fs, low_hz, high_hz, order)
    sy = yf.std()
    alpha = xf.std() / sy if sy > 0 else 0.0
    return xf - alpha * yf


@lru_cache(maxsize=16)
def _butter(fs: float, low_hz: float, high_hz: float, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Band-pass sections and their steady-state initial conditions (computed once: scipy's
    sosfiltfilt recomputes them on every call, which cost more than the filtering)."""
    sos = signal.butter(order, [low_hz, high_hz], btype="bandpass", fs=fs, output="sos")
    return sos, signal.sosfilt_zi(sos)


def bandpass(x: np.ndarray, fs: float, low_hz: float, high_hz: float, order: int) -> np.ndarray:
    """Zero-phase Butterworth band-pass: scipy.signal.sosfilt forwards and backwards over an
    odd extension of the ends, as scipy.signal.sosfiltfilt does (same result, cached zi)."""
    sos, zi = _butter(float(fs), float(low_hz), float(high_hz), int(order))
    n = x.shape[0]
    pad = min(n - 1, 3 * (2 * sos.shape[0] + 1))
    if pad < 1:
        return x - x.mean()
    ext = np.concatenate((2 * x[0] - x[pad:0:-1], x, 2 * x[-1] - x[-2:-pad - 2:-1]))
    y, _ = signal.sosfilt(sos, ext, zi=zi * ext[0])
    y = y[::-1]
    y, _ = signal.sosfilt(sos, y, zi=zi * y[0])
    return y[::-1][pad:pad + n]


def spectral_peak(pulse: np.ndarray, fs: float, low_hz: float, high_hz: float, halfwidth_hz: float) -> tuple[float, float]:
    """(peak frequency in Hz, SNR in dB) of the pulse inside [low_hz, high_hz].

    The spectrum is Hann-windowed and zero-padded to ~0.01 Hz bins; the peak is refined by
    parabolic interpolation. SNR (de Haan & Jeanne 2013): power within +-halfwidth_hz of the
    peak and of its first harmonic, over the rest of the band's power.
    """
    n = pulse.shape[0]
    nfft = 1 << max(int(math.ceil(math.log2(max(n, fs / 0.01)))), 8)
    window, idx, band_freqs, bin_hz = _spectrum_layout(n, nfft, float(fs), float(low_hz), float(high_hz))
    if idx.size < 3:
        return math.nan, -math.inf
    spec = np.abs(np.fft.rfft(pulse * window, nfft)[idx[0]:idx[-1] + 1]) ** 2  # the band's bins
    if not np.any(spec > 0):
        return math.nan, -math.inf
    k = int(np.argmax(spec))
    f0 = float(band_freqs[k])
    if 0 < k < spec.shape[0] - 1:
        a, b, c = np.log(spec[k - 1:k + 2] + 1e-300)
        denom = a - 2 * b + c
        if denom < 0:
            f0 += 0.5 * (a - c) / denom * bin_hz
    sig = (np.abs(band_freqs - f0) <= halfwidth_hz) | (np.abs(band_freqs - 2 * f0) <= halfwidth_hz)
    p_sig = float(spec[sig].sum())
    p_noise = float(spec[~sig].sum())
    if p_noise <= 0:
        return f0, math.inf
    return f0, 10.0 * math.log10(max(p_sig, 1e-300) / p_noise)


@lru_cache(maxsize=32)
def _spectrum_layout(n: int, nfft: int, fs: float, low_hz: float, high_hz: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(Hann window of n, the indices and frequencies of the rfft bins inside [low_hz, high_hz],
    the bin width): the same for every estimate of a configuration, so computed once."""
    freqs = np.fft.rfftfreq(nfft, 1.0 / fs)
    idx = np.flatnonzero((freqs >= low_hz) & (freqs <= high_hz))
    window, band_freqs = np.hanning(n), freqs[idx]
    for shared in (window, idx, band_freqs):
        shared.setflags(write=False)  # the same arrays for every call: never written
    return window, idx, band_freqs, float(freqs[1] - freqs[0])


def rmssd_ms(pulse: np.ndarray, fs: float, f0_hz: float, max_deviation: float, min_intervals: int) -> float:
    """RMSSD (ms) of beat-to-beat intervals, NaN when too few clean intervals.

    Beats are timed at the steepest upstroke of the pulse (the maximum of its derivative),
    not at the peak: the systolic peak is flat after band-passing, so noise moves it by tens
    of ms, while at the upstroke a given noise shifts the time least (error = noise / slope).
    Times are refined to sub-sample precision with a parabola through the top three samples:
    at 30 fps one sample is 33 ms, coarser than typical RMSSD values (20-50 ms).
    """
    slope = np.gradient(pulse)
    distance = max(1, int(0.6 * fs / f0_hz))  # beats closer than 60 % of the mean period are not beats
    peaks, _ = signal.find_peaks(slope, distance=distance)
    # The filters' edges distort the first and last half period: no beats from there.
    edge = max(1, int(0.5 * fs / f0_hz))
    peaks = peaks[(peaks >= edge) & (peaks < slope.shape[0] - edge)]
    if peaks.size < min_intervals + 1:
        return math.nan
    a, b, c = slope[peaks - 1], slope[peaks], slope[peaks + 1]
    denom = a - 2 * b + c
    offset = np.where(denom < 0, 0.5 * (a - c) / np.where(denom < 0, denom, -1.0), 0.0)
    times = (peaks + offset) / fs
    return rmssd_from_intervals(np.diff(times) * 1000.0, max_deviation, min_intervals)


def rmssd_from_intervals(ibi_ms: np.ndarray, max_deviation: float, min_intervals: int) -> float:
    """RMSSD (ms) of consecutive beat-to-beat intervals (ms). Intervals further than
    max_deviation from their median are artefacts (missed / extra beats) and dropped; a
    successive difference counts only between two clean, adjacent intervals. NaN when fewer
    than min_intervals clean intervals remain."""
    if ibi_ms.size < 2:
        return math.nan
    median = float(np.median(ibi_ms))
    good = np.abs(ibi_ms - median) <= max_deviation * median
    pair = good[1:] & good[:-1]
    if int(good.sum()) < min_intervals or not np.any(pair):
        return math.nan
    diffs = np.diff(ibi_ms)[pair]
    return float(math.sqrt(float(np.mean(diffs**2))))


def rmssd_noise_ms(raw: np.ndarray, pulse: np.ndarray, fs: float, f0_hz: float, bandwidth_hz: float) -> float:
    """Predicted RMSSD inflation (ms) from sensor noise.

    White noise level from the second differences of the unfiltered pulse (var = 6 sigma^2;
    the pulse itself barely curves from one sample to the next), its share inside the pass
    band, the pulse amplitude A from the band-passed variance; each beat time then jitters by
    sigma_band / (2 pi f0 A), and RMSSD (a second difference of beat times) by sqrt(6) times that.
    """
    d2 = np.diff(raw, 2)
    sigma_white = 1.4826 * float(np.median(np.abs(d2 - np.median(d2)))) / math.sqrt(6.0)
    sigma_band = sigma_white * math.sqrt(min(1.0, bandwidth_hz / (fs / 2.0)))
    var_pulse = float(pulse.var()) - sigma_band**2
    if var_pulse <= 0 or f0_hz <= 0:
        return math.inf
    amplitude = math.sqrt(2.0 * var_pulse)
    return 1000.0 * math.sqrt(6.0) * sigma_band / (2.0 * math.pi * f0_hz * amplitude)


def _mean_speed(ts: np.ndarray, xyz: np.ndarray, grid: np.ndarray) -> float:
    """Path length of a 3-vector trajectory sampled on `grid`, over its duration (units/s);
    0 when unknown (no pose: the other gates still apply)."""
    ok = np.all(np.isfinite(xyz), axis=1)
    if ok.sum() < 2 or grid.size < 2:
        return 0.0
    t, v = ts[ok], xyz[ok]
    g = np.column_stack([np.interp(grid, t, v[:, k]) for k in range(3)])
    return float(np.linalg.norm(np.diff(g, axis=0), axis=1).sum() / (grid[-1] - grid[0]))
