"""Shared fixtures: paths to the bundled clips and faces, the shared (not redistributable)
evaluation footage, and session-wide replay / simulation caches."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Licensed clips and portraits bundled with the repository (data/README.md): always here.
CLIPS = REPO / "data" / "clips"
FACES = REPO / "driver_monitor" / "sim" / "faces"
# Real drivers' footage that may not be redistributed: beside the clone only.
SHARED = Path(os.environ.get("DRIVER_MONITOR_SHARED", REPO.parent / "shared"))
REAL = SHARED / "data" / "real"


# GIF frame delays are not reliable timestamps: the rates of shared/data/README.md.
CLIP_GIF_FPS = {
    "iris_tracking_example.gif": 16.7,
    "head-pose-face-detection-female.gif": 12.5,
    "head-pose-face-detection-male.gif": 12.5,
}


def write_mirrored_copy(source_path: Path, out_dir: Path, gif_fps: float) -> Path:
    """A left-right mirrored copy of a clip as a recording directory (a mirrored camera)."""
    from driver_monitor.recording.writer import RecordingWriter
    from driver_monitor.sources.video_file import VideoFileSource, mirrored

    with VideoFileSource(source_path, gif_fps=gif_fps) as source:
        writer = RecordingWriter(out_dir, source.width - source.width % 2, source.height - source.height % 2)
        for frame in source:
            image = mirrored(frame).image[: writer._stream.height, : writer._stream.width]
            writer.add_frame(frame.t, image)
    writer.close({"source": f"{source_path.name} mirrored left-right"})
    return out_dir


@pytest.fixture(scope="session")
def clips_dir() -> Path:
    return CLIPS


@pytest.fixture(scope="session")
def real_dir() -> Path:
    """The real-driver evaluation clips (not redistributable: never in the repository)."""
    if not (REAL / "truth.yaml").is_file():
        pytest.skip(f"real-driver clips not found at {REAL} (not redistributable: set DRIVER_MONITOR_SHARED)")
    return REAL


@pytest.fixture(scope="session")
def real_replays(tmp_path_factory, real_dir):
    """Every real clip of truth.yaml replayed once per session with the packaged default
    config: {clip name: its replay output directory (events.jsonl, features.csv, run.yaml)}.
    The real-clip scoring, feature replay and corpus tests share these replays."""
    from driver_monitor.config import load_config
    from driver_monitor.evaluation.truth import load_truth
    from driver_monitor.replay import replay

    out = {}
    for name, clip in load_truth(real_dir / "truth.yaml").items():
        target = tmp_path_factory.mktemp("real") / name
        replay(real_dir / clip.file, load_config(), target, progress=False)
        out[name] = target
    return out


class ReplayedClip:
    """The outputs of one `replay` run: summary, per-frame rows (floats parsed) and events."""

    def __init__(self, summary, rows: list[dict], events: list[dict]):
        self.summary = summary
        self.rows = rows
        self.events = events

    def column(self, name: str) -> list[float]:
        return [r[name] for r in self.rows]

    def events_named(self, name: str) -> list[dict]:
        return [e for e in self.events if e["name"] == name]


def _parse(value: str):
    if value in ("True", "False"):
        return value == "True"
    if value == "":
        return float("nan")
    try:
        return float(value)
    except ValueError:
        return value


@pytest.fixture(scope="session")
def replay_clip(tmp_path_factory, clips_dir):
    """replay_clip(name) runs `replay` on a shared clip once per test session (MediaPipe is the
    slow part) and returns a ReplayedClip."""
    import csv

    from driver_monitor.config import load_config
    from driver_monitor.outputs.event_log import read_event_log
    from driver_monitor.replay import replay

    cache: dict[str, ReplayedClip] = {}

    def run(name: str, mirror: bool = False, front_camera: bool = False) -> ReplayedClip:
        """front_camera: the camera mount is known to be straight in front of the face
        (camera.mount custom 0/0) instead of learned (auto, the default)."""
        key = f"{name}{'-mirrored' if mirror else ''}{'-front' if front_camera else ''}"
        if key not in cache:
            out = tmp_path_factory.mktemp(key.replace(".", "_"))
            config = load_config()
            if front_camera:
                mount = config.camera.mount.model_copy(
                    update={"placement": "custom", "road_ahead_yaw_deg": 0.0, "road_ahead_pitch_deg": 0.0})
                config = config.model_copy(update={"camera": config.camera.model_copy(update={"mount": mount})})
            fps = CLIP_GIF_FPS.get(name)
            if fps is not None:
                config = config.model_copy(update={"video": config.video.model_copy(update={"gif_fps": fps})})
            source = clips_dir / name
            if mirror:
                source = write_mirrored_copy(source, out / "mirrored-input", config.video.gif_fps)
            summary = replay(source, config, out, progress=False)
            with (out / "features.csv").open(newline="") as fh:
                rows = [{k: _parse(v) for k, v in row.items()} for row in csv.DictReader(fh)]
            cache[key] = ReplayedClip(summary, rows, read_event_log(out / "events.jsonl"))
        return cache[key]

    return run


def config_with_mount(placement: str | None):
    """The default config, with camera.mount.placement set when `placement` is given."""
    from driver_monitor.config import Config

    config = Config()
    if placement is None:
        return config
    mount = config.camera.mount.model_copy(update={"placement": placement})
    return config.model_copy(update={"camera": config.camera.model_copy(update={"mount": mount})})


@pytest.fixture(scope="session")
def simulated_drive(tmp_path_factory):
    """simulated_drive(scenario) renders a scenario (a path under scenarios/ or a parsed
    Scenario) once per test session at 320x240, 15 fps (and its own face unless `face` is
    given), replays it with the default config (or with camera.mount.placement `mount`)
    and returns (recording dir, labels, events). The drowsiness, distraction, placement and
    policy scenario tests share these renders and replays (each costs MediaPipe time)."""
    from driver_monitor.outputs.event_log import read_event_log
    from driver_monitor.replay import replay
    from driver_monitor.sim.scenario import load_scenario
    from driver_monitor.sim.simulate import simulate

    renders: dict[str, Path] = {}
    cache: dict[tuple[str, str | None], tuple[Path, list[dict], list[dict]]] = {}

    def run(scenario, fps: float = 15.0, size: tuple[int, int] = (320, 240), face: str | None = None,
            mount: str | None = None):
        if isinstance(scenario, (str, Path)):
            scenario = load_scenario(Path(scenario))
        key = f"{scenario.name}-{fps}-{size[0]}x{size[1]}-{face or scenario.driver.face}"
        if key not in renders:
            base = tmp_path_factory.mktemp(key)
            simulate(scenario, base / "rec", fps=fps, size=size, face=face)
            renders[key] = base
        if (key, mount) not in cache:
            base = renders[key]
            out = base / f"out-{mount or 'default'}"
            replay(base / "rec", config_with_mount(mount), out, progress=False)
            cache[(key, mount)] = (
                base / "rec",
                read_event_log(base / "rec" / "labels.jsonl"),
                read_event_log(out / "events.jsonl"),
            )
        return cache[(key, mount)]

    return run


@pytest.fixture(scope="session")
def fleet_drives(tmp_path_factory) -> dict[str, Path]:
    """Two labelled synthetic recordings (15 fps, 320x240), rendered once per session:
    `fleet_mixed` (fleet_drives.MIXED: every detector input, a dark stretch and a silence) and
    the Euro NCAP visual time-sharing case. {name: recording directory}."""
    from fleet_drives import FPS, MIXED, SIZE, add_gap

    from driver_monitor.sim.scenario import load_scenario, parse_scenario
    from driver_monitor.sim.simulate import simulate

    base = tmp_path_factory.mktemp("fleet")
    drives = {}
    for scenario in (parse_scenario(MIXED, "fleet_mixed.yaml"), load_scenario(REPO / "scenarios" / "visual_time_sharing.yaml")):
        simulate(scenario, base / scenario.name, fps=FPS, size=SIZE)
        drives[scenario.name] = base / scenario.name
    add_gap(drives["fleet_mixed"])
    return drives


@pytest.fixture(scope="session")
def fleet_features(tmp_path_factory, fleet_drives) -> Path:
    """The fleet drives extracted once per session with the packaged default config (in this
    process): FEATURE_DIR with one directory per drive."""
    from driver_monitor.config import load_config
    from driver_monitor.fleet.extract import extract as run_extract
    from driver_monitor.fleet.extract import find_drives

    out = tmp_path_factory.mktemp("fleet-features")
    summary = run_extract(find_drives(list(fleet_drives.values())), load_config(), out, progress=False)
    assert [r.status for r in summary.results] == ["done", "done"], summary.text()
    return out


@pytest.fixture
def daemons():
    """Daemon subprocesses a test starts (daemon_harness.DaemonProcess), closed after it."""
    started = []
    yield started
    for d in started:
        d.close()
