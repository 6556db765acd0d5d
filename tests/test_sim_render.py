"""`simulate` end to end: the recording it writes, determinism, the pulse through the codec,
bad input, and replay reading the result."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import av
import can
import cv2
import numpy as np
import pytest
import yaml

from driver_monitor.cli import main
from driver_monitor.errors import InputError
from driver_monitor.outputs.event_log import read_event_log
from driver_monitor.recording.format import open_recording
from driver_monitor.sim import mesh
from driver_monitor.sim.face_rig import build_rig
from driver_monitor.sim.renderer import Renderer, RenderState
from driver_monitor.sim.scenario import parse_scenario
from driver_monitor.sim.simulate import get_rig, simulate

SIZE = (320, 240)
SHORT = """
name: short
duration_s: 3.0
seed: 3
camera: {fps: 20, jitter_px: 0.5, exposure_s: 0.01}
vehicle:
  timeline:
    - {t_s: 0, speed_kph: 50, gear: D, ignition_on: true, indicator_left: false, indicator_right: false}
    - {t_s: 2, speed_kph: 70, indicator_left: true}
  ack_s: [1.0]
timeline:
  - {at_s: 0.5, do: blink}
  - {at_s: 1.0, do: glance, zone: left_mirror, duration_s: 0.8}
  - {at_s: 2.0, do: eyes_closed, duration_s: 0.5}
  - {at_s: 2.6, do: yawn, duration_s: 0.3, transition_s: 0.1}
"""


def _frames(path: Path) -> tuple[list[int], list[np.ndarray]]:
    with av.open(str(path)) as c:
        frames = list(c.decode(video=0))
        return [f.pts for f in frames], [f.to_ndarray(format="rgb24") for f in frames]


@pytest.fixture(scope="module")
def drives(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sim")
    s = parse_scenario(SHORT)
    out = {}
    for name, seed in (("a", None), ("b", None), ("other_seed", 4)):
        simulate(s, root / name, size=SIZE, seed=seed)
        out[name] = root / name
    return out


def test_recording_directory_follows_the_replay_contract(drives: dict[str, Path]) -> None:
    d = drives["a"]
    rec = open_recording(d)
    assert rec.video_path.name == "video.mkv"
    assert rec.can_log_path is not None and rec.can_log_path.name == "can.blf"
    assert rec.labels_path is not None
    assert rec.timestamps_s is not None and len(rec.timestamps_s) == 60
    assert rec.timestamps_s[:3] == [0.0, 0.05, 0.1]
    pts, frames = _frames(d / "video.mkv")
    assert pts == [round(t * 1000) for t in rec.timestamps_s]  # exact ms timestamps in the MKV
    assert frames[0].shape == (240, 320, 3)
    with av.open(str(d / "video.mkv")) as c:
        # Lossless H.264 of the RGB picture (High 4:4:4 Predictive, planar GBR).
        assert (c.streams.video[0].codec_context.name, c.streams.video[0].codec_context.pix_fmt) == ("h264", "gbrp")
    meta = yaml.safe_load((d / "meta.yaml").read_text())
    assert meta["format"] == "driver-monitor-recording"
    assert (meta["scenario"], meta["seed"], meta["fps"], meta["width_px"], meta["height_px"]) == ("short", 3, 20.0, 320, 240)
    assert meta["can_start_time_s"] > 0


def test_truth_table_has_every_commanded_value_with_units(drives: dict[str, Path]) -> None:
    rows = list(csv.DictReader((drives["a"] / "truth.csv").open()))
    assert len(rows) == 60
    for column in ("t_s", "head_yaw_deg", "head_pitch_deg", "head_roll_deg", "eye_closure_left", "eye_closure_right",
                   "gaze_yaw_deg", "gaze_pitch_deg", "jaw_open", "face_visible", "sunglasses", "heart_rate_bpm",
                   "speed_kph", "indicator_left", "driver_ack", "pulse_phase_rad", "gaze_zone"):
        assert column in rows[0], column
    by_t = {float(r["t_s"]): r for r in rows}
    assert float(by_t[2.2]["eye_closure_left"]) == 1.0  # inside the 0.5 s closure from 2.0
    assert by_t[1.2]["gaze_zone"] == "left_mirror" and by_t[1.2]["eyes_on_road"] == "0"
    assert float(by_t[1.2]["head_yaw_deg"]) > 25.0  # 70 % of the 45 deg mirror glance
    assert float(by_t[1.0]["speed_kph"]) == pytest.approx(60.0)
    assert by_t[1.1]["driver_ack"] == "1" and by_t[1.5]["driver_ack"] == "0"
    assert by_t[2.5]["indicator_left"] == "1"


def test_labels_are_onsets_in_the_event_log_form(drives: dict[str, Path]) -> None:
    labels = read_event_log(drives["a"] / "labels.jsonl")
    scripted = [(x["t"], x["name"], x.get("phase")) for x in labels if x.get("detail", {}).get("source") != "natural"]
    assert scripted == [(0.5, "blink", None), (2.0, "blink", None), (2.6, "yawn", None)]
    assert all(x["kind"] == "event" and x["detail"]["onset_t"] == x["t"] for x in labels)


def test_can_log_carries_the_vehicle_timeline(drives: dict[str, Path]) -> None:
    messages = list(can.LogReader(str(drives["a"] / "can.blf")))
    assert len(messages) > 50
    assert messages[-1].timestamp - messages[0].timestamp == pytest.approx(3.0, abs=0.1)


def test_same_scenario_seed_and_fps_give_identical_frames_and_labels(drives: dict[str, Path]) -> None:
    a, b, c = drives["a"], drives["b"], drives["other_seed"]
    assert (a / "labels.jsonl").read_bytes() == (b / "labels.jsonl").read_bytes()
    assert (a / "truth.csv").read_bytes() == (b / "truth.csv").read_bytes()
    _, fa = _frames(a / "video.mkv")
    _, fb = _frames(b / "video.mkv")
    _, fc = _frames(c / "video.mkv")
    assert all(np.array_equal(x, y) for x, y in zip(fa, fb, strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(fa, fc, strict=True))


def test_video_is_lossless_and_keeps_a_half_percent_skin_pulse(tmp_path: Path) -> None:
    """The pulse (0.5 % green at 72 bpm) read back from the decoded video on a cheek patch:
    the frames decode bit-exact, the pulse peaks at the commanded rate and its green
    amplitude is the commanded one."""
    s = parse_scenario("""
