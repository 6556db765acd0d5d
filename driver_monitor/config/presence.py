"""Config of driver presence (driver_absent)."""

from pydantic import Field

from driver_monitor.config.base import Section


class PresenceConfig(Section):
    # The face must be missing this long before `driver_absent` starts, so a single missed
    # detection (motion blur, a hand passing) is not an absence.
    absent_after_s: float = Field(2.0, ge=0.0, le=60.0)
    # ... and visible this long again before it ends.
    present_after_s: float = Field(0.5, ge=0.0, le=10.0)
