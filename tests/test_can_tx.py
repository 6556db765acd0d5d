"""DMS frames out: schedule in input time, DBC encoding, E2E counter + CRC, bus failures."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import replace

import can
import crccheck
import pytest
from vehicle_io_helpers import frame_times, make_result

from driver_monitor.can.dbc import DMS_DBC_PATH, load_dbc
from driver_monitor.can.e2e import CounterCheck, crc_ok
from driver_monitor.config.vehicle import CanConfig
from driver_monitor.errors import InputError
from driver_monitor.messages import PolicyState
from driver_monitor.outputs.can_sink import CanSink
from driver_monitor.outputs.fields import ACTIONS, DRIVER_STATES, FAULTS, WARNING_REASONS, camel
from driver_monitor.outputs.schedule import OutputSchedule
from driver_monitor.outputs.threaded import ThreadedOutput

DB = load_dbc(DMS_DBC_PATH)
STATUS_ID, WARNING_ID, HEARTBEAT_ID = 0x3A0, 0x3A1, 0x3A2
DATA_IDS = {STATUS_ID: 0xA0, WARNING_ID: 0xA1, HEARTBEAT_ID: 0xA2}

WARN = PolicyState(t=0.0, condition="long_distraction", level=2, actions=frozenset({"visual_icon", "chime"}),
                   warning_since_t=0.56, shown_since_t=0.56)


def _policy_at(t: float) -> PolicyState:
    return WARN if 0.56 <= t < 1.2 else PolicyState(t=t)


def _virtual_config() -> CanConfig:
    return CanConfig(enabled=True, interface="virtual", channel=f"test-{uuid.uuid4().hex[:8]}")


def _drain(bus: can.BusABC) -> list[can.Message]:
    out = []
    while (msg := bus.recv(timeout=0.05)) is not None:
        out.append(msg)
    return out


def test_periodic_frames_fall_exactly_on_the_period_in_input_time() -> None:
    sched = OutputSchedule(0.1, 0.2, 1.0)
    dues = [d for t in frame_times(2.0) for d in sched.update(make_result(t, policy=_policy_at(t)))]
    status = [round(d.t, 6) for d in dues if d.kind == "status"]
    assert status == [round(0.1 * k, 6) for k in range(21)]
    assert [round(d.t, 6) for d in dues if d.kind == "heartbeat"] == [0.0, 1.0, 2.0]
    # the status due at 0.1 s carries the newest frame at or before 0.1 s (t=0.08), not 0.16
    assert next(d for d in dues if d.kind == "status" and abs(d.t - 0.1) < 1e-9).result.t == 0.08
    # warning: on change at 0.56, repeated every 0.2 s while active, the clear sent once at 1.2
    warnings = [(round(d.t, 6), d.result.policy.level) for d in dues if d.kind == "warning"]
    assert warnings == [(0.56, 2), (0.76, 2), (0.96, 2), (1.16, 2), (1.2, 0)]


def test_after_a_gap_in_the_input_warning_repeats_restart_from_the_present_as_the_periodic_frames() -> None:
    """A 10 min gap (a stalled loop, a paused recording) under an active warning sent 3000
    stale repeats at once, ahead of the current status frame; the periodic frames already
    restarted from the present after MAX_BACKLOG_PERIODS periods."""
    sched = OutputSchedule(0.1, 0.2, 1.0)
    warn = replace(WARN, warning_since_t=0.0, shown_since_t=0.0)
    sched.update(make_result(0.0, policy=warn))
    sched.update(make_result(0.1, policy=warn))
    assert [(d.kind, d.t) for d in sched.update(make_result(600.0, policy=warn))] == [
        ("status", 600.0), ("warning", 600.0), ("heartbeat", 600.0)]
    assert [(d.kind, round(d.t, 6)) for d in sched.update(make_result(600.2, policy=warn))] == [
        ("status", 600.1), ("status", 600.2), ("warning", 600.2)]
    # a gap of up to MAX_BACKLOG_PERIODS repeat periods still sends its repeats
    assert [round(d.t, 6) for d in sched.update(make_result(604.2, policy=warn)) if d.kind == "warning"] == [
        round(600.4 + 0.2 * k, 6) for k in range(20)]  # 600.4 .. 604.2: 3.8 s, under 20 repeat periods


def test_frames_on_a_virtual_bus_decode_with_valid_counters_and_crcs() -> None:
    config = _virtual_config()
    rx = can.Bus(interface="virtual", channel=config.channel)
    sink = CanSink(config)
    values = {"eyes_off_road_s": 3.44, "perclos_60s": 0.125, "kss_level": 8, "distraction_level": 2}
    for t in frame_times(2.0):
        sink.write(make_result(t, values=values, policy=_policy_at(t),
                               active=frozenset({"long_distraction"}) if t >= 0.56 else frozenset()))
    sink.close()
    msgs = _drain(rx)
    rx.shutdown()
    by_id: dict[int, list[can.Message]] = {}
    for m in msgs:
        by_id.setdefault(m.arbitration_id, []).append(m)
    assert len(by_id[STATUS_ID]) == 21 and len(by_id[HEARTBEAT_ID]) == 3 and len(by_id[WARNING_ID]) == 5
    for frame_id, frames in by_id.items():
        check = CounterCheck()
        for i, m in enumerate(frames):
            assert crc_ok(bytes(m.data), DATA_IDS[frame_id])
            assert (m.data[1] & 0x0F) == i % 16
            assert check.check(m.data[1] & 0x0F) is None
    status = DB.decode_message(STATUS_ID, by_id[STATUS_ID][10].data)  # due at 1.0 s
    assert status["EyesOffRoadTime"] == pytest.approx(3.4)  # 0.1 s resolution, rounded
    assert status["PERCLOS"] == 12.5
    assert status["DrowsinessKSS"] == 8
    assert status["DistractionLevel"] == 2
    assert status["DriverState"] == "Distracted"
    assert status["PolicyLevel"] == "Warning"
    assert status["SystemState"] == "Active" and status["FacePresent"] == 1
    first_warning = DB.decode_message(WARNING_ID, by_id[WARNING_ID][0].data)
    assert first_warning["WarningLevel"] == "Warning"
    assert first_warning["WarningReason"] == "LongDistraction"
    assert first_warning["Act_VisualIcon"] == 1 and first_warning["Act_Chime"] == 1
    assert first_warning["Act_HazardLights"] == 0
    assert DB.decode_message(WARNING_ID, by_id[WARNING_ID][3].data)["WarningActiveTime"] == 0.5  # 1.16 - 0.56
    assert DB.decode_message(WARNING_ID, by_id[WARNING_ID][4].data)["WarningLevel"] == "None"
    hb = DB.decode_message(HEARTBEAT_ID, by_id[HEARTBEAT_ID][2].data)
    assert hb["Uptime"] == 2 and hb["Fault_CameraFault"] == 0 and hb["HeartbeatSystemState"] == "Active"


def test_unavailable_values_and_unknown_speed_use_the_documented_raw_values() -> None:
    config = _virtual_config()
    rx = can.Bus(interface="virtual", channel=config.channel)
    sink = CanSink(config)
    sink.write(make_result(0.0, values={"eyes_off_road_s": float("nan"), "perclos_60s": None, "kss_level": None,
                                        "distraction_level": None}, speed_kph=None, face_present=False,
                           active=frozenset({"driver_absent"})))
    sink.close()
    msgs = _drain(rx)
    rx.shutdown()
    status = next(m for m in msgs if m.arbitration_id == STATUS_ID)
    assert status.data[5] == 0xFF and status.data[6] == 0xFF  # EyesOffRoadTime, PERCLOS raw 255
    decoded = DB.decode_message(STATUS_ID, status.data)
    assert decoded["DrowsinessKSS"] == "Unavailable" and decoded["DistractionLevel"] == "Unavailable"
    assert decoded["VehicleSpeedUnknown"] == 1 and decoded["DriverState"] == "Absent"
    hb = DB.decode_message(HEARTBEAT_ID, next(m for m in msgs if m.arbitration_id == HEARTBEAT_ID).data)
    assert hb["Fault_VehicleSignalTimeout"] == 1 and hb["Fault_NoFace"] == 1


def test_crc_is_autosar_profile2_crc8h2f_over_payload_and_data_id() -> None:
    """Independent check of the documented profile with crccheck's CRC-8H2F."""
    config = _virtual_config()
    rx = can.Bus(interface="virtual", channel=config.channel)
    sink = CanSink(config)
    sink.write(make_result(0.0))
    sink.close()
    msg = next(m for m in _drain(rx) if m.arbitration_id == STATUS_ID)
    rx.shutdown()
    expected = crccheck.crc.Crc8Autosar().calc(bytes(msg.data[1:]) + bytes([0xA0]))
    assert msg.data[0] == expected
    params = crccheck.crc.Crc8Autosar
    assert (params._poly, params._initvalue, params._xor_output) == (0x2F, 0xFF, 0xFF)


