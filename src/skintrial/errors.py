"""Every exception and warning skintrial raises, in one place.

Bad *input* (a user's file, a value, an option) is an :class:`InputError`: the CLI turns it into exit
code 2 and a message that names the file, the spreadsheet row, the column, the offending value and the
fix. Several problems found in one pass travel together as one :class:`InputError` holding many
:class:`Problem` records, so a user sees them all at once instead of one per run.

Anything else that escapes is a bug in skintrial (exit code 1).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "Problem",
    "SkintrialError",
    "InputError",
    "SkintrialWarning",
    "QualityWarning",
    "DegenerateFitWarning",
]


def _plain(value: object) -> object:
    """numpy scalars and arrays as the Python values a person expects to read (2.5, not np.float64(2.5))."""
    tolist = getattr(value, "tolist", None)
    if callable(tolist) and type(value).__module__ == "numpy":
        return tolist()
    if isinstance(value, list | tuple):
        return type(value)(_plain(v) for v in value)
    return value


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input.

    ``row`` is the row number a person sees in a spreadsheet program: the header is row 1, so the
    first data row is row 2. ``rows_affected`` counts how many rows share the same problem when they
    were folded into one record.
    """

    message: str
    fix: str = ""
    file: str | None = None
    row: int | None = None
    column: str | None = None
    value: object = None
    rows_affected: int = 1
    kind: str = "invalid"

    def render(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:  # a command-line option ("--n") is named as one
            where.append(f"{'option' if self.column.startswith('-') else 'column'} '{self.column}'")
        head = ", ".join(where)
        text = f"{head}: {self.message}" if head else self.message
        if self.value is not None:
            text += f" (value: {_plain(self.value)!r})"
        if self.rows_affected > 1:
            text += f" [{self.rows_affected} rows]"
        if self.fix:
            text += f". Fix: {self.fix}"
        return text


class SkintrialError(Exception):
    """Base class of skintrial's own exceptions."""


class InputError(SkintrialError):
    """The input is wrong; the message says where and how to fix it (CLI exit code 2)."""

    def __init__(
        self, problems: Problem | str | Sequence[Problem], *, fix: str = "", file: str | None = None
    ):
        if isinstance(problems, str):
            problems = [Problem(problems, fix=fix, file=file)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__(self._text())

    def _text(self) -> str:
        if len(self.problems) == 1:
            return self.problems[0].render()
        lines = [f"{len(self.problems)} problems found:"]
        lines += [f"  - {p.render()}" for p in self.problems]
        return "\n".join(lines)

    @classmethod
    def collect(cls, problems: Iterable[Problem]) -> None:
        """Raise one error holding every problem, if there are any."""
        problems = list(problems)
        if problems:
            raise cls(problems)


class SkintrialWarning(UserWarning):
    """Base class of skintrial's warnings."""


class QualityWarning(SkintrialWarning):
    """A measurement was flagged by a quality check (it is reported, not silently used)."""


class DegenerateFitWarning(SkintrialWarning):
    """A model could not be fitted for some outcomes; their rows carry a status that says why."""
