"""Serial: the wire library for the framed link to vehicle hardware (pyserial), knowing
nothing of the pipeline.

  protocol  the frame format (COBS + CRC-16, docs/serial-protocol.md) and its decoder
  link      the port itself: open by URL, write with a timeout, read the ACK button,
            reopen with backoff
"""
