"""Scenario YAML, timeline and ground-truth labels of the synthetic-drive generator (no video)."""

from __future__ import annotations

from pathlib import Path

import pytest

from driver_monitor.errors import ConfigError
from driver_monitor.sim.labels import derive_labels
from driver_monitor.sim.scenario import load_scenario, parse_scenario
from driver_monitor.sim.timeline import Timeline, frame_times

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((REPO / "scenarios").glob("*.yaml"))


def _labels(text: str) -> list[tuple[float, str, str | None]]:
    return [(e.t, e.name, e.phase) for e in derive_labels(Timeline(parse_scenario(text)))]


def test_every_bundled_scenario_is_valid_and_named_after_its_file() -> None:
    assert len(SCENARIOS) >= 4
    for path in SCENARIOS:
        s = load_scenario(path)
        assert s.name == path.stem, path


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_each_scenario_states_its_ground_truth_and_the_script_produces_exactly_that(path: Path) -> None:
    s = load_scenario(path)
    assert s.expect is not None, f"{path.name}: no expect list"
    derived = [(round(e.t, 4), e.name, e.phase) for e in derive_labels(Timeline(s)) if e.detail.get("source") != "natural"]
    assert derived == [(x.t, x.name, x.phase) for x in s.expect]


def test_library_covers_the_issue_cases() -> None:
    names = {p.stem for p in SCENARIOS}
    assert {
        "attentive", "talking", "long_distraction_3_5s", "long_distraction_6s", "visual_time_sharing",
        "phone_use_lap", "microsleep_1_5s", "sleep_4s", "unresponsive_7s", "yawning_series",
        "progressive_drowsiness", "face_lost_found", "sunglasses", "night_nir", "heart_rate_steps",
    } <= names


def test_invalid_scenario_reports_each_problem_with_its_dotted_path() -> None:
    text = """
name: bad
duration_s: 10
camera: {fps: 0}
timeline:
  - {at_s: 1, do: glance, zone: moon, duration_s: 1}
  - {at_s: 2, do: eyes_closed}
  - {at_s: 3, do: blink, colour: red}
  - {at_s: 4, do: dance}
"""
    with pytest.raises(ConfigError) as info:
        parse_scenario(text, source="bad.yaml")
    problems = info.value.problems
    assert any(p.startswith("bad.yaml: camera.fps: ") for p in problems)
    assert any(p.startswith("bad.yaml: timeline.0: ") and "unknown zone 'moon'" in p for p in problems)
    assert "bad.yaml: timeline.1.duration_s: Field required" in problems
    assert "bad.yaml: timeline.2.colour: unknown key" in problems
    assert any(p.startswith("bad.yaml: timeline.3: unknown behaviour") for p in problems)
    assert len(problems) == 5


def test_unknown_top_level_key_and_bad_yaml() -> None:
    with pytest.raises(ConfigError) as info:
        parse_scenario("name: x\nduration_s: 5\nspeed: 3\n", source="s.yaml")
    assert info.value.problems == ["s.yaml: speed: unknown key"]
    with pytest.raises(ConfigError) as info:
        parse_scenario("name: [x\n", source="s.yaml")
    assert info.value.problems[0].startswith("s.yaml: not valid YAML at line")


def test_eye_closure_labels_follow_the_euro_ncap_definitions() -> None:
    labels = _labels("""
name: t
duration_s: 40
driver: {blinking: [{rate_per_min: 0}]}
timeline:
  - {at_s: 2.0, do: blink, duration_s: 0.2}
  - {at_s: 5.0, do: eyes_closed, duration_s: 1.5}
  - {at_s: 10.0, do: eyes_closed, duration_s: 4.0}
  - {at_s: 20.0, do: eyes_closed, duration_s: 7.0}
""")
    assert labels == [
        (2.0, "blink", None),
        (5.0, "microsleep", "start"),
        (6.5, "microsleep", "end"),
        (10.0, "sleep", "start"),
        (14.0, "sleep", "end"),
        (20.0, "sleep", "start"),
        (20.0, "unresponsive", "start"),
        (27.0, "sleep", "end"),
        (27.0, "unresponsive", "end"),
    ]


def test_commanded_closure_crosses_half_at_the_label_times() -> None:
    tl = Timeline(parse_scenario("""
name: t
duration_s: 10
driver: {blinking: [{rate_per_min: 0}], head_sway_deg: 0}
timeline: [{at_s: 3.0, do: eyes_closed, duration_s: 1.5}]
"""))
    assert tl.state(2.0)["eye_closure_left"] == 0.0
    assert tl.state(3.0)["eye_closure_left"] == pytest.approx(0.5)
    assert tl.state(3.5)["eye_closure_right"] == 1.0
    assert tl.state(4.5)["eye_closure_left"] == pytest.approx(0.5)
    assert tl.state(5.0)["eye_closure_left"] == 0.0


