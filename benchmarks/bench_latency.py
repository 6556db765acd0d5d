"""Live-daemon latency, throughput and memory: the real `run` loop (Daemon) on a 640x480
video standing in for the camera, sending its DMS frames on a python-can `virtual` bus that a
listener thread in this process reads.

    python benchmarks/bench_latency.py [--seconds S] [--soak-minutes M] [--fps F] [--json PATH]

Measured per frame / per CAN frame (time.monotonic, the clock frames are stamped with):
  capture -> result    grabber's capture time to the pipeline's result for that frame
                       (tracker, features, detectors, policy, event log done)
  capture -> warning   capture time of the frame whose result changed the warning to the
                       DMS_Warning frame arriving on the bus (event-driven: sent at once)
  status data age      age of the newest capture a DMS_Status frame carries when it arrives
                       on the bus (10 Hz, scheduled in input time: outputs/schedule.py)
plus sustained frames/s, skipped frames, and resident memory (RSS) over time; the soak
(--soak-minutes 10) reports RSS growth from the end of the first minute to the end.

Instrumentation, nothing else changed: the CAN bus is opened with preserve_timestamps so the
listener sees the sender's timestamp, and each frame is stamped with the capture time of the
result it carries (production stamps the due time) so its age can be computed.

The clip: data/clips/selfie_segmentation_web.mp4 letterboxed to 640x480, with 1 s of
noise (nobody in the seat) after each 1 s of face, so driver_absent warnings start and end
every 2 s; policy monitoring is active from the start (activation_s 0).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import can
import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
CLIP = REPO / "data" / "clips" / "selfie_segmentation_web.mp4"  # bundled (data/README.md)
CHANNEL = "bench-latency"

CONFIG = """
presence:
  absent_after_s: 0.3
  present_after_s: 0.2
policy:
  monitoring:
    activation_s: 0.0
camera:
  width_px: 640
  height_px: 480
can:
  enabled: true
  interface: virtual
  channel: {channel}
service:
  state_dir: {state_dir}
