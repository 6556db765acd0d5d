"""A report over many drives: one row per drive (its score against ground truth, linking to
that drive's own report), then the totals per event name. Made for corpus evaluation: its
caller scores each drive (evaluation/scoring.py `score` -> {name: NameScore}, or
evaluation/truth.py `score_clip` -> ClipScore), writes each drive's report, and hands the
list here.

    write_corpus_report([CorpusDrive("sleep_4s", Path("out/sleep_4s.html"), scores), ...],
                        Path("out/index.html"))
"""

from __future__ import annotations

import html
import os
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from driver_monitor import __version__
from driver_monitor.errors import InputError
from driver_monitor.evaluation.corpus import Tally, primary_name
from driver_monitor.evaluation.scoring import NameScore
from driver_monitor.evaluation.truth import ClipScore
from driver_monitor.outputs.files import open_private
from driver_monitor.report.page import CSP, PLOTTED_SCRIPT, STYLE, render_table
from driver_monitor.report.summary import Table


@dataclass
class CorpusDrive:
    name: str
    report_path: Path | None  # the drive's own report (linked relative to the corpus page)
    scores: Mapping[str, NameScore] | ClipScore | None = None
    # Extra columns shown as given (frames, face found %, duration, a note...).
    info: Mapping[str, Any] = field(default_factory=dict)

    def counts_by_name(self) -> dict[str, Tally]:
        out: dict[str, Tally] = {}
        if isinstance(self.scores, ClipScore):
            # Counted in the rows `eval` counts them in (an expectation's primary name: a
            # microsleep-or-sleep found by a sleep is a microsleep row's), so both tables agree.
            for exp, alert in self.scores.found:
                out.setdefault(primary_name(exp.names), Tally()).add(Tally(1, 1, 0, [alert.t - exp.behaviour.start_s]))
            for exp in self.scores.missed:
                out.setdefault(primary_name(exp.names), Tally()).add(Tally(1, 0, 0))
            for alert in self.scores.false_alerts:
                out.setdefault(alert.name, Tally()).add(Tally(0, 0, 1))
        elif self.scores is not None:
            for name, s in self.scores.items():
                out[name] = Tally(s.labels, s.found, s.false_alarms, list(s.latencies_s))
        return out

    def counts(self) -> Tally:
        total = Tally()
        for c in self.counts_by_name().values():
            total.add(c)
        return total


def write_corpus_report(drives: Sequence[CorpusDrive], out_path: str | Path, title: str = "driver-monitor corpus") -> Path:
    out_path = Path(out_path)
    info_keys = list(dict.fromkeys(k for d in drives for k in d.info))
    drive_rows: list[str] = []
    totals = Tally()
    by_name: dict[str, Tally] = {}
    for d in drives:
        c = d.counts()
        totals.add(c)
        for name, nc in d.counts_by_name().items():
            by_name.setdefault(name, Tally()).add(nc)
        link = html.escape(d.name)
        if d.report_path is not None:
            href = os.path.relpath(Path(d.report_path).resolve(), out_path.resolve().parent)
            link = f'<a href="{html.escape(Path(href).as_posix())}">{link}</a>'
        verdict = "" if d.scores is None else ("ok" if c.missed == 0 and c.false == 0 else "FAIL")
        cells = [f"<td>{link}</td>", *(f"<td>{html.escape(str(d.info.get(k, '')))}</td>" for k in info_keys),
                 *(f'<td class="num">{v}</td>' for v in (c.labels, c.found, c.missed, c.false)),
                 f'<td class="{"found" if verdict == "ok" else "missed"}">{verdict}</td>']
        drive_rows.append("<tr>" + "".join(cells) + "</tr>")
    header = ["drive", *info_keys, "expected", "found", "missed", "false", ""]
    name_table = Table("Per event, all drives", ("event", "expected", "found", "missed", "false", "recall", "precision",
                                                 "latency s (median, max)"), id="per-event")
    for name, c in sorted(by_name.items()):
        name_table.rows.append((name, c.labels, c.found, c.missed, c.false, _share(c.recall), _share(c.precision),
                                _latency(c.latencies_s)))
    name_table.rows.append(("all", totals.labels, totals.found, totals.missed, totals.false, _share(totals.recall),
                            _share(totals.precision), _latency(totals.latencies_s)))
    page = "".join([
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><p class=\"sub\">{len(drives)} drives, driver-monitor {__version__}</p>",
        "<section id=\"drives\"><h2>Drives</h2><table><tr>", "".join(f"<th>{html.escape(h)}</th>" for h in header), "</tr>",
        *drive_rows, "</table></section>", render_table(name_table), f"<script>{PLOTTED_SCRIPT}</script></body></html>",
    ])
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        with open_private(out_path, "w", encoding="utf-8") as fh:  # every drive's scores, the drivers' states
            fh.write(page)
    except OSError as exc:
        raise InputError(f"{out_path}: cannot write the corpus report ({exc.strerror or exc.__class__.__name__})") from None
    return out_path


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _latency(latencies_s: Sequence[float]) -> str:
    if not latencies_s:
        return "-"
    return f"{statistics.median(latencies_s):.2f}, {max(latencies_s):.2f}"  # the median as `eval`'s
