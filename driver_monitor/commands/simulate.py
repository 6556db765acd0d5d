"""`driver-monitor simulate SCENARIO --out DIR`: render a scripted synthetic drive."""

from __future__ import annotations

import argparse

from driver_monitor.commands import EXIT_OK, Subparsers, positive_float


def size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, e.g. 640x480: {text!r}") from None
    if not (64 <= w <= 3840 and 48 <= h <= 2160):
        raise argparse.ArgumentTypeError(f"size out of range (64x48 .. 3840x2160): {text!r}")
    return w, h


def register(sub: Subparsers) -> None:
    p = sub.add_parser("simulate", help="render a scripted synthetic drive (scenario YAML) into a recording directory")
    p.add_argument("scenario", help="scenario YAML (see scenarios/ and docs/simulation.md)")
    p.add_argument("--out", "-o", required=True, help="recording directory to write (video.mkv, labels.jsonl, truth.csv, ...)")
    p.add_argument("--fps", type=positive_float, default=None, help="frame rate (overrides camera.fps)")
    p.add_argument("--size", type=size, default=None, help="WIDTHxHEIGHT (overrides camera.width/height)")
    p.add_argument("--seed", type=int, default=None, help="random seed (overrides the scenario's seed)")
    p.add_argument("--face", default=None, help="bundled face (astronaut, obama, biden) or a photo path")
    p.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from driver_monitor.sim.simulate import simulate

    summary = simulate(args.scenario, args.out, fps=args.fps, size=args.size, seed=args.seed, face=args.face,
                       progress=False if args.no_progress else None)
    print(summary.text())
    return EXIT_OK
