"""Where FrameResults go (the last stage of the flow).

  base           the Sink protocol every output implements
  event_log      events.jsonl (replay) and reading it back
  feature_table  features.csv / .parquet (replay)
  journal        one log line per event (the live daemon)
  can_sink       DMS_Status / DMS_Warning / DMS_Heartbeat on a CAN bus
  serial_sink    the same on a serial link
  fields         what a FrameResult says on the wire (shared by CAN and serial)
  schedule       when each periodic / on-change frame is due, in input time
  threaded       each actuator output behind its own queue and thread
  files          private (0600) output files
"""
