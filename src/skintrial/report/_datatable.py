"""Large tables on the page: every row as JSON for the page's script, the first rows as HTML.

A data table (``datatable`` macro of the templates) shows its first :data:`STATIC_ROWS` rows as plain
HTML, so the page reads without JavaScript; the script (``report.js``) then replaces them with every
row, a search box, a select per filter column and sorting by any column (by the numeric sort keys
given here, so "<0.001" sorts as the number it stands for). The JSON is escaped for a ``<script>``
element: ``<``, ``>`` and ``&`` are written as ``\\u003c`` and so on, so no text from an input file
can close the element or open a comment.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

__all__ = ["data_table", "script_json", "STATIC_ROWS"]

STATIC_ROWS = 20
"""Rows written as HTML (what a reader without JavaScript, or a printout, sees)."""


def script_json(value: object) -> str:
    """JSON that is safe as the content of a ``<script type="application/json">`` element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for a, b in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(a, b)
    return text


def _key(x: object) -> float | None:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return float(f"{v:.6g}") if math.isfinite(v) else None


def data_table(
    id_: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    keys: Sequence[Sequence[object]] | None = None,
    text_columns: int = 1,
    filters: Sequence[int] = (),
    what: str = "rows",
    order: str = "",
) -> dict:
    """A data table for the ``datatable`` macro.

    Parameters
    ----------
    id_ : str
        The table's element id is ``{id_}-table``.
    headers, rows : sequences of str
        Already formatted cells, in the order the table opens in (the first :data:`STATIC_ROWS` are
        the HTML rows).
    keys : rows of numbers, optional
        Sort key of each cell (``None``: sort by its text); numbers are kept to 6 significant digits.
    text_columns : int
        The first columns are text (left-aligned); the rest are numbers.
    filters : column indices
        Columns that get a select box with their distinct values.
    what, order : str
        Words for the count line: "20 of 1,445 analytes (smallest p first)".
    """
    payload = {
        "rows": [list(r) for r in rows],
        "keys": [[_key(v) for v in k] for k in keys] if keys is not None else None,
        "text": text_columns,
    }
    return {
        "id": id_,
        "headers": list(headers),
        "text_columns": text_columns,
        "static_rows": [list(r) for r in rows[:STATIC_ROWS]],
        "n": len(rows),
        "what": what,
        "order": order,
        "filters": [
            {"col": j, "name": headers[j], "options": sorted({str(r[j]) for r in rows})} for j in filters
        ],
        "json": script_json(payload),
    }
