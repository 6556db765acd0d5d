"""Loading the DBC files: the daemon's own (config/driver_monitor.dbc) and the vehicle's."""

from __future__ import annotations

from pathlib import Path

import cantools
import cantools.database.can as cdb

from driver_monitor.errors import InputError

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DMS_DBC_PATH = DATA_DIR / "driver_monitor.dbc"
VEHICLE_EXAMPLE_DBC_PATH = DATA_DIR / "vehicle_example.dbc"


def load_dbc(path: str | Path | None, default: Path = DMS_DBC_PATH) -> cdb.Database:
    """Load a DBC (strict: overlapping signals are errors); raises InputError naming the file."""
    path = Path(path) if path is not None else default
    try:
        db = cantools.database.load_file(str(path), database_format="dbc")
    except FileNotFoundError:
        raise InputError(f"{path}: no such DBC file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc.__class__.__name__})") from None
    except Exception as exc:  # cantools raises several parser error types
        first = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise InputError(f"{path}: not a valid DBC ({first})") from None
    assert isinstance(db, cdb.Database)
    return db


def cycle_time_s(message: cdb.Message, default_s: float) -> float:
    """The message's GenMsgCycleTime in seconds, or default_s when the DBC has none."""
    ms = message.cycle_time
    return ms / 1000.0 if ms else default_s
