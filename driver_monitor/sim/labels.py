"""Ground-truth events derived from a scenario's script (labels.jsonl).

Labels follow the event-log contract (docs/event-log.md) with one difference in timing: a
label's `t` is the ONSET of the behaviour (when the lids pass half-closed, the gaze leaves
the road, ...), not when a detector could know it; `detail.onset_t` repeats it and end
events carry the time the behaviour ended. Duration events get phase start / end;
instantaneous ones (blink, yawn, nod) get phase None with detail.duration_s.

The definitions are the standards' (REFERENCE.md "What the standards ask"); they define
what a scripted behaviour IS, independently of any detector's configuration.
"""

from __future__ import annotations

from driver_monitor.messages import Event
from driver_monitor.names import EventName
from driver_monitor.sim import scenario as sc
from driver_monitor.sim.timeline import Timeline, nod_closure_span

# Euro NCAP 2026: microsleep = eye closure of 1-2 s, sleep = continuous closure >= 3 s,
# unresponsive = eyes closed >= 6 s or eyes away >= 6 s. Closures of 2-3 s are labelled
# microsleep (the research range reaches 15 s; Poudel 2014).
MICROSLEEP_MIN_S = 1.0
SLEEP_MIN_S = 3.0
UNRESPONSIVE_MIN_S = 6.0
# Euro NCAP long distraction: >= 3 s of continuous eyes-off-road.
LONG_DISTRACTION_MIN_S = 3.0
# Euro NCAP VATS: >= 10 s of eyes-off-road within 30 s; the window resets after >= 2 s of
# continuous eyes on the road.
VATS_TOTAL_S = 10.0
VATS_WINDOW_S = 30.0
VATS_RESET_ON_ROAD_S = 2.0
# Phone use: repeated glances to the phone; glances less than this apart form one episode.
PHONE_EPISODE_GAP_S = 5.0
# EMFACS anger (Ekman, Friesen & Hager 2002; REFERENCE.md "Emotion, anger and
# daydreaming"): AU4 + AU7 + AU24 all at least this intensity (0..1, FACS E = 1; 0.5 is about
# FACS C, "marked") is an angry expression.
ANGER_UNIT_MIN = 0.5
# A lid closure counts as closed at or above this commanded closure (P80 of PERCLOS).
CLOSED = 0.8


def derive_labels(timeline: Timeline) -> list[Event]:
    s = timeline.scenario
    events: list[Event] = []
    unresponsive: list[tuple[float, float, str]] = []  # (start, end, cause), merged at the end

    def instant(name: str, onset: float, duration: float, **detail: object) -> None:
        events.append(Event(onset, "event", name, None, {"onset_t": onset, "duration_s": round(duration, 4), **detail}))

    def span(name: str, start: float, end: float, **detail: object) -> None:
        end = min(end, s.duration_s)
        events.append(Event(start, "event", name, "start", {"onset_t": start, **detail}))
        events.append(Event(end, "event", name, "end", {"onset_t": end, "duration_s": round(end - start, 4), **detail}))

    for nb in timeline.natural_blinks:
        instant(EventName.BLINK, nb.onset_s, nb.duration_s, source="natural")
    for b in s.timeline:
        if isinstance(b, sc.Blink):
            instant(EventName.BLINK, b.at_s, b.duration_s, source="scripted", eye=b.eye)
        elif isinstance(b, sc.SlowBlink):
            instant(EventName.BLINK, b.at_s, b.duration_s, source="scripted", slow=True)
        elif isinstance(b, (sc.EyesClosed, sc.Doze)) and b.closure >= CLOSED:
            # A doze is a closure with the head sinking: the same events by its length.
            d = b.duration_s
            if d < MICROSLEEP_MIN_S:
                instant(EventName.BLINK, b.at_s, d, source="scripted", slow=True)
            elif d < SLEEP_MIN_S:
                span(EventName.MICROSLEEP, b.at_s, b.at_s + d)
            else:
                span(EventName.SLEEP, b.at_s, b.at_s + d)
            if d >= UNRESPONSIVE_MIN_S:
                unresponsive.append((b.at_s, b.at_s + d, "eyes_closed"))
        elif isinstance(b, sc.Yawn) and b.amount >= 0.5:
            instant(EventName.YAWN, b.at_s, b.duration_s)
        elif isinstance(b, sc.Nod) and b.eyes_closed:
            # `nod` is nodding off (the head drops with the eyes shut); a nod with open eyes
            # (agreeing, a glance at the instrument cluster) is no drowsiness event.
            instant(EventName.NOD, b.at_s, b.duration_s)
            # The closed lids are an eye closure of their own (a slow blink or longer).
            span_c = nod_closure_span(b.at_s, b.duration_s)
            d = span_c.end - span_c.start
            if d < MICROSLEEP_MIN_S:
                instant(EventName.BLINK, span_c.start, d, source="nod", slow=True)
            else:
                span(EventName.MICROSLEEP, span_c.start, span_c.end)
        elif isinstance(b, sc.Expression) and min(b.brow_lower, b.lid_tighten, b.lip_press) >= ANGER_UNIT_MIN:
            span(EventName.ANGER, b.at_s, b.at_s + b.duration_s)
        elif isinstance(b, sc.Absent):
            span(EventName.DRIVER_ABSENT, b.at_s, b.at_s + b.duration_s)
        elif isinstance(b, sc.Label):
            if b.duration_s is None:
                events.append(Event(b.at_s, "event", b.name, None, {"onset_t": b.at_s, **b.detail}))
            else:
                span(b.name, b.at_s, b.at_s + b.duration_s, **b.detail)

    for a, b in _eyes_unavailable(s):
        span(EventName.EYES_UNAVAILABLE, a, b)

    glances = sorted(timeline.zone_spans)
    # Continuous eyes-off-road time: a glance straight into the next (one ending as the next
    # begins) never brings the eyes back to the road in between (glances cannot overlap:
    # scenario.py refuses it).
    for a, b, zones in _merged(glances):
        if b - a >= LONG_DISTRACTION_MIN_S:
            span(EventName.LONG_DISTRACTION, a, b, zone="+".join(zones))
        if b - a >= UNRESPONSIVE_MIN_S:
            unresponsive.append((a, b, "eyes_away"))
    # Eyes closed while looking away: one unresponsive driver, not two overlapping ones (a
    # labels file pairs each start with its end).
    for a, b, causes in _merged(unresponsive):
        span(EventName.UNRESPONSIVE, a, b, cause="+".join(causes))
    for a, b in _vats(glances):
        span(EventName.VISUAL_TIME_SHARING, a, b)
    for a, b in _episodes([(a, b) for a, b, z in glances if z == "phone"], PHONE_EPISODE_GAP_S):
        span(EventName.PHONE_USE, a, b)
    events.sort(key=lambda e: (e.t, e.phase != "end"))
    return events


