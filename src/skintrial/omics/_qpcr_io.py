"""qPCR input: read a long Ct table, check it, and turn raw Ct entries into numbers or listed exclusions.

The long format is one row per well: ``sample, group, gene, ct`` and optionally ``replicate,
participant, visit, well``. ``ct`` may hold numbers or the strings instruments write for wells that
never crossed the threshold ("Undetermined", "No Ct", "N/A", empty). Nothing is dropped silently:
every well that does not enter the analysis as measured is a row of the *exclusions* table, with the
spreadsheet row, the value, the reason and what was done.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem

from ._columns import canonical_columns, read_text_table

__all__ = [
    "EXCLUSION_COLUMNS",
    "REQUIRED_COLUMNS",
    "OPTIONAL_COLUMNS",
    "read_ct",
    "read_qpcr_table",
    "groups_from_participants",
    "clean_ct",
    "check_cutoff",
    "CT_CUTOFF_RANGE",
    "empty_exclusions",
]

REQUIRED_COLUMNS = ("sample", "group", "gene", "ct")
OPTIONAL_COLUMNS = ("replicate", "participant", "visit", "well")
EXCLUSION_COLUMNS = ("stage", "sample", "gene", "replicate", "row", "value", "reason", "action")

# Names instruments and lab spreadsheets use for our columns (compared after lower-casing and
# replacing spaces/dashes by underscores).
_ALIASES = {
    "cq": "ct",
    "c_t": "ct",
    "ct_value": "ct",
    "cq_value": "ct",
    "target": "gene",
    "target_name": "gene",
    "detector": "gene",
    "sample_name": "sample",
    "condition": "group",
    "treatment": "group",
    "subject": "participant",
    "participant_id": "participant",
    "rep": "replicate",
}
_UNDETERMINED = {"undetermined", "undet", "no ct", "noct", "no cq", "n/a", "na", "nan", "", "-", "none"}


def empty_exclusions() -> pd.DataFrame:
    """An exclusions table with no rows (the schema every qPCR function returns)."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in EXCLUSION_COLUMNS})


def _normalise_columns(data: pd.DataFrame, *, file: str | None = None) -> pd.DataFrame:
    """Our column names; two columns meaning one name (``Sample`` and ``Sample Name``) are an error."""
    return canonical_columns(data, _ALIASES, file=file)


def read_qpcr_table(path: str | Path, *, sheet: str | int = 0, what: str = "qPCR table") -> pd.DataFrame:
    """Read any qPCR table (Ct table, dilution series, efficiency table) with our column names.

    The file reader behind :func:`read_ct`, for tables whose required columns differ (``gene, amount,
    ct`` for a standard curve; ``gene, efficiency`` for efficiencies). Cells are text for CSV/TSV.

    Raises
    ------
    InputError
        Missing, empty, non-UTF-8 or unparsable file (with the row of an unclosed quote), or two
        columns that mean the same thing (``Cq`` and ``CT``) — naming the file and the fix.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "dil.csv"
    >>> _ = p.write_text("Target Name,amount,Cq\\nGAPDH,1,20.1\\n")
    >>> read_qpcr_table(p, what="dilution series").columns.tolist()
    ['gene', 'amount', 'ct']
    """
    data = read_text_table(path, sheet=sheet, what=what)
    file = data.attrs["file"]
    data = _normalise_columns(data, file=file)
    data.attrs["file"] = file
    return data


def read_ct(path: str | Path, *, sheet: str | int = 0) -> pd.DataFrame:
    """Read a long qPCR Ct table from CSV, TSV or Excel.

    Parameters
    ----------
    path : str or Path
        ``.csv``, ``.tsv``/``.txt`` (tab-separated) or ``.xlsx``/``.xls``.
    sheet : str or int, default 0
        Excel sheet name or position.

    Returns
    -------
    DataFrame
        Columns lower-cased, with common instrument names mapped (``Cq`` → ``ct``, ``Target Name`` →
        ``gene``, ``Sample Name`` → ``sample``). ``ct`` is kept as read (numbers and strings such as
        "Undetermined"); :func:`clean_ct` interprets it. The ``attrs["file"]`` entry names the file
        so later errors can point at it.

    Raises
    ------
    InputError
        The file is missing, empty, not UTF-8 text or unparsable, two columns mean the same thing
        (``Sample`` and ``Sample Name``), or a required column is missing.

    Examples
    --------
    >>> import io, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "ct.csv").write_text("Sample,Group,Target Name,Cq\\ns1,ctl,GAPDH,20.1\\n")
    >>> read_ct(d / "ct.csv").columns.tolist()
    ['sample', 'group', 'gene', 'ct']
    """
    data = read_qpcr_table(path, sheet=sheet)
    check_columns(data, file=data.attrs["file"])
    return data


