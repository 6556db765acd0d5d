"""False alerts of the advisory anger and daydreaming detectors on synthetic drives
(docs/emotion.md "False alerts"): each scenario is rendered (cached under --work), replayed
with `privacy` at `output` for both, and the events and the judged time (the detector not
abstaining) are printed as one JSON line per scenario.

    .venv/bin/python benchmarks/emotion_false_alerts.py attentive_long attentive_scanning ...
"""
import json
import sys
from pathlib import Path

import pandas as pd

from driver_monitor.config import Config
from driver_monitor.replay import replay
from driver_monitor.sim.scenario import load_scenario
from driver_monitor.sim.simulate import simulate

cfg = Config.model_validate({"privacy": {"anger": "output", "daydreaming": "output"}})
work = Path("/tmp/emotion-false-alerts")
for name in sys.argv[1:]:
    base = work / name
    if not (base / "rec").exists():
        # scenarios/ first; benchmarks/scenarios/ holds the long drives the test suite does
        # not render (every scenarios/ file is rendered by tests/test_backend_events.py).
        path = Path("scenarios") / f"{name}.yaml"
        path = path if path.is_file() else Path(__file__).parent / "scenarios" / f"{name}.yaml"
        simulate(load_scenario(path), base / "rec", fps=15.0, size=(320, 240))
    out = base / "out2"
    replay(base / "rec", cfg, out, progress=False)
    d = pd.read_csv(out / "features.csv")
    ev = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    n = {k: sum(1 for e in ev if e["name"] == k and e.get("phase") == "start") for k in ("anger", "daydreaming")}
    dt = d.t.diff().fillna(0).clip(upper=0.5)
    judged_a = dt[d.anger_abstain == "none"].sum()
    judged_d = dt[d.daydreaming_abstain == "none"].sum()
    print(json.dumps({"scenario": name, "duration_s": round(d.t.max(), 1), "anger_events": n["anger"], "anger_judged_s": round(judged_a, 1),
                      "daydreaming_events": n["daydreaming"], "daydreaming_judged_s": round(judged_d, 1)}), flush=True)
