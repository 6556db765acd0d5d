"""Config of the drowsiness detector (blinks, PERCLOS, microsleep, sleep, yawns, KSS level)."""

from pydantic import Field, model_validator

from driver_monitor.config.base import Section


class BlinkConfig(Section):
    # Eye closure (0 open .. 1 closed, the mean of both eyes) above which a blink starts and
    # below which it ends: hysteresis so a noisy 0.5 does not split one blink in two.
    # Real blinks at 25-30 fps peak at eyeBlink 0.55-0.75 only (shared/data/README.md).
    closed_threshold: float = Field(0.5, gt=0.0, lt=1.0)
    open_threshold: float = Field(0.35, gt=0.0, lt=1.0)
    # Shortest and longest closure that counts as a blink; longer closures are judged by the
    # microsleep / sleep rules. Rested blinks last < 200 ms, slow ones > 500 ms (Wilkinson 2013).
    min_duration_s: float = Field(0.04, ge=0.0, le=1.0)
    max_duration_s: float = Field(1.0, gt=0.0, le=5.0)

    @model_validator(mode="after")
    def _ordered(self) -> "BlinkConfig":
        if self.open_threshold >= self.closed_threshold:
            raise ValueError("open_threshold must be below closed_threshold")
        if self.min_duration_s >= self.max_duration_s:
            raise ValueError("min_duration_s must be below max_duration_s")
        return self


class DrowsinessConfig(Section):
    blink: BlinkConfig = BlinkConfig()
