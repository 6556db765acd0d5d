"""Serial link: frame format, reference decoders (Python and the C one in the docs), a real
socat pty pair, garbage / cut frames, the ACK button, and reopening a vanished port."""

from __future__ import annotations

import struct
import subprocess
import time

import pytest
import serial
from cobs import cobs
from serial_peer import SocatPair, build_c_decoder, socat_available
from vehicle_io_helpers import frame_times, make_result

from driver_monitor.config.vehicle import SerialConfig
from driver_monitor.messages import PolicyState
from driver_monitor.outputs.schedule import Due, OutputSchedule
from driver_monitor.outputs.serial_sink import SerialFrameEncoder, SerialSink
from driver_monitor.outputs.threaded import ThreadedOutput
from driver_monitor.serial.link import SerialLink
from driver_monitor.serial.protocol import (
    TYPE_ACK,
    TYPE_HEARTBEAT,
    TYPE_STATUS,
    TYPE_WARNING,
    FrameDecoder,
    crc16,
    encode_frame,
    pack,
)

needs_socat = pytest.mark.skipif(not socat_available(), reason="socat not installed (apt-get install socat)")

WARN = PolicyState(t=0.0, condition="sleep", level=3, actions=frozenset({"chime", "hazard_lights", "haptic_seat"}),
                   warning_since_t=0.4, shown_since_t=0.4)


def _policy_at(t: float) -> PolicyState:
    return WARN if 0.4 <= t < 0.8 else PolicyState(t=t)


def _stream(duration_s: float = 1.2) -> bytes:
    sched, enc = OutputSchedule(0.1, 0.2, 1.0), SerialFrameEncoder()
    out = b""
    for t in frame_times(duration_s):
        r = make_result(t, values={"eyes_off_road_s": 1.25, "perclos_60s": 0.0875}, policy=_policy_at(t))
        out += b"".join(enc.encode_due(d) for d in sched.update(r))
    return out


def test_crc16_is_ccitt_false_and_frames_hold_no_zero_before_the_delimiter() -> None:
    assert crc16(b"123456789") == 0x29B1
    frame = pack(TYPE_ACK, 3, t_ms=0, pressed=1)  # payload full of zeros
    assert frame.endswith(b"\x00") and b"\x00" not in frame[:-1]
    body = cobs.decode(frame[:-1])
    assert body[:3] == bytes([1, TYPE_ACK, 3])
    assert struct.unpack("<H", body[-2:])[0] == crc16(body[:-2])


def test_python_decoder_reads_the_stream_the_sink_writes() -> None:
    frames = FrameDecoder().feed(_stream())
    kinds = [(f.type, f.fields["t_ms"]) for f in frames]
    assert [t for k, t in kinds if k == TYPE_STATUS] == [100 * i for i in range(13)]
    assert [t for k, t in kinds if k == TYPE_WARNING] == [400, 600, 800]
    assert [t for k, t in kinds if k == TYPE_HEARTBEAT] == [0, 1000]
    assert [f.seq for f in frames] == list(range(len(frames)))
    status = next(f for f in frames if f.type == TYPE_STATUS)
    assert status.fields["eyes_off_road_cs"] == 125 and status.fields["perclos_permille"] == 88
    assert status.fields["flags"] == 0b0011  # face present, monitoring active
    warning = next(f for f in frames if f.type == TYPE_WARNING)
    # chime bit1, haptic_seat bit3, hazard_lights bit7; reason 1 = sleep
    assert (warning.fields["level"], warning.fields["reason"], warning.fields["actions"]) == (3, 1, 0b10001010)
    assert frames[-1].type == TYPE_STATUS


