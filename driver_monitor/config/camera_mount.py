"""Where the camera looks at the driver from (`camera.mount`, docs/distraction.md "Camera
placement").

The mount is given as the head pose, in the camera's view and in the project's sign
convention (yaw > 0: the driver's own left, pitch > 0: down), of a driver looking at the road
ahead. A production DMS knows its mount; an aftermarket one is `auto` and learns it
(detectors/road_ahead.py), as openpilot learns its neutral pose (REFERENCE.md "Camera
placement"). The placements' numbers are for a left-hand-drive car, measured on real clips
where one exists (shared/data/real: a camera at the mirror / A-pillar, slightly above, reads
an attentive driver at yaw +15..+20, pitch +20..+25; a desk camera below the face reads pitch
-20); `distraction.zones.right_hand_drive` mirrors the yaw.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from driver_monitor.config.base import Section

Placement = Literal["auto", "steering_column", "dashboard", "a_pillar", "mirror", "custom"]

# (yaw, pitch) of the road-ahead direction as each placement sees it, left-hand drive.
PLACEMENTS: dict[str, tuple[float, float]] = {
    # On the steering column / instrument cluster: in front of the driver, below the eyes,
    # looking up (a camera below the face reads an attentive head as pitched up by ~20 deg,
    # shared/data/real desk_yawn).
    "steering_column": (0.0, -15.0),
    # Centre of the dashboard: to the driver's right (LHD) and below the eyes.
    "dashboard": (20.0, -10.0),
    # Left A-pillar (LHD): to the driver's left, about eye height to slightly above.
    "a_pillar": (-30.0, 5.0),
    # Rear-view mirror (most aftermarket cameras): to the right (LHD) and above
    # (shared/data/real car clips: yaw +15..+20, pitch +20..+25).
    "mirror": (18.0, 22.0),
}


class CameraMountConfig(Section):
    # auto: unknown mount; the road-ahead direction is learned from the driver's dominant
    # gaze at speed, and distraction is not judged (`calibrating`) until a first estimate
    # exists (a second of steady gaze). A named placement gives a known starting direction
    # (judged at once) that learning refines; as (yaw, pitch) of the road ahead, left-hand
    # drive: steering_column (0, -15), dashboard (20, -10), a_pillar (-30, 5), mirror
    # (18, 22); custom takes the two angles below, which also override a named placement's
    # (docs/distraction.md "Road-ahead direction and camera placement").
    placement: Placement = "auto"
    road_ahead_yaw_deg: float | None = Field(None, ge=-80.0, le=80.0)
    road_ahead_pitch_deg: float | None = Field(None, ge=-60.0, le=60.0)
    # How far the learned road-ahead direction may settle from the mount's (named or custom
    # placements) or from straight at the camera (auto): a mount is rarely exact, but a
    # learned direction far from it is a driver who looked elsewhere, not the road.
    learn_range_yaw_deg: float = Field(20.0, gt=0.0, le=90.0)
    learn_range_pitch_deg: float = Field(20.0, gt=0.0, le=90.0)
    auto_range_yaw_deg: float = Field(50.0, gt=0.0, le=90.0)
    auto_range_pitch_deg: float = Field(40.0, gt=0.0, le=90.0)

    @model_validator(mode="after")
    def _custom_has_angles(self) -> CameraMountConfig:
        if self.placement == "custom" and (self.road_ahead_yaw_deg is None or self.road_ahead_pitch_deg is None):
            raise ValueError("placement custom needs road_ahead_yaw_deg and road_ahead_pitch_deg")
        return self

    @property
    def known(self) -> bool:
        return self.placement != "auto"

    def road_ahead(self, right_hand_drive: bool = False) -> tuple[float, float]:
        """(yaw, pitch) of the road ahead as the camera sees it; (0, 0) for auto."""
        yaw, pitch = PLACEMENTS.get(self.placement, (0.0, 0.0))
        if self.road_ahead_yaw_deg is not None:
            yaw = self.road_ahead_yaw_deg
        elif right_hand_drive:
            yaw = -yaw
        if self.road_ahead_pitch_deg is not None:
            pitch = self.road_ahead_pitch_deg
        return yaw, pitch

    def learn_range(self) -> tuple[float, float]:
        """(yaw, pitch) half-widths around road_ahead() within which learning may settle."""
        if self.known:
            return self.learn_range_yaw_deg, self.learn_range_pitch_deg
        return self.auto_range_yaw_deg, self.auto_range_pitch_deg
