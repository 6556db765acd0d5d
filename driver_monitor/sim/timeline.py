"""Turn a Scenario into what happens at each time t: the commanded driver and camera state,
the vehicle's signals, and (sim/labels.py) the ground-truth events.

Everything is a function of t and the scenario's seed, never of the frame rate: natural
blinks, head sway and the heart's phase are laid out in continuous time up front, so two
frame rates sample the same drive. Per-frame camera randomness (noise field, vibration)
comes from a generator seeded with (seed, frame index).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from driver_monitor.messages import VehicleState
from driver_monitor.perception.geometry import head_pose_from_matrix, rotation_matrix
from driver_monitor.sim import scenario as sc
from driver_monitor.sim.expression_rig import UNITS as EXPRESSION_UNITS
from driver_monitor.sim.renderer import RenderState

# Lid travel times: closing ~0.1 s, reopening ~0.15-0.2 s in spontaneous blinks (Evinger et
# al. 1991; Stern et al. 1984); scaled down for shorter blinks.
BLINK_CLOSE_S = 0.08
BLINK_OPEN_S = 0.14
# Heart phase integration step (the pulse is exact to far below a frame at any fps).
PULSE_STEP_S = 0.001
# Natural blinks keep this far from scripted eye behaviours so they do not merge with them.
BLINK_CLEARANCE_S = 0.6
# A drowsy nod's lid closure, as fractions of the nod's duration: the lids are half closed
# shortly after the head starts to drop and half open again before it is back (the head is
# below a 5 deg band from ~3 % to ~89 % of a nod's time), so the eyes are shut for most of
# the head-down time, as the nod rule in docs/drowsiness.md expects of nodding off.
NOD_EYES_CLOSE_AT = 0.1
NOD_EYES_OPEN_AT = 0.8


@dataclass(frozen=True, slots=True)
class Span:
    """One scripted closure / pose / jaw movement: rises around `start`, falls around `end`."""

    start: float
    end: float
    ramp_in: float
    ramp_out: float
    ease: str = "smooth"

    def value(self, t: float) -> float:
        rise = _ramp((t - self.start) / self.ramp_in + 0.5, self.ease) if self.ramp_in > 0 else float(t >= self.start)
        fall = _ramp((self.end - t) / self.ramp_out + 0.5, self.ease) if self.ramp_out > 0 else float(t < self.end)
        return min(rise, fall)


def _ramp(x: float, ease: str) -> float:
    x = min(max(x, 0.0), 1.0)
    if ease == "step":
        return 1.0 if x >= 0.5 else 0.0
    if ease == "linear":
        return x
    return x * x * (3.0 - 2.0 * x)  # smoothstep


def closure_span(start: float, duration: float, ease: str = "smooth", close_s: float = BLINK_CLOSE_S, open_s: float = BLINK_OPEN_S) -> Span:
    """Lid closure crossing 50 % at `start` and again at `start + duration`."""
    ramp_in = min(close_s, duration)
    ramp_out = min(open_s, duration)
    return Span(start, start + duration, ramp_in, ramp_out, ease)


def nod_closure_span(start: float, duration: float) -> Span:
    """The lid closure of a nod with the eyes closed (NOD_EYES_*)."""
    return closure_span(start + NOD_EYES_CLOSE_AT * duration, (NOD_EYES_OPEN_AT - NOD_EYES_CLOSE_AT) * duration)


def doze_sink_span(b: sc.Doze) -> Span:
    """How far the head has sunk in a doze (0..1): from the closure's onset over sink_s, back
    up over wake_s, half-way when the eyes are half open again."""
    return Span(b.at_s + b.sink_s / 2.0, b.at_s + b.duration_s, b.sink_s, min(b.wake_s, b.duration_s), b.ease)


def compose_pose(neutral: tuple[float, float, float], offset: tuple[float, float, float]) -> tuple[float, float, float]:
    """(yaw, pitch, roll) the camera sees of a head turned by `offset` in the car from its
    neutral pose `neutral` (as the camera sees it): R = R(neutral) @ R(offset). A glance is a
    rotation of the head about the driver's own axes, so from a camera at the mirror (neutral
    yaw 18, pitch 22) a glance to the left mirror is not simply yaw 18 + 45: the driver's
    vertical axis is tilted in the camera's view and the turn reads partly as roll. With a
    neutral pose of 0 this is the offset itself (returned as is)."""
    if neutral == (0.0, 0.0, 0.0):
        return offset
    m = np.eye(4)
    m[:3, :3] = rotation_matrix(*neutral) @ rotation_matrix(*offset)
    pose = head_pose_from_matrix(m)
    return pose.yaw_deg, pose.pitch_deg, pose.roll_deg


@dataclass(frozen=True, slots=True)
class NaturalBlink:
    onset_s: float
    duration_s: float


@dataclass(frozen=True, slots=True)
class _Persist:
    """A setting that ramps from its previous value to `value` starting at `at`."""

    at: float
    ramp: float
    value: float
    ease: str


class Timeline:
    def __init__(self, scenario: sc.Scenario):
        self.scenario = s = scenario
        self.duration_s = s.duration_s
        self._eye_spans: list[tuple[Span, float, str]] = []  # (span, closure, eye)
        self._pose_spans: list[tuple[Span, float, float, float, float]] = []  # span, head yaw/pitch, gaze yaw/pitch
        self._nods: list[tuple[float, float, float]] = []  # start, duration, amount
        self._sinks: list[tuple[Span, float, float]] = []  # doze: span, head pitch, head roll
        self._jaw_spans: list[tuple[Span, float]] = []
        self._talks: list[sc.Talk] = []
        self._expressions: list[tuple[Span, sc.Expression]] = []
        self._absent: list[tuple[float, float]] = []
        self._covers: list[Span] = []
        self._sunglasses: list[tuple[float, float]] = []
        self.zone_spans: list[tuple[float, float, str]] = []  # start, end, zone (eyes off road)
        light_gain, light_grad, hr = [], [], []
        for b in s.timeline:
            if isinstance(b, sc.Blink):
                self._eye_spans.append((closure_span(b.at_s, b.duration_s, b.ease), 1.0, b.eye))
            elif isinstance(b, sc.SlowBlink):
                self._eye_spans.append((closure_span(b.at_s, b.duration_s, b.ease, 0.2, 0.3), 1.0, "both"))
            elif isinstance(b, sc.EyesClosed):
                tr = b.transition_s
                self._eye_spans.append((closure_span(b.at_s, b.duration_s, b.ease, tr, tr * 1.5), b.closure, "both"))
            elif isinstance(b, sc.Yawn):
                span = Span(b.at_s, b.at_s + b.duration_s, min(b.transition_s, b.duration_s), min(b.transition_s, b.duration_s), b.ease)
                self._jaw_spans.append((span, b.amount))
                if b.eye_closure > 0:
                    self._eye_spans.append((span, b.eye_closure, "both"))
            elif isinstance(b, sc.Talk):
                self._talks.append(b)
            elif isinstance(b, sc.Expression):
                tr = min(b.transition_s, b.duration_s)
                self._expressions.append((Span(b.at_s, b.at_s + b.duration_s, tr, tr, b.ease), b))
            elif isinstance(b, (sc.Glance, sc.LookDown)):
                if isinstance(b, sc.Glance):
                    zone = b.zone or "custom"
                    yaw, pitch = sc.ZONES[b.zone] if b.zone else (b.yaw_deg or 0.0, b.pitch_deg or 0.0)
                else:
                    zone = b.target
                    yaw, pitch = sc.ZONES[b.target]
                tr = min(b.transition_s, b.duration_s)
                span = Span(b.at_s, b.at_s + b.duration_s, tr, tr, b.ease)
                hs = b.head_share
                self._pose_spans.append((span, yaw * hs, pitch * hs, yaw * (1 - hs), pitch * (1 - hs)))
                self.zone_spans.append((b.at_s, b.at_s + b.duration_s, zone))
            elif isinstance(b, sc.Nod):
                self._nods.append((b.at_s, b.duration_s, b.amount_deg))
                if b.eyes_closed:
                    self._eye_spans.append((nod_closure_span(b.at_s, b.duration_s), 1.0, "both"))
            elif isinstance(b, sc.Doze):
                tr = b.transition_s
                self._eye_spans.append((closure_span(b.at_s, b.duration_s, b.ease, tr, tr), b.closure, "both"))
                self._sinks.append((doze_sink_span(b), b.sink_deg, b.roll_deg))
            elif isinstance(b, sc.Absent):
                self._absent.append((b.at_s, b.at_s + b.duration_s))
            elif isinstance(b, sc.Cover):
                tr = min(b.transition_s, b.duration_s)
                self._covers.append(Span(b.at_s, b.at_s + b.duration_s, tr, tr, b.ease))
            elif isinstance(b, sc.Sunglasses):
                end = b.at_s + b.duration_s if b.duration_s is not None else math.inf
                self._sunglasses.append((b.at_s, end))
            elif isinstance(b, sc.Lighting):
                light_gain.append(_Persist(b.at_s, b.ramp_s, b.gain, b.ease))
                light_grad.append(_Persist(b.at_s, b.ramp_s, b.gradient, b.ease))
            elif isinstance(b, sc.HeartRate):
                hr.append(_Persist(b.at_s, b.ramp_s, b.bpm, b.ease))
        self._light_gain = sorted(light_gain, key=lambda p: p.at)
        self._light_grad = sorted(light_grad, key=lambda p: p.at)
        self._hr = sorted(hr, key=lambda p: p.at)
        rng = np.random.default_rng([s.seed, 1])
        self.natural_blinks = self._natural_blinks(rng)
        for nb in self.natural_blinks:
            self._eye_spans.append((closure_span(nb.onset_s, nb.duration_s), 1.0, "both"))
        self._eye_spans.sort(key=lambda e: e[0].start)
        self._sway = self._sway_components(np.random.default_rng([s.seed, 2]))
        self._talk_syllables = self._syllables(np.random.default_rng([s.seed, 3]))
        self._pulse_phase = self._integrate_heart()

    # -- continuous-time layout ------------------------------------------------------------
    def _blink_params(self, t: float) -> tuple[float, float]:
        keys = sorted(self.scenario.driver.blinking, key=lambda k: k.t_s)
        ts = [k.t_s for k in keys]
        rate = float(np.interp(t, ts, [k.rate_per_min for k in keys]))
        dur = float(np.interp(t, ts, [k.duration_s for k in keys]))
        return rate, dur

    def _busy(self, t: float) -> bool:
        """No natural blink near scripted eye behaviour or while the eyes cannot be seen."""
        c = BLINK_CLEARANCE_S
        for span, _, _ in self._eye_spans:
            if span.start - span.ramp_in - c <= t <= span.end + span.ramp_out + c:
                return True
        for a, b in self._absent + self._sunglasses:
            if a - c <= t <= b + c:
                return True
        return any(cv.start - c <= t <= cv.end + c for cv in self._covers)

    def _natural_blinks(self, rng: np.random.Generator) -> list[NaturalBlink]:
        """Blink times as a renewal process: gamma-distributed intervals (shape 3, a common
        fit to inter-blink intervals) with the mean 60 / rate at the time."""
        out: list[NaturalBlink] = []
        t = 0.0
        while True:
            rate, dur = self._blink_params(t)
            if rate <= 0:
                t += 1.0
                if t > self.duration_s:
                    break
                continue
            t += float(rng.gamma(3.0, (60.0 / rate) / 3.0))
            jitter = float(rng.uniform(0.85, 1.15))
            if t > self.duration_s - 0.5:
                break
            d = dur * jitter
            if not self._busy(t) and not self._busy(t + d):
                out.append(NaturalBlink(round(t, 4), round(d, 4)))
        return out

    def _sway_components(self, rng: np.random.Generator) -> list[tuple[float, float, float, int]]:
        amp = self.scenario.driver.head_sway_deg
        comps = []
        for axis in range(3):
            for _ in range(3):
                comps.append((amp / 3.0 * (0.5 if axis == 2 else 1.0), float(rng.uniform(0.05, 0.35)), float(rng.uniform(0, 2 * math.pi)), axis))
        return comps

    def _syllables(self, rng: np.random.Generator) -> list[list[tuple[float, float, float]]]:
        """Per talk behaviour: syllables (centre time, half width, opening), each < 0.4 s."""
        out = []
        for talk in self._talks:
            sylls = []
            t = talk.at_s
            period = 1.0 / talk.syllables_per_s
            while t < talk.at_s + talk.duration_s:
                half = period * float(rng.uniform(0.3, 0.5))
                sylls.append((t + half, half, talk.amount * float(rng.uniform(0.4, 1.0))))
                t += period * float(rng.uniform(0.8, 1.6))
            out.append(sylls)
        return out

    def _integrate_heart(self) -> np.ndarray:
        n = int(math.ceil(self.duration_s / PULSE_STEP_S)) + 2
        ts = np.arange(n) * PULSE_STEP_S
        bpm = np.array([self.heart_rate_bpm(float(t)) for t in ts[:: 100]])  # 0.1 s grid
        bpm_fine = np.interp(ts, ts[::100], bpm)
        return np.concatenate([[0.0], np.cumsum(bpm_fine[:-1] / 60.0 * 2 * math.pi * PULSE_STEP_S)])

    # -- values at t -----------------------------------------------------------------------
    @staticmethod
    def _persist(keys: list[_Persist], default: float, t: float) -> float:
        value = default
        for k in keys:
            if t < k.at:
                break
            prev = value
            frac = 1.0 if k.ramp <= 0 else _ramp((t - k.at) / k.ramp, k.ease if k.ease != "step" else "linear")
            value = prev + (k.value - prev) * frac
        return value

    def heart_rate_bpm(self, t: float) -> float:
        return self._persist(self._hr, self.scenario.driver.heart_rate_bpm, t)

    def eyes_visible(self, t: float) -> bool:
        return self.face_visible(t) and not self.sunglasses(t) and self.covered(t) < 0.5

    def face_visible(self, t: float) -> bool:
        return not any(a <= t < b for a, b in self._absent)

    def sunglasses(self, t: float) -> bool:
        return any(a <= t < b for a, b in self._sunglasses)

    def covered(self, t: float) -> float:
        return max((c.value(t) for c in self._covers), default=0.0)

    def zone(self, t: float) -> str:
        """Where the driver looks (the scripted target while half-way or more into a glance)."""
        for a, b, z in self.zone_spans:
            if a <= t < b:
                return z
        return "road"

    def state(self, t: float) -> dict[str, float | bool | str]:
        """Every commanded value at t (the truth.csv row without the camera extras)."""
        d = self.scenario.driver
        # Head movements in the car, about the driver's own axes; seen through the neutral
        # pose (the camera's mount) at the end.
        yaw = pitch = roll = 0.0
        gaze_yaw = gaze_pitch = 0.0
        for span, hy, hp, gy, gp in self._pose_spans:
            v = span.value(t)
            if v > 0:
                yaw += hy * v
                pitch += hp * v
                gaze_yaw += gy * v
                gaze_pitch += gp * v
        for start, dur, amount in self._nods:
            if start <= t < start + dur:
                # Drop fast, recover slower (a drowsy head nod): half-sine shape skewed early.
                x = (t - start) / dur
                pitch += amount * math.sin(math.pi * min(1.0, x ** 0.7))
        for span, sink_pitch, sink_roll in self._sinks:
            v = span.value(t)
            pitch += sink_pitch * v
            roll += sink_roll * v
        sway = [0.0, 0.0, 0.0]
        for amp, f, ph, axis in self._sway:
            sway[axis] += amp * math.sin(2 * math.pi * f * t + ph)
        yaw, pitch, roll = compose_pose((d.head.yaw_deg, d.head.pitch_deg, d.head.roll_deg),
                                        (yaw + sway[0], pitch + sway[1], roll + sway[2]))
        left = right = 0.0
        for span, closure, eye in self._eye_spans:
            if span.start - span.ramp_in > t:
                break
            v = span.value(t) * closure
            if v > 0:
                if eye in ("both", "left"):
                    left = max(left, v)
                if eye in ("both", "right"):
                    right = max(right, v)
        jaw = max((span.value(t) * amount for span, amount in self._jaw_spans), default=0.0)
        for sylls in self._talk_syllables:
            for centre, half, opening in sylls:
                if abs(t - centre) < half:
                    jaw = max(jaw, opening * math.sin(math.pi * (0.5 + 0.5 * (t - centre) / half)))
        units = dict.fromkeys(EXPRESSION_UNITS, 0.0)
        for span, e in self._expressions:
            v = span.value(t)
            if v > 0:
                for unit in EXPRESSION_UNITS:
                    units[unit] = max(units[unit], v * getattr(e, unit))
        i = min(int(round(t / PULSE_STEP_S)), len(self._pulse_phase) - 1)
        vehicle = self.vehicle(t)
        return {
            "head_yaw_deg": yaw,
            "head_pitch_deg": pitch,
            "head_roll_deg": roll,
            "eye_closure_left": left,
            "eye_closure_right": right,
            "gaze_yaw_deg": gaze_yaw,
            "gaze_pitch_deg": gaze_pitch,
            "jaw_open": jaw,
            **units,
            "face_visible": self.face_visible(t),
            "face_covered": self.covered(t),
            "sunglasses": self.sunglasses(t),
            "eyes_visible": self.eyes_visible(t),
            "gaze_zone": self.zone(t),
            "eyes_on_road": self.zone(t) == "road",
            "lighting_gain": self._persist(self._light_gain, 1.0, t),
            "lighting_gradient": self._persist(self._light_grad, 0.0, t),
            "nir": self.scenario.camera.nir,
            "heart_rate_bpm": self.heart_rate_bpm(t),
            "pulse_phase_rad": float(self._pulse_phase[i] % (2 * math.pi)),
            "speed_kph": vehicle.speed_kph,
            "indicator_left": vehicle.indicator_left,
            "indicator_right": vehicle.indicator_right,
            "gear": vehicle.gear,
            "driver_ack": vehicle.driver_ack,
            "ignition_on": vehicle.ignition_on,
        }

    def render_state(self, row: dict[str, float | bool | str], frame_index: int) -> RenderState:
        cam = self.scenario.camera
        rng = np.random.default_rng([self.scenario.seed, 4, frame_index])
        jx, jy = (rng.normal(0.0, cam.jitter_px, 2) if cam.jitter_px > 0 else (0.0, 0.0))
        return RenderState(
            head_yaw_deg=float(row["head_yaw_deg"]),
            head_pitch_deg=float(row["head_pitch_deg"]),
            head_roll_deg=float(row["head_roll_deg"]),
            eye_closure_left=float(row["eye_closure_left"]),
            eye_closure_right=float(row["eye_closure_right"]),
            gaze_yaw_deg=float(row["gaze_yaw_deg"]),
            gaze_pitch_deg=float(row["gaze_pitch_deg"]),
            jaw_open=float(row["jaw_open"]),
            **{unit: float(row.get(unit, 0.0)) for unit in EXPRESSION_UNITS},  # type: ignore[arg-type]
            face_visible=bool(row["face_visible"]),
            covered=float(row["face_covered"]),
            sunglasses=bool(row["sunglasses"]),
            lighting_gain=float(row["lighting_gain"]),
            lighting_gradient=float(row["lighting_gradient"]),
            nir=bool(row["nir"]),
            pulse=math.sin(float(row["pulse_phase_rad"])),
            pulse_amplitude=self.scenario.driver.pulse_amplitude,
            noise_sigma=cam.noise_sigma,
            noise_index=int(rng.integers(0, 1 << 16)),
            jitter_x_px=float(jx),
            jitter_y_px=float(jy),
            exposure_frames=cam.exposure_s * cam.fps,
        )

    def vehicle(self, t: float) -> VehicleState:
        v = self.scenario.vehicle
        keys = sorted(v.timeline, key=lambda k: k.t_s)
        fields: dict[str, object] = {"indicator_left": None, "indicator_right": None, "gear": None, "ignition_on": None}
        speed_pts = [(k.t_s, k.speed_kph) for k in keys if k.speed_kph is not None]
        for k in keys:
            if k.t_s > t:
                break
            for name in fields:
                value = getattr(k, name)
                if value is not None:
                    fields[name] = value
        speed = None
        if speed_pts:
            ts, vs = zip(*speed_pts, strict=True)
            speed = float(np.interp(t, ts, vs)) if t >= ts[0] else None
        ack = any(a <= t < a + v.ack_hold_s for a in v.ack_s)
        return VehicleState(t=t, speed_kph=speed, driver_ack=ack, **fields)  # type: ignore[arg-type]


def frame_times(duration_s: float, fps: float) -> list[float]:
    """Frame times on the millisecond grid (the MKV's time base), strictly increasing: every
    i / fps before the end of the drive (ceil, not floor, of duration x fps: a 1 s drive at
    29.97 fps has 30 frames, the last at 0.968 s)."""
    n = int(math.ceil(duration_s * fps - 1e-9))
    times: list[float] = []
    for i in range(n):
        t = round(i * 1000.0 / fps) / 1000.0
        if (not times or t > times[-1]) and t < duration_s:
            times.append(t)
    return times