def test_garbage_cut_frames_and_bad_crc_are_counted_and_resync_on_the_next_delimiter() -> None:
    good = pack(TYPE_ACK, 1, t_ms=5, pressed=1)
    bad_crc = bytearray(good)
    bad_crc[-2] ^= 0x01  # a CRC byte: still no zero inside the frame
    v2_body = b"\x02\x10\x01" + struct.pack("<IB", 5, 1)
    other_version = cobs.encode(v2_body + struct.pack("<H", crc16(v2_body))) + b"\x00"
    stream = (b"\xff\xfe\x13\x37" + good[:6]  # garbage, then a frame cut short by ...
              + good  # ... the delimiter-less start of the next: one bad chunk, then resync
              + bytes(bad_crc) + b"\x01" * 100 + b"\x00" + other_version + good)
    dec = FrameDecoder()
    frames = []
    for i in range(0, len(stream), 7):  # arrives in odd-sized pieces
        frames += dec.feed(stream[i:i + 7])
    assert len(frames) == 1  # garbage+cut frame+good merge into one chunk: dropped
    assert dec.counts["bad_crc"] == 1 and dec.counts["too_long"] == 1 and dec.counts["bad_version"] == 1
    assert dec.counts["cobs_error"] + dec.counts["bad_crc"] + dec.counts["too_short"] >= 2
    assert dec.counts["ok"] == 1 and frames[0].fields == {"t_ms": 5, "pressed": 1}
    assert FrameDecoder().feed(good)[0].type == TYPE_ACK


def test_longer_payload_of_a_newer_minor_revision_is_accepted_shorter_dropped() -> None:
    dec = FrameDecoder()
    longer = encode_frame(TYPE_ACK, 0, struct.pack("<IB", 9, 1) + b"\x07\x07")
    shorter = encode_frame(TYPE_ACK, 1, struct.pack("<I", 9))
    frames = dec.feed(longer + shorter)
    assert [f.fields for f in frames] == [{"t_ms": 9, "pressed": 1}]
    assert dec.counts["bad_length"] == 1


def test_c_reference_decoder_from_the_docs_decodes_the_same_frames(tmp_path) -> None:
    exe = build_c_decoder(tmp_path)
    if exe is None:
        pytest.skip("no C compiler")
    stream = b"\x13\x00garbage\x00" + _stream()
    out = subprocess.run([str(exe)], input=stream, capture_output=True, check=True).stdout.decode().splitlines()
    py = FrameDecoder().feed(stream)
    assert len(out) == len(py) == 13 + 3 + 2
    for line, f in zip(out, py, strict=True):
        assert line.startswith(f"type={f.type} seq={f.seq} t_ms={f.fields['t_ms']}")
        if f.type == TYPE_WARNING:
            assert line.endswith(f"level={f.fields['level']} reason={f.fields['reason']} actions={f.fields['actions']}")
        if f.type == TYPE_STATUS:
            assert f"eor_cs={f.fields['eyes_off_road_cs']} perclos={f.fields['perclos_permille']}" in line
    ack = subprocess.run([str(exe), "ack"], capture_output=True, check=True).stdout
    [frame] = FrameDecoder().feed(ack)
    assert (frame.type, frame.seq, frame.fields) == (TYPE_ACK, 7, {"t_ms": 123456, "pressed": 1})


def test_loop_url_round_trip_and_ack_latch() -> None:
    link = SerialLink("loop://", read=True)
    try:
        assert link.write(pack(TYPE_ACK, 0, t_ms=1, pressed=1))
        deadline = time.monotonic() + 2.0
        while not link.take_ack():
            assert time.monotonic() < deadline, "ACK not seen"
            time.sleep(0.01)
        assert not link.take_ack()  # latched once per press
    finally:
        link.close()


@needs_socat
def test_socat_pty_pair_carries_frames_to_the_board_and_the_ack_back(tmp_path) -> None:
    pair = SocatPair(tmp_path).start()
    board = serial.Serial(str(pair.b), 115200, timeout=0.1)
    out = ThreadedOutput(SerialSink(SerialConfig(enabled=True, port=str(pair.a))), "serial")
    try:
        for t in frame_times(1.2):
            out.write(make_result(t, policy=_policy_at(t)))
        assert out.flush(5.0)
        got = b""
        deadline = time.monotonic() + 3.0
        dec = FrameDecoder()
        frames = []
        while len(frames) < 18 and time.monotonic() < deadline:
            chunk = board.read(4096)
            got += chunk
            frames += dec.feed(chunk)
        assert [f.type for f in frames].count(TYPE_STATUS) == 13
        assert [f.fields["t_ms"] for f in frames if f.type == TYPE_WARNING] == [400, 600, 800]
        assert dec.errors == 0
        # the board sends line noise, a cut frame and then an ACK press
        board.write(b"\x55\xaa\x00" + pack(TYPE_ACK, 0, t_ms=1, pressed=1)[:4] + b"\x00" + pack(TYPE_ACK, 1, t_ms=2, pressed=1))
        board.flush()
        sink: SerialSink = out.sink
        deadline = time.monotonic() + 3.0
        while not sink.take_ack():
            assert time.monotonic() < deadline, "ACK not received"
            time.sleep(0.01)
        assert sink.link.decoder.errors >= 2
        assert out.status().detail["acks"] == 1
    finally:
        out.close()
        board.close()
        pair.stop()