def test_glance_labels_long_distraction_vats_and_phone_use() -> None:
    labels = _labels("""
name: t
duration_s: 60
driver: {blinking: [{rate_per_min: 0}]}
timeline:
  - {at_s: 2.0, do: glance, zone: left_mirror, duration_s: 1.0}
  - {at_s: 5.0, do: glance, zone: centre_stack, duration_s: 3.5}
  - {at_s: 15.0, do: look_down, target: phone, duration_s: 2.0}
  - {at_s: 18.0, do: look_down, target: phone, duration_s: 2.0}
  - {at_s: 21.0, do: look_down, target: phone, duration_s: 2.0}
  - {at_s: 24.0, do: look_down, target: phone, duration_s: 2.0}
  - {at_s: 27.0, do: look_down, target: phone, duration_s: 2.0}
  - {at_s: 30.0, do: look_down, target: phone, duration_s: 2.0}
""")
    assert (5.0, "long_distraction", "start") in labels and (8.5, "long_distraction", "end") in labels
    assert (15.0, "visual_time_sharing", "start") in labels and (32.0, "visual_time_sharing", "end") in labels
    assert (15.0, "phone_use", "start") in labels and (32.0, "phone_use", "end") in labels
    assert not any(name in ("long_distraction", "visual_time_sharing") and t < 5.0 for t, name, _ in labels)


def test_natural_blinks_depend_on_the_seed_only() -> None:
    text = "name: t\nduration_s: 60\nseed: {seed}\n"
    a = Timeline(parse_scenario(text.format(seed=4))).natural_blinks
    b = Timeline(parse_scenario(text.format(seed=4))).natural_blinks
    c = Timeline(parse_scenario(text.format(seed=5))).natural_blinks
    assert a == b != c
    assert 8 <= len(a) <= 25  # ~15 per minute


def test_frame_times_are_on_the_millisecond_grid_and_strictly_increase() -> None:
    times = frame_times(1.0, 30.0)
    assert len(times) == 30
    assert times[:4] == [0.0, 0.033, 0.067, 0.1]
    assert all(b > a for a, b in zip(times, times[1:], strict=False))


def test_vehicle_timeline_interpolates_speed_and_steps_signals() -> None:
    tl = Timeline(parse_scenario("""
name: t
duration_s: 30
vehicle:
  timeline:
    - {t_s: 0, speed_kph: 0, gear: D, indicator_left: false}
    - {t_s: 10, speed_kph: 100, indicator_left: true}
  ack_s: [20.0]
"""))
    assert tl.vehicle(5.0).speed_kph == pytest.approx(50.0)
    assert tl.vehicle(5.0).indicator_left is False
    assert tl.vehicle(10.0).indicator_left is True
    assert tl.vehicle(20.1).driver_ack is True
    assert tl.vehicle(20.4).driver_ack is False


NODS = """
name: nods
duration_s: 10
seed: 1
driver: {blinking: [{t_s: 0, rate_per_min: 0, duration_s: 0.2}]}
timeline:
  - {at_s: 2.0, do: nod, duration_s: 1.2, amount_deg: 20}
  - {at_s: 5.0, do: nod, duration_s: 1.5, amount_deg: 20}
  - {at_s: 8.0, do: nod, duration_s: 1.2, eyes_closed: false}
"""


def test_a_drowsy_nod_closes_the_lids_while_the_head_is_down_and_labels_the_closure() -> None:
    tl = Timeline(parse_scenario(NODS))
    # Lids half closed at 10 % and half open at 80 % of the nod (2.12 s and 2.96 s).
    assert tl.state(2.12)["eye_closure_left"] == pytest.approx(0.5)
    assert tl.state(2.96)["eye_closure_right"] == pytest.approx(0.5)
    # Shut for the whole time the head is >= 15 deg down (the nod rule's drop).
    down = [t / 100 for t in range(200, 320) if tl.state(t / 100)["head_pitch_deg"] >= 15.0]
    assert down and all(tl.state(t)["eye_closure_left"] == 1.0 for t in down)
    assert tl.state(1.9)["eye_closure_left"] == 0.0 and tl.state(3.1)["eye_closure_left"] == 0.0
    # eyes_closed: false keeps them open through the nod.
    assert max(tl.state(8.0 + i / 100)["eye_closure_left"] for i in range(120)) == 0.0
    got = [(round(e.t, 4), e.name, e.phase, e.detail.get("source")) for e in derive_labels(tl)]
    assert got == [
        (2.0, "nod", None, None), (2.12, "blink", None, "nod"),  # 0.84 s closure: a slow blink
        (5.0, "nod", None, None), (5.15, "microsleep", "start", None),  # 1.05 s: a microsleep
        (6.2, "microsleep", "end", None),  # the open-eyed nod at 8.0 is no nodding off: no label
    ]


