"""Camera health: is the picture fit to judge a driver? Pure, driven by the frames' times and
statistics, and run INSIDE the Pipeline, so a replay of a recording with a frozen, dark or
covered stretch (or a gap in its frames) raises `camera_fault` exactly as the live daemon
does (issue 14: the monitor used to live in the daemon only).

| reason         | when                                                                  |
|----------------|-----------------------------------------------------------------------|
| no_frame       | no new frame for `no_frame_timeout_periods` frame periods             |
| frozen_image   | bit-identical frames for `frozen_frame_s` (a live sensor always has noise) |
| dark_lens      | mean luma below `dark_lens_brightness` for `dark_lens_s`              |
| covered_lens   | luma standard deviation below `covered_lens_contrast` for `dark_lens_s` |
| small_frame    | a frame narrower or lower than MIN_FRAME_SIDE_PX (24) pixels, at once  |
| (the source's) | device_gone, open_failed, read_failed: reported by the live camera    |
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from driver_monitor.config.service import CameraConfig
from driver_monitor.messages import Event, Frame, FrameStats
from driver_monitor.names import EventName

__all__ = ["CameraFaultMonitor", "CameraHealth", "FrameStats", "SourceStatus", "frame_stats"]

NO_FRAME = "no_frame"
FROZEN_IMAGE = "frozen_image"
DARK_LENS = "dark_lens"
COVERED_LENS = "covered_lens"
SMALL_FRAME = "small_frame"

# A picture narrower or lower than this holds no face that can be judged: an eye is about a
# tenth of a face's height, so even a face filling such a frame has eyes two pixels high (and
# a face narrower than drowsiness.min_face_width_px, 60 px, is not judged for closure). A
# camera delivering such frames (a wrong mode, a broken driver: 640x1, 16x16) is faulty;
# judged, its pictures read as an empty seat (driver_absent).
MIN_FRAME_SIDE_PX = 24


# Rows compared first by same_picture: a live sensor's noise differs in every band of rows.
_SAMPLE_ROW_STEP = 16


def same_picture(previous: np.ndarray | None, image: np.ndarray) -> bool:
    """Bit-identical frames (a frozen sensor). Every 16th row first: a live picture almost
    always differs there already, at a sixteenth of the full comparison (~0.14 ms of a
    640x480 frame); only frames equal there are compared in full, so the answer is exact."""
    if previous is None or previous.shape != image.shape:
        return False
    step = _SAMPLE_ROW_STEP
    return bool(np.array_equal(previous[::step], image[::step]) and np.array_equal(previous, image))


def frame_stats(image: np.ndarray, previous: np.ndarray | None) -> FrameStats:
    if image.size == 0:  # a picture without pixels (a broken driver's 0 x 640): too small to judge
        return FrameStats(False, 0.0, 0.0, True)
    identical = same_picture(previous, image)
    small = image[::4, ::4]
    grey = cv2.cvtColor(np.ascontiguousarray(small), cv2.COLOR_RGB2GRAY) if small.ndim == 3 else small
    mean, std = cv2.meanStdDev(grey)
    too_small = min(image.shape[:2]) < MIN_FRAME_SIDE_PX
    return FrameStats(identical, float(mean[0, 0]), float(std[0, 0]), too_small)


class CameraFaultMonitor:
    """Pure: turns frame times, picture statistics and the source's own fault into
    `camera_fault` start / end events (Event.t = when the rule fired, detail.onset_t = when
    the fault began / ended, as everywhere in the event log).

    Time only comes from the caller, so it is tested with synthetic times."""

    def __init__(self, config: CameraConfig, start_t: float):
        self.config = config
        self.last_frame_t = start_t
        self._frozen_since: float | None = None
        self._dark_since: float | None = None
        self._flat_since: float | None = None
        self._small_since: float | None = None  # frames too small to judge since
        self.reasons: frozenset[str] = frozenset()
        # Every reason seen during the current fault: its end names them all (a camera that
        # was gone and then, reopened, slow to deliver reads `device_gone,no_frame`).
        self.episode_reasons: frozenset[str] = frozenset()
        self.fault_since_t: float | None = None
        self.faults_raised = 0

    @property
    def active(self) -> bool:
        return bool(self.reasons)

    def reconfigure(self, config: CameraConfig) -> None:
        self.config = config

    def update(
        self,
        t: float,
        stats: FrameStats | None,
        frame_t: float | None = None,
        source_fault: str | None = None,
        period_s: float | None = None,
    ) -> list[Event]:
        """One step of the frame loop at time t. `stats`/`frame_t`: the new frame, if any."""
        cfg = self.config
        reasons: set[str] = set()
        onset: dict[str, float] = {}
        if source_fault is not None:
            reasons.add(source_fault)
            onset[source_fault] = t
        if stats is not None and frame_t is not None:
            self.last_frame_t = frame_t
            self._frozen_since = _since(self._frozen_since, stats.identical_to_previous, frame_t)
            self._dark_since = _since(self._dark_since, stats.mean_luma < cfg.dark_lens_brightness, frame_t)
            self._flat_since = _since(self._flat_since, stats.luma_std < cfg.covered_lens_contrast, frame_t)
            self._small_since = _since(self._small_since, bool(stats.too_small), frame_t)
        period = period_s if period_s and period_s > 0 else cfg.frame_period_s
        no_frame_after = cfg.no_frame_timeout_periods * period
        if source_fault is None and t - self.last_frame_t > no_frame_after:
            reasons.add(NO_FRAME)
            onset[NO_FRAME] = self.last_frame_t
        for name, since, hold in (
            (FROZEN_IMAGE, self._frozen_since, cfg.frozen_frame_s),
            (DARK_LENS, self._dark_since, cfg.dark_lens_s),
            (COVERED_LENS, self._flat_since, cfg.dark_lens_s),
        ):
            # Picture faults only count while pictures arrive; a silent camera is NO_FRAME.
            if since is not None and self.last_frame_t - since >= hold and NO_FRAME not in reasons:
                reasons.add(name)
                onset[name] = since
        if self._small_since is not None and NO_FRAME not in reasons:  # no hold: not one can be judged
            reasons.add(SMALL_FRAME)
            onset[SMALL_FRAME] = self._small_since
        # A dark picture is also flat; report the more specific cause only.
        if DARK_LENS in reasons:
            reasons.discard(COVERED_LENS)
        return self._transition(t, frozenset(reasons), onset)

    def _transition(self, t: float, reasons: frozenset[str], onset: dict[str, float]) -> list[Event]:
        before = self.reasons
        self.reasons = reasons
        self.episode_reasons |= reasons
        if reasons and not before:
            self.fault_since_t = min(onset.values()) if onset else t
            self.faults_raised += 1
            return [Event(t, "event", EventName.CAMERA_FAULT, "start",
                          {"onset_t": self.fault_since_t, "reason": ",".join(sorted(reasons))})]
        if before and not reasons:
            start = self.fault_since_t if self.fault_since_t is not None else t
            seen, self.fault_since_t, self.episode_reasons = self.episode_reasons, None, frozenset()
            end_t = self.last_frame_t if self.last_frame_t <= t else t
            return [Event(t, "event", EventName.CAMERA_FAULT, "end",
                          {"onset_t": end_t, "duration_s": max(0.0, end_t - start), "reason": ",".join(sorted(seen))})]
        return []


def _since(since: float | None, condition: bool, t: float) -> float | None:
    if not condition:
        return None
    return t if since is None else since



@dataclass(frozen=True, slots=True)
class SourceStatus:
    """What a live camera says about itself (replay: nothing)."""

    fault: str | None = None  # its own fault: device_gone, open_failed, read_failed
    detail: str = ""  # in its words ("/dev/video0: no such device")
    period_s: float | None = None  # its nominal frame period (the no-frame timeout scales with it)


NO_SOURCE_STATUS = SourceStatus()


def describe_reasons(config: CameraConfig, reasons: frozenset[str], source_detail: str = "") -> str:
    """Why, in words, for the journal line of a camera fault."""
    if source_detail:
        return source_detail
    why = {
        NO_FRAME: f"no new frame for {config.no_frame_timeout_periods:g} frame periods",
        FROZEN_IMAGE: f"identical frames for {config.frozen_frame_s:g} s",
        DARK_LENS: f"mean brightness below {config.dark_lens_brightness:g} for {config.dark_lens_s:g} s",
        COVERED_LENS: f"no contrast (luma std below {config.covered_lens_contrast:g}) for {config.dark_lens_s:g} s",
        SMALL_FRAME: f"frames smaller than {MIN_FRAME_SIDE_PX} pixels on a side",
    }
    return "; ".join(why.get(r, r) for r in sorted(reasons))


class CameraHealth:
    """The Pipeline's camera-health stage around CameraFaultMonitor: keeps the previous
    picture for the frozen check and starts the monitor at the first time it sees.

    `frame(...)` for each new frame, `idle(t, ...)` when the live loop got no frame. A frame
    that comes after a silence longer than the no-frame timeout (a gap in a recording, or a
    live camera that stalled between two loop turns) first raises `no_frame` at the time a
    live loop would have noticed it, then ends it with the frame."""

    def __init__(self, config: CameraConfig):
        self.config = config
        self.monitor: CameraFaultMonitor | None = None
        self._previous: np.ndarray | None = None

    @property
    def active(self) -> bool:
        return self.monitor is not None and self.monitor.active

    @property
    def reasons(self) -> frozenset[str]:
        return self.monitor.reasons if self.monitor is not None else frozenset()

    def reconfigure(self, config: CameraConfig) -> None:
        self.config = config
        if self.monitor is not None:
            self.monitor.reconfigure(config)

    def reset_picture(self) -> None:
        """A reopened camera: its first picture is not compared with the old one."""
        self._previous = None

    def start(self, t: float) -> None:
        """The camera was started at t and has delivered nothing since: its silence counts from
        t (the daemon's open wait ran out; else the monitor starts at the first time it sees)."""
        if self.monitor is None:
            self.monitor = CameraFaultMonitor(self.config, t)

    def frame(self, frame: Frame, source: SourceStatus = NO_SOURCE_STATUS) -> list[Event]:
        return self.observe(frame.t, self.stats(frame), source)

    def stats(self, frame: Frame) -> FrameStats:
        """The picture's statistics; the frozen check compares it with the previous picture."""
        stats = frame_stats(frame.image, self._previous)
        self._previous = frame.image
        return stats

    def observe(self, t: float, stats: FrameStats, source: SourceStatus = NO_SOURCE_STATUS) -> list[Event]:
        """A frame at t with these statistics (`frame` computes them from the picture;
        feature replay reads them from the per-frame table)."""
        monitor = self._monitor(t)
        events: list[Event] = []
        period = source.period_s if source.period_s and source.period_s > 0 else self.config.frame_period_s
        timeout = self.config.no_frame_timeout_periods * period
        if t - monitor.last_frame_t > timeout:
            events += monitor.update(monitor.last_frame_t + timeout + 1e-6, None, None, source.fault, source.period_s)
        events += monitor.update(t, stats, t, source.fault, source.period_s)
        return self._explained(events, source)

    def idle(self, t: float, source: SourceStatus = NO_SOURCE_STATUS) -> list[Event]:
        return self._explained(self._monitor(t).update(t, None, None, source.fault, source.period_s), source)

    def _explained(self, events: list[Event], source: SourceStatus) -> list[Event]:
        """A fault's start says why in words (`why`: the journal's line, the docs' table)."""
        return [replace(e, detail={**e.detail, "why": self.describe(source.detail)}) if e.phase == "start" else e
                for e in events]

    def finish(self, t: float) -> list[Event]:
        """End of input during a fault: close it (truncated), as the detectors close theirs."""
        if not self.active or self.monitor is None:
            return []
        reasons = ",".join(sorted(self.monitor.episode_reasons | self.monitor.reasons))
        self.monitor.reasons, self.monitor.episode_reasons = frozenset(), frozenset()
        self.monitor.fault_since_t = None
        return [Event(t, "event", EventName.CAMERA_FAULT, "end", {"reason": reasons, "truncated": True})]

    def describe(self, source_detail: str = "") -> str:
        return describe_reasons(self.config, self.reasons, source_detail)

    def _monitor(self, t: float) -> CameraFaultMonitor:
        if self.monitor is None:
            self.monitor = CameraFaultMonitor(self.config, t)
        return self.monitor
