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
    "MAX_SHOWN",
    "Problem",
    "more_like_this",
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


MAX_SHOWN = 10
"""How many problems of one class (same file, column and message) are listed; the rest are counted.

A file with a million bad rows gives ten examples and one line counting the others, not a million
lines: checks that run over whole columns build at most this many records per class
(:func:`more_like_this` stands for the rest), and :class:`InputError` lists at most this many of any
class it is given."""


def more_like_this(example: Problem, count: int, first_row: int | None, last_row: int | None) -> Problem:
    """One record standing for ``count`` further rows that have the problem of ``example``, between
    ``first_row`` and ``last_row`` (spreadsheet numbers)."""
    span = ""
    if first_row is not None and last_row is not None:
        span = f" (row {first_row})" if first_row == last_row else f" (rows {first_row} to {last_row})"
    noun = "row" if count == 1 else "rows"
    return Problem(
        f"{example.message}: the same on {count:,} more {noun}{span}",
        fix=example.fix,
        file=example.file,
        column=example.column,
        rows_affected=count,
        kind=example.kind,
    )


def _capped_lines(problems: Sequence[Problem], limit: int) -> list[str]:
    """Rendered problems, at most ``limit`` of each class, each class's listing followed by one line
    that counts the rest of it."""
    count: dict[tuple, int] = {}
    hidden: dict[tuple, list] = {}  # class -> [problems left out, rows they affect, the first of them]
    shown: list[tuple[tuple, Problem]] = []
    for p in problems:
        key = (p.file, p.column, p.message, p.kind)
        count[key] = count.get(key, 0) + 1
        if count[key] <= limit:
            shown.append((key, p))
        else:
            h = hidden.setdefault(key, [0, 0, p])
            h[0] += 1
            h[1] += p.rows_affected
    last = {key: i for i, (key, _) in enumerate(shown)}
    out = []
    for i, (key, p) in enumerate(shown):
        out.append(p.render())
        if key in hidden and last[key] == i:
            n, rows, first = hidden[key]
            out.append(
                f"… and {n:,} more like the one above ({rows:,} rows in all), the first of them: {first.render()}"
            )
    return out


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
        lines = [f"{len(self.problems):,} problems found:"]
        lines += [f"  - {line}" for line in _capped_lines(self.problems, MAX_SHOWN)]
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
