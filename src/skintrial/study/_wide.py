"""Wide measurements sheets, declared in ``study.toml`` ``[measurements]``, reshaped to the long table.

Two layouts (``docs/import.md``):

* ``layout = "wide"``: one row per participant, one column per outcome × visit, named by the pattern
  ``columns`` (default ``"{outcome}_{visit}"``: ``r2_week0``, ``dermal_thickness_week16``);
* ``layout = "wide_per_visit"``: one row per participant × visit, a visit column, one column per
  outcome.

Every cell is checked where the sheet has it: a problem names the sheet's own row and column (and the
cell, ``E5``, as a spreadsheet shows it), never a row of the long table the sheet becomes. An empty
cell is a measurement not taken. The checks run over whole columns (numpy), so a sheet of a million
values costs about what reading it costs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from skintrial.errors import MAX_SHOWN, Problem, more_like_this
from skintrial.study._formats import CsvSpec, MeasurementsSpec
from skintrial.study._readers import ROW_COLUMN
from skintrial.study._schema import OutcomeSpec, StudyFile
from skintrial.study._validate import Declared
from skintrial.study._wide_cells import Sheet, cell_name, cell_values, gather_long, keys_as_text, seen_records

__all__ = [
    "WideResult",
    "wide_to_long",
    "as_long",
    "table_formats",
    "read_options",
    "with_sheet_labels",
    "OUTCOME_LABELS",
    "VARIABLE_LABELS",
    "cell_name",
]

OUTCOME_LABELS = "outcome_labels"
"""Key of the long table's ``attrs``: outcome → label taken from the sheet's variable labels (SPSS, Stata)."""
VARIABLE_LABELS = "variable_labels"
"""Key of a table's ``attrs``: column → its variable label (set by the SPSS and Stata reader)."""


def _key(name: object) -> str:
    return " ".join(str(name).split()).lower()


def _column(sheet: Sheet, name: str, key: str) -> tuple[str | None, list[Problem]]:
    hit = [c for c in sheet.frame.columns if c != ROW_COLUMN and _key(c) == _key(name)]
    if hit:
        return hit[0], []
    found = [c for c in sheet.frame.columns if c != ROW_COLUMN][:12]
    return None, [
        Problem(
            f"the {key.replace('_', ' ')} '{name}' of study.toml [measurements] is not a column of the sheet "
            f"(found: {found})",
            file=sheet.file,
            row=1,
            column=name,
            fix=f"add the column, or name the sheet's own in [measurements] {key}",
        )
    ]


def _value_columns(
    sheet: Sheet, spec: MeasurementsSpec, visits: list[str], outcomes: list[str], keys: set[str]
) -> tuple[dict[str, tuple[str, str | None]], list[Problem]]:
    """Each value column of the sheet → (outcome, visit); columns that are none of the expected ones."""
    expected: dict[str, tuple[str, str | None]] = {}
    clash: list[Problem] = []
    for o in outcomes:
        written = spec.outcome_names.get(o, o)
        names = (
            [(spec.columns.format(outcome=written, visit=spec.visit_names.get(v, v)), v) for v in visits]
            if spec.layout == "wide"
            else [(written, None)]
        )
        for name, v in names:
            k = _key(name)
            if k in expected and expected[k] != (o, v):
                clash.append(
                    Problem(
                        f"the column name '{name}' stands for two outcome/visit pairs: {expected[k]} and {(o, v)}",
                        file=sheet.file,
                        column="measurements.columns",
                        fix="give the outcomes or visits distinct names in [measurements] outcome_names / visit_names",
                    )
                )
            expected.setdefault(k, (o, v))
    ignore = {_key(c) for c in spec.ignore_columns}
    found: dict[str, tuple[str, str | None]] = {}
    problems = list(clash)
    example = (
        spec.columns.format(
            outcome=spec.outcome_names.get(outcomes[0], outcomes[0]),
            visit=spec.visit_names.get(visits[0], visits[0]),
        )
        if spec.layout == "wide" and outcomes and visits
        else (outcomes[0] if outcomes else "outcome")
    )
    for c in sheet.frame.columns:
        if c == ROW_COLUMN or _key(c) in keys:
            continue
        k = _key(c)
        if k in expected:
            found[c] = expected[k]
        elif k not in ignore:
            what = (
                f'a column per declared outcome × visit, named "{spec.columns}" (e.g. {example!r})'
                if spec.layout == "wide"
                else f"a column per declared outcome (e.g. {example!r})"
            )
            problems.append(
                Problem(
                    f"column '{c}' is neither a key column nor a value column: the sheet should have {what}",
                    file=sheet.file,
                    row=1,
                    column=c,
                    fix="rename it to a declared outcome (and visit), declare the outcome in study.toml, or list "
                    "the column in [measurements] ignore_columns",
                )
            )
    return found, problems


