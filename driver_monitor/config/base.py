"""The strict base every config section derives from."""

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A config section: unknown keys are errors (typos must not be silently ignored),
    values are validated on assignment too, and instances are immutable once loaded so a
    reload swaps a whole new Config instead of mutating the running one."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