name: pulse
duration_s: 8
camera: {fps: 30, noise_sigma: 1.0}
driver: {heart_rate_bpm: 72, pulse_amplitude: 0.005, head_sway_deg: 0, blinking: [{rate_per_min: 0}]}
""")
    simulate(s, tmp_path, size=SIZE)
    _, frames = _frames(tmp_path / "video.mkv")
    # Bit-exact against a fresh render of the same states.
    rig = get_rig("astronaut", SIZE)
    from driver_monitor.sim.timeline import Timeline, frame_times

    tl = Timeline(s)
    renderer = Renderer(rig, noise_seed=s.seed)
    times = frame_times(s.duration_s, 30.0)
    fresh = [renderer.render(tl.render_state(tl.state(t), i)) for i, t in enumerate(times)]
    assert all(np.array_equal(x, y) for x, y in zip(frames, fresh, strict=True))
    # Green of a cheek patch between the nose and the face edge.
    p = rig.points_src
    cx, cy = (p[50, :2] + p[205, :2]) / 2.0
    r = max(3, int(0.06 * rig.face_width_px))
    g = np.array([f[int(cy) - r : int(cy) + r, int(cx) - r : int(cx) + r, 1].mean() for f in frames])
    t = np.array(times)
    spectrum = np.abs(np.fft.rfft((g - g.mean()) * np.hanning(len(g))))
    freqs = np.fft.rfftfreq(len(g), 1 / 30.0)
    assert 60 * freqs[np.argmax(spectrum)] == pytest.approx(72.0, abs=60 / 8.0)
    phase = np.array([float(row["pulse_phase_rad"]) for row in csv.DictReader((tmp_path / "truth.csv").open())])
    design = np.stack([np.sin(phase), np.cos(phase), np.ones_like(t)], axis=1)
    coef, *_ = np.linalg.lstsq(design, g, rcond=None)
    amplitude = math.hypot(coef[0], coef[1]) / coef[2]
    assert amplitude == pytest.approx(0.005, rel=0.2)
    assert coef[1] == pytest.approx(0.0, abs=0.3 * abs(coef[0]))  # in phase with the truth


def test_photo_without_a_face_fails_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blank = tmp_path / "wall.png"
    img = np.full((240, 320, 3), 180, np.uint8)
    cv2.rectangle(img, (40, 40), (120, 200), (90, 60, 40), -1)
    cv2.imwrite(str(blank), img)
    with pytest.raises(InputError, match=r"wall\.png: no face found in the photo"):
        build_rig(blank, SIZE)
    scen = tmp_path / "s.yaml"
    scen.write_text("name: s\nduration_s: 1\n")
    assert main(["simulate", str(scen), "--out", str(tmp_path / "o"), "--face", str(blank), "--size", "320x240"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {blank}: no face found in the photo (the renderer needs one clearly visible face)"]


def test_invalid_scenario_exits_2_with_a_line_per_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scen = tmp_path / "bad.yaml"
    scen.write_text("name: bad\nduration_s: 5\ntimeline:\n  - {at_s: 1, do: glance, duration_s: -1, zone: road}\n  - {at_s: 2, do: nap}\n")
    assert main(["simulate", str(scen), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"error: {scen}: timeline.0.duration_s: Input should be greater than 0 (got -1)",
        f"error: {scen}: timeline.1: unknown behaviour 'nap' (behaviours: blink, slow_blink, eyes_closed, yawn, talk, glance, look_down, nod, doze, expression, absent, cover, sunglasses, lighting, heart_rate, label)",
    ]
    assert not (tmp_path / "o").exists()


def test_renderer_moves_the_lids_jaw_and_head_where_commanded() -> None:
    rig = get_rig("astronaut", SIZE)
    r = Renderer(rig)
    r.render(RenderState())
    open_pts = r.last_points.copy()
    r.render(RenderState(eye_closure_left=1.0, eye_closure_right=0.0))
    closed = r.last_points
    # The driver's left upper lid reaches the lower lid; the right eye stays open.
    assert closed[386, 1] >= closed[374, 1] - 0.5
    assert closed[159, 1] == pytest.approx(open_pts[159, 1])
    r.render(RenderState(jaw_open=1.0))
    assert r.last_points[mesh.CHIN, 1] - open_pts[mesh.CHIN, 1] > 0.3 * (open_pts[308, 0] - open_pts[78, 0])
    r.render(RenderState(head_yaw_deg=30.0))
    assert r.last_points[mesh.NOSE_TIP, 0] > open_pts[mesh.NOSE_TIP, 0] + 5  # nose to the image's right
    r.render(RenderState(head_pitch_deg=15.0))
    assert r.last_points[mesh.NOSE_TIP, 1] > open_pts[mesh.NOSE_TIP, 1] + 3  # head down


def test_empty_seat_sunglasses_and_nir_look() -> None:
    rig = get_rig("astronaut", SIZE)
    r = Renderer(rig)
    base = r.render(RenderState())
    nir = r.render(RenderState(nir=True))
    assert np.array_equal(nir[..., 0], nir[..., 1]) and np.array_equal(nir[..., 1], nir[..., 2])
    glasses = r.render(RenderState(sunglasses=True))
    p = r.last_points
    ex, ey = p[list(mesh.LEFT_UPPER_LID) + list(mesh.LEFT_LOWER_LID)].mean(axis=0).astype(int)
    assert glasses[ey - 1 : ey + 2, ex - 1 : ex + 2].mean() < 40 < base[ey - 1 : ey + 2, ex - 1 : ex + 2].mean()
    dark = r.render(RenderState(lighting_gain=0.5))
    assert dark.mean() == pytest.approx(0.5 * base.mean(), rel=0.03)


def test_labels_and_truth_do_not_depend_on_the_frame_rate(tmp_path: Path) -> None:
    s = parse_scenario("name: r\nduration_s: 2\nseed: 9\ntimeline:\n  - {at_s: 0.7, do: eyes_closed, duration_s: 1.0}\n")
    simulate(s, tmp_path / "f10", fps=10, size=SIZE)
    simulate(s, tmp_path / "f20", fps=20, size=SIZE)
    assert (tmp_path / "f10" / "labels.jsonl").read_bytes() == (tmp_path / "f20" / "labels.jsonl").read_bytes()
    slow = {r["t_s"]: r for r in csv.DictReader((tmp_path / "f10" / "truth.csv").open())}
    fast = {r["t_s"]: r for r in csv.DictReader((tmp_path / "f20" / "truth.csv").open())}
    assert len(slow) == 20 and len(fast) == 40
    for t, row in slow.items():  # every 10 fps frame time is also a 20 fps frame time
        assert {k: v for k, v in row.items() if k != "frame"} == {k: v for k, v in fast[t].items() if k != "frame"}


def test_face_photo_path_is_relative_to_the_scenario_and_unknown_faces_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from driver_monitor.sim.face_rig import FACES_DIR

    (tmp_path / "faces").mkdir()
    (tmp_path / "faces" / "me.png").write_bytes((FACES_DIR / "astronaut.png").read_bytes())
    scen = tmp_path / "s.yaml"
    scen.write_text("name: s\nduration_s: 0.2\ndriver: {face: faces/me.png}\n")
    summary = simulate(scen, tmp_path / "out", size=SIZE)
    assert summary.frames == 6
    assert yaml.safe_load((tmp_path / "out" / "meta.yaml").read_text())["face"] == "me.png"
    assert main(["simulate", str(scen), "--out", str(tmp_path / "o2"), "--face", "nobody"]) == 1
    assert capsys.readouterr().err.strip() == "error: nobody: face photo not found (bundled faces: astronaut, biden, obama)"


def test_eyes_turn_with_the_head_in_a_glance_to_the_lap() -> None:
    """A glance to the phone zone (head_share 0.7: head 31.5 deg down and 7 deg right, eyes
    13.5 down, 3 right in the head). The landmarker must read eye-in-head down with the
    head, not held on the camera (before the iris parallax it read 5 deg UP)."""
    from driver_monitor.config.perception import PerceptionConfig
    from driver_monitor.messages import Frame
    from driver_monitor.perception.features import extract_features
    from driver_monitor.perception.tracker import MediaPipeFaceTracker

    renderer = Renderer(get_rig("astronaut", SIZE))
    tracker = MediaPipeFaceTracker(PerceptionConfig())
    reads = []
    try:
        for i in range(12):
            s = RenderState(head_yaw_deg=-7.0, head_pitch_deg=31.5, gaze_yaw_deg=-3.0, gaze_pitch_deg=13.5)
            image = renderer.render(s)
            obs = tracker.track(Frame(i / 15.0, image, i))
            if i >= 6 and obs is not None:
                reads.append(extract_features(obs, image))
    finally:
        tracker.close()
    assert len(reads) == 6
    pitch = float(np.median([f.gaze_pitch_deg for f in reads]))
    yaw = float(np.median([f.gaze_yaw_deg for f in reads]))
    assert 8.5 <= pitch <= 18.5, pitch  # 13.5 +- 5
    assert -8.0 <= yaw <= 2.0, yaw  # -3 +- 5
    assert float(np.median([f.eye_look_down for f in reads])) >= 0.3


def test_a_turned_portrait_is_rigged_from_its_frontal_view() -> None:
    """biden.jpg reads yaw 11.5 deg on the photo: the rig is built from it turned to face
    the camera (calibrate.frontal_view), so both directions have the same room to turn;
    frontal portraits are used as they are."""
    from driver_monitor.sim.calibrate import FRONTALIZE_ABOVE_YAW_DEG

    biden = get_rig("biden", SIZE)
    assert biden.frontalized_from_deg is not None
    assert biden.frontalized_from_deg[0] == pytest.approx(11.5, abs=1.0)
    assert abs(biden.photo_pose_deg[0]) <= 2.0  # what the landmarker reads on the frontal view
    assert abs(biden.photo_pose_deg[2]) <= 2.0  # its roll (-8 deg on the photo) is undone too
    astronaut = get_rig("astronaut", SIZE)
    assert astronaut.frontalized_from_deg is None
    assert abs(astronaut.photo_pose_deg[0]) <= FRONTALIZE_ABOVE_YAW_DEG


def test_a_process_that_found_a_face_in_a_photo_exits_without_a_traceback():
    """The rig's IMAGE-mode landmarker is closed when the rig is built, not left to the
    interpreter's exit (where MediaPipe's dispatcher is gone and __del__ printed
    "Exception ignored in FaceLandmarker.__del__" after every test run and simulate)."""
    import subprocess
    import sys

    code = ("from driver_monitor.sim.face_rig import detect_mesh, load_photo, resolve_face\n"
            "from driver_monitor.sim.simulate import get_rig\n"
            "rig = get_rig('obama', (320, 240))\n"
            "found = detect_mesh(load_photo(resolve_face('biden')))  # outside a rig's block too\n"
            "print(found is not None and found[0].shape == (478, 3))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "True", done.stderr[-2000:]
    assert "Exception ignored" not in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]


@pytest.mark.parametrize("photo", ["missing.png", "notes.png"], ids=["missing", "not-an-image"])
def test_a_bad_face_in_the_scenario_names_the_scenario_and_its_key(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                     photo: str) -> None:
    # The line named the photo only: which file and key to fix was left to guess.
    (tmp_path / "notes.png").write_text("not a picture\n")
    scen = tmp_path / "s.yaml"
    scen.write_text(f"name: s\nduration_s: 1\ndriver: {{face: {photo}}}\n")
    assert main(["simulate", str(scen), "--out", str(tmp_path / "o"), "--size", "160x120"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    problem = ("missing.png: face photo not found (bundled faces: astronaut, biden, obama)" if photo == "missing.png"
               else f"{tmp_path / 'notes.png'}: not an image OpenCV can read")
    assert err == [f"error: {scen}: driver.face: {problem}"]
    assert not (tmp_path / "o").exists()
    # An earlier simulation in --out is replaced only by a drive that renders: it was deleted
    # before the face was even looked at.
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "run.yaml").write_text("command: simulate\n")
    (earlier / "video.mkv").write_bytes(b"frames")
    assert main(["simulate", str(scen), "--out", str(earlier), "--size", "160x120"]) == 1
    assert (earlier / "video.mkv").read_bytes() == b"frames"


def test_an_interrupted_simulation_leaves_no_half_drive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Ctrl-C mid-render left a directory that read as a whole drive: meta.yaml said 60 frames
    # and 2 s over a video of 9, no labels.jsonl, no run.yaml (so a second `simulate` there
    # was refused as "not an earlier simulation").
    scen = tmp_path / "s.yaml"
    scen.write_text("name: s\nduration_s: 2\nseed: 1\n")
    out = tmp_path / "out"
    from driver_monitor.sim.timeline import Timeline

    real = Timeline.render_state

    def render_state(self: Timeline, row: dict, frame_index: int) -> RenderState:
        if frame_index == 9:  # Ctrl-C while the tenth frame renders
            raise KeyboardInterrupt
        return real(self, row, frame_index)

    monkeypatch.setattr(Timeline, "render_state", render_state)
    with pytest.raises(KeyboardInterrupt, match=r"out: the part rendered was removed"):
        simulate(scen, out, size=SIZE, progress=False)
    assert not out.exists()
    monkeypatch.setattr(Timeline, "render_state", real)
    assert simulate(scen, out, size=SIZE, progress=False).frames == 60  # and it renders there again


def test_sigterm_mid_render_removes_the_part_rendered_as_ctrl_c_does(tmp_path: Path) -> None:
    # `timeout`, `kill` or a job scheduler stop a batch command with SIGTERM, whose default
    # ended the process at once: the half drive stayed, its meta.yaml saying the whole drive
    # (what Ctrl-C no longer leaves, test above). Now SIGTERM goes the way of Ctrl-C.
    import os
    import signal
    import subprocess
    import sys
    import time

    scen = tmp_path / "s.yaml"
    scen.write_text("name: s\nduration_s: 600\nseed: 1\n")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-m", "driver_monitor", "simulate", str(scen), "--out", str(out),
                             "--size", "160x120", "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 60
        while not any(out.glob("video.*")) or next(out.glob("video.*")).stat().st_size < 50_000:
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM
    assert err.strip().splitlines()[-1] == f"interrupted: {out}: the part rendered was removed (a scenario renders again whole)"
    assert not out.exists()