def check_columns(data: pd.DataFrame, *, file: str | None = None) -> None:
    """Raise an :class:`InputError` naming every required column that is missing."""
    missing = [c for c in REQUIRED_COLUMNS if c not in data.columns]
    if missing:
        raise InputError(
            Problem(
                f"missing column(s) {', '.join(missing)}; found {', '.join(map(str, data.columns))}",
                fix="a qPCR table is long: one row per well with columns sample, group, gene, ct "
                "(optional replicate, participant, visit, well)",
                file=file,
            )
        )


def _as_text(values: pd.Series) -> pd.Series:
    return values.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip())


CT_CUTOFF_RANGE = (10.0, 60.0)
"""Plausible Ct cutoffs in cycles: runs last 40–50 cycles (at most 60), and even the most abundant
transcripts (18S rRNA) cross the threshold near cycle 10, so a cutoff outside this range is a typo."""


def check_cutoff(cutoff: float | None, *, option: str = "cutoff") -> None:
    """Refuse a Ct cutoff outside :data:`CT_CUTOFF_RANGE` (``None`` = no cutoff is fine).

    Examples
    --------
    >>> check_cutoff(35.0)
    >>> check_cutoff(-5)
    Traceback (most recent call last):
    ...
    skintrial.errors.InputError: Ct cutoff must be a number of cycles between 10 and 60 (value: -5). Fix: ...
    """
    if cutoff is None:
        return
    low, high = CT_CUTOFF_RANGE
    if not (isinstance(cutoff, int | float | np.floating | np.integer) and low <= cutoff <= high):
        off = "--cutoff 0" if option.startswith("--") else "cutoff=None"
        raise InputError(
            Problem(
                f"Ct cutoff must be a number of cycles between {low:g} and {high:g}",
                value=cutoff,
                fix=f"give {option} 35 (a common limit for 40-cycle runs) or 40; {off} keeps every well",
            )
        )


def parse_ct_cells(
    values: pd.Series,
    rows: np.ndarray,
    *,
    file: str | None,
    column: str = "ct",
) -> tuple[pd.Series, pd.Series, pd.Series, list[Problem]]:
    """Ct cells as text, as numbers, the undetermined mask, and a problem per unusable cell.

    Numbers (a decimal comma is accepted) and the undetermined markers ("Undetermined", "No Ct",
    "N/A", empty, "-") are valid; other text and negative numbers are problems naming the row
    (``rows``: spreadsheet row numbers) and the column. The rule every qPCR table follows: Ct tables
    (:func:`clean_ct`) and dilution series (:func:`~skintrial.omics.qpcr.standard_curve`) alike.
    """
    values = values.reset_index(drop=True)
    text = _as_text(values.astype(object))
    ct = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce")
    is_undet = ct.isna() & text.str.lower().isin(_UNDETERMINED)
    problems: list[Problem] = []
    bad_text = (ct.isna() & ~is_undet).to_numpy()
    for r, v in zip(rows[bad_text], text[bad_text], strict=True):
        problems.append(
            Problem(
                "Ct is not a number",
                fix="write the Ct, or 'Undetermined' for no amplification",
                file=file,
                row=int(r),
                column=column,
                value=v,
            )
        )
    neg = (ct < 0).to_numpy()
    for r, v in zip(rows[neg], ct[neg], strict=True):
        problems.append(
            Problem(
                "Ct is negative", fix="check the export", file=file, row=int(r), column=column, value=float(v)
            )
        )
    return text, ct, is_undet, problems


def late_or_undetermined(
    ct: pd.Series, is_undet: pd.Series, cutoff: float | None
) -> tuple[pd.Series, np.ndarray]:
    """Wells not used as measured (undetermined, or Ct above ``cutoff``) and the reason of each."""
    late = ct.notna() & (ct > cutoff) if cutoff is not None else pd.Series(False, index=ct.index)
    return is_undet | late, np.where(is_undet, "undetermined", "above_cutoff")


