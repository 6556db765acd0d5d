"""DaydreamingDetector: eyes on the road, attention elsewhere (cognitive distraction), an
advisory level 0..3 and `daydreaming` start / end events (docs/emotion.md).

Victor, Harbluk & Engstrom 2005 (Transportation Research Part F 8(2); REFERENCE.md
"Emotion, anger and daydreaming"): under cognitive / auditory load gaze concentrates on the
road centre, percent road centre (PRC) rises and the horizontal spread of gaze narrows,
while mirror and instrument glances become rare; visual load does the opposite. Each effect
is relative to the same driver at the same road and speed, so the baseline here is this
driver's own, learned per speed band. Level 1 needs all three core cues over the window
(PRC up by prc_gap_share of its gap to 100 %, gaze SD down to gaze_sd_ratio of the baseline, no mirror or cluster
check for no_check_s); a long fixation and a changed blink rate each add one.

Judged only at or above min_speed_kph (a known speed), never stopped, never while the
road-ahead direction is being learned (`calibrating`: gaze angles mean nothing yet), and
only over a window with enough measured gaze (column daydreaming_abstain says why not).
"""

from __future__ import annotations

import math

from driver_monitor.config.daydreaming import DaydreamingConfig
from driver_monitor.detectors.base import DetectorInput
from driver_monitor.detectors.emotion.episode import AdvisoryEpisode
from driver_monitor.detectors.emotion.gaze_window import GazeAccumulator
from driver_monitor.detectors.stress.cues import finite_or_nan
from driver_monitor.detectors.zones import CLUSTER, MIRRORS, UNKNOWN
from driver_monitor.messages import Event, Scalar
from driver_monitor.names import Column, EventName

CHECK_ZONES = MIRRORS | {CLUSTER}
MAX_GAZE_DEG = 360.0
SLOW, CALIBRATING, NO_BASELINE, FILLING, LITTLE_GAZE, NONE = (
    "slow", "calibrating", "no_baseline", "filling", "little_gaze", "none")


class _Band:
    """The baseline of one speed band: gaze and blink rate over its first baseline_s."""

    def __init__(self) -> None:
        self.gaze = GazeAccumulator()
        self.blink_sum = 0.0
        self.blink_w = 0.0

    def blink_rate(self) -> float:
        return self.blink_sum / self.blink_w if self.blink_w > 0 else math.nan


