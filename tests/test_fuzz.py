"""Property-based fuzzing (hypothesis) of everything that reads bytes from outside: the CAN
decoder and the live receive thread's per-frame path, the serial frame decoder, the
heart-rate line parser and the config loader. Each must turn any input into a value or its
one documented error, never an exception of its own.

Bounded time: a fixed number of examples per property (no deadline: the machine is shared),
derandomized so CI is reproducible, no example database written into the clone."""

from __future__ import annotations

import math
import threading
import time

import can
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from driver_monitor.can.logs import VehicleCanEncoder
from driver_monitor.can.rx import LiveCanVehicleSource, VehicleSignalDecoder
from driver_monitor.config import Config, ConfigError, parse_config
from driver_monitor.config.vehicle import VehicleConfig
from driver_monitor.messages import VehicleState
from driver_monitor.serial.protocol import TYPE_STATUS, FrameDecoder, pack
from driver_monitor.vehicle.heart_rate_serial import LineError, parse_line

FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])

DECODER = VehicleSignalDecoder(VehicleConfig())
KNOWN_IDS = sorted({key[0] for key in DECODER._by_id})


def frames() -> st.SearchStrategy[can.Message]:
    """CAN frames as a bus could deliver them, valid or not: the vehicle DBC's IDs and any
    other, any payload length (DLC 15 with 8 bytes included), remote and error frames."""
    return st.builds(
        lambda arb, ext, data, dlc, remote, error, fd: can.Message(
            arbitration_id=arb, is_extended_id=ext, data=data, dlc=dlc, is_remote_frame=remote,
            is_error_frame=error, is_fd=fd, check=False),
        st.one_of(st.sampled_from(KNOWN_IDS), st.integers(0, 0x1FFFFFFF)),
        st.booleans(), st.binary(max_size=64), st.integers(0, 64), st.booleans(), st.booleans(), st.booleans(),
    )


@FUZZ
@given(st.lists(frames(), max_size=20), st.floats(0, 1e6, allow_nan=False))
def test_can_decoder_takes_any_frame(msgs: list[can.Message], t0: float) -> None:
    decoder = VehicleSignalDecoder(VehicleConfig())
    for i, msg in enumerate(msgs):
        decoder.feed(msg, t0 + i * 0.01)
    state = decoder.state_at(t0 + len(msgs) * 0.01)
    assert state.speed_kph is None or 0.0 <= state.speed_kph <= 320.0
    assert decoder.errors == sum(n for k, n in decoder.counts.items() if k not in ("accepted", "ignored"))


@FUZZ
@given(st.lists(frames(), max_size=20))
def test_the_receive_threads_frame_path_takes_any_frame(msgs: list[can.Message]) -> None:
    source = LiveCanVehicleSource.__new__(LiveCanVehicleSource)  # the per-frame path only, no thread
    source.decoder = VehicleSignalDecoder(VehicleConfig())
    source.clock, source.bus_name, source._lock = time.monotonic, "fuzz", threading.Lock()
    source.frames, source.last_error, source._silent_logged, source._last_log = 0, None, False, {}
    source._asked_t = -math.inf
    tapped: list[can.Message] = []  # what `record` logs to can.blf: every frame, vehicle or not
    source.tap = lambda msg, t: tapped.append(msg)
    for msg in msgs:
        source._feed(msg)
    assert source.frames <= len(msgs) and tapped == msgs


class ScriptedBus(can.BusABC):
    """A bus whose receive returns good frames, None, or raises what a broken interface
    raises (a datagram python-can cannot unpack, an OS error), in a scripted order."""

    def __init__(self, script: list[object]):
        self.script = list(script)
        self.done = threading.Event()
        super().__init__(channel="fuzz")

    def _recv_internal(self, timeout: float | None) -> tuple[can.Message | None, bool]:
        if not self.script:
            self.done.set()
            time.sleep(0.005)
            return None, False
        item = self.script.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item, False  # type: ignore[return-value]

    def send(self, msg: can.Message, timeout: float | None = None) -> None:
        pass


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(st.lists(st.one_of(frames(), st.none(), st.sampled_from([
    can.CanOperationError("could not unpack received message"), OSError(100, "Network is down"),
    ValueError("bad dlc"), TypeError("unexpected keyword")])), max_size=30))
