"""Read and validate a YAML config file into a `Config`, or raise `ConfigError` whose
`problems` are one line each: `dotted.key: what is wrong` (or `FILE: what is wrong`).

The reading, YAML and validation-message helpers also serve the simulator's scenario files,
so both kinds of YAML fail in the same one-line-per-problem way."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from driver_monitor.config.root import Config
from driver_monitor.errors import ConfigError

# The default config ships inside the package so an installed daemon finds it; the repo's
# config/default.yaml is the same file (a test keeps them identical).
DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent.parent / "data" / "default.yaml"


def load_config(path: str | Path | None = None) -> Config:
    """Load `path` (or the packaged default). Raises ConfigError, never anything else."""
    path = Path(path) if path is not None else DEFAULT_CONFIG_PATH
    return parse_config(read_yaml_text(path), source=str(path))


def parse_config(text: str, source: str = "<config>") -> Config:
    data = parse_yaml_mapping(text, source, "a mapping of sections at the top")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from None


def read_yaml_text(path: Path, what: str = "file") -> str:
    """The file's text, or ConfigError with one line naming the file."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such {what}"]) from None
    except IsADirectoryError:
        raise ConfigError([f"{path}: is a directory, not a YAML file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read ({_reason(exc)})"]) from None


def parse_yaml_mapping(text: str, source: str, expected: str) -> dict[str, Any]:
    """YAML text that must be a mapping (an empty text is an empty one), or ConfigError with
    one line naming `source` and the line and column of a syntax error."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError([f"{source}: not valid YAML{where}: {problem}"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{source}: expected {expected}, got {type(data).__name__}"])
    return data


ErrorDict = dict[str, Any]


def format_validation_error(
    exc: ValidationError,
    unknown_key: str = "unknown key (check the spelling against config/default.yaml)",
    special: Callable[[ErrorDict], str | None] | None = None,
    loc: Callable[[list[Any]], list[Any]] | None = None,
) -> list[str]:
    """One `dotted.key: message` line per problem. `special` may word an error kind itself
    (None: the default wording); `loc` may rewrite the location (e.g. drop a union tag)."""
    lines = []
    for err in exc.errors(include_url=False):
        parts = loc(list(err["loc"])) if loc is not None else err["loc"]
        dotted = ".".join(str(part) for part in parts) or "(top level)"
        message = special(err) if special is not None else None
        lines.append(f"{dotted}: {message if message is not None else _message(err, unknown_key)}")
    return lines


def _message(err: ErrorDict, unknown_key: str) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return unknown_key
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    given = err.get("input")
    if kind not in ("missing",) and not isinstance(given, (dict, list)):
        msg += f" (got {given!r})"
    return msg


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or exc.__class__.__name__
