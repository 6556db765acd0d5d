"""Every actuator output behind its own bounded queue and thread (issue 6 item 4).

The frame loop only appends to a deque; a slow, full or broken bus or port blocks its own
thread, never the loop nor the other outputs. When the queue is full the OLDEST result is
dropped (the newest state is what the vehicle needs) and counted; `status()` reports the
counters so the daemon's status and the replay summary can say so.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

# Identical output errors are logged at most this often (s of wall time: this is the I/O shell).
ERROR_LOG_INTERVAL_S = 5.0


@dataclass(frozen=True, slots=True)
class OutputStatus:
    name: str
    written: int  # results handed to the output
    dropped: int  # results dropped because the queue was full
    errors: int  # results whose write raised
    queued: int
    alive: bool  # the worker thread runs
    last_error: str | None
    detail: dict[str, Any]  # the output's own counters (frames sent, send failures, link up, ...)

    def text(self) -> str:
        extra = ", ".join(f"{k} {v}" for k, v in self.detail.items())
        err = f", last error: {self.last_error}" if self.last_error else ""
        return (f"{self.name}: {self.written} written, {self.dropped} dropped, {self.errors} errors"
                f"{', ' + extra if extra else ''}{err}")


class ThreadedOutput:
    """Wrap a sink (`write(result)`, `close()`, optional `status_detail()`) in a worker thread.

    write() never blocks: it appends to a deque of `queue_size` (dropping the oldest when
    full). close() lets the worker drain what is queued for up to `close_timeout_s`, then
    closes the sink; a wedged sink is abandoned rather than hanging exit: what is still queued
    is dropped, and the worker closes the sink once the write it is in returns. (Left to
    drain, an output retired by a reload kept sending stale frames beside its successor's
    for as long as its bus or port stayed slow, and was never closed: the old serial link's
    reader went on taking the board's ACK presses for good.)"""

    def __init__(self, sink: Any, name: str, queue_size: int = 256, close_timeout_s: float = 5.0):
        self.sink = sink
        self.name = name
        self.close_timeout_s = close_timeout_s
        self._queue: deque[Any] = deque(maxlen=queue_size)
        self._cond = threading.Condition()
        self._stopping = False
        self.written = 0
        self.dropped = 0
        self.errors = 0
        self.last_error: str | None = None
        self._last_error_log = 0.0
        self._busy = False
        self._abandoned = False  # close() gave up waiting: the worker closes the sink
        self._exited = False
        self._thread = threading.Thread(target=self._run, name=f"output-{name}", daemon=True)
        self._thread.start()

    def write(self, result: Any) -> None:
        with self._cond:
            if self._stopping:
                return
            if len(self._queue) == self._queue.maxlen:
                self.dropped += 1  # deque(maxlen) discards the oldest on append
            self._queue.append(result)
            self._cond.notify()

    def write_events(self, events: Any) -> None:
        """Pipeline.finish hands end-of-input events to sinks that take them; actuators don't."""

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if not self._queue and self._stopping:
                    self._exited = True
                    abandoned = self._abandoned
                    break
                item = self._queue.popleft()
                self._busy = True
            try:
                self.sink.write(item)
                self.written += 1
            except Exception as exc:  # the output thread must survive anything its sink does
                self.errors += 1
                self.last_error = f"{exc.__class__.__name__}: {exc}".splitlines()[0]
                now = time.monotonic()
                if now - self._last_error_log >= ERROR_LOG_INTERVAL_S:
                    self._last_error_log = now
                    log.warning("output %s: %s (%d errors so far)", self.name, self.last_error, self.errors)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
        if abandoned:
            self._close_sink()

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until the queue is empty and the worker idle; False on timeout."""
        deadline = time.monotonic() + (self.close_timeout_s if timeout_s is None else timeout_s)
        with self._cond:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return False
                self._cond.wait(left)
        return True

    def close(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(self.close_timeout_s)
        with self._cond:
            exited = self._exited or not self._thread.is_alive()
            if not exited:
                abandoned = len(self._queue)
                self._queue.clear()
                self.dropped += abandoned
                self._abandoned = True
        if not exited:
            log.warning("output %s: still blocked after %.1f s; abandoning %d queued results",
                        self.name, self.close_timeout_s, abandoned)
            return
        self._close_sink()

    def _close_sink(self) -> None:
        try:
            self.sink.close()
        except Exception as exc:
            log.warning("output %s: close failed: %s", self.name, exc)

    def status(self) -> OutputStatus:
        detail_fn = getattr(self.sink, "status_detail", None)
        detail = detail_fn() if detail_fn is not None else {}
        with self._cond:
            queued = len(self._queue)
        return OutputStatus(self.name, self.written, self.dropped, self.errors, queued,
                            self._thread.is_alive(), self.last_error, detail)
