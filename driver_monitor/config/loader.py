"""Read and validate a YAML config file into a `Config`, or raise `ConfigError` whose
`problems` are one line each, in the order of the file: `dotted.key: what is wrong` (or
`FILE: what is wrong`).

Hostile or broken files are one line too, never a traceback nor a stalled daemon: a file
larger than MAX_CONFIG_BYTES, nested deeper than MAX_DEPTH, or holding more than MAX_VALUES
values once YAML anchors are expanded (a few KB of aliases can expand to millions of values
for the validator) is refused before validation (issue 13).

The reading, YAML and validation-message helpers also serve the simulator's scenario files,
so both kinds of YAML fail in the same one-line-per-problem way."""

from __future__ import annotations

import difflib
import sys
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from driver_monitor.config.root import Config
from driver_monitor.errors import ConfigError, one_line, utf8_problem

# The default config ships inside the package so an installed daemon finds it; the repo's
# config/default.yaml is a link to it. `driver-monitor config --default` prints it.
DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent.parent / "data" / "default.yaml"
DEFAULT_CONFIG_COMMAND = "driver-monitor config --default"

# The packaged default is ~40 KB; parsing 256 KB of YAML takes under a second here.
MAX_CONFIG_BYTES = 256 * 1024
# The deepest key of the config is 6 levels down (policy.conditions.sleep.ladder.0.actions).
MAX_DEPTH = 32
MAX_VALUES = 100_000

_FastLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it: ~10x faster
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _Loader(_FastLoader):  # type: ignore[misc, valid-type]
    """The safe loader, refusing a key written twice in one mapping: YAML keeps the last one
    silently, so `absent_after_s: 1` a few lines above `absent_after_s: 2` was valid and the
    first one did nothing (a grid with a key twice swept the last list only). Keys a merge
    (`<<: *anchor`) brings in may be set again beside it: that is what a merge is for."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[tuple[str, str]] = set()
        for key, _ in node.value if isinstance(node, yaml.MappingNode) else ():  # else: super's error (`!!map [1]`)
            if key.tag == _MERGE_TAG or not isinstance(key, yaml.ScalarNode):
                continue
            if (key.tag, key.value) in seen:
                raise yaml.constructor.ConstructorError(None, None, f"the key {key.value!r} is written twice in one mapping",
                                                        key.start_mark)
            seen.add((key.tag, key.value))
        return super().construct_mapping(node, deep)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # A value YAML resolves to a type it then cannot build raises ValueError, not a
        # YAMLError: `2020-13-01` (a date, month 13) or an integer of more than 4300 digits
        # (Python's int() limit) was a traceback; so were explicit tags on the wrong value
        # (`!!bool maybe`: KeyError, `!!timestamp x`: AttributeError, `!!set [1]`: TypeError).
        # It is the file's error, at that value. (RecursionError is the callers'.)
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise yaml.constructor.ConstructorError(None, None, _value_problem(node, exc), node.start_mark) from None


def _value_problem(node: yaml.Node, exc: Exception) -> str:
    """`'2020-13-01' is not a valid timestamp (month must be in 1..12)`: the value as written
    (an over-long integer is not repeated) and what YAML read it as."""
    kind = str(node.tag).rsplit(":", 1)[-1]
    text = one_line(exc)
    if kind == "int" and text.startswith("Exceeds the limit"):
        return f"an integer of more than {sys.get_int_max_str_digits()} digits"
    if not isinstance(node, yaml.ScalarNode):
        return f"not a valid {kind} ({type(node).__name__.removesuffix('Node').lower()} given)"
    shown = repr(node.value) if len(node.value) <= 40 else repr(node.value[:37] + "...")
    if isinstance(exc, ValueError):
        return f"{shown} is not a valid {kind} ({text})"
    return f"{shown} is not a valid {kind}"


def load_config(path: str | Path | None = None) -> Config:
    """Load `path` (or the packaged default). Raises ConfigError, never anything else."""
    path = Path(path) if path is not None else DEFAULT_CONFIG_PATH
    return parse_config(read_yaml_text(path), source=str(path))


def parse_config(text: str, source: str = "<config>") -> Config:
    data = parse_yaml_mapping(text, source, "a mapping of sections at the top")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, order=key_lines(text), suggest=Config)) from None
    except RecursionError:
        raise ConfigError([f"{source}: nested too deeply to validate"]) from None


def read_yaml_text(path: Path, what: str = "file", max_bytes: int = MAX_CONFIG_BYTES) -> str:
    """The file's text, or ConfigError with one line naming the file."""
    try:
        size = path.stat().st_size
        if size > max_bytes and path.is_file():
            raise ConfigError([f"{path}: {size} bytes; a {what} is at most {max_bytes // 1024} KiB"])
        with path.open("rb") as fh:  # read no more than the cap, whatever stat said
            raw = fh.read(max_bytes + 1)
        if len(raw) > max_bytes:
            raise ConfigError([f"{path}: more than {max_bytes // 1024} KiB; a {what} is at most that"])
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError([f"{path}:{utf8_problem(raw, exc)}"]) from None
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such {what}"]) from None
    except IsADirectoryError:
        raise ConfigError([f"{path}: is a directory, not a YAML file"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read ({_reason(exc)})"]) from None


def parse_yaml_mapping(text: str, source: str, expected: str) -> dict[str, Any]:
    """YAML text that must be a mapping (an empty text is an empty one), or ConfigError with
    one line naming `source` and the line and column of a syntax error."""
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = " ".join((getattr(exc, "problem", None) or "invalid YAML").split())
        raise ConfigError([f"{source}: not valid YAML{where}: {problem}"]) from None
    except RecursionError:
        raise ConfigError([f"{source}: nested too deeply (at most {MAX_DEPTH} levels)"]) from None
    except (ValueError, TypeError, KeyError, AttributeError) as exc:  # what _Loader.construct_object did not place
        raise ConfigError([f"{source}: not valid YAML ({one_line(exc)})"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{source}: expected {expected}, got {type(data).__name__}"])
    check_size(data, source)
    return data


def check_size(data: Any, source: str) -> None:
    """Depth and number of values (aliases counted each time they are used), iteratively:
    a hostile file must not reach the validator's recursion or its time."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    values = 0
    while stack:
        item, depth = stack.pop()
        values += 1
        if values > MAX_VALUES:
            raise ConfigError([f"{source}: more than {MAX_VALUES} values (YAML anchors counted where used); not a config"])
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise ConfigError([f"{source}: nested too deeply (at most {MAX_DEPTH} levels)"])
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def key_lines(text: str) -> Callable[[tuple[Any, ...]], int]:
    """For a key path (as pydantic locates errors), the line where it, or its deepest
    ancestor present in the file, is written: problems are then reported in file order."""
    lines: dict[tuple[Any, ...], int] = {}
    try:
        root = yaml.compose(text, Loader=_Loader)  # noqa: S506 - composing only, no objects built
    except (yaml.YAMLError, RecursionError):
        root = None
    stack: list[tuple[tuple[Any, ...], Any]] = [((), root)] if root is not None else []
    while stack:
        path, node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, key.value)
                lines.setdefault(child, key.start_mark.line + 1)
                stack.append((child, value))
        elif isinstance(node, yaml.SequenceNode):
            for i, value in enumerate(node.value):
                lines.setdefault((*path, i), value.start_mark.line + 1)
                stack.append(((*path, i), value))

    def line_of(loc: tuple[Any, ...]) -> int:
        for n in range(len(loc), 0, -1):
            if tuple(loc[:n]) in lines:
                return lines[tuple(loc[:n])]
        return 0

    return line_of


ErrorDict = dict[str, Any]


def format_validation_error(
    exc: ValidationError,
    unknown_key: str = "unknown key",
    special: Callable[[ErrorDict], str | None] | None = None,
    loc: Callable[[list[Any]], list[Any]] | None = None,
    order: Callable[[tuple[Any, ...]], int] | None = None,
    suggest: type[BaseModel] | None = None,
) -> list[str]:
    """One `dotted.key: message` line per problem. `special` may word an error kind itself
    (None: the default wording); `loc` may rewrite the location (e.g. drop a union tag);
    `order` gives each location's line in the file (problems then come in file order);
    `suggest`: the root model, to name the closest known key of an unknown one."""
    errors = list(exc.errors(include_url=False))
    if order is not None:
        errors.sort(key=lambda err: order(tuple(err["loc"])))  # stable: pydantic's order within a line
    lines = []
    for err in errors:
        parts = loc(list(err["loc"])) if loc is not None else err["loc"]
        dotted = ".".join(str(part) for part in parts) or "(top level)"
        message = special(err) if special is not None else None
        if message is None and err["type"] == "extra_forbidden":
            message = unknown_key_message(tuple(err["loc"]), suggest) if suggest is not None else unknown_key
        lines.append(f"{dotted}: {message if message is not None else _message(err)}")
    return lines


def unknown_key_message(loc: tuple[Any, ...], root: type[BaseModel]) -> str:
    known = sorted(_fields_at(root, loc[:-1]))
    close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"unknown key ({hint}every key with its default: {DEFAULT_CONFIG_COMMAND})"


def _fields_at(model: Any, path: tuple[Any, ...]) -> set[str]:
    """The keys a model accepts at `path` (empty when the path leaves the models)."""
    current: Any = model
    for part in path:
        model_class = _model_in(current)
        if model_class is None or isinstance(part, int):
            if isinstance(part, int):
                current = _item_type(current)
                continue
            return set()
        info = model_class.model_fields.get(str(part))
        if info is None:
            return set()
        current = info.annotation
    model_class = _model_in(current)
    return set(model_class.model_fields) if model_class is not None else set()


def _model_in(tp: Any) -> type[BaseModel] | None:
    for candidate in _types_in(tp):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _item_type(tp: Any) -> Any:
    for candidate in _types_in(tp):
        args = typing.get_args(candidate)
        if typing.get_origin(candidate) in (list, tuple) and args:
            return args[0]
    return None


def _types_in(tp: Any) -> Iterator[Any]:
    yield tp
    yield from typing.get_args(tp)  # Optional / Union members


def _message(err: ErrorDict) -> str:
    kind = err["type"]
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        # pydantic: "Input should be a valid dictionary or instance of PresenceConfig", a class
        # name the file does not have; and a section left empty (`presence:` with its keys
        # commented out) is YAML's null.
        return f"expected a mapping of settings (key: value lines), got {_yaml_kind(err.get('input'))}"
    msg = err["msg"]
    if kind == "string_type" and isinstance(err.get("input"), bool):
        # The user wrote On (a DBC value name, a channel): YAML 1.1 made it True.
        msg = "a text is expected, and YAML reads an unquoted on / off / yes / no / true / false as a boolean: quote it"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    given = err.get("input")
    if kind not in ("missing",) and not isinstance(given, (dict, list)):
        text = repr(given)
        msg += f" (got {text if len(text) <= 80 else text[:77] + '...'})"
    return msg


def _yaml_kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, list | tuple | set | frozenset):
        return "a list"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or exc.__class__.__name__
