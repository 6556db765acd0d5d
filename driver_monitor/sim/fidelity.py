"""Fidelity of the renderer: what the real FaceLandmarker reads on rendered frames.

    python -m driver_monitor.sim.fidelity [--size 480x360] [--faces astronaut obama biden]

prints the table in docs/simulation.md. Each check holds a commanded state for HOLD_S
(tracked in VIDEO mode like a drive, at FPS) and reads the median of the last frames, so
the tracker has settled. Targets (issue 3): eyeBlink >= 0.6 at closure >= 0.9 and <= 0.3
open; yaw within 5 deg for |yaw| <= 40; pitch within 5 deg for |pitch| <= 20; jawOpen
>= 0.5 at a full yawn; the face found in >= 99 % of frames that show one, none when absent.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field

import numpy as np

from driver_monitor.config.perception import PerceptionConfig
from driver_monitor.messages import Frame
from driver_monitor.perception.geometry import head_pose_from_matrix
from driver_monitor.perception.tracker import MediaPipeFaceTracker
from driver_monitor.sim.renderer import Renderer, RenderState

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


def measure(face: str, size: tuple[int, int]) -> FidelityResult:
    from driver_monitor.sim.simulate import get_rig

    rig = get_rig(face, size)
    renderer = Renderer(rig, noise_seed=0)
    tracker = MediaPipeFaceTracker(PerceptionConfig())
    frames_per_hold = max(READ_LAST + 2, int(round(HOLD_S * FPS)))
    seq = 0
    shown = found = found_absent = 0
    hs = holds()
    try:
        for hold in hs:
            state = RenderState(**{**_fields(hold.state), "noise_sigma": 1.0})
            for i in range(frames_per_hold):
                state = RenderState(**{**_fields(state), "noise_index": seq})
                obs = tracker.track(Frame(seq / FPS, renderer.render(state), seq))
                seq += 1
                if state.face_visible:
                    shown += 1
                    found += obs is not None
                else:
                    found_absent += obs is not None
                if obs is None:
                    hold.reads.append(None)
                    continue
                yaw, pitch, _ = head_pose_from_matrix(obs.transform)
                b = obs.blendshapes
                hold.reads.append({
                    "yaw": yaw, "pitch": pitch, "jaw": b.get("jawOpen", math.nan),
                    "blink_max": max(b.get("eyeBlinkLeft", math.nan), b.get("eyeBlinkRight", math.nan)),
                    "blink_min": min(b.get("eyeBlinkLeft", math.nan), b.get("eyeBlinkRight", math.nan)),
                })
                del i
    finally:
        tracker.close()
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="480x360")
    parser.add_argument("--faces", nargs="+", default=["astronaut", "obama", "biden"])
    parser.add_argument("-v", "--verbose", action="store_true", help="print every read angle")
    args = parser.parse_args(argv)
    w, h = (int(v) for v in args.size.split("x"))
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
