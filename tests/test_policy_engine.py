"""The policy engine driven by synthetic sequences, asserted at exact times (openpilot
test_monitoring.py style). Unless a test says otherwise: 10 Hz, 80 km/h, monitoring active
from the first frame, the default ladders of driver_monitor/data/default.yaml."""

from __future__ import annotations

import pytest
from policy_sim import Sim, policy_config

SLEEP_0 = {"visual_icon", "chime", "voice_prompt", "haptic_seat"}
SLEEP_1 = {"visual_icon", "voice_prompt", "haptic_seat", "haptic_wheel", "hazard_lights", "slow_down_request"}
SLEEP_2 = SLEEP_1 | {"mrm_request"}


def test_sleep_ladder_escalates_at_the_configured_delays():
    sim = Sim()
    sim.until(2.0)
    assert sim.step(("sleep", "start")).actions == SLEEP_0
    s = sim.at(2.0)
    assert (s.condition, s.stage, s.level, s.warning_since_t) == ("sleep", 0, 2, 2.0)
    sim.until(15.0)
    assert sim.actions(1.9) == set()
    assert sim.actions(4.9) == SLEEP_0
    assert sim.actions(5.0) == SLEEP_1 and sim.at(5.0).level == 3 and sim.at(5.0).stage == 1
    assert sim.actions(11.9) == SLEEP_1
    assert sim.actions(12.0) == SLEEP_2 and sim.at(12.0).stage == 2
    assert sim.at(14.9).warning_since_t == 2.0  # the warning started once, escalation keeps it


def test_action_events_start_and_end_with_condition_level_and_stage():
    sim = Sim()
    sim.until(1.0)
    sim.step(("long_distraction", "start"))
    sim.values["eyes_on_road"] = False
    sim.until(3.5)
    sim.values["eyes_on_road"] = True
    sim.step(("long_distraction", "end"))
    sim.until(6.0)
    starts = [(e.t, e.name, dict(e.detail)) for e in sim.events if e.kind == "action" and e.phase == "start"]
    assert starts == [
        (1.0, "chime", {"condition": "long_distraction", "level": 2, "stage": 0}),
        (1.0, "visual_icon", {"condition": "long_distraction", "level": 2, "stage": 0}),
        (3.0, "adas_sensitivity", {"condition": "long_distraction", "level": 2, "stage": 1}),
        (3.0, "haptic_seat", {"condition": "long_distraction", "level": 2, "stage": 1}),
        (3.0, "voice_prompt", {"condition": "long_distraction", "level": 2, "stage": 1}),
    ]
    ends = [(round(e.t, 6), e.name) for e in sim.events if e.kind == "action" and e.phase == "end"]
    # chime ends when stage 1 replaces stage 0; the rest after 1 s of forward gaze (3.5 -> 4.5)
    assert ends == [(3.0, "chime"), (4.5, "adas_sensitivity"), (4.5, "haptic_seat"),
                    (4.5, "visual_icon"), (4.5, "voice_prompt")]


def test_intervention_ends_after_one_second_of_continuous_forward_gaze():
    sim = Sim()
    sim.values["eyes_on_road"] = False
    sim.until(1.0)
    sim.step(("sleep", "start"))
    sim.until(8.0)
    sim.step(("sleep", "end"))  # the detector saw the eyes open; gaze still off the road
    sim.until(9.0)
    sim.values["eyes_on_road"] = True
    sim.until(9.5)
    sim.values["eyes_on_road"] = False  # a flicker restarts the 1 s
    sim.step()
    sim.values["eyes_on_road"] = True
    sim.until(11.0)
    assert sim.actions(8.0) == SLEEP_1  # stage frozen while clearing, actions go on
    assert sim.actions(10.5) == SLEEP_1  # 1 s after the gaze came back at 9.0, but it flickered
    assert sim.actions(10.6) == set()  # 9.6 + 1.0
    assert sim.at(10.6).warning_since_t is None


def test_gaze_back_before_the_detector_closes_counts_towards_the_second():
    sim = Sim()
    sim.values["eyes_on_road"] = False
    sim.until(1.0)
    sim.step(("long_distraction", "start"))
    sim.until(1.5)
    sim.values["eyes_on_road"] = True
    sim.until(1.8)
    sim.step(("long_distraction", "end"))
    sim.until(3.0)
    assert sim.actions(2.4) == {"visual_icon", "chime"}
    assert sim.actions(2.5) == set()  # 1.5 + 1 s; the ladder's stage 1 (due 3.0) never came


