"""The report in a real browser: headless Chromium (Debian `chromium`, .ci/run installs it)
loads the file, Plotly draws it, and we look at what a person would see: every row and
trace drawn, a screenshot that is not blank, no console error, no request but the file
itself (thumbnails are data: URLs inside it)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from report_drive import write_replay

from driver_monitor.report.browser import find_chromium, open_page
from driver_monitor.report.corpus import CorpusDrive, write_corpus_report
from driver_monitor.report.data import load_replay
from driver_monitor.report.drive_report import ReportRequest, write_report
from driver_monitor.report.figure import FigureInput, build_figure
from driver_monitor.report.ground_truth import from_labels
from driver_monitor.report.page import CSP
from driver_monitor.report.timeline import build_timeline
from driver_monitor.report.vehicle_speed import find_speed

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="no chromium (apt-get install chromium)")

LABELS = ('{"t": 100.0, "kind": "event", "name": "sleep", "phase": "start"}\n'
          '{"t": 104.5, "kind": "event", "name": "sleep", "phase": "end"}\n'
          '{"t": 60.0, "kind": "event", "name": "yawn"}\n')


@pytest.fixture(scope="module")
def drive(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    replay = write_replay(root / "drive", 130.0)
    labels = root / "labels.jsonl"
    labels.write_text(LABELS)
    report = write_report(ReportRequest(replay, root / "drive.html", labels=labels))
    return replay, labels, report


def _expected_figure(replay: Path, labels: Path):
    data = load_replay(replay)
    truth = from_labels(labels, data.events, data.end_t)
    # The feature table keeps the vehicle's speed per frame (docs/features.md), so the report
    # draws it from there.
    speed = find_speed(data.numeric, data.t, None, _config(), [])
    assert speed is not None
    return build_figure(FigureInput(data, build_timeline(data.events, data.end_t), _config(), speed, truth=truth))


def _config():
    from driver_monitor.config import load_config

    return load_config(None)


def test_every_row_and_trace_is_drawn_without_a_console_error(drive):
    replay, labels, report = drive
    page = open_page(report.path, full_page=True)
    assert page.plotted_ms is not None, "the figure was never drawn"
    assert page.errors == []
    fig = _expected_figure(replay, labels)
    rows = len(fig._grid_ref)
    assert rows == 15  # 11 signal rows (speed from the feature table) + events, truth, actions, policy
    assert page.counts["data_traces"] == len(fig.data)
    assert page.counts["traces"] == len(fig.data)  # one drawn group per trace
    titles = [a.text for a in fig.layout.annotations][:rows]
    assert set(titles) <= set(page.annotations), set(titles) - set(page.annotations)
    assert "calibrated" in page.annotations
    assert "journey 1 (start)" in page.annotations
    assert page.counts["tables"] == 7  # drive, events, actions, unwarned, calibration, truth, marks (+ config: empty)


def test_the_screenshot_shows_the_report(drive, tmp_path):
    _, _, report = drive
    page = open_page(report.path, full_page=True)
    image = cv2.imdecode(np.frombuffer(page.screenshot_png, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape[0] > 2000
    (tmp_path / "report.png").write_bytes(page.screenshot_png)
    not_white = np.any(image < 235, axis=2)
    assert not_white.mean() > 0.08
    # The timelines: coloured lines and bands, not a blank plot area.
    plot_area = image[image.shape[0] // 3:, :]
    colours = np.unique(plot_area.reshape(-1, 3) // 16, axis=0)
    assert len(colours) > 100
    saturated = (plot_area.max(axis=2).astype(int) - plot_area.min(axis=2)) > 80
    assert saturated.mean() > 0.02


def test_the_report_asks_for_nothing_but_itself(drive):
    _, _, report = drive
    page = open_page(report.path, screenshot=False)
    assert page.requests == [report.path.resolve().as_uri()]
    assert page.blocked == []


def test_the_network_check_sees_a_request_and_the_policy_blocks_it(tmp_path):
    """The check above can fail: a page that loads a picture from the network shows it; the
    report's Content-Security-Policy has the browser refuse the same load and log an error."""
    probe = '<img src="http://127.0.0.1:9/probe.png"><script>document.body.setAttribute("data-plotted", "1")</script>'
    unguarded = tmp_path / "open.html"
    unguarded.write_text(f"<!DOCTYPE html><html><body>{probe}</body></html>")
    page = open_page(unguarded, screenshot=False)
    assert "http://127.0.0.1:9/probe.png" in page.requests and page.blocked == []
    guarded = tmp_path / "guarded.html"
    guarded.write_text(f'<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="{CSP}">'
                       f"</head><body>{probe}</body></html>")
    page = open_page(guarded, screenshot=False)
    assert page.blocked == [("http://127.0.0.1:9/probe.png", "csp")]
    assert any("Content Security Policy" in e for e in page.errors), page.console


def test_the_corpus_page_opens_and_links_the_drive(drive, tmp_path):
    _, _, report = drive
    index = write_corpus_report([CorpusDrive("drive", report.path, None)], tmp_path / "index.html")
    page = open_page(index, screenshot=False)
    assert page.errors == [] and page.plotted_ms is not None
    assert page.counts["tables"] == 2
