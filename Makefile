# The two set-up commands of the README: each installs everything into .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint bench soak default-config clean

# The test extra, the fleet extra (Ray: CI runs the Ray tests against a local instance) and
# the fast extra (mypy: tests/test_compiled_core.py compiles the decision core with mypyc).
$(BIN)/driver-monitor: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,fleet,fast]'
	touch $@

install: $(BIN)/driver-monitor

# Replay the bundled sample recording and show what the pipeline found.
demo: install
	$(BIN)/driver-monitor replay recordings/selfie_writing --out demo-out
	@echo "--- first events (demo-out/events.jsonl):"
	@head -n 10 demo-out/events.jsonl || true

# The whole test suite (CI runs exactly this through .ci/run). The venv's bin is on PATH so
# the tests that need the installed `driver-monitor` console script (the systemd unit's
# ExecStart) find it, as an installed system would.
test: install
	$(BIN)/ruff check driver_monitor tests benchmarks
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check driver_monitor tests benchmarks

bench: install
	$(BIN)/python benchmarks/bench_replay.py

# 30 minutes of the live daemon with every input and output busy (docs/performance.md).
soak: install
	$(BIN)/python benchmarks/bench_soak.py --minutes 30

# Regenerate the packaged default.yaml from the config models (their defaults and comments).
default-config: install
	$(BIN)/python -m driver_monitor.config.defaults > driver_monitor/data/default.yaml

clean:
	rm -rf $(VENV) demo-out replay-out build *.egg-info
