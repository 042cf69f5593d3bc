"""What every instrument batch shares: error cells in ``qc`` and the problems of a failed batch.

A batch (``cutometer_files``, ``ultrasound_files``, a bundle's raw files) never stops for one bad
file: the file gets a row whose ``qc`` is ``"error: <message>"``, on one line so that the CSV cell
stays one line in a spreadsheet. When *every* file of a command-line batch is unreadable there is
nothing to write: the command exits 2 with :func:`error_problems`, one problem per file.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from skintrial.errors import Problem

__all__ = ["ERROR_PREFIX", "error_cell", "one_line", "error_problems"]

ERROR_PREFIX = "error: "


def one_line(text: str) -> str:
    """``text`` with its line breaks (and the indentation after them) folded into single spaces."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def error_cell(exc: BaseException | str) -> str:
    """The ``qc`` cell of a file that could not be read or measured: ``"error: <message>"``, one line.

    Examples
    --------
    >>> from skintrial.errors import InputError, Problem
    >>> error_cell(InputError([Problem("a", file="x.csv"), Problem("b", file="x.csv")]))
    'error: 2 problems found: - x.csv: a - x.csv: b'
    """
    text = exc if isinstance(exc, str) else (str(exc) or type(exc).__name__)
    return ERROR_PREFIX + one_line(text)


def error_problems(
    table: pd.DataFrame, fixes: Mapping[str, str] | None = None, *, noun: str = "measurements"
) -> list[Problem]:
    """One problem per distinct error of a batch table's error rows.

    A read error already names its file (with row, column and fix) and is shown as it is; an error
    that does not name its file (an analysis error such as "no pressure_mbar values ...") is shown
    once, naming every file (and measurement) it hit, with the fix from ``fixes`` whose key starts
    the message.
    """
    fixes = fixes or {}
    ids = table["measurement_id"] if "measurement_id" in table.columns else pd.Series("", index=table.index)
    problems: list[Problem] = []
    by_text: dict[str, list[str]] = {}
    for file, mid, qc in zip(table["file"], ids, table["qc"], strict=True):
        text = str(qc).removeprefix(ERROR_PREFIX)
        if str(file) in text:
            problems.append(Problem(text))
        else:
            by_text.setdefault(text, []).append(f"{file}" + (f" (measurement {mid!r})" if mid else ""))
    for text, where in by_text.items():
        fix = next((f for key, f in fixes.items() if text.startswith(key)), "")
        shown = "; ".join(where[:5]) + (f"; … {len(where) - 5} more" if len(where) > 5 else "")
        count = f" [{len(where)} {noun}]" if len(where) > 1 else ""
        problems.append(Problem(text + count, file=shown, fix=fix))
    return problems
