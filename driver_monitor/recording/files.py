"""Files and directories readable by their owner only (0600 / 0700), whatever the umask.

Recordings, event clips, events.jsonl, features and the daemon's state file hold the driver's
face, states, heart rate and stress level: personal data (EU 2019/2144 Art. 6(3)). Under the
systemd unit UMask=0077 already makes them private; from a shell (umask 022) they would be
world-readable. outputs/files.py re-exports these for the sinks.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path
from typing import IO, Any

PRIVATE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


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


def create_private(path: str | Path) -> None:
    """An empty 0600 file for a library that opens the path itself (FFmpeg keeps the mode of
    a file that exists, and would create a new one 0666 minus the umask)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE))
    os.chmod(path, PRIVATE_MODE)


def make_private_dir(path: str | Path) -> None:
    """mkdir 0700 (parents made as mkdir -p would); an existing directory is made 0700."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    os.chmod(path, PRIVATE_DIR_MODE)


def write_private_atomic(path: str | Path, text: str) -> None:
    """Replace a small text file in one step (temp file + rename): a crash or a full disk
    leaves either the old file or the new one, never half of one."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open_private(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class AppendFile:
    """A private (0600) text file written one whole row at a time, each row one write(2) on
    an unbuffered O_APPEND descriptor: a row is in the file the moment `append` returns (a
    kill loses nothing written), and a failed or short write (disk full) is cut back to the
    last whole row, so a reader never sees half a row. Not thread-safe; one writer."""

    def __init__(self, path: str | Path, header: str = ""):
        self.path = Path(path)
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, PRIVATE_MODE)
        os.fchmod(self._fd, PRIVATE_MODE)
        self.size = 0
        if header:
            self.append(header)

    def append(self, text: str) -> None:
        if self._fd is None:
            raise ValueError(f"{self.path}: closed")
        data = text.encode("utf-8")
        try:
            written = os.write(self._fd, data)
            if written != len(data):  # the disk filled up mid-row
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.path))
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self.size)  # never half a row
            raise
        self.size += len(data)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
