"""Drowsiness end to end on synthetic drives: scenario YAML -> rendered video -> MediaPipe ->
Pipeline, checked against the scenario's own labels (driver_monitor/sim, scenarios/).

Each drowsiness label (microsleep, sleep, yawn, and distraction's unresponsive) must be found
with the same name and phase, fired no later than 0.5 s after the rule's duration is reached
from the labelled onset (issue 4); no drowsiness event the scenario does not label is raised
(attentive driving and talking raise none at all). Each scenario is rendered and replayed once per module at
320x240, 15 fps (the rules are in seconds, so the frame rate does not change them).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from driver_monitor.config import Config

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
KEYWORDS = ("microsleep", "sleep", "unresponsive", "yawn", "attentive", "talk", "sunglasses")
SCENARIOS = sorted(p for p in (REPO / "scenarios").glob("*.yaml") if any(k in p.stem for k in KEYWORDS))
RULE_EVENTS = ("microsleep", "sleep", "yawn", "unresponsive")
# Events that must not appear where the labels have none of RULE_EVENTS.
FALSE_ALARMS = ("microsleep", "sleep", "yawn", "nod", "drowsy", "unresponsive")
LATE_S = 0.5


def rule_duration_s(name: str, config: Config) -> float:
    if name == "microsleep":
        return config.drowsiness.closure.microsleep_min_duration_s
    if name == "sleep":
        return config.drowsiness.closure.sleep_min_duration_s
    if name == "yawn":
        return config.drowsiness.yawn.min_duration_s
    return config.distraction.unresponsive.away_or_closed_s  # type: ignore[attr-defined]


@pytest.fixture()
def replayed(simulated_drive):
    def get(path: Path, face: str | None = None) -> tuple[list[dict], list[dict]]:
        _, labels, events = simulated_drive(path, face=face)
        return labels, events

    return get


@pytest.mark.skipif(not SCENARIOS, reason="no drowsiness scenarios under scenarios/ yet")
@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_labels_are_found_in_time_and_nothing_else_is_raised(replayed, path: Path):
    labels, events = replayed(path)
    assert_labels_found_and_nothing_else(path.stem, labels, events)


@pytest.mark.parametrize("name", ["yawning_series", "talking"])
def test_a_narrow_eyed_driver_yawns_and_talks_without_false_closures(replayed, name: str):
    # biden.jpg reads open EAR 0.23-0.26 (the population's 0.31): the yawns' narrowed eyes
    # (closure 0.3) once raised 3 microsleeps, 3 sleeps and drowsy on yawning_series
    # (calibration's provisional eye baselines, calibrate.OPEN_EAR_TARGET).
    labels, events = replayed(REPO / "scenarios" / f"{name}.yaml", face="biden")
    assert_labels_found_and_nothing_else(f"{name} (biden)", labels, events)


def assert_labels_found_and_nothing_else(what: str, labels: list[dict], events: list[dict]) -> None:
    config = Config()
    wanted = [e for e in labels if e["kind"] == "event" and e["name"] in RULE_EVENTS and e.get("phase") in ("start", None)]
    found = [e for e in events if e["kind"] == "event"]
    for label in wanted:
        onset = label.get("detail", {}).get("onset_t", label["t"])
        due = onset + rule_duration_s(label["name"], config)
        hits = [e for e in found if e["name"] == label["name"] and e.get("phase") == label.get("phase")
                and onset - 1.0 <= e["t"] <= due + LATE_S]
        assert hits, f"{what}: {label['name']} labelled at {onset:.2f} s not found by {due + LATE_S:.2f} s"
    # Nothing the scenario does not label, except the microsleep a long closure passes
    # through on its way to sleep (it ends with detail became="sleep").
    labelled = {e["name"] for e in labels}
    became_sleep = {e["detail"]["onset_t"] for e in found
                    if e["name"] == "microsleep" and e.get("detail", {}).get("became") == "sleep"}
    alarms = [e for e in found if e["name"] in FALSE_ALARMS and e["name"] not in labelled
              and not (e["name"] == "microsleep" and e.get("detail", {}).get("onset_t") in became_sleep)]
    assert not alarms, f"{what}: raised {alarms}"


def test_sunglasses_make_the_eyes_unavailable_within_10_s_and_raise_no_closure(replayed):
    # scenarios/sunglasses.yaml: dark lenses from 5 s to the end. Euro NCAP: tell the driver
    # within 10 s when monitoring is unavailable (REFERENCE.md "degraded monitoring").
    labels, events = replayed(REPO / "scenarios" / "sunglasses.yaml")
    label = next(e for e in labels if e["name"] == "eyes_unavailable" and e.get("phase") == "start")
    starts = [e for e in events if e["name"] == "eyes_unavailable" and e.get("phase") == "start"]
    assert len(starts) == 1
    assert starts[0]["detail"]["reason"] == "eyes_hidden"
    assert label["t"] <= starts[0]["t"] <= label["t"] + 10.0
    assert starts[0]["detail"]["onset_t"] == pytest.approx(label["t"], abs=0.2)
    assert not [e for e in events if e["name"] in ("microsleep", "sleep") and e["t"] > label["t"]]


NODS = """
name: nodding_off
description: >
  Nodding off at 95 km/h: the head drops 20 deg and comes back with the eyes shut (1.2 s,
  lids shut 0.84 s: a slow blink; 1.8 s, lids shut 1.26 s: a microsleep), and a nod with open
  eyes (a check of the instrument cluster) between them.
duration_s: 30
seed: 34
vehicle:
  timeline:
    - {t_s: 0, speed_kph: 95, gear: D, ignition_on: true, indicator_left: false, indicator_right: false}
timeline:
  - {at_s: 6.0, do: nod, duration_s: 1.2, amount_deg: 20}
  - {at_s: 14.0, do: nod, duration_s: 1.2, amount_deg: 20, eyes_closed: false}
  - {at_s: 22.0, do: nod, duration_s: 1.8, amount_deg: 20}
"""


def test_nodding_off_is_a_nod_and_a_nod_with_open_eyes_is_not(simulated_drive):
    # The nod rule (docs/drowsiness.md): the head drops >= 15 deg below neutral and is back
    # within 3 s with the eyes closed for >= half the head-down time. The rendered lids now
    # read closed with the head down (docs/simulation.md "Closed eyes at head-down pitch").
    from driver_monitor.sim.scenario import parse_scenario

    _, labels, events = simulated_drive(parse_scenario(NODS))
    nods = [e for e in events if e["name"] == "nod"]
    assert [round(e["detail"]["onset_t"]) for e in nods] == [6, 22]
    for nod, label in zip(nods, [e for e in labels if e["name"] == "nod"], strict=True):
        assert nod["detail"]["onset_t"] == pytest.approx(label["t"], abs=0.2)
        assert nod["t"] <= label["t"] + label["detail"]["duration_s"] + 0.5
    # The second nod's 1.26 s closure is a microsleep of its own (sim/labels.py).
    (label,) = [e for e in labels if e["name"] == "microsleep" and e.get("phase") == "start"]
    (micro,) = [e for e in events if e["name"] == "microsleep" and e.get("phase") == "start"]
    assert micro["detail"]["onset_t"] == pytest.approx(label["t"], abs=0.2)
    assert not [e for e in events if e["name"] in ("long_distraction", "phone_use", "visual_time_sharing", "unresponsive")]
