"""False alerts on real attentive drivers: the real clips' attentive stretches looped, alone
and around their behaviours, replayed and scored against their truth.

    python benchmarks/real_attentive.py [--recipes NAME ...] [--variants gray+noisy ...] [--work DIR]
    python benchmarks/real_attentive.py --rescore --work DIR [--config YAML]

The held-back real in-car clips judge false alerts as well as missed events, and the shared
real clips hold little attentive driving (desk_talking, and 0.9-2.6 s at the start or end of
the car clips). Each recipe plays an attentive stretch forward then backward (a ping-pong
loop: no jump at the seams) for 16-31 s, alone or before / after the clip's real behaviour,
at the clip's own frame rate (H.264 crf 12); --variants rewrites the pictures as
benchmarks/real_variants.py does (gray, noisy, dark, half, fps15 ...: a night infrared camera).
The truth is the clip's own (truth.yaml) moved to where its behaviour plays, none for a loop
alone, so every alert outside a behaviour is a false one (evaluation/truth.py's rules).

What the loops cannot say: they add no new faces nor behaviours (expressive talking,
laughing, a look at the console), and a blink near a turn-around plays twice.
docs/robustness.md "Attentive drivers, looped" has the results.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_variants as rv  # noqa: E402  (the picture variants and the shared clips' folder)

# name -> (clip, segments): ("loop", a, b, seconds) ping-pongs [a, b); ("fwd", a, b) plays it
# once forward; ("back", a, b) backward. The truth follows the segment marked "truth".
RECIPES: dict[str, tuple[str, list[tuple]]] = {
    # attentive alone (stretches checked by eye on contact sheets)
    "woman_att": ("car_eyes_closed_woman", [("loop", 0.0, 0.9, 16.0)]),
    "yawnman_att": ("car_yawn_man", [("loop", 6.2, 7.67, 16.0)]),
    "look_att": ("car_look_around_man", [("loop", 0.0, 2.6, 20.0)]),
    "talk_att": ("desk_talking", [("loop", 0.0, 8.0, 24.0)]),
    "deskyawn_att": ("desk_yawn", [("loop", 0.5, 3.3, 20.0)]),
    # ~8 s attentive (the road ahead and the open eyes learned first), then the behaviour
    "woman_pre8": ("car_eyes_closed_woman", [("loop", 0.0, 0.9, 7.2), ("fwd", 0.0, 99.0, "truth")]),
    "look_pre8": ("car_look_around_man", [("loop", 0.0, 2.6, 6.0), ("fwd", 0.0, 99.0, "truth")]),
    "deskyawn_pre8": ("desk_yawn", [("loop", 0.5, 3.3, 6.0), ("fwd", 0.5, 99.0, "truth")]),
    "yawnman_pre8": ("car_yawn_man", [("loop", 6.2, 7.67, 8.0), ("fwd", 0.0, 99.0, "truth")]),
    # the behaviour, then attentive again
    "yawnman_post": ("car_yawn_man", [("fwd", 0.0, 99.0, "truth"), ("loop", 6.2, 7.67, 12.0)]),
    "look_post": ("car_look_around_man", [("fwd", 0.0, 99.0, "truth"), ("loop", 6.9, 7.62, 10.0)]),
    # a glance to the side window (~0.6 s past 30 deg, 3 s in all) and back, then attentive
    "look_glance_first": ("car_look_around_man", [("fwd", 0.0, 3.0), ("back", 0.0, 3.0), ("loop", 0.0, 2.6, 14.0)]),
    # the drive starts mid-look to the side window, turns back, then attentive
    "look_start_turned": ("car_look_around_man", [("back", 0.0, 3.05), ("loop", 0.0, 2.6, 16.0)]),
    # the head 20-30 deg down-left after the closure (truth: ambiguous), then attentive
    "yawnman_downleft": ("car_yawn_man", [("loop", 4.7, 7.67, 20.0)]),
}


def _decode(clip: str) -> tuple[float, list[float], list[np.ndarray]]:
    with av.open(str(rv.REAL / f"{clip}.mp4")) as src:
        stream = src.streams.video[0]
        rate = float(stream.average_rate or stream.guessed_rate)
        frames = [(float(f.time), f.to_ndarray(format="rgb24")) for f in src.decode(stream)]
    return rate, [t for t, _ in frames], [img for _, img in frames]


def frame_order(times: list[float], rate: float, segments: list[tuple]) -> tuple[list[int], int | None, float]:
    """Source frame indices in play order, the index in that order where the truth segment
    starts (None: no truth segment) and the source time it starts at."""
    order: list[int] = []
    truth_at, truth_from = None, 0.0
    for seg in segments:
        kind, a, b = seg[:3]
        picked = [i for i, t in enumerate(times) if a - 1e-6 <= t < b - 1e-6]
        if kind == "loop":
            back, n, k, loop = picked[-2:0:-1], int(round(seg[3] * rate)), 0, []
            while len(loop) < n:
                loop += picked if k % 2 == 0 else back
                k += 1
            if order and loop and loop[0] == order[-1]:
                loop = loop[1:]
            order += loop
        else:
            if "truth" in seg[3:]:
                truth_at, truth_from = len(order), times[picked[0]]
            order += picked if kind == "fwd" else picked[::-1]
    return order, truth_at, truth_from


def build(name: str, variant: str | None, out_dir: Path, truth: dict) -> tuple[Path, object] | None:
    """Write the recipe's clip (in `variant`); (its path, its truth as a ClipTruth)."""
    from driver_monitor.evaluation.truth import ClipTruth

    clip, segments = RECIPES[name]
    rate, times, images = _decode(clip)
    order, truth_at, truth_from = frame_order(times, rate, segments)
    parts = rv.parse_variant(variant) if variant else []
    every = rv._frame_step(parts, rate) if parts else 1
    if every is None:
        return None
    pictures = [rv.PICTURE_VARIANTS[p] for p in parts if p in rv.PICTURE_VARIANTS]
    out_rate = rate / every
    kept = list(range(0, len(order), every))
    tag = f"{name}__{variant}" if variant else name
    target = out_dir / f"{tag}.mp4"
    out_dir.mkdir(parents=True, exist_ok=True)
    with av.open(str(target), "w") as dst:
        stream = None
        for k in kept:
            img = images[order[k]]
            for change in pictures:
                img = change(img)
            if stream is None:
                stream = dst.add_stream("libx264", rate=Fraction(out_rate).limit_denominator(1000))
                stream.width, stream.height = img.shape[1] - img.shape[1] % 2, img.shape[0] - img.shape[0] % 2
                stream.pix_fmt, stream.options = "yuv420p", {"crf": "12", "preset": "fast"}
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img[: stream.height, : stream.width]), format="rgb24")
            for packet in stream.encode(frame):
                dst.mux(packet)
        for packet in stream.encode(None) if stream is not None else ():
            dst.mux(packet)
    if truth_at is None:  # attentive throughout: no behaviour, nothing ambiguous
        return target, ClipTruth(file=target.name)
    shift = truth_at / rate - truth_from  # the truth segment's source time -> clip time
    source = truth[clip]
    moved = {"file": target.name,
             "intervals": [{"kind": i.kind, "start_s": round(max(0.0, i.start_s + shift), 4),
                            "end_s": round(i.end_s + shift, 4)} for i in source.intervals if i.end_s + shift > 0],
             "ambiguous": [{"what": s.what, "start_s": round(max(0.0, s.start_s + shift), 4),
                            "end_s": round(s.end_s + shift, 4)}
                           for s in source.ambiguous if s.start_s is not None and s.end_s is not None]}
    return target, ClipTruth.model_validate(moved)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES), metavar="NAME")
    parser.add_argument("--variants", nargs="+", default=[""],
                        help="real_variants.py variants (gray+noisy, fps15, ...); '' for the clip as filmed")
    parser.add_argument("--work", type=Path, help="where the clips and replays go (default: a temp dir)")
    parser.add_argument("--config", type=Path, help="config YAML (default: the packaged default.yaml)")
    parser.add_argument("--rescore", action="store_true",
                        help="decide the clips replayed into --work again from their feature tables")
    args = parser.parse_args(argv)
    if not (rv.REAL / "truth.yaml").is_file():
        print(f"{rv.REAL}: no truth.yaml (../shared is missing)", file=sys.stderr)
        return 2
    if args.rescore and args.work is None:
        parser.error("--rescore needs --work (the directory of an earlier run)")
    for variant in args.variants:
        if variant:
            try:
                rv.parse_variant(variant)
            except ValueError as exc:
                parser.error(str(exc))
    logging.disable(logging.WARNING)
    import yaml

    from driver_monitor.config import load_config
    from driver_monitor.evaluation.truth import ClipTruth, load_truth, report, score_clip
    from driver_monitor.fleet.feature_replay import decide_events
    from driver_monitor.fleet.table import read_feature_table
    from driver_monitor.outputs.event_log import read_event_log
    from driver_monitor.replay import replay

    config = load_config(args.config)
    truth = load_truth(rv.REAL / "truth.yaml")
    work = args.work or Path(tempfile.mkdtemp(prefix="dm-real-attentive-"))
    print(report([]).splitlines()[0], flush=True)
    scores = []
    for name in args.recipes:
        for variant in args.variants:
            tag = f"{name}__{variant}" if variant else name
            out = work / "replays" / tag
            truth_file = work / "truth" / f"{tag}.yaml"
            if args.rescore:
                if not truth_file.is_file() or not out.is_dir():
                    continue
                clip_truth = ClipTruth.model_validate(yaml.safe_load(truth_file.read_text()))
                table = read_feature_table(out)
                events = decide_events(table.frames, config, table.path)
            else:
                built = build(name, variant or None, work / "clips", truth)
                if built is None:
                    continue
                path, clip_truth = built
                truth_file.parent.mkdir(parents=True, exist_ok=True)
                truth_file.write_text(yaml.safe_dump(clip_truth.model_dump(mode="json"), sort_keys=False))
                replay(path, config, out, progress=False)
                events = read_event_log(out / "events.jsonl")
            score = score_clip(tag, clip_truth, events)
            scores.append(score)
            print(report([score]).splitlines()[1], flush=True)
    found = sum(len(s.found) for s in scores)
    expected = found + sum(len(s.missed) for s in scores)
    false = sum(len(s.false_alerts) for s in scores)
    minutes = sum(_clip_s(work / "replays" / s.clip) for s in scores) / 60.0
    print(f"{len(scores)} clips ({minutes:.1f} min): {found}/{expected} expected events found, {false} false alerts")
    return 0


def _clip_s(replayed: Path) -> float:
    from driver_monitor.fleet.table import read_feature_table

    frames = read_feature_table(replayed).frames
    return frames[-1].t - frames[0].t if frames else 0.0


if __name__ == "__main__":
    sys.exit(main())