"""


def make_camera_clip(path: Path, fps: float = 25.0) -> Path:
    """640x480 MJPG: 1 s of the selfie clip (letterboxed), 1 s of noise, repeated."""
    cap = cv2.VideoCapture(str(CLIP))
    if not cap.isOpened():
        sys.exit(f"error: {CLIP}: cannot open")
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (640, 480))
    rng = np.random.default_rng(0)
    face_n, gap_n = int(1.0 * fps), int(1.0 * fps)
    i = 0
    while True:
        ok, img = cap.read()
        if not ok:
            break
        h, w = img.shape[:2]
        canvas = np.zeros((480, 640, 3), np.uint8)
        scaled = cv2.resize(img, (640, int(h * 640 / w)))
        top = (480 - scaled.shape[0]) // 2
        canvas[top:top + scaled.shape[0]] = scaled
        writer.write(canvas)
        i += 1
        if i % face_n == 0:
            for _ in range(gap_n):
                writer.write(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8))
    writer.release()
    cap.release()
    return path


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return float(np.percentile(np.asarray(values), q))


class Recorder:
    def __init__(self) -> None:
        self.capture_to_result_s: list[float] = []
        self.can: list[tuple[float, int, float, bytes]] = []  # (received, id, stamped t, data)
        self.rss: list[tuple[float, float]] = []


def instrument(rec: Recorder) -> None:
    """Benchmark-only hooks (see the module docstring)."""
    import driver_monitor.outputs.can_sink as can_sink
    import driver_monitor.service as service
    from driver_monitor.outputs.can_sink import DmsCanEncoder

    def open_bus(config: Any) -> can.BusABC:
        return can.Bus(interface="virtual", channel=config.channel, preserve_timestamps=True)

    can_sink.open_bus = open_bus  # type: ignore[assignment]
    orig_encode = DmsCanEncoder.encode_due

    def encode_due(self: DmsCanEncoder, due: Any, *args: Any, **kwargs: Any) -> can.Message:
        msg = orig_encode(self, due, *args, **kwargs)
        msg.timestamp = due.result.t  # capture time of the result this frame carries
        return msg

    DmsCanEncoder.encode_due = encode_due  # type: ignore[method-assign]

    class TimedEventLog(service.EventLogSink):
        def write(self, result: Any) -> None:
            super().write(result)
            if result.state.values:  # a frame's result (fault / stop results carry no columns)
                rec.capture_to_result_s.append(time.monotonic() - result.t)

    service.EventLogSink = TimedEventLog  # type: ignore[misc]


def listen(rec: Recorder, stop: threading.Event) -> None:
    bus = can.Bus(interface="virtual", channel=CHANNEL)
    while not stop.is_set():
        msg = bus.recv(0.1)
        if msg is not None:
            rec.can.append((time.monotonic(), msg.arbitration_id, msg.timestamp, bytes(msg.data)))
    bus.shutdown()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="run length (default 60)")
    ap.add_argument("--soak-minutes", type=float, default=None, help="soak run length in minutes (e.g. 10)")
    ap.add_argument("--fps", type=float, default=25.0, help="frame rate the camera clip is written and played at (default 25)")
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = ap.parse_args()
    duration = args.soak_minutes * 60.0 if args.soak_minutes else args.seconds

    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    rec = Recorder()
    instrument(rec)
    from driver_monitor.can.dbc import DMS_DBC_PATH, load_dbc
    from driver_monitor.service import Daemon

    db = load_dbc(DMS_DBC_PATH)
    status_id = db.get_message_by_name("DMS_Status").frame_id
    warning_id = db.get_message_by_name("DMS_Warning").frame_id

    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        clip = make_camera_clip(tmpdir / "camera.avi", args.fps)
        cfg = tmpdir / "config.yaml"
        cfg.write_text(CONFIG.format(channel=CHANNEL, state_dir=tmpdir / "run"))
        daemon = Daemon(cfg, str(clip))
        stop = threading.Event()
        listener = threading.Thread(target=listen, args=(rec, stop), daemon=True)
        listener.start()
        started = [0.0]

        def watch() -> None:
            while not hasattr(daemon, "monitor"):
                time.sleep(0.05)
            started[0] = time.monotonic()
            while time.monotonic() - started[0] < duration:
                rec.rss.append((time.monotonic() - started[0], rss_mb()))
                time.sleep(min(10.0, max(1.0, duration / 60)))
            rec.rss.append((time.monotonic() - started[0], rss_mb()))
            daemon.request_stop()

        threading.Thread(target=watch, daemon=True).start()
        daemon.run()
        elapsed = time.monotonic() - started[0]
        stop.set()
        listener.join(2.0)
        frames = daemon.pipeline.frames
        skipped = daemon.camera.skipped_frames
        grabbed = daemon.camera.grabbed_frames

    status_age = [r - s for r, i, s, _ in rec.can if i == status_id]
    # Warning frames that announce a change (level / reason / actions) go out at once; the
    # repeats every 200 ms while a warning lasts are periodic like the status.
    warning_msg = db.get_message_by_frame_id(warning_id)
    warning_lat, warning_repeat_age, previous = [], [], None
    for r, i, s, data in rec.can:
        if i != warning_id:
            continue
        fields = warning_msg.decode(data, decode_choices=False)
        key = tuple(v for k, v in sorted(fields.items()) if not k.startswith(("DMS_Warning_", "WarningActiveTime")))
        (warning_lat if key != previous else warning_repeat_age).append(r - s)
        previous = key
    c2r = rec.capture_to_result_s
    warm = [m for t, m in rec.rss if t >= min(60.0, duration * 0.2)]
    rss_growth = (warm[-1] - warm[0]) / warm[0] * 100 if len(warm) >= 2 else float("nan")
    out = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, load {os.getloadavg()[0]:.1f}",
        "seconds": round(elapsed, 1),
        "camera_fps": args.fps,
        "frames": frames,
        "frames_per_s": round(frames / elapsed, 2),
        "camera_frames": grabbed,
        "skipped_frames": skipped,
        "capture_to_result_ms": {"p50": round(pct(c2r, 50) * 1e3, 1), "p99": round(pct(c2r, 99) * 1e3, 1), "n": len(c2r)},
        "capture_to_warning_frame_ms": {"p50": round(pct(warning_lat, 50) * 1e3, 1), "p99": round(pct(warning_lat, 99) * 1e3, 1), "n": len(warning_lat)},
        "warning_repeat_data_age_ms": {"p50": round(pct(warning_repeat_age, 50) * 1e3, 1), "p99": round(pct(warning_repeat_age, 99) * 1e3, 1), "n": len(warning_repeat_age)},
        "status_frame_data_age_ms": {"p50": round(pct(status_age, 50) * 1e3, 1), "p99": round(pct(status_age, 99) * 1e3, 1), "n": len(status_age)},
        "rss_mb": {"first": round(rec.rss[0][1], 1) if rec.rss else None, "after_warmup": round(warm[0], 1) if warm else None,
                   "last": round(rec.rss[-1][1], 1) if rec.rss else None, "growth_after_warmup_percent": round(rss_growth, 2)},
    }
    text = json.dumps(out, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    if c2r:
        print(f"capture->result mean {statistics.mean(c2r) * 1e3:.1f} ms", file=sys.stderr)


if __name__ == "__main__":
    main()
