"""A stand-in for the car on a bench: sends one VehicleState's frames at their DBC cycles
(VEH_Speed every 10 ms with the example DBC) until stopped, through the same vehicle DBC
and signal mapping the daemon reads with.

    python -m driver_monitor.can.peer udp_multicast 239.74.163.2 --speed-kph 80

Integration tests and the soak benchmark use it as the vehicle in another process.
"""

from __future__ import annotations

import argparse
import contextlib
import threading
import time

import can

from driver_monitor.can.logs import VehicleCanEncoder
from driver_monitor.messages import VehicleState


def send_cyclic(bus: can.BusABC, state: VehicleState, stop: threading.Event, encoder: VehicleCanEncoder | None = None) -> int:
    """Send every mapped message at its own cycle until `stop` is set; returns frames sent."""
    encoder = encoder if encoder is not None else VehicleCanEncoder()
    due = dict.fromkeys(encoder.messages, time.monotonic())
    sent = 0
    while not stop.is_set():
        now = time.monotonic()
        for name, t in due.items():
            if now >= t:
                msg = encoder.encode(name, state, now)
                if msg is not None:
                    bus.send(msg)
                    sent += 1
                due[name] = max(t + encoder.cycle_s(name), now)
        stop.wait(max(0.0, min(due.values()) - time.monotonic()))
    return sent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("interface")
    ap.add_argument("channel")
    ap.add_argument("--speed-kph", type=float, default=80.0)
    ap.add_argument("--port", type=int, default=None, help="udp_multicast port (default python-can's)")
    args = ap.parse_args()
    state = VehicleState(t=0.0, speed_kph=args.speed_kph, indicator_left=False, indicator_right=False, gear="D",
                         driver_ack=False, ignition_on=True)
    options = {"port": args.port} if args.port is not None else {}
    with can.Bus(interface=args.interface, channel=args.channel, **options) as bus, contextlib.suppress(KeyboardInterrupt):
        send_cyclic(bus, state, threading.Event())  # until a terminal's Ctrl-C or SIGTERM


if __name__ == "__main__":
    main()
