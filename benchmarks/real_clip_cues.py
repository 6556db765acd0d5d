"""The eye cues on the real clips, by what the driver was doing (issue 12 item 1).

Replays every clip of ../shared/data/real (and the bundled look-down clip data/clips/)
with the packaged default config and, per clip, reports each cue's median and 5-95 % range
over three frame classes taken from the truth (0.15 s kept clear of every boundary):

  open       eyes open, looking ahead (outside every interval and ambiguous span)
  closed     inside an `eyes_closed` interval
  look_down  eyes open, looking down to write (selfie_segmentation_web.mp4 only: 1.3-3.0,
             4.1-4.6 and 6.0-6.6 s, tests/test_distraction_clips.py)

Cues: EAR and eyeBlink relative to the driver's open level (the calibration's provisional
baseline, per eye, averaged), the iris contrast relative to its open level, eyeLookDown,
the head pitch relative to the road ahead (NaN while it is not known), the less-closed /
more-closed eye's judged closure, and the judged closure itself. The figures are the table
of docs/drowsiness.md "Measured cues on real clips".

    python benchmarks/real_clip_cues.py [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv

from driver_monitor.config import load_config
from driver_monitor.evaluation.truth import load_truth
from driver_monitor.replay import replay

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
BUNDLED_CLIPS = REPO / "data" / "clips"
LOOK_DOWN = [(1.3, 3.0), (4.1, 4.6), (6.0, 6.6)]
MARGIN_S = 0.15


def classes(name: str, truth, t: np.ndarray) -> dict[str, np.ndarray]:
    if name == "selfie_segmentation_web":
        down = np.zeros(t.shape, bool)
        for a, b in LOOK_DOWN:
            down |= (t >= a) & (t <= b)
        busy = np.zeros(t.shape, bool)
        for a, b in LOOK_DOWN:
            busy |= (t >= a - 0.5) & (t <= b + 0.5)
        return {"open": ~busy, "closed": np.zeros(t.shape, bool), "look_down": down}
    closed = np.zeros(t.shape, bool)
    busy = np.zeros(t.shape, bool)
    for i in truth.intervals:
        if i.kind == "talking":
            continue
        busy |= (t >= i.start_s - MARGIN_S) & (t <= i.end_s + MARGIN_S)
        if i.kind == "eyes_closed":
            closed |= (t >= i.start_s + MARGIN_S) & (t <= i.end_s - MARGIN_S)
    for a in truth.ambiguous:
        if a.start_s is not None:
            busy |= (t >= a.start_s - MARGIN_S) & (t <= a.end_s + MARGIN_S)
    for o in truth.other:
        if o.start_s is not None:
            busy |= (t >= o.start_s - MARGIN_S) & (t <= o.end_s + MARGIN_S)
    return {"open": ~busy, "closed": closed, "look_down": np.zeros(t.shape, bool)}


def cues(table: dict[str, np.ndarray], open_mask: np.ndarray) -> dict[str, np.ndarray]:
    def open_level(col: str) -> float:
        v = table[col][open_mask & table["face_present"]]
        v = v[~np.isnan(v)]
        return float(np.median(v)) if v.size else math.nan

    ear = (table["ear_left"] / open_level("ear_left") + table["ear_right"] / open_level("ear_right")) / 2
    blink = (table["eye_blink_left"] + table["eye_blink_right"]) / 2
    iris = (table["iris_contrast_left"] / open_level("iris_contrast_left")
            + table["iris_contrast_right"] / open_level("iris_contrast_right")) / 2
    pitch = np.where(table["calibrating"], np.nan, table["head_pitch_deg"] - open_level("head_pitch_deg"))
    left, right = table["eye_closure_left"], table["eye_closure_right"]
    return {
        "EAR / open": ear, "eyeBlink": blink, "iris / open": iris, "eyeLookDown": table["eye_look_down"],
        "pitch - open deg": pitch, "min eye closure": np.fmin(left, right), "max eye closure": np.fmax(left, right),
        "eye_closure": table["eye_closure"],
    }


def summary(values: np.ndarray) -> str:
    v = values[~np.isnan(values)]
    if not v.size:
        return "-"
    lo, med, hi = np.percentile(v, [5, 50, 95])
    return f"{med:.2f} ({lo:.2f}..{hi:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="keep the replays here (default: a temporary directory)")
    args = parser.parse_args()
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="real-cues-"))
    truth = load_truth(SHARED / "real" / "truth.yaml")
    inputs = [(name, SHARED / "real" / clip.file) for name, clip in truth.items()]
    inputs.append(("selfie_segmentation_web", BUNDLED_CLIPS / "selfie_segmentation_web.mp4"))
    rows = []
    for name, path in inputs:
        target = out / name
        replay(path, load_config(), target, progress=False)
        raw = pacsv.read_csv(target / "features.csv").to_pydict()
        table = {k: np.array([np.nan if v is None else v for v in vs], dtype=float if k not in ("gaze_zone", "heart_rate_source", "heart_rate_camera_status") else object)
                 for k, vs in raw.items()}
        table["face_present"] = table["face_present"].astype(bool)
        table["calibrating"] = table["calibrating"].astype(bool)
        t = table["t"]
        masks = classes(name, truth.get(name), t)
        c = cues(table, masks["open"])
        for cls, mask in masks.items():
            mask = mask & table["face_present"]
            if mask.sum() == 0:
                continue
            rows.append((name, cls, int(mask.sum()), {k: summary(v[mask]) for k, v in c.items()}))
    keys = list(rows[0][3])
    print("| clip | frames | n | " + " | ".join(keys) + " |")
    print("|---|---|---|" + "---|" * len(keys))
    for name, cls, n, s in rows:
        print(f"| {name} | {cls} | {n} | " + " | ".join(s[k] for k in keys) + " |")
    (out / "cues.json").write_text(json.dumps([{"clip": a, "class": b, "frames": n, **s} for a, b, n, s in rows], indent=1))


if __name__ == "__main__":
    main()
