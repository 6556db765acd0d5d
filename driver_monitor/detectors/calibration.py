"""Per-driver calibration: the driver's open eyes and road-ahead direction (pure).

The only reliable references on real faces and real camera mounts are the driver's own
(REFERENCE.md "On real car footage"): their open-eye level and the direction they look in
when they look at the road. `Calibrator` learns both from timestamped features:

- Open eyes (EAR, eyeBlink, iris contrast, per eye): population values until
  `provisional_eyes_after_s` of open-eyed samples were seen (a second), then the median of
  this driver's samples so far, refreshed each second, fixed once the driver is calibrated.
- Road ahead: from the camera mount (config/camera_mount.py), then a second of steady gaze,
  then the dominant direction at speed, refined for the whole drive (detectors/road_ahead.py).
  While the mount is `auto` and no steady gaze has been seen yet, the road ahead is unknown
  (`road_ahead_known` False): distraction is not judged and every output says `calibrating`.
- `calibrated` after `learn_s` (a minute) of accepted samples, as openpilot learns its neutral
  pose over ~60 s at speed (REFERENCE.md).

A frame teaches only when it looks like an open-eyed driver by absolute standards, so a
driver who starts with closed or downcast eyes cannot teach that closed is normal.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from driver_monitor.config.calibration import CalibrationConfig
from driver_monitor.config.camera_mount import CameraMountConfig
from driver_monitor.detectors.road_ahead import GazeSample, RoadAhead, RoadAheadLearner, Source
from driver_monitor.messages import Event, Features, VehicleState

EyeSource = Literal["population", "provisional", "calibrated"]


@dataclass(frozen=True, slots=True)
class Calibration:
    calibrated: bool = False
    # Open-eye eyeBlink score (0 open .. 1 closed) of this driver, per eye. Frontal faces
    # read ~0.0-0.15 with open eyes (measured on the bundled clips).
    open_eye_blink_left: float = 0.05
    open_eye_blink_right: float = 0.05
    # Open-eye EAR, ~0.31 on a frontal face (REFERENCE.md); per person 0.23-0.36.
    open_ear_left: float = 0.31
    open_ear_right: float = 0.31
    # Open-eye iris contrast (perception/eye_region.py): 0.4-0.9 on the shared real clips.
    open_iris_contrast_left: float = 0.65
    open_iris_contrast_right: float = 0.65
    # Road-ahead head pose and eye-in-head gaze in degrees (geometry.py conventions).
    neutral_yaw_deg: float = 0.0
    neutral_pitch_deg: float = 0.0
    neutral_gaze_yaw_deg: float = 0.0
    neutral_gaze_pitch_deg: float = 0.0
    # Where the road-ahead direction comes from (road_ahead.py). A Calibration built directly
    # (tests, a known mount) is "mount": known.
    road_ahead: Source = "mount"
    eyes: EyeSource = "population"
    # Time at which calibration completed (None while not calibrated).
    calibrated_at_t: float | None = None
    # Seconds of accepted samples so far (reaches CalibrationConfig.learn_s when calibrated).
    learned_s: float = 0.0

    @property
    def road_ahead_known(self) -> bool:
        return self.road_ahead != "unknown"


# The open-eye Features fields, the Calibration field each teaches, and its range key.
_EYES = (
    ("eye_blink_left", "open_eye_blink_left", "open_eye_blink_range"),
    ("eye_blink_right", "open_eye_blink_right", "open_eye_blink_range"),
    ("ear_left", "open_ear_left", "open_ear_range"),
    ("ear_right", "open_ear_right", "open_ear_range"),
    ("iris_contrast_left", "open_iris_contrast_left", "open_iris_contrast_range"),
    ("iris_contrast_right", "open_iris_contrast_right", "open_iris_contrast_range"),
)
# How often (seconds of input time) the provisional eye baseline is recomputed: a median
# over up to a minute of samples is too much work for every frame, and a second is well
# under how fast a baseline could matter.
PROVISIONAL_REFRESH_S = 1.0


def mount_calibration(mount: CameraMountConfig | None, right_hand_drive: bool = False) -> Calibration:
    """The calibration before anything is learned: population eyes, the mount's road ahead
    (unknown for an `auto` mount)."""
    if mount is None:
        return Calibration()
    yaw, pitch = mount.road_ahead(right_hand_drive)
    return Calibration(neutral_yaw_deg=yaw, neutral_pitch_deg=pitch, road_ahead="mount" if mount.known else "unknown")


class CalibratorStage(Protocol):
    """What the Pipeline asks of its calibrator: a Calibrator, or a stand-in that replays one
    (fleet/stage_cache.py). A Protocol, so the compiled core (scripts/compile_core.py) takes
    either."""

    calibration: Calibration

    def update(self, features: Features, vehicle: VehicleState | None = None) -> Calibration: ...

    def state_event(self, t: float) -> Event: ...


class Calibrator:
    """Learns the Calibration from timestamped features; `update` returns the current one."""

    def __init__(self, config: CalibrationConfig, mount: CameraMountConfig | None = None,
                 right_hand_drive: bool = False):
        self.config = config
        self.defaults = mount_calibration(mount, right_hand_drive)
        self.calibration = self.defaults
        d = self.defaults
        prior = RoadAhead(d.neutral_yaw_deg, d.neutral_pitch_deg, 0.0, 0.0, d.road_ahead)
        mount = mount if mount is not None else CameraMountConfig(placement="custom", road_ahead_yaw_deg=0.0,
                                                                  road_ahead_pitch_deg=0.0)
        self.road = RoadAheadLearner(config.road_ahead, prior, mount.learn_range(), config.neutral_gaze_range_deg)
        self._eye_samples: list[tuple[float, ...]] = []
        self._eye_s = 0.0
        self._learned_s = 0.0
        self._last_t: float | None = None
        self._last_accepted = False
        self._next_provisional_t = -math.inf
        self._eyes: dict[str, float] = {}
        self._eye_source: EyeSource = "population"
        # The highest iris contrast each eye has shown lately with its lids wide open: caps
        # the open level the eye is judged against (_capped_iris).
        self._iris_shown_left = RecentIris(config.iris_shown_window_s, config.iris_shown_min_share)
        self._iris_shown_right = RecentIris(config.iris_shown_window_s, config.iris_shown_min_share)

    def update(self, features: Features, vehicle: VehicleState | None = None) -> Calibration:
        c = self.config
        t = features.t
        dt = 0.0 if self._last_t is None else min(max(t - self._last_t, 0.0), c.max_frame_gap_s)
        # Time weighting: the gap to the previous frame is credited to that frame's verdict,
        # so the learned time does not depend on the frame rate.
        if self._last_accepted:
            self._learned_s += dt
        self._last_t = t
        lids_open = self._lids_open(features)
        open_eyes = lids_open and self._moving(vehicle) and self._iris_shows(features)
        road = self.road.update(t, _gaze_sample(features) if open_eyes else None, c.max_frame_gap_s)
        eye_sample = open_eyes and self._facing(features, road)
        self._last_accepted = eye_sample
        if features.face_present:  # (any head pose or speed: it is the picture's contrast)
            # Per eye, only where its own lids read wide open: shut lids read eyeBlink 0.23 and
            # more (car_yawn_man; 0.25-0.39 behind glasses at night), and their lid skin's
            # contrast must not become the level an open iris is judged against.
            wide = c.iris_shown_max_eye_blink
            self._iris_shown_left.update(t, features.iris_contrast_left if lids_open and
                                         features.eye_blink_left <= wide else math.nan)
            self._iris_shown_right.update(t, features.iris_contrast_right if lids_open and
                                          features.eye_blink_right <= wide else math.nan)
        if eye_sample and self._eye_source != "calibrated":
            self._eye_samples.append(tuple(getattr(features, name) for name, _, _ in _EYES))
        calibrated = self.calibration.calibrated
        if not calibrated and self._learned_s + 1e-9 >= c.learn_s and self._eye_samples:
            self._eyes, self._eye_source = self._baselines(), "calibrated"
            self._eye_samples = []
            self.road.settle()
            calibrated = True
        elif self._eye_source == "population" or self._eye_source == "provisional":
            after = c.provisional_eyes_after_s
            if 0.0 < after <= self._learned_s + 1e-9 and self._eye_samples and t >= self._next_provisional_t:
                self._eyes, self._eye_source = self._baselines(), "provisional"
                self._next_provisional_t = t + PROVISIONAL_REFRESH_S
        # Built field by field (dataclasses.replace costs several times more, every frame).
        d, get = self.defaults, self._eyes.get
        new = Calibration(
            calibrated=calibrated,
            open_eye_blink_left=get("open_eye_blink_left", d.open_eye_blink_left),
            open_eye_blink_right=get("open_eye_blink_right", d.open_eye_blink_right),
            open_ear_left=get("open_ear_left", d.open_ear_left), open_ear_right=get("open_ear_right", d.open_ear_right),
            open_iris_contrast_left=_capped_iris(get("open_iris_contrast_left", d.open_iris_contrast_left),
                                                 self._iris_shown_left.shown()),
            open_iris_contrast_right=_capped_iris(get("open_iris_contrast_right", d.open_iris_contrast_right),
                                                  self._iris_shown_right.shown()),
            neutral_yaw_deg=road.head_yaw_deg, neutral_pitch_deg=road.head_pitch_deg,
            neutral_gaze_yaw_deg=road.eye_yaw_deg, neutral_gaze_pitch_deg=road.eye_pitch_deg,
            road_ahead=road.source, eyes=self._eye_source,
            calibrated_at_t=t if calibrated and not self.calibration.calibrated else self.calibration.calibrated_at_t,
            learned_s=self._learned_s,
        )
        if new != self.calibration:
            self.calibration = new
        return self.calibration

    def state_event(self, t: float) -> Event:
        """The `calibrated` state line for the event log."""
        return calibration_state_event(self.calibration, t)

    def _moving(self, vehicle: VehicleState | None) -> bool:
        """The car moves (or its speed is unknown): with _lids_open and _iris_shows, a frame
        that teaches. Not a gate of the iris cap (RecentIris), which is about the picture: fed
        only at speed, a driver behind glare in a queue below min_speed_kph was judged against
        the population's iris level, read closed, and got `sleep` and `unresponsive`."""
        return vehicle is None or vehicle.speed_at_least(self.config.min_speed_kph)

    def _lids_open(self, f: Features) -> bool:
        """Absolute gates: the face is seen and the lids look open and not downcast."""
        c = self.config
        if not f.face_present:
            return False
        isnan = math.isnan
        if (isnan(f.eye_blink_left) or isnan(f.eye_blink_right) or isnan(f.ear_left) or isnan(f.ear_right)
                or isnan(f.head_yaw_deg) or isnan(f.head_pitch_deg) or isnan(f.eye_look_down)
                or isnan(f.gaze_yaw_deg) or isnan(f.gaze_pitch_deg)):
            return False
        return (
            (f.eye_blink_left + f.eye_blink_right) / 2.0 <= c.sample_max_eye_blink
            and min(f.ear_left, f.ear_right) >= c.sample_min_ear
            and f.eye_look_down <= c.sample_max_look_down
        )

    def _iris_shows(self, f: Features) -> bool:
        """The iris contrast, where measured, is that of an open eye by absolute standards."""
        c = self.config
        return all(math.isnan(v) or v >= c.sample_min_iris_contrast
                   for v in (f.iris_contrast_left, f.iris_contrast_right))

    def _facing(self, f: Features, road: RoadAhead) -> bool:
        """The head faces about the road ahead (the mount's before one is learned), so the
        lids are not foreshortened."""
        c = self.config
        return (abs(f.head_yaw_deg - road.head_yaw_deg) <= c.sample_max_yaw_deg
                and abs(f.head_pitch_deg - road.head_pitch_deg) <= c.sample_max_pitch_deg)

    def _baselines(self) -> dict[str, float]:
        """The configured percentile of each open-eye column, clamped to its range (the
        population default where a column has no sample)."""
        data = np.asarray(self._eye_samples, dtype=np.float64)
        values: dict[str, float] = {}
        for column, (_, name, range_key) in enumerate(_EYES):
            col = data[:, column]
            col = col[~np.isnan(col)]
            if col.size == 0:
                values[name] = getattr(self.defaults, name)
                continue
            lo, hi = getattr(self.config, range_key)
            values[name] = float(np.clip(np.percentile(col, self.config.percentile), lo, hi))
        return values

    @property
    def learned_s(self) -> float:
        return self._learned_s


