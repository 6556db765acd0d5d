"""Soak test of the live daemon: `driver-monitor run` for MINUTES as systemd runs it, with
every input and output busy, measuring what a long drive does to it.

    python benchmarks/bench_soak.py [--minutes 30] [--json out.json]

The set-up (all on this machine, real peers):
- camera: data/clips/selfie_segmentation_web.mp4 standing in for the camera (a real face,
  25 fps, looped like a re-plugged camera every 9 s);
- CAN: a vehicle peer in another process sends VEH_Speed / VEH_Body / VEH_Hmi at their DBC
  cycles (VEH_Speed every 10 ms: 100 Hz) on a udp_multicast group the daemon reads and sends
  its DMS frames to; once a minute a garbage datagram hits the group (issue 13);
- serial: a real pty pair (socat, when installed) takes the serial frames;
- systemd: NOTIFY_SOCKET bound here, WATCHDOG_USEC=5 s as the unit sets it;
- a SIGHUP reload every 5 minutes.

Measured: the daemon's RSS every 10 s (growth after a 60 s warm-up, per hour by a linear fit),
its frame time (the loop's time per frame through the pipeline: p50 / p99 / max over the
whole run, from its state file), the gaps between watchdog pings (it pings every 2.5 s; a
gap near 5 s would get it killed), frames, rx errors, reloads, load average. Results in
docs/performance.md ("Soak").
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLIP = REPO / "data" / "clips" / "selfie_segmentation_web.mp4"
WATCHDOG_USEC = 5_000_000
SAMPLE_S = 10.0
RELOAD_EVERY_S = 300.0
GARBAGE_EVERY_S = 60.0
WARMUP_S = 60.0
UDP_MULTICAST_PORT = 43113  # python-can's default for udp_multicast

CONFIG = """
service:
  state_interval_s: 1.0
"""



def rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class NotifyListener:
    def __init__(self, path: Path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.5)
        self.pings: list[float] = []
        self.ready = threading.Event()
        self._running = True
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while self._running:
            try:
                data = self.sock.recv(4096).decode(errors="replace")
            except (TimeoutError, OSError):
                continue
            now = time.monotonic()
            fields = dict(line.split("=", 1) for line in data.splitlines() if "=" in line)
            if fields.get("WATCHDOG") == "1":
                self.pings.append(now)
            if fields.get("READY") == "1":
                self.ready.set()

    def close(self) -> None:
        self._running = False
        self._thread.join(1.0)
        self.sock.close()


def drain(path: Path) -> None:
    """The microcontroller's end of the serial line: read everything, until it closes."""
    try:
        with open(path, "rb", buffering=0) as board:
            while board.read(4096):
                pass
    except OSError:
        return


