"""Config of the drowsiness detector: eye-closure judgement, blinks, PERCLOS, microsleep,
sleep, yawns, nods, eyes_unavailable and the KSS-like level (docs/drowsiness.md).

Every default cites its source; see ../shared/REFERENCE.md and ../shared/data/README.md.
"""

from pydantic import Field, model_validator

from driver_monitor.config.base import Section


class EyeClosureConfig(Section):
    # eyeBlink score of a fully closed eye: deliberate closures sit at 0.75-0.9 on the
    # bundled clips (shared/data/README.md); the driver's open-eye score is the 0 point.
    closed_eye_blink: float = Field(0.8, ge=0.5, le=1.0)  # above any open baseline (<= 0.45)
    # Weight of the eyeBlink blendshape in the fused closure; the rest is EAR (1 - EAR /
    # the driver's open EAR). Both react to lid closure; EAR is the depth measure and the
    # blendshape is the more stable one on small faces, so they share the vote.
    blink_weight: float = Field(0.5, ge=0.0, le=1.0)
    # Looking down (at a lap, phone or desk) lowers the upper lid and drives eyeBlink to
    # 0.58-0.7 and EAR to 12-27 % of open for seconds with OPEN eyes
    # (selfie_segmentation_web.mp4, REFERENCE.md "Looking down reads as closing the eyes").
    # The gaze counts as "looking down" when eyeLookDown is at least look_down_min AND the
    # head is pitched down by at least look_down_pitch_deg from the driver's neutral pose
    # (the clip: eyeLookDown 0.7-0.88, pitch +7..+12 deg while writing; a plain blink also
    # raises eyeLookDown, to 0.88, but leaves the head where it was).
    look_down_min: float = Field(0.5, gt=0.0, le=1.0)
    look_down_pitch_deg: float = Field(5.0, ge=0.0, le=45.0)
    # A head pitched this far below neutral is looking down (lap, phone, console) whatever
    # eyeLookDown says: a head-led glance moves the eyes only ~30 % of the way (head_share
    # 0.7), so eyeLookDown stays at 0.37-0.45 while the lids' foreshortening reads eyeBlink
    # 0.44 and EAR 33 % of open with OPEN eyes (synthetic drives, head 31 deg down, eyes 13.5
    # down: docs/simulation.md); 20 deg is beyond the ~18 deg pitch-down cone of the road
    # scene [REF: openpilot] and above the +7..+12 deg of the clip's look-downs.
    look_down_head_pitch_deg: float = Field(20.0, ge=0.0, le=90.0)
    # While looking down only depth counts: the lids must close beyond what a downward gaze
    # does. look_down_lid_closure is the EAR closure (1 - EAR / open EAR) a downward gaze
    # itself produces (clip: 0.73-0.91, so 0.84 sits in its middle); the judged closure is
    # rescaled from there to 1, so the same hysteresis needs EAR <= ~8 % of open to close
    # (blinks inside the look-downs reach EAR 0.01-0.02, 3-6 % of open).
    look_down_lid_closure: float = Field(0.84, ge=0.0, lt=1.0)
    # The two closure measures (blendshape, EAR) agree within 0.25 on every frame of the
    # bundled clips, blinks and look-downs included; when they differ by more than this the
    # model is guessing one of them (sunglasses, a hand, glare) and the frame is not judged.
    max_disagreement: float = Field(0.6, gt=0.0, le=1.0)
    # Iris visibility (perception/eye_region.py) relative to this driver's open eye: the
    # picture's answer to "closed or looking down?", which neither the landmarks nor the
    # blendshapes can give (both rise alike). A contrast at or above iris_showing_ratio of
    # the open level shows the iris between the lids (closure cue 0), at or below
    # iris_hidden_ratio it is covered (cue 1), linear between. Measured on the shared real
    # clips (docs/drowsiness.md "Iris visibility"): open eyes 0.8-1.2 of their own level,
    # closed lids 0.0-0.6 (mostly below 0.45), a downward gaze with open eyes 1.0-1.2.
    iris_showing_ratio: float = Field(0.8, gt=0.0, le=2.0)
    iris_hidden_ratio: float = Field(0.4, ge=0.0, le=2.0)
    # Weight of that cue in the judged closure where it is measured (the rest is the fused
    # blendshape / EAR closure above). With glasses at night eyeBlink of closed eyes stays at
    # 0.25-0.39 and EAR falls only to 40-60 % of open (REFERENCE.md): the lid measures give
    # ~0.5 there, the iris cue ~0.8-1, so the judged closure clears the closed threshold.
    iris_weight: float = Field(0.4, ge=0.0, le=1.0)
    # The iris cue (of the eye showing more of its iris) decides between a closure and a
    # downward gaze only when it is clear: hidden (cue >= iris_hidden_min) overrides every
    # "looking down" rule, showing (cue <= iris_showing_max) with eyeLookDown >=
    # look_down_min is a downward glance made with the eyes alone (head level). Dark lashes or eyeliner keep the contrast of a closed
    # eye high, so "showing" alone never makes a closure a glance when the head is level
    # and EAR is at closure depth: the depth rule below still sees it.
    iris_hidden_min: float = Field(0.6, gt=0.0, le=1.0)
    iris_showing_max: float = Field(0.2, ge=0.0, lt=1.0)
    # A closure counts as both eyes' when the less closed eye is judged at least this closed
    # (a real closure is symmetric; one eye rubbed, winked or covered is not a microsleep).
    # Above what open eyes read (0-0.22, 95 % of open frames on four of the five real clips,
    # docs/drowsiness.md "Measured cues"), not at the open threshold: where only the lids
    # judge, one shut eye of a real closure reads 0.2-0.35 for seconds (car_eyes_closed_woman
    # darkened, benchmarks/real_variants.py `dark`: 0.35 left 60 % of its closure symmetric,
    # 0.25 leaves 94 %; it was 0.35 until 2026-12-06).
    symmetric_min_closure: float = Field(0.25, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _iris_ordered(self) -> "EyeClosureConfig":
        if self.iris_hidden_ratio >= self.iris_showing_ratio:
            raise ValueError("iris_hidden_ratio must be below iris_showing_ratio")
        if self.iris_showing_max >= self.iris_hidden_min:
            raise ValueError("iris_showing_max must be below iris_hidden_min")
        return self


class EyeJudgeabilityConfig(Section):
    # The eyes can be judged only on a face seen nearly frontally and well lit. Beyond
    # these head angles (from the neutral pose) the lids are foreshortened and both EAR and
    # eyeBlink read as closure (iris_tracking_example.gif at yaw -54 deg).
    max_yaw_deg: float = Field(40.0, gt=0.0, le=90.0)
    # A head tilted back is unjudgeable only beyond this both from the neutral pose and from
    # the camera's axis: a camera above the face (a mirror mount) sees a head tilted back
    # (a yawn) turn towards it, its lids more squarely (detectors/eye_closure.py).
    max_pitch_up_deg: float = Field(30.0, gt=0.0, le=90.0)
    max_pitch_down_deg: float = Field(35.0, gt=0.0, le=90.0)
    # A face narrower than this gives lids a few pixels high: EAR is noise.
    min_face_width_px: float = Field(60.0, ge=0.0)
    # Eyes hidden (dark sunglasses) when the eye region is this much darker than the
    # driver's own skin (Features.eye_luma_ratio). Measured: 0.58-0.84 with visible eyes,
    # open or closed, on all shared clips and synthetic drives; 0.17-0.28 behind the
    # simulator's dark lenses. The landmarker still returns a steady "half closed" there,
    # so without this gate sunglasses would pass as open eyes (docs/drowsiness.md).
    min_eye_luma_ratio: float = Field(0.45, ge=0.0, le=1.0)
    # No brightness gate: the landmarker still reads blinks correctly at face luma 19 and 242
    # (synthetic drives at gain 0.12 and 2.8); where the light defeats it, it loses the face
    # or its two closure measures disagree, which the rules above catch.
    # Eye closure must become judgeable again within this time of the face being seen,
    # otherwise `eyes_unavailable` starts: Euro NCAP asks to tell the driver within 10 s
    # when monitoring is unavailable (REFERENCE.md "degraded monitoring"); 8 s leaves margin.
    unavailable_after_s: float = Field(8.0, ge=0.0, le=10.0)
    # ... and judgeable this long before it ends.
    available_after_s: float = Field(1.0, ge=0.0, le=10.0)
    # Before it starts, eyes judgeable this long, or no face this long (then the driver is
    # gone: driver_absent's business), restart the 8 s. A shorter stretch does not: one clear
    # frame between dark lenses, or a missed detection, must not keep sunglasses from being
    # told. Our choice: longer than a glimpse of a frame or two, shorter than the forward
    # looks between a scanning driver's mirror and shoulder checks.
    count_restart_s: float = Field(0.5, ge=0.0, le=10.0)


class BlinkConfig(Section):
    # Hysteresis on the judged eye closure (0 open .. 1 closed, eye_closure section): the
    # eyes count as closed (a blink or longer closure in progress) above closed_threshold
    # and as open again below open_threshold, so a noisy 0.5 does not split one closure in
    # two. Real blinks reach a fused closure >= 0.8 (eyeBlink 0.55-0.9, EAR 0.01-0.02).
    closed_threshold: float = Field(0.5, gt=0.0, lt=1.0)
    open_threshold: float = Field(0.35, gt=0.0, lt=1.0)
    # Shortest closure that counts as a blink (a one-frame dip below this is noise). Longer
    # closures than microsleep.min_duration_s are microsleeps, not blinks.
    min_duration_s: float = Field(0.02, ge=0.0, le=1.0)
    # Slow blinks: rested blinks last < 0.2 s, closures > 0.5 s indicate sleep deprivation
    # (Wilkinson 2013, REFERENCE.md "blink duration").
    slow_min_duration_s: float = Field(0.5, gt=0.0, le=3.0)
    # Blink rate and mean duration are taken over this window ...
    rate_window_s: float = Field(60.0, gt=0.0, le=600.0)
    # ... and reported only after this much judgeable time in it.
    rate_min_judged_s: float = Field(20.0, gt=0.0, le=600.0)
    # The mean blink duration needs this many blinks in the window (one long blink is not
    # a trend).
    duration_min_blinks: int = Field(3, ge=1, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> "BlinkConfig":
        if self.open_threshold >= self.closed_threshold:
            raise ValueError("open_threshold must be below closed_threshold")
        if self.rate_min_judged_s > self.rate_window_s:
            # The window never holds that much judged time: the blink rate and mean duration
            # (a KSS cue) would stay NaN for the whole drive, silently.
            raise ValueError(f"rate_min_judged_s ({self.rate_min_judged_s} s) must be at most "
                             f"rate_window_s ({self.rate_window_s} s)")
        return self


class ClosureEventsConfig(Section):
    # microsleep: continuous closure >= 1 s (Euro NCAP 2026 microsleep 1-2 s; research
    # 0.5-15 s, Poudel 2014 -> may be lowered to 0.5 s). Longer than sleep_min_duration_s it
    # becomes `sleep` (continuous closure >= 3 s, Euro NCAP).
    microsleep_min_duration_s: float = Field(1.0, ge=0.5, le=3.0)
    sleep_min_duration_s: float = Field(3.0, ge=1.0, le=30.0)
    # A closure survives frames without a judgement (a dropped detection, eyes turned away)
    # up to max_gap_s, and once the eyes were seen closed for long_closure_min_s (longer than
    # an alert blink: rested < 0.2 s, slow > 0.5 s, REFERENCE.md) up to
    # long_closure_max_gap_s; a longer gap ends it without a microsleep / sleep. No event
    # comes from unjudged frames: the 1 s / 3 s verdict waits for a frame with the eyes seen
    # closed. Shut eyes at night lose the face
    # for 0.13-0.23 s (car_eyes_closed_woman, straight and turned 8 deg); a glance from a
    # mirror-mounted camera loses it for 0.5-0.8 s right after one or two closed-looking
    # frames (placement_mirror_drive), which must not become a slow blink
    # (docs/drowsiness.md "The rule").
    max_gap_s: float = Field(0.2, ge=0.0, le=2.0)
    long_closure_min_s: float = Field(0.5, ge=0.0, le=5.0)
    long_closure_max_gap_s: float = Field(0.5, ge=0.0, le=2.0)
    # An opening ends a closure only if it lasts this long: lids cannot reopen and shut again
    # much faster than a blink (REFERENCE.md "blink duration": a rested blink, shut and open,
    # under 200 ms; the 0.1 s, half of that, is our own choice), so a shorter dip below
    # blink.open_threshold is the measurement. Sensor noise
    # at night (sigma 8 grey levels on car_eyes_closed_woman, benchmarks/real_variants.py
    # `noisy`) opened the 4.5 s closure for 33 ms at 2.98 s and turned its sleep into two
    # microsleeps; behind a face mask one frame read open (one eye's iris misread as showing
    # in a downward look) cut car_yawn_man's 2.7 s closure into blinks while it was younger
    # than long_closure_min_s (docs/drowsiness.md). An opening after frames whose eyes were not
    # judged lasts from its first open frame, not from a crossing placed inside the unseen
    # gap. 0: every opening ends it.
    min_opening_s: float = Field(0.1, ge=0.0, le=0.5)
    # ... and a half-open reading (judged closure from half_open_closure up to
    # blink.open_threshold) ends it only if it lasts max_half_open_s. Where the iris cannot be
    # measured (a face ~65 px wide, a dark cabin) the lids alone judge, and a shut eye's
    # reading wanders: car_eyes_closed_woman at half resolution read 0.27-0.45 for 0.35 s in
    # the middle of its 4.5 s closure, car_yawn_man darkened 0.25-0.45 for 0.25 s, and either
    # split the closure into microsleeps (no sleep) or slow blinks. The eyes that really open
    # read below 0.15 within 0.1 s (the same clips at the end of their closures; open eyes
    # 0.0-0.22, docs/drowsiness.md "Measured cues"), so they still end the closure at the
    # crossing of the open threshold, said on the first fully open frame min_opening_s after it.
    # max_half_open_s = min_opening_s: no allowance for half-open readings.
    half_open_closure: float = Field(0.2, ge=0.0, lt=1.0)
    max_half_open_s: float = Field(0.5, ge=0.0, le=1.0)
    # microsleep and sleep need consistent evidence (docs/drowsiness.md "What each event
    # needs"): both eyes judged closed (eye_closure.symmetric_min_closure) for at least this
    # share of the closure's judged time.
    min_symmetric_share: float = Field(0.8, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> "ClosureEventsConfig":
        if self.microsleep_min_duration_s >= self.sleep_min_duration_s:
            raise ValueError("microsleep_min_duration_s must be below sleep_min_duration_s")
        if self.max_half_open_s < self.min_opening_s:
            raise ValueError("max_half_open_s must be at least min_opening_s")
        return self


class PerclosConfig(Section):
    # P80: the share of time the eyes are >= 80 % closed (Wierwille 1994).
    closed_closure: float = Field(0.8, gt=0.0, le=1.0)
    # The two windows the issue asks for; 60 s is the NHTSA field-trial window.
    short_window_s: float = Field(60.0, gt=0.0, le=600.0)
    long_window_s: float = Field(180.0, gt=0.0, le=1800.0)
    # A window is valid only when the eyes were judgeable for this share of it.
    min_judged_fraction: float = Field(0.7, gt=0.0, le=1.0)
    # A gap between frames longer than this counts only up to this long (a stalled camera
    # must not stretch one frame's state over seconds).
    max_frame_gap_s: float = Field(0.5, gt=0.0, le=5.0)


class YawnConfig(Section):
    # jawOpen above open_min opens the mouth, below close_max it is closed again
    # (yawns hold jawOpen > 0.3 for >= 1 s; talking reaches 0.8 but for <= 0.65 s at a time,
    # shared/data/README.md, REFERENCE.md "yawn").
    jaw_open_min: float = Field(0.3, gt=0.0, lt=1.0)
    jaw_close_max: float = Field(0.2, gt=0.0, lt=1.0)
    # Mouth held open this long is a yawn (talking: < 0.7 s at a time).
    min_duration_s: float = Field(1.0, ge=0.7, le=10.0)
    # ... and opened wide at least once: jawOpen reached this in the opening. A yawn drops
    # the jaw to its widest (FACS AU26 + AU27, the mouth stretched open); a jaw left slack
    # (mouth breathing, concentration) or a held vowel of speech or song keeps the mouth open
    # for seconds at talking's moderate openings. Measured (benchmarks/real_variants.py, 19
    # cameras): talking at most 0.40 (desk_talking), both real yawns at least 0.66 by the time
    # they fire and 0.6 within 0.4 s of the mouth opening, so no yawn fires later for it.
    # A yawn's opening that widens late fires when it reaches this. 0: any opening.
    jaw_peak_min: float = Field(0.5, ge=0.0, lt=1.0)
    # No frame with the jaw measured for longer than this (frames dropped by a loaded car
    # computer, a camera stall) ends the opening: a yawn is 1 s of mouth seen open, not two
    # talking openings on either side of time nobody saw. 0.5 s as for eye closures
    # (closure.long_closure_max_gap_s): yawns are still followed at 2.5 fps.
    max_gap_s: float = Field(0.5, gt=0.0, le=2.0)
    # Frames without the jaw measured (the face lost for a frame: a wide-open mouth, a tilted
    # head) end the opening once the jaw has gone unseen for longer than this (the interval
    # between the measured frames around them less one frame period: one frame lost at 10 fps
    # is 0.1 s unseen, as six are at 60; detectors/frame_period.py):
    # within 0.1 s the jaw cannot close and open again (speech, the fastest jaw motion, makes
    # at most ~7 syllables a second, each an opening and a closing), so they hide no closing.
    # Over-exposed (benchmarks/real_variants.py `bright`), car_yawn_man's face is lost for one
    # 60 fps frame at 1.13 and 1.18 s in its yawn, which ended the opening before its 1 s.
    max_unmeasured_s: float = Field(0.1, ge=0.0, le=0.5)
    # Once the mouth has been open for long_opening_min_s (longer than talking opens it), a
    # closing must last min_closing_s to end the opening: the jaw cannot close and open again
    # within 0.1 s (as for max_unmeasured_s), so a shorter closing is the landmark model
    # snapping the mouth shut for a frame or two (car_yawn_man in a noisy or monochrome
    # picture: 17-70 ms at 1.15-1.35 s of its yawn, which ended the opening before its 1 s).
    # Talking's openings (< 0.7 s) end at any closing as before. 0: any closing ends it.
    min_closing_s: float = Field(0.1, ge=0.0, le=0.5)
    long_opening_min_s: float = Field(0.7, ge=0.3, le=10.0)
    # In an opening, a frame whose jawOpen reads closed while the inner lips are still this
    # far apart (mouth_aspect_ratio: lip gap over mouth width, from the landmarks) reads open:
    # in a noisy or monochrome picture the blendshape model's jawOpen jumps between 0.01 and
    # 0.8 from one 30 fps frame to the next inside a yawn, faster than a jaw moves, while the
    # landmarks keep the lips 0.8-1.5 apart (desk_yawn `gray+noisy`, benchmarks/
    # real_variants.py). Mouths outside yawns read at most 0.44 on the real car and desk clips
    # in every variant (talking at most 0.35) and 0.53 on the selfie clips' smiles with teeth
    # showing, so a closing the lips agree with still ends the opening; the lips alone never
    # open one. The ratio is measured in the image: a head turned 45 deg reads it 1.4x (the
    # width foreshortened), talking's 0.35 as 0.49, still below; the landmarker loses faces
    # turned much further (docs/distraction.md). 0: jawOpen alone.
    closing_veto_mouth_ratio: float = Field(0.6, ge=0.0, le=2.0)

    @model_validator(mode="after")
    def _ordered(self) -> "YawnConfig":
        if self.jaw_close_max >= self.jaw_open_min:
            raise ValueError("jaw_close_max must be below jaw_open_min")
        return self


class NodConfig(Section):
    # A nod: the head drops (pitch down from the neutral pose) by at least drop_deg and comes
    # back within recover_deg of neutral within max_duration_s. openpilot's distraction
    # cone is ~18 deg pitch down: a drop of 15 deg is past normal head motion while driving
    # (instrument-cluster checks move the head ~14 deg); a longer head-down is a glance /
    # distraction, not a nod.
    drop_deg: float = Field(15.0, gt=0.0, le=60.0)
    recover_deg: float = Field(5.0, ge=0.0, le=60.0)
    max_duration_s: float = Field(3.0, gt=0.0, le=10.0)
    # The eyes must be closed for this share of the head-down time: nodding off, not a
    # check of the instrument cluster or the lap (head ~15 deg down for ~1 s, eyes open; a
    # blink of 0.1-0.2 s inside it stays well below half).
    min_closed_share: float = Field(0.5, gt=0.0, le=1.0)
    # Frames without the head pitch (the face lost for a moment as the head drops) are bridged
    # while the head has gone unseen for no longer than this (the interval between the measured
    # frames around them less one frame period, detectors/frame_period.py); longer ends the
    # nod. One such frame used to end it: a 0.05 s loss was three frames at 60 fps (no nod)
    # and none at 10 (a nod). 0.1 s as for the jaw (yawn.max_unmeasured_s): the head cannot
    # come back through the recover band and drop again that fast. 0: any such frame ends it.
    max_unmeasured_s: float = Field(0.1, ge=0.0, le=0.5)

    @model_validator(mode="after")
    def _ordered(self) -> "NodConfig":
        if self.recover_deg >= self.drop_deg:
            raise ValueError("recover_deg must be below drop_deg")
        return self


class KssConfig(Section):
    """KSS-like level (docs/drowsiness.md has the formula and the source of each weight)."""

    # Level with no sign of drowsiness: KSS 3 "rather alert" (Akerstedt & Gillberg 1990).
    base_level: float = Field(3.0, ge=1.0, le=9.0)
    # PERCLOS (60 s) -> points, piecewise linear: Wierwille 1994 bands (< 0.075 awake,
    # 0.075-0.15 questionable, > 0.15 drowsy) mapped to +2 / +4 so that the "drowsy" band
    # alone reaches level 7 (EU 2021/1341 may warn at KSS 7), +6 (level 9) at twice it.
    # Normal blinking alone (15-20 blinks/min of 0.1-0.2 s) gives PERCLOS 0.02-0.04: 0 there.
    perclos_points: list[tuple[float, float]] = [(0.04, 0.0), (0.075, 2.0), (0.15, 4.0), (0.30, 6.0)]
    # Mean blink duration (s) -> points: rested < 0.2 s, > 0.5 s sleep deprived
    # (Wilkinson 2013): 0 at 0.2 s, +4 (level 7 alone) at 0.5 s.
    blink_duration_points: list[tuple[float, float]] = [(0.2, 0.0), (0.5, 4.0)]
    # Each slow closure (>= blink.slow_min_duration_s, microsleeps included) within the
    # window adds this, up to the cap: two slow closures a minute + moderate PERCLOS reach 7.
    slow_blink_points: float = Field(1.0, ge=0.0, le=9.0)
    slow_blink_max_points: float = Field(3.0, ge=0.0, le=9.0)
    slow_blink_window_s: float = Field(60.0, gt=0.0, le=1800.0)
    # Each yawn within the window adds this (yawning rises with sleepiness, Provine 2005);
    # a series of 4 yawns in 5 min alone reaches level 7.
    yawn_points: float = Field(1.0, ge=0.0, le=9.0)
    yawn_max_points: float = Field(4.0, ge=0.0, le=9.0)
    yawn_window_s: float = Field(300.0, gt=0.0, le=3600.0)
    # Each nod within the window adds this: nodding off is a late sign (KSS 8-9), two nods
    # alone reach level 7.
    nod_points: float = Field(2.0, ge=0.0, le=9.0)
    nod_max_points: float = Field(6.0, ge=0.0, le=9.0)
    nod_window_s: float = Field(300.0, gt=0.0, le=3600.0)

    @model_validator(mode="after")
    def _points(self) -> "KssConfig":
        for name in ("perclos_points", "blink_duration_points"):
            xs = [x for x, _ in getattr(self, name)]
            if len(xs) < 2 or any(b <= a for a, b in zip(xs, xs[1:], strict=False)):
                raise ValueError(f"{name} needs >= 2 points with increasing x")
        return self


class DrowsyEventConfig(Section):
    # `drowsy` starts when the KSS-like level reaches start_level (EU 2021/1341 DDAW: warn at
    # KSS >= 8, may at 7) and ends only when it has fallen to end_level (hysteresis).
    start_level: int = Field(7, ge=2, le=9)
    end_level: int = Field(5, ge=1, le=8)

    @model_validator(mode="after")
    def _ordered(self) -> "DrowsyEventConfig":
        if self.end_level >= self.start_level:
            raise ValueError("end_level must be below start_level")
        return self


class DrowsinessConfig(Section):
    eye_closure: EyeClosureConfig = EyeClosureConfig()
    eyes: EyeJudgeabilityConfig = EyeJudgeabilityConfig()
    blink: BlinkConfig = BlinkConfig()
    closure: ClosureEventsConfig = ClosureEventsConfig()
    perclos: PerclosConfig = PerclosConfig()
    yawn: YawnConfig = YawnConfig()
    nod: NodConfig = NodConfig()
    kss: KssConfig = KssConfig()
    drowsy: DrowsyEventConfig = DrowsyEventConfig()
