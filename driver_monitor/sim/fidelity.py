"""Fidelity of the renderer: what the real FaceLandmarker reads on rendered frames.

    python -m driver_monitor.sim.fidelity [--size 480x360] [--faces astronaut obama biden]

prints the table in docs/simulation.md. Each check holds a commanded state for HOLD_S
(tracked in VIDEO mode like a drive, at FPS) and reads the median of the last frames, so
the tracker has settled. Targets (issue 3): eyeBlink >= 0.6 at closure >= 0.9 and <= 0.3
open; yaw within 5 deg for |yaw| <= 40; pitch within 5 deg for |pitch| <= 20; jawOpen
>= 0.5 at a full yawn; the face found in >= 99 % of frames that show one, none when absent.

    python -m driver_monitor.sim.fidelity --head-down [--size 480x360]

prints the closed-eyes-at-head-down table (issue 12: the sleep posture): eyeBlink, EAR and
iris visibility (perception/eye_region.py) open and closed with the head 0, 10, 20 and 30 deg
down, and

    python -m driver_monitor.sim.fidelity --placements [--size 480x360]

the camera-placement table: for each documented camera mount (config/camera_mount.py), the
pose the landmarker reads for the driver's neutral pose and for the mirror and instrument
glances of the placement scenarios seen from it, and the eyes open and closed there.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from driver_monitor.config.camera_mount import PLACEMENTS
from driver_monitor.config.perception import PerceptionConfig
from driver_monitor.messages import Features, Frame
from driver_monitor.perception.features import extract_features
from driver_monitor.perception.tracker import MediaPipeFaceTracker
from driver_monitor.sim.renderer import Renderer, RenderState
from driver_monitor.sim.scenario import ZONES
from driver_monitor.sim.timeline import compose_pose

FPS = 30.0
HOLD_S = 0.3
READ_LAST = 3
YAWS_DEG = (-40.0, -30.0, -20.0, -10.0, 0.0, 10.0, 20.0, 30.0, 40.0)
PITCHES_DEG = (-20.0, -10.0, 0.0, 10.0, 20.0)
CLOSURES = (0.0, 0.9, 1.0)
BLINK_CLOSED_MIN = 0.6
BLINK_OPEN_MAX = 0.3
POSE_TOLERANCE_DEG = 5.0
JAW_OPEN_MIN = 0.5
FOUND_MIN = 0.99


@dataclass
class Hold:
    name: str
    state: RenderState
    reads: list[dict[str, float] | None] = field(default_factory=list)

    def median(self, key: str) -> float:
        vals = [r[key] for r in self.reads[-READ_LAST:] if r is not None]
        return float(np.median(vals)) if vals else math.nan


@dataclass
class FidelityResult:
    face: str
    size: tuple[int, int]
    blink_open: float  # worst (highest) eyeBlink of either eye with the eyes open
    blink_closed: dict[float, float]  # closure -> worst (lowest) eyeBlink of either eye
    yaw_read: dict[float, float]
    pitch_read: dict[float, float]
    jaw_open: float
    found_ratio: float  # frames with a face shown in which one was found
    found_when_absent: int

    @property
    def yaw_error_deg(self) -> float:
        """Worst error over the commanded yaws at which a face was found."""
        return max((abs(v - k) for k, v in self.yaw_read.items() if not math.isnan(v)), default=math.nan)

    @property
    def pitch_error_deg(self) -> float:
        return max((abs(v - k) for k, v in self.pitch_read.items() if not math.isnan(v)), default=math.nan)

    @property
    def lost_at(self) -> list[str]:
        """Commanded poses at which the landmarker found no face at the end of the hold."""
        return [f"yaw {k:g}" for k, v in self.yaw_read.items() if math.isnan(v)] + [
            f"pitch {k:g}" for k, v in self.pitch_read.items() if math.isnan(v)
        ]

    def failures(self) -> list[str]:
        out = []
        if not self.blink_open <= BLINK_OPEN_MAX:
            out.append(f"eyeBlink open {self.blink_open:.2f} > {BLINK_OPEN_MAX}")
        for c, v in self.blink_closed.items():
            if c >= 0.9 and not v >= BLINK_CLOSED_MIN:
                out.append(f"eyeBlink at closure {c} is {v:.2f} < {BLINK_CLOSED_MIN}")
        if self.lost_at:
            out.append(f"no face at {', '.join(self.lost_at)}")
        if not self.yaw_error_deg <= POSE_TOLERANCE_DEG:
            out.append(f"yaw error {self.yaw_error_deg:.1f} deg > {POSE_TOLERANCE_DEG}")
        if not self.pitch_error_deg <= POSE_TOLERANCE_DEG:
            out.append(f"pitch error {self.pitch_error_deg:.1f} deg > {POSE_TOLERANCE_DEG}")
        if not self.jaw_open >= JAW_OPEN_MIN:
            out.append(f"jawOpen {self.jaw_open:.2f} < {JAW_OPEN_MIN}")
        if not self.found_ratio >= FOUND_MIN:
            out.append(f"face found in {100 * self.found_ratio:.1f} % < {100 * FOUND_MIN:.0f} %")
        if self.found_when_absent:
            out.append(f"face found in {self.found_when_absent} frames of the empty seat")
        return out


def holds() -> list[Hold]:
    out = [Hold(f"closure {c}", RenderState(eye_closure_left=c, eye_closure_right=c)) for c in CLOSURES]
    # Poses in sweeps of 10 deg steps (a head turn, not a jump the tracker must re-detect).
    neg = sorted((y for y in YAWS_DEG if y < 0), reverse=True)
    out += [Hold(f"turning {y}", RenderState(head_yaw_deg=y)) for y in neg[:-1]]
    out += [Hold(f"yaw {y}", RenderState(head_yaw_deg=y)) for y in sorted(YAWS_DEG)]
    out += [Hold(f"turning {y}", RenderState(head_yaw_deg=y)) for y in sorted(YAWS_DEG, reverse=True)[1:] if y > 0]
    up = sorted((p for p in PITCHES_DEG if p < 0), reverse=True)
    out += [Hold(f"turning pitch {p}", RenderState(head_pitch_deg=p)) for p in [0.0, *up[:-1]]]
    out += [Hold(f"pitch {p}", RenderState(head_pitch_deg=p)) for p in sorted(PITCHES_DEG)]
    out += [Hold(f"turning pitch {p}", RenderState(head_pitch_deg=p)) for p in sorted(PITCHES_DEG, reverse=True)[1:] if p > 0]
    out += [Hold("jaw 1", RenderState(jaw_open=1.0)), Hold("absent", RenderState(face_visible=False)), Hold("back", RenderState())]
    return out


def track_holds(face: str, size: tuple[int, int], hs: list[Hold],
                read: Callable[[Features], dict[str, float]] | None = None) -> tuple[int, int, int]:
    """Render and track each hold in turn (one continuous VIDEO-mode clip, sensor noise on),
    filling hold.reads; returns (frames showing a face, of which found, found in absent)."""
    from driver_monitor.sim.simulate import get_rig

    rig = get_rig(face, size)
    renderer = Renderer(rig, noise_seed=0)
    tracker = MediaPipeFaceTracker(PerceptionConfig())
    frames_per_hold = max(READ_LAST + 2, int(round(HOLD_S * FPS)))
    seq = 0
    shown = found = found_absent = 0
    try:
        for hold in hs:
            for _ in range(frames_per_hold):
                state = RenderState(**{**_fields(hold.state), "noise_sigma": 1.0, "noise_index": seq})
                image = renderer.render(state)
                obs = tracker.track(Frame(seq / FPS, image, seq))
                seq += 1
                if state.face_visible:
                    shown += 1
                    found += obs is not None
                else:
                    found_absent += obs is not None
                hold.reads.append(None if obs is None else (read or _read)(extract_features(obs, image)))
    finally:
        tracker.close()
    return shown, found, found_absent


def _read(f) -> dict[str, float]:  # noqa: ANN001 (a Features)
    return {
        "yaw": f.head_yaw_deg, "pitch": f.head_pitch_deg, "roll": f.head_roll_deg, "jaw": f.jaw_open,
        "blink_max": max(f.eye_blink_left, f.eye_blink_right), "blink_min": min(f.eye_blink_left, f.eye_blink_right),
        "ear": (f.ear_left + f.ear_right) / 2.0,
        # Iris visibility of the eye that shows more of it (closed eyes: the worse case).
        "iris": float(np.nanmax([f.iris_contrast_left, f.iris_contrast_right]))
        if not (math.isnan(f.iris_contrast_left) and math.isnan(f.iris_contrast_right)) else math.nan,
        "look_down": f.eye_look_down,
    }


def measure(face: str, size: tuple[int, int]) -> FidelityResult:
    hs = holds()
    shown, found, found_absent = track_holds(face, size, hs)
    by = {h.name: h for h in hs}
    return FidelityResult(
        face=face,
        size=size,
        blink_open=by["closure 0.0"].median("blink_max"),
        blink_closed={c: by[f"closure {c}"].median("blink_min") for c in CLOSURES if c > 0},
        yaw_read={y: by[f"yaw {y}"].median("yaw") for y in YAWS_DEG},
        pitch_read={p: by[f"pitch {p}"].median("pitch") for p in PITCHES_DEG},
        jaw_open=by["jaw 1"].median("jaw"),
        found_ratio=found / shown if shown else math.nan,
        found_when_absent=found_absent,
    )


# -- closed eyes at head-down pitch (the sleep posture) -------------------------------------
HEAD_DOWN_PITCHES_DEG = (0.0, 10.0, 20.0, 30.0)


@dataclass
class EyeRead:
    """Median reads of one held eye state: eyeBlink of the worse eye (max open, min closed),
    EAR (mean of the eyes), iris visibility (the eye showing more of it)."""

    eye_blink: float
    ear: float
    iris: float
    look_down: float
    pitch: float


@dataclass
class HeadDownResult:
    face: str
    size: tuple[int, int]
    open: dict[float, EyeRead]  # head pitch -> eyes open
    closed: dict[float, EyeRead]  # head pitch -> eyes closed (closure 1)


def _eye_read(hold: Hold, closed: bool) -> EyeRead:
    return EyeRead(hold.median("blink_min" if closed else "blink_max"), hold.median("ear"), hold.median("iris"),
                   hold.median("look_down"), hold.median("pitch"))


def measure_head_down(face: str, size: tuple[int, int]) -> HeadDownResult:
    """The head lowered in steps (eyes open), at each step the eyes closed and opened again."""
    hs = []
    for p in HEAD_DOWN_PITCHES_DEG:
        hs += [Hold(f"open {p}", RenderState(head_pitch_deg=p)),
               Hold(f"closed {p}", RenderState(head_pitch_deg=p, eye_closure_left=1.0, eye_closure_right=1.0))]
    track_holds(face, size, hs)
    by = {h.name: h for h in hs}
    return HeadDownResult(face, size, {p: _eye_read(by[f"open {p}"], False) for p in HEAD_DOWN_PITCHES_DEG},
                          {p: _eye_read(by[f"closed {p}"], True) for p in HEAD_DOWN_PITCHES_DEG})


def head_down_table(results: list[HeadDownResult]) -> str:
    """eyeBlink, EAR (and its share of the open EAR at pitch 0) and iris visibility (and its
    share of the open level at pitch 0), open / closed, per head pitch."""
    head = "| face | size | head pitch down | eyeBlink open / closed | EAR open / closed (share of open at 0 deg) | iris visibility open / closed (share of open at 0 deg) | eyeLookDown closed |"
    rows = [head, "|" + "---|" * 7]
    for r in results:
        ear0, iris0 = r.open[0.0].ear, r.open[0.0].iris
        for p in HEAD_DOWN_PITCHES_DEG:
            o, c = r.open[p], r.closed[p]
            rows.append(
                f"| {r.face} | {r.size[0]}x{r.size[1]} | {p:g} | {o.eye_blink:.2f} / {c.eye_blink:.2f} "
                f"| {o.ear:.3f} / {c.ear:.3f} ({o.ear / ear0:.2f} / {c.ear / ear0:.2f}) "
                f"| {o.iris:.2f} / {c.iris:.2f} ({o.iris / iris0:.2f} / {c.iris / iris0:.2f}) | {c.look_down:.2f} |"
            )
    return "\n".join(rows).replace("nan", "-")


# -- camera placements ---------------------------------------------------------------------
# The glances of scenarios/placement_*_drive.yaml: (zone, head share), the head's part as the
# timeline makes it (sim/timeline.py), seen through each placement's neutral pose.
PLACEMENT_GLANCES = ("left_mirror", "right_mirror", "rear_mirror", "instrument_cluster")
GLANCE_HEAD_SHARE = 0.7


@dataclass
class PlacementResult:
    face: str
    size: tuple[int, int]
    placement: str
    poses: dict[str, tuple[float, float, float]]  # hold -> commanded (yaw, pitch, roll)
    reads: dict[str, tuple[float, float]]  # hold -> read (yaw, pitch), NaN when lost
    open: EyeRead
    closed: EyeRead
    open_front: EyeRead  # the same face at yaw 0, pitch 0, for scale


def placement_holds(neutral: tuple[float, float]) -> tuple[list[Hold], dict[str, tuple[float, float, float]]]:
    base = (neutral[0], neutral[1], 0.0)
    poses = {"neutral": base}
    for zone in PLACEMENT_GLANCES:
        yaw, pitch = ZONES[zone]
        poses[zone] = compose_pose(base, (GLANCE_HEAD_SHARE * yaw, GLANCE_HEAD_SHARE * pitch, 0.0))
    hs = [Hold("front", RenderState()), Hold("neutral", RenderState(head_yaw_deg=base[0], head_pitch_deg=base[1]))]
    hs += [Hold("closed", RenderState(head_yaw_deg=base[0], head_pitch_deg=base[1], eye_closure_left=1.0, eye_closure_right=1.0)),
           Hold("reopened", RenderState(head_yaw_deg=base[0], head_pitch_deg=base[1]))]
    for zone in PLACEMENT_GLANCES:  # each glance from the neutral pose and back
        y, p, r = poses[zone]
        hs += [Hold(zone, RenderState(head_yaw_deg=y, head_pitch_deg=p, head_roll_deg=r)),
               Hold(f"back from {zone}", RenderState(head_yaw_deg=base[0], head_pitch_deg=base[1]))]
    return hs, poses


def measure_placement(face: str, size: tuple[int, int], placement: str) -> PlacementResult:
    neutral = PLACEMENTS[placement]
    hs, poses = placement_holds(neutral)
    track_holds(face, size, hs)
    by = {h.name: h for h in hs}
    reads = {name: (by[name].median("yaw"), by[name].median("pitch")) for name in poses}
    return PlacementResult(face, size, placement, poses, reads, _eye_read(by["neutral"], False),
                           _eye_read(by["closed"], True), _eye_read(by["front"], False))


def placement_table(results: list[PlacementResult]) -> str:
    """Per placement: read pose of the neutral pose and of each glance (commanded -> read,
    'lost' where no face), and the eyes open / closed at the neutral pose."""
    head = ("| face | size | placement | neutral yaw, pitch: read | " + " | ".join(f"{z} (commanded): read" for z in PLACEMENT_GLANCES)
            + " | eyeBlink open / closed | EAR open / closed (frontal open) | iris open / closed (frontal open) |")
    rows = [head, "|" + "---|" * (7 + len(PLACEMENT_GLANCES))]

    def pose(name: str, r: PlacementResult) -> str:
        y, p, roll = r.poses[name]
        ry, rp = r.reads[name]
        read = "lost" if math.isnan(ry) else f"{ry:.0f}, {rp:.0f}"
        return f"({y:.0f}, {p:.0f}{f', roll {roll:.0f}' if abs(roll) >= 1 else ''}): {read}"

    for r in results:
        o, c, f = r.open, r.closed, r.open_front
        rows.append(
            f"| {r.face} | {r.size[0]}x{r.size[1]} | {r.placement} | {pose('neutral', r)} | "
            + " | ".join(pose(z, r) for z in PLACEMENT_GLANCES)
            + f" | {o.eye_blink:.2f} / {c.eye_blink:.2f} | {o.ear:.3f} / {c.ear:.3f} ({f.ear:.3f}) "
            f"| {o.iris:.2f} / {c.iris:.2f} ({f.iris:.2f}) |"
        )
    return "\n".join(rows).replace("nan", "-")


def _fields(s: RenderState) -> dict[str, object]:
    return {k: getattr(s, k) for k in RenderState.__dataclass_fields__}


def table(results: list[FidelityResult]) -> str:
    head = "| face | size | eyeBlink open (<= 0.3) | eyeBlink closed 0.9 / 1.0 (>= 0.6) | max yaw error, yaw within +-40 (<= 5 deg) | max pitch error, pitch within +-20 (<= 5 deg) | jawOpen at full yawn (>= 0.5) | face found shown / absent |"
    rows = [head, "|" + "---|" * 8]
    for r in results:
        rows.append(
            f"| {r.face} | {r.size[0]}x{r.size[1]} | {r.blink_open:.2f} | {r.blink_closed[0.9]:.2f} / {r.blink_closed[1.0]:.2f} "
            f"| {r.yaw_error_deg:.1f}{' (no face at ' + ', '.join(r.lost_at) + ')' if r.lost_at else ''} "
            f"| {r.pitch_error_deg:.1f} | {r.jaw_open:.2f} | {100 * r.found_ratio:.1f} % / {r.found_when_absent} |"
        )
    return "\n".join(rows)


# -- facial action units (docs/emotion.md "What the landmarker reads") ----------------------
EXPRESSION_READS = ("brow_down", "eye_squint", "eye_wide", "mouth_press", "mouth_roll", "nose_sneer", "jaw_forward",
                    "face_brightness")
EXPRESSION_HOLDS: tuple[tuple[str, dict[str, float]], ...] = (
    ("neutral", {}),
    ("AU4 0.5", {"brow_lower": 0.5}), ("AU4 1.0", {"brow_lower": 1.0}),
    ("AU7 0.5", {"lid_tighten": 0.5}), ("AU7 1.0", {"lid_tighten": 1.0}),
    ("AU24 0.5", {"lip_press": 0.5}), ("AU24 1.0", {"lip_press": 1.0}),
    ("AU9 1.0", {"nose_wrinkle": 1.0}),
    ("anger 0.7", {"brow_lower": 0.7, "lid_tighten": 0.7, "lip_press": 0.7}),
    ("anger 1.0", {"brow_lower": 1.0, "lid_tighten": 1.0, "lip_press": 1.0}),
    ("squint in sun", {"brow_lower": 0.6, "lid_tighten": 0.8, "lighting_gain": 1.8}),
    ("neutral again", {}),
)


def measure_expressions(face: str, size: tuple[int, int]) -> list[tuple[str, dict[str, float]]]:
    """Median reads of each Features unit on each held expression (one continuous clip)."""
    hs = [Hold(name, RenderState(**kw)) for name, kw in EXPRESSION_HOLDS]
    track_holds(face, size, hs, lambda f: {k: float(getattr(f, k)) for k in EXPRESSION_READS})
    return [(h.name, {k: h.median(k) for k in EXPRESSION_READS}) for h in hs]


def expression_table(face: str, rows: list[tuple[str, dict[str, float]]]) -> str:
    lines = [f"{face:14}" + "".join(f"{k:>16}" for k in EXPRESSION_READS)]
    lines += [f"{name:14}" + "".join(f"{v[k]:16.3f}" for k in EXPRESSION_READS) for name, v in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="480x360")
    parser.add_argument("--faces", nargs="+", default=["astronaut", "obama", "biden"])
    parser.add_argument("-v", "--verbose", action="store_true", help="print every read angle")
    parser.add_argument("--head-down", action="store_true", help="eyes open / closed with the head 0-30 deg down")
    parser.add_argument("--placements", action="store_true", help="the documented camera placements")
    parser.add_argument("--expressions", action="store_true", help="facial action units (AU4, AU7, AU24, AU9, anger)")
    args = parser.parse_args(argv)
    w, h = (int(v) for v in args.size.split("x"))
    if args.expressions:
        for f in args.faces:
            print(expression_table(f, measure_expressions(f, (w, h))))
        return 0
    if args.head_down:
        print(head_down_table([measure_head_down(f, (w, h)) for f in args.faces]))
        return 0
    if args.placements:
        print(placement_table([measure_placement(f, (w, h), p) for f in args.faces for p in PLACEMENTS]))
        return 0
    results = [measure(f, (w, h)) for f in args.faces]
    print(table(results))
    for r in results:
        if args.verbose:
            print(r.face, "yaw", {k: round(v, 1) for k, v in r.yaw_read.items()}, "pitch", {k: round(v, 1) for k, v in r.pitch_read.items()})
        for f in r.failures():
            print(f"{r.face}: {f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