def linear_slope(xs: list[float], ys: list[float]) -> float:
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--json", type=Path, default=None, help="write the figures here too")
    args = ap.parse_args()
    if not CLIP.is_file():
        sys.exit(f"error: {CLIP}: missing")
    tmp = Path(tempfile.mkdtemp(prefix="dm-soak-"))
    group = f"239.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(1, 254)}"
    config = tmp / "config.yaml"
    config.write_text(CONFIG)
    state_file = tmp / "run" / "state.json"
    listener = NotifyListener(tmp / "notify.sock")
    procs: list[subprocess.Popen] = []
    serial_args: list[str] = []
    if shutil.which("socat"):
        a, b = tmp / "ttyDMS", tmp / "ttyBOARD"
        procs.append(subprocess.Popen(["socat", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 5
        while not a.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        serial_args = ["--serial-port", str(a)]
        threading.Thread(target=drain, args=(b,), daemon=True).start()
    procs.append(subprocess.Popen([sys.executable, "-m", "driver_monitor.can.peer", "udp_multicast", group], cwd=REPO))
    env = dict(os.environ, NOTIFY_SOCKET=str(tmp / "notify.sock"), WATCHDOG_USEC=str(WATCHDOG_USEC),
               RUNTIME_DIRECTORY=str(tmp / "run"), PYTHONUNBUFFERED="1")
    log = (tmp / "daemon.log").open("w")
    daemon = subprocess.Popen([sys.executable, "-m", "driver_monitor", "run", "--config", str(config),
                               "--camera", str(CLIP), "--can-interface", "udp_multicast", "--can-channel", group,
                               *serial_args], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log)
    if not listener.ready.wait(60):
        daemon.kill()
        sys.exit(f"error: the daemon did not get ready (log: {tmp / 'daemon.log'})")
    start = time.monotonic()
    end = start + args.minutes * 60.0
    samples: list[dict] = []
    next_sample, next_reload, next_garbage = start, start + RELOAD_EVERY_S, start + GARBAGE_EVERY_S
    reloads = garbage = 0
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        while time.monotonic() < end and daemon.poll() is None:
            now = time.monotonic()
            if now >= next_sample:
                state = json.loads(state_file.read_text()) if state_file.is_file() else {}
                samples.append({"t_s": round(now - start, 1), "rss_kb": rss_kb(daemon.pid),
                                "frames": state.get("frames"), "fps": state.get("fps"),
                                "frame_time_ms": state.get("frame_time_ms"),
                                "vehicle": state.get("vehicle"), "load1": os.getloadavg()[0]})
                next_sample += SAMPLE_S
            if now >= next_reload:
                daemon.send_signal(signal.SIGHUP)
                reloads += 1
                next_reload += RELOAD_EVERY_S
            if now >= next_garbage:
                udp.sendto(b"\xde\xad\xbe\xef not a python-can datagram", (group, UDP_MULTICAST_PORT))
                garbage += 1
                next_garbage += GARBAGE_EVERY_S
            time.sleep(0.2)
        alive = daemon.poll() is None
        final = json.loads(state_file.read_text()) if state_file.is_file() else {}
        t_stop = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        rc = daemon.wait(10)
        stop_s = time.monotonic() - t_stop
    finally:
        for p in procs:
            p.terminate()
        listener.close()
        log.close()
    pings = [p for p in listener.pings if start <= p <= t_stop]
    gaps = sorted(b - a for a, b in zip(pings, pings[1:], strict=False))
    warm = [s for s in samples if s["t_s"] >= WARMUP_S and s["rss_kb"]]
    slope_kb_per_h = linear_slope([s["t_s"] for s in warm], [s["rss_kb"] for s in warm]) * 3600 if len(warm) > 2 else 0.0
    result = {
        "minutes": args.minutes, "alive_at_end": alive, "exit_code": rc, "stop_s": round(stop_s, 2),
        "rss_mb": {"after_warmup": round(warm[0]["rss_kb"] / 1024, 1) if warm else None,
                   "end": round(warm[-1]["rss_kb"] / 1024, 1) if warm else None,
                   "max": round(max(s["rss_kb"] for s in warm) / 1024, 1) if warm else None,
                   "growth_mb_per_h": round(slope_kb_per_h / 1024, 2)},
        "frame_time_ms": final.get("frame_time_ms"),
        "frames": final.get("frames"), "fps_mean": round(statistics.fmean(s["fps"] for s in samples if s["fps"]), 1),
        "watchdog": {"interval_s": WATCHDOG_USEC / 2e6, "pings": len(pings),
                     "gap_p50_s": round(gaps[len(gaps) // 2], 3) if gaps else None,
                     "gap_max_s": round(gaps[-1], 3) if gaps else None},
        "reloads_sent": reloads, "reloads_done": final.get("reloads"), "reload_error": final.get("reload_error"),
        "garbage_datagrams_sent": garbage, "vehicle": final.get("vehicle"),
        "vehicle_rx_errors": final.get("vehicle_rx_errors"), "outputs": final.get("outputs"),
        "load1_mean": round(statistics.fmean(s["load1"] for s in samples), 2), "cpus": os.cpu_count(),
        "samples": samples,
    }
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=1))
    return 0 if alive and rc == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
