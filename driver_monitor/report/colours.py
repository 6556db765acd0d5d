"""One colour per event name, zone and action level, the same in every report (a reader
learns that orange is long_distraction once)."""

from __future__ import annotations

import zlib

# docs/event-log.md's names, in a fixed order against a fixed palette (Plotly Dark24).
_PALETTE = (
    "#2E91E5", "#E15F99", "#1CA71C", "#FB0D0D", "#DA16FF", "#222A2A", "#B68100", "#750D86",
    "#EB663B", "#511CFB", "#00A08B", "#FB00D1", "#FC0080", "#B2828D", "#6C7C32", "#778AAE",
    "#862A16", "#A777F1", "#620042", "#1616A7", "#DA60CA", "#6C4516", "#0D2A63", "#AF0038",
)
EVENT_NAMES = (
    "blink", "microsleep", "sleep", "yawn", "nod", "drowsy", "long_distraction",
    "visual_time_sharing", "phone_use", "unresponsive", "stress", "anger", "daydreaming",
    "driver_absent", "eyes_unavailable", "camera_fault",
)
_EVENT_COLOURS = dict(zip(EVENT_NAMES, ("#7f8c8d", "#e67e22", "#c0392b", "#16a085", "#8e44ad", "#d35400",
                                        "#2980b9", "#3498db", "#9b59b6", "#e74c3c", "#f1c40f", "#b03a2e",
                                        "#5dade2", "#34495e", "#95a5a6", "#2c3e50"), strict=True))

ZONE_COLOURS = {
    "road": "#27ae60", "cluster": "#a3e4d7", "rear_mirror": "#85c1e9", "left_mirror": "#5dade2",
    "right_mirror": "#2e86c1", "infotainment": "#f5b041", "lap": "#e74c3c", "passenger": "#af7ac5",
    "other": "#7f8c8d", "unknown": "#d5d8dc",
}

# Action levels (docs/policy.md): 1 advisory, 2 warning, 3 intervention.
LEVEL_COLOURS = {0: "#95a5a6", 1: "#f1c40f", 2: "#e67e22", 3: "#c0392b"}

STATUS_COLOURS = {"found": "#1e8449", "missed": "#c0392b", "false": "#e67e22", "ambiguous": "#bdc3c7", "": "#5d6d7e"}


def event_colour(name: str) -> str:
    if name in _EVENT_COLOURS:
        return _EVENT_COLOURS[name]
    return _PALETTE[zlib.crc32(name.encode()) % len(_PALETTE)]


def zone_colour(zone: str) -> str:
    return ZONE_COLOURS.get(zone) or _PALETTE[zlib.crc32(zone.encode()) % len(_PALETTE)]


def rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha:g})"
