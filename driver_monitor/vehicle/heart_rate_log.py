"""The serial heart-rate sensor of a recording: its lines as the live reader received them
(`heart_rate.csv`, docs/recording.md), fed to the same HeartRateTimeline at the same times,
so a replay merges the same readings into the same frames as the live run did."""

from __future__ import annotations

from pathlib import Path

from driver_monitor.messages import VehicleState
from driver_monitor.recording.format import read_heart_rate_log
from driver_monitor.vehicle.heart_rate_serial import HeartRateTimeline, LineError, parse_line


class HeartRateLogSource:
    def __init__(self, path: str | Path, max_age_s: float, torn_tail_ok: bool = False):
        """torn_tail_ok: a recording never closed, read up to its last whole row."""
        self.path = Path(path)
        self._timeline = HeartRateTimeline(max_age_s, max_pending=None)  # a whole drive, read ahead
        self.lines_ok = 0
        self.lines_bad = 0  # as the live reader counted them: bad lines change nothing
        for t, line in read_heart_rate_log(self.path, torn_tail_ok):
            try:
                reading = parse_line(line)
            except LineError:
                self.lines_bad += 1
                continue
            if reading is not None:
                self.lines_ok += 1
                self._timeline.add(t, reading)

    def apply(self, vehicle: VehicleState) -> VehicleState:
        return self._timeline.apply(vehicle)

    def status(self) -> dict[str, object]:
        return {"port": str(self.path), "lines_ok": self.lines_ok, "lines_bad": self.lines_bad, "opens": 0,
                "last_error": None}

    def summary_line(self) -> str:
        return f"heart-rate log {self.path.name}: {self.lines_ok} readings, {self.lines_bad} bad lines"

    def close(self) -> None:
        """Nothing held open."""
