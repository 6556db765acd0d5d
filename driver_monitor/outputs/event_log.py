"""The event log: one JSON object per line (docs/event-log.md, DESIGN.md "Contracts")."""

from __future__ import annotations

import json
import math
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from driver_monitor.errors import InputError
from driver_monitor.messages import Event, EventKind, FrameResult
from driver_monitor.names import EventName
from driver_monitor.outputs.files import open_private

EVENTS_NAME = "events.jsonl"


class EventLogWriter:
    """Sink: appends each frame's events as JSON lines, flushed per frame with events so a
    crash or kill loses nothing already decided. The file is private (0600: outputs/files.py)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._file: IO[str] | None = open_private(self.path, "w", encoding="utf-8")

    def write(self, result: FrameResult) -> None:
        if result.events:
            self.write_events(result.events)

    def write_events(self, events: Iterable[Event]) -> None:
        if self._file is None:
            return
        for event in events:
            self._file.write(json.dumps(event.to_json_dict(), separators=(",", ":")) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def read_event_log(path: str | Path) -> list[dict[str, Any]]:
    """Read an event log or labels file; raises InputError naming the file and line."""
    return [item for _, item in _read_numbered(Path(path))]


def _read_numbered(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """Each line's event with its line number (blank lines skipped)."""
    out = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc.__class__.__name__})") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{number}: not JSON ({exc.msg})") from None
        except RecursionError:
            raise InputError(f"{path}:{number}: nested too deeply (not an event line)") from None
        if not isinstance(item, dict) or not {"t", "kind", "name"} <= item.keys():
            raise InputError(f"{path}:{number}: needs the keys t, kind and name")
        t = item["t"]
        if not isinstance(t, (int, float)) or isinstance(t, bool) or not math.isfinite(t):
            raise InputError(f"{path}:{number}: t is not a number of seconds ({t!r})")
        if not isinstance(item["kind"], str) or not isinstance(item["name"], str) or not item["name"]:
            raise InputError(f"{path}:{number}: kind and name must be text")
        if item["kind"] not in KINDS:  # another kind was skipped by scoring: a label with kind "evnet" was never counted
            raise InputError(f"{path}:{number}: kind must be \"event\", \"action\" or \"state\" (got {item['kind']!r})")
        if not isinstance(item.get("detail", {}), dict) or item.get("phase") not in PHASES:
            raise InputError(f"{path}:{number}: detail must be a mapping and phase \"start\", \"end\" or absent "
                             f"(got phase {item.get('phase')!r})")
        out.append((number, item))
    return out


# docs/event-log.md: "start" / "end" for things with a duration, absent for instantaneous ones.
PHASES = (None, "start", "end")
KINDS: tuple[str, ...] = typing.get_args(EventKind)  # event / action / state (docs/event-log.md)


def read_labels(path: str | Path) -> list[dict[str, Any]]:
    """Read a labels.jsonl (ground truth in the event-log contract) and check what scoring
    relies on, so a hand-written mistake is one line rather than a silently different score:
    every event name is one the detectors report (a misspelt name would be scored as an event
    of its own, never found), and each behaviour's start / end lines pair up (an end without
    its start was dropped, a second start before the end ignored)."""
    path = Path(path)
    numbered = _read_numbered(path)
    known = {str(name) for name in EventName}
    open_at: dict[str, tuple[int, float]] = {}  # name -> line and t of its open start
    for number, item in numbered:
        if item["kind"] != "event":
            continue
        name, phase = item["name"], item.get("phase")
        if name not in known:
            raise InputError(f"{path}:{number}: unknown event name {name!r} (event names: {', '.join(sorted(known))})")
        if phase == "start":
            if name in open_at:
                raise InputError(f"{path}:{number}: {name} starts again before the end of its start on line "
                                 f"{open_at[name][0]}")
            open_at[name] = (number, item["t"])
        elif phase == "end":
            start = open_at.pop(name, None)
            if start is None:
                raise InputError(f"{path}:{number}: {name} ends without a start before it")
            # An end before its start was scored as a label of negative length: found by nothing.
            if item["t"] < start[1]:
                raise InputError(f"{path}:{number}: {name} ends at t {item['t']:g}, before its start at t "
                                 f"{start[1]:g} (line {start[0]})")
    return [item for _, item in numbered]