def _ids(sheet: Sheet, id_col: str, visit: np.ndarray | None) -> tuple[np.ndarray, list[Problem]]:
    """Rows whose keys are usable: an id (and a visit), not repeating an earlier row's keys."""
    ids = sheet.frame[id_col]
    problems = sheet.per_cell(
        id_col,
        ids.isna().to_numpy(),
        "empty participant id on a row of values",
        "fill in the participant's id, or delete the row",
    )
    keys = pd.DataFrame({"id": ids, "visit": visit}) if visit is not None else pd.DataFrame({"id": ids})
    dup = (keys.duplicated(keep="first") & ids.notna()).to_numpy()
    if dup.any():
        first = keys.groupby(list(keys.columns), sort=False, dropna=False).ngroup()
        first_row = sheet.frame[ROW_COLUMN].groupby(first.to_numpy()).transform("first").to_numpy()
        rows = sheet.frame[ROW_COLUMN].to_numpy()
        what = "participant and visit" if visit is not None else "participant"
        for i in np.flatnonzero(dup)[:MAX_SHOWN]:
            problems.append(
                Problem(
                    f"the same {what} as row {int(first_row[i])}: a wide sheet has one row per {what}",
                    file=sheet.file,
                    row=int(rows[i]),
                    column=id_col,
                    value=ids.iloc[i],
                    fix="merge the two rows, or correct the id"
                    + (" or the visit" if visit is not None else ""),
                )
            )
        if dup.sum() > MAX_SHOWN:
            rest = rows[np.flatnonzero(dup)[MAX_SHOWN:]]
            example = Problem(
                f"the same {what} as a row above", file=sheet.file, column=id_col, fix="merge the rows"
            )
            problems.append(more_like_this(example, len(rest), int(rest.min()), int(rest.max())))
    return ids.notna().to_numpy() & ~dup, problems


def _visits(
    sheet: Sheet, column: str, spec: MeasurementsSpec, visits: list[str]
) -> tuple[np.ndarray, list[Problem]]:
    """The declared visit of each row of a ``wide_per_visit`` sheet (None where it is empty or unknown)."""
    written = {_key(spec.visit_names.get(v, v)): v for v in visits} | {_key(v): v for v in visits}
    cells = sheet.frame[column]
    visit = cells.map(lambda t: None if t is None else written.get(_key(t))).to_numpy(dtype=object)
    problems = sheet.per_cell(
        column, cells.isna().to_numpy(), "empty visit", f"fill in the visit, one of {visits}"
    )
    unknown = cells.notna().to_numpy() & pd.isna(visit)
    for value in pd.unique(cells[unknown])[:MAX_SHOWN]:
        where = unknown & (cells == value).to_numpy()
        first = int(np.flatnonzero(where)[0])
        row = int(sheet.frame[ROW_COLUMN].iloc[first])
        problems.append(
            Problem(
                f"unknown visit (declared visits: {visits}){sheet.where(column, row)}",
                file=sheet.file,
                row=row,
                column=column,
                value=value,
                rows_affected=int(where.sum()),
                fix="correct the visit, declare it in study.toml [study] visits, or say how the sheet writes "
                "it in [measurements] visit_names",
            )
        )
    return visit, problems