DOZE = """
name: doze
duration_s: 20
driver: {head_sway_deg: 0}
timeline:
  - {at_s: 5.0, do: doze, duration_s: 5.0, sink_deg: 20, sink_s: 3.0, roll_deg: 6}
  - {at_s: 12.0, do: doze, duration_s: 7.0, sink_deg: 15}
"""


def test_a_doze_closes_the_eyes_while_the_head_sinks_slowly_and_is_labelled_by_its_closure() -> None:
    tl = Timeline(parse_scenario(DOZE))
    state = tl.state
    # Lids half closed at the onset and half open at its end, shut between.
    assert state(5.0)["eye_closure_left"] == pytest.approx(0.5)
    assert state(10.0)["eye_closure_right"] == pytest.approx(0.5)
    assert all(state(t / 10)["eye_closure_left"] == 1.0 for t in range(52, 98))
    # The head starts to sink at the onset, is half-way after 1.5 s, fully down (and tilted
    # to the right shoulder) after 3 s, and half-way back up when the eyes are half open.
    assert state(5.0)["head_pitch_deg"] == pytest.approx(0.0, abs=1e-9)
    assert state(6.5)["head_pitch_deg"] == pytest.approx(10.0)
    assert (state(8.0)["head_pitch_deg"], state(8.0)["head_roll_deg"]) == (pytest.approx(20.0), pytest.approx(6.0))
    assert state(9.7)["head_pitch_deg"] == pytest.approx(20.0)
    assert state(10.0)["head_pitch_deg"] == pytest.approx(10.0)
    assert state(10.3)["head_pitch_deg"] == pytest.approx(0.0, abs=1e-9)
    # No glance: the gaze stays on the road.
    assert {state(t / 10)["gaze_zone"] for t in range(0, 200)} == {"road"}
    got = [(round(e.t, 4), e.name, e.phase, e.detail.get("cause")) for e in derive_labels(tl) if e.name != "blink"]
    assert got == [
        (5.0, "sleep", "start", None), (10.0, "sleep", "end", None),
        (12.0, "sleep", "start", None), (12.0, "unresponsive", "start", "eyes_closed"),
        (19.0, "sleep", "end", None), (19.0, "unresponsive", "end", "eyes_closed"),
    ]


MOUNTED = """
name: mounted
duration_s: 10
driver: {head: {yaw_deg: 18, pitch_deg: 22}, head_sway_deg: 0}
timeline:
  - {at_s: 4.0, do: glance, zone: left_mirror, duration_s: 2.0}
"""


def test_head_movements_are_rotations_in_the_car_seen_through_the_cameras_neutral_pose() -> None:
    import numpy as np

    from driver_monitor.perception.geometry import rotation_matrix
    from driver_monitor.sim.timeline import compose_pose

    tl = Timeline(parse_scenario(MOUNTED))
    rest, glance = tl.state(1.0), tl.state(5.0)
    assert (rest["head_yaw_deg"], rest["head_pitch_deg"], rest["head_roll_deg"]) == pytest.approx((18.0, 22.0, 0.0))
    pose = (glance["head_yaw_deg"], glance["head_pitch_deg"], glance["head_roll_deg"])
    # The head's share of the left-mirror glance (0.7 of yaw 45, pitch 5) composed with the
    # mount: not 18 + 31.5 / 22 + 3.5, since the driver's vertical axis is tilted in the view.
    assert pose == pytest.approx(compose_pose((18.0, 22.0, 0.0), (31.5, 3.5, 0.0)))
    assert pose == pytest.approx((46.4, 34.6, 16.5), abs=0.1)
    # Whatever the mount, the face turns by the glance's own angle: the angle between the
    # face's forward direction at rest and in the glance is that of a 31.5 / 3.5 deg turn.
    forward = np.array([0.0, 0.0, 1.0])
    seen = np.degrees(np.arccos(np.clip((rotation_matrix(*pose) @ forward) @ (rotation_matrix(18.0, 22.0, 0.0) @ forward), -1, 1)))
    turned = np.degrees(np.arccos(np.clip((rotation_matrix(31.5, 3.5, 0.0) @ forward) @ forward, -1, 1)))
    assert seen == pytest.approx(turned, abs=1e-6)
    # The eyes' share of the glance stays in the head (eye-in-head gaze).
    assert (glance["gaze_yaw_deg"], glance["gaze_pitch_deg"]) == pytest.approx((13.5, 1.5))
    # A neutral pose of 0 leaves every head movement as scripted.
    assert compose_pose((0.0, 0.0, 0.0), (31.5, 3.5, 2.0)) == (31.5, 3.5, 2.0)