def test_the_receive_thread_survives_any_sequence_and_still_uses_good_frames(script: list[object]) -> None:
    speed = VehicleCanEncoder().encode("VEH_Speed", VehicleState(t=0, speed_kph=55.0), 0.0)
    bus = ScriptedBus([*script, speed])
    source = LiveCanVehicleSource(bus, VehicleConfig(timeout_cycles=100), "fuzz")
    try:
        assert bus.done.wait(5.0), "the reader stopped reading"
        # Whatever came before, the good frame at the end was decoded (a counter jump may drop
        # it when a fuzzed frame carried the same message: then the speed is still plausible).
        state = source.state_at(time.monotonic())
        assert state.speed_kph is None or 0.0 <= state.speed_kph <= 320.0
        assert source._thread.is_alive() and source.reader_restarts == 0
        raised = sum(isinstance(x, BaseException) for x in script)
        assert source.recv_errors == raised
    finally:
        source.close()


@FUZZ
@given(st.lists(st.binary(max_size=200), max_size=10))
def test_serial_decoder_takes_any_bytes_and_finds_the_next_good_frame(chunks: list[bytes]) -> None:
    decoder = FrameDecoder()
    for chunk in chunks:
        decoder.feed(chunk)
    good = pack(TYPE_STATUS, 7, t_ms=1234, system_state=1, driver_state=0, flags=3, kss=4, distraction_level=0,
                stress_level=0, eyes_off_road_cs=0, perclos_permille=12, policy_level=0)
    out = decoder.feed(b"\x00" + good)  # after any garbage, a delimiter resynchronises
    assert out and out[-1].type == TYPE_STATUS and out[-1].seq == 7 and out[-1].fields["t_ms"] == 1234


@FUZZ
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(lambda s: s.encode("utf-8", "surrogatepass")),
                 st.builds(lambda b, rr, cs: f"HR,{b}{''.join(',' + str(r) for r in rr)}{cs}".encode(),
                           st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 10**6)),
                           st.lists(st.integers(-10, 10**7), max_size=5),
                           st.sampled_from(["", "*00", "*ZZ", "*1", "*"]))))
def test_heart_rate_parser_returns_a_reading_or_a_line_error(raw: bytes) -> None:
    try:
        reading = parse_line(raw)
    except LineError:
        return
    if reading is not None:
        assert reading.bpm is None or (math.isfinite(reading.bpm) and 0 < reading.bpm <= 300)
        assert all(0 < r < 5000 for r in reading.rr_ms)


def _config_keys() -> list[str]:
    """Real key names, so fuzzed files reach deep into the schema."""
    names: set[str] = set()

    def walk(v: object) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                names.add(str(k))
                walk(x)

    walk(Config().model_dump(mode="json"))
    return sorted(names)


KEYS = _config_keys()
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
                    st.text(max_size=12), st.sampled_from(["virtual", "csv", "largest", "MJPG", "chime", "nan", "-inf"]))
TREES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)), max_leaves=25)


def _accepts(text: str) -> None:
    try:
        config = parse_config(text, "fuzz.yaml")
    except ConfigError as exc:
        assert exc.problems and all(isinstance(p, str) and "\n" not in p for p in exc.problems)
    else:
        assert isinstance(config, Config)


@FUZZ
@given(st.dictionaries(st.sampled_from(KEYS), TREES, max_size=6))
def test_config_loader_takes_any_structure(tree: dict) -> None:
    _accepts(yaml.safe_dump(tree, sort_keys=False))


@FUZZ
@given(st.text(max_size=400))
def test_config_loader_takes_any_text(text: str) -> None:
    _accepts(text)


@pytest.mark.parametrize("section", ["presence", "camera", "policy", "vehicle"])
def test_config_fuzz_reaches_validation_not_only_the_parser(section: str) -> None:
    """The structured strategy is not vacuous: a section with a wrong value is refused by
    the schema with the section's dotted key."""
    with pytest.raises(ConfigError) as info:
        parse_config(yaml.safe_dump({section: {"no_such_key_here": 1}}))
    assert info.value.problems[0].startswith(f"{section}.no_such_key_here: unknown key")
