"""Event clips of the live daemon (`recording.event_clips`, docs/recording.md): the "why did it
warn?" recording, written only around a warning or a chosen event, never continuously
(EU 2019/2144 Art. 6(3)).

    frame loop   frame(frame)          the frame into a ring buffer of the last before_s
    pipeline     write(result)         its events into the ring; a warning start (policy
                                       warning_since_t) or a chosen event starts a clip
    CAN / serial can_message, heart_rate_line   into the ring too
    background   a worker thread (nice 10) writes each finished clip (recording/clip_store.py)

A clip covers trigger - before_s .. trigger + after_s; a trigger inside it extends it (to at
most max_clip_s). While a clip is open the ring keeps everything from its start, so the frame
loop only appends references: no copy, no encoding on the loop.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import can
import numpy as np

from driver_monitor.config import Config
from driver_monitor.errors import one_line
from driver_monitor.messages import Event, Frame, FrameResult
from driver_monitor.recording.clip_store import (
    ClipContent,
    ClipStore,
    clip_meta,
    resolve_clips_dir,
    write_clip,
)
from driver_monitor.recording.format import CAMERA_FPS_KEY

log = logging.getLogger(__name__)

WARNING_TRIGGER = "warning"
# The worker's niceness: a clip is written on whatever CPU the frame loop leaves (where the
# system allows it: the systemd unit's syscall filter does not).
WORKER_NICE = 10
# And it takes at most half a core while it encodes (a pause after each frame as long as the
# frame took): a 15 s clip is written in a few seconds, the frame loop keeps its share
# (docs/performance.md "Event clips").
WORKER_DUTY = 0.5
# Finished clips waiting for the worker, beyond the one it is writing. Each holds its raw
# frames (a 15 s clip at 640x480 and 30 fps: ~420 MB), so a worker slower than the triggers
# (a large picture on a slow car computer, a disk that stalls) must not queue them without end
# until the daemon is killed for memory: a clip finishing beyond this is dropped, logged and
# counted (status: dropped), and monitoring goes on.
MAX_QUEUED_CLIPS = 2
# A clip the daemon stops in the middle of is handed to the worker; the stop waits this long.
CLOSE_WAIT_S = 0.5
# The worker also prunes this often while no clip comes: retention_days holds for a daemon
# that runs for days without a trigger or a restart (a scan of the clip directories: cheap).
PRUNE_EVERY_S = 60.0


@dataclass
class _OpenClip:
    start_t: float
    trigger_t: float
    until_t: float
    limit_t: float
    wall_at_start: float
    triggers: list[str] = field(default_factory=list)


class EventClips:
    """A Sink (events, policy), a frame tap and the CAN / heart-rate taps of the daemon."""

    def __init__(self, config: Config, config_text: str, meta: dict[str, Any] | None = None,
                 wall: Callable[[], float] = time.time):
        clips = config.recording.event_clips
        self.config = clips
        self.codec = clips.codec.value
        self.crf = config.recording.h264_crf
        self.preset = config.recording.h264_preset.value
        self.config_text = config_text
        self.meta = dict(meta or {})
        self.wall = wall
        self.store = ClipStore(resolve_clips_dir(clips.dir), clips.quota_mb * 1e6, clips.retention_days * 86400.0, wall)
        self.store.open()
        self.store.prune()
        self._frames: deque[tuple[float, np.ndarray]] = deque()
        self._events: deque[Event] = deque()
        self._inputs_lock = threading.Lock()
        self._can: deque[tuple[float, can.Message]] = deque()
        self._heart_rate: deque[tuple[float, bytes]] = deque()
        self._open: _OpenClip | None = None
        self._warning_since: float | None = None
        self._camera_fps: float | None = None
        self._last_t = -float("inf")
        self.written = 0
        self.failed = 0
        self.dropped = 0  # clips finished while MAX_QUEUED_CLIPS waited for the worker
        self.last_clip: str | None = None
        self.last_error: str | None = None
        self.writing = False  # the worker is encoding a clip now
        self._jobs: queue.Queue[ClipContent | None] = queue.Queue()
        self._summary = self._scan()
        self._worker = threading.Thread(target=self._work, name="event-clips", daemon=True)
        self._worker.start()

    # ---- frame tap --------------------------------------------------------------------------
    def frame(self, frame: Frame, period_s: float | None = None) -> None:
        if period_s and period_s > 0 and round(1.0 / period_s, 3) > 0:  # replay refuses a camera_fps of 0
            self._camera_fps = round(1.0 / period_s, 3)
        self._frames.append((frame.t, frame.image))
        self._advance(frame.t, frame_in=True)

    def stop_reason(self) -> str | None:
        return None  # a failed clip is logged and counted; monitoring goes on

    # ---- Sink -------------------------------------------------------------------------------
    def write(self, result: FrameResult) -> None:
        for e in result.events:
            self._event(e)
        policy = result.policy
        since = policy.warning_since_t if policy is not None else None
        if since is not None and since != self._warning_since and policy is not None:
            self._trigger(f"{WARNING_TRIGGER}-{policy.condition}" if policy.condition else WARNING_TRIGGER, result.t)
        self._warning_since = since
        self._advance(result.t)

    def write_events(self, events: Sequence[Event]) -> None:
        for e in events:
            self._event(e)

    def close(self) -> None:
        """The daemon stops: a clip still open is written with what it has (a worker that does
        not finish before the process ends leaves a hidden directory, removed at next start)."""
        if self._open is not None:
            self._finish(self._last_t)
        self._jobs.put(None)
        self._worker.join(CLOSE_WAIT_S)

    # ---- input taps (other threads) ---------------------------------------------------------
    def can_message(self, msg: can.Message, t: float) -> None:
        with self._inputs_lock:
            self._can.append((t, msg))

    def heart_rate_line(self, line: bytes, t: float) -> None:
        with self._inputs_lock:
            self._heart_rate.append((t, line))

    # ---- status -----------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        count, size = self._summary
        return {"dir": str(self.store.root), "count": count, "bytes": size, "quota_bytes": int(self.store.quota_bytes),
                "written": self.written, "failed": self.failed, "dropped": self.dropped, "deleted": self.store.deleted,
                "last": self.last_clip, "last_error": self.last_error, "recording": self._open is not None,
                "writing": self.writing}

    # ---- parts ------------------------------------------------------------------------------
    def _event(self, e: Event) -> None:
        self._events.append(e)
        if e.kind == "event" and e.phase in ("start", None) and e.name in self.config.events:
            self._trigger(e.name, e.t)

    def _trigger(self, name: str, t: float) -> None:
        if name.startswith(WARNING_TRIGGER) and not self.config.on_warning:
            return
        cfg = self.config
        clip = self._open
        if clip is None:
            start = t - cfg.before_s
            clip = _OpenClip(start, t, t + cfg.after_s, start + cfg.max_clip_s, self.wall() - cfg.before_s)
            self._open = clip
            log.info("event clip: %s at t=%.3f, recording %.1f s before to %.1f s after", name, t, cfg.before_s, cfg.after_s)
        else:
            clip.until_t = min(max(clip.until_t, t + cfg.after_s), clip.limit_t)
        if name not in clip.triggers:
            clip.triggers.append(name)

    def _advance(self, t: float, frame_in: bool = False) -> None:
        """Close the open clip once t reached its end (a result comes before its frame: it
        closes the clip only past the end); drop from the ring what no clip needs."""
        self._last_t = max(self._last_t, t)
        if self._open is not None and (t > self._open.until_t or (frame_in and t >= self._open.until_t)):
            self._finish(self._open.until_t)
        keep_from = t - self.config.before_s
        if self._open is not None:
            keep_from = min(keep_from, self._open.start_t)
        _drop_before(self._frames, keep_from, lambda item: item[0])
        _drop_before(self._events, keep_from, lambda e: e.t)
        with self._inputs_lock:
            _drop_before(self._can, keep_from, lambda item: item[0])
            _drop_before(self._heart_rate, keep_from, lambda item: item[0])

    def _finish(self, end_t: float) -> None:
        clip, self._open = self._open, None
        assert clip is not None
        start, end = clip.start_t, end_t
        if self._jobs.qsize() >= MAX_QUEUED_CLIPS:
            self.dropped += 1
            self.last_error = (f"clip {'+'.join(clip.triggers)} at t={clip.trigger_t:.3f} dropped: "
                               f"{MAX_QUEUED_CLIPS} clips already wait for the writer")
            log.error("event clip: %s", self.last_error)
            return
        with self._inputs_lock:
            can_frames = [(t, m) for t, m in self._can if start <= t <= end]
            heart_rate = [(t, line) for t, line in self._heart_rate if start <= t <= end]
        extra = dict(self.meta)
        if self._camera_fps is not None:
            extra[CAMERA_FPS_KEY] = self._camera_fps
        if can_frames:
            extra["can_start_time_s"] = 0.0  # the log's times are the clip's (recording/can_log.py)
        name = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(clip.wall_at_start + (clip.trigger_t - clip.start_t)))
        content = ClipContent(
            name=f"{name}-{clip.triggers[0]}", start_t=start, end_t=end,
            frames=[(t, image) for t, image in self._frames if start <= t <= end],
            events=[e for e in self._events if start <= e.t <= end],
            can_frames=can_frames, heart_rate_lines=heart_rate,
            meta=clip_meta(clip.triggers, clip.trigger_t, start, end, clip.wall_at_start, extra),
        )
        self._jobs.put(content)

    def _work(self) -> None:
        with contextlib.suppress(OSError, AttributeError):  # per-thread nice: Linux
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WORKER_NICE)
        while True:
            try:
                content = self._jobs.get(timeout=PRUNE_EVERY_S)
            except queue.Empty:
                self._prune()
                continue
            if content is None:
                return
            self.writing = True
            try:
                path = write_clip(self.store, content, self.codec, self.crf, self.preset, self.config_text, WORKER_DUTY)
                self.written += 1
                self.last_clip = path.name
                log.info("event clip written: %s (%d frames, %.1f MB)", path, len(content.frames),
                         sum(f.stat().st_size for f in path.iterdir()) / 1e6)
            except Exception as exc:  # a full disk or a bad frame: this clip is lost, the daemon goes on
                self.failed += 1
                self.last_error = one_line(exc)
                log.error("event clip %s not written: %s", content.name, self.last_error)
            self.writing = False
            self._prune()

    def _prune(self) -> None:
        try:
            self.store.prune()
        except Exception as exc:  # noqa: BLE001 - the worker must outlive a bad directory
            log.error("event clips: pruning %s failed: %s", self.store.root, one_line(exc))
        self._summary = self._scan()

    def _scan(self) -> tuple[int, int]:
        clips = self.store.clips()
        return len(clips), sum(c.bytes for c in clips)


def _drop_before(ring: deque[Any], t: float, time_of: Callable[[Any], float]) -> None:
    while ring and time_of(ring[0]) < t:
        ring.popleft()
