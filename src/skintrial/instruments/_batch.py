"""What every instrument batch shares: error cells in ``qc`` and the problems of a failed batch.

A batch (``cutometer_files``, ``ultrasound_files``, a bundle's raw files) never stops for one bad
file: the file gets a row whose ``qc`` is ``"error: <message>"``, on one line so that the CSV cell
stays one line in a spreadsheet. When *every* file of a command-line batch is unreadable there is
nothing to write: the command exits 2 with :func:`error_problems`, one problem per file.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from skintrial.errors import Problem

__all__ = ["ERROR_PREFIX", "error_cell", "one_line", "error_problems", "files_per_task"]

ERROR_PREFIX = "error: "


TASK_OVERHEAD_S = 0.004
"""What one task costs a Dask cluster beyond its work: ``runner.map(abs, range(1000))`` on
``--cluster local:2`` took 3.8-4.1 ms per task on the 2-core development machine (busy with other
work; benchmarks/bench_cluster_ultrasound.py measures and prints it again)."""

MAX_FILES_PER_TASK = 200
"""At most this many files per cluster task: progress stays visible and a rerun task (a worker that
died) costs little."""


def files_per_task(n: int, workers: int, *, file_s: float, smallest: int = 1) -> int:
    """How many files one cluster task measures: enough chunks to keep every worker busy, few enough
    that scheduling costs at most ~2 % of a task.

    ``ceil(n / (4 · workers))`` (four chunks per worker, so that an uneven chunk costs little at the
    end), raised to ``ceil(TASK_OVERHEAD_S / (0.02 · file_s))`` (the overhead at most 2 % of a task of
    files costing ``file_s`` seconds each) and to ``smallest``, and capped at
    :data:`MAX_FILES_PER_TASK`. Cutting by the number of workers is safe here: every file is measured
    on its own, so a file's row never depends on the files beside it in its chunk (tested).

    >>> files_per_task(2000, 2, file_s=0.010)  # ultrasound, 10 ms a scan: the cap
    200
    >>> files_per_task(300, 2, file_s=0.010, smallest=16)  # 38 per chunk, 8 chunks
    38
    >>> files_per_task(100, 2, file_s=0.003)  # Cutometer, 3 ms a curve file: 67 for 2 % overhead
    67
    """
    floor = math.ceil(TASK_OVERHEAD_S / (0.02 * file_s))
    want = math.ceil(n / (4 * max(1, workers)))
    return max(1, min(max(want, floor, smallest), MAX_FILES_PER_TASK))


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