def test_stage_is_frozen_while_clearing():
    sim = Sim()
    sim.values["eyes_on_road"] = False
    sim.until(2.0)
    sim.step(("sleep", "start"))
    sim.until(4.0)
    sim.step(("sleep", "end"))
    sim.until(6.0)
    assert sim.actions(5.9) == SLEEP_0  # stage 1 was due at 5.0, but the eyes had opened


def test_without_a_gaze_measure_clearing_falls_back_to_time():
    sim = Sim()  # no eyes_on_road value at all
    sim.until(1.0)
    sim.step(("sleep", "start"))
    sim.until(3.0)
    sim.step(("sleep", "end"))
    sim.until(5.0)
    assert sim.actions(3.9) == SLEEP_0 and sim.actions(4.0) == set()


def test_unknown_gaze_is_not_forward_gaze():
    sim = Sim()
    sim.values["eyes_on_road"] = None  # the distraction detector runs but sees no eyes
    sim.until(1.0)
    sim.step(("sleep", "start"))
    sim.until(2.0)
    sim.step(("sleep", "end"))
    sim.until(20.0)
    assert sim.actions(19.9) == SLEEP_0


def test_instantaneous_microsleep_is_held_then_cleared():
    sim = Sim()
    sim.until(3.0)
    sim.step(("microsleep", None, {"onset_t": 1.5, "duration_s": 1.5}))
    sim.until(8.0)
    assert sim.actions(3.0) == {"visual_icon", "chime", "haptic_seat"}
    assert sim.actions(5.9) == {"visual_icon", "chime", "haptic_seat"}  # held 3 s
    assert sim.actions(6.9) == {"visual_icon", "chime", "haptic_seat"}  # + 1 s clearing (no gaze measure)
    assert sim.actions(7.0) == set()


@pytest.mark.parametrize(("times", "third_stage"), [((10.0, 60.0, 110.0), 1), ((10.0, 400.0, 700.0), 0)])
def test_recurring_microsleeps_start_higher(times, third_stage):
    sim = Sim(hz=5)
    for t in times:
        sim.until(t)
        sim.step(("microsleep", None))
    s = sim.at(times[-1])
    assert (s.condition, s.stage) == ("microsleep", third_stage)
    if third_stage == 1:  # 3rd within 600 s: straight to the break suggestion
        assert s.actions == {"visual_icon", "voice_prompt", "suggest_break", "adas_sensitivity"}
    assert sim.at(times[1]).stage == 0


def test_speed_gate_with_hysteresis():
    sim = Sim(speed_kph=15.0)
    sim.until(1.0)
    sim.step(("long_distraction", "start"))
    sim.until(2.0)
    sim.speed_kph = 20.0
    sim.until(3.0)
    sim.speed_kph = 18.5  # inside the 2 km/h hysteresis: still open
    sim.until(4.0)
    sim.speed_kph = 17.9  # below 20 - 2: closed, actions withheld
    sim.until(5.0)
    sim.speed_kph = 25.0
    sim.until(6.0)
    assert sim.actions(1.9) == set()
    # the episode starts when the gate opens: stage 0 at 2.0, stage 1 at 4.0
    assert sim.actions(2.0) == {"visual_icon", "chime"} and sim.at(2.0).warning_since_t == 2.0
    assert sim.actions(3.9) == {"visual_icon", "chime"}
    assert sim.actions(4.0) == set() and sim.at(4.0).warning_since_t is None
    assert sim.actions(5.0) == {"visual_icon", "voice_prompt", "haptic_seat", "adas_sensitivity"}


def test_drowsy_gate_is_50_kph_and_unknown_speed_is_moving():
    sim = Sim(speed_kph=45.0)
    sim.values["kss_level"] = 7.0
    sim.until(1.0)
    sim.speed_kph = 50.0
    sim.until(2.0)
    sim.speed_kph = None
    sim.until(3.0)
    assert sim.actions(0.9) == set()
    assert sim.actions(1.0) == {"visual_icon", "suggest_break"}
    assert sim.actions(2.5) == {"visual_icon", "suggest_break"}


def test_drowsy_level_picks_the_starting_stage_and_escalates():
    sim = Sim(hz=2)
    sim.values["kss_level"] = 6.0
    sim.until(10.0)
    sim.values["kss_level"] = 7.0
    sim.until(20.0)
    sim.values["kss_level"] = 8.0  # DDAW warning level: jump to the audible stage now
    sim.until(200.0)
    assert sim.actions(9.5) == set()
    assert sim.actions(10.0) == {"visual_icon", "suggest_break"}
    assert sim.at(20.0).stage == 1 and "chime" in sim.actions(20.0)
    assert sim.at(79.5).stage == 1 and sim.at(80.0).stage == 2  # stage 2 is 60 s after stage 1
    assert sim.actions(80.0) == {"visual_icon", "voice_prompt", "haptic_seat", "suggest_break", "adas_sensitivity"}
    assert sim.actions(90.0) == {"visual_icon", "adas_sensitivity"}  # quiet hold after 10 s


