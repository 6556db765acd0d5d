"""A separate process on the udp_multicast bus: receives what driver-monitor sends, decodes it
with cantools and config/driver_monitor.dbc, checks the E2E CRC, and writes one JSON line per
frame plus a candump log of the bus (run by the end-to-end tests).

    python tests/can_receiver.py GROUP OUT.jsonl CANDUMP.log [--port 43113] [--idle-s 3] [--max-s 120]

Prints "ready" once the bus is open; exits after --idle-s without traffic (once something
arrived) or after --max-s.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import can
import cantools
from cantools.autosar.end_to_end import compute_profile2_crc


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("group")
    ap.add_argument("out")
    ap.add_argument("candump")
    ap.add_argument("--dbc", default="config/driver_monitor.dbc")
    ap.add_argument("--port", type=int, default=43113)
    ap.add_argument("--idle-s", type=float, default=3.0)
    ap.add_argument("--max-s", type=float, default=120.0)
    args = ap.parse_args()
    db = cantools.database.load_file(args.dbc)
    data_ids = {m.frame_id: int(m.dbc.attributes["E2E_DataID"].value) for m in db.messages}
    bus = can.Bus(interface="udp_multicast", channel=args.group, port=args.port)
    logger = can.Logger(args.candump)
    print("ready", flush=True)
    started = time.monotonic()
    last = None
    with open(args.out, "w", encoding="utf-8") as out:
        while time.monotonic() - started < args.max_s:
            msg = bus.recv(timeout=0.2)
            if msg is None:
                if last is not None and time.monotonic() - last > args.idle_s:
                    break
                continue
            last = time.monotonic()
            logger.on_message_received(msg)
            data = bytes(msg.data)
            try:
                decoded = {k: (str(v) if hasattr(v, "name") else v)
                           for k, v in db.decode_message(msg.arbitration_id, data).items()}
                name = db.get_message_by_frame_id(msg.arbitration_id).name
            except Exception as exc:  # report, the test decides
                decoded, name = {"error": str(exc)}, "?"
            crc_ok = msg.arbitration_id in data_ids and compute_profile2_crc(data, data_ids[msg.arbitration_id]) == data[0]
            out.write(json.dumps({"wall_t": msg.timestamp, "id": msg.arbitration_id, "name": name,
                                  "data": data.hex(), "counter": data[1] & 0x0F, "crc_ok": crc_ok,
                                  "signals": decoded}) + "\n")
            out.flush()
    logger.stop()
    bus.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
