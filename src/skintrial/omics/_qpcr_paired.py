"""The pre/post qPCR design: each participant's serum before and after training, tested on fibroblasts.

:func:`paired_relative_expression` pairs each participant's two samples, tests the within-participant
ΔΔCt within each arm (paired t) and compares the arms' changes (Welch or pooled t on the changes, or the
ANCOVA of post on pre ΔCt).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem

from ._qpcr_delta_ct import long_delta_ct, prepare, sample_delta_ct
from ._qpcr_io import EXCLUSION_COLUMNS, empty_exclusions
from ._qpcr_result import TESTS, QpcrResult, check_options, group_moments, ordered_levels, result_table
from ._qpcr_stats import ancova_arms, compare_groups, one_sample

__all__ = ["paired_relative_expression"]


def _pair_visits(meta: pd.DataFrame, dct: np.ndarray, pre: str, post: str):
    """Within-participant change (post − pre) of ΔCt: (P, K) matrix, participant table, exclusions."""
    pre, post = str(pre), str(post)
    file = meta.attrs.get("file")
    row = lambda r: None if pd.isna(r.get("row")) else int(r["row"])  # noqa: E731 - first spreadsheet row of a sample
    problems = []
    visits = list(dict.fromkeys(meta["visit"]))
    for label, v in (("pre", pre), ("post", post)):
        if v not in visits:
            problems.append(
                Problem(
                    f"{label} visit '{v}' not in the data (visits: {', '.join(visits)})",
                    file=file,
                    fix="spell the visit as in the 'visit' column",
                    column="visit",
                )
            )
    no_pid = meta["participant"] == ""
    if no_pid.any():
        problems.append(
            Problem(
                "paired design needs a participant for every sample",
                column="participant",
                file=file,
                row=row(meta.loc[no_pid].iloc[0]),
                rows_affected=int(no_pid.sum()),
                fix="add a 'participant' column naming whose serum each sample is",
            )
        )
    InputError.collect(problems)
    meta = meta.assign(_i=np.arange(len(meta)))
    sub = meta.loc[meta["visit"].isin([pre, post])]
    dup = sub.duplicated(["participant", "visit"], keep=False)
    if dup.any():
        r = sub.loc[dup].iloc[0]
        others = sub.loc[
            dup & (sub["participant"] == r["participant"]) & (sub["visit"] == r["visit"]), "sample"
        ]
        raise InputError(
            Problem(
                f"participant '{r['participant']}' has {len(others)} samples at visit "
                f"'{r['visit']}' ({', '.join(others)})",
                file=file,
                row=row(r),
                fix="one sample per participant and visit (or merge them)",
                column="sample",
                value=r["sample"],
            )
        )
    arms = sub.groupby("participant", sort=False)["group"].nunique()
    if (arms > 1).any():
        pid = arms.index[arms > 1][0]
        rows = sub.loc[sub["participant"] == pid]
        second = rows.loc[rows["group"] != rows["group"].iloc[0]].iloc[0]
        where = "; ".join(
            f"{g['group']} (sample {g['sample']}, visit {g['visit']})" for _, g in rows.iterrows()
        )
        more = f" ({int((arms > 1).sum()) - 1} more participant(s) likewise)" if (arms > 1).sum() > 1 else ""
        raise InputError(
            Problem(
                f"participant '{pid}' is in two groups: {where}{more}",
                file=file,
                row=row(second),
                value=second["group"],
                fix="a participant belongs to one arm at every visit: correct the 'group' of that sample",
                column="group",
            )
        )
    idx = sub.pivot(index="participant", columns="visit", values="_i").reindex(columns=[pre, post])
    arm = sub.groupby("participant", sort=False)["group"].first().reindex(idx.index)
    lacking = idx.isna().any(axis=1)
    excl = pd.DataFrame(
        {
            "stage": "paired",
            "sample": [f"participant {p}" for p in idx.index[lacking]],
            "gene": None,
            "replicate": None,
            "row": None,
            "value": None,
            "reason": [f"no_{'pre' if np.isnan(a) else 'post'}_sample" for a in idx.loc[lacking, pre]],
            "action": "excluded",
        },
        columns=list(EXCLUSION_COLUMNS),
    )
    idx, arm = idx.loc[~lacking].astype(int), arm.loc[~lacking]
    change = dct[idx[post].to_numpy()] - dct[idx[pre].to_numpy()]
    post_dct = np.where(np.isfinite(change), dct[idx[post].to_numpy()], np.nan)
    pre_dct = np.where(np.isfinite(change), dct[idx[pre].to_numpy()], np.nan)
    return change, post_dct, pre_dct, arm.to_numpy(dtype=object), excl


def paired_relative_expression(
    data: pd.DataFrame,
    *,
    reference_genes: str | list[str],
    pre: str,
    post: str,
    reference_arm: str | None = None,
    method: Literal["ddct", "pfaffl"] = "ddct",
    efficiencies: pd.Series | pd.DataFrame | None = None,
    test: Literal["welch", "student"] = "welch",
    between: Literal["change", "ancova"] = "change",
    ci_level: float = 0.95,
    cutoff: float | None = 35.0,
    undetermined: Literal["exclude", "cutoff"] = "exclude",
    replicate_rule: Literal["mean", "median"] = "mean",
    max_replicate_sd: float | None = 0.5,
    high_sd: Literal["flag", "exclude"] = "flag",
) -> QpcrResult:
    """Pre/post design: each participant's serum before and after training, tested on fibroblasts.

    ``data`` holds one sample per participant and visit (columns ``participant`` and ``visit``; the
    ``group`` column is the participant's arm). Per participant the within-participant ΔΔCt is
    ΔCt_post − ΔCt_pre (the participant is their own calibrator), and its fold change 2^(−ΔΔCt).

    * Within each arm: the mean ΔΔCt with the paired t test (one-sample t on the changes; an
      intercept-only linear model fitted through the engine, batched over genes × arms).
    * Between arms (when there are two or more): the mean change of each arm minus that of
      ``reference_arm`` — a difference of ΔΔCt whose 2^(−x) is the ratio of the arms' fold changes —
      by Welch's t (default) or the engine's pooled-variance model ``change ~ arm`` (``"student"``).
      ``between="ancova"`` instead fits ``ΔCt_post ~ arm + ΔCt_pre`` through the engine (each gene's
      own baseline as covariate; the trial-analysis standard) and reports the baseline-adjusted
      difference (``test = "ancova"``; ``test`` is then not used for these rows).

    Parameters
    ----------
    data : DataFrame
        Long Ct table with ``sample, group, gene, ct, participant, visit``.
    reference_genes : str or list of str
    pre, post : str
        Visit labels of the baseline and follow-up serum.
    reference_arm : str, optional
        Calibrator arm of the between-arm contrasts (default: the first arm in the data).
    between : {"change", "ancova"}, default "change"
        Between-arm comparison of the changes (t test of ΔΔCt) or ANCOVA of post on pre ΔCt.
    method, efficiencies, test, ci_level, cutoff, undetermined, replicate_rule, max_replicate_sd, high_sd
        As in :func:`~skintrial.omics.qpcr.relative_expression`.

    Returns
    -------
    QpcrResult
        ``table`` rows: per gene × arm with ``contrast = "POST - PRE"`` and ``test = "paired_t"``
        (``delta_ct`` = mean ΔCt at ``post``, ``delta_ct_sd`` = SD of the changes), then per gene × arm
        ≠ reference with ``contrast = "ARM - REF (POST - PRE)"`` (``delta_ct``, ``delta_ct_sd`` NaN).
        Participants lacking one of the two visits are listed in ``exclusions`` (stage ``paired``).

    Examples
    --------
    >>> import pandas as pd
    >>> rows = []
    >>> for i, (arm, shift) in enumerate([("AT", 0.2), ("AT", 0.4), ("AT", 0.3), ("RT", 0.9), ("RT", 1.2), ("RT", 1.0)]):
    ...     for visit, s in (("pre", 0.0), ("post", shift)):
    ...         rows += [(f"p{i}-{visit}", arm, f"p{i}", visit, "GAPDH", 20 + 0.1 * i),
    ...                  (f"p{i}-{visit}", arm, f"p{i}", visit, "BGN", 26 + 0.1 * i - s)]
    >>> d = pd.DataFrame(rows, columns=["sample", "group", "participant", "visit", "gene", "ct"])
    >>> res = paired_relative_expression(d, reference_genes="GAPDH", pre="pre", post="post")
    >>> res.table[["group", "contrast", "delta_delta_ct"]].round(3).values.tolist()
    [['AT', 'post - pre', -0.3], ['RT', 'post - pre', -1.033], ['RT', 'RT - AT (post - pre)', -0.733]]
    """
    check_options(test, ci_level)
    if between not in ("change", "ancova"):
        raise InputError(f"between must be 'change' or 'ancova', not {between!r}")
    reps, excl, refs, targets, weights, first_row = prepare(
        data,
        reference_genes=reference_genes,
        method=method,
        efficiencies=efficiencies,
        cutoff=cutoff,
        undetermined=undetermined,
        replicate_rule=replicate_rule,
        max_replicate_sd=max_replicate_sd,
        high_sd=high_sd,
    )
    dct, meta, excl_d = sample_delta_ct(reps, weights, refs, targets, first_row)
    change, post_dct, pre_dct, arm, excl_p = _pair_visits(meta, dct, pre, post)
    arms = list(dict.fromkeys(arm))
    if reference_arm is not None:
        reference_arm = str(reference_arm)
        file = meta.attrs.get("file")
        arms = (
            ordered_levels(pd.DataFrame({"group": arm}), reference_arm, what="reference arm", file=file)
            if len(arms) > 1
            else arms
        )
        if reference_arm not in arms:
            raise InputError(
                Problem(
                    f"reference arm '{reference_arm}' not in the data ({', '.join(arms)})",
                    file=file,
                    column="group",
                    fix="spell it as in the 'group' column",
                )
            )
    ns, _, sds = group_moments(change, arm, arms)
    _, mpost, _ = group_moments(post_dct, arm, arms)
    within = result_table(
        genes=targets,
        groups=arms,
        contrasts=[f"{post} - {pre}"] * len(arms),
        n=ns,
        n_control=ns,
        delta_ct=mpost,
        delta_ct_sd=sds,
        comp=one_sample(change, arm, arms, ci_level=ci_level),
        ci_level=ci_level,
        method=method,
        test=["paired_t"] * len(arms),
    )
    parts = [within]
    if len(arms) > 1:
        ref = arms[0]
        if between == "ancova":
            comp, label = ancova_arms(post_dct, pre_dct, arm, arms, ref, ci_level=ci_level), "ancova"
        else:
            comp, label = compare_groups(change, arm, arms, ref, test=test, ci_level=ci_level), TESTS[test]
        parts.append(
            result_table(
                genes=targets,
                groups=arms[1:],
                contrasts=[f"{a} - {ref} ({post} - {pre})" for a in arms[1:]],
                n=ns[1:],
                n_control=ns[:1],
                delta_ct=np.nan,
                delta_ct_sd=np.nan,
                comp=comp,
                ci_level=ci_level,
                method=method,
                test=[label] * (len(arms) - 1),
            )
        )
    table = pd.concat(parts, ignore_index=True)
    table = table.sort_values("gene", kind="stable", key=lambda s: s.map(targets.index)).reset_index(
        drop=True
    )
    exclusions = pd.concat(
        [e for e in (excl, excl_d, excl_p) if len(e)] or [empty_exclusions()], ignore_index=True
    )
    return QpcrResult(
        table=table, delta_ct=long_delta_ct(meta, dct, targets), replicates=reps, exclusions=exclusions
    )
