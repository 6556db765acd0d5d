"""The strict base every config section derives from."""

import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator


def _takes(annotation: Any, *kinds: type) -> bool:
    """A field typed one of `kinds` (alone, optional, in a union or Annotated)."""
    if annotation in kinds:
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_takes(a, *kinds) for a in typing.get_args(annotation))
    if typing.get_origin(annotation) is typing.Annotated:
        return _takes(typing.get_args(annotation)[0], *kinds)
    return False


def _numbers_within(annotation: Any) -> bool:
    """A container typed with numbers only (tuple[float, float], list[tuple[float, float]],
    dict[float, int], dict[str, float]): no bool, model or Any anywhere in it, where a
    boolean item could be meant."""
    leaves: list[Any] = []
    stack = [annotation]
    while stack:
        tp = stack.pop()
        args = typing.get_args(tp)
        if typing.get_origin(tp) is typing.Literal:
            return False
        if args:
            stack.extend(a for a in args if a is not Ellipsis)
        else:
            leaves.append(tp)
    if any(leaf is bool or leaf is Any or (isinstance(leaf, type) and issubclass(leaf, BaseModel)) for leaf in leaves):
        return False
    return bool(typing.get_args(annotation)) and any(leaf in (int, float) for leaf in leaves)


def _holds_a_bool(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, bool):
            return True
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


class Section(BaseModel):
    """A config section: unknown keys are errors (typos must not be silently ignored),
    values are validated on assignment too, and instances are immutable once loaded so a
    reload swaps a whole new Config instead of mutating the running one. No setting takes
    NaN or infinity (YAML's `.nan` / `.inf`): a bound such as `le=60` already refused them, but
    an unbounded one took them silently (`policy.conditions.drowsy.value_min: .nan`, no level
    is ever >= NaN: drowsiness never escalated by its level; `.inf` switched the eyes or a
    clip quota off without a word)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_a_number(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic's lax mode reads `true` as 1 and `false` as 0 where a number is expected:
        # `absent_after_s: true` was valid (1 s). A boolean there is a mistake, not a number.
        if isinstance(value, bool) and info.field_name is not None:
            field = cls.model_fields.get(info.field_name)
            if field is not None and _takes(field.annotation, int, float) and not _takes(field.annotation, bool):
                raise ValueError("a number is expected, not a boolean")
        # ... nor in a list, tuple or mapping of numbers (`level_thresholds: [true, 1.5, 2.5]`
        # was a threshold of 1.0; `start_stage_by_level: {true: 1}` a floor for level 1).
        if isinstance(value, list | tuple | dict) and info.field_name is not None and _holds_a_bool(value):
            field = cls.model_fields.get(info.field_name)
            if field is not None and _numbers_within(field.annotation):
                raise ValueError("a number is expected, not a boolean")
        # An empty path is the working directory ("" reads as Path(".")): `state_dir: ""` put
        # the state file, `event_clips.dir: ""` the driver's video clips, wherever the daemon
        # was started (/ under systemd), without a word. Empty is what a blanked value looks
        # like: null (or no key) is the default.
        if isinstance(value, str) and not value.strip() and info.field_name is not None:
            field = cls.model_fields.get(info.field_name)
            if field is not None and _takes(field.annotation, Path):
                raise ValueError("an empty path (null, or no key, for the default)")
        return value