def _merged(spans: list[tuple[float, float, str]]) -> list[tuple[float, float, list[str]]]:
    """Overlapping (or touching) spans as one, with the causes of its parts in order."""
    out: list[tuple[float, float, list[str]]] = []
    for a, b, cause in sorted(spans):
        if out and a <= out[-1][1]:
            start, end, causes = out[-1]
            out[-1] = (start, max(end, b), causes if cause in causes else [*causes, cause])
        else:
            out.append((a, b, [cause]))
    return out


def _eyes_unavailable(s: sc.Scenario) -> list[tuple[float, float]]:
    """Sunglasses and a hand over the face (degraded monitoring, Euro NCAP)."""
    spans = []
    for b in s.timeline:
        if isinstance(b, sc.Sunglasses):
            spans.append((b.at_s, b.at_s + b.duration_s if b.duration_s is not None else s.duration_s))
        elif isinstance(b, sc.Cover):
            spans.append((b.at_s, b.at_s + b.duration_s))
    return _episodes(spans, 0.0)


def _episodes(spans: list[tuple[float, float]], gap_s: float) -> list[tuple[float, float]]:
    """Merge spans closer than gap_s."""
    out: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if out and a - out[-1][1] <= gap_s:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _vats(glances: list[tuple[float, float, str]]) -> list[tuple[float, float]]:
    """Episodes of non-driving glances (gaps < 2 s on road) holding >= 10 s off-road within
    30 s: from the first glance's onset to the end of the last glance of the episode."""
    off = [(a, b) for a, b, z in glances if z not in sc.DRIVING_ZONES]
    out = []
    for group in _groups(off, VATS_RESET_ON_ROAD_S):
        best = 0.0
        for i, (a, _) in enumerate(group):
            total = sum(min(b2, a + VATS_WINDOW_S) - a2 for a2, b2 in group[i:] if a2 < a + VATS_WINDOW_S)
            best = max(best, total)
        if best >= VATS_TOTAL_S and len(group) >= 2:
            out.append((group[0][0], group[-1][1]))
    return out


def _groups(spans: list[tuple[float, float]], gap_s: float) -> list[list[tuple[float, float]]]:
    groups: list[list[tuple[float, float]]] = []
    for a, b in sorted(spans):
        if groups and a - groups[-1][-1][1] < gap_s:
            groups[-1].append((a, b))
        else:
            groups.append([(a, b)])
    return groups
