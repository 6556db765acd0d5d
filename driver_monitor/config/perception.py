"""Config of the face tracker and the video sources."""

from enum import StrEnum
from pathlib import Path

from pydantic import Field

from driver_monitor.config.base import Section


class DriverSeat(StrEnum):
    """How to pick the driver when the camera sees several faces."""

    left = "left"  # driver sits on the left (left-hand-drive car)
    right = "right"
    largest = "largest"


class PerceptionConfig(Section):
    # None: the vendored model inside the package (checked against its sha256).
    model_path: Path | None = None
    max_faces: int = Field(2, ge=1, le=5)
    # With several faces: "largest" face, or the face whose centre is furthest towards the
    # driver's side of the cabin ("left" for a left-hand-drive car). A driver-facing camera
    # sees the driver's left on the image's right, so "left" picks the face furthest right
    # in the (unmirrored) image.
    driver_seat: DriverSeat = DriverSeat.largest
    # MediaPipe's defaults are 0.5; at 0.5 the face is lost in 6 of 69 frames of the large
    # head turns in iris_tracking_example.gif, at 0.3 in 3 (measured; docs/performance.md).
    min_face_detection_confidence: float = Field(0.3, ge=0.0, le=1.0)
    min_face_presence_confidence: float = Field(0.3, ge=0.0, le=1.0)
    min_tracking_confidence: float = Field(0.3, ge=0.0, le=1.0)


class VideoConfig(Section):
    # GIF frame delays are not reliable timestamps (shared/data/README.md): read at this rate.
    gif_fps: float = Field(12.5, gt=0.0, le=240.0)
    # When a container gives no usable timestamps, assume this rate.
    fallback_fps: float = Field(30.0, gt=0.0, le=240.0)
