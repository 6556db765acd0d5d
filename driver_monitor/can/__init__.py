"""CAN: the wire library for both directions (python-can + cantools), knowing nothing of the
pipeline.

  dbc    loading the DBC files (the daemon's own and the vehicle's)
  e2e    AUTOSAR E2E Profile 2: CRC and alive counter
  bus    opening a python-can bus from the config
  rx     vehicle frames -> VehicleState (decoder) and the live receive thread
  tx     signals -> E2E-protected frames with their alive counters
  logs   CAN logs: a recording's vehicle log as a VehicleState source, and writing one
"""
