"""Logging for every subcommand: one line per record on stderr, with a syslog priority
prefix when stderr is the journal, and a repeat limiter for the daemon.

Under systemd, stderr is a stream into journald, which files every line at the unit's
default priority unless the line starts with `<N>` (sd-daemon(3): `<3>` error, `<4>`
warning, `<6>` info, `<7>` debug). systemd says stderr is the journal by setting
$JOURNAL_STREAM to the stream's `device:inode` (systemd.exec(5)); only then are the
prefixes written, so a terminal never sees them.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

FORMAT = "%(levelname)s %(name)s: %(message)s"

# sd-daemon(3) priorities by logging level (CRITICAL -> <2> SD_CRIT).
_PRIORITIES = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6))


def syslog_priority(levelno: int) -> int:
    return next((prio for level, prio in _PRIORITIES if levelno >= level), 7)


def stderr_is_journal(environ: Mapping[str, str] | None = None, stream: TextIO | None = None) -> bool:
    """True when $JOURNAL_STREAM names the very stream we write to (systemd.exec(5))."""
    env = os.environ if environ is None else environ
    dev, _, ino = env.get("JOURNAL_STREAM", "").partition(":")
    if not (dev.isdigit() and ino.isdigit()):
        return False
    try:
        st = os.fstat((stream or sys.stderr).fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (int(dev), int(ino))


class JournalFormatter(logging.Formatter):
    """FORMAT with the `<N>` priority prefix journald reads (sd-daemon(3))."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        prefix = f"<{syslog_priority(record.levelno)}>"
        return "\n".join(prefix + line for line in text.splitlines() or [""])


def configure(verbose: bool = False, stream: TextIO | None = None, environ: Mapping[str, str] | None = None) -> None:
    """As logging.basicConfig: a no-op when the root logger has handlers already (a test
    harness's), else one stderr handler, journal-prefixed under systemd."""
    root = logging.getLogger()
    if root.handlers:
        return
    stream = stream if stream is not None else sys.stderr
    handler = logging.StreamHandler(stream)
    journal = stderr_is_journal(environ, stream)
    handler.setFormatter(JournalFormatter(FORMAT) if journal else logging.Formatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)


class RepeatLimiter(logging.Filter):
    """At most `max_lines` records with the same key per `window_s`; the number held back is
    appended to the next line let through, so journald stays readable when a fault flaps.
    The key is the record's `rate_key` extra, else its message template and level. A record
    with the extra `rate_limit=False` always passes: the answer to an operator's request (a
    SIGHUP's reload) must never be held back, however many came before it.

    `flush` (the daemon's loop calls it every turn, and at the stop) writes the last line
    held back of each window that has ended, with the count: the journal's last word on a
    flapping camera was otherwise its fault, held back until the next fault, however long the
    camera then worked (the line that ended it was one of those held back)."""

    def __init__(self, max_lines: int, window_s: float, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.max_lines = max_lines
        self.window_s = window_s
        self.clock = clock
        self._windows: dict[Any, list[Any]] = {}  # key -> [window start, sent, held, last held record]
        self._lock = threading.Lock()  # records come from every thread

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "rate_limit", True) is False:
            return True
        key = getattr(record, "rate_key", None) or (record.name, record.levelno, str(record.msg))
        now = self.clock()
        with self._lock:
            w = self._windows.get(key)
            if w is None or now - w[0] >= self.window_s:
                held = int(w[2]) if w is not None else 0
                self._windows[key] = [now, 1, 0, None]
                if held:
                    record.msg = f"{record.getMessage()} ({held} similar lines held back in the last {self.window_s:g} s)"
                    record.args = None
                return True
            if w[1] < self.max_lines:
                w[1] += 1
                return True
            w[2] += 1
            w[3] = record
            return False

    def flush(self, stop: bool = False) -> list[logging.LogRecord]:
        """Write (through its logger's handlers) the last record held back of each window that
        has ended, or of every window when `stop`, in the order they were made; returns them."""
        now = self.clock()
        due: list[logging.LogRecord] = []
        with self._lock:
            for key, w in list(self._windows.items()):
                if w[2] and (stop or now - w[0] >= self.window_s):
                    record, held = w[3], int(w[2])
                    record.msg = (f"{record.getMessage()} (the last of {held} similar lines held back "
                                  f"in the last {self.window_s:g} s)")
                    record.args = None
                    record.rate_limit = False  # past this filter on its way out
                    due.append(record)
                    del self._windows[key]
        due.sort(key=lambda r: r.created)
        for record in due:
            logging.getLogger(record.name).handle(record)
        return due

    def install(self) -> RepeatLimiter:
        """Filter every root handler through this limiter."""
        for handler in logging.getLogger().handlers:
            handler.addFilter(self)
        return self
