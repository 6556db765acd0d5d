"""Cost of the policy engine per frame (goal: <= 0.1 ms, a small share of a 33 ms frame).

Feeds a synthetic 30 fps drive through PolicyEngine.update the way the Pipeline calls it:
overlapping episodes of every condition (duration events and instantaneous microsleeps),
a drifting KSS level, flickering eyes_on_road, speed changes across the gates, ACK presses
and one ignition cycle. Inputs are built before timing, so only the engine is measured.
Reports the median over repeats of the mean time per update, and how many action events
the drive produced (a check that the engine really worked).

    python benchmarks/bench_policy.py [--minutes M] [--repeats N]
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import time

from driver_monitor.config.policy import CONDITIONS, PolicyConfig
from driver_monitor.messages import DriverState, Event, VehicleState
from driver_monitor.policy.engine import PolicyEngine

FPS = 30.0
DURATION_CONDITIONS = [c for c in CONDITIONS if c != "microsleep"]


def synthetic_drive(minutes: float, seed: int = 1) -> list[tuple[DriverState, list[Event], VehicleState]]:
    rng = random.Random(seed)
    frames = []
    active: dict[str, float] = {}  # condition -> end time
    n = int(minutes * 60.0 * FPS)
    speed, kss, on_road = 80.0, 5.0, True
    for i in range(n):
        t = i / FPS
        events: list[Event] = []
        for name, end in list(active.items()):
            if t >= end:
                del active[name]
                events.append(Event(t, "event", name, "end"))
        if rng.random() < 0.002:
            name = rng.choice(DURATION_CONDITIONS)
            if name not in active:
                active[name] = t + rng.uniform(1.0, 20.0)
                events.append(Event(t, "event", name, "start", {"level": rng.randint(6, 9)}))
        if rng.random() < 0.0005:
            events.append(Event(t, "event", "microsleep", None, {"duration_s": 1.2}))
        if rng.random() < 0.01:
            on_road = not on_road
        if rng.random() < 0.001:
            speed = rng.choice([0.0, 15.0, 30.0, 60.0, 110.0, None])
        kss = min(9.0, max(1.0, kss + rng.gauss(0.0, 0.01)))
        ignition = not (0.5 * n <= i < 0.5 * n + 60)  # one 2 s ignition-off
        values = {"eyes_on_road": on_road, "kss_level": round(kss), "stress_level": 0}
        driver = DriverState(t, True, frozenset(active), values)
        vehicle = VehicleState(t, speed_kph=speed, driver_ack=rng.random() < 0.002, ignition_on=ignition)
        frames.append((driver, events, vehicle))
    return frames


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    frames = synthetic_drive(args.minutes)
    config = PolicyConfig.model_validate({"monitoring": {"activation_s": 0.0}})
    per_update, actions = [], 0
    for _ in range(args.repeats):
        engine = PolicyEngine(config)
        start = time.perf_counter()
        count = 0
        for driver, events, vehicle in frames:
            count += sum(e.kind == "action" for e in engine.update(driver, events, vehicle).events)
        per_update.append((time.perf_counter() - start) / len(frames))
        actions = count
    median_ms = statistics.median(per_update) * 1e3
    print(f"machine: {platform.machine()}, Python {platform.python_version()}, {sys.platform}")
    print(f"frames: {len(frames)} ({args.minutes:g} min at {FPS:g} fps), action events: {actions}")
    print(f"policy update: median {median_ms:.4f} ms/frame over {args.repeats} repeats "
          f"(min {min(per_update) * 1e3:.4f}, max {max(per_update) * 1e3:.4f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
