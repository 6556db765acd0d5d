"""`driver-monitor simulate`: render a scenario into a recording directory."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from driver_monitor import __version__
from driver_monitor.config.loader import format_validation_error
from driver_monitor.errors import ConfigError, InputError
from driver_monitor.progress import with_progress
from driver_monitor.provenance import RUN_FILE_NAME, run_provenance, sha256_of, write_run_file
from driver_monitor.sim.calibrate import (
    calibrate_jaw_drop,
    calibrate_open_lids,
    calibrate_pose,
    frontal_view,
)
from driver_monitor.sim.face_rig import (
    BUNDLED_FACES,
    FaceRig,
    build_rig,
    resolve_face,
    shared_image_landmarker,
)
from driver_monitor.sim.labels import derive_labels
from driver_monitor.sim.renderer import Renderer
from driver_monitor.sim.scenario import Scenario, load_scenario, split_timing_lines
from driver_monitor.sim.timeline import Timeline, frame_times
from driver_monitor.sim.writer import SimRecordingWriter

_RIGS: dict[tuple[str, tuple[int, int]], FaceRig] = {}


def get_rig(face: str, size: tuple[int, int]) -> FaceRig:
    """Build (and calibrate) a rig once per face and size in this process."""
    key = (face, size)
    if key in _RIGS:
        return _RIGS[key]
    with shared_image_landmarker():  # the photo's face is found more than once below
        front = frontal_view(resolve_face(face))
        rig = build_rig(face, size, image=None if front is None else front[0])
        if front is not None:
            rig.frontalized_from_deg = front[1]
        # Lids and jaw first, on the photo's own pose: the pose map is then measured on the
        # face as it will be rendered.
        rig.open_lid_raise = calibrate_open_lids(rig)
        rig.jaw_drop_mouth_widths = calibrate_jaw_drop(rig)
        rig.pose_map = calibrate_pose(rig)
        _RIGS[key] = rig
    return _RIGS[key]


@dataclass
class SimSummary:
    out_dir: Path
    frames: int = 0
    duration_s: float = 0.0
    wall_s: float = 0.0
    label_counts: dict[str, int] = field(default_factory=dict)
    can_log: Path | None = None
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        labels = ", ".join(f"{k} {v}" for k, v in sorted(self.label_counts.items())) or "none"
        lines = [
            f"simulated {self.out_dir}",
            f"  frames   {self.frames} ({self.duration_s:.1f} s, {self.frames / self.wall_s if self.wall_s else 0:.1f} frames/s)",
            f"  labels   {labels}",
        ]
        lines += [f"  note     {n}" for n in self.notes]
        return "\n".join(lines)


def apply_overrides(s: Scenario, fps: float | None = None, size: tuple[int, int] | None = None,
                    seed: int | None = None, face: str | None = None) -> Scenario:
    """The scenario with the command line's settings, validated as the file's own would be
    (`--fps 100000` is refused as `camera.fps: 100000` in the file is)."""
    data = s.model_dump()
    if fps is not None:
        data["camera"]["fps"] = fps
    if size is not None:
        data["camera"]["width"], data["camera"]["height"] = size
    if face is not None:
        data["driver"]["face"] = face
    if seed is not None:
        data["seed"] = seed
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([f"the command line's --fps / --size / --seed / --face: {line}"
                           for line in split_timing_lines(format_validation_error(exc))]) from None


def simulate(scenario: Scenario | str | Path, out_dir: str | Path, *, fps: float | None = None,
             size: tuple[int, int] | None = None, seed: int | None = None, face: str | None = None,
             progress: bool | None = None) -> SimSummary:
    """progress: a bar on stderr (None: when stderr is a terminal)."""
    start = time.perf_counter()
    if isinstance(scenario, Scenario):
        s = scenario
    else:
        s = _face_beside(load_scenario(scenario), Path(scenario))
    s = apply_overrides(s, fps, size, seed, face)
    out_dir = Path(out_dir)
    cam = s.camera
    n = len(frame_times(s.duration_s, cam.fps))
    if n < 2:  # the frame at t = 0 alone: no drive (a replay times nothing from one frame)
        where = "the command line's --fps" if fps is not None else "<scenario>" if isinstance(scenario, Scenario) else str(scenario)
        raise ConfigError([f"{where}: duration_s {s.duration_s:g} at camera.fps {cam.fps:g} renders {n} frame: "
                           "a drive needs at least 2 (raise camera.fps)"])
    replace_earlier = _claim_out_dir(out_dir)
    try:
        rig = get_rig(s.driver.face, (cam.width, cam.height))
    except InputError as exc:  # the photo: name the scenario's key that gave it (--face names itself)
        if face is None and not isinstance(scenario, Scenario):
            raise InputError(f"{scenario}: driver.face: {exc}") from None
        raise
    if replace_earlier:  # only now: a drive that cannot render leaves the earlier one
        _remove_earlier(out_dir)
    timeline = Timeline(s)
    renderer = Renderer(rig, noise_seed=s.seed)
    writer = SimRecordingWriter(out_dir, cam.width, cam.height)
    summary = SimSummary(out_dir)
    times = frame_times(s.duration_s, cam.fps)
    can_start: float | None = None
    try:
        for i, t in enumerate(with_progress(times, len(times), progress)):
            row = timeline.state(t)
            rs = timeline.render_state(row, i)
            image = renderer.render(rs)
            row = {**row, "camera_jitter_x_px": rs.jitter_x_px, "camera_jitter_y_px": rs.jitter_y_px}
            writer.add_frame(t, image, row)
        labels = derive_labels(timeline)
        writer.write_labels(labels)
        vehicle_states = _vehicle_samples(timeline)
        summary.can_log, can_start = _write_can_log(out_dir, vehicle_states)
    except BaseException as exc:
        # Part of a drive is no drive: its meta.yaml would give the whole drive's frames and
        # length, its labels and run.yaml are missing. The scenario renders it again whole.
        writer.abort()
        shutil.rmtree(out_dir, ignore_errors=True)
        if isinstance(exc, KeyboardInterrupt):
            raise KeyboardInterrupt(f"{out_dir}: the part rendered was removed (a scenario renders again whole)") from None
        raise
    meta = _meta(s, rig, len(times))
    if summary.can_log is not None:
        meta["can_log"] = summary.can_log.name
        meta["can_start_time_s"] = can_start
    writer.close(meta)
    write_run_file(out_dir, run_provenance(
        "simulate", None, None if isinstance(scenario, Scenario) else scenario, None,
        {"face": {"path": str(rig.photo_path), "sha256": sha256_of(rig.photo_path)}, "seed": s.seed}))
    summary.frames = len(times)
    summary.duration_s = times[-1] if times else 0.0
    summary.wall_s = time.perf_counter() - start
    for e in labels:
        if e.phase != "end":
            summary.label_counts[e.name] = summary.label_counts.get(e.name, 0) + 1
    return summary


def _claim_out_dir(out_dir: Path) -> bool:
    """DIR must be new, empty, or an earlier simulation (re-rendered whole: a scenario renders
    the same drive again); anything else (a recording, a replay's outputs) is never mixed with
    a rendered drive nor overwritten. Returns whether an earlier simulation is to be replaced
    (_remove_earlier, once the new drive can render)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: exists and is not a directory")
    if not out_dir.is_dir() or not any(out_dir.iterdir()):
        return False
    try:
        earlier = yaml.safe_load((out_dir / RUN_FILE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):  # ValueError: bad UTF-8, or a value YAML cannot build (2020-13-01)
        earlier = None
    if not isinstance(earlier, dict) or earlier.get("command") != "simulate":
        raise InputError(f"{out_dir}: exists, is not empty and is not an earlier simulation (a recording or a "
                         "replay's outputs are never overwritten): name a new directory")
    return True


def _remove_earlier(out_dir: Path) -> None:
    try:
        shutil.rmtree(out_dir)
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot replace the earlier simulation ({exc.strerror})") from None


def _face_beside(s: Scenario, path: Path) -> Scenario:
    """A relative photo path in a scenario file is relative to that file."""
    face = s.driver.face
    if face in BUNDLED_FACES or Path(face).is_absolute():
        return s
    beside = path.parent / face
    return s.model_copy(update={"driver": s.driver.model_copy(update={"face": str(beside)})}) if beside.is_file() else s


def _vehicle_samples(timeline: Timeline) -> list[Any]:
    period = timeline.scenario.vehicle.can_period_s
    n = int(timeline.duration_s / period) + 1
    return [timeline.vehicle(round(i * period, 6)) for i in range(n)]


def _write_can_log(out_dir: Path, states: list[Any]) -> tuple[Path | None, float | None]:
    """A python-can BLF log of the vehicle signals, encoded with the vehicle DBC by the CAN
    layer (driver_monitor.can.logs). Returns the path and the log time of t = 0."""
    from driver_monitor.can.logs import write_vehicle_can_log

    path = out_dir / "can.blf"
    start = write_vehicle_can_log(states, path)
    return path, start


def _meta(s: Scenario, rig: FaceRig, frames: int) -> dict[str, Any]:
    return {
        "made_by": f"driver-monitor {__version__} simulate",
        "scenario": s.name,
        "description": s.description,
        "seed": s.seed,
        "fps": s.camera.fps,
        "width_px": s.camera.width,
        "height_px": s.camera.height,
        "frames": frames,
        "duration_s": s.duration_s,
        "face": rig.photo_path.name,
        # The photo's own pose when the rig was built from it turned to face the camera.
        "face_frontalized_from_deg": None if rig.frontalized_from_deg is None else [round(v, 2) for v in rig.frontalized_from_deg],
        "codec": "h264_lossless (libx264rgb qp 0: lossless RGB)",
        "renderer_calibration": {
            "neutral_read_deg": [round(v, 3) for v in rig.pose_map.neutral_deg],
            "yaw_read_deg": [round(v, 3) for v in rig.pose_map.yaw_read],
            "yaw_warp_deg": list(rig.pose_map.yaw_warp),
            "pitch_read_deg": [round(v, 3) for v in rig.pose_map.pitch_read],
            "pitch_warp_deg": list(rig.pose_map.pitch_warp),
            "jaw_drop_mouth_widths": rig.jaw_drop_mouth_widths,
            "open_lid_raise": rig.open_lid_raise,
        },
        "labels_t": "onset of the behaviour (docs/simulation.md)",
        "truth": "truth.csv: the commanded value of every channel per frame",
        "scenario_yaml": s.model_dump(mode="json"),
    }
