"""driver-monitor: in-car driver-state monitoring (see README.md and ../shared/DESIGN.md)."""

__version__ = "0.1.0"


def compiled_core() -> bool:
    """Whether the decision core runs as mypyc-compiled modules (scripts/compile_core.py)
    rather than as its .py files: the same decisions, faster (docs/scaling.md)."""
    from driver_monitor import pipeline

    return not pipeline.__file__.endswith(".py")
