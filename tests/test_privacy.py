"""The `privacy` section: each emotional / physiological signal off, in memory or written
(docs/emotion.md "Privacy"). What reaches the sinks is checked on a real Pipeline with an
external heart-rate sensor, the filter itself on hand-made events."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from driver_monitor.config import Config
from driver_monitor.config.privacy import PrivacyConfig, PrivacyMode
from driver_monitor.messages import (
    DriverState,
    Event,
    Features,
    FrameResult,
    PolicyState,
    VehicleState,
)
from driver_monitor.outputs.fields import WARNING_REASONS, warning_fields
from driver_monitor.pipeline import Pipeline
from driver_monitor.privacy import WITHHELD, PrivacyFilter
from driver_monitor.runtime_state import format_state


class _Sink:
    def __init__(self) -> None:
        self.results: list[FrameResult] = []
        self.events: list[Event] = []

    def write(self, result: FrameResult) -> None:
        self.results.append(result)

    def write_events(self, events: Sequence[Event]) -> None:
        self.events.extend(events)

    def close(self) -> None:
        pass


def _run(privacy: dict[str, str]) -> tuple[FrameResult, _Sink]:
    sink = _Sink()
    pipeline = Pipeline(Config.model_validate({"privacy": privacy}), tracker=None, sinks=[sink])  # type: ignore[arg-type]
    result = None
    for i in range(10):
        t = i / 10
        result = pipeline.process_features(Features(t=t, face_present=False),
                                           VehicleState(t=t, speed_kph=80.0, external_heart_rate_bpm=72.0))
    assert result is not None
    return result, sink


def test_defaults_write_heart_rate_and_keep_anger_in_memory() -> None:
    p = PrivacyConfig()
    assert [p.mode(s).value for s in ("heart_rate", "hrv", "stress", "anger", "daydreaming")] == [
        "output", "output", "output", "memory", "output"]
    result, sink = _run({})
    assert sink.results[-1].row()["heart_rate_bpm"] == 72.0
    assert sink.results[-1].row()["heart_rate_source"] == "external"
    assert result.state.values["heart_rate_bpm"] == 72.0


def test_heart_rate_in_memory_is_computed_but_never_written() -> None:
    result, sink = _run({"heart_rate": "memory"})
    assert result.state.values["heart_rate_bpm"] == 72.0  # the policy sees it
    written = sink.results[-1].row()
    assert not [k for k in written if k.startswith("heart_rate_")]
    assert "stress_level" in written  # stress itself stays written


def test_heart_rate_off_ignores_even_the_external_sensor() -> None:
    result, _ = _run({"heart_rate": "off"})
    assert math.isnan(result.state.values["heart_rate_bpm"])  # type: ignore[arg-type]
    assert result.state.values["heart_rate_source"] == "none"


def test_stress_off_has_no_level_and_memory_has_no_column() -> None:
    result, sink = _run({"stress": "off"})
    assert result.state.values["stress_level"] is None
    result, sink = _run({"stress": "memory"})
    assert "stress_level" in result.state.values
    assert "stress_level" not in sink.results[-1].row()


def _private_result() -> FrameResult:
    events = [
        Event(5.0, "event", "anger", "start", {"level": 2, "evidence": {"brow_down": 4.0}, "arousal_bpm": 12.0}),
        Event(5.0, "event", "stress", "start", {"level": 1, "heart_rate_bpm": 90.0, "baseline_heart_rate_bpm": 70.0,
                                                "evidence": {"heart_rate": 1.2, "rmssd": 0.5, "brow_down": 0.3}}),
        Event(5.0, "action", "ambient_light", "start", {"condition": "anger", "level": 1, "stage": 0}),
        Event(5.0, "state", "driver_ack", None, {"condition": "anger"}),
    ]
    values = {"anger_level": 2, "stress_level": 1, "heart_rate_bpm": 90.0, "hrv_rmssd_ms": 30.0, "kss_level": 3}
    state = DriverState(5.0, True, frozenset({"anger", "stress"}), values)
    policy = PolicyState(5.0, condition="anger", level=1, actions=frozenset({"ambient_light"}))
    return FrameResult(5.0, Features(t=5.0, face_present=True), VehicleState(t=5.0), state, events, policy)


def test_memory_signal_events_columns_and_reasons_are_withheld() -> None:
    out = PrivacyFilter(PrivacyConfig(heart_rate=PrivacyMode.memory)).result(_private_result())
    assert [(e.kind, e.name) for e in out.events] == [("event", "stress"), ("action", "ambient_light"), ("state", "driver_ack")]
    stress = out.events[0].detail
    assert stress == {"level": 1, "evidence": {"rmssd": 0.5, "brow_down": 0.3}}  # heart rate gone, HRV kept
    assert out.events[1].detail["condition"] == out.events[2].detail["condition"] == WITHHELD
    assert out.state.active == frozenset({"stress"})
    assert out.state.values == {"stress_level": 1, "hrv_rmssd_ms": 30.0, "kss_level": 3}
    assert out.policy is not None and out.policy.condition == WITHHELD
    assert warning_fields(out).reason == WARNING_REASONS[WITHHELD] == 254


def test_everything_written_passes_unchanged() -> None:
    result = _private_result()
    assert PrivacyFilter(PrivacyConfig(anger=PrivacyMode.output)).result(result) is result


@pytest.mark.parametrize("modes, line", [
    ({}, "active (written): daydreaming, heart_rate, hrv, stress; active (memory only): anger; off: none"),
    ({"anger": "off", "stress": "memory"},
     "active (written): daydreaming, heart_rate, hrv; active (memory only): stress; off: anger"),
])
def test_status_tells_the_driver_which_emotional_signals_are_active(modes, line) -> None:
    summary = PrivacyFilter(PrivacyConfig.model_validate(modes)).summary()
    text = format_state({"pid": 1, "phase": "running", "emotional_signals": summary}, now_wall=0.0)
    assert f"  emotional     {line}" in text.splitlines()


def test_a_bad_mode_is_one_line_naming_the_key() -> None:
    from driver_monitor.config import ConfigError, parse_config

    with pytest.raises(ConfigError) as err:
        parse_config("privacy:\n  anger: cloud\n")
    assert "privacy.anger" in str(err.value) and "cloud" in str(err.value)


def test_the_filtered_result_keeps_every_other_field_of_the_frame() -> None:
    """The filter rebuilds FrameResult field by field (speed): a field it does not withhold from
    (the picture, judged, the features, the vehicle, ...) must pass as it came, including a
    field added to FrameResult later."""
    import dataclasses

    from driver_monitor.messages import FrameStats

    result = FrameResult(
        t=12.5, features=Features(t=12.5, face_present=True), vehicle=VehicleState(t=12.5, speed_kph=80.0),
        state=DriverState(t=12.5, face_present=True, active=frozenset({"anger"}), values={"anger_level": 2, "x": 1.0}),
        events=[Event(12.5, "event", "anger", "start", {"level": 2})],
        policy=PolicyState(t=12.5, condition="anger", level=1),
        picture=FrameStats(identical_to_previous=False, mean_luma=90.0, luma_std=30.0), judged=True,
    )
    filtered = PrivacyFilter(PrivacyConfig()).result(result)  # anger: in memory by default
    assert filtered.state.values == {"x": 1.0} and filtered.events == [] and filtered.policy.condition == WITHHELD
    for f in dataclasses.fields(FrameResult):
        if f.name not in ("state", "events", "policy"):
            assert getattr(filtered, f.name) is getattr(result, f.name), f.name


def test_an_unquoted_off_is_off():
    # YAML 1.1 reads `anger: off` (the documented value, unquoted) as False: the file was
    # refused with "Input should be 'off', 'memory' or 'output' (got False)".
    from driver_monitor.config import ConfigError, parse_config

    config = parse_config("privacy:\n  anger: off\n  daydreaming: 'off'\n").privacy
    assert config.mode("anger") is PrivacyMode.off and config.mode("daydreaming") is PrivacyMode.off
    with pytest.raises(ConfigError) as info:
        parse_config("privacy:\n  anger: on\n")
    assert info.value.problems == ["privacy.anger: Input should be 'off', 'memory' or 'output' (got True)"]