def _labels(columns: Mapping[str, tuple[str, str | None]], labels: Mapping[str, str]) -> dict[str, str]:
    """Outcome labels from the value columns' variable labels: the label all of an outcome's columns
    share, else their common beginning up to a separator (``R2, week 0`` and ``R2, week 16`` → ``R2``)."""
    per: dict[str, list[str]] = {}
    for c, (o, _) in columns.items():
        if labels.get(c):
            per.setdefault(o, []).append(str(labels[c]).strip())
    out = {}
    for o, texts in per.items():
        if len(set(texts)) == 1:
            out[o] = texts[0]
            continue
        common = texts[0]
        for t in texts[1:]:
            n = 0
            while n < min(len(common), len(t)) and common[n] == t[n]:
                n += 1
            common = common[:n]
        cut = max(common.rfind(ch) for ch in ",;:(/")  # the visit's part begins at a separator …
        common = common[:cut] if cut > 0 else common.rsplit(" ", 1)[0]  # … or at least at a word
        common = common.rstrip(" ,;:-_(/")
        if len(common) >= 3:
            out[o] = common
    return out


def _unknown_ids(
    sheet: Sheet, id_col: str, usable: np.ndarray, known: np.ndarray | set, pfile: str
) -> list[Problem]:
    """One problem per distinct id that the participants table does not list (at its first row)."""
    ids = sheet.frame[id_col]
    bad = usable & ~ids.isin(known).to_numpy()
    if not bad.any():
        return []
    sub = sheet.frame.loc[bad, [id_col, ROW_COLUMN]]
    counts = sub[id_col].value_counts(sort=False)
    firsts = sub.drop_duplicates(id_col)
    fix = f"add the participant to {pfile}, or correct the id"
    out = [
        Problem(
            f"measurements for a participant who is not in {pfile}",
            file=sheet.file,
            row=int(r),
            column=id_col,
            value=v,
            rows_affected=int(counts[v]),
            fix=fix,
        )
        for v, r in zip(firsts[id_col].head(MAX_SHOWN), firsts[ROW_COLUMN].head(MAX_SHOWN), strict=True)
    ]
    if len(firsts) > MAX_SHOWN:
        rest = firsts[ROW_COLUMN].iloc[MAX_SHOWN:]
        example = Problem(
            f"measurements for a participant who is not in {pfile}", file=sheet.file, column=id_col, fix=fix
        )
        out.append(more_like_this(example, len(rest), int(rest.min()), int(rest.max())))
    return out


@dataclass(frozen=True)
class WideResult:
    """A wide sheet read: its long table, what it holds, and its problems."""

    long: pd.DataFrame
    """``participant_id, visit, outcome, value`` and the sheet row (``ROW_COLUMN``) of each clean value."""
    seen: pd.DataFrame
    """One row per sheet row × visit that holds a value (its first outcome), and one more per outcome
    that first appears elsewhere: what the checks of withdrawals, baselines, the follow-up visit and
    the declared outcomes need, a few rows per participant instead of one per value."""
    problems: list[Problem]


def wide_to_long(
    frame: pd.DataFrame,
    spec: MeasurementsSpec,
    *,
    visits: list[str],
    outcomes: Mapping[str, OutcomeSpec | None],
    file: str,
    cells: bool = True,
    participants: np.ndarray | set | None = None,
    participants_file: str = "participants.csv",
) -> WideResult:
    """The long measurements table of a wide sheet, what it holds, and the sheet's problems, each at
    its own row and column.

    Only clean cells reach the long table (numbers, finite, within the outcome's physical range, on a
    row with a participant id and a declared visit that no earlier row repeats); every other filled
    cell is a problem, as is an id that ``participants`` does not list. ``cells`` names cells (``E5``)
    in messages. The long table's ``attrs`` carry :data:`OUTCOME_LABELS` when the sheet has variable
    labels (SPSS, Stata).
    """
    sheet = Sheet(frame, file, cells)
    long_columns = ["participant_id", "visit", "outcome", "value", ROW_COLUMN]
    empty = pd.DataFrame({c: pd.Series([], dtype=object) for c in long_columns})
    id_col, problems = _column(sheet, spec.id_column, "id_column")
    visit_col = None
    if spec.layout == "wide_per_visit":
        visit_col, more = _column(sheet, spec.visit_column, "visit_column")
        problems += more
    if id_col is None or (spec.layout == "wide_per_visit" and visit_col is None):
        return WideResult(empty, empty, problems)
    keys = {_key(id_col)} | ({_key(visit_col)} if visit_col is not None else set())
    columns, more = _value_columns(sheet, spec, visits, list(outcomes), keys)
    problems += more
    frame = keys_as_text(frame, columns)
    sheet = Sheet(frame, file, cells)
    row_visit = None
    if visit_col is not None:
        row_visit, more = _visits(sheet, visit_col, spec, visits)
        problems += more
    usable, more = _ids(sheet, id_col, row_visit)
    problems += more
    if participants is not None:
        problems += _unknown_ids(sheet, id_col, usable, participants, participants_file)
    if row_visit is not None:
        usable &= ~pd.isna(row_visit)
    rows, ids = frame[ROW_COLUMN].to_numpy(), frame[id_col].to_numpy()
    names = list(columns)
    col_outcome = np.array([columns[c][0] for c in names], dtype=object)
    col_visit = np.array([columns[c][1] for c in names], dtype=object)
    values, ok, more = cell_values(sheet, columns, outcomes)
    problems += more
    ok &= usable[:, None]
    long = gather_long(ok, values, ids, rows, row_visit, col_outcome, col_visit) if names else empty
    if long.empty and not problems:
        problems.append(
            Problem(
                "the sheet holds no measurement (every value cell is empty)",
                file=file,
                row=2,
                fix="fill in the measurements, or check [measurements] in study.toml (docs/import.md)",
            )
        )
    labels = _labels(columns, frame.attrs.get(VARIABLE_LABELS) or {})
    if labels:
        long.attrs[OUTCOME_LABELS] = labels
    seen = seen_records(ok, col_outcome, col_visit, ids, rows, row_visit, visits)
    return WideResult(long, seen, problems)