class DaydreamingDetector:
    def __init__(self, config: DaydreamingConfig):
        self.config = config
        self.window = GazeAccumulator()
        self.bands: dict[int, _Band] = {}
        self.episode = AdvisoryEpisode(EventName.DAYDREAMING, config.start_after_s, config.end_after_s)
        self._t: float | None = None
        self._judging_since_t: float | None = None  # at speed, calibrated, continuously
        self._last_check_t: float | None = None
        self._zone_run: tuple[str, float] | None = None  # (zone, since)
        self._fixation: tuple[float, float, float] | None = None  # yaw, pitch, since
        self.abstain = SLOW
        self.level: int | None = None
        self.prc = self.yaw_sd_deg = math.nan
        self.no_check_s = 0.0
        self.fixation_s = 0.0
        self._band: _Band | None = None

    def update(self, inp: DetectorInput) -> list[Event]:
        c = self.config
        t = inp.features.t
        dt = 0.0 if self._t is None else min(max(t - self._t, 0.0), c.max_frame_gap_s)
        self._t = t
        speed = inp.vehicle.speed_kph
        if speed is None or not math.isfinite(speed) or speed < c.min_speed_kph:  # NaN / inf: no speed known
            return self._reset(t, SLOW)
        if inp.upstream.get(Column.CALIBRATING) is True:
            return self._reset(t, CALIBRATING)
        if self._judging_since_t is None:
            self._judging_since_t = t
            self._last_check_t = t  # checks are counted from the start of a judged stretch
        yaw = finite_or_nan(inp.upstream.get(Column.GAZE_YAW_DEG_ABS))
        pitch = finite_or_nan(inp.upstream.get(Column.GAZE_PITCH_DEG_ABS))
        zone = inp.upstream.get(Column.GAZE_ZONE)
        self._track_checks(t, zone if isinstance(zone, str) else UNKNOWN)
        # A gaze angle beyond a full turn is no measurement (a hand-made table's 1e200): summed
        # into the window's squares it made them inf, then NaN once dropped, and the window
        # (and a band baseline) judged nothing for as long as gaze kept being measured.
        measured = (abs(yaw) <= MAX_GAZE_DEG and abs(pitch) <= MAX_GAZE_DEG
                    and zone not in (UNKNOWN, "away", None))  # NaN compares False: not measured
        in_centre = measured and math.hypot(yaw, pitch) <= c.road_centre_radius_deg
        self._track_fixation(t, yaw, pitch, measured)
        band_key = int(speed // c.speed_band_kph)
        band = self.bands.get(band_key)
        if band is None:  # (not setdefault: that builds a _Band every frame)
            band = self.bands[band_key] = _Band()
        self._band = band
        blink = finite_or_nan(inp.upstream.get(Column.BLINK_RATE_PER_MIN))
        learning = band.gaze.w < c.baseline_s
        if measured:
            self.window.add(t, dt, yaw, in_centre)
            if learning:
                band.gaze.add(t, dt, yaw, in_centre, keep=False)
                if math.isfinite(blink):
                    band.blink_sum, band.blink_w = band.blink_sum + dt * blink, band.blink_w + dt
        self.window.drop_before(t - c.window_s)
        stats = self.window.stats()
        self.prc, self.yaw_sd_deg = stats.prc, stats.yaw_sd_deg
        self.no_check_s = t - self._last_check_t if self._last_check_t is not None else 0.0
        if learning:
            return self._judged(t, NO_BASELINE, None)
        if t - self._judging_since_t < c.window_s - 1e-9:
            return self._judged(t, FILLING, None)
        if stats.valid_s < c.min_valid_share * c.window_s:
            return self._judged(t, LITTLE_GAZE, None)
        base = band.gaze.stats()
        core = (stats.prc >= base.prc + c.prc_gap_share * (1.0 - base.prc) and stats.yaw_sd_deg <= c.gaze_sd_ratio * base.yaw_sd_deg
                and self.no_check_s >= c.no_check_s - 1e-9)
        level = 0
        if core:
            level = 1 + (self.fixation_s >= c.long_fixation_s)
            base_blink = band.blink_rate()
            if math.isfinite(blink) and math.isfinite(base_blink) and base_blink > 0:
                level += abs(blink - base_blink) / base_blink >= c.blink_rate_change
        return self._judged(t, NONE, min(level, 3))

    def _track_checks(self, t: float, zone: str) -> None:
        if self._zone_run is None or self._zone_run[0] != zone:
            self._zone_run = (zone, t)
        if zone in CHECK_ZONES and t - self._zone_run[1] >= self.config.mirror_glance_min_s - 1e-9:
            self._last_check_t = t

    def _track_fixation(self, t: float, yaw: float, pitch: float, measured: bool) -> None:
        if not measured:
            return  # a blink or a lost frame does not end a fixation
        if self._fixation is None or math.hypot(yaw - self._fixation[0], pitch - self._fixation[1]) > self.config.fixation_radius_deg:
            self._fixation = (yaw, pitch, t)
        self.fixation_s = t - self._fixation[2]

    def _reset(self, t: float, why: str) -> list[Event]:
        """Not judged now (slow, calibrating): the window and the check clock start again."""
        self._judging_since_t = None
        self._last_check_t = None
        self._zone_run = None
        self._fixation = None
        self.fixation_s = 0.0
        self.window = GazeAccumulator()
        self.prc = self.yaw_sd_deg = math.nan
        self.no_check_s = 0.0
        self._band = None
        return self._judged(t, why, None)

    def _judged(self, t: float, why: str, level: int | None) -> list[Event]:
        self.abstain, self.level = why, level
        return self.episode.update(t, level, self._detail)

    def _detail(self, onset_t: float) -> dict[str, object]:
        return {"onset_t": onset_t, "level": self.level, "advisory": True,
                "prc": round(self.prc, 3), "baseline_prc": self._base("prc"),
                "gaze_sd_deg": round(self.yaw_sd_deg, 2), "baseline_gaze_sd_deg": self._base("yaw_sd_deg"),
                "no_check_s": round(self.no_check_s, 2)}

    def _base(self, name: str) -> float | None:
        if self._band is None:
            return None
        v = getattr(self._band.gaze.stats(), name)
        return round(v, 3) if math.isfinite(v) else None

    def columns(self) -> dict[str, Scalar]:
        # The band's statistics once (each GazeAccumulator.stats() builds them anew).
        base = self._band.gaze.stats() if self._band is not None else None
        return {
            Column.DAYDREAMING_LEVEL: self.level,
            "daydreaming_abstain": self.abstain,
            "daydreaming_prc": self.prc,
            "daydreaming_baseline_prc": _rounded(base.prc, 3) if base is not None else math.nan,
            "daydreaming_gaze_sd_deg": self.yaw_sd_deg,
            "daydreaming_baseline_gaze_sd_deg": _rounded(base.yaw_sd_deg, 3) if base is not None else math.nan,
            "daydreaming_no_check_s": self.no_check_s,
            "daydreaming_fixation_s": self.fixation_s,
        }

    def finish(self, t: float) -> list[Event]:
        return self.episode.finish(t)

    def relearn_driver(self, t: float) -> list[Event]:
        """A journey that may have another driver (pipeline): close an open episode at t and
        learn the per-band baselines afresh (they are this driver's gaze, not the next one's)."""
        events = self.finish(t)
        self.__init__(self.config)  # type: ignore[misc]
        return events


def _rounded(v: float, digits: int) -> float:
    """`_base`'s value as a column: rounded, NaN where _base says None."""
    return round(v, digits) if math.isfinite(v) else math.nan