def test_eyes_closed_while_looking_away_is_one_unresponsive_label(tmp_path: Path) -> None:
    """Two overlapping unresponsive spans (eyes away, eyes closed) made a labels file whose
    second start came before the first one's end: eval and report refused it."""
    import json

    from driver_monitor.outputs.event_log import read_labels

    text = """
name: t
duration_s: 20
driver: {blinking: [{rate_per_min: 0}]}
timeline:
  - {at_s: 5.0, do: look_down, target: lap, duration_s: 8.0}
  - {at_s: 6.0, do: eyes_closed, duration_s: 6.5}
"""
    events = derive_labels(Timeline(parse_scenario(text)))
    unresponsive = [(e.t, e.phase, e.detail["cause"]) for e in events if e.name == "unresponsive"]
    assert unresponsive == [(5.0, "start", "eyes_away+eyes_closed"), (13.0, "end", "eyes_away+eyes_closed")]
    (tmp_path / "labels.jsonl").write_text("".join(json.dumps(e.to_json_dict()) + "\n" for e in events))
    assert len(read_labels(tmp_path / "labels.jsonl")) == len(events)


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_scenario(text, source="s.yaml")
    return info.value.problems


HEAD = "name: s\nduration_s: 5\n"


@pytest.mark.parametrize(("body", "line"), [
    # A behaviour lasting past the drive: was labelled by its scripted length (sleep, 1 s of
    # it rendered) and a talk of `.inf` / 1e12 s never finished laying out its syllables.
    ("timeline:\n  - {at_s: 4, do: eyes_closed, duration_s: 3}\n",
     "s.yaml: timeline.0.duration_s: ends at 7 s, after the end of the drive (duration_s 5)"),
    ("timeline:\n  - {at_s: 1, do: talk, duration_s: .inf}\n", "s.yaml: timeline.0.duration_s: "),
    ("timeline:\n  - {at_s: 1, do: talk, duration_s: 1e12}\n",
     "s.yaml: timeline.0.duration_s: ends at 1e+12 s, after the end of the drive (duration_s 5)"),
    ("timeline:\n  - {at_s: 1, do: glance, zone: lap, duration_s: .inf}\n", "s.yaml: timeline.0.duration_s: "),
    # At the drive's end: a label no frame shows (the last frame is before duration_s).
    ("timeline:\n  - {at_s: 5, do: blink}\n", "s.yaml: timeline.0.at_s: 5 is at or after the end of the drive"),
    # ACK presses were never range-checked: NaN, negative and infinite ones were silently no press.
    ("vehicle: {ack_s: [.nan]}\n", "s.yaml: vehicle.ack_s.0: "),
    ("vehicle: {ack_s: [-3]}\n", "s.yaml: vehicle.ack_s.0: "),
    ("vehicle: {ack_s: [1, .inf]}\n", "s.yaml: vehicle.ack_s.1: "),
    ("vehicle: {ack_s: [7]}\n", "s.yaml: vehicle.ack_s.0: 7 is at or after the end of the drive (duration_s 5)"),
    # An empty keyframe list was a numpy ValueError traceback.
    ("driver: {blinking: []}\n", "s.yaml: driver.blinking: needs at least one keyframe"),
    ("driver: {blinking: [{t_s: .inf}]}\n", "s.yaml: driver.blinking.0.t_s: "),
    # A CAN period of 1 ns rendered the whole drive, then never finished sampling it.
    ("vehicle: {can_period_s: 1.0e-9}\n", "s.yaml: vehicle.can_period_s: "),
])
def test_bad_scenario_values_are_one_line_naming_the_key(body: str, line: str) -> None:
    problems = _problems(HEAD + body)
    assert len(problems) == 1 and problems[0].startswith(line), problems


