"""Signals that arrive while the daemon is still starting.

`driver-monitor run` spends ~1.5 s importing its libraries (MediaPipe, OpenCV, SciPy) and
loading the face model before the daemon's own handlers are in place. Python's defaults
would meanwhile end the process on SIGHUP without a word (exit 129) and turn SIGINT into a
KeyboardInterrupt traceback. These handlers, installed first and cheap to import, only note
what came; the daemon takes the notes over with its own handlers (service.py): a stop
requested during the start stops the daemon at once, through its orderly stop, and a reload
is done once it runs (it re-reads the file it has just read: harmless).
"""

from __future__ import annotations

import signal
from types import FrameType

HANDLED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class EarlySignals:
    def __init__(self) -> None:
        self.received: list[int] = []

    def install(self) -> EarlySignals:
        for signum in HANDLED:
            signal.signal(signum, self._note)
        return self

    def _note(self, signum: int, _frame: FrameType | None) -> None:
        self.received.append(signum)
