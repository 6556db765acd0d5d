"""Vehicle signals in: DBC mapping, timeouts, range checks, E2E checks, CAN logs in recordings."""

from __future__ import annotations

import logging
from dataclasses import replace

import can
import pytest
from policy_sim import policy_config

from driver_monitor.can.dbc import VEHICLE_EXAMPLE_DBC_PATH, load_dbc
from driver_monitor.can.e2e import crc_ok
from driver_monitor.can.logs import (
    CanLogVehicleSource,
    VehicleCanEncoder,
    open_log_source,
    write_vehicle_can_log,
)
from driver_monitor.can.rx import VehicleSignalDecoder
from driver_monitor.config.vehicle import SignalMap, VehicleConfig, VehicleSignals
from driver_monitor.errors import ConfigError, InputError
from driver_monitor.messages import DriverState, VehicleState
from driver_monitor.policy.engine import PolicyEngine

DRIVING = VehicleState(t=0.0, speed_kph=87.5, indicator_left=False, indicator_right=True, gear="D",
                       driver_ack=False, ignition_on=True, external_heart_rate_bpm=64.0)


def _frames(encoder: VehicleCanEncoder, name: str, state: VehicleState, times: list[float]) -> list[can.Message]:
    return [encoder.encode(name, state, t) for t in times]


def test_every_mapped_field_round_trips_through_the_example_dbc() -> None:
    enc = VehicleCanEncoder()
    dec = VehicleSignalDecoder(VehicleConfig())
    for name in enc.messages:
        dec.feed(enc.encode(name, DRIVING, 0.0), 0.0)
    assert dec.state_at(0.0) == VehicleState(
        t=0.0, speed_kph=87.5, indicator_left=False, indicator_right=True, gear="D",
        driver_ack=False, ignition_on=True, external_heart_rate_bpm=64.0,
    )
    assert dec.counts["accepted"] == 4 and dec.errors == 0


def test_speed_times_out_after_three_cycles_and_is_then_unknown() -> None:
    enc = VehicleCanEncoder()
    dec = VehicleSignalDecoder(VehicleConfig())
    for t in (0.00, 0.02, 0.04):  # VEH_Speed cycle 20 ms -> timeout 60 ms after the last frame
        dec.feed(enc.encode("VEH_Speed", DRIVING, t), t)
    assert dec.state_at(0.10).speed_kph == 87.5
    assert dec.state_at(0.1001).speed_kph is None
    assert dec.state_at(0.1001).speed_at_least(200.0)  # unknown = moving


def test_bad_crc_wrong_length_and_counter_faults_are_dropped_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    enc = VehicleCanEncoder()
    dec = VehicleSignalDecoder(VehicleConfig())
    good = enc.encode("VEH_Speed", DRIVING, 0.0)
    dec.feed(good, 0.0)
    # bad CRC: flip a speed bit, keep the CRC byte
    bad = bytearray(enc.encode("VEH_Speed", DRIVING, 0.02).data)
    bad[2] ^= 0x01
    assert not crc_ok(bytes(bad), 16)
    with caplog.at_level(logging.WARNING):
        dec.feed(can.Message(arbitration_id=0x100, is_extended_id=False, data=bad), 0.02)
        dec.feed(can.Message(arbitration_id=0x100, is_extended_id=False, data=good.data[:5]), 0.03)
        dec.feed(good, 0.04)  # counter 0 again right after 0: repeated
    assert dec.counts["bad_crc"] == 1
    assert dec.counts["wrong_length"] == 1
    assert dec.counts["repeated_counter"] == 1
    assert dec.counts["accepted"] == 1
    assert "bad crc" in caplog.text and "VEH_Speed" in caplog.text
    # frame with counter 1 (the bad-CRC one carried it) was lost: counter 2 is a skip
    enc.encode("VEH_Speed", DRIVING, 0.05)
    dec.feed(enc.encode("VEH_Speed", DRIVING, 0.06), 0.06)
    assert dec.counts["skipped_counter"] == 1
    # ... and the next frame resynchronises
    dec.feed(enc.encode("VEH_Speed", DRIVING, 0.08), 0.08)
    assert dec.counts["accepted"] == 2
    assert dec.state_at(0.08).speed_kph == 87.5


