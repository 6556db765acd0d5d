"""ThreadedOutput: the frame loop never waits for an output; drops are the oldest and counted."""

from __future__ import annotations

import threading
import time

from driver_monitor.outputs.threaded import ThreadedOutput


class _GatedSink:
    """A sink that blocks in write() until the test opens the gate."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.seen: list[int] = []
        self.closed = False

    def write(self, result: int) -> None:
        self.entered.set()
        self.gate.wait(5.0)
        self.seen.append(result)

    def close(self) -> None:
        self.closed = True


class _RaisingSink:
    def __init__(self) -> None:
        self.seen: list[int] = []

    def write(self, result: int) -> None:
        if result % 2:
            raise OSError(5, "Input/output error")
        self.seen.append(result)

    def close(self) -> None:
        pass


def test_full_queue_drops_the_oldest_results_and_counts_them() -> None:
    sink = _GatedSink()
    out = ThreadedOutput(sink, "gated", queue_size=3)
    out.write(0)
    assert sink.entered.wait(2.0)  # the worker holds result 0 inside write()
    for i in range(1, 8):  # 1..7 into a queue of 3: 1..4 are dropped
        out.write(i)
    status = out.status()
    assert (status.dropped, status.queued) == (4, 3)
    sink.gate.set()
    assert out.flush(2.0)
    assert sink.seen == [0, 5, 6, 7]
    out.close()
    assert sink.closed
    assert out.status().text() == "gated: 4 written, 4 dropped, 0 errors"


def test_write_returns_at_once_while_the_sink_is_blocked() -> None:
    sink = _GatedSink()
    out = ThreadedOutput(sink, "gated", queue_size=2)
    started = time.perf_counter()
    for i in range(1000):
        out.write(i)
    assert time.perf_counter() - started < 0.5
    assert out.status().dropped >= 997
    sink.gate.set()
    out.close()


def test_a_raising_sink_is_counted_and_the_worker_keeps_going() -> None:
    sink = _RaisingSink()
    out = ThreadedOutput(sink, "flaky", queue_size=16)
    for i in range(6):
        out.write(i)
    assert out.flush(2.0)
    status = out.status()
    assert sink.seen == [0, 2, 4]
    assert (status.written, status.errors, status.alive) == (3, 3, True)
    assert status.last_error == "OSError: [Errno 5] Input/output error"
    out.close()


def test_close_abandons_a_wedged_sink_instead_of_hanging() -> None:
    sink = _GatedSink()
    out = ThreadedOutput(sink, "wedged", queue_size=4, close_timeout_s=0.2)
    out.write(1)
    assert sink.entered.wait(2.0)
    started = time.perf_counter()
    out.close()
    assert time.perf_counter() - started < 1.0
    assert not sink.closed
    sink.gate.set()


def test_a_wedged_sink_given_up_sends_nothing_more_and_is_closed_when_it_returns() -> None:
    """Left to drain, an output retired by a reload kept writing stale results beside the
    new one's for as long as its port or bus stayed slow, and was never closed: the old
    serial link's reader took the board's ACK presses for the rest of the run."""
    sink = _GatedSink()
    out = ThreadedOutput(sink, "wedged", queue_size=8, close_timeout_s=0.2)
    out.write(1)
    assert sink.entered.wait(2.0)
    for i in range(2, 6):
        out.write(i)
    out.close()
    assert (out.status().dropped, out.status().queued) == (4, 0)
    assert not sink.closed  # still inside write(1)
    sink.gate.set()
    out._thread.join(2.0)
    assert sink.seen == [1] and sink.closed
    out.write(6)  # a result after the close goes nowhere
    assert sink.seen == [1] and out.status().queued == 0
