"""Which plotly.js a report inlines: the vendored basic bundle (scatter, bar, pie: all the
report draws; 1.2 MB, ~1.1 s less to open than the full 4.8 MB bundle, docs/performance.md)
when it is the same plotly.js version the installed `plotly` package writes figures for,
else that package's own full bundle (always right, only bigger). vendor/README.md says how
to refresh it.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from importlib import resources

import plotly.offline

BASIC_BUNDLE = "plotly-basic.min.js"
BASIC_VERSION = "4.1.1"
BASIC_SHA256 = "99784e3abfb07b142a15e521a439e6d9addceadb3f79553fd24c72774f0649ba"


@cache
def plotly_js() -> tuple[str, str | None]:
    """(the script to inline, a note when the full bundle stands in for the basic one)."""
    wanted = plotly.offline.get_plotlyjs_version()
    basic = resources.files("driver_monitor.report").joinpath("vendor", BASIC_BUNDLE)
    if wanted == BASIC_VERSION and basic.is_file():
        data = basic.read_bytes()
        if hashlib.sha256(data).hexdigest() == BASIC_SHA256:
            return data.decode("utf-8"), None
        return plotly.offline.get_plotlyjs(), f"vendored {BASIC_BUNDLE} fails its sha256: the full plotly.js is inlined"
    return plotly.offline.get_plotlyjs(), (
        f"plotly.js {wanted} (the plotly package) differs from the vendored basic bundle {BASIC_VERSION}: "
        "the full bundle is inlined (+3.6 MB, slower to open; driver_monitor/report/vendor/README.md)")


def bundle_version(script: str) -> str | None:
    match = re.search(r"plotly\.js[^\n]*v(\d+\.\d+\.\d+)", script[:400])
    return match.group(1) if match else None
