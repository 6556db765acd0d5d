"""Compile the decision core (calibration, detectors, policy, the Pipeline) with mypyc, in place.

    python scripts/compile_core.py [--root DIR] [--clean]

The same Python source, type-checked by mypy and compiled to C extension modules by mypyc
(the compiler mypy and black ship with): the per-frame Python of the detectors runs ~1.6x
faster (docs/scaling.md "Compiled decision core"), which is what feature replay, corpus
evaluation and sweeps spend their time on. Every decision stays the same to the bit
(tests/test_compiled_core.py replays the same tables through both and compares the events):
the arithmetic is the same IEEE doubles in the same order; NumPy and SciPy are called as
before.

It builds `<module>.cpython-*.so` beside each module's `.py` in a source checkout (ROOT, the
repository by default), which Python then imports instead of the `.py`; `--clean` removes
them and the pure-Python modules are used again. Needs mypy (`pip install -e '.[fast]'`) and
a C compiler with the Python headers. Nothing else in the project depends on it: without a
build, everything runs the `.py` files as before. Rebuild after changing a compiled module
(a stale build runs the old code: `driver_monitor.compiled_core()` and run.yaml say which).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# The modules feature replay runs on every frame (fleet/feature_replay.py: Pipeline.check_picture
# and process_features): everything under them except what is I/O or image work, plus the
# feature table's writer, whose per-cell CSV loop is a third of a CSV feature replay (compiled:
# 165 -> 158 us a frame). Their own imports (config, NumPy, SciPy, pyarrow) stay Python and
# are called as before.
CORE_PACKAGES = ("driver_monitor/detectors", "driver_monitor/policy")
CORE_MODULES = ("driver_monitor/pipeline.py", "driver_monitor/messages.py", "driver_monitor/privacy.py",
                "driver_monitor/perception/camera_health.py", "driver_monitor/outputs/feature_table.py")
# Package markers stay Python (they only re-export).
_SKIP = ("__init__.py",)


def core_sources(root: Path) -> list[Path]:
    """The decision core's .py files under root, in a stable order."""
    sources = [root / m for m in CORE_MODULES]
    for package in CORE_PACKAGES:
        sources += sorted(p for p in (root / package).rglob("*.py") if p.name not in _SKIP)
    return sources


_EXT_SUFFIX = sysconfig.get_config_var("EXT_SUFFIX") or ".so"


def built_extensions(root: Path) -> list[Path]:
    """The extension modules a build left under root (the core's and mypyc's shared runtime)."""
    found = list((root / "driver_monitor").rglob(f"*{_EXT_SUFFIX}"))
    return found + list(root.glob(f"*__mypyc{_EXT_SUFFIX}"))


def clean(root: Path) -> int:
    removed = built_extensions(root)
    for path in removed:
        path.unlink()
    return len(removed)


def build(root: Path) -> list[Path]:
    """Compile the core under root in place; the extension modules it built."""
    try:
        import mypyc  # noqa: F401
    except ImportError:
        raise SystemExit("error: mypyc is not installed: pip install -e '.[fast]' (mypy)") from None
    clean(root)
    sources = [str(p.relative_to(root)) for p in core_sources(root)]
    with tempfile.TemporaryDirectory() as work:
        # mypyc builds through setuptools, which would read the project's pyproject.toml from
        # its working directory: build beside a link to the package instead. Each module's
        # extension is written through the link next to its .py; mypyc's shared runtime
        # lands in the working directory and is moved to ROOT (where `import` finds it).
        (Path(work) / "driver_monitor").symlink_to(root / "driver_monitor", target_is_directory=True)
        # cv2 and SciPy have no type stubs: they are called, not compiled. The config sections
        # are pydantic models: its mypy plugin knows their fields' defaults.
        settings = Path(work) / "mypy.ini"
        settings.write_text("[mypy]\nignore_missing_imports = True\nplugins = pydantic.mypy\n")
        command = [sys.executable, "-m", "mypyc", "--config-file", str(settings), *sources]
        env = {**os.environ, "MYPYC_OPT_LEVEL": os.environ.get("MYPYC_OPT_LEVEL", "3")}
        done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            lines = [line for line in (done.stdout + done.stderr).splitlines() if "error" in line.lower()]
            raise SystemExit("error: mypyc failed:\n" + "\n".join(lines[:20] or done.stderr.splitlines()[-20:]))
        for runtime in Path(work).glob(f"*__mypyc{_EXT_SUFFIX}"):
            shutil.move(str(runtime), root / runtime.name)
    return built_extensions(root)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO, help="the source tree holding driver_monitor/ (default: this repository)")
    parser.add_argument("--clean", action="store_true", help="remove a build: the pure-Python modules run again")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if not (root / "driver_monitor" / "pipeline.py").is_file():
        print(f"error: {root}: no driver_monitor/pipeline.py there", file=sys.stderr)
        return 2
    if args.clean:
        print(f"removed {clean(root)} extension modules under {root}")
        return 0
    built = build(root)
    print(f"compiled {len(core_sources(root))} modules under {root} ({len(built)} extension modules)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
