"""Vehicle speed per frame for the report: a speed column of the feature table when the replay
wrote one, else the recording's CAN log decoded exactly as the replay fed it to the pipeline
(the same decoder and timeouts, asked at each frame's time), else nothing (said in a note).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from driver_monitor.config import Config
from driver_monitor.errors import DriverMonitorError

SPEED_COLUMNS = ("vehicle_speed_kph", "speed_kph")


def speed_from_recording(recording_dir: Path, config: Config, times_s: np.ndarray) -> np.ndarray | None:
    """km/h at each time (NaN: unknown), or None when the recording holds no CAN log."""
    from driver_monitor.can.logs import open_log_source
    from driver_monitor.recording.format import open_recording

    rec = open_recording(recording_dir)
    if rec.can_log_path is None:
        return None
    # The CAN source warns once about a missing can_start_time_s; the replay already said it.
    logging.getLogger("driver_monitor.can.logs").setLevel(logging.ERROR)
    source = open_log_source(rec.can_log_path, config.vehicle, rec.meta)
    try:
        out = np.full(len(times_s), np.nan)
        for i, t in enumerate(times_s):
            speed = source.state_at(float(t)).speed_kph
            if speed is not None:
                out[i] = speed
        return out
    finally:
        source.close()


def find_speed(numeric: dict[str, np.ndarray], times_s: np.ndarray, recording_dir: Path | None,
               config: Config, notes: list[str]) -> np.ndarray | None:
    for name in SPEED_COLUMNS:
        if name in numeric:
            if np.isfinite(numeric[name]).any():
                return numeric[name]
            # The table says what the pipeline saw: no speed at any frame (no CAN log).
            notes.append("vehicle speed: unknown in this drive (no vehicle signals; unknown speed counts as moving)")
            return None
    if recording_dir is None:
        notes.append("vehicle speed: not in the feature table and the replay's input is unknown "
                     "(give the recording directory with --input DIR)")
        return None
    if not recording_dir.is_dir():
        notes.append(f"vehicle speed: {recording_dir} is a video file, not a recording with a CAN log")
        return None
    try:
        speed = speed_from_recording(recording_dir, config, times_s)
    except DriverMonitorError as exc:
        notes.append(f"vehicle speed: {exc}")
        return None
    if speed is None:
        notes.append(f"vehicle speed: {recording_dir} has no CAN log (unknown speed counts as moving)")
    return speed
