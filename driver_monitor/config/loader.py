"""Read and validate a YAML config file into a `Config`, or raise `ConfigError` whose
`problems` are one line each: `dotted.key: what is wrong` (or `FILE: what is wrong`)."""

from __future__ import annotations

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
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such file"]) from None
    except IsADirectoryError:
        raise ConfigError([f"{path}: is a directory, not a YAML file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read ({_reason(exc)})"]) from None
    return parse_config(text, source=str(path))


def parse_config(text: str, source: str = "<config>") -> Config:
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
        raise ConfigError([f"{source}: expected a mapping of sections at the top, got {type(data).__name__}"])
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from None


def format_validation_error(exc: ValidationError) -> list[str]:
    lines = []
    for err in exc.errors(include_url=False):
        dotted = ".".join(str(part) for part in err["loc"]) or "(top level)"
        lines.append(f"{dotted}: {_message(err)}")
    return lines


def _message(err: dict[str, Any]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown key (check the spelling against config/default.yaml)"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    given = err.get("input")
    if kind not in ("missing",) and not isinstance(given, (dict, list)):
        msg += f" (got {given!r})"
    return msg


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or exc.__class__.__name__