def test_the_shown_warning_has_its_start_whatever_its_kind():
    """WarningActiveTime (CAN) and active_time_ds (serial) count from the start of the warning
    shown: a drowsiness warning too, not only the eyes-on-road ones that start the
    unresponsive rule's clock (it read 0 s through a whole level-2 drowsy warning)."""
    from driver_monitor.messages import DriverState, Features, FrameResult, VehicleState
    from driver_monitor.outputs.fields import warning_fields

    sim = Sim(hz=2)
    sim.values["kss_level"] = 8.0
    sim.until(30.0)
    first = next(t / 2 for t in range(60) if sim.at(t / 2).level > 0)
    assert first == 0.0 and sim.at(29.5).level >= 2 and sim.at(29.5).condition == "drowsy"
    assert sim.at(29.5).warning_since_t is None  # drowsiness does not start the unresponsive clock
    assert sim.at(29.5).shown_since_t == 0.0
    result = FrameResult(29.5, Features(29.5, True), VehicleState(29.5), DriverState(29.5, True, frozenset(), {}),
                         policy=sim.at(29.5))
    assert warning_fields(result).active_time_s == 29.5
    # Another condition taking over starts its own count.
    sim.step(("long_distraction", "start"))
    assert sim.at(30.0).condition == "long_distraction" and sim.at(30.0).shown_since_t == 30.0


def test_drowsy_event_detail_level():
    sim = Sim()
    sim.until(1.0)
    sim.step(("drowsy", "start", {"level": 9}))
    assert sim.at(1.0).stage == 2


def test_drowsy_repeats_every_five_minutes_at_most_three_times():
    sim = Sim(hz=2)
    sim.values["kss_level"] = 7.0
    sim.until(1300.0)
    chimes = [t for t, name, phase, _ in sim.action_log() if name == "chime" and phase == "start"]
    assert chimes == [60.0, 360.0, 660.0, 960.0]  # first run + 3 repeats, then quiet
    assert sim.actions(1250.0) == {"visual_icon", "adas_sensitivity"}


def test_ack_suppresses_repeats_until_the_next_journey():
    sim = Sim(hz=2)
    sim.ignition_on = True
    sim.values["kss_level"] = 8.0
    sim.until(10.0)
    sim.ack = True
    s = sim.step()
    sim.ack = False
    assert s.actions == {"visual_icon", "adas_sensitivity"} and s.suppressed_by_ack and s.condition == "drowsy"
    assert [(e.t, dict(e.detail)) for e in sim.events if e.name == "driver_ack"] == [(10.0, {"condition": "drowsy"})]
    sim.until(400.0)
    assert not any(name == "chime" and t > 10.0 for t, name, *_ in sim.action_log())  # no repeat at 300 s
    # a new drowsy episode in the same journey stays quiet
    sim.values["kss_level"] = 5.0
    sim.until(450.0)
    sim.values["kss_level"] = 8.0
    sim.until(460.0)
    assert sim.actions(455.0) == {"visual_icon", "adas_sensitivity"}
    # ignition off and on: a new journey, the ACK no longer holds
    sim.ignition_on = False
    sim.until(470.0)
    assert sim.at(465.0).monitoring_active is False and sim.actions(465.0) == set()
    sim.ignition_on = True
    sim.until(480.0)
    assert sim.at(470.0).suppressed_by_ack is False
    assert "chime" in sim.actions(470.0)
    assert [e.detail["reason"] for e in sim.events if e.name == "journey_start"] == ["start", "ignition_on"]


def test_ack_cannot_silence_sleep_nor_what_runs_underneath():
    sim = Sim()
    sim.values["kss_level"] = 7.0  # drowsy advice (ackable) underneath
    sim.until(1.0)
    sim.step(("sleep", "start"))
    sim.ack = True
    assert sim.step().actions == SLEEP_0
    sim.ack = False
    assert not sim.at(1.1).suppressed_by_ack
    assert not sim.engine.ladders["drowsy"].acked
    assert not any(e.name == "driver_ack" for e in sim.events)
    sim.step(("sleep", "end"))
    sim.until(4.0)
    assert sim.at(3.5).condition == "drowsy" and sim.actions(3.5) == {"visual_icon", "suggest_break"}


