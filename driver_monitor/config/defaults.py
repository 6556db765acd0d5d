"""The packaged default.yaml, generated from the config models: every default and the comment
that explains it are written once, in the pydantic model (config/*.py), and the YAML a user
reads (`driver-monitor config --default`) is made from them.

    python -m driver_monitor.config.defaults > driver_monitor/data/default.yaml   (make default-config)

The comments are the ones above each field in the model's source (and above each entry of a
module-level defaults table such as policy's CONDITION_DEFAULTS); a section's class
docstring goes above the section the first time that section type appears. A test keeps the
committed file equal to this output, and loading it equal to the models' defaults.
"""

from __future__ import annotations

import ast
import enum
import inspect
import sys
import textwrap
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from driver_monitor.config.root import Config

HEADER = """\
# driver-monitor default configuration.
#
# Every threshold and timing carries its unit in the key name (_s seconds, _deg degrees,
# _kph km/h, _bpm beats per minute, _hz hertz, _px pixels). Scores without a unit are 0..1.
# A config file names only what it changes; everything else keeps the value below.
# Check a file with:  driver-monitor check-config PATH   (it also lists what the file changes)
# Sources of the numbers: REFERENCE.md of the project (cited in the comments).
#
# Generated from the config models (driver_monitor/config/*.py), where each default and its
# comment are written once: python -m driver_monitor.config.defaults
"""

_INDENT = "  "
_WIDTH = 100


def render_default_yaml() -> str:
    out = [HEADER]
    seen: set[type[BaseModel]] = set()
    for name, value in Config():
        out.append("")
        _render(out, name, value, type(Config()), 0, seen)
    return "\n".join(out).rstrip("\n") + "\n"


def _render(out: list[str], name: str, value: Any, owner: type[BaseModel], depth: int, seen: set[type[BaseModel]]) -> None:
    pad = _INDENT * depth
    comments = list(field_comments(owner).get(name, ()))
    if not comments:
        comments = list(module_key_comments(owner.__module__).get(name, ()))
    if isinstance(value, BaseModel):
        cls = type(value)
        if cls not in seen and cls.__doc__ and cls.__module__.startswith("driver_monitor."):
            comments += _wrap(inspect.cleandoc(cls.__doc__))
        first = cls not in seen
        seen.add(cls)
        out += [f"{pad}# {c}".rstrip() for c in comments]
        out.append(f"{pad}{name}:")
        for field_name in cls.model_fields:
            sub = getattr(value, field_name)
            if first or isinstance(sub, BaseModel):
                _render(out, field_name, sub, cls, depth + 1, seen)
            else:  # a section type already explained above: its values only
                _leaf(out, field_name, sub, depth + 1)
        return
    out += [f"{pad}# {c}".rstrip() for c in comments]
    _leaf(out, name, value, depth)


def _leaf(out: list[str], name: str, value: Any, depth: int) -> None:
    pad = _INDENT * depth
    plain = _plain(value)
    if isinstance(plain, list) and plain and all(isinstance(v, dict) for v in plain):
        out.append(f"{pad}{name}:")  # a list of small mappings (a ladder): one item per line
        out += [f"{pad}{_INDENT}- {_flow(item)}" for item in plain]
        return
    out.append(f"{pad}{name}: {_flow(plain)}")


def _plain(value: Any) -> Any:
    """Model values as YAML-safe plain data (enums, paths, tuples, nested models)."""
    if isinstance(value, BaseModel):
        return {k: _plain(getattr(value, k)) for k in type(value).model_fields}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _flow(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000, sort_keys=False)
    return text.strip().removesuffix("\n...").removesuffix("...").strip()


def _wrap(text: str) -> list[str]:
    """A docstring as comment lines (its own line breaks kept)."""
    return [line.rstrip() for line in text.splitlines()]


@cache
def field_comments(cls: type) -> dict[str, tuple[str, ...]]:
    """The comment block right above each field of the class body, by field name."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    lines = source.splitlines()
    node = ast.parse(source).body[0]
    out: dict[str, tuple[str, ...]] = {}
    for stmt in getattr(node, "body", []):
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            out[stmt.target.id] = _comments_above(lines, stmt.lineno)
    return out


@cache
def module_key_comments(module_name: str) -> dict[str, tuple[str, ...]]:
    """The comment block above each string key of a module-level dict (policy's
    CONDITION_DEFAULTS), by key: defaults that live in a table rather than in a field."""
    module = sys.modules.get(module_name)
    try:
        source = inspect.getsource(module) if module is not None else ""
    except (OSError, TypeError):
        return {}
    lines = source.splitlines()
    out: dict[str, tuple[str, ...]] = {}
    for stmt in ast.parse(source).body:
        value = stmt.value if isinstance(stmt, (ast.Assign, ast.AnnAssign)) else None
        if isinstance(value, ast.Dict):
            for key in value.keys:
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    out.setdefault(key.value, _comments_above(lines, key.lineno))
    return out


def _comments_above(lines: list[str], lineno: int) -> tuple[str, ...]:
    block: list[str] = []
    i = lineno - 2  # the line above, 0-based
    while i >= 0 and lines[i].strip().startswith("#"):
        block.insert(0, lines[i].strip()[1:].strip())
        i -= 1
    return tuple(block)


if __name__ == "__main__":
    sys.stdout.write(render_default_yaml())
