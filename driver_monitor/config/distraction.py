"""Config of the distraction detector: glance zones, eyes-on-road debounce and grace times,
long distraction (Euro NCAP / EU ADDW), visual time-sharing (Euro NCAP window or AttenD
buffer), phone use and the unresponsive driver. Numbers: ../shared/REFERENCE.md.

Angles are the driver's gaze direction relative to their neutral (calibrated) pose, in the
project's sign convention: yaw > 0 = towards the driver's own left, pitch > 0 = down.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from driver_monitor.config.base import Section

ZoneName = Literal[
    "road", "left_mirror", "right_mirror", "rear_mirror", "cluster", "infotainment", "lap", "passenger", "other",
    "away",
]


class ZoneRegion(Section):
    """An angular box of gaze directions (degrees, relative to the neutral pose)."""

    yaw_min_deg: float = Field(ge=-180.0, le=180.0)
    yaw_max_deg: float = Field(ge=-180.0, le=180.0)
    pitch_min_deg: float = Field(ge=-90.0, le=90.0)
    pitch_max_deg: float = Field(ge=-90.0, le=90.0)

    @model_validator(mode="after")
    def _ordered(self) -> ZoneRegion:
        if self.yaw_min_deg >= self.yaw_max_deg:
            raise ValueError("yaw_min_deg must be below yaw_max_deg")
        if self.pitch_min_deg >= self.pitch_max_deg:
            raise ValueError("pitch_min_deg must be below pitch_max_deg")
        return self

    def mirrored(self) -> ZoneRegion:
        """The same region seen from the other side of the car (yaw negated)."""
        return ZoneRegion(
            yaw_min_deg=-self.yaw_max_deg,
            yaw_max_deg=-self.yaw_min_deg,
            pitch_min_deg=self.pitch_min_deg,
            pitch_max_deg=self.pitch_max_deg,
        )


def _region(yaw_min: float, yaw_max: float, pitch_min: float, pitch_max: float) -> ZoneRegion:
    return ZoneRegion(yaw_min_deg=yaw_min, yaw_max_deg=yaw_max, pitch_min_deg=pitch_min, pitch_max_deg=pitch_max)


class ZonesConfig(Section):
    """Glance zones for a LEFT-hand-drive car (driver on the left: the left mirror is near,
    the right mirror, rear-view mirror, infotainment and passenger are to the driver's right,
    i.e. at negative yaw). `right_hand_drive: true` mirrors every region (yaw negated) and
    swaps the two door mirrors, so one set of numbers serves both cars. A direction is put
    in the first zone that contains it in the order road, cluster, rear_mirror, left_mirror,
    right_mirror, infotainment, lap, passenger; else `other`.

    Defaults: the road cone is openpilot's head-pose cone narrowed a little (yaw ~23 deg,
    pitch down ~18 deg, REFERENCE.md "How openpilot does it") because eye-in-head gaze is
    added here; the other boxes are typical cabin geometry of a mid-size LHD car seen from
    the driver's eye point, checked against the shared clips (the attentive male clip stays
    inside `road`; the writing woman's down-glances, head +10 deg + eyes +27 deg, land in
    `lap`)."""

    right_hand_drive: bool = False
    road: ZoneRegion = _region(-20.0, 20.0, -15.0, 15.0)
    # Instrument cluster: straight ahead, below the road.
    cluster: ZoneRegion = _region(-20.0, 20.0, 15.0, 28.0)
    # Interior mirror: up and to the right of an LHD driver.
    rear_mirror: ZoneRegion = _region(-45.0, -20.0, -35.0, -3.0)
    # Near door mirror (left in LHD): to the left and slightly down.
    left_mirror: ZoneRegion = _region(20.0, 65.0, -15.0, 20.0)
    # Far door mirror (right in LHD): about eye height, so a glance that is far right AND
    # clearly down is the centre stack, not the mirror.
    right_mirror: ZoneRegion = _region(-80.0, -45.0, -15.0, 12.0)
    # Centre stack / infotainment: right of the cluster and down.
    infotainment: ZoneRegion = _region(-55.0, -20.0, 10.0, 45.0)
    # Lap / knees / a phone held low: well below the cluster.
    lap: ZoneRegion = _region(-45.0, 45.0, 28.0, 90.0)
    # Passenger and the far side window.
    passenger: ZoneRegion = _region(-150.0, -45.0, -35.0, 45.0)
    # A head pitched at least this far down (relative to neutral) looks at least as low as
    # the lap zone, whatever the eye-in-head estimate says: with the head down the lids
    # cover the iris and the eyeLook scores stop following the eyes (REFERENCE.md "looking
    # down reads as closing the eyes"), while a cluster glance is made mostly with the
    # eyes (openpilot's whole head cone reaches only ~18 deg down).
    lap_head_pitch_min_deg: float = Field(20.0, ge=0.0, le=90.0)

    def regions(self) -> dict[str, ZoneRegion]:
        """The zone boxes in classification order, for the configured driving side."""
        order = ["road", "cluster", "rear_mirror", "left_mirror", "right_mirror", "infotainment", "lap", "passenger"]
        boxes = {name: getattr(self, name) for name in order}
        if self.right_hand_drive:
            boxes = {name: box.mirrored() for name, box in boxes.items()}
            boxes["left_mirror"], boxes["right_mirror"] = boxes["right_mirror"], boxes["left_mirror"]
        return boxes


class EyesOnRoadConfig(Section):
    # A return to the road shorter than this does not end an eyes-off-road episode, so a
    # brief in-out-in flicker does not reset the off-road timer (EU 2023/2590 ADDW).
    flicker_tolerance_s: float = Field(0.5, ge=0.0, le=5.0)
    # Glances to the door / rear-view mirrors and the cluster count as on-road for this long
    # (AttenD: 1 s latency for mirror and speedometer glances, Kircher & Ahlstrom VTI 638A).
    mirror_grace_s: float = Field(1.0, ge=0.0, le=10.0)
    cluster_grace_s: float = Field(1.0, ge=0.0, le=10.0)
    # With an indicator on, a glance to that side's mirror, side window or (far side)
    # passenger window counts as on-road for this long (lane-change checks). Euro NCAP warns
    # after 3 s off road and allows 1 s more with a justification [REF: long distraction]: a
    # signalled lane change is one, so at most 1 s (a 7 s shoulder look warns at 4 s) ...
    indicator_glance_allowance_s: float = Field(1.0, ge=0.0, le=10.0)
    # ... and the allowance outlives the indicator by this long (the lamp signal blinks, and
    # the last shoulder check often follows the lever going off).
    indicator_hold_s: float = Field(3.0, ge=0.0, le=30.0)
    # `eyes_on_road` keeps its last value through a gap of unknown gaze this short (a blink,
    # a dropped detection), so a normal blink (< 0.2 s closed, Wilkinson 2013) does not break
    # the policy's "1 s of continuous forward gaze"; longer gaps read as unknown (None).
    unknown_carry_s: float = Field(0.3, ge=0.0, le=5.0)
    # Zones on the indicated side whose glances the indicator allows.
    indicator_allowed_zones: tuple[ZoneName, ...] = ("left_mirror", "right_mirror", "passenger", "other", "away")
    # The eye-in-head pitch (eyeLook blendshapes) counts only while the drowsiness detector
    # judges the eyes open (eye_closure below this) or looking down with open eyes: lowered
    # lids raise eyeLookDown just as looking down does (REFERENCE.md: a real closure with
    # the head level reads eyeLookDown ~0.73, which our eye-pitch estimate turns into a
    # gaze well below the road), so a closing eye would
    # otherwise read as a glance to the lap. Then the head's pitch alone is the vertical
    # direction. 0.35 is the blink rule's open threshold (drowsiness.blink.open_threshold).
    eye_pitch_max_closure: float = Field(0.35, gt=0.0, le=1.0)


class FaceAwayConfig(Section):
    """A face lost right after turning away is a look away, not an unknown: the landmarker
    loses a face turned beyond ~45-50 deg (car_look_around_man: lost at head yaw 46 deg,
    direction 50 deg from the road, for 3.2 s over the shoulder; iris_tracking_example.gif
    keeps it to 54 deg). Such a face-away frame counts as off the road (zone `away`) and
    needs no calibration beyond a road-ahead direction (REFERENCE.md "Camera placement")."""

    # The gaze direction, relative to the road ahead, beyond which a loss counts: outside
    # the mirrors' inner edge sideways, past the lap's top edge downwards.
    turned_yaw_deg: float = Field(30.0, gt=0.0, le=90.0)
    down_pitch_deg: float = Field(30.0, gt=0.0, le=90.0)
    # ... reached within this long before the face was lost.
    lookback_s: float = Field(0.5, gt=0.0, le=5.0)
    # While the road-ahead direction is not known yet (calibrating), the same rule applies
    # around the camera mount's direction with this much more margin, and a tracked head
    # turned or bent that far (45 deg) is placed too (`other` / `lap`): the large,
    # unambiguous cues need no calibration (issue 12); every placement sees an attentive
    # driver within ~35 deg of its direction (REFERENCE.md "On real car footage").
    uncalibrated_extra_deg: float = Field(15.0, ge=0.0, le=90.0)
    # The face must be back this long before it ends the look away: the landmarker now and
    # then "finds" a frontal face on the back of a head for one frame (car_look_around_man,
    # t = 3.0 s), which must not read as a return to the road.
    reacquire_s: float = Field(0.3, ge=0.0, le=5.0)


class LongDistractionConfig(Section):
    # Continuous eyes-off-road time that raises long_distraction (Euro NCAP 2023: >= 3 s).
    threshold_s: float = Field(3.0, gt=0.0, le=30.0)
    # EU 2023/2590 ADDW option: when true, the threshold depends on speed instead:
    # addw_low_speed_threshold_s at addw_min_speed_kph..addw_high_speed_kph (also used
    # below addw_min_speed_kph, where ADDW is not required: see column `addw_active`),
    # addw_high_speed_threshold_s above addw_high_speed_kph and when the speed is unknown.
    addw_enabled: bool = False
    addw_min_speed_kph: float = Field(20.0, ge=0.0, le=300.0)
    addw_high_speed_kph: float = Field(50.0, ge=0.0, le=300.0)
    addw_low_speed_threshold_s: float = Field(6.0, gt=0.0, le=30.0)
    addw_high_speed_threshold_s: float = Field(3.5, gt=0.0, le=30.0)

    @model_validator(mode="after")
    def _ordered(self) -> LongDistractionConfig:
        if self.addw_min_speed_kph > self.addw_high_speed_kph:
            raise ValueError("addw_min_speed_kph must not be above addw_high_speed_kph")
        return self


class TimeSharingConfig(Section):
    # window: Euro NCAP rule (>= off_road_total_s off road within window_s, the window
    # resets after reset_on_road_s continuously on road). attend: the AttenD buffer below
    # raises visual_time_sharing when it runs empty.
    method: Literal["window", "attend"] = "window"
    window_s: float = Field(30.0, gt=0.0, le=600.0)
    off_road_total_s: float = Field(10.0, gt=0.0, le=600.0)
    reset_on_road_s: float = Field(2.0, ge=0.0, le=60.0)

    @model_validator(mode="after")
    def _fits(self) -> TimeSharingConfig:
        if self.off_road_total_s > self.window_s:
            raise ValueError("off_road_total_s must not exceed window_s")
        return self


class AttendConfig(Section):
    """AttenD (Kircher & Ahlstrom, VTI 638A): a 2 s attention buffer that drains while the
    eyes are off the road and refills on the road; mirror / speedometer glances drain only
    after their grace time (EyesOnRoadConfig.*_grace_s)."""

    buffer_max_s: float = Field(2.0, gt=0.0, le=30.0)
    drain_rate: float = Field(1.0, gt=0.0, le=10.0)  # buffer seconds per second off road
    refill_rate: float = Field(1.0, gt=0.0, le=10.0)  # buffer seconds per second on road
    # Refilling starts this long after the eyes are back on the road (AttenD: 0.1 s).
    refill_latency_s: float = Field(0.1, ge=0.0, le=5.0)
    # With method attend, visual_time_sharing ends once the buffer has refilled to this.
    recovered_s: float = Field(2.0, gt=0.0, le=30.0)

    @model_validator(mode="after")
    def _fits(self) -> AttendConfig:
        if self.recovered_s > self.buffer_max_s:
            raise ValueError("recovered_s must not exceed buffer_max_s")
        return self


class PhoneUseConfig(Section):
    """Phone use = sustained or repeated glances to the phone zones (Euro NCAP: a kind of
    visual time-sharing to lap / phone positions)."""

    # Euro NCAP's phone positions are knee, lap, dash, dock and held [REF: phone use]. Gaze
    # alone cannot tell a phone in a dash dock from the infotainment screen beside it, so
    # only the lap is a phone zone by default; glances to a docked phone still count for
    # visual time-sharing and long distraction. A car whose dock has a zone of its own may
    # add it (e.g. [lap, infotainment] where the screen is the phone).
    zones: tuple[ZoneName, ...] = ("lap",)
    # One glance this long (100-Car: glances > 2 s double the crash / near-crash odds) ...
    sustained_glance_s: float = Field(2.0, gt=0.0, le=60.0)
    # ... or this many glances of at least min_glance_s (shorter ones are blinks and noise)
    # starting within window_s (the Euro NCAP time-sharing window).
    repeated_glances: int = Field(3, ge=2, le=50)
    min_glance_s: float = Field(0.5, ge=0.0, le=10.0)
    window_s: float = Field(30.0, gt=0.0, le=600.0)
    # phone_use ends after this long without a glance to a phone zone.
    end_after_s: float = Field(5.0, gt=0.0, le=600.0)


class UnresponsiveConfig(Section):
    # Eyes closed or away from the road this long -> unresponsive (Euro NCAP: >= 6 s).
    away_or_closed_s: float = Field(6.0, gt=0.0, le=60.0)
    # A closure shorter than this is a blink, not "eyes closed": it neither starts the
    # unresponsive timer nor breaks a return to the road (rested blinks < 0.2 s, slow ones
    # > 0.5 s, Wilkinson 2013). A longer closure counts from its start.
    blink_max_s: float = Field(0.5, ge=0.0, le=5.0)
    # Gaze not back on the road this long after a driver-facing warning began (Euro NCAP: 3 s).
    warning_return_s: float = Field(3.0, gt=0.0, le=60.0)
    # unresponsive ends after this much continuous forward gaze (Euro NCAP 2026: 1 s ends
    # an intervention).
    end_on_road_s: float = Field(1.0, ge=0.0, le=60.0)
    # Consistent evidence (docs/distraction.md "What each event needs"): of the away-or-closed
    # episode, at least this share must be positive evidence -- eyes judged closed, gaze
    # measured off the road against a known road-ahead direction, or the face lost after
    # turning away. Frames that could not be placed (no face, eyes not judgeable, the road
    # ahead not yet known) and brief returns to the road do not count, so an attentive face
    # the detectors merely cannot place never reaches an intervention.
    min_evidence_share: float = Field(0.8, ge=0.0, le=1.0)
    # Used only while no earlier detector publishes `eyes_closed`: the eyes count as closed
    # when mean(eyeBlinkLeft, eyeBlinkRight) >= fallback_closed_blink (real blinks peak at
    # 0.55-0.75, shared/data/README.md) and the head is pitched down less than
    # fallback_max_head_down_deg from neutral: looking down to the lap also drives eyeBlink
    # above 0.5 with open eyes (REFERENCE.md), but then the head is down +7..+11 deg
    # (selfie_segmentation_web writing, docs/drowsiness.md "Measured cues on real clips").
    fallback_closed_blink: float = Field(0.5, gt=0.0, le=1.0)
    fallback_max_head_down_deg: float = Field(5.0, ge=0.0, le=90.0)


class LevelConfig(Section):
    # distraction_level 1 (advisory) once an off-road episode has lasted this long
    # (100-Car: glances away > 2 s, odds ratio 2.19). Level 2 = long_distraction,
    # visual_time_sharing or phone_use active; level 3 = unresponsive active.
    advisory_off_road_s: float = Field(2.0, gt=0.0, le=30.0)


class DistractionConfig(Section):
    zones: ZonesConfig = ZonesConfig()
    eyes_on_road: EyesOnRoadConfig = EyesOnRoadConfig()
    face_away: FaceAwayConfig = FaceAwayConfig()
    long_distraction: LongDistractionConfig = LongDistractionConfig()
    time_sharing: TimeSharingConfig = TimeSharingConfig()
    attend: AttendConfig = AttendConfig()
    phone_use: PhoneUseConfig = PhoneUseConfig()
    unresponsive: UnresponsiveConfig = UnresponsiveConfig()
    level: LevelConfig = LevelConfig()