def test_long_standstill_or_driver_change_starts_a_new_journey():
    sim = Sim(hz=2)
    sim.values["kss_level"] = 8.0
    sim.until(5.0)
    sim.ack = True
    sim.step()
    sim.ack = False
    sim.speed_kph = 0.0
    sim.until(606.0)
    sim.speed_kph = 80.0
    sim.until(610.0)
    assert [e.t for e in sim.events if e.name == "journey_start"] == [0.0, 605.5]  # 600 s at standstill
    assert "chime" in sim.actions(606.0)

    sim2 = Sim(hz=2, speed_kph=0.0)
    sim2.until(10.0)
    sim2.step(("driver_absent", "start"))
    sim2.until(45.0)
    assert [e.t for e in sim2.events if e.name == "journey_start"] == [0.0, 40.0]  # absent 30 s at standstill


def test_monitoring_activates_after_one_minute_at_10_kph():
    cfg = policy_config(monitoring={"activation_s": 60.0})
    sim = Sim(cfg, speed_kph=5.0)
    sim.until(10.0)
    sim.speed_kph = 30.0
    sim.step(("sleep", "start"))
    sim.until(71.0)
    assert sim.at(69.9).monitoring_active is False and sim.actions(69.9) == set()
    # moving since 10.0: active at 70.0, and the sleep (still active) is announced then
    assert sim.at(70.0).monitoring_active is True and sim.actions(70.0) == SLEEP_0
    states = [(e.t, e.detail["active"]) for e in sim.events if e.name == "monitoring_active"]
    assert states == [(0.0, False), (70.0, True)]


def test_priorities_hmi_from_the_winner_vehicle_actions_combined():
    sim = Sim()
    sim.values["kss_level"] = 8.0  # drowsy stage 1: chime, voice, break, ADAS sensitivity
    sim.until(1.0)
    sim.step(("stress", "start"))
    sim.until(2.0)
    sim.step(("phone_use", "start"))
    sim.until(3.0)
    s = sim.at(2.0)
    assert s.condition == "phone_use"
    assert s.actions == {"visual_icon", "chime", "adas_sensitivity", "calm_cabin"}
    assert sim.at(1.5).condition == "drowsy"
    assert sim.actions(1.5) == {"visual_icon", "chime", "voice_prompt", "suggest_break", "adas_sensitivity", "calm_cabin"}


def test_stress_cooldown_holds_back_a_new_episode():
    sim = Sim(hz=2)
    sim.until(10.0)
    sim.step(("stress", "start"))
    sim.until(20.0)
    sim.step(("stress", "end"))
    sim.until(100.0)
    sim.step(("stress", "start"))
    sim.until(640.0)
    assert sim.actions(10.0) == {"calm_cabin"} and sim.at(10.0).level == 1
    assert sim.actions(29.5) == {"calm_cabin"} and sim.actions(30.0) == set()  # 10 s clearing
    assert sim.actions(629.5) == set()
    assert sim.actions(630.0) == {"calm_cabin"}  # ended 30.0 + 600 s cooldown
    assert sim.at(630.0).warning_since_t is None  # advisory: never a warning


def test_degraded_monitoring_reaches_the_driver_within_10_s():
    sim = Sim()
    sim.until(2.0)
    sim.step(("eyes_unavailable", "start", {"onset_t": 1.0}))
    sim.until(9.0)
    assert sim.actions(3.4) == set()
    # 1.5 s after firing: with the detector's 8 s (drowsiness.eyes.unavailable_after_s), 9.5 s
    # after the eyes went, inside Euro NCAP's 10 s
    assert sim.actions(3.5) == {"visual_icon", "chime"}
    assert sim.at(3.5).warning_since_t is None  # no eyes: the unresponsive rule must not wait on it
    assert sim.actions(7.9) == {"visual_icon", "chime"}
    assert sim.actions(8.0) == {"visual_icon"}  # 6 s after firing: the icon stays
    from driver_monitor.config import load_config
    from driver_monitor.config.root import degraded_notice_problems

    assert degraded_notice_problems(load_config()) == []


def test_camera_fault_and_driver_absent_are_told_at_once():
    for name in ("camera_fault", "driver_absent"):
        sim = Sim()
        sim.until(1.0)
        sim.step((name, "start"))
        assert sim.at(1.0).actions == {"visual_icon", "chime"} and sim.at(1.0).condition == name


def test_ignition_off_stops_everything():
    sim = Sim()
    sim.ignition_on = True
    sim.until(1.0)
    sim.step(("sleep", "start"))
    sim.until(2.0)
    sim.ignition_on = False
    sim.until(3.0)
    assert sim.actions(1.9) == SLEEP_0
    s = sim.at(2.0)
    assert (s.actions, s.monitoring_active, s.level, s.condition) == (frozenset(), False, 0, None)
    assert {name for t, name, phase, _ in sim.action_log() if phase == "end" and t == 2.0} == SLEEP_0