@pytest.mark.parametrize(("body", "line"), [
    # Rendered as one 4 s closure (the lids take the larger closure), labelled as a microsleep
    # 1-3 and a sleep 2-5 that overlap.
    ("  - {at_s: 1, do: eyes_closed, duration_s: 2}\n  - {at_s: 2, do: eyes_closed, duration_s: 3}\n",
     "s.yaml: timeline.1: eyes_closed 2-5 s overlaps timeline.0 (eyes_closed 1-3 s)"),
    # Two blinks rendered as one 1.3 s closure (a microsleep), labelled as two blinks.
    ("  - {at_s: 1, do: slow_blink, duration_s: 0.8}\n  - {at_s: 1.5, do: slow_blink, duration_s: 0.8}\n",
     "s.yaml: timeline.1: slow_blink 1.5-2.3 s overlaps timeline.0 (slow_blink 1-1.8 s)"),
    # Rendered as the sum of the two head turns (towards neither zone).
    ("  - {at_s: 1, do: glance, zone: left_mirror, duration_s: 2}\n  - {at_s: 2, do: look_down, duration_s: 2}\n",
     "s.yaml: timeline.1: look_down 2-4 s overlaps timeline.0 (glance 1-3 s)"),
])
def test_overlapping_closures_or_glances_are_refused(body: str, line: str) -> None:
    problems = _problems(HEAD + "timeline:\n" + body)
    assert len(problems) == 1 and problems[0].startswith(line), problems


def test_behaviours_at_the_very_start_and_end_of_the_drive_are_labelled_as_rendered() -> None:
    s = parse_scenario(HEAD + "driver: {blinking: [{rate_per_min: 0}]}\ntimeline:\n"
                       "  - {at_s: 0, do: eyes_closed, duration_s: 1.5}\n  - {at_s: 3, do: eyes_closed, duration_s: 2}\n")
    tl = Timeline(s)
    assert [(e.t, e.name, e.phase) for e in derive_labels(tl)] == [
        (0.0, "microsleep", "start"), (1.5, "microsleep", "end"), (3.0, "microsleep", "start"), (5.0, "microsleep", "end")]
    times = frame_times(s.duration_s, 30.0)
    assert times[0] == 0.0 and times[-1] == 4.967 and len(times) == 150
    assert tl.state(0.0)["eye_closure_left"] == pytest.approx(0.5)  # half-way in at the onset
    # The closure ending with the drive is half-way out at 5.0 s, after the last frame: that
    # frame still shows the lids more than half closed (reopening over 0.3 s around 5.0 s).
    assert tl.state(times[-1])["eye_closure_left"] == pytest.approx(0.6623, abs=1e-4)


def test_glances_back_to_back_are_one_continuous_distraction() -> None:
    # 2 s at the mirror straight into 2 s at the centre stack: the eyes are off the road for
    # 4 s without a break (Euro NCAP long distraction counts continuous eyes-off-road time).
    labels = _labels(HEAD.replace("5", "8") + "driver: {blinking: [{rate_per_min: 0}]}\ntimeline:\n"
                     "  - {at_s: 1, do: glance, zone: left_mirror, duration_s: 2}\n"
                     "  - {at_s: 3, do: glance, zone: centre_stack, duration_s: 2}\n")
    assert labels == [(1.0, "long_distraction", "start"), (5.0, "long_distraction", "end")]


@pytest.mark.parametrize(("duration_s", "fps", "count", "last"), [
    (1.0, 30.0, 30, 0.967),
    # Every frame time i / fps before the end is a frame: floor(duration x fps) dropped the
    # last one whenever the product was not whole (a 1 s drive at 29.97 fps has a frame at
    # 0.968 s; 2.5 s at 15 fps one at 2.467 s; 1 s at 0.5 fps its frame at 0, "renders no frame").
    (1.0, 29.97, 30, 0.968),
    (2.5, 15.0, 38, 2.467),
    (1.0, 0.5, 1, 0.0),
    (0.05, 30.0, 2, 0.033),
])
def test_frame_times_hold_every_frame_before_the_end(duration_s: float, fps: float, count: int, last: float) -> None:
    times = frame_times(duration_s, fps)
    assert len(times) == count and times[-1] == last and times[-1] < duration_s


@pytest.mark.parametrize("text", ["", "\n", "# a scenario, one day\n"], ids=["empty", "blank", "comment"])
def test_an_empty_scenario_file_is_one_line_saying_so(text: str) -> None:
    # Was two lines of pydantic ("name: Field required", "duration_s: Field required").
    assert _problems(text) == ["s.yaml: empty: a scenario needs at least name and duration_s (docs/simulation.md)"]