@needs_socat
def test_port_that_disappears_is_reopened_with_backoff_and_nothing_blocks(tmp_path) -> None:
    pair = SocatPair(tmp_path).start()
    config = SerialConfig(enabled=True, port=str(pair.a), reopen_backoff_min_s=0.1, reopen_backoff_max_s=0.4)
    sink = SerialSink(config)
    out = ThreadedOutput(sink, "serial")
    try:
        out.write(make_result(0.0))
        assert out.flush(2.0) and sink.frames_sent == 2  # status + heartbeat
        pair.stop()  # the adapter is unplugged
        t = 0.0
        worst = 0.0
        deadline = time.monotonic() + 3.0
        while sink.link.is_open and time.monotonic() < deadline:
            t += 0.1
            started = time.perf_counter()
            out.write(make_result(round(t, 6)))
            worst = max(worst, time.perf_counter() - started)
            time.sleep(0.02)
        assert not sink.link.is_open
        failed_before = sink.frames_failed
        for _ in range(5):
            t += 0.1
            out.write(make_result(round(t, 6)))
        assert out.flush(2.0)
        assert sink.frames_failed > failed_before  # dropped and counted while down
        assert worst < 0.01
        pair.start()  # plugged back in: same path
        board = serial.Serial(str(pair.b), 115200, timeout=0.1)
        dec = FrameDecoder()
        frames = []
        deadline = time.monotonic() + 5.0
        while not frames and time.monotonic() < deadline:
            t += 0.1
            out.write(make_result(round(t, 6)))
            time.sleep(0.05)
            frames += dec.feed(board.read(4096))
        assert frames, "no frame after the port came back"
        assert sink.link.opens >= 2
        board.close()
    finally:
        out.close()
        pair.stop()


def test_warning_due_encodes_every_action_bit() -> None:
    all_actions = frozenset({"visual_icon", "chime", "voice_prompt", "haptic_seat", "haptic_wheel", "suggest_break",
                             "adas_sensitivity", "hazard_lights", "slow_down_request", "mrm_request", "calm_cabin"})
    policy = PolicyState(t=1.0, condition="unresponsive", level=3, actions=all_actions, warning_since_t=0.0,
                         shown_since_t=0.0)
    frame = SerialFrameEncoder().encode_due(Due("warning", 1.0, make_result(1.0, policy=policy)))
    [f] = FrameDecoder().feed(frame)
    assert f.fields == {"t_ms": 1000, "level": 3, "reason": 3, "actions": 0x7FF, "flags": 0, "active_time_ds": 10}


def test_a_port_that_refuses_writes_with_a_foreign_exception_is_counted_not_raised() -> None:
    link = SerialLink("loop://", read=False)  # nobody reads: loop:// raises queue.Full when full
    try:
        frame = pack(TYPE_ACK, 0, t_ms=1, pressed=1)
        results = [link.write(frame * 400) for _ in range(20)]
        assert False in results
        assert link.write_failures == results.count(False)
    finally:
        link.close()


@needs_socat
def test_a_board_that_never_reads_costs_dropped_frames_not_a_blocked_thread(tmp_path) -> None:
    pair = SocatPair(tmp_path).start()  # nobody ever reads the board's end: buffers fill up
    link = SerialLink(str(pair.a), write_timeout_s=0.05, read=False)
    frame = pack(TYPE_STATUS, 0, t_ms=0, system_state=1, driver_state=0, flags=3, kss=3, distraction_level=0,
                 stress_level=0, eyes_off_road_cs=0, perclos_permille=0, policy_level=0) * 200
    try:
        worst = 0.0
        deadline = time.monotonic() + 20.0
        while link.write_failures == 0 and time.monotonic() < deadline:
            started = time.perf_counter()
            link.write(frame)
            worst = max(worst, time.perf_counter() - started)
        assert link.write_failures >= 1, "the pty never filled up"
        assert worst < 0.5  # bounded by write_timeout_s, never stuck
        assert link.is_open  # a timeout drops the frame but keeps the port
    finally:
        link.close()
        pair.stop()