def test_dbc_value_tables_match_the_encoder_tables() -> None:
    status, warning, hb = (DB.get_message_by_name(n) for n in ("DMS_Status", "DMS_Warning", "DMS_Heartbeat"))
    assert {str(v): k for k, v in status.get_signal_by_name("DriverState").choices.items()} == DRIVER_STATES
    reasons = {k: str(v) for k, v in warning.get_signal_by_name("WarningReason").choices.items()}
    assert reasons == {code: ("None" if name is None else camel(name)) for name, code in WARNING_REASONS.items()} | {255: "Other"}
    assert [s.name for s in warning.signals if s.name.startswith("Act_")] == [f"Act_{camel(a)}" for a in ACTIONS]
    assert [s.name for s in hb.signals if s.name.startswith("Fault_")] == [f"Fault_{camel(f)}" for f in FAULTS]
    assert (status.cycle_time, warning.cycle_time, hb.cycle_time) == (100, 200, 1000)


class _FailingBus(can.BusABC):
    def __init__(self, delay_s: float = 0.0, fail: bool = True):
        self.delay_s, self.fail, self.sent = delay_s, fail, 0
        super().__init__(channel="fake")

    def send(self, msg: can.Message, timeout: float | None = None) -> None:
        time.sleep(self.delay_s)
        if self.fail:
            raise can.CanOperationError("TX buffer full")
        self.sent += 1

    def _recv_internal(self, timeout):
        return None, False


