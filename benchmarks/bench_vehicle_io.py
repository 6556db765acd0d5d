"""Cost of the vehicle outputs per frame, and what the frame loop pays for them.

1. CAN: schedule + cantools encode + E2E CRC + send on a python-can `virtual` bus, per
   FrameResult of a 30 fps drive (status 10 Hz, heartbeat 1 Hz, a warning that changes).
2. Serial: schedule + frame encode (COBS + CRC-16) + write to pyserial's `loop://` (its
   reader thread decodes the frames back at the same time, as a board would).
3. Vehicle CAN input: decode + E2E check per received frame (example DBC, 20 ms speed frames).
4. ThreadedOutput.write(): the frame loop's cost per output (an append to a deque), measured
   while the worker is blocked (worst case: full queue, dropping).

    python benchmarks/bench_vehicle_io.py [--seconds S] [--repeats N]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

import can

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from vehicle_io_helpers import make_result  # noqa: E402

from driver_monitor.can.logs import VehicleCanEncoder, vehicle_frames  # noqa: E402
from driver_monitor.can.rx import VehicleSignalDecoder  # noqa: E402
from driver_monitor.config.vehicle import CanConfig, SerialConfig, VehicleConfig  # noqa: E402
from driver_monitor.messages import PolicyState, VehicleState  # noqa: E402
from driver_monitor.outputs.can_sink import CanSink  # noqa: E402
from driver_monitor.outputs.serial_sink import SerialSink  # noqa: E402
from driver_monitor.outputs.threaded import ThreadedOutput  # noqa: E402
from driver_monitor.serial.link import SerialLink  # noqa: E402

FPS = 30.0


def drive(seconds: float) -> list:
    out = []
    for i in range(int(seconds * FPS)):
        t = i / FPS
        phase = int(t) % 6
        policy = (PolicyState(t=t, condition="long_distraction", level=2, actions=frozenset({"visual_icon", "chime"}),
                              warning_since_t=float(int(t)))
                  if phase >= 4 else PolicyState(t=t))
        out.append(make_result(t, values={"eyes_off_road_s": (t % 6) if phase >= 4 else 0.0,
                                          "perclos_60s": 0.05 + 0.01 * (t % 3)}, policy=policy))
    return out


def per_frame_ms(sink_factory, results) -> tuple[float, int]:
    sink = sink_factory()
    started = time.perf_counter()
    for r in results:
        sink.write(r)
    elapsed = time.perf_counter() - started
    sent = getattr(sink, "sent", getattr(sink, "frames_sent", 0))
    sink.close()
    return 1000 * elapsed / len(results), sent


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    results = drive(args.seconds)

    def can_sink() -> CanSink:
        return CanSink(CanConfig(enabled=True, interface="virtual", channel=f"bench-{uuid.uuid4().hex[:6]}"))

    def serial_sink() -> SerialSink:
        return SerialSink(SerialConfig(enabled=True, port="loop://"), link=SerialLink("loop://", read=True))

    rows = []
    for name, factory in (("CAN (virtual bus)", can_sink), ("serial (loop://)", serial_sink)):
        runs = [per_frame_ms(factory, results) for _ in range(args.repeats)]
        times = [ms for ms, _ in runs]
        rows.append((name, statistics.median(times), min(times), max(times), runs[0][1]))

    # vehicle input
    enc = VehicleCanEncoder()
    states = [VehicleState(t=i * 0.02, speed_kph=80.0 + (i % 50) * 0.1, indicator_left=False, indicator_right=False,
                           gear="D", ignition_on=True) for i in range(int(args.seconds / 0.02))]
    frames = vehicle_frames(states, enc)
    rx_times = []
    for _ in range(args.repeats):
        dec = VehicleSignalDecoder(VehicleConfig())
        started = time.perf_counter()
        for m in frames:
            dec.feed(m, m.timestamp)
        rx_times.append(1e6 * (time.perf_counter() - started) / len(frames))
        assert dec.errors == 0

    # frame-loop cost of a blocked output
    gate = threading.Event()

    class Blocked:
        def write(self, r: object) -> None:
            gate.wait()

        def close(self) -> None:
            pass

    out = ThreadedOutput(Blocked(), "blocked", queue_size=256)
    started = time.perf_counter()
    for r in results:
        out.write(r)
    write_us = 1e6 * (time.perf_counter() - started) / len(results)
    dropped = out.status().dropped
    gate.set()
    out.close()

    print(f"machine: {platform.machine()} {platform.processor() or ''} Python {platform.python_version()}, "
          f"python-can {can.__version__}")
    print(f"drive: {args.seconds:.0f} s at {FPS:.0f} fps = {len(results)} results, {args.repeats} repeats")
    for name, med, lo, hi, sent in rows:
        print(f"{name:20s} {med:.3f} ms/frame (min {lo:.3f}, max {hi:.3f}), {sent} frames sent")
    print(f"{'vehicle CAN input':20s} {statistics.median(rx_times):.1f} us/received frame "
          f"(min {min(rx_times):.1f}), {len(frames)} frames")
    print(f"{'ThreadedOutput.write':20s} {write_us:.2f} us/frame with the worker blocked ({dropped} dropped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
