"""Output files readable by their owner only (0600), whatever the umask.

events.jsonl, features.csv / .parquet and the daemon's state.json hold the driver's states,
heart rate and stress level: personal data (EU 2019/2144 Art. 6(3)). Under the systemd unit
UMask=0077 already makes them private; from a shell (umask 022) they used to be 0644.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

PRIVATE_MODE = 0o600


def open_private(path: str | Path, mode: str = "w", **kwargs: Any) -> IO[Any]:
    """open(path, mode) for writing, the file created 0600 (or made 0600 if it existed)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if "a" in mode else os.O_TRUNC)
    fd = os.open(path, flags, PRIVATE_MODE)
    try:
        os.fchmod(fd, PRIVATE_MODE)
        return os.fdopen(fd, mode, **kwargs)
    except BaseException:
        os.close(fd)
        raise


def make_private(path: str | Path) -> None:
    """chmod 0600 a file another library wrote (pyarrow's Parquet writer)."""
    os.chmod(path, PRIVATE_MODE)