# The lowest open-iris level a cap may set (the config's floor for a learned one,
# config/calibration.py): the closure cue divides by it.
IRIS_LEVEL_FLOOR = 0.05


class RecentIris:
    """The highest iris contrast one eye has shown with its lids wide open over the last
    window_s, given only while they were wide open on at least min_share of the face's frames
    there (a shut or squinting eye's frames never make that share, so a closure does not cap
    its own level). A running maximum over a monotonic queue: O(1) a frame."""

    def __init__(self, window_s: float, min_share: float) -> None:
        self.window_s = window_s
        self.min_share = min_share
        self._frames: deque[float] = deque()  # times of the face's frames in the window
        self._wide: deque[float] = deque()  # ... of those with the lids wide open
        self._peaks: deque[tuple[float, float]] = deque()  # (t, contrast), contrasts falling

    def update(self, t: float, contrast: float) -> None:
        """A frame of the face at t: its contrast with the lids wide open, NaN otherwise."""
        self._frames.append(t)
        if not math.isnan(contrast):
            self._wide.append(t)
            while self._peaks and self._peaks[-1][1] <= contrast:
                self._peaks.pop()
            self._peaks.append((t, contrast))
        since = t - self.window_s
        for times in (self._frames, self._wide):
            while times and times[0] < since:
                times.popleft()
        while self._peaks and self._peaks[0][0] < since:
            self._peaks.popleft()

    def shown(self) -> float:
        """The highest contrast in the window, NaN without enough wide-open frames."""
        if not self._wide or len(self._wide) < self.min_share * len(self._frames):
            return math.nan
        return self._peaks[0][1]


