"""Scenario YAML: a scripted drive (docs/simulation.md).

A scenario names a face, a camera, the driver's background behaviour (natural blinking,
heart rate, head sway), a vehicle timeline and a timeline of behaviours. Every behaviour has
`at_s` (when it is half-way in: the label onset) and, where it lasts, `duration_s` (until it
is half-way out), so the ground truth is exactly the script. Unknown keys are errors; a bad
scenario is reported as one line per problem with the dotted path of the key.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from driver_monitor.config.loader import format_validation_error, parse_yaml_mapping, read_yaml_text
from driver_monitor.errors import ConfigError

Ease = Literal["linear", "smooth", "step"]

# Gaze targets in the cabin of a left-hand-drive car, as the direction of the driver's gaze
# (head + eyes) in degrees, yaw > 0 to the driver's left, pitch > 0 down. Angles from
# naturalistic-driving glance studies with the camera on the steering column (mirrors
# 40-60 deg to the sides, the centre stack ~30 deg right and 25 deg down, the lap ~45 deg
# down); `road` is straight ahead.
ZONES: dict[str, tuple[float, float]] = {
    "road": (0.0, 0.0),
    "left_mirror": (45.0, 5.0),
    "right_mirror": (-55.0, 5.0),
    "rear_mirror": (-25.0, -12.0),
    "instrument_cluster": (0.0, 20.0),
    "centre_stack": (-30.0, 25.0),
    "passenger": (-60.0, 0.0),
    "left_window": (65.0, 0.0),
    "phone": (-10.0, 45.0),  # a phone held low / in the lap
    "lap": (0.0, 50.0),
}
# Glances to these serve the driving task (Euro NCAP / AttenD give them grace): they count
# for long distraction but not for visual time-sharing (sim/labels.py).
DRIVING_ZONES = frozenset({"left_mirror", "right_mirror", "rear_mirror", "instrument_cluster"})


class _Model(BaseModel):
    # No infinities: a behaviour of `duration_s: .inf` passed every `gt=0` bound (a talk of
    # it never finished laying out its syllables); NaN fails the bounds already.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Camera(_Model):
    fps: float = Field(30.0, gt=0.0, le=240.0)
    width: int = Field(640, ge=64, le=3840)
    height: int = Field(480, ge=48, le=2160)
    noise_sigma: float = Field(1.0, ge=0.0, le=40.0)  # sensor noise, grey levels (std)
    jitter_px: float = Field(0.0, ge=0.0, le=20.0)  # vibration: std of the image offset
    exposure_s: float = Field(0.0, ge=0.0, le=0.05)  # > 0: motion blur over the exposure
    nir: bool = False  # monochrome near-infrared camera


class BlinkRate(_Model):
    """Natural blinking from t_s on (interpolated linearly between keyframes)."""

    t_s: float = Field(0.0, ge=0.0)
    # ~15-20 blinks/min awake (Bentivoglio et al. 1997); rested blinks < 0.2 s, drowsy
    # blinks lengthen towards 0.5 s (Wilkinson 2013, REFERENCE.md "Metrics").
    rate_per_min: float = Field(15.0, ge=0.0, le=60.0)
    duration_s: float = Field(0.15, ge=0.05, le=0.9)


class Head(_Model):
    """The driver's neutral pose (looking at the road ahead) as the camera sees it: where the
    camera is mounted (config/camera_mount.py PLACEMENTS: a mirror camera sees the road-ahead
    head at yaw +18, pitch +22). Every head movement of the script (glances, nods, sway) is a
    rotation of the head in the car, seen through this one (sim/timeline.py compose_pose)."""

    yaw_deg: float = Field(0.0, ge=-60.0, le=60.0)
    pitch_deg: float = Field(0.0, ge=-30.0, le=30.0)
    roll_deg: float = Field(0.0, ge=-30.0, le=30.0)


class Driver(_Model):
    face: str = "astronaut"  # bundled name (astronaut, obama, biden) or a photo path
    head: Head = Head()  # neutral pose
    head_sway_deg: float = Field(0.8, ge=0.0, le=10.0)  # slow natural head motion (amplitude)
    blinking: list[BlinkRate] = Field(default_factory=lambda: [BlinkRate()])
    heart_rate_bpm: float = Field(70.0, ge=30.0, le=220.0)
    # Relative green-channel pulse amplitude of facial skin: 0.2-1 % in rPPG studies.
    pulse_amplitude: float = Field(0.005, ge=0.0, le=0.02)

    @field_validator("blinking")
    @classmethod
    def _some_keyframe(cls, keys: list[BlinkRate]) -> list[BlinkRate]:
        if not keys:  # the rate between keyframes is interpolated: none leaves no rate at all
            raise ValueError("needs at least one keyframe ({t_s: 0, rate_per_min: 0} for no natural blinks)")
        return keys


class VehicleKey(_Model):
    """Vehicle signals from t_s on: speed is interpolated linearly, the rest step."""

    t_s: float = Field(ge=0.0)
    speed_kph: float | None = Field(None, ge=0.0, le=300.0)
    indicator_left: bool | None = None
    indicator_right: bool | None = None
    gear: Literal["P", "R", "N", "D"] | None = None
    ignition_on: bool | None = None


class Vehicle(_Model):
    timeline: list[VehicleKey] = Field(default_factory=lambda: [VehicleKey(t_s=0.0, speed_kph=80.0, gear="D", ignition_on=True, indicator_left=False, indicator_right=False)])
    ack_s: list[Annotated[float, Field(ge=0.0)]] = Field(default_factory=list)  # ACK button presses (each held ack_hold_s)
    ack_hold_s: float = Field(0.3, gt=0.0, le=5.0)
    # CAN log sample period. At least 1 ms: the DBC's messages cycle every 10 ms or more, and
    # a finer sampling only multiplies the samples (1 ns over an hour never finished).
    can_period_s: float = Field(0.02, ge=0.001, le=1.0)


class _Behaviour(_Model):
    at_s: float = Field(ge=0.0)
    ease: Ease = "smooth"


class Blink(_Behaviour):
    do: Literal["blink"]
    duration_s: float = Field(0.15, gt=0.0, le=1.0)
    eye: Literal["both", "left", "right"] = "both"


class SlowBlink(_Behaviour):
    do: Literal["slow_blink"]
    duration_s: float = Field(0.6, gt=0.0, le=1.0)


class EyesClosed(_Behaviour):
    do: Literal["eyes_closed"]
    duration_s: float = Field(gt=0.0)
    closure: float = Field(1.0, ge=0.0, le=1.0)
    transition_s: float = Field(0.2, ge=0.0, le=2.0)


class Yawn(_Behaviour):
    do: Literal["yawn"]
    duration_s: float = Field(5.0, gt=0.0, le=20.0)  # jaw past half-open (yawns ~6 s, >= 3.5 s)
    amount: float = Field(1.0, ge=0.0, le=1.0)
    transition_s: float = Field(1.2, ge=0.0, le=5.0)
    eye_closure: float = Field(0.3, ge=0.0, le=1.0)  # eyes narrow while yawning


class Talk(_Behaviour):
    do: Literal["talk"]
    duration_s: float = Field(gt=0.0)
    amount: float = Field(0.5, ge=0.0, le=1.0)  # peak jaw opening per syllable
    syllables_per_s: float = Field(4.0, gt=0.5, le=8.0)


class Glance(_Behaviour):
    do: Literal["glance"]
    duration_s: float = Field(gt=0.0)
    zone: str | None = None
    yaw_deg: float | None = Field(None, ge=-90.0, le=90.0)
    pitch_deg: float | None = Field(None, ge=-60.0, le=60.0)
    head_share: float = Field(0.7, ge=0.0, le=1.0)  # of the gaze shift made by the head
    transition_s: float = Field(0.3, ge=0.0, le=2.0)

    @model_validator(mode="after")
    def _target(self) -> Glance:
        if self.zone is None and self.yaw_deg is None and self.pitch_deg is None:
            raise ValueError("needs zone or yaw_deg / pitch_deg")
        if self.zone is not None and (self.yaw_deg is not None or self.pitch_deg is not None):
            raise ValueError("give zone or yaw_deg / pitch_deg, not both")
        if self.zone is not None and self.zone not in ZONES:
            raise ValueError(f"unknown zone {self.zone!r} (zones: {', '.join(ZONES)})")
        return self


class LookDown(_Behaviour):
    do: Literal["look_down"]
    duration_s: float = Field(gt=0.0)
    target: Literal["phone", "lap"] = "phone"
    head_share: float = Field(0.6, ge=0.0, le=1.0)
    transition_s: float = Field(0.4, ge=0.0, le=2.0)


class Nod(_Behaviour):
    do: Literal["nod"]
    duration_s: float = Field(1.0, gt=0.0, le=5.0)
    amount_deg: float = Field(20.0, gt=0.0, le=45.0)
    # Nodding off: the lids close while the head drops and open as it comes back
    # (sim/timeline.py NOD_EYES_*); false for a nod with open eyes (agreeing, a cluster check).
    eyes_closed: bool = True


class Doze(_Behaviour):
    """Falling asleep at the wheel (the sleep posture): the eyes close and stay closed for
    `duration_s` while the head slowly sinks forward by `sink_deg` (and tilts by `roll_deg`)
    as the neck muscles relax; at the end the driver wakes with a jerk, eyes and head back
    within ~half a second. The closure is labelled like `eyes_closed` (microsleep / sleep /
    unresponsive by its length); the sinking head is no glance (the gaze zone stays `road`)
    and, lasting longer than a nod, no nod."""

    do: Literal["doze"]
    duration_s: float = Field(gt=0.0)
    # Loss of neck-muscle tone lets the head drop 10-25 deg over seconds (a slow "head
    # drop", unlike a nod's ~1 s drop and recovery).
    sink_deg: float = Field(20.0, ge=0.0, le=35.0)
    sink_s: float = Field(3.0, gt=0.0, le=30.0)  # from the closure's onset to the full sink
    roll_deg: float = Field(0.0, ge=-30.0, le=30.0)  # > 0: towards the right shoulder
    wake_s: float = Field(0.5, gt=0.0, le=3.0)  # the head's way back up at the end
    closure: float = Field(1.0, ge=0.0, le=1.0)
    transition_s: float = Field(0.3, ge=0.0, le=2.0)  # lids (drowsy lids close slowly)


class Expression(_Behaviour):
    """Facial action units held for `duration_s` (sim/expression_rig.py), each 0 none .. 1
    FACS intensity E, ramping in and out over transition_s. AU4 + AU7 + AU24 together are
    the EMFACS anger prototype (labelled `anger`, sim/labels.py); brows and lids alone are
    a squint (into the sun) or concentration."""

    do: Literal["expression"]
    duration_s: float = Field(gt=0.0)
    brow_lower: float = Field(0.0, ge=0.0, le=1.0)  # AU4
    lid_tighten: float = Field(0.0, ge=0.0, le=1.0)  # AU7
    lip_press: float = Field(0.0, ge=0.0, le=1.0)  # AU24
    nose_wrinkle: float = Field(0.0, ge=0.0, le=1.0)  # AU9
    transition_s: float = Field(1.0, ge=0.0, le=5.0)


class Absent(_Behaviour):
    do: Literal["absent"]
    duration_s: float = Field(gt=0.0)


class Cover(_Behaviour):
    do: Literal["cover"]
    duration_s: float = Field(gt=0.0)
    transition_s: float = Field(0.3, ge=0.0, le=2.0)


class Sunglasses(_Behaviour):
    do: Literal["sunglasses"]
    duration_s: float | None = Field(None, gt=0.0)  # None: until the end


class Lighting(_Behaviour):
    do: Literal["lighting"]
    gain: float = Field(1.0, ge=0.05, le=3.0)
    gradient: float = Field(0.0, ge=-1.0, le=1.0)  # brighter on the image's left (-) / right (+)
    ramp_s: float = Field(0.0, ge=0.0, le=600.0)


class HeartRate(_Behaviour):
    do: Literal["heart_rate"]
    bpm: float = Field(ge=30.0, le=220.0)
    ramp_s: float = Field(0.0, ge=0.0, le=600.0)


class Label(_Behaviour):
    """An explicit ground-truth event the script implies but cannot derive (e.g. drowsy)."""

    do: Literal["label"]
    name: str
    duration_s: float | None = Field(None, gt=0.0)  # None: an instantaneous event
    detail: dict[str, Any] = Field(default_factory=dict)


Behaviour = Annotated[
    Blink | SlowBlink | EyesClosed | Yawn | Talk | Glance | LookDown | Nod | Doze | Expression | Absent | Cover
    | Sunglasses | Lighting | HeartRate | Label,
    Field(discriminator="do"),
]
BEHAVIOURS = ("blink", "slow_blink", "eyes_closed", "yawn", "talk", "glance", "look_down", "nod", "doze", "expression", "absent", "cover",
              "sunglasses", "lighting", "heart_rate", "label")


class Expected(_Model):
    """One ground-truth event the script must produce (natural blinks, being random, are not
    listed); tests check that the labels derived from the script match this list exactly."""

    t: float = Field(ge=0.0)
    name: str
    phase: Literal["start", "end"] | None = None


class Scenario(_Model):
    name: str
    description: str = ""
    duration_s: float = Field(gt=0.0, le=3600.0)
    seed: int = Field(0, ge=0)
    camera: Camera = Camera()
    driver: Driver = Driver()
    vehicle: Vehicle = Vehicle()
    timeline: list[Behaviour] = Field(default_factory=list)
    expect: list[Expected] | None = None  # the labels the script implies (see Expected)

    @model_validator(mode="after")
    def _inside(self) -> Scenario:
        problems = _timing_problems(self)
        if problems:
            raise ValueError("\n".join(problems))
        return self


# Behaviours that close the eyes (closure >= 0.8, sim/labels.py CLOSED) and that turn the head
# and eyes away: two of one kind at once render as one movement (the lids take the larger
# closure, the head the sum of both turns) but would be labelled as two.
def _closes_eyes(b: Any) -> bool:
    return (isinstance(b, (Blink, SlowBlink)) or (isinstance(b, (EyesClosed, Doze)) and b.closure >= 0.8)
            or (isinstance(b, Nod) and b.eyes_closed))


def _looks_away(b: Any) -> bool:
    return isinstance(b, (Glance, LookDown))


def _timing_problems(s: Scenario) -> list[str]:
    """`dotted.key: message` for what the drive cannot render as scripted: a behaviour at or
    past the end (the last frame is before duration_s; a label there shows in no frame, one
    lasting past it would be labelled by a length the drive never reaches), an ACK press
    after the end, and overlapping eye closures or glances (rendered as one, labelled as two)."""
    end = s.duration_s
    out = []
    for i, b in enumerate(s.timeline):
        if b.at_s >= end:
            out.append(f"timeline.{i}.at_s: {b.at_s:g} is at or after the end of the drive (duration_s {end:g})")
        elif getattr(b, "duration_s", None) is not None and b.at_s + b.duration_s > end + 1e-9:
            out.append(f"timeline.{i}.duration_s: ends at {b.at_s + b.duration_s:g} s, after the end of the drive "
                       f"(duration_s {end:g}); shorten it or lengthen the drive")
    for i, a in enumerate(s.vehicle.ack_s):
        if a >= end:
            out.append(f"vehicle.ack_s.{i}: {a:g} is at or after the end of the drive (duration_s {end:g})")
    for kind in (_closes_eyes, _looks_away):
        spans = sorted((b.at_s, b.at_s + b.duration_s, i, b.do) for i, b in enumerate(s.timeline) if kind(b))
        for (a0, a1, i, ado), (b0, b1, j, bdo) in zip(spans, spans[1:], strict=False):
            # Back-to-back is one movement into the next (labels.py merges glances); a closure
            # touching another is one closure (the lids never reopen past half-way between).
            if b0 < a1 or (kind is _closes_eyes and b0 <= a1):
                out.append(f"timeline.{j}: {bdo} {b0:g}-{b1:g} s overlaps timeline.{i} ({ado} {a0:g}-{a1:g} s): "
                           "they would render as one movement but be labelled as two; script them apart or as one")
    return out


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; ConfigError with one line per problem."""
    path = Path(path)
    return parse_scenario(read_yaml_text(path, "scenario file"), source=str(path))


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    data = parse_yaml_mapping(text, source, "a mapping with name, duration_s, timeline, ...")
    if not data:  # an empty file, or comments only: one line, not each required key
        raise ConfigError([f"{source}: empty: a scenario needs at least name and duration_s (docs/simulation.md)"])
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        lines = format_validation_error(exc, "unknown key", _behaviour_message, _drop_union_tag)
        raise ConfigError([f"{source}: {line}" for line in split_timing_lines(lines)]) from None


def split_timing_lines(lines: list[str]) -> list[str]:
    """Scenario._inside's problems come as one top-level error: one line each, named by
    their own keys."""
    out = []
    for line in lines:
        if line.startswith(_TOP):
            out += line[len(_TOP):].split("\n")
        else:
            out.append(line)
    return out


_TOP = "(top level): "


def _drop_union_tag(loc: list[Any]) -> list[Any]:
    """timeline.3.glance.x -> timeline.3.x: pydantic inserts the behaviour's tag."""
    if len(loc) >= 3 and loc[0] == "timeline" and isinstance(loc[1], int) and loc[2] in BEHAVIOURS:
        del loc[2]
    return loc


def _behaviour_message(err: dict[str, Any]) -> str | None:
    if err["type"] == "union_tag_invalid":
        tag = str(err.get("ctx", {}).get("tag", err.get("input")))
        close = difflib.get_close_matches(tag, BEHAVIOURS, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        return f"unknown behaviour {tag!r} ({hint}behaviours: {', '.join(BEHAVIOURS)})"
    if err["type"] == "union_tag_not_found":
        return f"needs `do:` naming the behaviour ({', '.join(BEHAVIOURS)})"
    return None
