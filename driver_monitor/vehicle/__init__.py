"""The vehicle's inputs to the pipeline, merged into one VehicleState per frame.

  inputs             VehicleInputs: CAN signals + serial ACK + serial heart-rate sensor
  heart_rate_serial  the serial heart-rate sensor (line format in docs/stress.md)

The CAN and serial wire code is in driver_monitor/can and driver_monitor/serial.
"""
