"""Write a recording directory (docs/recording.md): MKV video with exact per-frame times.

PyAV keeps millisecond-exact timestamps in MKV when the stream and codec time base are
1/1000 and no frame rate is set (with a rate it snaps pts to the rate's grid; REFERENCE.md
"video"). The same times go to timestamps.csv at microsecond resolution.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from driver_monitor.errors import InputError
from driver_monitor.recording.format import META_NAME, TIMESTAMPS_NAME, write_meta, write_timestamps

_MS = Fraction(1, 1000)


class RecordingWriter:
    """Frames in (RGB uint8, time in s from the recording start), a recording directory out.

    codec "libx264" (crf 18: compact, for real footage) or "ffv1" (lossless: keeps the
    sub-percent skin-colour pulse that camera heart rate needs).
    """

    def __init__(self, root: str | Path, width: int, height: int, codec: str = "libx264", crf: int = 18):
        self.root = Path(root)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{self.root}: cannot create the recording directory ({exc.strerror})") from None
        self.video_path = self.root / "video.mkv"
        self._container = av.open(str(self.video_path), mode="w")
        stream = self._container.add_stream(codec)
        stream.width, stream.height = width, height
        stream.time_base = _MS
        stream.codec_context.time_base = _MS
        if codec == "ffv1":
            stream.pix_fmt = "bgr0"
        else:
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": str(crf), "preset": "medium"}
        self._stream = stream
        self.times_s: list[float] = []

    def add_frame(self, t: float, image: np.ndarray) -> None:
        pts = int(round(t * 1000.0))
        if self.times_s and pts <= int(round(self.times_s[-1] * 1000.0)):
            raise ValueError(f"frame times must increase by >= 1 ms ({t} after {self.times_s[-1]})")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        frame.pts = pts
        frame.time_base = _MS
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.times_s.append(pts / 1000.0)

    def close(self, meta: dict[str, Any] | None = None) -> None:
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()
        write_timestamps(self.root / TIMESTAMPS_NAME, self.times_s)
        body = {
            "frames": len(self.times_s),
            "duration_s": round(self.times_s[-1] - self.times_s[0], 3) if self.times_s else 0.0,
            "width_px": self._stream.width,
            "height_px": self._stream.height,
            "video": self.video_path.name,
            "codec": self._stream.codec_context.name,
        }
        body.update(meta or {})
        write_meta(self.root / META_NAME, body)
