"""Drowsiness detector: blinks from the eyeBlink scores.

(Issue 4 grows this into calibrated closure, PERCLOS, microsleep / sleep, yawns and the
KSS-like level; the interface stays.)
"""

from __future__ import annotations

import math

from driver_monitor.config.drowsiness import DrowsinessConfig
from driver_monitor.detectors.base import DetectorInput
from driver_monitor.detectors.blinks import BlinkTracker
from driver_monitor.messages import Event, Scalar


class DrowsinessDetector:
    def __init__(self, config: DrowsinessConfig):
        self.config = config
        self.blinks = BlinkTracker(config.blink)
        self.eye_closure = math.nan
        self.blink_count = 0

    def update(self, inp: DetectorInput) -> list[Event]:
        f = inp.features
        self.eye_closure = (f.eye_blink_left + f.eye_blink_right) / 2.0 if f.face_present else math.nan
        events = self.blinks.update(f.t, self.eye_closure)
        self.blink_count += len(events)
        return events

    def columns(self) -> dict[str, Scalar]:
        return {"eye_closure": self.eye_closure, "blink_count": self.blink_count}

    def finish(self, t: float) -> list[Event]:
        return []
