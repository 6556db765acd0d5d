"""eyes_unavailable: the face is seen but the eyes cannot be judged (sunglasses, glare,
occlusion, head turned far away) for `unavailable_after_s`.

Euro NCAP asks to tell the driver within 10 s when monitoring is unavailable (REFERENCE.md
"degraded monitoring"). The count runs from the first frame whose eyes cannot be judged
until the eyes have been judgeable, or the face gone, for `count_restart_s` without a break:
a single clear frame between dark lenses, or a face lost for a moment (a missed detection),
does not restart it, or sunglasses with a clear frame every few seconds would never be told;
a face gone for longer is driver_absent's business. It fires only on a frame where the face
is seen.
onset_t = first unjudgeable frame (start) / first judgeable frame again (end); t = when the
rule fired. The start's detail `reason` says why
the eyes could not be judged on the frame it fired: eyes_hidden (dark lenses),
eyes_not_measured, measures_disagree, head_turned or face_too_small (eye_closure.py).
"""

from __future__ import annotations

from driver_monitor.config.drowsiness import EyeJudgeabilityConfig
from driver_monitor.messages import Event


class EyesAvailability:
    def __init__(self, config: EyeJudgeabilityConfig):
        self.config = config
        self.unavailable = False
        self._change_since_t: float | None = None
        self._break: tuple[bool, float] | None = None  # while counting: (face seen, since) of a break

    def update(self, t: float, face_present: bool, judgeable: bool, reason: str = "") -> list[Event]:
        if not self.unavailable and not (face_present and not judgeable):
            # Judgeable eyes, or no face: a break in the count, which restarts it once it has
            # lasted count_restart_s (judgeable eyes and no face are each their own break).
            if self._change_since_t is not None:
                if self._break is None or self._break[0] != face_present:
                    self._break = (face_present, t)
                if t - self._break[1] + 1e-9 >= self.config.count_restart_s:
                    self._change_since_t = self._break = None
            return []
        self._break = None
        contradicts = judgeable if self.unavailable else not judgeable
        if not contradicts:
            self._change_since_t = None
            return []
        if self._change_since_t is None:
            self._change_since_t = t
        needed_s = self.config.available_after_s if self.unavailable else self.config.unavailable_after_s
        if t - self._change_since_t + 1e-9 < needed_s:
            return []
        self.unavailable = not self.unavailable
        onset, self._change_since_t = self._change_since_t, None
        if self.unavailable:
            return [Event(t, "event", "eyes_unavailable", "start", {"onset_t": onset, "reason": reason})]
        return [Event(t, "event", "eyes_unavailable", "end", {"onset_t": onset})]

    def finish(self, t: float) -> list[Event]:
        if not self.unavailable:
            return []
        self.unavailable = False
        return [Event(t, "event", "eyes_unavailable", "end", {"truncated": True})]
