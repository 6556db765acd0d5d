"""Config of the live daemon: the camera it reads and the service around it (`run`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from driver_monitor.config.base import Section
from driver_monitor.config.camera_mount import CameraMountConfig


class ReopenBackoff(Section):
    # After a camera fault the device is reopened after initial_s, then each failed try
    # doubles the wait (factor) up to max_s, so an unplugged camera is polled without
    # spinning a core, and a camera that comes back is picked up within max_s.
    initial_s: float = Field(0.5, gt=0.0, le=60.0)
    factor: float = Field(2.0, ge=1.0, le=10.0)
    max_s: float = Field(8.0, gt=0.0, le=600.0)

    @model_validator(mode="after")
    def _max_not_below_initial(self) -> ReopenBackoff:
        if self.max_s < self.initial_s:
            raise ValueError(f"max_s ({self.max_s}) must not be below initial_s ({self.initial_s})")
        return self


class CameraConfig(Section):
    # A V4L2 device path (/dev/video0) or index ("0"), opened with OpenCV's V4L2 backend; any
    # other path or URL is opened by OpenCV's default backend, so a video file can stand in
    # for the camera (it is played at its own frame rate and looped).
    device: str = "/dev/video0"
    # Requested capture format (devices only; a file keeps its own). 640x480 at 30 fps is
    # the common DMS camera mode and keeps MediaPipe at ~20 ms/frame (REFERENCE.md).
    width_px: int = Field(640, ge=16, le=7680)
    height_px: int = Field(480, ge=16, le=4320)
    fps: float = Field(30.0, gt=0.0, le=240.0)
    # Four-character pixel format asked of the driver ("MJPG", "YUYV"); null = driver default.
    fourcc: str | None = "MJPG"
    # How far the camera's picture must be turned clockwise to be upright (0, 90, 180, 270): a
    # camera mounted on its side or upside down. The pictures are turned before anything reads
    # them (and recorded upright): the face detector finds faces only within ~45 degrees of upright, and left and
    # right (driver_seat, the mirror zones) are those of the upright picture. A camera turned
    # upside down on the headliner or a column bracket is 180.
    rotate_deg: Literal[0, 90, 180, 270] = 0
    # Driver-side buffers; 1 keeps the newest frame (buffers add latency, REFERENCE.md "video").
    buffer_size: int = Field(1, ge=1, le=32)
    # No new frame for this many frame periods (1/fps) -> camera_fault "no_frame". 30 = 1 s
    # at 30 fps: far inside the 10 s to report degraded monitoring (REFERENCE.md), and long
    # enough that a CPU hiccup (0.4 s gaps measured on an overloaded 2-core machine) is not
    # reported as a broken camera.
    no_frame_timeout_periods: float = Field(30.0, ge=1.0, le=1000.0)
    # Consecutive processed frames bit-identical for this long -> camera_fault "frozen_image".
    # A live sensor always carries some noise, so identical pictures mean a stuck driver or
    # buffer; 2 s leaves room inside Euro NCAP's 10 s to report degraded monitoring.
    frozen_frame_s: float = Field(2.0, gt=0.0, le=60.0)
    # Mean luma (0..255) below this for dark_lens_s -> camera_fault "dark_lens" (lens covered
    # or IR illumination dead). A night cabin under 940 nm IR still reads well above 10.
    dark_lens_brightness: float = Field(8.0, ge=0.0, le=255.0)
    # Luma standard deviation below this for dark_lens_s -> camera_fault "covered_lens" (a
    # hand or tape over the lens gives a flat picture even when it is not dark).
    covered_lens_contrast: float = Field(2.0, ge=0.0, le=128.0)
    dark_lens_s: float = Field(2.0, gt=0.0, le=60.0)
    # How long `run` waits for the camera at start before it reports READY with a fault.
    open_timeout_s: float = Field(5.0, gt=0.0, le=120.0)
    reopen_backoff: ReopenBackoff = ReopenBackoff()
    # Where the camera looks at the driver from (config/camera_mount.py): used by replay as
    # well as by the live daemon, because the recording's camera sat there too.
    mount: CameraMountConfig = CameraMountConfig()

    @field_validator("device", mode="before")
    @classmethod
    def _index_or_path(cls, value: object) -> object:
        # `device: 0`, the index unquoted, is YAML's integer: it means "0".
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 0:
                raise ValueError("a camera index is 0 or more")
            return str(value)
        return value

    @field_validator("device")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        # `--camera "$CAM"` with CAM unset: a daemon that only ever reported device_gone.
        if not value.strip():
            raise ValueError("an empty camera device (a V4L2 path such as /dev/video0, an index such as 0, or a video file)")
        return value

    @field_validator("fourcc")
    @classmethod
    def _four_chars(cls, value: str | None) -> str | None:
        if value is not None and len(value) != 4:
            raise ValueError("must be exactly four characters, e.g. MJPG or YUYV, or null")
        return value

    @property
    def frame_period_s(self) -> float:
        return 1.0 / self.fps

    def capture_mode(self) -> tuple[object, ...]:
        """The settings the capture is opened with: a reload that changes them reopens it."""
        return (self.device, self.width_px, self.height_px, self.fps, self.fourcc, self.buffer_size, self.rotate_deg)


class ServiceConfig(Section):
    # Where `run` writes state.json for `driver-monitor status`. null: $RUNTIME_DIRECTORY
    # (systemd RuntimeDirectory=) or else /run/driver-monitor.
    state_dir: Path | None = None
    # How often the state file and the sd_notify STATUS line are refreshed.
    state_interval_s: float = Field(1.0, gt=0.0, le=60.0)
    # Log lines with the same text: at most log_repeat_max per log_repeat_window_s, the rest
    # are counted; when the window ends the last of them is written with the count (journald
    # stays readable when a fault flaps, and its last word is the camera's latest state).
    log_repeat_max: int = Field(3, ge=1, le=1000)
    log_repeat_window_s: float = Field(60.0, gt=0.0, le=3600.0)
    # SIGTERM must end the process within systemd's stop timeout; the loop stops between
    # frames and gives the outputs this long to flush.
    shutdown_timeout_s: float = Field(1.5, gt=0.0, le=30.0)
