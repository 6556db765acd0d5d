"""Glance zones: which part of the cabin (or the road) a gaze direction points at."""

from __future__ import annotations

import math

from driver_monitor.config.distraction import ZonesConfig

UNKNOWN = "unknown"
OTHER = "other"
# The face was lost right after turning away (face_away.py): off the road, beyond the camera.
AWAY = "away"
ROAD = "road"
MIRRORS = frozenset({"left_mirror", "right_mirror", "rear_mirror"})
CLUSTER = "cluster"
LAP = "lap"


class ZoneMap:
    """Classifies (yaw, pitch) in degrees into a zone name from the config's angular boxes
    (already mirrored for right-hand drive). The boxes are checked in a fixed order, so an
    overlap goes to the zone listed first (ZonesConfig.regions)."""

    def __init__(self, config: ZonesConfig):
        self.config = config
        self._boxes = [
            (name, r.yaw_min_deg, r.yaw_max_deg, r.pitch_min_deg, r.pitch_max_deg)
            for name, r in config.regions().items()
        ]
        regions = config.regions()
        self._road_yaw = (regions[ROAD].yaw_min_deg, regions[ROAD].yaw_max_deg)
        self._lap_pitch_min = regions["lap"].pitch_min_deg

    def classify(self, yaw_deg: float, pitch_deg: float, head_pitch_deg: float = math.nan) -> str:
        """Zone of a gaze direction; `head_pitch_deg` (relative to neutral) lifts the pitch to
        the lap's when the head alone is down by lap_head_pitch_min_deg."""
        if math.isnan(yaw_deg) or math.isnan(pitch_deg):
            return UNKNOWN
        if head_pitch_deg >= self.config.lap_head_pitch_min_deg:
            pitch_deg = max(pitch_deg, self._lap_pitch_min)
        for name, y0, y1, p0, p1 in self._boxes:
            if y0 <= yaw_deg < y1 and p0 <= pitch_deg < p1:
                return name
        return OTHER

    def side(self, yaw_deg: float) -> str | None:
        """'left' / 'right' when the direction lies beyond the road cone on that side (yaw
        > 0 is the driver's left), else None."""
        if yaw_deg >= self._road_yaw[1]:
            return "left"
        if yaw_deg < self._road_yaw[0]:
            return "right"
        return None