def test_finish_closes_open_actions():
    sim = Sim()
    sim.step(("camera_fault", "start"))
    ends = sim.engine.finish(0.5)
    assert [(e.name, e.phase, e.detail["truncated"]) for e in ends] == [
        ("chime", "end", True), ("visual_icon", "end", True)]


def test_results_do_not_depend_on_frame_rate():
    def run(hz: int) -> list[tuple[float, str, str | None, str]]:
        sim = Sim(hz=hz)
        sim.values["eyes_on_road"] = False
        sim.until(2.0)
        sim.step(("sleep", "start"))
        sim.until(14.0)
        sim.values["eyes_on_road"] = True
        sim.step(("sleep", "end"))
        sim.until(16.0)
        return sim.action_log()

    assert run(10) == run(25) == run(50)


def test_reconfigure_keeps_the_journey_and_follows_the_new_ladder():
    cfg = policy_config(monitoring={"activation_s": 60.0})
    sim = Sim(cfg, hz=2)
    sim.values["kss_level"] = 8.0
    sim.until(70.0)
    sim.ack = True
    sim.step()
    sim.ack = False
    sim.until(80.0)
    sim.step(("sleep", "start"))
    new = policy_config(monitoring={"activation_s": 60.0},
                        conditions={"sleep": {"ladder": [{"delay_s": 0.0, "actions": ["visual_icon", "hazard_lights"]}]}})
    sim.engine.reconfigure(new)
    sim.until(90.0)
    s = sim.at(85.0)
    # still monitoring (no new 60 s activation), drowsy still acknowledged, sleep on the new ladder
    assert s.monitoring_active and s.actions == {"visual_icon", "hazard_lights", "adas_sensitivity"}
    assert sim.engine.ladders["drowsy"].acked
    assert [e.name for e in sim.events if e.name == "journey_start"] == ["journey_start"]


def test_reconfigure_keeps_the_hourly_rate_limit():
    """anger: at most 2 episodes an hour; a SIGHUP reload in between used to grant a third."""
    sim = Sim(hz=2)
    for start in (0.0, 1000.0):
        sim.until(start)
        sim.step(("anger", "start", {"level": 2}))
        sim.until(start + 120.0)
        sim.step(("anger", "end"))
    sim.engine.reconfigure(policy_config())
    sim.until(2500.0)
    sim.step(("anger", "start", {"level": 2}))
    sim.until(2600.0)
    starts = [e.t for e in sim.events if e.kind == "action" and e.phase == "start" and e.detail.get("condition") == "anger"]
    assert starts and max(starts) < 2500.0, starts


@pytest.mark.parametrize("bad", [None, float("nan"), "high", True, [8]])
def test_odd_detector_values_are_no_information(bad):
    sim = Sim()
    sim.values["kss_level"] = bad
    sim.values["eyes_on_road"] = bad
    sim.step(("no_such_condition", "start"), ("drowsy", None, {"level": "x"}))
    sim.until(2.0)
    # only the instantaneous drowsy event (held 60 s, level unknown -> stage 0) is active
    assert sim.at(1.9).condition == "drowsy" and sim.actions(1.9) == {"visual_icon", "suggest_break"}


def test_numpy_bool_eyes_on_road_counts_as_forward_gaze():
    np = pytest.importorskip("numpy")
    sim = Sim()
    sim.values["eyes_on_road"] = np.False_
    sim.step(("long_distraction", "start"))
    sim.values["eyes_on_road"] = np.True_
    sim.step(("long_distraction", "end"))
    sim.until(2.0)
    assert sim.actions(1.0) == {"visual_icon", "chime"} and sim.actions(1.1) == set()


def test_a_delayed_first_stage_debounces_short_dropouts():
    sim = Sim()
    for start in (1.0, 5.0):  # eyes unavailable for 1 s twice: under the 1.5 s first stage
        sim.until(start)
        sim.step(("eyes_unavailable", "start"))
        sim.until(start + 1.0)
        sim.step(("eyes_unavailable", "end"))
    sim.until(10.0)
    sim.ack = True  # nothing shown: an ACK now takes nothing
    sim.step()
    sim.ack = False
    sim.step(("eyes_unavailable", "start"))
    sim.until(14.0)
    assert sim.action_log()[:2] == [(11.6, "chime", "start", "eyes_unavailable"),
                                    (11.6, "visual_icon", "start", "eyes_unavailable")]
    assert not any(e.name == "driver_ack" for e in sim.events)
    assert sim.engine.ladders["eyes_unavailable"].acked is False


