"""Distraction end to end on synthetic drives: scenario -> rendered video (driver_monitor/sim)
-> MediaPipe -> Pipeline (`replay`), checked against the scenario's own labels
(sim/labels.py: the standards' definitions, label t = behaviour onset).

The distraction scenarios of scenarios/ are used where present (long_distraction_3_5s,
long_distraction_6s, visual_time_sharing, phone_use_lap), else the fallbacks written here:
- a labelled long_distraction is raised 3.0 s (+- 0.1 s) after the labelled glance start;
- a labelled unresponsive (eyes away 6 s) 6.0 s (+- 0.2 s) after it;
- labelled visual_time_sharing / phone_use are found inside the labelled episode;
- no distraction event is raised that the scenario does not label; attentive driving with
  mirror and cluster checks (written here) raises none.

Each drive is rendered and replayed once per module at 320x240, 15 fps (the rules are in
seconds, so the frame rate does not change them).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from driver_monitor.config import Config

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
DISTRACTION_EVENTS = ("long_distraction", "visual_time_sharing", "phone_use", "unresponsive")

LONG = """
name: long_distraction_dist
description: A 3.5 s glance to the centre stack at 90 km/h.
duration_s: 18
seed: 2
vehicle:
  timeline:
    - {t_s: 0, speed_kph: 90, gear: D, ignition_on: true, indicator_left: false, indicator_right: false}
timeline:
  - {at_s: 8.0, do: glance, zone: centre_stack, duration_s: 3.5}
"""

TIME_SHARING = """
name: time_sharing_dist
description: Six 2 s glances to the centre stack, 1 s on the road between (VATS at 10 s).
duration_s: 25
seed: 5
vehicle:
  timeline:
    - {t_s: 0, speed_kph: 90, gear: D, ignition_on: true, indicator_left: false, indicator_right: false}
timeline:
  - {at_s: 4.0, do: glance, zone: centre_stack, duration_s: 2.0}
  - {at_s: 7.0, do: glance, zone: centre_stack, duration_s: 2.0}
  - {at_s: 10.0, do: glance, zone: centre_stack, duration_s: 2.0}
  - {at_s: 13.0, do: glance, zone: centre_stack, duration_s: 2.0}
  - {at_s: 16.0, do: glance, zone: centre_stack, duration_s: 2.0}
  - {at_s: 19.0, do: glance, zone: centre_stack, duration_s: 2.0}
"""

PHONE = """
name: phone_dist
description: Three 1.5 s glances to a phone in the lap, 2 s on the road between.
duration_s: 16
seed: 6
vehicle:
  timeline:
    - {t_s: 0, speed_kph: 60, gear: D, ignition_on: true, indicator_left: false, indicator_right: false}
timeline:
  - {at_s: 3.0, do: glance, zone: phone, duration_s: 1.5}
  - {at_s: 6.5, do: glance, zone: phone, duration_s: 1.5}
  - {at_s: 10.0, do: glance, zone: phone, duration_s: 1.5}
"""

ATTENTIVE = """
name: attentive_mirrors_dist
description: Attentive at 100 km/h with mirror and cluster checks (< 1.2 s each).
duration_s: 16
seed: 7
vehicle:
  timeline:
    - {t_s: 0, speed_kph: 100, gear: D, ignition_on: true, indicator_left: false, indicator_right: false}
timeline:
  - {at_s: 2.0, do: glance, zone: left_mirror, duration_s: 0.9}
  - {at_s: 5.0, do: glance, zone: rear_mirror, duration_s: 1.0}
  - {at_s: 8.0, do: glance, zone: instrument_cluster, duration_s: 0.7}
  - {at_s: 11.0, do: glance, zone: right_mirror, duration_s: 1.0}
  - {at_s: 14.0, do: glance, zone: left_mirror, duration_s: 0.8}
"""


@pytest.fixture()
def drive(simulated_drive):
    pytest.importorskip("driver_monitor.sim.simulate")
    from driver_monitor.sim.scenario import load_scenario, parse_scenario

    def get(repo_file: str | None, fallback: str) -> tuple[str, list[dict], list[dict]]:
        """(scenario name, labels, replayed detector events) of scenarios/<repo_file> if it
        exists, else of the fallback scenario text (renders shared per session: conftest)."""
        path = REPO / "scenarios" / repo_file if repo_file else None
        scenario = load_scenario(path) if path is not None and path.is_file() else parse_scenario(fallback)
        _, labels, events = simulated_drive(scenario)
        return scenario.name, labels, [e for e in events if e["kind"] == "event"]

    return get


def _named(events: list[dict], name: str, phase: str = "start") -> list[dict]:
    return [e for e in events if e["name"] == name and e.get("phase") == phase]


def _labelled_episodes(labels: list[dict], name: str) -> list[tuple[float, float]]:
    starts, ends = _named(labels, name), _named(labels, name, "end")
    return [(a["t"], b["t"]) for a, b in zip(starts, ends, strict=True)]


def _check_against_labels(name: str, labels: list[dict], events: list[dict]) -> None:
    config = Config().distraction
    rule_s = {"long_distraction": config.long_distraction.threshold_s, "unresponsive": config.unresponsive.away_or_closed_s}
    slack_s = {"long_distraction": 0.1, "unresponsive": 0.2}
    for event_name in DISTRACTION_EVENTS:
        episodes = _labelled_episodes(labels, event_name)
        found = _named(events, event_name)
        assert len(found) == len(episodes), f"{name}: {event_name} labelled {episodes}, raised {found}"
        for (onset, end), event in zip(episodes, found, strict=True):
            if event_name in rule_s:
                # Fired when the rule's duration is reached from the labelled onset.
                assert event["t"] == pytest.approx(onset + rule_s[event_name], abs=slack_s[event_name]), (name, event)
                assert event["detail"]["onset_t"] == pytest.approx(onset, abs=0.15), (name, event)
            else:
                assert onset <= event["t"] <= end + 0.5, (name, event)
                assert event["detail"]["onset_t"] == pytest.approx(onset, abs=0.3), (name, event)


@pytest.mark.parametrize(
    ("repo_file", "fallback"),
    [
        ("long_distraction_3_5s.yaml", LONG),
        ("long_distraction_6s.yaml", LONG),
        ("visual_time_sharing.yaml", TIME_SHARING),
        ("phone_use_lap.yaml", PHONE),
    ],
    ids=["long_distraction_3_5s", "long_distraction_6s", "visual_time_sharing", "phone_use"],
)
def test_distraction_scenario_events_match_their_labels(drive, repo_file, fallback):
    name, labels, events = drive(repo_file, fallback)
    assert [e for e in labels if e["name"] in DISTRACTION_EVENTS], f"{name} labels no distraction"
    _check_against_labels(name, labels, events)


def test_long_distraction_3_5_s_fires_3_s_after_the_glance_starts_and_ends_after_it(drive):
    name, labels, events = drive("long_distraction_3_5s.yaml", LONG)
    (label_end,) = _named(labels, "long_distraction", "end")
    (end,) = _named(events, "long_distraction", "end")
    # Ends once the return has held for the flicker tolerance (0.5 s).
    assert end["detail"]["onset_t"] == pytest.approx(label_end["t"], abs=0.3)
    assert end["t"] == pytest.approx(end["detail"]["onset_t"] + 0.5, abs=0.07)


def test_attentive_driving_with_mirror_checks_raises_nothing(drive):
    name, labels, events = drive(None, ATTENTIVE)
    assert not [e for e in labels if e["name"] in DISTRACTION_EVENTS]
    assert not [e for e in events if e["name"] in DISTRACTION_EVENTS]