def test_failed_sends_are_counted_and_never_raise() -> None:
    bus = _FailingBus()
    sink = CanSink(_virtual_config(), bus=bus)
    for t in frame_times(0.96):  # frames 0.0 .. 0.96 s
        sink.write(make_result(t))
    assert sink.send_failures == 10 + 1  # status 0.0 .. 0.9 s + heartbeat 0.0 s, all dropped
    assert sink.sent == 0
    assert sink.status_detail()["send failures"] == 11
    bus.shutdown()


class _SwitchableBus(can.BusABC):
    """A virtual bus whose sends fail (bus-off) while `down` is set."""

    def __init__(self, channel: str):
        self.inner = can.Bus(interface="virtual", channel=channel)
        self.down = False
        super().__init__(channel=channel)

    def send(self, msg: can.Message, timeout: float | None = None) -> None:
        if self.down:
            raise can.CanOperationError("bus-off")
        self.inner.send(msg, timeout)

    def _recv_internal(self, timeout):
        return None, False

    def shutdown(self) -> None:
        self.inner.shutdown()
        super().shutdown()


def test_a_warning_frame_the_sink_could_not_send_is_due_again_with_the_next_status_frame() -> None:
    sched = OutputSchedule(0.1, 0.2, 1.0)
    warnings = []
    for t in frame_times(2.0):
        for d in sched.update(make_result(t, policy=_policy_at(t))):
            if d.kind == "warning":
                warnings.append((round(d.t, 6), d.result.policy.level))
                if round(d.t, 6) in (1.2, 1.36):  # the change back to level 0 and its first resend
                    sched.warning_lost()
    # resent with the status frames due at 1.3 (frame 1.36) and 1.4 (frame 1.44), then no more
    assert warnings == [(0.56, 2), (0.76, 2), (0.96, 2), (1.16, 2), (1.2, 0), (1.36, 0), (1.44, 0)]


def test_the_end_of_a_warning_lost_in_a_bus_off_reaches_the_vehicle_once_the_bus_is_back(tmp_path) -> None:
    """Lost, the level-0 warning was never repeated: the vehicle kept the chime on after the
    bus recovered. The tx log holds what went on the bus, not the frames dropped."""
    config = _virtual_config()
    rx = can.Bus(interface="virtual", channel=config.channel)
    bus = _SwitchableBus(config.channel)
    sink = CanSink(config, bus=bus, tx_log_path=tmp_path / "can_tx.log")
    for t in frame_times(2.0):
        bus.down = t == 1.2  # the frame that ends the warning meets a bus-off
        sink.write(make_result(t, policy=_policy_at(t)))
    sink.close()
    warnings = [DB.decode_message(WARNING_ID, m.data) for m in _drain(rx) if m.arbitration_id == WARNING_ID]
    rx.shutdown()
    bus.shutdown()
    assert [w["WarningLevel"] for w in warnings] == ["Warning", "Warning", "Warning", "None"]
    assert warnings[-1]["Act_Chime"] == 0 and warnings[-1]["Act_VisualIcon"] == 0
    assert sink.send_failures == 3  # the repeat due at 1.16, the status at 1.2, the clear at 1.2
    logged = (tmp_path / "can_tx.log").read_text().splitlines()
    assert len(logged) == sink.sent == 21 - 1 + 3 + 4  # status, heartbeat, warnings (with the resend)