def test_out_of_range_value_is_dropped_and_the_last_good_value_kept_until_timeout() -> None:
    db = load_dbc(VEHICLE_EXAMPLE_DBC_PATH)
    msg = db.get_message_by_name("VEH_Speed")
    enc = VehicleCanEncoder()
    dec = VehicleSignalDecoder(VehicleConfig())
    dec.feed(enc.encode("VEH_Speed", DRIVING, 0.0), 0.0)
    # 0xFFFF raw (the DBC's "invalid") = 655.35 km/h, outside [0|320]: encode it by hand
    # through cantools without the range check, with a valid counter and CRC.
    from driver_monitor.can.e2e import protect

    raw = msg.encode({"VEH_Speed_CRC": 0, "VEH_Speed_Counter": 1, "VehicleSpeed": 0xFFFF}, scaling=False, strict=False)
    dec.feed(can.Message(arbitration_id=0x100, is_extended_id=False, data=protect(raw, 16)), 0.02)
    assert dec.counts["out_of_range"] == 1
    assert dec.state_at(0.05).speed_kph == 87.5
    assert dec.state_at(0.061).speed_kph is None  # 60 ms after the last good value


def test_config_range_is_stricter_than_the_dbc() -> None:
    signals = VehicleSignals(speed_kph=SignalMap(message="VEH_Speed", signal="VehicleSpeed", min_value=0.0, max_value=250.0))
    enc = VehicleCanEncoder()
    dec = VehicleSignalDecoder(VehicleConfig(signals=signals))
    dec.feed(enc.encode("VEH_Speed", VehicleState(t=0, speed_kph=260.0), 0.0), 0.0)
    assert dec.counts["out_of_range"] == 1 and dec.state_at(0.0).speed_kph is None


def test_unmapped_and_unknown_frames_are_ignored() -> None:
    dec = VehicleSignalDecoder(VehicleConfig())
    dec.feed(can.Message(arbitration_id=0x7FF, is_extended_id=False, data=b"\x00" * 8), 0.0)
    assert dec.counts["ignored"] == 1 and dec.errors == 0


def test_mapping_to_a_missing_signal_names_the_key() -> None:
    signals = VehicleSignals(gear=SignalMap(message="VEH_Body", signal="Gear"))
    with pytest.raises(ConfigError) as info:
        VehicleSignalDecoder(VehicleConfig(signals=signals))
    assert info.value.problems == [
        f"vehicle.signals.gear.signal: no signal 'Gear' in message VEH_Body of {VEHICLE_EXAMPLE_DBC_PATH}"
    ]


def test_missing_dbc_is_one_line_input_error(tmp_path) -> None:
    with pytest.raises(InputError, match=r"nope\.dbc: no such DBC file"):
        VehicleSignalDecoder(VehicleConfig(dbc_path=tmp_path / "nope.dbc"))


@pytest.mark.parametrize("suffix", ["blf", "asc", "log"])
def test_can_log_in_a_recording_follows_video_time(tmp_path, suffix: str) -> None:
    states = [
        VehicleState(t=0.0, speed_kph=80.0, gear="D", ignition_on=True, indicator_left=False, indicator_right=False),
        VehicleState(t=1.5, speed_kph=12.0, gear="D", ignition_on=True, indicator_left=True, indicator_right=False,
                     driver_ack=True),
        VehicleState(t=2.5, speed_kph=None, gear="D", ignition_on=True, indicator_left=True, indicator_right=False),
        VehicleState(t=3.0, speed_kph=None, gear="D", ignition_on=True, indicator_left=True, indicator_right=False),
    ]
    path = tmp_path / f"can.{suffix}"
    start = write_vehicle_can_log(states, path)
    source = open_log_source(path, VehicleConfig(), {"can_start_time_s": start})
    assert source.state_at(1.49).speed_kph == 80.0
    s = source.state_at(1.5)
    assert (s.speed_kph, s.indicator_left, s.driver_ack) == (12.0, True, True)
    assert source.state_at(2.539).speed_kph == 12.0  # last frame at 2.48 s, 60 ms timeout
    assert source.state_at(2.541).speed_kph is None
    assert source.errors == 0
    source.close()


