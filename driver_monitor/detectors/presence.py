"""driver_absent: the face has been missing for a configured time (DESIGN.md event names)."""

from __future__ import annotations

from driver_monitor.config.presence import PresenceConfig
from driver_monitor.detectors.base import DetectorInput
from driver_monitor.messages import Event, Scalar


class PresenceDetector:
    """Debounced face presence. `driver_absent` starts once the face has stayed missing for
    `absent_after_s` and ends once it has stayed visible for `present_after_s`. As for every
    event, `t` is when the rule fired (the log is in time order, as a live run sees it) and
    `detail.onset_t` is when the face was first missed / first seen again."""

    def __init__(self, config: PresenceConfig):
        self.config = config
        self.absent = False
        self._change_since_t: float | None = None  # first frame that contradicts `absent`

    def update(self, inp: DetectorInput) -> list[Event]:
        f = inp.features
        contradicts = f.face_present if self.absent else not f.face_present
        if not contradicts:
            self._change_since_t = None
            return []
        if self._change_since_t is None:
            self._change_since_t = f.t
        held_s = f.t - self._change_since_t
        needed_s = self.config.present_after_s if self.absent else self.config.absent_after_s
        if held_s + 1e-9 < needed_s:
            return []
        self.absent = not self.absent
        onset, self._change_since_t = self._change_since_t, None
        return [Event(f.t, "event", "driver_absent", "start" if self.absent else "end", {"onset_t": onset})]

    def columns(self) -> dict[str, Scalar]:
        return {"driver_absent": self.absent}

    def finish(self, t: float) -> list[Event]:
        if self.absent:
            self.absent = False
            return [Event(t, "event", "driver_absent", "end", {"truncated": True})]
        return []