UNRESPONSIVE_0 = {"visual_icon", "chime", "voice_prompt", "haptic_seat", "haptic_wheel", "hazard_lights",
                  "slow_down_request"}
UNRESPONSIVE_1 = UNRESPONSIVE_0 - {"chime"} | {"mrm_request"}


def test_an_intervention_goes_on_below_the_speed_gate_until_forward_gaze():
    """The slow-down it asks for brings the car below the 20 km/h gate: that is the
    intervention working, not a reason to end it [REF: intervention end: 1 s forward gaze]."""
    sim = Sim()
    sim.values["eyes_on_road"] = False
    sim.until(1.0)
    sim.step(("unresponsive", "start"))
    sim.speed_kph = 15.0  # below 20 - 2 km/h
    sim.until(11.0)
    sim.speed_kph = 0.0
    sim.until(14.0)
    sim.values["eyes_on_road"] = True
    sim.step(("unresponsive", "end"))
    sim.until(16.0)
    assert sim.actions(1.0) == UNRESPONSIVE_0
    assert sim.actions(10.9) == UNRESPONSIVE_0  # the gate closed at 1.1 s
    assert sim.actions(11.0) == UNRESPONSIVE_1 and sim.at(11.0).level == 3  # escalates at a standstill too
    assert sim.actions(14.9) == UNRESPONSIVE_1
    assert sim.actions(15.0) == set()  # 1 s of forward gaze from 14.0


def test_a_warning_below_the_speed_gate_is_still_withheld():
    sim = Sim()
    sim.values["eyes_on_road"] = False
    sim.until(1.0)
    sim.step(("sleep", "start"))  # stage 0 warns, the intervention is due at 4.0
    sim.until(2.0)
    sim.speed_kph = 15.0
    sim.until(6.0)
    assert sim.actions(1.9) == SLEEP_0 and sim.actions(2.0) == set() and sim.actions(5.9) == set()


def test_a_camera_fault_does_not_end_a_running_intervention():
    """A failed camera cannot show the 1 s of forward gaze that ends an intervention: its
    condition counts as active through the fault, so it goes on and escalates on schedule (a
    warning does not: the fault's notice replaces it), and ends as usual once judged again."""
    for gaze_measured in (True, False):
        sim = Sim()
        if gaze_measured:
            sim.values["eyes_on_road"] = False
        sim.until(1.0)
        sim.step(("unresponsive", "start"), ("long_distraction", "start"))
        sim.until(3.0)
        values = dict(sim.values)
        sim.values.clear()  # no picture: the detectors' values are gone (Pipeline.emit)
        sim.step(("camera_fault", "start"), ("unresponsive", "end"), ("long_distraction", "end"))
        sim.until(12.0)
        sim.values.update(values)
        sim.step(("camera_fault", "end"))
        sim.until(14.0)
        if gaze_measured:
            sim.values["eyes_on_road"] = True
        sim.until(16.0)
        at_fault = sim.at(3.0)
        assert at_fault.actions == UNRESPONSIVE_0 and at_fault.condition == "unresponsive"
        assert sim.actions(10.9) == UNRESPONSIVE_0
        assert sim.actions(11.0) == UNRESPONSIVE_1  # the minimum-risk request on its schedule, camera or not
        if gaze_measured:  # cleared by 1 s of forward gaze once the camera sees again
            assert sim.actions(14.9) == UNRESPONSIVE_1 and sim.actions(15.0) == set()
        else:  # nobody measures gaze: cleared on time (1 s) once the fault is over
            assert sim.actions(12.9) == UNRESPONSIVE_1
            assert sim.at(13.0).condition == "camera_fault" and sim.actions(13.0) == {"visual_icon"}  # its clearing
        assert "long_distraction" not in {condition for *_, condition in sim.action_log()}  # the warning never showed
    sim = Sim()
    sim.until(1.0)
    sim.step(("camera_fault", "start"))
    sim.until(2000.0)  # a camera that never comes back, with nothing running: its notice, not an intervention
    assert sim.at(1999.9).condition == "camera_fault" and sim.at(1999.9).level == 1


