"""The AttenD attention buffer (Kircher & Ahlstrom, VTI 638A; REFERENCE.md "AttenD").

A buffer of `buffer_max_s` (2 s) drains at `drain_rate` while the gaze is counted as off the
road and refills at `refill_rate` once the gaze has been back on the road for
`refill_latency_s`. Mirror and speedometer glances drain only after their grace time: that
is already in the glance label (`allowed` during the grace), so `allowed` and `hold` frames
leave the buffer unchanged. The buffer running empty is the AttenD distraction criterion.
"""

from __future__ import annotations

from driver_monitor.config.distraction import AttendConfig
from driver_monitor.detectors.glances import Label


class AttendBuffer:
    def __init__(self, config: AttendConfig):
        self.config = config
        self.buffer_s = config.buffer_max_s
        self.left_full_t: float | None = None  # when the buffer last started draining from full

    def advance(self, t0: float, t1: float, label: Label, on_since_t: float | None) -> None:
        """Apply the interval (t0, t1] during which `label` held; `on_since_t` is the start
        of the on-road run the label belongs to (for the refill latency)."""
        c = self.config
        if t1 <= t0:
            return
        if label == "off":
            if self.buffer_s >= c.buffer_max_s:
                self.left_full_t = t0
            self.buffer_s = max(0.0, self.buffer_s - (t1 - t0) * c.drain_rate)
        elif label == "on" and on_since_t is not None:
            start = max(t0, on_since_t + c.refill_latency_s)
            if t1 > start:
                self.buffer_s = min(c.buffer_max_s, self.buffer_s + (t1 - start) * c.refill_rate)
