"""Small synthetic drives for the fleet tests (feature replay, extraction, corpus evaluation,
sweeps): recordings with labels, rendered once per session by conftest's `fleet_drives`."""

from __future__ import annotations

import csv
from pathlib import Path

# A bit of everything the detectors and the policy read: a speed ramp through the policy's
# gates, a long glance at the centre stack (long_distraction), a mirror check with the
# indicator on, a sleep with an ACK press under its warning, a yawn and a dark stretch
# (camera_fault dark_lens); `add_gap` then cuts a silence into its frame times (no_frame).
MIXED = """\
name: fleet_mixed
description: every input of the detectors and the policy, for the fleet tests
duration_s: 28
seed: 21
vehicle:
  timeline:
    - {t_s: 0, speed_kph: 0, gear: D, ignition_on: true, indicator_left: false, indicator_right: false}
    - {t_s: 2, speed_kph: 70}
    - {t_s: 10, indicator_left: true}
    - {t_s: 12, indicator_left: false}
  ack_s: [16.2]
timeline:
  - {at_s: 5.0, do: glance, zone: centre_stack, duration_s: 4.0}
  - {at_s: 10.2, do: glance, zone: left_mirror, duration_s: 1.4}
  - {at_s: 13.0, do: eyes_closed, duration_s: 3.6}
  - {at_s: 18.0, do: yawn, duration_s: 4.0}
  - {at_s: 22.5, do: lighting, gain: 0.05}
  - {at_s: 25.5, do: lighting, gain: 1.0}
"""
# Frames from this time on come this much later: a silence of 1.5 s (> 30 frame periods).
GAP_AT_S = 26.5
GAP_S = 1.5
FPS = 15.0
SIZE = (320, 240)


def add_gap(recording: Path, at_s: float = GAP_AT_S, gap_s: float = GAP_S) -> None:
    """Shift the sidecar times of the frames from at_s on by gap_s (replay reads the sidecar)."""
    path = recording / "timestamps.csv"
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    shifted = [[frame, f"{float(t) + gap_s:.6f}" if float(t) >= at_s else t] for frame, t in body]
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows([header, *shifted])