def test_a_degraded_monitoring_notice_comes_before_an_advisory():
    """A KSS-7 advice (drowsy, priority 55) shown for minutes hid eyes_unavailable (45) and
    driver_absent (50): the driver must hear of monitoring being unavailable within 10 s."""
    for name in ("eyes_unavailable", "driver_absent"):
        sim = Sim()
        sim.values["kss_level"] = 7.0
        sim.until(5.0)
        sim.step((name, "start"))
        sim.until(20.0)
        assert sim.at(4.9).condition == "drowsy" and sim.actions(4.9) == {"visual_icon", "suggest_break"}
        first = 6.5 if name == "eyes_unavailable" else 5.0  # the first stage's delay (1.5 s / 0)
        assert sim.at(first).condition == name and "chime" in sim.actions(first)
        # An ACK answers the notice shown; acknowledged, it no longer hides the advice.
        sim.ack = True
        sim.step()
        sim.ack = False
        sim.until(25.0)
        acks = [e.detail["condition"] for e in sim.events if e.name == "driver_ack"]
        if name == "eyes_unavailable":
            assert acks == [name] and sim.at(20.0).condition == "drowsy"
        else:  # driver_absent takes no ACK (ack_allowed false)
            assert acks == [] and sim.at(24.9).condition == name
    sim = Sim()
    sim.values["kss_level"] = 8.0  # a warning (chime, voice): the notice comes first while as loud
    sim.until(5.0)
    sim.step(("eyes_unavailable", "start"))
    sim.until(12.0)
    assert sim.at(6.4).condition == "drowsy"
    assert sim.at(6.5).condition == "eyes_unavailable" and "chime" in sim.actions(6.5)
    assert sim.at(10.9).condition == "eyes_unavailable"
    assert sim.at(11.0).condition == "drowsy"  # the notice is an icon from 6 s: the warning is back
    assert "voice_prompt" in sim.actions(11.0)


def test_a_drowsiness_warning_does_not_hide_driver_absent_past_10_s():
    """A KSS-8 drowsiness warning (priority 55; chime and voice for 60 s, tests/report_drive.py
    at 112 s) held the HMI over driver_absent (50) for its whole stage: the driver never heard
    that the system could not see them [REF: degraded monitoring]. The notice comes first
    while its own stage is as loud (0 s chime, 4 s voice and seat), then the warning is back."""
    sim = Sim()
    sim.values["kss_level"] = 8.0
    sim.until(20.0)
    sim.step(("driver_absent", "start"))
    sim.until(40.0)
    assert sim.at(19.9).condition == "drowsy"
    assert sim.at(20.0).condition == "driver_absent"
    assert sim.actions(20.0) == {"visual_icon", "chime", "adas_sensitivity"}  # drowsy's ADAS stays
    assert sim.actions(24.0) == {"visual_icon", "voice_prompt", "haptic_seat", "adas_sensitivity"}
    assert sim.at(29.9).condition == "driver_absent"
    assert sim.at(30.0).condition == "drowsy" and "voice_prompt" in sim.actions(30.0)


def test_a_stale_gaze_warning_does_not_hide_driver_absent():
    """A phone-use warning whose event ended as the face left the picture waits, frozen, for
    1 s of forward gaze that an absent driver never gives: its chime went on for minutes and
    driver_absent was never told. A gaze warning the detector still holds stays first."""
    sim = Sim()
    sim.values["eyes_on_road"] = True
    sim.until(10.0)
    sim.step(("phone_use", "start"))
    sim.values["eyes_on_road"] = False
    sim.until(13.0)
    sim.values["eyes_on_road"] = None  # no face: not forward gaze
    sim.step(("phone_use", "end"))
    sim.until(15.0)
    sim.step(("driver_absent", "start"))
    sim.until(60.0)
    assert sim.at(14.9).condition == "phone_use" and sim.actions(14.9) == {"visual_icon", "chime"}
    assert sim.at(15.0).condition == "driver_absent" and sim.actions(15.0) == {"visual_icon", "chime"}
    assert sim.actions(19.0) == {"visual_icon", "voice_prompt", "haptic_seat"}
    assert sim.at(59.9).condition == "driver_absent" and sim.actions(59.9) == {"visual_icon"}
    # Held by its detector, the gaze warning comes first (the eyes are what it asks for).
    held = Sim()
    held.values["eyes_on_road"] = False
    held.until(10.0)
    held.step(("long_distraction", "start"))
    held.until(11.0)
    held.step(("eyes_unavailable", "start"))
    held.until(20.0)
    assert held.at(19.9).condition == "long_distraction"


