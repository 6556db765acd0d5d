"""Face lost after turning away: a look away, not an unknown (pure).

The landmarker loses a face turned beyond ~45-50 deg, so an over-the-shoulder look or a head
bent far down to the footwell shows as "no face" for seconds. Judging those frames as unknown
(`hold`) hides exactly the longest glances away. A loss counts as a look away when the gaze
direction, relative to the road ahead, was beyond the turned / down limits within
`lookback_s` before it; frames without a face, and frames with a face that has not been seen
for `reacquire_s` yet, then belong to the look away until the face is back for good
(config: distraction.face_away, docs/distraction.md "Face lost after turning away").
"""

from __future__ import annotations

import math
from collections import deque

from driver_monitor.config.distraction import FaceAwayConfig


class FaceAwayTracker:
    def __init__(self, config: FaceAwayConfig):
        self.config = config
        self.active = False  # the driver is looking away beyond what the camera sees
        self.since_t: float | None = None  # when the look away began (last frame inside limits)
        self.side_yaw_deg = math.nan  # the last known direction's yaw (which side)
        self._recent: deque[tuple[float, float, float]] = deque()  # (t, yaw, pitch) with a face
        self._present_since_t: float | None = None

    def update(self, t: float, face_present: bool, yaw_deg: float, pitch_deg: float, extra_deg: float = 0.0) -> bool:
        """One frame: the gaze direction relative to the road ahead (NaN when unknown);
        `extra_deg` widens the limits (road ahead not known yet). Returns `active`."""
        c = self.config
        if face_present:
            if self._present_since_t is None:
                self._present_since_t = t
            if not (math.isnan(yaw_deg) or math.isnan(pitch_deg)):
                self._recent.append((t, yaw_deg, pitch_deg))
        else:
            self._present_since_t = None
        while self._recent and self._recent[0][0] < t - c.lookback_s - 1e-9:
            self._recent.popleft()
        if self.active:
            back = self._present_since_t is not None and t - self._present_since_t + 1e-9 >= c.reacquire_s
            if back:
                self.active, self.since_t = False, None
            return self.active
        if face_present:
            return False
        turned = [(tt, y) for tt, y, p in self._recent
                  if abs(y) >= c.turned_yaw_deg + extra_deg or p >= c.down_pitch_deg + extra_deg]
        if turned:
            self.active = True
            self.since_t = turned[0][0]
            self.side_yaw_deg = turned[-1][1]
            self._recent.clear()
        return self.active
