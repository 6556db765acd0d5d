"""Config of what the daemon records: the `record` subcommand's video and the event clips of
`run` (docs/recording.md). Nothing is recorded unless asked (EU 2019/2144 Art. 6(3))."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, model_validator

from driver_monitor.config.base import Section
from driver_monitor.names import EventName


class VideoCodec(StrEnum):
    # Lossless H.264 of the RGB picture (libx264rgb, qp 0, ultrafast; High 4:4:4 Predictive):
    # every pixel kept like ffv1 (a replay sees exactly the live run's pixels, the skin pulse
    # survives) for 2-4x less CPU per frame; 0.3-0.9 bytes per pixel on the real clips, about
    # FFV1's size on in-car footage, up to 1.8x it on a noisy desk camera (docs/performance.md
    # "Recording").
    h264_lossless = "h264_lossless"
    # Lossless (RGB, no chroma subsampling), FFmpeg's archival codec: the same pixels as
    # h264_lossless for ~12-15 ms of CPU per 640x480 frame (as much as the face tracker).
    ffv1 = "ffv1"
    # libx264 at crf <= 18: ~100x smaller, near-lossless to the eye, but it smooths the skin
    # pulse (degraded on a small face) and a replay's face landmarks differ slightly from the
    # live run's.
    h264 = "h264"


class H264Preset(StrEnum):
    ultrafast = "ultrafast"
    superfast = "superfast"
    veryfast = "veryfast"
    faster = "faster"
    fast = "fast"
    medium = "medium"
    slow = "slow"


# Bytes per pixel of one frame, to tell at start whether the event-clip quota holds one clip:
# measured 1.15 (FFV1) and 0.012 (H.264 crf 18) on a synthetic 640x480 / 30 fps drive with
# sensor noise (benchmarks/bench_record.py codecs, docs/performance.md "Recording"), 1.4 for
# FFV1 on real footage with noise; rounded up, and H.264 x4 for real cabins' detail.
# h264_lossless: 0.27-0.92 measured on the five real clips of ../shared/data/real (FFV1 0.27-0.64
# on the same frames), rounded up like FFV1's.
BYTES_PER_PIXEL = {VideoCodec.h264_lossless: 1.5, VideoCodec.ffv1: 1.5, VideoCodec.h264: 0.05}


class EventClipsConfig(Section):
    """`run` keeps the last `before_s` of frames (and CAN frames, heart-rate lines, events) in
    memory; when a warning or a chosen event starts it writes a recording directory from
    before_s before to after_s after it, on a background thread (docs/recording.md)."""

    # Off by default: the daemon keeps no pictures (EU 2019/2144 Art. 6(3)).
    enabled: bool = False
    # Where the clips go, one directory each (0700, files 0600). null: $STATE_DIRECTORY/clips
    # (systemd StateDirectory=) or else /var/lib/driver-monitor/clips.
    dir: Path | None = None
    # Seconds kept before the trigger. The ring buffer holds raw frames: 10 s at 640x480 and
    # 30 fps is ~280 MB of memory (width x height x 3 bytes x fps x before_s).
    before_s: float = Field(10.0, ge=0.0, le=60.0)
    # Seconds recorded after the trigger; a trigger inside a clip extends it.
    after_s: float = Field(5.0, ge=0.0, le=60.0)
    # A clip never runs longer than this, however many triggers extend it.
    max_clip_s: float = Field(60.0, gt=0.0, le=600.0)
    # A clip when a driver-facing warning starts (policy level >= 2, docs/policy.md).
    on_warning: bool = True
    # A clip when one of these events starts (e.g. [microsleep, phone_use]).
    events: list[EventName] = []
    # h264 (crf recording.h264_crf): ~100x smaller than lossless and ~4x cheaper to encode
    # beside the frame loop; a clip cannot replay the live decisions exactly anyway (the
    # detectors' history before it is missing). ffv1 keeps every pixel (docs/recording.md).
    codec: VideoCodec = VideoCodec.h264
    # The clips together never use more than this (the oldest are deleted first).
    quota_mb: float = Field(2048.0, gt=0.0)
    # Clips older than this are deleted (at start, after every clip and every minute).
    retention_days: float = Field(7.0, gt=0.0, le=3650.0)

    @model_validator(mode="after")
    def _one_clip_fits(self) -> EventClipsConfig:
        # A clip is before_s + after_s around its first trigger: a cap below that would cut
        # it before the trigger's own after_s (or before the trigger itself).
        if self.max_clip_s < self.before_s + self.after_s:
            raise ValueError(f"max_clip_s ({self.max_clip_s:g}) must be at least before_s + after_s "
                             f"({self.before_s + self.after_s:g}): one clip is that long")
        return self


class RecordingConfig(Section):
    # Codec of `driver-monitor record` (--codec overrides it). Lossless by default: a
    # recording is made to replay exactly what the car decided.
    codec: VideoCodec = VideoCodec.h264_lossless
    # x264 constant rate factor: 18 is visually lossless (x264 docs); higher would smooth the
    # sub-percent skin pulse further, so 18 is the ceiling.
    h264_crf: int = Field(18, ge=0, le=18)
    # x264 speed / size trade-off of `h264`: ultrafast costs half veryfast's CPU per frame
    # (~1.5 against ~3.5 ms at 640x480, one thread) for ~1.4x the bytes, which at crf 18 is
    # still ~5 MB a minute (docs/performance.md "Recording"); on a car computer the CPU is
    # the scarce part. Encoded with zero latency (no B-frames, no look-ahead) so a killed
    # recording keeps every frame already encoded.
    h264_preset: H264Preset = H264Preset.ultrafast
    event_clips: EventClipsConfig = EventClipsConfig()


def clip_bytes_estimate(clips: EventClipsConfig, width_px: int, height_px: int, fps: float) -> float:
    """About how many bytes an ordinary clip (before_s + after_s) takes."""
    seconds = clips.before_s + clips.after_s
    return seconds * fps * width_px * height_px * BYTES_PER_PIXEL[clips.codec]


def clip_quota_problem(clips: EventClipsConfig, width_px: int, height_px: int, fps: float) -> str | None:
    """A quota smaller than one clip would delete every clip as soon as it is written."""
    if not clips.enabled:
        return None
    need = clip_bytes_estimate(clips, width_px, height_px, fps)
    if clips.quota_mb * 1e6 >= need:
        return None
    return (f"recording.event_clips.quota_mb: {clips.quota_mb:g} MB is smaller than one clip (about "
            f"{need / 1e6:.0f} MB: {clips.before_s + clips.after_s:g} s of {width_px}x{height_px} at "
            f"{fps:g} fps in {clips.codec.value})")