def table_formats(spec: StudyFile | None, raw: Mapping) -> tuple[CsvSpec | None, MeasurementsSpec | None]:
    """``[csv]`` and ``[measurements]`` of study.toml, each as far as it is valid (its problems are
    reported with study.toml's others; an invalid table is read as if it were absent)."""
    if spec is not None:
        return spec.csv, spec.measurements
    out: list = []
    for key, model in (("csv", CsvSpec), ("measurements", MeasurementsSpec)):
        try:
            out.append(model.model_validate(raw[key]) if isinstance(raw.get(key), Mapping) else None)
        except ValueError:  # pydantic's ValidationError: said against study.toml
            out.append(None)
    return out[0], out[1]


def read_options(stem: str, csv: CsvSpec | None, layout: MeasurementsSpec | None) -> dict:
    """The keyword arguments of :func:`skintrial.study._readers.read_table` for a bundle table."""
    options: dict = {"csv": csv}
    if stem == "measurements" and layout is not None and layout.sheet is not None:
        options["sheet"] = layout.sheet
    if stem == "measurements" and layout is not None and layout.layout != "long":
        options["categorical"] = True  # a wide sheet's values are parsed once per distinct text
    return options


def as_long(
    frame: pd.DataFrame,
    layout: MeasurementsSpec | None,
    d: Declared,
    file: str,
    participants: pd.DataFrame,
    participants_file: str,
) -> tuple[pd.DataFrame, pd.DataFrame | None, list[Problem]]:
    """The measurements table in the long layout, and, for a wide sheet, what it holds
    (:attr:`WideResult.seen`) and its problems: a wide sheet is checked here, cell by cell, so the
    long table's own checks (``check_measurements``) are for a long table only (``seen`` is ``None``)."""
    if layout is None or layout.layout == "long":
        return frame, None, []
    suffix = Path(file).suffix.lower()
    ids = participants["participant_id"] if "participant_id" in participants.columns else None
    known = ids.dropna().to_numpy() if ids is not None else None  # an array: isin hashes it, no set
    result = wide_to_long(
        frame,
        layout,
        visits=d.visits or [],
        outcomes=d.outcomes or {},
        file=file,
        cells=suffix not in (".sav", ".zsav", ".dta", ".parquet"),
        participants=known,
        participants_file=Path(participants_file).name,
    )
    return result.long, result.seen, result.problems


def with_sheet_labels(spec: StudyFile, measurements: pd.DataFrame) -> StudyFile:
    """``spec`` with each outcome that study.toml does not label labelled by the sheet's variable
    labels (:data:`OUTCOME_LABELS`)."""
    labels = measurements.attrs.get(OUTCOME_LABELS) or {}
    update = {
        name: o.model_copy(update={"label": labels[name]})
        for name, o in spec.outcomes.items()
        if o.label is None and labels.get(name)
    }
    if not update:
        return spec
    return spec.model_copy(update={"outcomes": {**spec.outcomes, **update}})
