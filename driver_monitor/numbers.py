"""Reading a value that should be a number (a detector column, a vehicle signal) defensively."""

from __future__ import annotations

import math


def finite_or_none(value: object) -> float | None:
    """The value as a float when it is a finite number (not a bool); None for anything else:
    missing, NaN, infinite, text. Compared as numbers, NaN reads as below every threshold and
    infinity overflows int(); both mean "not known" wherever a number is read."""
    if type(value) is float:  # the usual case, without the conversion below
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, bytes, bool)):
        return None
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return x if math.isfinite(x) else None
