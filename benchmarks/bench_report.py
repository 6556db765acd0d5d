"""How big an HTML report of a long drive is, how long it takes to write, and how long a
browser takes to open it.

    python benchmarks/bench_report.py [--minutes 10] [--fps 30] [--repeats 5] [--max-points N]

Makes a synthetic replay of the given length (tests/report_drive.py: the real Pipeline over
scripted features, so every column, event and action is there), writes its report, then
opens it in headless Chromium `--repeats` times, alternating with (a) the same report with
the full plotly.js bundle instead of the vendored basic one and (b) a page that holds the
basic bundle and a two-point plot only (what any Plotly page costs), each in a fresh browser.
Open time = performance.now() when the figure has been drawn (ms from navigation start);
main-thread CPU = the page's main thread CPU time until then (Performance.getMetrics
ThreadTime), which other jobs on the machine do not inflate.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import plotly
import plotly.graph_objects as go
import plotly.offline

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from report_drive import write_replay  # noqa: E402

from driver_monitor.report.browser import open_page  # noqa: E402
from driver_monitor.report.drive_report import ReportRequest, write_report  # noqa: E402
from driver_monitor.report.figure import MAX_POINTS  # noqa: E402
from driver_monitor.report.page import render_page  # noqa: E402
from driver_monitor.report.plotly_bundle import plotly_js  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--max-points", type=int, default=MAX_POINTS)
    ap.add_argument("--keep", default=None, help="write the report here too")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        replay = write_replay(root / "replay", args.minutes * 60.0, args.fps)
        made_s = time.perf_counter() - t0
        features_mb = (replay / "features.csv").stat().st_size / 1e6
        t0 = time.perf_counter()
        result = write_report(ReportRequest(replay, Path(args.keep) if args.keep else root / "report.html",
                                            max_points=args.max_points))
        build_s = time.perf_counter() - t0
        baseline = root / "baseline.html"
        baseline.write_text(render_page("baseline", "", [], [], go.Figure(go.Scatter(x=[0, 1], y=[0, 1])), [], []),
                            encoding="utf-8")
        full = root / "full_bundle.html"
        full.write_text(result.path.read_text(encoding="utf-8").replace(plotly_js()[0], plotly.offline.get_plotlyjs()),
                        encoding="utf-8")
        pages = {"report": result.path, "report, full plotly.js": full, "plotly page only": baseline}
        seen: dict[str, list[tuple[float, float, float]]] = {k: [] for k in pages}
        errors: list[str] = []
        for _ in range(args.repeats):
            for name, path in pages.items():
                r = open_page(path, screenshot=False)
                seen[name].append((r.plotted_ms or float("nan"), r.main_thread_s or float("nan"), r.wall_s))
                errors += r.errors
        rows = (replay / "features.csv").read_text(encoding="utf-8").count("\n") - 1
        print(f"machine      {platform.machine()}, {platform.python_version()}, plotly {plotly.__version__}")
        print(f"drive        {args.minutes:g} min at {args.fps:g} fps: {rows} frames, features.csv {features_mb:.1f} MB "
              f"(made in {made_s:.1f} s)")
        print(f"report       {result.bytes / 1e6:.2f} MB, written in {build_s:.2f} s (max {args.max_points} points per trace)")
        for name, values in seen.items():
            ms = [v[0] for v in values]
            cpu = [v[1] for v in values]
            print(f"{name:<24} {pages[name].stat().st_size / 1e6:5.2f} MB  open median {statistics.median(ms):5.0f} ms "
                  f"(min {min(ms):.0f}, max {max(ms):.0f}), main-thread CPU median {statistics.median(cpu):.2f} s")
        print(f"console errors: {len(errors)}")
        return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
