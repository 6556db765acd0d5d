"""The GPU batch-extraction benchmark's CPU path: it runs, says it is the CPU path, and its
batched landmarks are the tracker's (no GPU here; docs/performance.md)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_batch_extraction_runs_on_the_cpu_and_matches_the_tracker():
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_gpu_extraction.py"), "--frames", "12", "--batch", "5",
         "--providers", "CUDAExecutionProvider,CPUExecutionProvider"],
        capture_output=True, text=True, timeout=300, check=True,
    )
    out = done.stdout
    assert "providers      CPUExecutionProvider\n" in out
    assert "no GPU provider here: this is the CPU path" in out
    assert re.search(r"frames/s\s+\d+\.\d", out)
    check = re.search(r"check\s+(\d+) faces, largest landmark difference from the tracker ([\d.]+) px", out)
    assert check is not None and int(check.group(1)) == 12
    assert float(check.group(2)) < 0.01
