"""Open a report in headless Chromium and say what a person would see: the screenshot, how
long until the timelines were drawn, what the page logged, what it tried to fetch.

Chromium is driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: JSON
messages separated by NUL bytes on file descriptors 3 and 4), so nothing but the browser
itself is needed: no driver binary, no websocket client, no port. Used by the browser tests
(tests/test_report_browser.py) and the open-time benchmark (benchmarks/bench_report.py).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Debian's chromium; the flags keep a sandboxed CI machine's closed network quiet
# (background networking, component updates, sync and QUIC all try to phone out).
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
)


def find_chromium() -> str | None:
    env = os.environ.get("CHROMIUM")
    if env:
        return env
    return next((p for p in map(shutil.which, CHROMIUM_CANDIDATES) if p), None)


@dataclass
class PageReport:
    url: str
    plotted_ms: float | None  # performance.now() when the figure was drawn (ms from navigation start)
    wall_s: float  # from the navigate command until the figure was seen drawn
    main_thread_s: float | None = None  # CPU time of the page's main thread until then (load-independent)
    console: list[tuple[str, str]] = field(default_factory=list)  # (level, text) of every message
    exceptions: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # every URL the page asked for (blocked ones too)
    blocked: list[tuple[str, str]] = field(default_factory=list)  # (URL, reason: csp, ...) refused by the browser
    counts: dict[str, int] = field(default_factory=dict)
    annotations: list[str] = field(default_factory=list)
    screenshot_png: bytes = b""

    @property
    def errors(self) -> list[str]:
        return self.exceptions + [text for level, text in self.console if level in ("error", "assert")]


class DevToolsPipe:
    """A Chromium process and its DevTools session (one page)."""

    def __init__(self, chromium: str | None = None, width: int = 1400, height: int = 1000):
        binary = chromium or find_chromium()
        if binary is None:
            raise FileNotFoundError("no chromium on PATH (apt-get install chromium)")
        self._profile = tempfile.mkdtemp(prefix="dm-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # Chromium reads commands on fd 3 and writes replies on fd 4.
        self.proc = subprocess.Popen(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={self._profile}", f"--window-size={width},{height}",
             "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            close_fds=False, preexec_fn=lambda: _as_fds_3_and_4(to_browser_r, from_browser_w),
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._next_id = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self._events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._lock = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.width, self.height = width, height
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=True)
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=True)

    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_browser, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                with self._lock:
                    self._replies[-1] = {"closed": True}
                    self._lock.notify_all()
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    with self._lock:
                        self._replies[message["id"]] = message
                        self._lock.notify_all()
                else:
                    self._events.put(message)

    def call(self, method: str, params: dict[str, Any] | None = None, session: bool = False,
             timeout_s: float = 60.0) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while self._next_id not in self._replies:
                if -1 in self._replies:
                    raise RuntimeError(f"chromium exited before answering {method}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"chromium did not answer {method} in {timeout_s:g} s")
                self._lock.wait(remaining)
            reply = self._replies.pop(self._next_id)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error'].get('message')}")
        return reply.get("result", {})

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=True)
        return result.get("result", {}).get("value")

    def events(self) -> list[dict[str, Any]]:
        out = []
        while True:
            try:
                out.append(self._events.get_nowait())
            except queue.Empty:
                return out

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.call("Browser.close", timeout_s=5)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_browser, self._from_browser):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> DevToolsPipe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _as_fds_3_and_4(read_fd: int, write_fd: int) -> None:
    """In the child before exec: the pipe ends become fds 3 and 4 (moved above 10 first, so
    one end already sitting on 3 or 4 is not overwritten). os.pipe's ends are close-on-exec,
    so nothing else of the parent's leaks into the browser."""
    r = fcntl.fcntl(read_fd, fcntl.F_DUPFD, 10)
    w = fcntl.fcntl(write_fd, fcntl.F_DUPFD, 10)
    os.dup2(r, 3)
    os.dup2(w, 4)