def test_a_bus_that_opens_but_fails_every_send_is_reopened_with_a_doubling_wait(monkeypatch) -> None:
    from can.interfaces.virtual import VirtualBus

    from driver_monitor.backoff import Backoff

    failing = True
    real_send = VirtualBus.send

    def send(self, msg, timeout=None):
        if failing:
            raise can.CanOperationError("No buffer space available")  # bus-off: it opens fine
        return real_send(self, msg, timeout)

    monkeypatch.setattr(VirtualBus, "send", send)
    now = [0.0]
    config = CanConfig(enabled=True, interface="virtual", channel=f"test-{uuid.uuid4().hex[:8]}",
                       reopen_backoff_min_s=0.1, reopen_backoff_max_s=1.6)
    sink = CanSink(config)
    sink._backoff = Backoff(0.1, 1.6, clock=lambda: now[0])
    waits = []
    t = 0.0
    for _ in range(100):  # bounded: a wait that never grows must fail, not hang
        if len(waits) == 6:
            break
        t = round(t + 0.1, 6)  # one status frame due per write
        was_up = sink.bus is not None
        sink.write(make_result(t))
        if was_up and sink.bus is None:  # 3 failed sends in a row since the (re)open
            waits.append(round(sink._backoff.remaining_s(), 6))
            now[0] += sink._backoff.remaining_s()
    assert waits == [0.1, 0.2, 0.4, 0.8, 1.6, 1.6]
    assert sink.reopens == 5
    failing = False
    sink.write(make_result(round(t + 0.1, 6)))  # reopened, and a frame goes out
    assert sink.bus is not None and sink.reopens == 6 and sink._backoff.wait_s == 0.1
    sink.close()


def test_a_slow_bus_never_blocks_the_frame_loop_nor_another_output() -> None:
    slow_bus = _FailingBus(delay_s=0.2, fail=False)
    slow = ThreadedOutput(CanSink(_virtual_config(), bus=slow_bus), "slow", queue_size=4)
    fast_config = _virtual_config()
    rx = can.Bus(interface="virtual", channel=fast_config.channel)
    fast = ThreadedOutput(CanSink(fast_config), "fast", queue_size=64)
    worst = 0.0
    for t in frame_times(4.0):  # 51 results, as fast as the loop can go
        r = make_result(t)
        started = time.perf_counter()
        slow.write(r)
        fast.write(r)
        worst = max(worst, time.perf_counter() - started)
    assert worst < 0.01  # appending to a deque, whatever the bus does
    assert fast.flush(5.0)
    fast_status = fast.status()
    assert fast_status.dropped == 0 and fast_status.written == 51
    assert len([m for m in _drain(rx) if m.arbitration_id == STATUS_ID]) == 41
    rx.shutdown()
    slow_status = slow.status()
    assert slow_status.dropped >= 51 - 4 - 2  # queue of 4, a send takes 0.2 s
    assert "dropped" in slow_status.text()
    slow.close_timeout_s = 0.1
    slow.close()
    fast.close()
    slow_bus.shutdown()


def test_unknown_interface_is_a_config_error_and_unopenable_bus_a_one_line_input_error() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="unknown python-can interface 'nope'"):
        CanConfig(interface="nope")
    with pytest.raises(InputError, match=r"^CAN socketcan channel no_such_can9: cannot open"):
        CanSink(CanConfig(enabled=True, interface="socketcan", channel="no_such_can9"))


@pytest.mark.skipif(not os.path.exists("/sys/class/net/vcan0"), reason="no vcan0 in this kernel (SocketCAN unavailable)")
def test_socketcan_vcan0_round_trip() -> None:
    config = CanConfig(enabled=True, interface="socketcan", channel="vcan0")
    rx = can.Bus(interface="socketcan", channel="vcan0")
    sink = CanSink(config)
    sink.write(make_result(0.0))
    sink.close()
    msg = rx.recv(timeout=1.0)
    rx.shutdown()
    assert msg is not None and msg.arbitration_id == STATUS_ID and crc_ok(bytes(msg.data), 0xA0)


def test_a_dms_dbc_whose_e2e_fields_are_misplaced_is_one_line(tmp_path) -> None:
    from driver_monitor.can.tx import FrameEncoder

    text = DMS_DBC_PATH.read_text().replace("DMS_Status_CRC : 0|8@1+", "DMS_Status_CRC : 56|8@1+")
    assert text != DMS_DBC_PATH.read_text()
    (tmp_path / "dms.dbc").write_text(text)
    with pytest.raises(InputError, match=r"^x\.dbc: DMS_Status has E2E_DataID but not the E2E Profile 2 layout"):
        FrameEncoder(load_dbc(tmp_path / "dms.dbc"), ["DMS_Status"], "x.dbc", require_e2e=True)
