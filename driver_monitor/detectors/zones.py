"""Glance zones: which part of the cabin (or the road) a gaze direction points at."""

from __future__ import annotations

import math

from driver_monitor.config.distraction import ZonesConfig

UNKNOWN = "unknown"
OTHER = "other"
ROAD = "road"
MIRRORS = frozenset({"left_mirror", "right_mirror", "rear_mirror"})
CLUSTER = "cluster"


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
        road = config.regions()[ROAD]
        self._road_yaw = (road.yaw_min_deg, road.yaw_max_deg)

    def classify(self, yaw_deg: float, pitch_deg: float) -> str:
        if math.isnan(yaw_deg) or math.isnan(pitch_deg):
            return UNKNOWN
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