def clean_ct(
    data: pd.DataFrame,
    *,
    cutoff: float | None = 35.0,
    undetermined: Literal["exclude", "cutoff"] = "exclude",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Turn raw Ct entries into numbers, handling undetermined and late wells explicitly.

    Parameters
    ----------
    data : DataFrame
        Long table (see :func:`read_ct`). Rows are numbered as a spreadsheet shows them (header = 1).
    cutoff : float or None, default 35.0
        Ct values above ``cutoff`` are treated as not detected (late amplification is unreliable;
        35 is a common limit for 40-cycle runs, 40 keeps every quantified well). ``None`` keeps all;
        a cutoff outside :data:`CT_CUTOFF_RANGE` (10–60 cycles) is an error.
    undetermined : {"exclude", "cutoff"}, default "exclude"
        What happens to undetermined wells and wells above the cutoff: ``"exclude"`` drops them from the
        analysis; ``"cutoff"`` sets them to ``cutoff`` (a bound on expression, which keeps a gene
        that is truly off in the comparison; requires a cutoff). Either way each is listed.

    Returns
    -------
    clean : DataFrame
        The input with ``ct`` numeric (float) and a ``row`` column; excluded wells removed.
    exclusions : DataFrame
        Columns ``stage, sample, gene, replicate, row, value, reason, action``: one row per well that
        was excluded or substituted.

    Raises
    ------
    InputError
        Text in ``ct`` that is neither a number nor an undetermined marker, negative Ct, empty sample,
        group or gene names — all reported in one error with their rows.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"sample": ["a", "a", "a"], "group": "ctl", "gene": ["G", "G", "T"],
    ...                     "ct": ["20.5", "Undetermined", "38.2"]})
    >>> clean, excl = clean_ct(raw, cutoff=35)
    >>> clean["ct"].tolist()
    [20.5]
    >>> excl[["row", "reason", "action"]].values.tolist()
    [[3, 'undetermined', 'excluded'], [4, 'above_cutoff', 'excluded']]
    """
    check_columns(data, file=data.attrs.get("file"))
    if undetermined not in ("exclude", "cutoff"):
        raise InputError(f"undetermined must be 'exclude' or 'cutoff', not {undetermined!r}")
    if undetermined == "cutoff" and cutoff is None:
        raise InputError("undetermined='cutoff' needs a cutoff", fix="give cutoff=40 (or your cycle count)")
    check_cutoff(cutoff)
    file = data.attrs.get("file")
    df = data.reset_index(drop=True).copy()
    df["row"] = np.arange(len(df)) + 2
    for col in ("sample", "group", "gene", *[c for c in OPTIONAL_COLUMNS if c in df.columns]):
        df[col] = _as_text(df[col])
    text, ct, is_undet, problems = parse_ct_cells(df["ct"], df["row"].to_numpy(), file=file)
    for col in ("sample", "group", "gene"):
        empty = df[col] == ""
        if empty.any():
            problems.append(
                Problem(
                    f"empty {col}",
                    fix=f"fill in the {col} of every well",
                    file=file,
                    row=int(df.loc[empty, "row"].iloc[0]),
                    column=col,
                    rows_affected=int(empty.sum()),
                )
            )
    InputError.collect(problems)

    flagged, reason = late_or_undetermined(ct, is_undet, cutoff)
    action = "excluded" if undetermined == "exclude" else "set_to_cutoff"
    excl = pd.DataFrame(
        {
            "stage": "ct",
            "sample": df.loc[flagged, "sample"],
            "gene": df.loc[flagged, "gene"],
            "replicate": df["replicate"][flagged] if "replicate" in df.columns else None,
            "row": df.loc[flagged, "row"],
            "value": text[flagged],
            "reason": reason[flagged.to_numpy()],
            "action": action,
        },
        columns=list(EXCLUSION_COLUMNS),
    ).reset_index(drop=True)
    df["ct"] = ct.astype(float)
    if undetermined == "exclude":
        df = df.loc[~flagged].reset_index(drop=True)
    else:
        df.loc[flagged, "ct"] = float(cutoff)  # type: ignore[arg-type]
    return df, excl if len(excl) else empty_exclusions()


_PARTICIPANT_ALIASES = {
    "participant_id": "participant",
    "subject": "participant",
    "subject_id": "participant",
    "arm": "group",
}


def groups_from_participants(data: pd.DataFrame, participants: pd.DataFrame) -> pd.DataFrame:
    """Give every well its participant's arm as ``group``, from a participants table.

    Parameters
    ----------
    data : DataFrame
        A Ct table (:func:`read_qpcr_table`) with a ``participant`` column (``participant_id`` and
        ``subject`` are read as it); ``group`` may be absent.
    participants : DataFrame
        One row per participant: ``participant_id`` (or ``participant``/``subject``) and ``arm`` (or
        ``group``), e.g. a study bundle's ``participants.csv``. ``attrs["file"]`` names it in errors.

    Returns
    -------
    DataFrame
        ``data`` with ``group`` set to each participant's arm.

    Raises
    ------
    InputError
        A missing column in either table, a participant listed twice with different arms, a
        participant of the Ct table not in the participants table, or a ``group`` already in the Ct
        table that disagrees with the participant's arm (each naming file, row and value).

    Examples
    --------
    >>> import pandas as pd
    >>> ct = pd.DataFrame({"sample": ["a", "b"], "participant": ["P1", "P2"], "gene": "G", "ct": [20, 21]})
    >>> arms = pd.DataFrame({"participant_id": ["P1", "P2"], "arm": ["AT", "RT"]})
    >>> groups_from_participants(ct, arms)["group"].tolist()
    ['AT', 'RT']
    """
    file, pfile = data.attrs.get("file"), participants.attrs.get("file")
    p = canonical_columns(participants, _PARTICIPANT_ALIASES, file=pfile)
    missing = [c for c in ("participant", "group") if c not in p.columns]
    if missing:
        raise InputError(
            Problem(
                f"the participants table lacks {' and '.join(missing)} "
                f"(found: {', '.join(map(str, participants.columns))})",
                file=pfile,
                row=1,
                fix="give participant_id and arm columns (a study bundle's participants.csv)",
            )
        )
    if "participant" not in data.columns:
        raise InputError(
            Problem(
                "the Ct table has no participant column to look the arm up by",
                file=file,
                row=1,
                fix="add a participant (or participant_id) column naming whose sample each well is",
            )
        )
    rows = p["_row"].to_numpy() if "_row" in p.columns else np.arange(len(p)) + 2
    pid, arm = _as_text(p["participant"]).to_numpy(), _as_text(p["group"]).to_numpy()
    problems: list[Problem] = []
    table = pd.DataFrame({"participant": pid, "group": arm, "row": rows})
    clash = table.groupby("participant", sort=False)["group"].nunique()
    for q in clash.index[clash > 1]:
        t = table.loc[table["participant"] == q]
        problems.append(
            Problem(
                f"participant '{q}' has two arms: {', '.join(dict.fromkeys(t['group']))}",
                file=pfile,
                row=int(t["row"].iloc[1]),
                column="arm",
                value=q,
                fix="one row (one arm) per participant",
            )
        )
    empty = (table["group"] == "").to_numpy()
    if empty.any():
        problems.append(
            Problem(
                "empty arm",
                file=pfile,
                row=int(rows[empty][0]),
                column="arm",
                rows_affected=int(empty.sum()),
                fix="fill in every participant's arm",
            )
        )
    InputError.collect(problems)
    lookup = table.drop_duplicates("participant").set_index("participant")["group"]
    out = data.copy()
    who = _as_text(out["participant"].reset_index(drop=True))
    arms = who.map(lookup)
    unknown = arms.isna().to_numpy()
    if unknown.any():
        for q in dict.fromkeys(who[unknown]):
            at = np.flatnonzero((who == q).to_numpy())
            problems.append(
                Problem(
                    "participant not in the participants table",
                    file=file,
                    row=int(at[0]) + 2,
                    column="participant",
                    value=q,
                    rows_affected=len(at),
                    fix=f"correct the id, or add the participant to {pfile or 'the participants table'}",
                )
            )
    if "group" in out.columns:
        given = _as_text(out["group"].reset_index(drop=True))
        differ = (~unknown) & (given != "").to_numpy() & (given != arms).to_numpy()
        if differ.any():
            i = int(np.flatnonzero(differ)[0])
            problems.append(
                Problem(
                    f"group '{given.iloc[i]}' differs from participant '{who.iloc[i]}''s arm "
                    f"'{arms.iloc[i]}' in {pfile or 'the participants table'}",
                    file=file,
                    row=i + 2,
                    column="group",
                    value=given.iloc[i],
                    rows_affected=int(differ.sum()),
                    fix="correct the group, or drop the group column and let the arms decide",
                )
            )
    InputError.collect(problems)
    out["group"] = arms.to_numpy()
    out.attrs["file"] = file
    return out