def _capped_iris(level: float, shown: float) -> float:
    """The open-iris level to judge an eye against: its own learned one (or the population's
    0.65 before), but no higher than the contrast the eye has lately shown with its lids wide
    open (calibration.iris_shown_*). Glare on glasses holds an open iris at 0.1-0.3, below the
    level learned before it came and below what lets the eyes teach (sample_min_iris_contrast);
    judged against those, the iris cue read open eyes as hidden (benchmarks/real_variants.py
    `glare`). The iris cue says "hidden" only against a level the open iris has reached in
    this picture."""
    if math.isnan(shown):
        return level
    return min(level, max(shown, IRIS_LEVEL_FLOOR))


def calibration_state_event(c: Calibration, t: float) -> Event:
    """The `calibrated` state line of calibration c at t."""
    return Event(t, "state", "calibrated", None, {
        "calibrated": c.calibrated,
        "open_ear_left": c.open_ear_left, "open_ear_right": c.open_ear_right,
        "open_eye_blink_left": c.open_eye_blink_left, "open_eye_blink_right": c.open_eye_blink_right,
        "open_iris_contrast_left": c.open_iris_contrast_left,
        "open_iris_contrast_right": c.open_iris_contrast_right,
        "neutral_yaw_deg": c.neutral_yaw_deg, "neutral_pitch_deg": c.neutral_pitch_deg,
        "neutral_gaze_yaw_deg": c.neutral_gaze_yaw_deg, "neutral_gaze_pitch_deg": c.neutral_gaze_pitch_deg,
        "road_ahead": c.road_ahead,
    })


def _gaze_sample(f: Features) -> GazeSample:
    return GazeSample(f.head_yaw_deg, f.head_pitch_deg, f.gaze_yaw_deg, f.gaze_pitch_deg)
