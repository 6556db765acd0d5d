"""The small frozen records passed along the flow (DESIGN.md "Data flow").

Every record carries `t`: seconds, monotonic, from the frame's capture time or the log.
Windows and durations downstream are computed from these times, never from frame counts.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from driver_monitor.numbers import finite_or_none

# A per-frame column value: a float, int, bool, str or None, and NumPy's scalars besides (a
# detector's arithmetic may give numpy.bool_). Any rather than the union of those: the
# compiled decision core (scripts/compile_core.py) checks a declared union at run time and
# would refuse a NumPy scalar the Python code takes.
Scalar = Any


@dataclass(frozen=True, slots=True)
class Frame:
    """One camera image. `image` is RGB uint8 (H, W, 3); it never leaves memory."""

    t: float
    image: np.ndarray
    seq: int = 0


@dataclass(frozen=True, slots=True)
class FaceObservation:
    """What the face tracker saw in one frame (the chosen driver's face only).

    landmarks_px: (478, 3) float32; x, y in image pixels, z in the same pixel scale as x
                  (MediaPipe's relative depth times the image width).
    blendshapes:  the 52 ARKit-style scores in 0..1 by name (eyeBlinkLeft, jawOpen, ...).
    transform:    4x4 facial transformation matrix, canonical face (cm) -> camera.
    box_px:       (x0, y0, x1, y1) bounding box of the landmarks in pixels.
    """

    t: float
    landmarks_px: np.ndarray
    blendshapes: Mapping[str, float]
    transform: np.ndarray
    box_px: tuple[float, float, float, float]
    image_size: tuple[int, int]  # (width, height)

    @property
    def face_width_px(self) -> float:
        return self.box_px[2] - self.box_px[0]


@dataclass(frozen=True, slots=True)
class Features:
    """Per-frame measurements of the driver's face, the input of every detector.

    Angles follow the camera-facing convention documented in docs/features.md:
    head_yaw_deg > 0 when the driver turns to their own left (towards the camera's right),
    head_pitch_deg > 0 when the head tilts down (chin to chest),
    head_roll_deg > 0 when the head tilts towards the driver's right shoulder.
    Gaze angles use the same signs and are eye-in-head (relative to the head).
    All fields other than `t` and `face_present` are NaN when no face was seen.
    """

    t: float
    face_present: bool
    head_yaw_deg: float = math.nan
    head_pitch_deg: float = math.nan
    head_roll_deg: float = math.nan
    head_x_cm: float = math.nan  # translation of the face in camera space
    head_y_cm: float = math.nan
    head_z_cm: float = math.nan  # distance from the camera (negative: in front of it)
    eye_blink_left: float = math.nan  # blendshape eyeBlinkLeft (driver's left eye), 0 open .. 1 closed
    eye_blink_right: float = math.nan
    ear_left: float = math.nan  # eye aspect ratio in pixels (Soukupova & Cech 2016), ~0.3 open
    ear_right: float = math.nan
    gaze_yaw_deg: float = math.nan  # eye-in-head, from the iris position and eyeLook blendshapes
    gaze_pitch_deg: float = math.nan
    eye_look_down: float = math.nan  # mean of eyeLookDownLeft/Right, 0..1
    eye_squint: float = math.nan  # mean of eyeSquintLeft/Right, 0..1
    jaw_open: float = math.nan  # blendshape jawOpen, 0..1
    mouth_aspect_ratio: float = math.nan  # inner-lip height / mouth width in pixels
    brow_down: float = math.nan  # mean of browDownLeft/Right (~AU4)
    mouth_press: float = math.nan  # mean of mouthPressLeft/Right (~AU24)
    brow_inner_up: float = math.nan
    # The other facial action units anger is judged on (detectors/anger.py; REFERENCE.md
    # "Emotion, anger and daydreaming"): means of the left / right blendshapes, 0..1.
    eye_wide: float = math.nan  # eyeWideLeft/Right (~AU5 upper lid raiser)
    nose_sneer: float = math.nan  # noseSneerLeft/Right (~AU9 nose wrinkler, with AU10)
    mouth_roll: float = math.nan  # mouthRollLower/Upper (lips pressed in: ~AU23/24, AU28)
    mouth_frown: float = math.nan  # mouthFrownLeft/Right (~AU15 lip corner depressor)
    jaw_forward: float = math.nan  # jawForward (~AU29 jaw thrust)
    face_width_px: float = math.nan
    image_brightness: float = math.nan  # mean luma of the whole frame, 0..255
    face_brightness: float = math.nan  # mean luma inside the face box, 0..255
    # Mean RGB of skin regions (forehead + cheeks) for camera heart rate; None without a face.
    skin_rgb: tuple[float, float, float] | None = None
    # False when the picture carries no colour (monochrome / NIR camera): rPPG must abstain.
    colour_image: bool = True
    # Eye-region luma over skin luma (perception/eye_region.py): 0.58-0.84 measured with the
    # eyes visible, open or closed (docs/drowsiness.md), far lower behind dark lenses.
    eye_luma_ratio: float = math.nan
    # Iris visibility per eye (perception/eye_region.py): ~0.4-0.9 with the iris showing
    # between the lids (open eyes, looking down included), below ~0.45 on closed lids; NaN
    # when the eye is too small or too dark to measure.
    iris_contrast_left: float = math.nan
    iris_contrast_right: float = math.nan

    def columns(self) -> dict[str, Scalar]:
        """Flat per-frame row for features.csv / features.parquet (skin_rgb as skin_r/g/b)."""
        row: dict[str, Scalar] = dict(zip(_BEFORE_SKIN, _get_before_skin(self), strict=True))
        r, g, b = self.skin_rgb if self.skin_rgb is not None else _NO_SKIN
        row["skin_r"], row["skin_g"], row["skin_b"] = r, g, b
        row.update(zip(_AFTER_SKIN, _get_after_skin(self), strict=True))
        return row


_FEATURE_FIELDS = tuple(name for name in Features.__dataclass_fields__ if name != "skin_rgb")
# Features.columns(): the fields before and after skin_rgb, read in one call each (a row per frame).
_BEFORE_SKIN = _FEATURE_FIELDS[: list(Features.__dataclass_fields__).index("skin_rgb")]
_AFTER_SKIN = _FEATURE_FIELDS[len(_BEFORE_SKIN):]
_get_before_skin = operator.attrgetter(*_BEFORE_SKIN)
_get_after_skin = operator.attrgetter(*_AFTER_SKIN)
_NO_SKIN = (math.nan, math.nan, math.nan)
# The face-measurement columns of the per-frame table, in order (`t` first).
FEATURE_COLUMNS: tuple[str, ...] = tuple(Features(t=0.0, face_present=False).columns())


@dataclass(frozen=True, slots=True)
class VehicleState:
    """What the vehicle reports at time t. `None` means unknown (never received or timed out).

    Unknown speed is treated as moving by every consumer (DESIGN.md "Fail safe").
    """

    t: float
    speed_kph: float | None = None
    indicator_left: bool | None = None
    indicator_right: bool | None = None
    gear: str | None = None  # "P", "R", "N", "D" or None
    driver_ack: bool = False  # the ACK button is pressed in this sample
    ignition_on: bool | None = None
    external_heart_rate_bpm: float | None = None
    # Beat-to-beat intervals (ms) an external sensor reported since the previous sample, in
    # order (serial heart-rate sensor, docs/stress.md); the stress detector's HRV uses them.
    external_rr_intervals_ms: tuple[float, ...] = ()

    def speed_at_least(self, kph: float) -> bool:
        """True when the speed is known to be >= kph, or unknown (treated as moving). A NaN
        or infinite speed is unknown, as the policy reads it (policy/gates.py known_speed):
        compared as a number, NaN read as below every speed, and the calibration (and the
        stress and anger baselines) never learned for the whole drive."""
        speed = finite_or_none(self.speed_kph)
        return speed is None or speed >= kph

    def columns(self) -> dict[str, Scalar | tuple[float, ...]]:
        """The per-frame table's vehicle columns (`vehicle_` + field; `t` is the frame's)."""
        return {VEHICLE_PREFIX + name: getattr(self, name) for name in VEHICLE_FIELDS}


# The per-frame table's vehicle columns: what the pipeline saw of the vehicle at each frame.
VEHICLE_PREFIX = "vehicle_"
VEHICLE_FIELDS = tuple(name for name in VehicleState.__dataclass_fields__ if name != "t")


@dataclass(frozen=True, slots=True)
class FrameStats:
    """What camera health needs from one picture (perception/camera_health.py computes it
    from a subsampled grey image); the per-frame table keeps it so that camera health can be
    judged again without the picture (feature replay)."""

    identical_to_previous: bool
    mean_luma: float
    luma_std: float
    # Smaller than camera_health.MIN_FRAME_SIDE_PX on a side: no face to judge fits in it.
    too_small: bool = False

    def columns(self) -> dict[str, Scalar]:
        return {FRAME_PREFIX + name: getattr(self, name) for name in _FRAME_STATS_FIELDS}


FRAME_PREFIX = "frame_"
_FRAME_STATS_FIELDS = ("identical_to_previous", "mean_luma", "luma_std", "too_small")
# `frame_judged`: the frame went through perception and the detectors (False: a picture
# camera health refused, or no frame at all).
FRAME_JUDGED = "frame_judged"
NO_FRAME_COLUMNS: dict[str, Scalar] = {FRAME_PREFIX + name: None for name in _FRAME_STATS_FIELDS}


EventKind = Literal["event", "action", "state"]
EventPhase = Literal["start", "end"]


@dataclass(frozen=True, slots=True)
class Event:
    """One line of the event log (docs/event-log.md).

    kind "event": something the detectors found (blink, microsleep, long_distraction, ...).
    kind "action": something the policy did (chime, haptic_seat, hazard_lights, ...).
    kind "state": a change of a slow state (calibrated, monitoring_active, ...).
    """

    t: float
    kind: EventKind
    name: str
    phase: EventPhase | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_json_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"t": round(self.t, 4), "kind": self.kind, "name": self.name}
        if self.phase is not None:
            out["phase"] = self.phase
        if self.detail:
            out["detail"] = {k: _json_safe(v) for k, v in self.detail.items()}
        return out


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    if isinstance(value, np.generic):
        return _json_safe(value.item())
    if isinstance(value, Mapping):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class DriverState:
    """The pipeline's per-frame summary of the driver, what the policy and the CAN / serial
    status read. `active` holds the names of duration events that started and have not ended
    (driver_absent, sleep, long_distraction, ...); `values` holds every detector's per-frame
    columns (keys documented in docs/features.md)."""

    t: float
    face_present: bool
    active: frozenset[str] = frozenset()
    values: Mapping[str, Scalar] = field(default_factory=dict)

    def value(self, key: str, default: Scalar = None) -> Scalar:
        return self.values.get(key, default)


@dataclass(frozen=True, slots=True)
class PolicyState:
    """What the policy engine decided at t: the output every actuator sink (CAN warning
    frame, serial, log) encodes. Action names are documented in docs/policy.md:
    visual_icon, chime, voice_prompt, haptic_seat, haptic_wheel, suggest_break,
    adas_sensitivity, hazard_lights, slow_down_request, mrm_request, calm_cabin."""

    t: float
    condition: str | None = None  # the highest-priority condition driving the actions now
    level: int = 0  # 0 none, 1 advisory, 2 warning, 3 intervention
    actions: frozenset[str] = frozenset()
    monitoring_active: bool = True  # False below the speed / ignition gates
    suppressed_by_ack: bool = False
    # Start of the current warning that asks for the eyes back on the road (level >= 2 of a
    # clear_on_forward_gaze condition): what the unresponsive rule's "no return" clock waits on.
    warning_since_t: float | None = None
    stage: int = 0  # ladder stage (0-based) of `condition` (docs/policy.md)
    # Start of the warning shown now, whatever its kind: level > 0 without a break and the same
    # `condition` since then (WarningActiveTime on CAN, active_time_ds on serial).
    shown_since_t: float | None = None


@dataclass(frozen=True, slots=True)
class FrameResult:
    """What the Pipeline decided at t: the record every sink receives (event log, feature
    table, journal, CAN, serial). One per frame, plus the results of moments without a
    usable picture (a camera fault, a reload, the final "monitoring off")."""

    t: float
    features: Features
    vehicle: VehicleState
    state: DriverState
    events: list[Event] = field(default_factory=list)  # detector events and policy actions
    policy: PolicyState | None = None  # what the policy engine decided at t (None: no policy)
    # The picture statistics camera health judged, when this result is a frame's (None: a
    # result between frames); `judged`: the frame went through perception and the detectors.
    picture: FrameStats | None = None
    judged: bool = False

    def row(self) -> dict[str, Any]:
        """The per-frame table row (docs/features.md): the detectors' inputs (features, the
        picture's statistics, the vehicle), then every detector's state columns."""
        row: dict[str, Any] = self.features.columns()
        row.update(self.picture.columns() if self.picture is not None else NO_FRAME_COLUMNS)
        row[FRAME_JUDGED] = self.judged
        row.update(self.vehicle.columns())
        row.update(self.state.values)
        return row


def input_columns(results: list[FrameResult]) -> dict[str, list[Any]]:
    """The columns of `FrameResult.row()` before the detectors' state (features, picture
    statistics, judged, vehicle), column by column over many results: each list holds what
    `[r.row()[name] for r in results]` would, where no result's `state.values` holds `name`
    too (the Parquet writer checks that), without building a dict per result."""
    features = [r.features for r in results]
    columns: dict[str, list[Any]] = {name: list(map(operator.attrgetter(name), features)) for name in _BEFORE_SKIN}
    skins = [f.skin_rgb if f.skin_rgb is not None else _NO_SKIN for f in features]
    for k, name in enumerate(("skin_r", "skin_g", "skin_b")):
        columns[name] = [rgb[k] for rgb in skins]
    columns.update((name, list(map(operator.attrgetter(name), features))) for name in _AFTER_SKIN)
    pictures = [r.picture for r in results]
    for name in _FRAME_STATS_FIELDS:
        columns[FRAME_PREFIX + name] = [getattr(p, name) if p is not None else None for p in pictures]
    columns[FRAME_JUDGED] = [r.judged for r in results]
    vehicles = [r.vehicle for r in results]
    columns.update((VEHICLE_PREFIX + name, list(map(operator.attrgetter(name), vehicles))) for name in VEHICLE_FIELDS)
    return columns
