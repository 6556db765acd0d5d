"""How big an HTML report of a long drive is, how long it takes to write, and how long a
browser takes to open it.

    python benchmarks/bench_report.py [--minutes 10] [--fps 30] [--repeats 5] [--max-points N]

Makes a synthetic replay of the given length (tests/report_drive.py: the real Pipeline over
scripted features, so every column, event and action is there), writes its report, then
opens it in headless Chromium `--repeats` times, alternating with a baseline page that holds
plotly.js and a two-point plot only (what any Plotly page costs), each in a fresh browser.
Open time = performance.now() when the figure has been drawn (ms from navigation start).
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from report_drive import write_replay  # noqa: E402

from driver_monitor.report.browser import open_page  # noqa: E402
from driver_monitor.report.drive_report import ReportRequest, write_report  # noqa: E402
from driver_monitor.report.figure import MAX_POINTS  # noqa: E402
from driver_monitor.report.page import render_page  # noqa: E402


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
        ours_ms, base_ms, ours_wall, errors = [], [], [], []
        for _ in range(args.repeats):
            b = open_page(baseline, screenshot=False)
            r = open_page(result.path, screenshot=False)
            base_ms.append(b.plotted_ms or float("nan"))
            ours_ms.append(r.plotted_ms or float("nan"))
            ours_wall.append(r.wall_s)
            errors += r.errors
        rows = (replay / "features.csv").read_text(encoding="utf-8").count("\n") - 1
        print(f"machine      {platform.machine()}, {platform.python_version()}, plotly {plotly.__version__}")
        print(f"drive        {args.minutes:g} min at {args.fps:g} fps: {rows} frames, features.csv {features_mb:.1f} MB "
              f"(made in {made_s:.1f} s)")
        print(f"report       {result.bytes / 1e6:.2f} MB, written in {build_s:.2f} s (max {args.max_points} points per trace)")
        print(f"open (ms)    report median {statistics.median(ours_ms):.0f} (min {min(ours_ms):.0f}, max {max(ours_ms):.0f}); "
              f"plotly-only page median {statistics.median(base_ms):.0f}; "
              f"ratio {statistics.median(ours_ms) / statistics.median(base_ms):.2f}x")
        print(f"wall (s)     navigate -> drawn, median {statistics.median(ours_wall):.2f}")
        print(f"console errors: {len(errors)}")
        return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
