"""The whole configuration: one section per subsystem (see config/default.yaml)."""

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
