"""Generated skin-colour traces with a known pulse, for tests and benchmarks of the rPPG
method without video (the synthetic drives of driver_monitor/sim render the same model into
images).

Model (after de Haan & van Leest 2014, "Improved motion robustness of remote-PPG by using the
blood volume pulse signature", Physiol. Meas. 35): the skin colour is the skin tone times
(1 + a pulse along the blood-volume-pulse signature), times the light intensity (which motion
modulates), plus white specular reflection, plus sensor noise. The signature gives the
relative pulsatile amplitude per channel for an RGB camera: green strongest, red weakest.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from driver_monitor.messages import Features

# Relative pulsatile amplitudes of R, G, B (de Haan & van Leest 2014, Table 1: 0.33, 0.77, 0.53).
PBV_SIGNATURE = np.array([0.33, 0.77, 0.53])
# A light skin tone as an RGB camera sees it under cabin light (0..255).
DEFAULT_SKIN_RGB = (170.0, 120.0, 100.0)


@dataclass(frozen=True, slots=True)
class SkinTrace:
    t: np.ndarray  # (N,) seconds
    rgb: np.ndarray  # (N, 3) mean skin colour
    head_deg: np.ndarray  # (N, 3) yaw, pitch, roll
    beat_times: np.ndarray  # true beat times (s)
    colour: bool = True
    face_brightness: float = 120.0

    def features(self) -> Iterator[Features]:
        for k in range(self.t.shape[0]):
            r, g, b = (float(v) for v in self.rgb[k])
            yaw, pitch, roll = (float(v) for v in self.head_deg[k])
            yield Features(
                t=float(self.t[k]), face_present=True, head_yaw_deg=yaw, head_pitch_deg=pitch,
                head_roll_deg=roll, head_x_cm=0.0, head_y_cm=0.0, head_z_cm=-60.0,
                face_brightness=self.face_brightness, skin_rgb=(r, g, b), colour_image=self.colour,
            )

    def true_rmssd_ms(self) -> float:
        ibi = np.diff(self.beat_times)
        return float(1000.0 * math.sqrt(np.mean(np.diff(ibi) ** 2)))


def skin_trace(
    duration_s: float,
    fps: float,
    bpm: float | Callable[[float], float],
    *,
    amplitude: float = 0.003,
    noise_std: float = 0.08,
    skin_rgb: tuple[float, float, float] = DEFAULT_SKIN_RGB,
    ibi_jitter_s: float = 0.0,
    intensity_motion: float = 0.0,
    specular_motion: float = 0.0,
    head_motion_deg: float = 0.0,
    motion_hz: float = 0.8,
    monochrome: bool = False,
    brightness_scale: float = 1.0,
    frame_jitter_s: float = 0.0,
    seed: int = 0,
) -> SkinTrace:
    """A trace of `duration_s` at `fps` with a heart rate `bpm` (constant or a function of t).

    amplitude: relative pulsatile amplitude of the green channel (real rPPG: ~0.1-0.5 %).
    noise_std: sensor noise of the patch mean (levels), white. 0.08: ~3 levels of noise per
      pixel averaged over three 24x24-pixel patches of a 200-pixel-wide face, plus margin.
    ibi_jitter_s: std of beat-to-beat interval noise (gives a known RMSSD).
    intensity_motion / specular_motion: relative intensity change and white specular level
      (fraction of the skin level) from head motion, a random smooth signal at ~motion_hz.
    head_motion_deg: amplitude of the head's yaw / pitch swing at motion_hz.
    monochrome: an NIR camera: all three channels equal.
    """
    rng = np.random.default_rng(seed)
    n = int(duration_s * fps)
    t = np.arange(n) / fps
    if frame_jitter_s > 0:
        t = t + rng.uniform(-frame_jitter_s, frame_jitter_s, n)
        t.sort()
    rate = bpm if callable(bpm) else (lambda _t, v=float(bpm): v)
    # Beats: each interval is 60/bpm at the beat plus jitter.
    beats = [0.0]
    while beats[-1] < duration_s + 2.0:
        ibi = 60.0 / rate(beats[-1]) + (rng.normal(0.0, ibi_jitter_s) if ibi_jitter_s > 0 else 0.0)
        beats.append(beats[-1] + max(ibi, 0.25))
    beat_times = np.asarray(beats) - 1.0 + rng.uniform(0, 0.5)
    # Phase rises by 1 per beat; the waveform has a systolic peak and a dicrotic harmonic.
    phase = np.interp(t, beat_times, np.arange(beat_times.size, dtype=float))
    pulse = np.sin(2 * np.pi * phase) + 0.3 * np.sin(4 * np.pi * phase + 0.8)
    pulse /= np.abs(pulse).max()
    rel = amplitude * PBV_SIGNATURE / PBV_SIGNATURE[1]
    base = np.asarray(skin_rgb) * brightness_scale
    rgb = base[None, :] * (1.0 + pulse[:, None] * rel[None, :])

    def smooth_random(scale: float) -> np.ndarray:
        # Band-limited random motion around motion_hz: a few sinusoids with random phases.
        out = np.zeros(n)
        for f in motion_hz * np.array([0.5, 1.0, 1.7]):
            out += np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
        return scale * out / 3.0

    if intensity_motion > 0:
        rgb *= (1.0 + smooth_random(intensity_motion))[:, None]
    if specular_motion > 0:
        rgb += (np.abs(smooth_random(specular_motion)) * base.mean())[:, None]
    if monochrome:
        rgb = np.repeat(rgb.mean(axis=1, keepdims=True), 3, axis=1)
    rgb += rng.normal(0.0, noise_std, rgb.shape)
    if monochrome:
        rgb = np.repeat(rgb[:, :1], 3, axis=1)
    head = rng.normal(0.0, 0.3, (n, 3))  # landmark pose jitter of a still head
    if head_motion_deg > 0:
        head[:, 0] += head_motion_deg * np.sin(2 * np.pi * motion_hz * t)
        head[:, 1] += 0.5 * head_motion_deg * np.sin(2 * np.pi * 1.3 * motion_hz * t + 1.0)
    inside = beat_times[(beat_times >= 0) & (beat_times <= duration_s)]
    return SkinTrace(t, rgb, head, inside, colour=not monochrome, face_brightness=120.0 * brightness_scale)
