"""The whole configuration: one section per subsystem (see config/default.yaml)."""

from pathlib import PurePath

from driver_monitor.config.anger import AngerConfig
from driver_monitor.config.base import Section
from driver_monitor.config.calibration import CalibrationConfig
from driver_monitor.config.daydreaming import DaydreamingConfig
from driver_monitor.config.distraction import DistractionConfig
from driver_monitor.config.drowsiness import DrowsinessConfig
from driver_monitor.config.outputs import OutputsConfig
from driver_monitor.config.perception import PerceptionConfig, VideoConfig
from driver_monitor.config.policy import PolicyConfig
from driver_monitor.config.presence import PresenceConfig
from driver_monitor.config.privacy import PrivacyConfig
from driver_monitor.config.recording import RecordingConfig
from driver_monitor.config.service import CameraConfig, ServiceConfig
from driver_monitor.config.stress import StressConfig
from driver_monitor.config.vehicle import CanConfig, SerialConfig, VehicleConfig
from driver_monitor.names import DRIVER_NOTICE_ACTIONS


class Config(Section):
    perception: PerceptionConfig = PerceptionConfig()
    video: VideoConfig = VideoConfig()
    presence: PresenceConfig = PresenceConfig()
    calibration: CalibrationConfig = CalibrationConfig()
    drowsiness: DrowsinessConfig = DrowsinessConfig()
    distraction: DistractionConfig = DistractionConfig()
    stress: StressConfig = StressConfig()
    anger: AngerConfig = AngerConfig()
    daydreaming: DaydreamingConfig = DaydreamingConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    outputs: OutputsConfig = OutputsConfig()
    camera: CameraConfig = CameraConfig()
    service: ServiceConfig = ServiceConfig()
    can: CanConfig = CanConfig()
    serial: SerialConfig = SerialConfig()
    vehicle: VehicleConfig = VehicleConfig()
    policy: PolicyConfig = PolicyConfig()
    recording: RecordingConfig = RecordingConfig()


def degraded_notice_problems(config: Config) -> list[str]:
    """Euro NCAP: tell the driver within 10 s that monitoring is degraded [REF: degraded
    monitoring], counted from when the eyes, the face or the picture went: the detector's own
    delay, then the ladder's first stage that tells the driver. The policy section alone
    checks only its ladder (policy.py, an error on load). This sum spans sections, and a
    recording's config.yaml written before it was checked must still replay, so it is a
    warning: `check-config` prints it and the daemon logs it at start (with the detector's 8 s,
    a 3 s first stage told the driver after 11 s)."""
    within = config.policy.degraded_notice_within_s
    detection = {
        "eyes_unavailable": ("drowsiness.eyes.unavailable_after_s", config.drowsiness.eyes.unavailable_after_s),
        "driver_absent": ("presence.absent_after_s", config.presence.absent_after_s),
        "camera_fault": ("camera.frozen_frame_s / dark_lens_s", max(config.camera.frozen_frame_s, config.camera.dark_lens_s)),
    }
    problems = []
    for name, (key, delay_s) in detection.items():
        condition = getattr(config.policy.conditions, name)
        first = next((s for s in condition.ladder if DRIVER_NOTICE_ACTIONS & set(s.actions)), None)
        if condition.enabled and first is not None and delay_s + first.delay_s > within + 1e-9:
            problems.append(
                f"policy.conditions.{name}: {key} ({delay_s:g} s) plus its first notice's delay_s "
                f"({first.delay_s:g} s) tells the driver after {delay_s + first.delay_s:g} s, beyond "
                f"policy.degraded_notice_within_s ({within:g} s, Euro NCAP)")
    return problems


def repeat_problems(config: Config) -> list[str]:
    """A condition whose ladder is meant to repeat but never does: repeat_every_s set with
    max_repeats 0 (every condition's default but drowsy's), so `repeat_every_s: 20` alone
    validated and never repeated the warning. A warning, as degraded_notice_problems, not an
    error: a recording's config.yaml of before this check must still replay. (max_repeats
    without repeat_every_s is not one: `repeat_every_s: null` is the documented "no repeats",
    and drowsy keeps its max_repeats 3 then.)"""
    problems = []
    for name, condition in config.policy.conditions.items():
        if not condition.enabled:
            continue
        if condition.repeat_every_s is not None and condition.max_repeats == 0:
            problems.append(f"policy.conditions.{name}: repeat_every_s ({condition.repeat_every_s:g} s) with max_repeats 0 "
                            "never repeats the ladder: set max_repeats, or repeat_every_s: null for no repeats")
    return problems


def relative_path_problems(config: Config) -> list[str]:
    """A relative path in a config (dbc_path, model_path, event_clips.dir, state_dir) is read
    against the process's working directory, not the config file's: `check-config` run in
    /etc/driver-monitor finds `my_car.dbc` beside the file, the systemd service (working
    directory /) does not, and a daemon started elsewhere reads another file."""
    problems: list[str] = []

    def walk(section: Section, prefix: str) -> None:
        for name in type(section).model_fields:
            value = getattr(section, name)
            key = f"{prefix}{name}"
            if isinstance(value, Section):
                walk(value, f"{key}.")
            elif isinstance(value, PurePath) and not value.is_absolute():
                problems.append(f"{key}: {str(value)!r} is relative: it is read against the working directory "
                                "(/ under the systemd service), not the config file's; give an absolute path")

    walk(config, "")
    return problems


def config_warnings(config: Config) -> list[str]:
    """What `check-config` prints as warnings and the daemon logs at its start: settings that
    validate but do not do what they say."""
    return degraded_notice_problems(config) + repeat_problems(config) + relative_path_problems(config)
