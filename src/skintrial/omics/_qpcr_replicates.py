"""Technical replicates: one Ct per biological sample and gene, by a declared rule, with a QC flag."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem

from ._qpcr_io import EXCLUSION_COLUMNS, empty_exclusions

__all__ = ["aggregate_replicates", "REPLICATE_COLUMNS", "sample_table"]

REPLICATE_COLUMNS = (
    "sample",
    "group",
    "participant",
    "visit",
    "gene",
    "ct",
    "n_replicates",
    "replicate_sd",
    "sd_flag",
)


def sample_table(clean: pd.DataFrame) -> pd.DataFrame:
    """One row per sample with its group (and participant, visit); conflicting labels are an error.

    A biological sample belongs to one group, one participant and one visit. When two wells of the
    same sample disagree, the error names both values and the rows.
    """
    cols = ["group", *[c for c in ("participant", "visit") if c in clean.columns]]
    problems = []
    for col in cols:
        nun = clean.groupby("sample", sort=False)[col].nunique()
        for s in nun.index[nun > 1]:
            rows = clean.loc[clean["sample"] == s]
            values = sorted(rows[col].unique())
            problems.append(
                Problem(
                    f"sample '{s}' has more than one {col}: {', '.join(values)}",
                    fix=f"a sample belongs to one {col}; rename the sample or correct the {col}",
                    file=clean.attrs.get("file"),
                    row=int(rows["row"].iloc[0]) if "row" in rows else None,
                    column=col,
                    rows_affected=len(rows),
                )
            )
    InputError.collect(problems)
    out = clean.groupby("sample", sort=False)[cols].first().reset_index()
    for c in ("participant", "visit"):
        if c not in out.columns:
            out[c] = ""
    return out[["sample", "group", "participant", "visit"]]


def aggregate_replicates(
    clean: pd.DataFrame,
    *,
    rule: Literal["mean", "median"] = "mean",
    max_sd: float | None = 0.5,
    high_sd: Literal["flag", "exclude"] = "flag",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Collapse technical replicates to one Ct per sample and gene.

    Parameters
    ----------
    clean : DataFrame
        Output of :func:`clean_ct` (numeric ``ct``, excluded wells already removed).
    rule : {"mean", "median"}, default "mean"
        Arithmetic mean of the replicate Cts (NormqPCR's default; Livak & Schmittgen 2001) or their
        median (robust to one aberrant well among three or more).
    max_sd : float or None, default 0.5
        Replicates whose sample SD exceeds this (in cycles) get ``sd_flag = True``; a listed QC flag.
        ``None`` flags nothing; zero, negative or NaN limits are errors.
    high_sd : {"flag", "exclude"}, default "flag"
        Keep flagged sample × gene values (listed with action ``flagged``) or drop them (``excluded``).

    Returns
    -------
    replicates : DataFrame
        Columns ``sample, group, participant, visit, gene, ct, n_replicates, replicate_sd, sd_flag``.
        ``replicate_sd`` is NaN with a single replicate.
    exclusions : DataFrame
        Stage ``replicates``: the flagged (or excluded) sample × gene values.

    Examples
    --------
    >>> import pandas as pd
    >>> clean = pd.DataFrame({"sample": "a", "group": "ctl", "gene": "G", "ct": [20.0, 20.2, 21.9],
    ...                       "row": [2, 3, 4]})
    >>> reps, excl = aggregate_replicates(clean, rule="median", max_sd=0.5)
    >>> reps[["ct", "n_replicates", "sd_flag"]].values.tolist()
    [[20.2, 3, True]]
    """
    if rule not in ("mean", "median"):
        raise InputError(f"replicate rule must be 'mean' or 'median', not {rule!r}")
    if high_sd not in ("flag", "exclude"):
        raise InputError(f"high_sd must be 'flag' or 'exclude', not {high_sd!r}")
    if max_sd is not None and not (isinstance(max_sd, int | float | np.integer | np.floating) and max_sd > 0):
        raise InputError(
            Problem(
                "the replicate SD limit must be a positive number of cycles",
                value=max_sd,
                fix="e.g. max_replicate_sd=0.5 (a common limit for technical replicates), or "
                "None to flag nothing",
            )
        )
    samples = sample_table(clean)
    g = clean.groupby(["sample", "gene"], sort=False)["ct"]
    agg = g.agg(["mean", "median", "std", "count"]).reset_index()
    out = pd.DataFrame(
        {
            "sample": agg["sample"],
            "gene": agg["gene"],
            "ct": agg[rule].astype(float),
            "n_replicates": agg["count"].astype(int),
            "replicate_sd": agg["std"].astype(float),
        }
    )
    flag = out["replicate_sd"] > max_sd if max_sd is not None else pd.Series(False, index=out.index)
    out["sd_flag"] = flag.to_numpy(dtype=bool)
    out = out.merge(samples, on="sample", how="left")[list(REPLICATE_COLUMNS)]
    excl = empty_exclusions()
    if flag.any():
        rows = clean.groupby(["sample", "gene"], sort=False)["row"].first() if "row" in clean else None
        f = out.loc[flag.to_numpy()]
        excl = pd.DataFrame(
            {
                "stage": "replicates",
                "sample": f["sample"].to_numpy(),
                "gene": f["gene"].to_numpy(),
                "replicate": None,
                "row": [rows.get((s, gg)) for s, gg in zip(f["sample"], f["gene"], strict=True)]
                if rows is not None
                else None,
                "value": np.round(f["replicate_sd"].to_numpy(), 6),
                "reason": f"replicate_sd_above_{max_sd:g}",
                "action": "flagged" if high_sd == "flag" else "excluded",
            },
            columns=list(EXCLUSION_COLUMNS),
        )
        if high_sd == "exclude":
            out = out.loc[~flag.to_numpy()].reset_index(drop=True)
    return out.reset_index(drop=True), excl
