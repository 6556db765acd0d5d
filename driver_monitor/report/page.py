"""One self-contained HTML page: plotly.js, the data and the pictures are inlined, and a
Content-Security-Policy forbids the page any network request (a viewer of a report on a
plane, or of a drive that must not leave the laptop, sees the same page).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from driver_monitor.report.plotly_bundle import plotly_js
from driver_monitor.report.summary import Table

# No source but the page itself: no fetch, no font, no CDN. 'unsafe-inline' because every
# script and style is inline by design (one file).
CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
       "img-src data: blob:; font-src data:; connect-src 'none'")

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 1.2em 2em; color: #1c2833; }
h1 { font-size: 1.35em; margin: 0.7em 0 0.2em; } h2 { font-size: 1.05em; margin: 1.1em 0 0.3em; }
.sub { color: #5d6d7e; margin: 0 0 0.8em; }
.grid { display: flex; flex-wrap: wrap; gap: 0.4em 2.2em; align-items: flex-start; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { padding: 2px 8px; border-bottom: 1px solid #e5e8e8; text-align: left; vertical-align: top; }
th { background: #f4f6f6; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr[data-t0] { cursor: pointer; } tr[data-t0]:hover { background: #eaf2f8; }
.found { color: #1e8449; font-weight: 600; } .missed { color: #c0392b; font-weight: 600; }
.false { color: #d35400; font-weight: 600; }
ul.notes { font-size: 0.85em; color: #7d6608; background: #fef9e7; padding: 0.5em 1.5em; border-radius: 4px; }
.thumbs { display: flex; flex-wrap: wrap; gap: 8px; }
.thumb { font-size: 0.75em; text-align: center; cursor: pointer; border: 2px solid transparent; padding: 2px; }
.thumb:hover { border-color: #2e86c1; } .thumb img { display: block; height: 96px; }
.empty { color: #7f8c8d; font-style: italic; font-size: 0.85em; }
"""

# Click a table row or a thumbnail: zoom every timeline to that moment.
ZOOM_SCRIPT = """
document.querySelectorAll('[data-t0]').forEach(function (el) {
  el.addEventListener('click', function () {
    var t0 = parseFloat(el.dataset.t0), t1 = parseFloat(el.dataset.t1 || el.dataset.t0);
    var pad = Math.max(2.0, (t1 - t0) * 0.5);
    var plot = document.getElementById('timeline');
    if (plot && window.Plotly) {
      Plotly.relayout(plot, {'xaxis.range': [t0 - pad, t1 + pad]});
      plot.scrollIntoView({behavior: 'smooth'});
    }
  });
});
"""

# Set once the figure has been drawn: tests and the open-time benchmark wait for it
# (`data-plotted` = ms from navigation start, performance.now()).
PLOTTED_SCRIPT = "document.body.setAttribute('data-plotted', performance.now().toFixed(0));"


@dataclass
class Thumbnail:
    t: float
    end_t: float
    name: str
    jpeg_data_uri: str


def render_table(table: Table) -> str:
    out = [f'<section id="{html.escape(table.id)}"><h2>{html.escape(table.title)}</h2>']
    if not table.rows:
        out.append(f'<p class="empty">{html.escape(table.empty)}</p></section>')
        return "".join(out)
    out.append("<table>")
    if any(table.header):
        out.append("<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in table.header) + "</tr>")
    for row in table.rows:
        out.append(_row(row))
    out.append("</table></section>")
    return "".join(out)


def _row(row: Sequence[Any]) -> str:
    attrs = ""
    cells = list(row)
    if cells and isinstance(cells[0], str) and _is_number(cells[0]) and len(cells) == 3 and cells[1] in ("found", "missed", "false"):
        attrs = f' data-t0="{html.escape(cells[0])}"'
    out = []
    for cell in cells:
        text = html.escape(str(cell))
        cls = ' class="num"' if isinstance(cell, (int, float)) or _is_number(str(cell)) else ""
        if cell in ("found", "missed", "false"):
            cls = f' class="{cell}"'
        out.append(f"<td{cls}>{text}</td>")
    return f"<tr{attrs}>" + "".join(out) + "</tr>"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def figure_html(fig: go.Figure) -> str:
    """The figure's div and its script, after plotly.js itself (plotly_bundle.plotly_js)."""
    script, _ = plotly_js()
    return f"<script>{script}</script>" + pio.to_html(
        fig, include_plotlyjs=False, full_html=False, div_id="timeline", post_script=PLOTTED_SCRIPT,
        config={"displaylogo": False, "scrollZoom": True, "responsive": True,
                "modeBarButtonsToRemove": ["select2d", "lasso2d"],
                "toImageButtonOptions": {"format": "png", "scale": 1}},
    )


def render_page(title: str, subtitle: str, summary: Sequence[Table], notes: Sequence[str], figure: go.Figure | None,
                thumbnails: Sequence[Thumbnail], tail: Sequence[Table]) -> str:
    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><p class=\"sub\">{html.escape(subtitle)}</p>",
        '<div class="grid">', *(render_table(t) for t in summary), "</div>",
    ]
    if notes:
        parts.append('<h2>Notes</h2><ul class="notes">' + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    if thumbnails:
        parts.append("<h2>Face at each event's start</h2><div class=\"thumbs\">")
        for th in thumbnails:
            parts.append(f'<div class="thumb" data-t0="{th.t:.3f}" data-t1="{th.end_t:.3f}">'
                         f'<img alt="{html.escape(th.name)} at {th.t:.2f} s" src="{th.jpeg_data_uri}">'
                         f"{html.escape(th.name)}<br>{th.t:.2f} s</div>")
        parts.append("</div>")
    if figure is not None:
        parts.append("<h2>Timelines (drag to zoom, scroll to zoom in and out, the pan tool to pan, double-click to reset)</h2>")
        parts.append(figure_html(figure))
    else:
        parts.append(f"<script>{PLOTTED_SCRIPT}</script>")
    parts += [render_table(t) for t in tail]
    parts.append(f"<script>{ZOOM_SCRIPT}</script></body></html>")
    return "".join(parts)