def test_an_intervention_stays_first_over_a_degraded_notice():
    """Hazards and slow-down are never replaced by a notice (the intervention ends only on the
    driver's return or ignition off [REF: intervention end])."""
    sim = Sim()
    sim.values["eyes_on_road"] = False
    sim.until(5.0)
    sim.step(("sleep", "start"))
    sim.until(9.0)
    sim.values["eyes_on_road"] = None
    sim.step(("sleep", "end"), ("driver_absent", "start"))
    sim.until(30.0)
    assert sim.at(8.9).level == 3
    for t in (9.0, 15.0, 29.9):
        assert sim.at(t).condition == "sleep" and sim.at(t).level == 3


def test_a_microsleep_known_only_at_the_opening_warns_as_one_seen_in_time():
    """A 1.0 s closure seen at 15 or 30 fps is reported at the opening as a start and an end
    in one frame (detail late): it never entered DriverState.active, and no warning came. It
    now warns from that frame and clears as one whose start was seen a frame earlier."""
    late, in_time = Sim(), Sim()
    for sim in (late, in_time):
        sim.values["eyes_on_road"] = False
    late.until(3.1)
    late.step(("microsleep", "start", {"onset_t": 2.1, "late": True}), ("microsleep", "end", {"duration_s": 1.0}))
    in_time.until(3.0)
    in_time.step(("microsleep", "start", {"onset_t": 2.0}))
    in_time.step(("microsleep", "end", {"duration_s": 1.1}))
    for sim in (late, in_time):
        sim.values["eyes_on_road"] = True
        sim.until(6.0)
    assert late.actions(3.1) == in_time.actions(3.1) == {"visual_icon", "chime", "haptic_seat"}
    assert late.actions(4.1) == in_time.actions(4.1) == {"visual_icon", "chime", "haptic_seat"}
    assert late.actions(4.2) == in_time.actions(4.2) == set()  # 1 s of forward gaze from 3.2


def test_a_nan_speed_is_unknown_speed_and_counts_as_moving():
    """A NaN speed compared as a number read as below every gate: monitoring never became
    active (60 s of NaN) and a sleep at 70 s gave nothing. Unknown speed counts as moving
    (DESIGN.md "Fail safe"), NaN included, as None does."""
    for speed in (None, float("nan")):
        sim = Sim(policy_config(monitoring={"activation_s": 60.0}), speed_kph=speed)
        sim.until(70.0)
        sim.step(("sleep", "start"))
        assert not sim.at(59.9).monitoring_active and sim.at(60.0).monitoring_active
        assert sim.actions(70.0) == {"visual_icon", "chime", "voice_prompt", "haptic_seat"}
    # A NaN after a standstill is no standstill: it does not start a journey 600 s later.
    sim = Sim(speed_kph=0.0)
    sim.until(300.0)
    sim.speed_kph = float("nan")
    sim.until(700.0)
    assert [e.detail["reason"] for e in sim.events if e.name == "journey_start"] == ["start"]


DROWSY_1 = {"visual_icon", "chime", "voice_prompt", "suggest_break", "adas_sensitivity"}


def test_an_ack_pressed_as_a_warning_appears_does_not_acknowledge_it():
    """The press came in the frame the drowsiness warning first showed: the driver pressed
    it before any chime sounded (within the frame period before, or a CAN tap handed at the
    next frame), yet it acknowledged the warning for the whole journey. An ACK answers what
    the driver has been shown; the same press held on acknowledges nothing later either."""
    sim = Sim()
    sim.until(2.0)
    sim.values["kss_level"] = 8.0
    sim.ack = True
    s = sim.step()  # t = 2.0: the warning's first frame, the press's first frame
    assert s.actions == DROWSY_1 and not s.suppressed_by_ack
    sim.until(4.0)  # held for 2 s
    assert sim.actions(3.9) == DROWSY_1
    sim.ack = False
    sim.until(5.0)
    sim.ack = True  # a press while it is shown: acknowledged at once
    s = sim.step()
    assert s.actions == {"visual_icon", "adas_sensitivity"} and s.suppressed_by_ack
    assert [(e.t, dict(e.detail)) for e in sim.events if e.name == "driver_ack"] == [(5.0, {"condition": "drowsy"})]


def test_an_ack_as_a_higher_warning_takes_over_acknowledges_nothing_unseen():
    """A drowsiness advice (ackable) is shown; in the frame a camera-fault notice (ackable,
    higher) first shows, the press answers the advice the driver saw, not the new notice:
    neither is acknowledged for the journey."""
    sim = Sim()
    sim.values["kss_level"] = 7.0
    sim.until(2.0)
    assert sim.actions(1.9) == {"visual_icon", "suggest_break"}
    sim.ack = True
    s = sim.step(("camera_fault", "start"))
    assert s.condition == "camera_fault" and not s.suppressed_by_ack and "chime" in s.actions
    assert not any(e.name == "driver_ack" for e in sim.events)
