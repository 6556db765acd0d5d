"""Small face pictures at each event's start, only when the report is asked for them
(`--video`): a report is a file that travels, and a face is personal data (EU 2019/2144
Art. 6(3); DESIGN.md "Privacy by default").

The video is read with the same source and timestamps as the replay, so the picture is the
frame the rule fired on. The face is found again with the same tracker; without a face (the
seat is empty: driver_absent) the whole frame is shown, scaled down.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from driver_monitor.config import Config
from driver_monitor.report.page import Thumbnail
from driver_monitor.report.timeline import Span

THUMB_HEIGHT_PX = 96
JPEG_QUALITY = 80
# Blinks fire when the eyes reopen (an open-eyed picture says nothing) and come by the
# hundred: they get no picture. Past this many events only the first get one.
MAX_THUMBNAILS = 150
SKIP_NAMES = frozenset({"blink"})
# A face box grown by this share on every side: forehead, chin and a hand at the face show.
CROP_MARGIN = 0.25


def wanted_events(events: Sequence[Span]) -> list[Span]:
    chosen = [s for s in events if s.name not in SKIP_NAMES]
    return sorted(chosen, key=lambda s: s.start_t)[:MAX_THUMBNAILS]


def face_thumbnails(video: str | Path, events: Sequence[Span], config: Config) -> list[Thumbnail]:
    """One picture per wanted event, from the frame at (or first after) its start line's t."""
    from driver_monitor.perception.tracker import create_tracker
    from driver_monitor.replay import open_source

    wanted = wanted_events(events)
    if not wanted:
        return []
    source, _ = open_source(Path(video), config)
    tracker = create_tracker(config.perception)
    out: list[Thumbnail] = []
    try:
        i = 0
        for frame in source:
            if i >= len(wanted):
                break
            if frame.t < wanted[i].start_t - 1e-3:
                continue
            obs = tracker.track(frame)
            picture = _crop(frame.image, obs.box_px if obs is not None else None)
            while i < len(wanted) and wanted[i].start_t <= frame.t + 1e-3:
                span = wanted[i]
                out.append(Thumbnail(span.start_t, span.end_t, span.name, picture))
                i += 1
    finally:
        tracker.close()
        source.close()
    return out


def _crop(image: np.ndarray, box: tuple[float, float, float, float] | None) -> str:
    h, w = image.shape[:2]
    if box is not None:
        x0, y0, x1, y1 = box
        side = max(x1 - x0, y1 - y0) * (1 + 2 * CROP_MARGIN)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        left, top = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
        right, bottom = int(min(w, cx + side / 2)), int(min(h, cy + side / 2))
        if right - left >= 8 and bottom - top >= 8:
            image = image[top:bottom, left:right]
    scale = THUMB_HEIGHT_PX / image.shape[0]
    small = cv2.resize(image, (max(1, round(image.shape[1] * scale)), THUMB_HEIGHT_PX), interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:  # pragma: no cover - OpenCV always encodes an 8-bit image
        raise RuntimeError("JPEG encoding failed")
    return "data:image/jpeg;base64," + base64.b64encode(jpeg.tobytes()).decode("ascii")
