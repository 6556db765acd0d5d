"""The recording's time base and receive times that a replay reproduces exactly.

`record` stamps frames, CAN frames and heart-rate lines on one clock with a 1 ms grid
(service.recording_clock): the MKV keeps milliseconds, and a replay must see the very times
the live run used. A frame at t takes what was received by t. Live, a message read just after
a frame was captured can fall on that frame's own millisecond (both rounded to it) after the
frame loop already asked for it: the live frame did not see it, its replay would. So a reader
stamps what it reads after the loop asked for time t no earlier than the next grid point
(receive_stamp); frames are at least a grid step apart, so the next frame takes it, live and
replayed.
"""

from __future__ import annotations

RECORDING_GRID_DECIMALS = 3  # 1 ms


def on_grid(seconds: float) -> float:
    return round(seconds, RECORDING_GRID_DECIMALS)


def receive_stamp(now: float, asked_t: float) -> float:
    """The receive time of something read at `now` (on the frames' clock) when the frame loop
    has already asked for what was received by `asked_t` (module doc). Off the grid (the
    daemon's own monotonic clock) `now` is always later than a frame already processed."""
    if now > asked_t:
        return now
    return on_grid(asked_t + 10.0 ** -RECORDING_GRID_DECIMALS)
