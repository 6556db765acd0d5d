"""Errors that reach the user as one line, never as a traceback.

Every adapter that touches a file, a device or a model raises one of these with a message
that names the file or key; `cli.main` prints `error: <message>` and exits non-zero.
"""


class DriverMonitorError(Exception):
    """Base: a problem the user can fix, described in one line."""

    exit_code = 1


class InputError(DriverMonitorError):
    """A file or device we were asked to read is missing, unreadable, truncated or corrupt."""


class ReplayCutShort(InputError):
    """The input failed part-way through a replay; the outputs hold what came before.
    `reason`: the input's own problem, without what this replay made of it."""

    def __init__(self, reason: str, frames: int, out_dir: object):
        super().__init__(f"{reason} ({frames} frames before it were written to {out_dir})")
        self.reason = reason
        self.frames = frames


class ModelError(DriverMonitorError):
    """The vendored face model is missing, corrupt or cannot be loaded."""


class ConfigError(DriverMonitorError):
    """The configuration file is invalid; `problems` holds one line per problem."""

    exit_code = 2

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


def one_line(exc: BaseException, limit: int = 200) -> str:
    """An exception as one short line for a log or an error message: its first non-empty
    line (library messages may span lines), or its class name when it has no text."""
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    text = lines[0].strip() if lines else exc.__class__.__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def utf8_problem(raw: bytes, exc: UnicodeDecodeError) -> str:
    """Where bytes stop being UTF-8, for a one-line error: `3: not UTF-8 text (byte 40)`
    (line 3 of the file, byte 40 of it)."""
    line = raw.count(b"\n", 0, exc.start) + 1
    return f"{line}: not UTF-8 text (byte {exc.start})"
