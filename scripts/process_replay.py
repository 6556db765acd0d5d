"""The process-replay fixture (issue 16; openpilot's process replay): a drive recorded by
`driver-monitor record` and the decisions a replay of it must keep giving.

    python scripts/process_replay.py --record   # re-record recordings/process_replay (~30 s)
    python scripts/process_replay.py --update   # accept the current decisions as the reference
    python scripts/process_replay.py            # compare (what tests/test_process_replay.py does)

The drive: a synthetic driver (driver_monitor/sim, 320x240, 15 fps) who closes the eyes for
1.5 s at 80 km/h, played as the camera of a real `record` process; the car is another process
on a udp_multicast CAN bus (tests/speed_peer.py: 40 km/h and standstill in turns, so the speed gates open and close during the drive), and a serial
heart-rate sensor sends on a socat pty pair. The recording keeps the live run's own decisions
in events.jsonl; reference_events.jsonl is what `replay DIR --config DIR/config.yaml` decides.
The video is H.264 (crf 18) to keep the repository small, so the reference is the replay's
(the live run saw the pixels before encoding; the exact live == replay property of lossless
recordings is tested on every run by tests/test_record.py). When a change to a detector or the
policy changes the decisions on purpose, --update records the new reference with the change.
"""

from __future__ import annotations

import argparse
import difflib
import json
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "recordings" / "process_replay"
REFERENCE = "reference_events.jsonl"

SCENARIO = """\
name: process_replay
description: a microsleep at speed, for the process-replay fixture
duration_s: 12
seed: 16
camera: {fps: 15, width: 320, height: 240}
driver: {heart_rate_bpm: 70, pulse_amplitude: 0.005}
timeline:
  - {at_s: 6.0, do: eyes_closed, duration_s: 1.5}
"""

CONFIG = """\
policy:
  monitoring:
    activation_s: 1.0
"""


def replay_events(recording: Path) -> list[str]:
    """The event lines `replay DIR --config DIR/config.yaml` writes."""
    from driver_monitor.config import load_config
    from driver_monitor.replay import replay

    with tempfile.TemporaryDirectory() as out:
        replay(recording, load_config(recording / "config.yaml"), Path(out), progress=False)
        return (Path(out) / "events.jsonl").read_text(encoding="utf-8").splitlines()


def compare(recording: Path = FIXTURE) -> list[str]:
    """The diff between the reference and a replay now (empty: the same decisions)."""
    reference = (recording / REFERENCE).read_text(encoding="utf-8").splitlines()
    return list(difflib.unified_diff(reference, replay_events(recording), "reference", "replay now", lineterm=""))


def record(out: Path) -> None:
    """Simulate the driver, then record it live with a CAN peer and a heart-rate sensor."""
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "scenario.yaml").write_text(SCENARIO)
        (tmp / "config.yaml").write_text(CONFIG)
        subprocess.run([sys.executable, "-m", "driver_monitor", "simulate", str(tmp / "scenario.yaml"), "--out",
                        str(tmp / "sim"), "--no-progress"], cwd=REPO, check=True)
        group = f"239.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(1, 254)}"
        peer = subprocess.Popen([sys.executable, str(REPO / "tests" / "speed_peer.py"), "udp_multicast", group,
                                 "0:0,4:40,8:0,10:40,14:0,16:40,20:0,22:40"], cwd=REPO, stdout=subprocess.PIPE, text=True)
        dms, sensor = tmp / "ttyDMS", tmp / "ttySENSOR"
        socat = subprocess.Popen(["socat", f"pty,raw,echo=0,link={dms}", f"pty,raw,echo=0,link={sensor}"])
        stop = threading.Event()
        try:
            assert peer.stdout is not None and peer.stdout.readline().strip() == "ready"
            while not (dms.exists() and sensor.exists()):
                time.sleep(0.02)
            with (tmp / "config.yaml").open("a") as fh:
                fh.write(f"stress:\n  external:\n    serial_port: {dms}\n")

            def send() -> None:
                with open(sensor, "wb", buffering=0) as board:
                    k = 0
                    while not stop.wait(0.5):
                        board.write(f"HR,{70 + k % 4},{850 - k % 3 * 10}\n".encode())
                        k += 1

            threading.Thread(target=send, daemon=True).start()
            if out.exists():
                shutil.rmtree(out)
            subprocess.run([sys.executable, "-m", "driver_monitor", "record", "--no-progress", "--camera",
                            str(tmp / "sim" / "video.mkv"), "--out", str(out), "--codec", "h264", "--config",
                            str(tmp / "config.yaml"), "--can-interface", "udp_multicast", "--can-channel", group],
                           cwd=REPO, check=True)
        finally:
            stop.set()
            peer.terminate()
            socat.terminate()
            peer.wait(5)
            socat.wait(5)
    # The pty's path was the bench's: the fixture's config names none (replay reads the lines).
    config = out / "config.yaml"
    config.write_text(config.read_text().replace(str(dms), "/dev/ttyHEARTRATE"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--record", action="store_true", help="re-record the fixture (then --update is implied)")
    ap.add_argument("--update", action="store_true", help="accept the current replay as the reference")
    args = ap.parse_args()
    if args.record:
        record(FIXTURE)
    if args.record or args.update:
        lines = replay_events(FIXTURE)
        (FIXTURE / REFERENCE).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        names = sorted({json.loads(line)["name"] for line in lines})
        print(f"{FIXTURE / REFERENCE}: {len(lines)} lines ({', '.join(names)})")
        return 0
    diff = compare()
    print("\n".join(diff) if diff else "the same decisions as the reference")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