@needs_socat
def test_ack_from_the_board_reaches_the_pipeline_as_driver_ack(tmp_path) -> None:
    from driver_monitor.assembly import Mode, RunIo
    from driver_monitor.config import Config
    from driver_monitor.config.overrides import with_io_overrides

    pair = SocatPair(tmp_path).start()
    io = RunIo.open(with_io_overrides(Config(), serial_port=str(pair.a)), Mode.REPLAY)
    board = serial.Serial(str(pair.b), 115200, timeout=0.1)
    try:
        assert io.vehicle.at(0.0) is None  # no CAN log, no press: nothing known
        board.write(b"\x13\x37\x00" + pack(TYPE_ACK, 0, t_ms=10, pressed=1))  # noise, then a press
        board.flush()
        deadline = time.monotonic() + 3.0
        state = None
        while state is None:
            assert time.monotonic() < deadline, "ACK never arrived"
            time.sleep(0.02)
            state = io.vehicle.at(0.5)
        assert state.driver_ack is True and state.t == 0.5 and state.speed_kph is None
        assert io.vehicle.at(0.6) is None  # one press, one sample
    finally:
        board.close()
        io.close(outputs=True)
        pair.stop()


class _FlakyLink:
    """A SerialLink stand-in whose writes fail while `down` (the adapter unplugged)."""

    def __init__(self) -> None:
        self.down = False
        self.written = b""
        self.is_open = True
        self.decoder = FrameDecoder()
        self.ack_count = 0

    def write(self, data: bytes) -> bool:
        if self.down:
            return False
        self.written += data
        return True

    def close(self) -> None:
        pass


def test_the_end_of_a_warning_the_port_could_not_take_reaches_the_board_once_it_can() -> None:
    """Lost, the level-0 warning was never repeated: a board built from the docs' C example
    kept its buzzer and hazard lights on after the port came back."""
    link = _FlakyLink()
    sink = SerialSink(SerialConfig(enabled=True, port="loop://"), link=link)
    for t in frame_times(2.0):
        link.down = 0.8 <= t < 1.0  # the frame that ends the warning (0.8 s) meets the port gone
        sink.write(make_result(t, policy=_policy_at(t)))
    warnings = [(f.fields["t_ms"], f.fields["level"], f.fields["actions"])
                for f in FrameDecoder().feed(link.written) if f.type == TYPE_WARNING]
    # 0.4 on change, 0.6 repeated; the repeat due 0.8, the clear at 0.8 and the status frames
    # due 0.8 and 0.9 were lost; the clear goes with the status due 1.0 (frame 1.04)
    assert [(ms, level) for ms, level, _ in warnings] == [(400, 3), (600, 3), (1040, 0)]
    assert warnings[-1][2] == 0


def test_a_write_stuck_on_a_board_that_does_not_read_holds_up_neither_the_frame_loop_nor_the_ack() -> None:
    """The frame loop asks for the ACK every turn (VehicleInputs.at -> take_ack). It waited
    for the port's lock, which the output thread holds through each write, up to
    write_timeout_s while the board's buffers are full, and took back write after write: the
    loop stood still for seconds (and its watchdog with it), and a press on the board reached
    the policy only when the writes stopped.

    The board is the master of a real pty (os.openpty), not a socat pair: socat stops
    forwarding the board's bytes while its other direction is full, a USB adapter does not."""
    import os
    import threading

    board, port = os.openpty()  # the board never reads its end
    link = SerialLink(os.ttyname(port), write_timeout_s=0.5)
    stop = threading.Event()

    def output_thread() -> None:
        while not stop.is_set():
            link.write(b"\x01" * 4096)

    writer = threading.Thread(target=output_thread, daemon=True)
    try:
        while link.write_failures == 0:  # the pty's buffer fills up
            link.write(b"\x01" * 4096)
        writer.start()  # from now on every write blocks for write_timeout_s
        worst = 0.0
        for _ in range(15):
            started = time.perf_counter()
            assert not link.take_ack()
            worst = max(worst, time.perf_counter() - started)
            time.sleep(0.1)
        assert worst < 0.05
        os.write(board, pack(TYPE_ACK, 0, t_ms=1, pressed=1))
        pressed_at = time.monotonic()
        while not link.take_ack():
            assert time.monotonic() - pressed_at < 0.3, "the ACK waited for the stuck writes"
            time.sleep(0.01)
        assert link.write_failures >= 3  # the writes did block meanwhile
    finally:
        stop.set()
        writer.join(2.0)
        link.close()
        os.close(board)
        os.close(port)


