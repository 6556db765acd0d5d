"""A car on a CAN bus whose speed follows a profile: a separate process for the `record`
tests, so the vehicle input arrives over a real bus at times the test does not control.

    python tests/speed_peer.py udp_multicast GROUP 0:0,3:30   # 0 km/h, from 3 s on 30 km/h

Sends every message of the example vehicle DBC at its cycle (VEH_Speed every 10 ms), with the
speed of the profile (seconds since the peer started : km/h), until terminated.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import time

import can

from driver_monitor.can.logs import VehicleCanEncoder
from driver_monitor.messages import VehicleState


def main() -> None:
    interface, channel, profile_text = sys.argv[1:4]
    profile = sorted((float(a), float(b)) for a, b in (item.split(":") for item in profile_text.split(",")))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    encoder = VehicleCanEncoder()
    start = time.monotonic()
    due = dict.fromkeys(encoder.messages, start)
    print("ready", flush=True)
    with can.Bus(interface=interface, channel=channel) as bus, contextlib.suppress(KeyboardInterrupt):
        while True:
            now = time.monotonic()
            speed = next((kph for at, kph in reversed(profile) if now - start >= at), profile[0][1])
            state = VehicleState(t=0.0, speed_kph=speed, indicator_left=False, indicator_right=False, gear="D",
                                 driver_ack=False, ignition_on=True)
            for name, t in due.items():
                if now >= t:
                    msg = encoder.encode(name, state, now)
                    if msg is not None:
                        bus.send(msg)
                    due[name] = max(t + encoder.cycle_s(name), now)
            time.sleep(max(0.0, min(due.values()) - time.monotonic()))


if __name__ == "__main__":
    main()
