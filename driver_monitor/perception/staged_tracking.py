"""Replay on both cores: decoding, face location and the rest of the frame in three threads.

    decode thread      frames from the source (PyAV releases the GIL while it decodes), and
                       the tracker's stateless detector stage when it runs on every frame
    locate thread      the tracker's sequential stage: crop / landmark model
    caller's thread    the tracker's per-frame stage (blendshapes, matrix), then features,
                       detectors, policy and sinks, one frame behind

Every frame goes through the same calls in the same order as in the serial loop: the
tracker's state lives in the locate stage only, the second stage is stateless, so the
results are identical (tests/test_staged_tracking.py). A source error (a truncated file)
travels down the queues and is raised where the serial loop would have raised it, after
every frame decoded before it. A tracker without the two stages (MediaPipe) runs whole in
the locate thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import cv2

from driver_monitor.messages import FaceObservation, Frame
from driver_monitor.perception.tracker import FaceTracker

_DONE = object()
QUEUE_FRAMES = 8  # frames in flight per queue: enough to ride out a slow frame, little memory
# OpenCV's own thread pool (the crops' warps): the three stages keep both cores busy, and its
# threads only contend with them. One thread: 138 -> 145 frames/s, 12.6 -> 12.0 ms of CPU a
# frame on selfie_writing (docs/performance.md, 2026-12-06). A fourth stage taking the
# blendshapes, the matrix and the features off the caller's thread measured slower.
OPENCV_THREADS = 1


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


def tracked_frames(frames: Iterable[Frame], tracker: FaceTracker, staged: bool = True) -> Iterator[tuple[Frame, FaceObservation | None]]:
    """(frame, observation) for every frame, staged in threads or (staged=False) serially."""
    if not staged:
        for frame in frames:
            yield frame, tracker.track(frame)
        return
    detect: Callable[[Frame], Any] = getattr(tracker, "detect", lambda frame: None)
    locate: Callable[..., Any] = getattr(tracker, "locate", None) or (lambda frame, _: tracker.track(frame))
    observe: Callable[[Any], FaceObservation | None] = getattr(tracker, "observe", lambda obs: obs)
    stop = threading.Event()
    decoded: queue.Queue[Any] = queue.Queue(QUEUE_FRAMES)
    located: queue.Queue[Any] = queue.Queue(QUEUE_FRAMES)

    def decode() -> None:
        try:
            for frame in frames:
                if not _put(decoded, (frame, detect(frame)), stop):
                    return
            _put(decoded, _DONE, stop)
        except BaseException as exc:  # handed to the caller's thread, raised there
            _put(decoded, _Failure(exc), stop)

    def locate_all() -> None:
        while not stop.is_set():
            item = _get(decoded, stop)
            if item is None:
                return
            if item is _DONE or isinstance(item, _Failure):
                _put(located, item, stop)
                return
            frame, detections = item
            try:
                result = (frame, locate(frame, detections))
            except BaseException as exc:
                _put(located, _Failure(exc), stop)
                return
            if not _put(located, result, stop):
                return

    threads = [threading.Thread(target=decode, name="replay-decode", daemon=True),
               threading.Thread(target=locate_all, name="replay-locate", daemon=True)]
    with _opencv_threads(OPENCV_THREADS):
        for thread in threads:
            thread.start()
        try:
            while True:
                item = located.get()
                if item is _DONE:
                    return
                if isinstance(item, _Failure):
                    raise item.error
                frame, found = item
                yield frame, observe(found)
        finally:
            stop.set()
            for thread in threads:
                thread.join()


@contextmanager
def _opencv_threads(count: int) -> Iterator[None]:
    """OpenCV's thread pool (one per process) at `count` while the stages run, and as it was
    once they end."""
    before = cv2.getNumThreads()
    cv2.setNumThreads(count)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


def _put(q: queue.Queue[Any], item: Any, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _get(q: queue.Queue[Any], stop: threading.Event) -> Any:
    while not stop.is_set():
        try:
            return q.get(timeout=0.1)
        except queue.Empty:
            continue
    return None
