"""What recording costs (issue 16), on a synthetic 640x480 / 30 fps drive with a 0.6 % skin pulse
(driver_monitor/sim), in three parts:

    python benchmarks/bench_record.py codecs [--work DIR]
        MB per minute of each codec and whether the camera heart rate survives it: the drive's
        frames written through the recorder's writer (recording/live.py) in lossless H.264 (RGB,
        `record`'s default), FFV1, H.264 crf 18 (x264 ultrafast, zero latency, as `record
        --codec h264` writes it; and veryfast) and MPEG-4 Part 2
        (OpenCV's mp4v, for contrast), then replayed; heart-rate error against the rendered 72 bpm.
    python benchmarks/bench_record.py cost [--seconds S] [--repeats N] [--work DIR]
        `record` against `run` on the same camera source (the drive as H.264, a cheap decode like
        a camera's MJPG): frames/s and process CPU (user + system of every thread, /proc) over a
        steady window after start-up, alternating run / record (h264_lossless, the default) /
        record ffv1 / record h264 (ultrafast, the default preset) / record h264 with
        recording.h264_preset veryfast.
    python benchmarks/bench_record.py real [--work DIR]
        each codec through the recorder's writer on the first 90 frames of every real clip of
        ../shared/data/real: encoder CPU per frame (scaled to 640x480) and bytes per pixel.
    python benchmarks/bench_record.py clips [--codec h264|ffv1] [--work DIR]
        the frame loop's time while an event clip is written: the Pipeline and the event clips
        in one process, frames paced at 30 fps, a clip triggered every 8 s; loop time per frame
        without clips, with the ring buffer only, and while the background worker encodes.

Every part prints a table row for docs/performance.md with the date, the machine and the load.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BPM = 72.0
SCENARIO = {"name": "bench_record", "duration_s": 14.0, "seed": 5, "camera": {"fps": 30, "width": 640, "height": 480},
            "driver": {"heart_rate_bpm": BPM, "pulse_amplitude": 0.006, "head_sway_deg": 0.4}}


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, load {os.getloadavg()[0]:.1f}"


def synthetic_drive(work: Path) -> Path:
    """The drive as a lossless recording (cached in --work)."""
    from driver_monitor.sim.simulate import simulate

    out = work / "drive"
    if not (out / "meta.yaml").is_file():
        scenario = work / "drive.yaml"
        scenario.write_text(yaml.safe_dump(SCENARIO))
        simulate(scenario, out)
    return out


def camera_source(work: Path) -> Path:
    """The drive as an H.264 file for the camera (decoded like a camera's stream, cheaply)."""
    import av

    from driver_monitor.recording.format import open_recording
    from driver_monitor.sources.video_file import VideoFileSource

    path = work / "camera.mp4"
    if path.is_file():
        return path
    rec = open_recording(synthetic_drive(work))
    with VideoFileSource(rec.video_path, timestamps_s=rec.timestamps_s) as source, av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
        stream.options = {"crf": "18"}
        for frame in source:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame.image, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


# ---- codecs ----------------------------------------------------------------------------------
def codecs(work: Path) -> None:
    import av

    from driver_monitor.config import Config
    from driver_monitor.recording.format import open_recording
    from driver_monitor.recording.live import LiveRecording
    from driver_monitor.replay import replay
    from driver_monitor.sources.video_file import VideoFileSource

    rec = open_recording(synthetic_drive(work))
    with VideoFileSource(rec.video_path, timestamps_s=rec.timestamps_s) as source:
        frames = list(source)
    span_min = (frames[-1].t - frames[0].t + 1 / 30) / 60.0
    print(f"{len(frames)} frames 640x480, {span_min * 60:.1f} s; {machine()}", flush=True)
    for name in ("h264_lossless", "ffv1", "h264", "h264-veryfast", "mp4v"):
        root = work / f"codec-{name}"
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir()
        started = time.process_time()
        if name == "mp4v":  # what cv2.VideoWriter's "mp4v" writes: MPEG-4 Part 2 at libavcodec's default rate
            with av.open(str(root / "video.mkv"), "w") as out:
                stream = out.add_stream("mpeg4")
                stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
                stream.time_base = stream.codec_context.time_base = Fraction(1, 1000)
                for f in frames:
                    vf = av.VideoFrame.from_ndarray(f.image, format="rgb24")
                    vf.pts, vf.time_base = int(round(f.t * 1000)), Fraction(1, 1000)
                    for packet in stream.encode(vf):
                        out.mux(packet)
                for packet in stream.encode(None):
                    out.mux(packet)
            shutil.copy(rec.root / "timestamps.csv", root / "timestamps.csv")
        else:
            codec, _, preset = name.partition("-")
            recording = LiveRecording(root, {"source": "synthetic"}, codec=codec, crf=18, preset=preset or "ultrafast")
            for f in frames:
                recording.frame(f, 1 / 30)
            recording.close()
        cpu_ms = (time.process_time() - started) / len(frames) * 1000
        size = (root / "video.mkv").stat().st_size
        out_dir = work / f"codec-{name}-out"
        replay(root, Config(), out_dir, progress=False)
        with (out_dir / "features.csv").open(encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        estimates = sorted({float(r["heart_rate_camera_bpm"]) for r in rows if r["heart_rate_camera_bpm"] not in ("", "nan")})
        statuses = sorted({r["heart_rate_camera_status"] for r in rows if float(r["t"]) >= 10.5})
        mae = statistics.fmean(abs(v - BPM) for v in estimates) if estimates else float("nan")
        print(f"| {time.strftime('%Y-%m-%d')} | {machine()} | {name} | {size / 1e6 / span_min:.1f} MB/min "
              f"({size / len(frames) / 1e3:.1f} kB/frame) | {cpu_ms:.1f} ms/frame CPU | {len(estimates)} estimates, "
              f"MAE {mae:.2f} bpm, status {', '.join(statuses)} |", flush=True)


# ---- cost: record against run ----------------------------------------------------------------
def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(kind: str, camera: Path, work: Path, seconds: float) -> dict:
    state_dir = work / f"state-{kind}"
    shutil.rmtree(state_dir, ignore_errors=True)
    out = work / f"rec-{kind}"
    shutil.rmtree(out, ignore_errors=True)
    if kind == "run":
        cmd = ["run", "--camera", str(camera), "--state-dir", str(state_dir)]
    else:
        _, codec, *preset = kind.split("-")
        config = work / f"config-{kind}.yaml"
        config.write_text(f"recording:\n  h264_preset: {preset[0]}\n" if preset else "{}\n")
        cmd = ["record", "--camera", str(camera), "--out", str(out), "--codec", codec, "--no-progress",
               "--state-dir", str(state_dir), "--config", str(config)]
    proc = subprocess.Popen([sys.executable, "-m", "driver_monitor", *cmd], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    state_file = state_dir / "state.json"

    def frames() -> int:
        try:
            return int(json.loads(state_file.read_text())["frames"])
        except (OSError, ValueError, KeyError):
            return 0

    try:
        deadline = time.monotonic() + 60
        while frames() < 30:  # MediaPipe loaded, the loop warm
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{kind}: did not start")
            time.sleep(0.1)
        t1, c1, f1 = time.monotonic(), cpu_s(proc.pid), frames()
        time.sleep(seconds)
        t2, c2, f2 = time.monotonic(), cpu_s(proc.pid), frames()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(120)
    dt, frames_n = t2 - t1, f2 - f1
    return {"kind": kind, "fps": frames_n / dt, "cpu_pct": 100 * (c2 - c1) / dt,
            "cpu_ms_per_frame": 1000 * (c2 - c1) / frames_n if frames_n else float("nan"), "load": os.getloadavg()[0]}


def cost(work: Path, seconds: float, repeats: int) -> None:
    camera = camera_source(work)
    kinds = ("run", "record-h264_lossless", "record-ffv1", "record-h264", "record-h264-veryfast")
    results: dict[str, list[dict]] = {k: [] for k in kinds}
    for r in range(repeats):
        for kind in kinds:
            result = one_run(kind, camera, work, seconds)
            results[kind].append(result)
            print(f"  repeat {r + 1} {kind:22} {result['fps']:5.1f} frames/s  CPU {result['cpu_pct']:5.1f} %  "
                  f"{result['cpu_ms_per_frame']:5.1f} ms/frame  (load {result['load']:.1f})", flush=True)
    base = {m: statistics.median(x[m] for x in results["run"]) for m in ("fps", "cpu_pct", "cpu_ms_per_frame")}
    for kind in kinds:
        med = {m: statistics.median(x[m] for x in results[kind]) for m in ("fps", "cpu_pct", "cpu_ms_per_frame")}
        print(f"| {time.strftime('%Y-%m-%d')} | {machine()} | {kind} | {med['fps']:.1f} ({med['fps'] / base['fps']:.2f}x) | "
              f"{med['cpu_pct']:.0f} % ({med['cpu_pct'] / base['cpu_pct']:.2f}x) | {med['cpu_ms_per_frame']:.1f} ms "
              f"({med['cpu_ms_per_frame'] / base['cpu_ms_per_frame']:.2f}x) |", flush=True)


# ---- real: the writer's codecs on real footage -------------------------------------------------
REAL_DIR = REPO.parent / "shared" / "data" / "real"


def real(work: Path, frames_per_clip: int = 90) -> None:
    """Each codec through the recorder's writer on the first frames of every real clip of
    ../shared/data/real: encoder CPU per frame scaled to 640x480, and bytes per pixel."""
    from driver_monitor.recording.writer import RecordingWriter, even_size
    from driver_monitor.sources.video_file import VideoFileSource

    clips = sorted(REAL_DIR.glob("*.mp4"))
    if not clips:
        raise SystemExit(f"{REAL_DIR}: no real clips (the shared data is not beside the repository)")
    codecs_ = ("h264_lossless", "ffv1", "h264")
    print(f"| clip | {' | '.join(codecs_)} |\n|---|{'---|' * len(codecs_)}  ({machine()})")
    for clip in clips:
        with VideoFileSource(clip) as source:
            frames = list(itertools.islice(source, frames_per_clip))
        cells = []
        for codec in codecs_:
            h, w = frames[0].image.shape[:2]
            w, h = even_size(codec, w, h)
            root = work / f"real-{clip.stem}-{codec}"
            shutil.rmtree(root, ignore_errors=True)
            started = time.process_time()
            writer = RecordingWriter(root, w, h, codec=codec, preset="ultrafast")
            for k, frame in enumerate(frames):
                writer.add_frame(k / 30, frame.image[:h, :w])
            writer.close()
            cpu_ms = (time.process_time() - started) / len(frames) * 1000 * (640 * 480) / (w * h)
            bytes_per_px = (root / "video.mkv").stat().st_size / len(frames) / (w * h)
            cells.append(f"{cpu_ms:.1f} ms, {bytes_per_px:.3f} B/px")
        print(f"| {clip.stem} ({w}x{h}) | {' | '.join(cells)} |", flush=True)


# ---- clips: the frame loop while a clip is written -------------------------------------------
def clips(work: Path, codec: str) -> None:
    from driver_monitor.config import Config
    from driver_monitor.messages import Event
    from driver_monitor.outputs.event_clips import EventClips
    from driver_monitor.perception.tracker import MediaPipeFaceTracker
    from driver_monitor.pipeline import Pipeline
    from driver_monitor.sources.video_file import read_frames

    frames = read_frames(camera_source(work))
    config = Config.model_validate({"recording": {"event_clips": {
        "enabled": True, "dir": str(work / "clips"), "before_s": 4.0, "after_s": 2.0, "events": ["microsleep"],
        "quota_mb": 100000, "codec": codec}}})
    shutil.rmtree(work / "clips", ignore_errors=True)
    period = 1 / 30

    def loop(with_clips: bool, laps: int) -> tuple[list[float], list[float], list[float], int]:
        pipeline = Pipeline(config, MediaPipeFaceTracker(config.perception))
        event_clips = EventClips(config, "", {}) if with_clips else None
        if event_clips is not None:
            pipeline.sinks.append(event_clips)
        idle, writing, ring = [], [], []
        start = time.perf_counter()
        k = 0
        for lap in range(laps):
            for f in frames:
                t = lap * (frames[-1].t + period) + f.t
                due = start + t
                if (delay := due - time.perf_counter()) > 0:
                    time.sleep(delay)
                began = time.perf_counter()
                result = pipeline.process(type(f)(t=t, image=f.image, seq=k))
                if event_clips is not None:
                    if k % 240 == 120:  # a trigger every 8 s
                        event_clips.write_events([Event(t, "event", "microsleep", "start")])
                    busy = event_clips.writing
                    event_clips.frame(type(f)(t=t, image=f.image, seq=k), period)
                else:
                    busy = False
                took = (time.perf_counter() - began) * 1000
                (writing if busy else ring if event_clips is not None else idle).append(took)
                del result
                k += 1
        written = 0
        if event_clips is not None:
            event_clips.close()
            deadline = time.monotonic() + 60
            while event_clips.writing and time.monotonic() < deadline:
                time.sleep(0.1)
            written = event_clips.written
        pipeline.tracker.close()
        return idle, ring, writing, written

    def pct(xs: list[float], q: float) -> float:
        return sorted(xs)[min(len(xs) - 1, int(q / 100 * len(xs)))] if xs else float("nan")

    base: list[float] = []
    ring: list[float] = []
    writing: list[float] = []
    written = 0
    for _ in range(2):  # alternating, so both see the same machine
        base += loop(False, 1)[0]
        _, r, w, n = loop(True, 1)
        ring, writing, written = ring + r, writing + w, written + n
    print(f"{len(frames)} frames x 2 passes each at 30 fps; {written} clips written in {codec}; {machine()}")
    for name, xs in (("no event clips", base), ("clips on, no clip being written", ring), ("while a clip is written", writing)):
        print(f"| {time.strftime('%Y-%m-%d')} | {machine()} | {codec} | {name} | {len(xs)} | {pct(xs, 50):.1f} | {pct(xs, 95):.1f} | "
              f"{pct(xs, 99):.1f} | {max(xs) if xs else float('nan'):.1f} |", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("part", choices=("codecs", "cost", "clips", "real"))
    ap.add_argument("--work", type=Path, default=None, help="working directory (kept; default: a new temporary one)")
    ap.add_argument("--seconds", type=float, default=10.0, help="cost: steady window per run")
    ap.add_argument("--repeats", type=int, default=3, help="cost: alternating repeats")
    ap.add_argument("--codec", choices=("h264", "ffv1"), default="h264", help="clips: the clips' codec")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="dm-bench-record-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.part == "codecs":
        codecs(work)
    elif args.part == "cost":
        cost(work, args.seconds, args.repeats)
    elif args.part == "real":
        real(work)
    else:
        clips(work, args.codec)
    return 0


if __name__ == "__main__":
    sys.exit(main())
