"""Vehicle I/O: CAN (python-can + cantools) and serial (pyserial) adapters around the pure core.

Public API:
  write_vehicle_can_log(states, path, config=None, start_time_s=...) -> start time for meta.yaml
  VehicleCanEncoder         VehicleState -> vehicle CAN frames (the car's side, for tests/logs)
  VehicleSignalDecoder      vehicle CAN frames -> VehicleState (timeouts, range, CRC, counter)
  CanLogVehicleSource, LiveCanVehicleSource, open_log_source   VehicleSource.state_at(t)
  DmsCanEncoder             FrameResult -> DMS_Status / DMS_Warning / DMS_Heartbeat frames
  OutputSchedule            when each output frame is due, in input time
"""

from driver_monitor.vehicle.can_log import (
    DEFAULT_LOG_START_TIME_S,
    VehicleCanEncoder,
    vehicle_frames,
    write_vehicle_can_log,
)
from driver_monitor.vehicle.can_rx import VehicleSignalDecoder
from driver_monitor.vehicle.can_tx import DmsCanEncoder
from driver_monitor.vehicle.schedule import OutputSchedule
from driver_monitor.vehicle.source import (
    CanLogVehicleSource,
    LiveCanVehicleSource,
    VehicleSource,
    open_log_source,
)

__all__ = [
    "DEFAULT_LOG_START_TIME_S",
    "CanLogVehicleSource",
    "DmsCanEncoder",
    "LiveCanVehicleSource",
    "OutputSchedule",
    "VehicleCanEncoder",
    "VehicleSignalDecoder",
    "VehicleSource",
    "open_log_source",
    "vehicle_frames",
    "write_vehicle_can_log",
]
