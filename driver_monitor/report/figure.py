"""The timelines: one Plotly figure, one row per signal, every row on the same time axis
(zoom or pan one, all follow). Signals come from the per-frame table (docs/features.md,
docs/drowsiness.md, docs/distraction.md, docs/stress.md), spans and markers from the event
log. A column an older replay did not write is skipped with a note, never an error.

Per-frame traces are thinned for display by decimate.m4_indices (peaks kept); nothing the
summary tables say is computed from the thinned data.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from driver_monitor.config import Config
from driver_monitor.policy.actions import ACTION_LEVEL, LEVEL_NONE
from driver_monitor.report.colours import (
    LEVEL_COLOURS,
    STATUS_COLOURS,
    event_colour,
    rgba,
    zone_colour,
)
from driver_monitor.report.data import ReplayData
from driver_monitor.report.decimate import m4_indices, runs
from driver_monitor.report.ground_truth import GroundTruth
from driver_monitor.report.no_warning import PolicyContext, Unwarned, conditions_of, unwarned_events
from driver_monitor.report.timeline import Span, Timeline, finite_number

# Points per trace drawn (M4: 4 per bucket). 8000 keeps a 10-minute drive at 30 fps
# (18000 frames) at ~0.3 s buckets with every peak; docs/performance.md has the sizes and
# open times this gives.
MAX_POINTS = 8000
# More full-height event shadings than this would slow panning; beyond it only the lanes show them.
MAX_SHADED_SPANS = 400
# Wierwille (1994) PERCLOS bands: < 0.075 awake, 0.075-0.15 questionable, > 0.15 drowsy
# (REFERENCE.md "PERCLOS").
PERCLOS_BANDS = ((0.075, "PERCLOS 0.075 (questionable)"), (0.15, "PERCLOS 0.15 (drowsy)"))
# EAR of an open eye by population standards (REFERENCE.md): the calibrator's default.
POPULATION_OPEN_EAR = 0.31

PIXELS_PER_SIGNAL_ROW = 150
PIXELS_PER_LANE = 24


@dataclass
class Row:
    title: str
    traces: list[tuple[go.Scatter, bool]] = field(default_factory=list)  # (trace, on the secondary axis)
    y_title: str = ""
    y_range: tuple[float, float] | None = None
    lanes: list[str] | None = None  # category rows (event / action / truth lanes)
    secondary_title: str | None = None
    secondary_range: tuple[float, float] | None = None
    step_y: bool = False

    @property
    def pixels(self) -> int:
        if self.lanes is not None:
            return max(60, PIXELS_PER_LANE * len(self.lanes) + 30)
        return PIXELS_PER_SIGNAL_ROW


@dataclass
class FigureInput:
    data: ReplayData
    timeline: Timeline
    config: Config
    speed_kph: np.ndarray | None = None
    truth: GroundTruth | None = None
    notes: list[str] = field(default_factory=list)
    max_points: int = MAX_POINTS
    policy: PolicyContext | None = None  # built from the above when not given
    unwarned: list[Unwarned] | None = None  # the condition events without a warning, and why

    def __post_init__(self) -> None:
        if self.policy is None:
            speed = self.speed_kph if self.speed_kph is not None else self.data.numeric.get("vehicle_speed_kph")
            self.policy = PolicyContext(self.timeline, self.config, self.data.t, speed,
                                        self.data.numeric.get("vehicle_ignition_on"))
        if self.unwarned is None:
            self.unwarned = unwarned_events(self.policy)


def build_figure(inp: FigureInput) -> go.Figure:
    builders: Sequence[Callable[[FigureInput], Row | None]] = (
        _eye_closure_row, _ear_row, _perclos_row, _blink_row, _head_row, _zone_row, _off_road_row,
        _jaw_row, _heart_rate_row, _kss_row, _speed_row, _events_row, _truth_row, _actions_row, _policy_row,
    )
    rows = [row for row in (b(inp) for b in builders) if row is not None]
    if not rows:  # no per-frame table and no event in the log: a page that says so
        fig = go.Figure()
        fig.add_annotation(text="nothing to plot: no per-frame table and no events", showarrow=False,
                           xref="paper", yref="paper", x=0.5, y=0.5)
        fig.update_layout(template="plotly_white", height=200, xaxis={"visible": False}, yaxis={"visible": False})
        return fig
    heights = [r.pixels for r in rows]
    total = sum(heights) + 40 * len(rows)
    fig = make_subplots(
        rows=len(rows), cols=1, shared_xaxes=True, vertical_spacing=min(0.02, 30 / total),
        row_heights=[h / sum(heights) for h in heights],
        specs=[[{"secondary_y": r.secondary_title is not None}] for r in rows],
        subplot_titles=[r.title for r in rows],
    )
    for i, row in enumerate(rows, 1):
        legend = "legend" if i == 1 else f"legend{i}"
        for trace, secondary in row.traces:
            trace.update(legend=legend)
            fig.add_trace(trace, row=i, col=1, secondary_y=secondary if row.secondary_title is not None else None)
        axis: dict[str, Any] = {"title_text": row.y_title, "fixedrange": True}
        if row.lanes is not None:
            axis.update(tickvals=list(range(len(row.lanes))), ticktext=row.lanes,
                        range=[-0.6, len(row.lanes) - 0.4], showgrid=False, zeroline=False)
        elif row.y_range is not None:
            axis["range"] = list(row.y_range)
        fig.update_yaxes(axis, row=i, col=1, secondary_y=False)
        if row.secondary_title is not None:
            low, high = row.secondary_range or (0.0, 1.0)
            fig.update_yaxes(title_text=row.secondary_title, range=[low, high], tickmode="array",
                             tickvals=[low, (low + high) / 2, high], tickformat=".1f",
                             fixedrange=True, showgrid=False, row=i, col=1, secondary_y=True)
        domain = fig.get_subplot(i, 1).yaxis.domain
        fig.update_layout({legend: {"y": domain[1], "yanchor": "top", "x": 1.02, "xanchor": "left",
                                    "font": {"size": 10}, "tracegroupgap": 2, "bgcolor": "rgba(255,255,255,0.6)"}})
    _shade_event_spans(fig, inp)
    _mark_calibration(fig, inp)
    _mark_journeys(fig, inp)
    t0, t1 = inp.data.start_t, inp.data.end_t
    fig.update_xaxes(showspikes=True, spikemode="across", spikesnap="cursor", spikethickness=1,
                     spikedash="solid", spikecolor="#888", range=[t0, max(t1, t0 + 1e-3)])
    fig.update_xaxes(title_text="t (s from the start of the recording)", showticklabels=True, row=len(rows), col=1)
    fig.update_layout(
        template="plotly_white", height=total, margin={"l": 70, "r": 210, "t": 40, "b": 50},
        hovermode="x unified", dragmode="zoom", hoverlabel={"namelength": -1},
        uirevision="keep", font={"size": 11},
    )
    return fig


# -- helpers ---------------------------------------------------------------------------------

def frame_gaps(t: np.ndarray, config: Config) -> np.ndarray:
    """Indices i where no frame came from t[i] to t[i + 1] for longer than camera health's
    no-frame timeout (`camera.no_frame_timeout_periods` of the drive's frame period): a
    recording gap, a camera_fault no_frame in the log. Nothing was seen there, so no line and
    no zone band may cross it."""
    if len(t) < 2:
        return np.zeros(0, dtype=np.int64)
    steps = np.diff(t)
    period = float(np.median(steps))
    if not period > 0:
        period = config.camera.frame_period_s
    return np.flatnonzero(steps > config.camera.no_frame_timeout_periods * period)


def _line(inp: FigureInput, values: np.ndarray, name: str, colour: str, width: float = 1.4,
          dash: str | None = None, step: bool = False, fmt: str = ".3f", times: np.ndarray | None = None) -> go.Scatter:
    t = inp.data.t if times is None else times
    idx = m4_indices(values, inp.max_points)
    gaps = frame_gaps(t, inp.config)
    x, y = t.astype(np.float64), values.astype(np.float64)
    if len(gaps):
        # The last frame before and the first after each gap drawn, and a missing value between
        # them: the line stops where the frames stop.
        idx = np.union1d(idx, np.concatenate([gaps, gaps + 1]))
        x, y = x[idx], y[idx]
        at = np.searchsorted(idx, gaps, side="right")
        x = np.insert(x, at, (t[gaps] + t[gaps + 1]) / 2)
        y = np.insert(y, at, np.nan)
    else:
        x, y = x[idx], y[idx]
    return go.Scatter(
        x=x.astype(np.float32), y=y.astype(np.float32), name=name, mode="lines",
        line={"color": colour, "width": width, "dash": dash, "shape": "hv" if step else "linear"},
        hovertemplate=f"%{{y:{fmt}}}",
    )


def _hline(inp: FigureInput, value: float, name: str, colour: str, dash: str = "dash") -> go.Scatter:
    return go.Scatter(x=[inp.data.start_t, inp.data.end_t], y=[value, value], name=name, mode="lines",
                      line={"color": colour, "width": 1, "dash": dash}, hoverinfo="skip")


def _columns(inp: FigureInput, row: str, names: Sequence[str]) -> list[str]:
    """The columns of `names` this replay has; the missing ones noted once per row."""
    present = [n for n in names if n in inp.data.numeric]
    missing = [n for n in names if n not in inp.data.numeric]
    if missing and inp.data.frames:
        inp.notes.append(f"{row}: no column {', '.join(missing)} in this replay's table (older replay?): not drawn")
    return present


def _calibrated_line(inp: FigureInput) -> tuple[float, dict[str, Any]] | None:
    lines = [s for s in inp.timeline.state_lines("calibrated") if s.detail.get("calibrated", True)]
    return (lines[0].t, dict(lines[0].detail)) if lines else None


def _baseline_trace(inp: FigureInput, key: str, default: float, name: str, colour: str) -> go.Scatter:
    """A driver baseline as a step: the population default until the `calibrated` state line,
    then the driver's own value from it."""
    t0, t1 = inp.data.start_t, inp.data.end_t
    cal = _calibrated_line(inp)
    value = cal[1].get(key) if cal is not None else None
    if cal is None or not isinstance(value, (int, float)):
        return go.Scatter(x=[t0, t1], y=[default, default], name=f"{name} (population default)", mode="lines",
                          line={"color": colour, "width": 1, "dash": "dot"}, hoverinfo="skip")
    tc = cal[0]
    return go.Scatter(x=[t0, tc, tc, t1], y=[default, default, value, value], name=f"{name} (calibrated {value:.3g})",
                      mode="lines", line={"color": colour, "width": 1, "dash": "dash"}, hoverinfo="skip")


# -- signal rows -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Trace:
    """How one column is drawn."""

    column: str
    colour: str
    width: float = 1.4
    dash: str | None = None
    step: bool = False
    fmt: str = ".3f"


def _signal_row(inp: FigureInput, label: str, title: str, traces: Sequence[Trace], y_title: str,
                y_range: tuple[float, float] | None = None,
                hlines: Sequence[tuple[float, str, str, str]] = ()) -> Row | None:
    """A row of per-frame columns (those the table has) and horizontal threshold lines
    (value, name, colour, dash); None when the table has none of the columns."""
    present = _columns(inp, label, [t.column for t in traces])
    if not present:
        return None
    row = Row(title, y_title=y_title, y_range=y_range)
    for t in traces:
        if t.column in present:
            row.traces.append((_line(inp, inp.data.column(t.column), t.column, t.colour, t.width, t.dash, t.step, t.fmt), False))
    row.traces += [(_hline(inp, value, name, colour, dash), False) for value, name, colour, dash in hlines]
    return row


def _eye_closure_row(inp: FigureInput) -> Row | None:
    d = inp.config.drowsiness
    return _signal_row(
        inp, "eye closure", "Eye closure (0 open .. 1 closed, against the driver's open eye)",
        [Trace("eye_closure", "#1f3a93", 1.6), Trace("eye_closure_left", "#5dade2", 0.8),
         Trace("eye_closure_right", "#af7ac5", 0.8)], "closure", (-0.05, 1.05),
        [(d.blink.closed_threshold, f"closed from {d.blink.closed_threshold:g}", "#c0392b", "dash"),
         (d.blink.open_threshold, f"open below {d.blink.open_threshold:g}", "#27ae60", "dash"),
         (d.perclos.closed_closure, f"PERCLOS closed {d.perclos.closed_closure:g}", "#7f8c8d", "dot")])


def _ear_row(inp: FigureInput) -> Row | None:
    colours = {"ear_left": "#2874a6", "ear_right": "#884ea0"}
    row = _signal_row(inp, "EAR", "Eye aspect ratio against the driver's open level",
                      [Trace(c, colour, 1.0) for c, colour in colours.items()], "EAR", (0, 0.45))
    if row is not None:
        for c, colour in colours.items():
            side = c.removeprefix("ear_")
            row.traces.append((_baseline_trace(inp, f"open_ear_{side}", POPULATION_OPEN_EAR, f"open EAR {side}", colour), False))
    return row


def _perclos_row(inp: FigureInput) -> Row | None:
    return _signal_row(inp, "PERCLOS", "PERCLOS (P80, time-weighted)",
                       [Trace("perclos_60s", "#b9770e"), Trace("perclos_180s", "#6e2c00")], "share", (0, 0.4),
                       [(value, name, "#c0392b" if value > 0.1 else "#f39c12", "dot") for value, name in PERCLOS_BANDS])


def _blink_row(inp: FigureInput) -> Row | None:
    blinks = [s for s in inp.timeline.named("blink") if finite_number(s.detail.get("duration_s")) is not None]
    if not blinks:
        inp.notes.append("blink durations: no blink events in this replay")
        return None
    row = Row("Blink durations", y_title="s")
    slow = inp.config.drowsiness.blink.slow_min_duration_s
    for is_slow, colour, label in ((False, "#5d6d7e", "blink"), (True, "#e67e22", f"slow blink (>= {slow:g} s)")):
        chosen = [b for b in blinks if (float(b.detail["duration_s"]) >= slow) == is_slow]
        if chosen:
            row.traces.append((go.Scatter(
                x=[b.onset_t for b in chosen], y=[float(b.detail["duration_s"]) for b in chosen], name=label,
                mode="markers", marker={"color": colour, "size": 6},
                hovertemplate="%{y:.3f} s closure"), False))
    row.traces.append((_hline(inp, slow, f"slow from {slow:g} s", "#e67e22", "dot"), False))
    return row


def _head_row(inp: FigureInput) -> Row | None:
    row = _signal_row(inp, "head pose", "Head pose (yaw + to the driver's left, pitch + down)",
                      [Trace("head_yaw_deg", "#1abc9c", 1.2, fmt=".1f"), Trace("head_pitch_deg", "#e74c3c", 1.2, fmt=".1f"),
                       Trace("head_roll_deg", "#95a5a6", 1.2, fmt=".1f")], "deg")
    cal = _calibrated_line(inp)
    if row is not None and cal is not None:
        for key, colour in (("neutral_yaw_deg", "#1abc9c"), ("neutral_pitch_deg", "#e74c3c")):
            if isinstance(cal[1].get(key), (int, float)):
                row.traces.append((_baseline_trace(inp, key, 0.0, key.replace("_deg", ""), colour), False))
    return row


def _zone_row(inp: FigureInput) -> Row | None:
    zones = inp.data.text.get("gaze_zone")
    if zones is None:
        if inp.data.frames:
            inp.notes.append("gaze zone: no gaze_zone column in this replay's table: not drawn")
        return None
    t = inp.data.t
    row = Row("Gaze zone", y_title="", y_range=(0, 1))
    # Each run of one zone is a band from its first frame to the next run's first frame; a run
    # stops at a gap in the frames (nothing seen there) one frame period after its last frame.
    gaps = frame_gaps(t, inp.config)
    ends = np.append(t[1:], t[-1] if len(t) else 0.0)
    if len(gaps):
        ends[gaps] = t[gaps] + float(np.median(np.diff(t)))
    cuts = np.zeros(len(t), dtype=np.int64)
    cuts[gaps + 1] = 1
    segment = np.cumsum(cuts)
    by_zone: dict[str, list[tuple[float, float]]] = {}
    for first, last, key in runs([(int(s), z) for s, z in zip(segment, zones, strict=True)]):
        by_zone.setdefault(key[1] or "unknown", []).append((float(t[first]), float(ends[last])))
    seen_s = sum(b - a for spans in by_zone.values() for a, b in spans)
    for zone in sorted(by_zone, key=lambda z: (z != "road", z)):
        xs, ys = _rectangles(by_zone[zone], 0.0, 1.0)
        share = sum(b - a for a, b in by_zone[zone]) / max(seen_s, 1e-9) if len(t) > 1 else 0.0
        row.traces.append((go.Scatter(x=xs, y=ys, name=f"{zone} ({100 * share:.0f} %)", mode="lines", fill="toself",
                                      fillcolor=zone_colour(zone), line={"width": 0, "color": zone_colour(zone)},
                                      hoveron="fills", hoverinfo="name"), False))
    return row


def _off_road_row(inp: FigureInput) -> Row | None:
    return _signal_row(inp, "eyes off road", "Eyes off road and the AttenD buffer",
                       [Trace("eyes_off_road_s", "#c0392b", 1.5, fmt=".2f"), Trace("attend_buffer_s", "#2471a3", 1.2, fmt=".2f"),
                        Trace("long_distraction_threshold_s", "#7f8c8d", 1.0, "dash", True, ".2f")], "s")


def _jaw_row(inp: FigureInput) -> Row | None:
    y = inp.config.drowsiness.yawn
    return _signal_row(inp, "jaw open", "Jaw open (yawns)", [Trace("jaw_open", "#16a085")], "jawOpen", (0, 1),
                       [(y.jaw_open_min, f"open from {y.jaw_open_min:g}", "#c0392b", "dash"),
                        (y.jaw_close_max, f"closed below {y.jaw_close_max:g}", "#27ae60", "dash")])


def _heart_rate_row(inp: FigureInput) -> Row | None:
    row = _signal_row(inp, "heart rate", "Heart rate and its quality", [Trace("heart_rate_bpm", "#c0392b", 1.5, fmt=".1f")], "bpm")
    if row is None:
        return None
    row.secondary_title, row.secondary_range = "quality", (0.0, 1.0)
    if not np.isfinite(inp.data.column("heart_rate_bpm")).any():
        row.y_range = (40.0, 140.0)
        inp.notes.append("heart rate: no estimate in this drive (camera abstained, no sensor): row left empty")
    if "heart_rate_quality" in inp.data.numeric:
        q = _line(inp, inp.data.column("heart_rate_quality"), "heart_rate_quality", "#aab7b8", 0.8, step=True, fmt=".2f")
        q.update(fill="tozeroy", fillcolor="rgba(170,183,184,0.25)")
        row.traces.append((q, True))
    return row


def _kss_row(inp: FigureInput) -> Row | None:
    d = inp.config.drowsiness.drowsy
    return _signal_row(inp, "KSS", "KSS-like drowsiness level", [Trace("kss_level", "#6c3483", 1.6, step=True, fmt=".0f")],
                       "KSS", (0.5, 9.5), [(d.start_level, f"drowsy from {d.start_level:g}", "#c0392b", "dash")])


def _speed_row(inp: FigureInput) -> Row | None:
    if inp.speed_kph is None:
        return None
    row = Row("Vehicle speed", y_title="km/h")
    row.traces.append((_line(inp, inp.speed_kph, "speed_kph", "#2c3e50", 1.4, fmt=".1f"), False))
    return row


# -- lanes -----------------------------------------------------------------------------------

def _rectangles(spans: Sequence[tuple[float, float]], y0: float, y1: float) -> tuple[list[float | None], list[float | None]]:
    xs: list[float | None] = []
    ys: list[float | None] = []
    for a, b in spans:
        xs += [a, b, b, a, a, None]
        ys += [y0, y0, y1, y1, y0, None]
    return xs, ys


def _detail_text(span: Span) -> str:
    keys = [f"{k}={v}" for k, v in span.detail.items() if k not in ("evidence",) and not isinstance(v, dict)]
    return ", ".join(keys[:8])


def _cut_text(timeline: Timeline, span: Span) -> str:
    """Why a span ended other than by its rule: the drive ended with it on, or a camera fault
    (a reload) closed it."""
    if span.before_log:
        return " (on already when the log began)"
    if not span.truncated or span.instantaneous:
        return ""
    if timeline.open_at_end(span):
        return " (still on at the end of the drive)"
    return f" (cut short: {span.end_detail.get('reason') or 'closed by the pipeline'})"


def _events_row(inp: FigureInput) -> Row | None:
    events = [s for s in inp.timeline.events]
    names = sorted({s.name for s in events})
    if inp.truth is not None:
        names = sorted(set(names) | {m.row for m in inp.truth.marks if m.status != "missed"})
    if not names:
        inp.notes.append("events: none in this replay")
        return None
    lanes = names
    row = Row("Events (spans from the rule firing to the end; onset in the hover)", lanes=lanes)
    why = {id(u.event): u for u in inp.unwarned or []}
    for i, name in enumerate(lanes):
        colour = event_colour(name)
        spans = [s for s in events if s.name == name and not s.instantaneous]
        if spans:
            xs, ys = _rectangles([(s.start_t, s.end_t) for s in spans], i - 0.35, i + 0.35)
            row.traces.append((go.Scatter(x=xs, y=ys, mode="lines", fill="toself", fillcolor=rgba(colour, 0.55),
                                          line={"width": 0.5, "color": colour}, hoverinfo="skip",
                                          name=name, legendgroup=name), False))
        marks = [s for s in events if s.name == name]
        if marks:
            row.traces.append((go.Scatter(
                x=[s.start_t for s in marks], y=[i] * len(marks), mode="markers",
                marker={"symbol": "line-ns-open" if marks[0].instantaneous else "triangle-right", "size": 9, "color": colour,
                        "line": {"width": 2, "color": colour}},
                name=name, legendgroup=name, showlegend=not spans,
                hovertext=[f"{s.name} {s.start_t:.2f}" + ("" if s.instantaneous else f"-{s.end_t:.2f} s") +
                           _cut_text(inp.timeline, s) + f" (onset {s.onset_t:.2f}) {_detail_text(s)}" +
                           (f" | {why[id(s)].text}" if id(s) in why else "") for s in marks],
                hoverinfo="text"), False))
    if inp.truth is not None:
        _add_marks(row, [m for m in inp.truth.marks if m.status != "missed"], lanes)
    return row


def _add_marks(row: Row, marks: Sequence[Any], lanes: list[str]) -> None:
    symbols = {"found": "circle-open", "missed": "x-thin-open", "false": "x"}
    for status in ("found", "missed", "false"):
        chosen = [m for m in marks if m.status == status and m.row in lanes]
        if chosen:
            row.traces.append((go.Scatter(
                x=[m.t for m in chosen], y=[lanes.index(m.row) for m in chosen], mode="markers", name=status,
                marker={"symbol": symbols[status], "size": 14, "color": STATUS_COLOURS[status], "line": {"width": 2.5, "color": STATUS_COLOURS[status]}},
                hovertext=[m.text for m in chosen], hoverinfo="text", legendgroup=f"score-{status}"), False))


def _truth_row(inp: FigureInput) -> Row | None:
    truth = inp.truth
    if truth is None:
        return None
    lanes = sorted({s.name for s in truth.spans} | {m.row for m in truth.marks if m.status == "missed"})
    if not lanes:
        inp.notes.append(f"ground truth ({truth.source}): nothing labelled in this drive")
        return None
    row = Row(f"Ground truth ({truth.source})", lanes=lanes)
    for status in ("found", "missed", "ambiguous", ""):
        spans = [s for s in truth.spans if s.status == status]
        if not spans:
            continue
        colour = STATUS_COLOURS[status]
        xs: list[float | None] = []
        ys: list[float | None] = []
        for s in spans:
            i = lanes.index(s.name)
            x, y = _rectangles([(s.start_t, max(s.end_t, s.start_t + 0.05))], i - 0.35, i + 0.35)
            xs += x
            ys += y
        label = {"found": "truth: found", "missed": "truth: missed", "ambiguous": "ambiguous", "": "truth: not scored"}[status]
        row.traces.append((go.Scatter(x=xs, y=ys, mode="lines", fill="toself", fillcolor=rgba(colour, 0.45),
                                      line={"width": 1, "color": colour}, name=label, hoverinfo="skip"), False))
        row.traces.append((go.Scatter(
            x=[s.start_t for s in spans], y=[lanes.index(s.name) for s in spans], mode="markers",
            marker={"size": 5, "color": colour}, showlegend=False, hoverinfo="text",
            hovertext=[f"{s.name} {s.start_t:.2f}-{s.end_t:.2f} s {s.status} {s.note}" for s in spans]), False))
    _add_marks(row, [m for m in truth.marks if m.status == "missed"], lanes)
    return row


def _actions_row(inp: FigureInput) -> Row | None:
    actions = inp.timeline.actions
    if not actions:
        inp.notes.append("actions: the policy took none in this replay")
        return None
    lanes = sorted({a.name for a in actions})
    row = Row("Actions (policy; colour = level, label = ladder stage)", lanes=lanes)
    # An action stays on (no new line) while its condition's ladder moves on: a visual icon
    # shown from an advisory into a warning, or left on at level 1 when the warning's chime
    # and seat ended. Each bar is coloured piece by piece with the level the policy was at.
    changes = level_changes(actions)
    pieces: dict[int, list[tuple[float, float, int]]] = {}
    for a in actions:
        for t0, t1, level in _pieces(a, changes):
            pieces.setdefault(level, []).append((t0, t1, lanes.index(a.name)))
    marked = {_level(a) for a in actions}
    for level in sorted(set(pieces) | marked):
        colour = LEVEL_COLOURS.get(level, "#7f8c8d")
        xs: list[float | None] = []
        ys: list[float | None] = []
        for t0, t1, i in pieces.get(level, []):
            x, y = _rectangles([(t0, t1)], i - 0.3, i + 0.3)
            xs += x
            ys += y
        if xs:
            row.traces.append((go.Scatter(x=xs, y=ys, mode="lines", fill="toself", fillcolor=rgba(colour, 0.5),
                                          line={"width": 0.5, "color": colour}, hoverinfo="skip",
                                          name=f"level {level}", legendgroup=f"level{level}",
                                          showlegend=level not in marked), False))
        chosen = [a for a in actions if _level(a) == level]
        if not chosen:
            continue
        row.traces.append((go.Scatter(
            x=[a.start_t for a in chosen], y=[lanes.index(a.name) for a in chosen], mode="markers+text",
            text=[f"s{a.stage}" if a.stage is not None else "" for a in chosen], textposition="middle right",
            textfont={"size": 9}, marker={"symbol": "diamond", "size": 9, "color": colour},
            name=f"level {level}", legendgroup=f"level{level}",
            hovertext=[_action_text(a, changes) for a in chosen], hoverinfo="text"), False))
    return row


def level_changes(actions: Sequence[Span]) -> list[tuple[float, int]]:
    """The policy's level (the highest of the actions on, policy/actions.py level_of) from each
    time it changed, as (t, level)."""
    starts: dict[float, list[str]] = {}
    ends: dict[float, list[str]] = {}
    for a in actions:
        if a.end_t > a.start_t:
            starts.setdefault(a.start_t, []).append(a.name)
            ends.setdefault(a.end_t, []).append(a.name)
    on: Counter[str] = Counter()
    out: list[tuple[float, int]] = []
    for t in sorted(set(starts) | set(ends)):
        on.subtract(ends.get(t, []))
        on.update(starts.get(t, []))
        level = max((ACTION_LEVEL.get(name, LEVEL_NONE) for name, n in on.items() if n > 0), default=LEVEL_NONE)
        if not out or out[-1][1] != level:
            out.append((t, level))
    return out


def _level_at(changes: Sequence[tuple[float, int]], t: float) -> int:
    i = bisect.bisect_right([c[0] for c in changes], t) - 1
    return changes[i][1] if i >= 0 else LEVEL_NONE


def _pieces(a: Span, changes: Sequence[tuple[float, int]]) -> list[tuple[float, float, int]]:
    """The action's bar cut where the policy's level changed while it was on."""
    cuts = [a.start_t] + [t for t, _ in changes if a.start_t < t < a.end_t] + [a.end_t]
    out: list[tuple[float, float, int]] = []
    for t0, t1 in zip(cuts[:-1], cuts[1:], strict=True):
        level = _level_at(changes, t0) if a.end_t > a.start_t else _level(a)
        if out and out[-1][2] == level:
            out[-1] = (out[-1][0], t1, level)
        else:
            out.append((t0, t1, level))
    return out


def _action_text(a: Span, changes: Sequence[tuple[float, int]]) -> str:
    """Condition, level and stage at the start, and what they came to while it was on."""
    levels = [lv for _, _, lv in _pieces(a, changes)] or [_level(a)]
    stage = "?" if a.stage is None else str(a.stage)
    end_stage = a.end_detail.get("stage")
    if isinstance(end_stage, int) and not isinstance(end_stage, bool) and str(end_stage) != stage:
        stage += f" to {end_stage}"
    level = str(a.detail.get("level", "?"))
    if len(levels) > 1:  # neighbouring pieces of one level are merged
        level = " to ".join(str(lv) for lv in levels)
    return f"{a.name} {a.start_t:.2f}-{a.end_t:.2f} s: {a.detail.get('condition', '?')}, level {level}, stage {stage}"


def _level(span: Span) -> int:
    level = finite_number(span.detail.get("level"))
    return 0 if level is None else int(level)


def _policy_row(inp: FigureInput) -> Row | None:
    """Where the policy could warn: monitoring active (its state lines), the ignition known off,
    each speed gate closed, the driver's ACKs, and each condition event that got no warning
    with why (report/no_warning.py)."""
    policy = inp.policy
    assert policy is not None
    t1 = inp.data.end_t
    if not inp.config.policy.enabled:
        inp.notes.append("policy disabled in the replay's config (policy.enabled false): no actions, and no "
                         "monitoring_active state lines in this log")
    active = policy.monitoring_active()
    if active is None and inp.config.policy.enabled:
        inp.notes.append("policy: no monitoring_active state lines in this log (an older replay, or "
                         "outputs.log_state_changes off): monitoring taken as active throughout")
    lanes: list[tuple[str, list[tuple[float, float]], str, str]] = []  # lane, spans, colour, hover
    if active is not None:
        lanes.append(("monitoring active", [(a, min(b, t1)) for a, b in active], "#27ae60",
                      "monitoring active (policy.monitoring.activation_s at speed in the journey, ignition on)"))
    ignition = policy.ignition_off()
    if ignition:
        lanes.append(("ignition off", ignition, "#7f8c8d", "vehicle_ignition_on false"))
    gates = policy.gate_closed()
    if policy.speed_kph is None and inp.config.policy.enabled:
        inp.notes.append("policy: vehicle speed unknown: speed gates not drawn (a gate with unknown speed is open)")
    by_speed: dict[float, list[str]] = {}
    for name, cfg in conditions_of(inp.config).items():
        if cfg.enabled and name in gates:
            by_speed.setdefault(cfg.min_speed_kph, []).append(name)
    hysteresis = inp.config.policy.monitoring.speed_gate_hysteresis_kph
    for speed, names in sorted(by_speed.items()):
        spans = [(a, min(b, t1)) for a, b in gates[names[0]]]
        lanes.append((f"gate {speed:g} km/h closed", spans, "#e67e22",
                      f"closed below {speed - hysteresis:g} until {speed:g} km/h: {', '.join(names)}"))
    acks = policy.timeline.state_lines("driver_ack")
    unwarned = inp.unwarned or []
    names = [lane for lane, *_ in lanes] + (["driver ACK"] if acks else []) + (["no warning"] if unwarned else [])
    if not names:
        return None
    row = Row("Policy: where it could warn (monitoring, speed gates), ACKs, and why an event got no warning", lanes=names)
    for i, (lane, spans, colour, hover) in enumerate(lanes):
        spans = [(a, b) for a, b in spans if b > a]
        xs, ys = _rectangles(spans, i - 0.3, i + 0.3)
        row.traces.append((go.Scatter(x=xs, y=ys, mode="lines", fill="toself", fillcolor=rgba(colour, 0.45),
                                      line={"width": 0.5, "color": colour}, name=lane, hoveron="fills",
                                      hoverinfo="name+text", text=hover), False))
    if acks:
        row.traces.append((go.Scatter(
            x=[a.t for a in acks], y=[names.index("driver ACK")] * len(acks), mode="markers", name="driver ACK",
            marker={"symbol": "star", "size": 10, "color": "#2471a3"},
            hovertext=[f"driver ACK {a.t:.2f} s: {a.detail.get('condition', '?')}" for a in acks], hoverinfo="text"), False))
    if unwarned:
        row.traces.append((go.Scatter(
            x=[u.event.start_t for u in unwarned], y=[names.index("no warning")] * len(unwarned), mode="markers",
            name="no warning", marker={"symbol": "x", "size": 9, "color": "#c0392b"},
            hovertext=[f"{u.event.name} {u.event.start_t:.2f} s: {u.text}" for u in unwarned], hoverinfo="text"), False))
    return row


# -- shapes across all rows ------------------------------------------------------------------

def _shade_event_spans(fig: go.Figure, inp: FigureInput) -> None:
    spans = [s for s in inp.timeline.spans("event") if s.duration_s > 0]
    if len(spans) > MAX_SHADED_SPANS:
        inp.notes.append(f"{len(spans)} event spans: only the first {MAX_SHADED_SPANS} are shaded across all rows "
                         "(the events lane shows every one)")
        spans = spans[:MAX_SHADED_SPANS]
    shapes = [{"type": "rect", "xref": "x", "yref": "paper", "x0": s.start_t, "x1": s.end_t, "y0": 0, "y1": 1,
               "fillcolor": rgba(event_colour(s.name), 0.08), "line": {"width": 0}, "layer": "below"} for s in spans]
    fig.update_layout(shapes=list(fig.layout.shapes) + shapes)


def _mark_calibration(fig: go.Figure, inp: FigureInput) -> None:
    """`calibrating` (road ahead unknown: distraction not judged) shaded grey on every row;
    the moment calibration completed as a dashed line."""
    shapes: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    since: float | None = None
    for line in inp.timeline.state_lines("calibrating"):
        if line.detail.get("calibrating") and since is None:
            since = line.t
        elif not line.detail.get("calibrating") and since is not None:
            shapes.append(_grey(since, line.t))
            since = None
    if since is not None:
        shapes.append(_grey(since, inp.data.end_t))
    cal = _calibrated_line(inp)
    if cal is not None:
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": cal[0], "x1": cal[0], "y0": 0, "y1": 1,
                       "line": {"color": "#1e8449", "width": 1, "dash": "dash"}})
        annotations.append({"xref": "x", "yref": "paper", "x": cal[0], "y": 1.0, "text": "calibrated", "showarrow": False,
                            "font": {"color": "#1e8449", "size": 10}, "yanchor": "bottom"})
    fig.update_layout(shapes=list(fig.layout.shapes) + shapes, annotations=list(fig.layout.annotations) + annotations)


def _mark_journeys(fig: go.Figure, inp: FigureInput) -> None:
    """Each journey start (the policy resets activation, ACKs and cooldowns there) as a dotted
    line across every row."""
    shapes: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for line in inp.timeline.state_lines("journey_start"):
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": line.t, "x1": line.t, "y0": 0, "y1": 1,
                       "line": {"color": "#2471a3", "width": 1, "dash": "dot"}})
        annotations.append({"xref": "x", "yref": "paper", "x": line.t, "y": 1.0, "showarrow": False,
                            "text": f"journey {line.detail.get('journey', '?')} ({line.detail.get('reason', '?')})",
                            "font": {"color": "#2471a3", "size": 10}, "yanchor": "bottom", "xanchor": "left"})
    fig.update_layout(shapes=list(fig.layout.shapes) + shapes, annotations=list(fig.layout.annotations) + annotations)


def _grey(t0: float, t1: float) -> dict[str, Any]:
    return {"type": "rect", "xref": "x", "yref": "paper", "x0": t0, "x1": t1, "y0": 0, "y1": 1,
            "fillcolor": "rgba(127,140,141,0.10)", "line": {"width": 0}, "layer": "below"}
