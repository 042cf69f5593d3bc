"""``study.toml`` keys for tables in other forms: ``[csv]`` (how text tables are written: separator,
decimal mark, thousands separator) and ``[measurements]`` (a wide measurements sheet).

Both tables are optional; without them a CSV's format is detected (``skintrial.study._csvformat``)
and the measurements table is long (one row per measurement). See ``docs/import.md``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["CsvSpec", "MeasurementsSpec", "LAYOUTS", "DEFAULT_COLUMNS"]

LAYOUTS = ("long", "wide", "wide_per_visit")
DEFAULT_COLUMNS = "{outcome}_{visit}"


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class CsvSpec(_Table):
    """``[csv]``: how the bundle's text tables (.csv, .tsv, .txt) are written; ``"auto"`` (the
    default of each key) detects it from the header and the values."""

    separator: Literal[",", ";", "\t", "|", "auto"] = "auto"
    decimal: Literal[".", ",", "auto"] = "auto"
    thousands: Literal["", ".", ",", " ", "'", "auto"] = "auto"
    """``""``: numbers have no thousands separator; ``" "`` also accepts a no-break space."""

    @model_validator(mode="after")
    def _distinct(self) -> CsvSpec:
        marks = {"separator": self.separator, "decimal": self.decimal, "thousands": self.thousands}
        given = {k: v for k, v in marks.items() if v not in ("auto", "")}
        for a, b in (("decimal", "separator"), ("thousands", "decimal"), ("thousands", "separator")):
            if a in given and b in given and given[a] == given[b]:
                raise ValueError(
                    f"{a} and {b} are both {given[a]!r}: a number could not be told from its neighbours"
                )
        return self


class MeasurementsSpec(_Table):
    """``[measurements]``: the layout of the measurements table.

    ``layout = "long"`` (the default) is one row per measurement (docs/bundle.md). ``"wide"`` is one
    row per participant with one column per outcome × visit, each column named by ``columns``
    (default ``"{outcome}_{visit}"``: ``r2_week0``). ``"wide_per_visit"`` is one row per participant ×
    visit with a ``visit`` column and one column per outcome (named by the outcome). Names are
    matched without regard to case; an empty cell is a measurement not taken.
    """

    layout: Literal["long", "wide", "wide_per_visit"] = "long"
    sheet: str | int | None = None
    """Workbooks (.xlsx): the sheet, by name or 0-based position (default: the first)."""
    columns: str = DEFAULT_COLUMNS
    id_column: str = "participant_id"
    visit_column: str = "visit"
    ignore_columns: list[str] = Field(default_factory=list)
    """Columns of the sheet that hold neither keys nor values (initials, notes); any other column
    that is not a value column is an error that names it."""
    outcome_names: dict[str, str] = Field(default_factory=dict)
    """Outcome → how the sheet writes it in column names (default: the outcome's own name)."""
    visit_names: dict[str, str] = Field(default_factory=dict)
    """Visit → how the sheet writes it in column names (``wide``) or in the visit column."""

    @model_validator(mode="after")
    def _pattern(self) -> MeasurementsSpec:
        if self.layout == "wide":
            for part in ("{outcome}", "{visit}"):
                if self.columns.count(part) != 1:
                    raise ValueError(
                        f'columns must hold {part} once (e.g. "{DEFAULT_COLUMNS}"); it is {self.columns!r}'
                    )
        elif self.columns != DEFAULT_COLUMNS:
            raise ValueError(f'columns is a key of layout = "wide" only (layout is "{self.layout}")')
        return self
