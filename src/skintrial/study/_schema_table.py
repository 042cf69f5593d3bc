"""The base of every ``study.toml`` table model: unknown keys and loosely typed values are errors.

Inner tables reject unknown keys, so a typo (``basline_visit``) is an error that names the key
instead of a silently ignored setting. Values are strict: a number written as text (``alpha =
"0.05"``), a ``true`` written as ``"yes"``, or a ``nan`` bound is an error that names the key, never
a value converted or ignored behind the user's back. Models are frozen.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Table"]


class Table(BaseModel):
    """A table of ``study.toml``: strict, frozen, no unknown keys, no inf or nan."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)