def test_can_log_without_start_time_assumes_it_starts_with_the_video(tmp_path) -> None:
    states = [VehicleState(t=0.0, speed_kph=30.0), VehicleState(t=1.0, speed_kph=60.0)]
    path = tmp_path / "can.blf"
    write_vehicle_can_log(states, path, VehicleConfig(signals=VehicleSignals(
        indicator_left=None, indicator_right=None, gear=None, driver_ack=None, ignition_on=None,
        external_heart_rate_bpm=None)))
    source = CanLogVehicleSource(path, VehicleConfig())
    assert source.state_at(0.5).speed_kph == 30.0
    assert source.state_at(1.0).speed_kph == 60.0


def test_a_blf_log_cut_short_says_so(tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    """python-can's BLF reader stops at a cut without raising: the drive's last vehicle
    signals were lost without a word."""
    states = [VehicleState(t=float(t), speed_kph=50.0 + t, gear="D", ignition_on=True, indicator_left=False,
                           indicator_right=False) for t in range(60)]
    path = tmp_path / "can.blf"
    start = write_vehicle_can_log(states, path)
    whole = open_log_source(path, VehicleConfig(), {"can_start_time_s": start})
    assert whole.cut_short is None and "cut short" not in whole.summary_line()
    whole.close()
    size = path.stat().st_size
    path.write_bytes(path.read_bytes()[: size // 2])
    with caplog.at_level(logging.WARNING, logger="driver_monitor.can.logs"):
        cut = open_log_source(path, VehicleConfig(), {"can_start_time_s": start})
    assert cut.state_at(59.0).speed_kph is None  # the frames after the cut are lost
    assert cut.cut_short == (f"cut short: its header says {size} bytes, the file has {size // 2} "
                             "(the frames after the cut are lost)")
    assert cut.summary_line().endswith(cut.cut_short)
    assert f"{path}: {cut.cut_short}" in caplog.messages


def test_a_log_that_ends_before_the_video_starts_says_so(tmp_path) -> None:
    """A log of relative times under an absolute can_start_time_s: every frame before the
    video, all fed at the first frame and timed out for the rest of the drive."""
    states = [VehicleState(t=float(t), speed_kph=80.0) for t in range(5)]
    path = tmp_path / "can.log"
    config = VehicleConfig(signals=VehicleSignals(indicator_left=None, indicator_right=None, gear=None,
                                                  driver_ack=None, ignition_on=None, external_heart_rate_bpm=None))
    write_vehicle_can_log(states, path, config, start_time_s=0.0)
    source = open_log_source(path, config, {"can_start_time_s": 1_700_000_000.0})
    assert source.state_at(0.0).speed_kph is None and source.state_at(2.0).speed_kph is None
    assert source.summary_line().endswith(
        "NONE within the video's times (its last frame at -1699999996.000 s of the recording, before the video "
        "starts): check can_start_time_s in meta.yaml")
    within = open_log_source(path, config, {"can_start_time_s": 0.0})
    assert within.state_at(2.0).speed_kph == 80.0
    assert "NONE" not in within.summary_line()


def test_unreadable_can_log_is_one_line_input_error(tmp_path) -> None:
    path = tmp_path / "can.blf"
    path.write_bytes(b"not a blf file at all")
    with pytest.raises(InputError, match=r"can\.blf: cannot read the CAN log"):
        CanLogVehicleSource(path, VehicleConfig())


COUNTER_ONLY_DBC = '''VERSION ""
NS_ :
BS_:
BU_: CAR DMS
BO_ 1280 CarSpeed: 4 CAR
 SG_ Speed : 0|16@1+ (0.1,0) [0|300] "km/h" DMS
 SG_ CarSpeed_Counter : 28|4@1+ (1,0) [0|15] "" DMS
BA_DEF_ BO_ "GenMsgCycleTime" INT 0 65535;
BA_DEF_DEF_ "GenMsgCycleTime" 0;
BA_ "GenMsgCycleTime" BO_ 1280 100;
'''


def _speed_only(tmp_path, dbc_text: str, message: str, signal: str) -> VehicleConfig:
    """A vehicle config reading only the speed, from a DBC written into tmp_path."""
    path = tmp_path / "car.dbc"
    path.write_text(dbc_text)
    return VehicleConfig(dbc_path=path, signals=VehicleSignals(
        speed_kph=SignalMap(message=message, signal=signal), indicator_left=None, indicator_right=None,
        gear=None, driver_ack=None, ignition_on=None, external_heart_rate_bpm=None))


def test_a_counter_without_crc_anywhere_in_the_frame_is_checked(tmp_path) -> None:
    config = _speed_only(tmp_path, COUNTER_ONLY_DBC, "CarSpeed", "Speed")
    enc = VehicleCanEncoder(config)
    dec = VehicleSignalDecoder(config)
    state = VehicleState(t=0, speed_kph=55.5)
    frames = [enc.encode("CarSpeed", state, 0.1 * i) for i in range(4)]
    assert [f.data[3] >> 4 for f in frames] == [0, 1, 2, 3]  # counter in bits 28-31
    dec.feed(frames[0], 0.0)
    dec.feed(frames[0], 0.1)  # repeated
    dec.feed(frames[1], 0.2)
    dec.feed(frames[3], 0.3)  # frame 2 lost
    assert (dec.counts["accepted"], dec.counts["repeated_counter"], dec.counts["skipped_counter"]) == (2, 1, 1)
    assert dec.state_at(0.2).speed_kph == 55.5
    assert dec.state_at(0.5).speed_kph == 55.5  # 3 x 100 ms after the last accepted frame (0.2 s)
    assert dec.state_at(0.51).speed_kph is None


FLOAT_SPEED_DBC = """VERSION ""

NS_ :

BS_:

BU_: VEHICLE DMS

BO_ 256 VEH_Speed: 8 VEHICLE
 SG_ VehicleSpeed : 0|32@1- (1,0) [0|320] "km/h" DMS

BA_DEF_ BO_ "GenMsgCycleTime" INT 0 65535;
BA_DEF_DEF_ "GenMsgCycleTime" 0;
BA_ "GenMsgCycleTime" BO_ 256 20;
SIG_VALTYPE_ 256 VehicleSpeed : 1;
"""


@pytest.mark.parametrize("raw, value", [(b"\xff\xff\xff\xff", "nan"), (b"\x00\x00\x80\x7f", "inf")])
def test_a_float_signal_that_is_no_number_is_dropped_as_unknown(tmp_path, raw, value) -> None:
    """Many ECUs send an IEEE-float speed as all ones (NaN) for "not available". NaN passed the
    range check (every comparison with it is false), reached the detectors as the speed and
    stopped the daemon (daydreaming's speed band: int(NaN)); it also read as "not moving"."""
    import math

    from driver_monitor.config import load_config
    from driver_monitor.config.overrides import with_overrides
    from driver_monitor.detectors.base import DetectorInput
    from driver_monitor.detectors.calibration import Calibration
    from driver_monitor.detectors.emotion.daydreaming import DaydreamingDetector
    from driver_monitor.messages import Features

    dec = VehicleSignalDecoder(_speed_only(tmp_path, FLOAT_SPEED_DBC, "VEH_Speed", "VehicleSpeed"))
    dec.feed(can.Message(arbitration_id=256, data=raw + b"\0\0\0\0", is_extended_id=False), 0.0)
    assert dec.counts["not_finite"] == 1  # the frame is counted accepted, its value dropped (as out_of_range)
    assert dec.state_at(0.0).speed_kph is None  # unknown, which counts as moving (DESIGN.md)
    # And a detector handed one anyway does not raise.
    detector = DaydreamingDetector(with_overrides(load_config(), {}).daydreaming)
    inp = DetectorInput(Features(1.0, True), VehicleState(1.0, speed_kph=float(value)), Calibration(), None,
                        {"calibrating": False, "gaze_yaw_deg_abs": 0.0, "gaze_pitch_deg_abs": 0.0, "gaze_zone": "road"})
    assert detector.update(inp) == [] and math.isnan(detector.prc)


MOTOROLA_E2E_DBC = """VERSION ""

NS_ :

BS_:

BU_: VEHICLE DMS

BO_ 256 VEH_Speed: 8 VEHICLE
 SG_ VEH_Speed_CRC : 7|8@0+ (1,0) [0|255] "" DMS
 SG_ VEH_Speed_Counter : 11|4@0+ (1,0) [0|15] "" DMS
 SG_ VehicleSpeed : 23|16@0+ (0.01,0) [0|320] "km/h" DMS

BA_DEF_ BO_ "GenMsgCycleTime" INT 0 65535;
BA_DEF_ BO_ "E2E_DataID" INT 0 255;
BA_DEF_DEF_ "GenMsgCycleTime" 0;
BA_DEF_DEF_ "E2E_DataID" 0;
BA_ "GenMsgCycleTime" BO_ 256 20;
BA_ "E2E_DataID" BO_ 256 16;
"""


def test_a_motorola_dbc_with_the_profile_2_layout_is_crc_checked(tmp_path) -> None:
    """CRC byte 0 and counter byte 1 bits 0-3 written big-endian (7|8@0+, 11|4@0+) are the same
    bytes as the Intel layout: its frames were accepted unchecked (a corrupted speed got in)."""
    config = _speed_only(tmp_path, MOTOROLA_E2E_DBC, "VEH_Speed", "VehicleSpeed")
    enc = VehicleCanEncoder(config)
    dec = VehicleSignalDecoder(config)
    frames = [enc.encode("VEH_Speed", VehicleState(t=0, speed_kph=80.0), 0.02 * i) for i in range(3)]
    assert all(crc_ok(bytes(f.data), 16) for f in frames)
    assert [f.data[1] & 0x0F for f in frames] == [0, 1, 2]
    dec.feed(frames[0], 0.0)
    dec.feed(frames[1], 0.02)
    corrupted = bytearray(frames[2].data)
    corrupted[2] ^= 0x10  # speed bits changed, CRC byte kept
    dec.feed(can.Message(arbitration_id=256, is_extended_id=False, data=bytes(corrupted)), 0.04)
    assert (dec.counts["accepted"], dec.counts["bad_crc"]) == (2, 1)
    assert dec.state_at(0.04).speed_kph == 80.0


def test_a_message_with_an_e2e_data_id_but_another_layout_is_a_config_error(tmp_path) -> None:
    misplaced = MOTOROLA_E2E_DBC.replace("VEH_Speed_CRC : 7|8@0+", "VEH_Speed_CRC : 63|8@0+")
    config = _speed_only(tmp_path, misplaced, "VEH_Speed", "VehicleSpeed")
    with pytest.raises(ConfigError) as err:
        VehicleSignalDecoder(config)
    assert err.value.problems == [
        f"vehicle.signals.speed_kph.message: VEH_Speed has E2E_DataID but not the E2E Profile 2 layout (a *_CRC "
        f"signal on byte 0, a 4-bit *_Counter signal on bits 0-3 of byte 1): its frames cannot be checked in "
        f"{tmp_path / 'car.dbc'} (or set vehicle.check_e2e: false)"]
    VehicleSignalDecoder(config.model_copy(update={"check_e2e": False}))  # the user's way out


def test_a_stale_frame_replayed_twice_stays_dropped() -> None:
    """After a counter jump the next frame was accepted whatever its counter: a stale frame
    sent twice set the speed back to its old value."""
    enc = VehicleCanEncoder()
    dec = VehicleSignalDecoder(VehicleConfig())
    old = enc.encode("VEH_Speed", VehicleState(t=0, speed_kph=120.0), 0.0)
    dec.feed(old, 0.0)  # counter 0, 120 km/h
    slow = VehicleState(t=0, speed_kph=30.0)
    for i in range(1, 5):  # counters 1..4, 30 km/h
        dec.feed(enc.encode("VEH_Speed", slow, 0.02 * i), 0.02 * i)
    dec.feed(old, 0.10)  # counter 0 again: a jump of 12
    dec.feed(old, 0.12)  # its copy: repeated
    assert dec.state_at(0.12).speed_kph == 30.0
    assert (dec.counts["skipped_counter"], dec.counts["repeated_counter"]) == (1, 1)
    dec.feed(enc.encode("VEH_Speed", slow, 0.14), 0.14)  # counter 5: no sequence after 0
    dec.feed(enc.encode("VEH_Speed", slow, 0.16), 0.16)  # counter 6 follows 5: in sequence again
    assert dec.counts["skipped_counter"] == 2 and dec.counts["accepted"] == 6
    assert dec.state_at(0.16).speed_kph == 30.0


MUX_BODY_DBC = """VERSION ""

NS_ :

BS_:

BU_: VEHICLE DMS

BO_ 512 VEH_Body: 8 VEHICLE
 SG_ BodyPage M : 0|8@1+ (1,0) [0|255] "" DMS
 SG_ IndicatorLeft m0 : 8|1@1+ (1,0) [0|1] "" DMS
 SG_ IgnitionState m0 : 16|2@1+ (1,0) [0|3] "" DMS
 SG_ AmbientTemp m1 : 8|8@1+ (1,-40) [-40|215] "degC" DMS
 SG_ WheelSpeedAvg m2 : 8|16@1+ (0.01,0) [0|320] "km/h" DMS

BA_DEF_ BO_ "GenMsgCycleTime" INT 0 65535;
BA_DEF_DEF_ "GenMsgCycleTime" 0;
BA_ "GenMsgCycleTime" BO_ 512 50;
VAL_ 512 IgnitionState 0 "Off" 1 "Accessory" 2 "On" 3 "Start" ;
"""


def test_signals_on_another_multiplex_page_leave_their_fields_as_they_were(tmp_path) -> None:
    """A frame of page 1 carries no ignition: read as absent, it switched the ignition (and so
    monitoring) off; a number on another page raised in the decoder (a replay died of it)."""
    path = tmp_path / "car.dbc"
    path.write_text(MUX_BODY_DBC)
    config = VehicleConfig(dbc_path=path, signals=VehicleSignals(
        speed_kph=SignalMap(message="VEH_Body", signal="WheelSpeedAvg"),
        indicator_left=SignalMap(message="VEH_Body", signal="IndicatorLeft"), indicator_right=None, gear=None,
        driver_ack=None, ignition_on=SignalMap(message="VEH_Body", signal="IgnitionState", true_values=["On", "Start"]),
        external_heart_rate_bpm=None))
    dec = VehicleSignalDecoder(config)
    body = dec.db.get_message_by_name("VEH_Body")
    pages = [body.encode({"BodyPage": 2, "WheelSpeedAvg": 88.0}),
             body.encode({"BodyPage": 0, "IndicatorLeft": 1, "IgnitionState": "On"}),
             body.encode({"BodyPage": 1, "AmbientTemp": 20})]
    for k, data in enumerate(pages):
        dec.feed(can.Message(arbitration_id=512, is_extended_id=False, data=data), 0.01 * k)
    state = dec.state_at(0.02)
    assert (state.speed_kph, state.ignition_on, state.indicator_left) == (88.0, True, True)
    assert dec.counts["accepted"] == 3 and dec.errors == 0


def test_the_simulated_car_sends_the_end_of_the_range_for_a_speed_beyond_it() -> None:
    """330 km/h on a 0..320 signal: the bench peer died with cantools' EncodeError."""
    enc = VehicleCanEncoder()
    dec = VehicleSignalDecoder(VehicleConfig())
    dec.feed(enc.encode("VEH_Speed", VehicleState(t=0, speed_kph=330.0), 0.0), 0.0)
    assert dec.state_at(0.0).speed_kph == 320.0


# -- the ACK button between frames and through a silent bus ---------------------------------


def _ack_drive(hmi_frames: list[tuple[float, bool]], frame_times: list[float], kss_from_s: float) -> list[tuple[float, str]]:
    """VEH_Hmi frames (receive time, button) through the decoder, asked at each camera frame,
    into the policy engine with a drowsiness warning (KSS 8, ackable) from kss_from_s: the
    accepted ACKs (time, condition)."""
    enc = VehicleCanEncoder()
    dec = VehicleSignalDecoder(VehicleConfig())
    engine = PolicyEngine(policy_config())
    frames = iter(sorted(hmi_frames))
    pending = next(frames, None)
    acks = []
    for t in frame_times:
        while pending is not None and pending[0] <= t:
            dec.feed(enc.encode("VEH_Hmi", VehicleState(t=pending[0], driver_ack=pending[1]), pending[0]), pending[0])
            pending = next(frames, None)
        vehicle = replace(dec.state_at(t), speed_kph=80.0)
        values = {"kss_level": 8.0} if t >= kss_from_s - 1e-9 else {}
        decision = engine.update(DriverState(t, True, frozenset(), values), [], vehicle)
        acks += [(round(e.t, 6), e.detail["condition"]) for e in decision.events if e.name == "driver_ack"]
    return acks


def test_an_ack_press_between_two_camera_frames_is_not_lost() -> None:
    """VEH_Hmi comes every 50 ms; a press seen in one of them (a quick tap) fell between two
    frames of a 10 fps camera (or the 0.1 s results of a camera fault): state_at gave the
    newest value only, False, and the driver's ACK never reached the policy."""
    hmi = [(round(0.05 * k, 6), round(0.05 * k, 6) == 2.25) for k in range(60)]  # pressed in the 2.25 s frame only
    frames = [round(0.1 * k, 6) for k in range(30)]
    assert _ack_drive(hmi, frames, kss_from_s=1.0) == [(2.3, "drowsy")]
    dec = VehicleSignalDecoder(VehicleConfig())
    enc = VehicleCanEncoder()
    for t, pressed in hmi[:50]:
        dec.feed(enc.encode("VEH_Hmi", VehicleState(t=t, driver_ack=pressed), t), t)
    assert [dec.state_at(t).driver_ack for t in (2.2, 2.3, 2.4)] == [False, True, False]  # once, at the next ask


def test_an_ack_held_through_a_silent_bus_is_not_a_new_press() -> None:
    """The button held from 0.5 s (nothing shown: no ACK); VEH_Hmi silent from 3.0 s to
    3.5 s, so the button read as released (timeout 150 ms), and when the frames came back
    with it still held the policy saw a fresh press and acknowledged the drowsiness warning
    that started at 1.0 s, which the driver never answered."""
    hmi = [(round(0.05 * k, 6), k >= 10) for k in range(100) if not 60 <= k < 70]
    frames = [round(k / 30, 6) for k in range(150)]
    assert _ack_drive(hmi, frames, kss_from_s=1.0) == []
    # released after the silence and pressed again: a press
    hmi_again = hmi + [(round(0.05 * k, 6), k >= 105) for k in range(100, 120)]
    frames = [round(k / 30, 6) for k in range(180)]
    assert _ack_drive(hmi_again, frames, kss_from_s=1.0) == [(5.266667, "drowsy")]


def test_true_values_that_the_dbc_signal_does_not_have_name_the_key(tmp_path) -> None:
    """A name that is not one of the signal's values never matched: the field read False on
    every frame. For the ignition that is "off" for good: monitoring never became active."""
    dbc = tmp_path / "car.dbc"
    text = VEHICLE_EXAMPLE_DBC_PATH.read_text(encoding="utf-8")
    dbc.write_text(text.replace('2 "On" 3 "Start"', '2 "IGN_ON" 3 "IGN_START"'), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        VehicleSignalDecoder(VehicleConfig(dbc_path=dbc))
    assert info.value.problems == [
        f"vehicle.signals.ignition_on.true_values: 'On', 'Start' not a value of signal IgnitionState in {dbc} "
        "(its value names: Off, Accessory, IGN_ON, IGN_START)"
    ]
    signals = VehicleSignals(indicator_left=SignalMap(message="VEH_Body", signal="IndicatorLeft", true_values=["On"]))
    with pytest.raises(ConfigError) as info:
        VehicleSignalDecoder(VehicleConfig(signals=signals))
    assert info.value.problems == [
        f"vehicle.signals.indicator_left.true_values: 'On' not a value of signal IndicatorLeft in "
        f"{VEHICLE_EXAMPLE_DBC_PATH} (it has no VAL_ value table)"
    ]
    # One name of the list among the signal's values is enough (an ignition without "Start").
    partial = VehicleSignals(ignition_on=SignalMap(message="VEH_Body", signal="IgnitionState",
                                                   true_values=["IGN_ON", "Start"]))
    assert VehicleSignalDecoder(VehicleConfig(dbc_path=dbc, signals=partial)) is not None
    fixed = VehicleSignals(ignition_on=SignalMap(message="VEH_Body", signal="IgnitionState",
                                                 true_values=["IGN_ON", "IGN_START"]))
    dec = VehicleSignalDecoder(VehicleConfig(dbc_path=dbc, signals=fixed))
    body = dec.db.get_message_by_name("VEH_Body")
    data = body.encode({"IndicatorLeft": 0, "IndicatorRight": 0, "GearPosition": 3, "IgnitionState": 2})
    dec.feed(can.Message(arbitration_id=body.frame_id, is_extended_id=False, data=data), 0.0)
    assert dec.state_at(0.0).ignition_on is True
