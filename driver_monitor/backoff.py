"""Exponential backoff for everything the shell reopens: the camera, the CAN bus (send and
receive), the serial port and the heart-rate sensor port.

    backoff = Backoff(initial_s=0.5, max_s=10.0)
    if backoff.due():
        try: open()
        except OSError: wait_s = backoff.failed()   # next try in wait_s
        else: backoff.reset()

A device that is gone is polled without spinning a core, and one that comes back is picked
up within `max_s`. Time comes from `clock` (the daemon's monotonic clock, or a test's).
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Backoff:
    def __init__(self, initial_s: float, max_s: float, factor: float = 2.0,
                 clock: Callable[[], float] = time.monotonic):
        if not (initial_s > 0 and max_s >= initial_s and factor >= 1.0):
            raise ValueError(f"backoff needs 0 < initial_s <= max_s and factor >= 1 (got {initial_s}, {max_s}, {factor})")
        self.initial_s = initial_s
        self.max_s = max_s
        self.factor = factor
        self.clock = clock
        self.wait_s = initial_s  # the wait the next failure schedules
        self.next_try_t: float | None = None  # None: try now
        self.failures = 0  # in a row, since the last reset

    def due(self) -> bool:
        """True when a try is allowed now (no failure pending, or its wait is over)."""
        return self.next_try_t is None or self.clock() >= self.next_try_t

    def remaining_s(self) -> float:
        return 0.0 if self.next_try_t is None else max(0.0, self.next_try_t - self.clock())

    def failed(self) -> float:
        """A try failed: schedule the next one. Returns the wait before it (s)."""
        wait = self.wait_s
        self.next_try_t = self.clock() + wait
        self.wait_s = min(self.max_s, wait * self.factor)
        self.failures += 1
        return wait

    def reset(self) -> None:
        """A try succeeded: the next failure waits initial_s again."""
        self.wait_s = self.initial_s
        self.next_try_t = None
        self.failures = 0