def _thread_time(browser: DevToolsPipe) -> float:
    metrics = browser.call("Performance.getMetrics", session=True)["metrics"]
    return next((m["value"] for m in metrics if m["name"] == "ThreadTime"), float("nan"))


# What the page shows, counted in the DOM Plotly built.
COUNT_SCRIPT = """JSON.stringify({
  plots: document.querySelectorAll('.js-plotly-plot').length,
  subplots: document.querySelectorAll('.js-plotly-plot .subplot.xy, .js-plotly-plot g.cartesianlayer > g.subplot').length,
  traces: document.querySelectorAll('.js-plotly-plot .scatterlayer .trace').length,
  line_paths: document.querySelectorAll('.js-plotly-plot .scatterlayer .js-line').length,
  fills: document.querySelectorAll('.js-plotly-plot .scatterlayer .js-fill').length,
  points: document.querySelectorAll('.js-plotly-plot .scatterlayer .point').length,
  legend_items: document.querySelectorAll('.js-plotly-plot .legend .traces').length,
  shapes: document.querySelectorAll('.js-plotly-plot .shapelayer path').length,
  tables: document.querySelectorAll('table').length,
  thumbnails: document.querySelectorAll('.thumb img').length,
  data_traces: (document.getElementById('timeline') || {}).data ? document.getElementById('timeline').data.length : 0
})"""
# The text of every annotation Plotly drew (row titles among them).
ANNOTATIONS_SCRIPT = "JSON.stringify(Array.from(document.querySelectorAll('.js-plotly-plot .annotation-text')).map(e => e.textContent))"


def open_page(path: str | Path, chromium: str | None = None, timeout_s: float = 60.0,
              screenshot: bool = True, full_page: bool = False) -> PageReport:
    """Load a report in a fresh headless Chromium, wait until the figure is drawn, and
    report what happened."""
    url = Path(path).resolve().as_uri()
    with DevToolsPipe(chromium) as browser:
        browser.call("Performance.enable", {"timeDomain": "threadTicks"}, session=True)
        before = _thread_time(browser)
        browser.events()
        started = time.perf_counter()
        browser.call("Page.navigate", {"url": url}, session=True)
        plotted: float | None = None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = browser.evaluate("document.body ? document.body.getAttribute('data-plotted') : null")
            if value is not None:
                plotted = float(value)
                break
            time.sleep(0.02)
        wall_s = time.perf_counter() - started
        cpu_s = _thread_time(browser) - before
        time.sleep(0.2)  # late console messages (a failed resize, a blocked request)
        counts = json.loads(browser.evaluate(COUNT_SCRIPT) or "{}")
        annotations = json.loads(browser.evaluate(ANNOTATIONS_SCRIPT) or "[]")
        png = b""
        if screenshot:
            params: dict[str, Any] = {"format": "png"}
            if full_page:
                height = int(browser.evaluate("document.documentElement.scrollHeight") or browser.height)
                params.update(captureBeyondViewport=True,
                              clip={"x": 0, "y": 0, "width": browser.width, "height": min(height, 16000), "scale": 1})
            png = base64.b64decode(browser.call("Page.captureScreenshot", params, session=True)["data"])
        report = PageReport(url, plotted, wall_s, cpu_s, counts=counts, annotations=annotations, screenshot_png=png)
        urls: dict[str, str] = {}
        for event in browser.events():
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled":
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
                report.console.append((params.get("type", "log"), text))
            elif method == "Log.entryAdded":
                entry = params.get("entry", {})
                report.console.append((entry.get("level", "info"), f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}"))
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                report.exceptions.append(details.get("exception", {}).get("description") or details.get("text", "?"))
            elif method == "Network.requestWillBeSent":
                report.requests.append(params.get("request", {}).get("url", "?"))
                urls[params.get("requestId")] = report.requests[-1]
            elif method == "Network.loadingFailed" and params.get("blockedReason"):
                report.blocked.append((urls.get(params.get("requestId"), "?"), params["blockedReason"]))
        return report