@needs_socat
def test_the_first_ack_after_a_replug_is_not_lost_to_a_frame_the_unplug_cut(tmp_path) -> None:
    """The bytes of a frame the cable pull cut stayed in the decoder and prefixed the first
    frame of the new connection: the first press after the replug failed its CRC."""
    pair = SocatPair(tmp_path).start()
    link = SerialLink(str(pair.a), backoff_min_s=0.1, backoff_max_s=0.2)
    board = serial.Serial(str(pair.b), 115200, timeout=0.1)
    try:
        board.write(pack(TYPE_ACK, 0, t_ms=1, pressed=1)[:6])  # unplugged mid-frame
        board.flush()
        time.sleep(0.3)  # the link has read the cut frame
        board.close()
        pair.stop()
        deadline = time.monotonic() + 3.0
        while link.is_open:
            assert time.monotonic() < deadline, "the link never saw the port go"
            time.sleep(0.02)
        pair.start()
        board = serial.Serial(str(pair.b), 115200, timeout=0.1)
        while not link.is_open:
            assert time.monotonic() < deadline + 3.0, "the port was not reopened"
            time.sleep(0.02)
        time.sleep(0.2)  # pyserial's open flushed what came before it
        board.write(pack(TYPE_ACK, 1, t_ms=2, pressed=1))
        board.flush()
        deadline = time.monotonic() + 2.0
        while not link.take_ack():
            assert time.monotonic() < deadline, f"the press was lost ({dict(link.decoder.counts)})"
            time.sleep(0.02)
        assert link.decoder.counts == {"ok": 1} and link.opens == 2
    finally:
        link.close()
        board.close()
        pair.stop()


class _CdcPort:
    """A USB CDC board that stops reading mid-frame (its firmware busy): pyserial's write puts
    out what the driver's buffers still take, then raises SerialTimeoutException
    (serialposix.Serial.write). A pty takes a write whole or not at all, so this is a fake."""

    def __init__(self) -> None:
        self.wire = bytearray()
        self.room: int | None = None  # bytes the next write gets out before it times out

    def write(self, data: bytes) -> int:
        if self.room is not None:
            self.wire += data[:self.room]
            self.room = None
            raise serial.SerialTimeoutException("Write timeout")
        self.wire += data
        return len(data)

    def close(self) -> None:
        pass


def test_the_frame_after_one_a_write_timeout_cut_reaches_the_board(monkeypatch) -> None:
    """The cut frame has no delimiter: the board's decoder took the next frame's bytes as its
    rest and dropped both at the next 0x00. The next frame was lost without the sink knowing:
    when it was the change back to level 0, the board kept the warning on."""
    port = _CdcPort()
    monkeypatch.setattr(serial, "serial_for_url", lambda *args, **kwargs: port)
    link = SerialLink("/dev/ttyACM0", read=False)
    warn = pack(TYPE_WARNING, 0, t_ms=400, level=3, reason=1, actions=3, flags=0, active_time_ds=0)
    status = pack(TYPE_STATUS, 1, t_ms=500, system_state=1, driver_state=0, flags=3, kss=3, distraction_level=0,
                  stress_level=0, eyes_off_road_cs=0, perclos_permille=0, policy_level=3)
    clear = pack(TYPE_WARNING, 2, t_ms=600, level=0, reason=0, actions=0, flags=0, active_time_ds=0)
    assert link.write(warn)
    port.room = 5
    assert not link.write(status)  # timed out after 5 bytes: counted, dropped
    assert link.write(clear)
    frames = FrameDecoder().feed(bytes(port.wire))
    assert [(f.type, f.fields["t_ms"]) for f in frames] == [(TYPE_WARNING, 400), (TYPE_WARNING, 600)]
    assert frames[-1].fields["level"] == 0
    assert link.write(status)  # after a whole frame no extra delimiter
    assert port.wire.endswith(b"\x00" + status) and not port.wire.endswith(b"\x00\x00" + status)
