"""SIGHUP reload, prepared off the frame loop (REFERENCE.md "config": re-read, validate, swap;
keep the old config on error).

A thread reads, parses and validates the file and builds what a valid file can still fail
on (the face model, the expression model, the DBCs, the outputs), so the frame loop never
waits on a 50 MB YAML or a model load and the watchdog keeps being fed (issue 13: a big file on SIGHUP used to block
the loop for 17.6 s). The loop swaps the prepared result in between two frames (`take`). A
reload never stops the daemon: whatever the preparation raises is the reload's error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from driver_monitor.config import Config
from driver_monitor.errors import ConfigError, DriverMonitorError, one_line

# PreparedReload.expression when the running expression model stays.
KEEP = object()


@dataclass
class PreparedReload:
    config: Config
    tracker: Any = None  # a new FaceTracker when the perception section changed
    outputs: dict[str, Any] | None = None  # new CAN / serial outputs when their settings changed
    state_lock: Any = None  # the new state directory's lock when service.state_dir changed
    # The new stress.expression_model's model (None: switched off) when that section changed;
    # KEEP: unchanged. Loaded here like the tracker: a missing or bad ONNX file is the
    # reload's error, and a slow load does not stall the frame loop.
    expression: Any = KEEP


def reload_error_text(exc: BaseException) -> str:
    """One line for the log, STATUS= and the state file."""
    if isinstance(exc, ConfigError):
        return "; ".join(exc.problems)
    if isinstance(exc, DriverMonitorError):
        return str(exc)
    return f"{exc.__class__.__name__}: {one_line(exc)}"  # never expected; never fatal either


class Reloader:
    def __init__(self, prepare: Callable[[], PreparedReload]):
        self._prepare = prepare
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._result: PreparedReload | BaseException | None = None
        self._again = False

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Prepare a reload now, or right after the one being prepared (a second SIGHUP
        while the first file is parsed must not be lost: the file may have changed again)."""
        with self._lock:
            if self.busy or self._result is not None:
                self._again = True
                return
            self._thread = threading.Thread(target=self._run, name="config-reload", daemon=True)
            self._thread.start()

    def take(self) -> PreparedReload | BaseException | None:
        """The finished preparation (or its error), once; None while none is ready. After
        applying it, call `start_pending` (a preparation diffs against the running config)."""
        with self._lock:
            result, self._result = self._result, None
        return result

    def start_pending(self) -> None:
        with self._lock:
            again, self._again = self._again, False
        if again:
            self.start()

    def _run(self) -> None:
        try:
            result: PreparedReload | BaseException = self._prepare()
        except Exception as exc:  # RecursionError, MemoryError, ...: the reload's error, never the daemon's
            result = exc
        with self._lock:
            self._result = result
