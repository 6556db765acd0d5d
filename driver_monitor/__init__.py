"""driver-monitor: in-car driver-state monitoring (see README.md and ../shared/DESIGN.md)."""

__version__ = "0.1.0"
