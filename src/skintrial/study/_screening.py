"""``screening.csv``: the optional table of who was assessed for eligibility and why some were not enrolled.

CONSORT 2025's flow diagram starts before randomisation: the number of people assessed for eligibility,
and the number excluded before randomisation with their reasons (not meeting the inclusion criteria,
declined to participate, other reasons). A study bundle holds only the people enrolled
(``participants.csv``), so these numbers come from an optional table (docs/bundle.md):

=========  ========================================================================================
column     meaning
=========  ========================================================================================
stage      ``assessed`` (one row: the number assessed for eligibility) or ``excluded`` (one row per
           reason someone assessed was not enrolled)
reason     for ``excluded``: the reason as the diagram shows it (``not meeting inclusion criteria:
           BMI over 30``, ``declined to participate`` …); empty for ``assessed``
n          a whole number of people, 0 or more
=========  ========================================================================================

The numbers must add up: assessed − excluded = the participants enrolled (the rows of
``participants.csv``). Without the table the diagram starts at randomisation (enrolment) and says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem
from skintrial.study._bundle import Study
from skintrial.study._readers import ROW_COLUMN, find_table, read_table

__all__ = ["SCREENING_COLUMNS", "SCREENING_STAGES", "read_screening"]

SCREENING_COLUMNS: tuple[str, ...] = ("stage", "reason", "n")
SCREENING_STAGES: tuple[str, ...] = ("assessed", "excluded")


def read_screening(study: Study) -> pd.DataFrame | None:
    """The bundle's ``screening`` table (columns ``stage, reason, n``), or None when there is none.

    Raises :class:`~skintrial.errors.InputError` naming the file, row, column and fix: a missing
    column, an unknown stage, not exactly one ``assessed`` row, an ``excluded`` row without a reason,
    a count that is not a whole number ≥ 0, and counts that do not add up to the participants enrolled.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skintrial.plan import synthetic_study
    >>> from skintrial.study import load_study
    >>> root = synthetic_study(seed=1, n=12, omics=False).write(tempfile.mkdtemp())
    >>> _ = (Path(root) / "screening.csv").write_text("stage,reason,n\\nassessed,,20\\n"
    ...     "excluded,not meeting inclusion criteria,5\\nexcluded,declined to participate,3\\n")
    >>> read_screening(load_study(root))["n"].tolist()
    [20, 5, 3]
    """
    path = find_table(study.root, "screening")
    if path is None:
        return None
    raw = read_table(path, what="screening table")
    file = str(path)
    missing = [c for c in SCREENING_COLUMNS if c not in raw.columns]
    if missing:
        raise InputError(
            Problem(
                f"required column(s) {missing} are missing",
                file=file,
                row=1,
                fix="the screening table has the columns stage, reason, n (docs/bundle.md)",
            )
        )
    problems: list[Problem] = []
    rows = raw[ROW_COLUMN].astype(int).tolist()
    stage = raw["stage"].astype("string").str.strip()
    for r, s in zip(rows, stage, strict=True):
        if s not in SCREENING_STAGES:
            problems.append(
                Problem(
                    "unknown stage",
                    file=file,
                    row=r,
                    column="stage",
                    value=None if pd.isna(s) else str(s),
                    fix="write 'assessed' (the number assessed for eligibility) or 'excluded' (one row per reason)",
                )
            )
    n = pd.to_numeric(raw["n"], errors="coerce").to_numpy(dtype=float)
    for r, v, text in zip(rows, n, raw["n"], strict=True):
        if not (np.isfinite(v) and v >= 0 and v == np.round(v)):
            problems.append(
                Problem(
                    "n is not a whole number of people (0 or more)",
                    file=file,
                    row=r,
                    column="n",
                    value=text,
                    fix="write the count as a whole number",
                )
            )
    reason = raw["reason"].astype("string").str.strip()
    for r, s, why in zip(rows, stage, reason, strict=True):
        if s == "excluded" and (pd.isna(why) or why == ""):
            problems.append(
                Problem(
                    "an excluded row needs its reason",
                    file=file,
                    row=r,
                    column="reason",
                    fix="write why these people were not enrolled (e.g. 'declined to participate')",
                )
            )
    assessed = [r for r, s in zip(rows, stage, strict=True) if s == "assessed"]
    if len(assessed) != 1:
        problems.append(
            Problem(
                f"the table has {len(assessed)} 'assessed' rows; it needs exactly one",
                file=file,
                column="stage",
                fix="give the number assessed for eligibility on one row with stage 'assessed'",
            )
        )
    InputError.collect(problems)
    table = pd.DataFrame(
        {"stage": stage.astype(str), "reason": reason.fillna("").astype(str), "n": n.astype(np.int64)}
    )
    total = int(table.loc[table.stage == "assessed", "n"].iloc[0])
    excluded = int(table.loc[table.stage == "excluded", "n"].sum())
    enrolled = int(study.participants["participant_id"].nunique())
    if total - excluded != enrolled:
        raise InputError(
            Problem(
                f"assessed ({total}) minus excluded ({excluded}) is {total - excluded}, but "
                f"{enrolled} participants are enrolled in the participants table",
                file=file,
                row=assessed[0],
                column="n",
                fix="correct the counts so that assessed - excluded = the participants enrolled",
            )
        )
    return table[list(SCREENING_COLUMNS)]
