"""The small frozen records passed along the flow (DESIGN.md "Data flow").

Every record carries `t`: seconds, monotonic, from the frame's capture time or the log.
Windows and durations downstream are computed from these times, never from frame counts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

Scalar = float | int | bool | str | None


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
    # Eye-region luma over skin luma (perception/eye_region.py): ~0.8-1.1 with the eyes
    # visible (open or closed), far lower behind dark lenses.
    eye_luma_ratio: float = math.nan
    # Iris visibility per eye (perception/eye_region.py): ~0.4-0.9 with the iris showing
    # between the lids (open eyes, looking down included), below ~0.45 on closed lids; NaN
    # when the eye is too small or too dark to measure.
    iris_contrast_left: float = math.nan
    iris_contrast_right: float = math.nan

    def columns(self) -> dict[str, Scalar]:
        """Flat per-frame row for features.csv / features.parquet."""
        row: dict[str, Scalar] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name == "skin_rgb":
                r, g, b = value if value is not None else (math.nan,) * 3
                row.update(skin_r=r, skin_g=g, skin_b=b)
            else:
                row[name] = value
        return row


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
        """True when the speed is known to be >= kph, or unknown (treated as moving)."""
        return self.speed_kph is None or self.speed_kph >= kph


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
    warning_since_t: float | None = None  # start of the current driver-facing warning
    stage: int = 0  # ladder stage (0-based) of `condition` (docs/policy.md)


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

    def row(self) -> dict[str, Scalar]:
        """The per-frame table row: features, then every detector's state columns."""
        row = self.features.columns()
        row.update(self.state.values)
        return row
