"""qPCR relative expression: Livak ΔΔCt, efficiency-corrected (Pfaffl) ratios, and tests on ΔCt.

The pipeline, each step a public function that can be called alone:

1. :func:`read_ct` — long table ``sample, group, gene, ct`` (+ ``replicate, participant, visit, well``);
2. :func:`clean_ct` — "Undetermined" and above-cutoff wells excluded (or set to the cutoff), listed;
3. :func:`aggregate_replicates` — one Ct per sample × gene (mean or median), replicate-SD QC flag;
4. :func:`relative_expression` — ΔCt per sample against the reference gene(s), ΔΔCt against the
   control group, fold change 2^(−ΔΔCt), and a t test on ΔCt (Welch default, Student option);
   :func:`paired_relative_expression` — the pre/post design (each participant's serum before and after
   training on fibroblasts): within-participant ΔΔCt, its paired test per arm, and the between-arm
   comparison of those changes.

Efficiency correction (``method="pfaffl"``) multiplies each gene's Ct by log2(E_gene), so that
``2^(−ΔΔCt)`` *is* Pfaffl's ratio E_target^ΔCt_target / E_ref^ΔCt_ref and the same per-sample tests
apply (the efficiency-weighted ΔCt of Ganger et al. 2017). With several reference genes the
normaliser is the geometric mean of their relative quantities E^(−Ct), i.e. the arithmetic mean of
their (weighted) Cts. The formulas and sources are in ``docs/qpcr.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem

from ._qpcr_efficiency import (
    CURVE_COLUMNS,
    StandardCurveResult,
    check_amplification,
    efficiencies_with_exclusions,
    efficiency_table,
    standard_curve,
)
from ._qpcr_io import (
    EXCLUSION_COLUMNS,
    clean_ct,
    empty_exclusions,
    groups_from_participants,
    read_ct,
    read_qpcr_table,
)
from ._qpcr_replicates import REPLICATE_COLUMNS, aggregate_replicates
from ._qpcr_stability import (
    STABILITY_COLUMNS,
    GenormResult,
    StabilityResult,
    genorm,
    normfinder,
    reference_gene_stability,
)
from ._qpcr_stats import Comparison, ancova_arms, compare_cells, compare_groups, one_sample

__all__ = [
    "QpcrResult",
    "RESULT_COLUMNS",
    "DELTA_CT_COLUMNS",
    "EXCLUSION_COLUMNS",
    "REPLICATE_COLUMNS",
    "CURVE_COLUMNS",
    "read_ct",
    "read_qpcr_table",
    "groups_from_participants",
    "clean_ct",
    "aggregate_replicates",
    "standard_curve",
    "StandardCurveResult",
    "efficiency_table",
    "genorm",
    "GenormResult",
    "normfinder",
    "reference_gene_stability",
    "StabilityResult",
    "STABILITY_COLUMNS",
    "relative_expression",
    "paired_relative_expression",
]

RESULT_COLUMNS = (
    "gene",
    "group",
    "contrast",
    "n",
    "n_control",
    "delta_ct",
    "delta_ct_sd",
    "delta_delta_ct",
    "se",
    "df",
    "t",
    "p",
    "ci_level",
    "ci_low",
    "ci_high",
    "fold_change",
    "fc_low",
    "fc_high",
    "fc_sd_low",
    "fc_sd_high",
    "method",
    "test",
)
DELTA_CT_COLUMNS = ("sample", "group", "participant", "visit", "gene", "delta_ct")
_TESTS = {"welch": "welch_t", "student": "student_t"}


@dataclass(frozen=True)
class QpcrResult:
    """Everything a qPCR analysis produced.

    Attributes
    ----------
    table : DataFrame
        One row per gene × comparison, columns :data:`RESULT_COLUMNS`.
    delta_ct : DataFrame
        Per-sample ΔCt (``sample, group, participant, visit, gene, delta_ct``); empty when
        ``pairing="none"``.
    replicates : DataFrame
        One Ct per sample × gene with ``n_replicates, replicate_sd, sd_flag``.
    exclusions : DataFrame
        Every well or value that did not enter as measured: ``stage, sample, gene, replicate, row,
        value, reason, action``.
    """

    table: pd.DataFrame
    delta_ct: pd.DataFrame
    replicates: pd.DataFrame
    exclusions: pd.DataFrame


def _prepare(
    data,
    *,
    reference_genes,
    method,
    efficiencies,
    cutoff,
    undetermined,
    replicate_rule,
    max_replicate_sd,
    high_sd,
):
    """Steps 1–3 and the efficiency weights; returns replicates, exclusions, reference genes, targets, weights,
    and each sample's first spreadsheet row (for errors that name it)."""
    if isinstance(reference_genes, str):
        reference_genes = [reference_genes]
    reference_genes = list(dict.fromkeys(str(g) for g in reference_genes))
    if not reference_genes:
        raise InputError("no reference gene given", fix="name at least one reference (housekeeping) gene")
    if method not in ("ddct", "pfaffl"):
        raise InputError(f"method must be 'ddct' or 'pfaffl', not {method!r}")
    clean, excl_ct = clean_ct(data, cutoff=cutoff, undetermined=undetermined)
    reps, excl_rep = aggregate_replicates(
        clean, rule=replicate_rule, max_sd=max_replicate_sd, high_sd=high_sd
    )
    genes = list(dict.fromkeys(clean["gene"]))
    absent = [g for g in reference_genes if g not in genes]
    if absent:
        raise InputError(
            Problem(
                f"reference gene(s) {', '.join(absent)} not in the data (genes: {', '.join(genes)})",
                fix="spell the reference gene as in the 'gene' column",
                file=data.attrs.get("file"),
                column="gene",
            )
        )
    targets = [g for g in genes if g not in reference_genes]
    if not targets:
        raise InputError("every gene is a reference gene: nothing to quantify", fix="check --reference-gene")
    weights = pd.Series(1.0, index=genes)
    excl_eff = empty_exclusions()
    if method == "pfaffl":
        if efficiencies is None:
            raise InputError(
                "method 'pfaffl' needs amplification efficiencies",
                fix="pass efficiencies= (a Series of E by gene, a table gene, efficiency, or a "
                "dilution series gene, amount, ct), or use method='ddct'",
            )
        if isinstance(efficiencies, pd.Series):
            eff = efficiencies
        else:
            eff, excl_eff = efficiencies_with_exclusions(efficiencies, cutoff=cutoff)
        eff_file = None if isinstance(efficiencies, pd.Series) else efficiencies.attrs.get("file")
        lacking = [g for g in genes if g not in eff.index]
        if lacking:
            raise InputError(
                Problem(
                    f"no efficiency for gene(s) {', '.join(lacking)}",
                    file=eff_file,
                    fix="add them to the efficiency table, or use method 'ddct'",
                )
            )
        check_amplification(eff, genes, file=eff_file)
        weights = np.log2(eff.reindex(genes).astype(float))
    parts = [e for e in (excl_eff, excl_ct, excl_rep) if len(e)]
    excl = pd.concat(parts, ignore_index=True) if parts else empty_exclusions()
    reps.attrs["file"] = data.attrs.get("file")
    first_row = clean.groupby("sample", sort=False)["row"].first()
    return reps, excl, reference_genes, targets, weights, first_row


def _wide(reps: pd.DataFrame, weights: pd.Series, first_row: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Samples × genes matrix of efficiency-weighted Ct, and the per-sample metadata in the same order."""
    meta = reps.drop_duplicates("sample")[["sample", "group", "participant", "visit"]].reset_index(drop=True)
    meta.attrs["file"] = reps.attrs.get(
        "file"
    )  # for errors that name the input file and the sample's first row
    meta["row"] = meta["sample"].map(first_row)
    w = reps.pivot(index="sample", columns="gene", values="ct").reindex(meta["sample"])
    return w * weights.reindex(w.columns).to_numpy()[None, :], meta


def _missing_rows(meta, mask, genes, reason) -> pd.DataFrame:
    si, gi = np.nonzero(mask)
    return pd.DataFrame(
        {
            "stage": "delta_ct",
            "sample": meta["sample"].to_numpy()[si],
            "gene": np.asarray(genes, dtype=object)[gi],
            "replicate": None,
            "row": None,
            "value": None,
            "reason": reason,
            "action": "excluded",
        },
        columns=list(EXCLUSION_COLUMNS),
    )


def _delta_ct(reps, weights, reference_genes, targets, first_row):
    """Per-sample ΔCt matrix (n, K) = weighted target Ct − mean weighted reference Ct, and exclusions."""
    wct, meta = _wide(reps, weights, first_row)
    ref = wct.reindex(columns=reference_genes).to_numpy(float)
    tgt = wct.reindex(columns=targets).to_numpy(float)
    norm = ref.mean(axis=1)
    no_ref = ~np.isfinite(norm)
    excl = [_missing_rows(meta, np.isnan(ref) & no_ref[:, None], reference_genes, "reference_gene_missing")]
    excl.append(_missing_rows(meta, np.isnan(tgt) & ~no_ref[:, None], targets, "no_ct_for_sample"))
    dct = tgt - norm[:, None]
    return dct, meta, pd.concat([e for e in excl if len(e)] or [empty_exclusions()], ignore_index=True)


def _table(
    *, genes, groups, contrasts, n, n_control, delta_ct, delta_ct_sd, comp: Comparison, ci_level, method, test
) -> pd.DataFrame:
    """Assemble result rows from (G, K) arrays; ``genes`` has length K, ``groups``/``contrasts`` G."""
    G, K = comp.estimate.shape
    num = lambda a: np.broadcast_to(np.asarray(a, dtype=float), (G, K)).ravel()  # noqa: E731
    est, sd = num(comp.estimate), num(delta_ct_sd)
    low, high = num(comp.low), num(comp.high)
    out = pd.DataFrame(
        {
            "gene": np.broadcast_to(np.asarray(genes, dtype=object)[None, :], (G, K)).ravel(),
            "group": np.broadcast_to(np.asarray(groups, dtype=object)[:, None], (G, K)).ravel(),
            "contrast": np.broadcast_to(np.asarray(contrasts, dtype=object)[:, None], (G, K)).ravel(),
            "n": num(n).astype(int),
            "n_control": num(n_control).astype(int),
            "delta_ct": num(delta_ct),
            "delta_ct_sd": sd,
            "delta_delta_ct": est,
            "se": num(comp.se),
            "df": num(comp.df),
            "t": num(comp.t),
            "p": num(comp.p),
            "ci_level": float(ci_level),
            "ci_low": low,
            "ci_high": high,
            "fold_change": 2.0**-est,
            "fc_low": 2.0**-high,
            "fc_high": 2.0**-low,
            "fc_sd_low": 2.0 ** -(est + sd),
            "fc_sd_high": 2.0 ** -(est - sd),
            "method": method,
            "test": np.broadcast_to(np.asarray(test, dtype=object)[:, None], (G, K)).ravel(),
        }
    )
    return out[list(RESULT_COLUMNS)]


def _stack(*comps: Comparison) -> Comparison:
    return Comparison(
        *(np.concatenate([getattr(c, f) for c in comps]) for f in Comparison.__dataclass_fields__)
    )


def _zero_row(K: int) -> Comparison:
    """The control group against itself: ΔΔCt = 0 by definition, no test."""
    nan = np.full((1, K), np.nan)
    return Comparison(np.zeros((1, K)), nan, nan, nan, nan, np.zeros((1, K)), np.zeros((1, K)))


def _group_moments(values: np.ndarray, labels: np.ndarray, levels: list[str]):
    ns, means, sds = [], [], []
    for lev in levels:
        v = values[labels == lev]
        ok = np.isfinite(v)
        n = ok.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.where(ok, v, 0.0).sum(axis=0) / n
            var = (np.where(ok, v - m, 0.0) ** 2).sum(axis=0) / (n - 1)
        ns.append(n)
        means.append(np.where(n > 0, m, np.nan))
        sds.append(np.sqrt(np.where(n > 1, var, np.nan)))
    return np.array(ns), np.array(means), np.array(sds)


def _long_delta_ct(meta: pd.DataFrame, dct: np.ndarray, targets: list[str]) -> pd.DataFrame:
    si, gi = np.nonzero(np.isfinite(dct))
    out = meta.iloc[si].reset_index(drop=True)
    out["gene"] = np.asarray(targets, dtype=object)[gi]
    out["delta_ct"] = dct[si, gi]
    return out.sort_values(["gene"], kind="stable").reset_index(drop=True)[list(DELTA_CT_COLUMNS)]


def _levels(
    meta: pd.DataFrame,
    control: str,
    col: str = "group",
    *,
    what: str = "control group",
    file: str | None = None,
) -> list[str]:
    """``control`` first, then the other levels of ``col`` in order of appearance; ``what`` names it in errors."""
    control = str(control)  # labels are read as text: a group written 1 is "1"
    levels = list(dict.fromkeys(meta[col]))
    if control not in levels:
        raise InputError(
            Problem(
                f"{what} '{control}' not in the data ({', '.join(levels)})",
                file=file,
                fix=f"spell it as in the '{col}' column",
                column=col,
            )
        )
    if len(levels) < 2:
        raise InputError(
            Problem(
                f"only one {col} ('{control}'): nothing to compare",
                file=file,
                fix=f"the table needs samples from at least two values of '{col}'",
                column=col,
            )
        )
    return [control] + [lev for lev in levels if lev != control]


def _check_options(test: str, ci_level: float) -> None:
    if test not in _TESTS:
        raise InputError(f"test must be 'welch' or 'student', not {test!r}")
    if not 0.0 < ci_level < 1.0:
        raise InputError(f"ci_level must be between 0 and 1, not {ci_level!r}", fix="e.g. 0.95")


def _separate_tubes(reps, weights, refs, targets, control, test, ci_level, first_row):
    """Unpaired target and reference wells: per-group ΔCt from group means, SD √(s²_T + Σ s²_R / m²)."""
    wct, meta = _wide(reps, weights, first_row)
    labels = meta["group"].to_numpy()
    levels = _levels(meta, control, file=meta.attrs.get("file"))
    tgt, ref = wct.reindex(columns=targets).to_numpy(float), wct.reindex(columns=refs).to_numpy(float)
    ns, mt, st = _group_moments(tgt, labels, levels)
    _, mr, sr = _group_moments(ref, labels, levels)
    means = mt - mr.mean(axis=1, keepdims=True)
    sds = np.sqrt(st**2 + (sr**2).sum(axis=1, keepdims=True) / len(refs) ** 2)
    comp = compare_cells(tgt, ref, labels, levels, control, test=test, ci_level=ci_level)
    return levels, ns, means, sds, comp


def relative_expression(
    data: pd.DataFrame,
    *,
    reference_genes: str | list[str],
    control_group: str,
    method: Literal["ddct", "pfaffl"] = "ddct",
    efficiencies: pd.Series | pd.DataFrame | None = None,
    test: Literal["welch", "student"] = "welch",
    ci_level: float = 0.95,
    pairing: Literal["sample", "none"] = "sample",
    cutoff: float | None = 35.0,
    undetermined: Literal["exclude", "cutoff"] = "exclude",
    replicate_rule: Literal["mean", "median"] = "mean",
    max_replicate_sd: float | None = 0.5,
    high_sd: Literal["flag", "exclude"] = "flag",
) -> QpcrResult:
    """Relative expression of every target gene in every group against a control group.

    For each biological sample, ΔCt = Ct_target − Ct_ref, where Ct_ref is the mean Ct of the
    reference genes (the log of the geometric mean of their quantities). Per group, ΔΔCt = mean ΔCt −
    mean ΔCt of the control group and the fold change is 2^(−ΔΔCt) (Livak & Schmittgen 2001). With
    ``method="pfaffl"`` every Ct is first multiplied by log2(E) of its gene, which makes 2^(−ΔΔCt)
    Pfaffl's (2001) efficiency-corrected ratio. The test compares mean ΔCt between the group and the
    control; its confidence interval for ΔΔCt is turned into the fold-change interval
    ``fc_low = 2^(−ci_high)``, ``fc_high = 2^(−ci_low)``.

    Parameters
    ----------
    data : DataFrame
        Long Ct table (:func:`read_ct`): ``sample, group, gene, ct`` (+ ``replicate``...). Several rows
        for one sample × gene are technical replicates.
    reference_genes : str or list of str
        One or more reference (housekeeping) genes.
    control_group : str
        The calibrator: fold changes are relative to it.
    method : {"ddct", "pfaffl"}, default "ddct"
        Livak (E = 2 for every gene) or efficiency-corrected.
    efficiencies : Series or DataFrame, optional
        For ``"pfaffl"``: amplification factors E by gene, or any table :func:`efficiency_table` reads
        (``gene, efficiency``; ``gene, amplification_factor``; a dilution series ``gene, amount, ct``).
    test : {"welch", "student"}, default "welch"
        ``"welch"``: Welch's unequal-variance t on ΔCt, each group against the control, with the
        Welch–Satterthwaite df (R's ``t.test`` default, what ``pcr::pcr_test`` returns).
        ``"student"``: the linear model ΔCt ~ group through the batched engine, variance pooled over all
        groups (equals the equal-variance two-sample t test with two groups; ``pcr_lm``).
    ci_level : float, default 0.95
    pairing : {"sample", "none"}, default "sample"
        ``"sample"``: target and reference Cts of the same sample are paired (same-tube duplex, or
        separate wells of one cDNA) and ΔCt is computed per sample. ``"none"``: no pairing — ΔCt per
        group = mean target Ct − mean reference Ct, its SD sqrt(s²_target + s²_ref), and the test a
        comparison of four independent means (``pcr``'s ``separate_tube`` mode).
    cutoff, undetermined : see :func:`clean_ct`.
    replicate_rule, max_replicate_sd, high_sd : see :func:`aggregate_replicates`.

    Returns
    -------
    QpcrResult
        ``table`` has one row per target gene × group (the control group's row has ΔΔCt = 0 and no
        test), columns :data:`RESULT_COLUMNS`: ``delta_ct`` (group mean), ``delta_ct_sd`` (SD of ΔCt
        in the group), ``delta_delta_ct``, ``se, df, t, p, ci_low, ci_high`` (of ΔΔCt), ``fold_change,
        fc_low, fc_high`` (the CI transformed), ``fc_sd_low, fc_sd_high`` (2^(−(ΔΔCt ± SD)), the
        descriptive range printed by Livak & Schmittgen 2001 and the ``pcr`` package), ``n`` and
        ``n_control`` (biological samples), ``method``, ``test``, ``ci_level``.

    Notes
    -----
    Verified against the published results of the R ``pcr`` package data (``ct1``: kidney vs brain
    c-myc fold change 5.64, range 5.28–6.02; ``ct2``: 5.78, 5.23–6.37; ``ct4``: ΔCt difference −0.6848,
    Student CI (−0.955, −0.415)) and R ``t.test``/``lm`` (``tests/reference/qpcr``).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"sample": ["c1", "c2", "c3", "t1", "t2", "t3"] * 2,
    ...                   "group": ["ctl"] * 3 + ["trt"] * 3 + ["ctl"] * 3 + ["trt"] * 3,
    ...                   "gene": ["GAPDH"] * 6 + ["COL1A1"] * 6,
    ...                   "ct": [20, 20.2, 19.8, 20.1, 19.9, 20.0, 25, 25.3, 24.9, 24.1, 23.8, 24.0]})
    >>> res = relative_expression(d, reference_genes="GAPDH", control_group="ctl")
    >>> res.table[["group", "delta_delta_ct", "fold_change"]].round(3).values.tolist()
    [['ctl', 0.0, 1.0], ['trt', -1.1, 2.144]]
    """
    _check_options(test, ci_level)
    if pairing not in ("sample", "none"):
        raise InputError(f"pairing must be 'sample' or 'none', not {pairing!r}")
    reps, excl, refs, targets, weights, first_row = _prepare(
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
    if pairing == "sample":
        dct, meta, excl_d = _delta_ct(reps, weights, refs, targets, first_row)
        labels = meta["group"].to_numpy()
        levels = _levels(meta, control_group, file=meta.attrs.get("file"))
        ns, means, sds = _group_moments(dct, labels, levels)
        comp = compare_groups(dct, labels, levels, levels[0], test=test, ci_level=ci_level)
        long = _long_delta_ct(meta, dct, targets)
    else:
        levels, ns, means, sds, comp = _separate_tubes(
            reps, weights, refs, targets, str(control_group), test, ci_level, first_row
        )
        excl_d, long = empty_exclusions(), pd.DataFrame(columns=list(DELTA_CT_COLUMNS))
    K = len(targets)
    table = _table(
        genes=targets,
        groups=levels,
        contrasts=[f"{g} - {levels[0]}" for g in levels],
        n=ns,
        n_control=ns[:1],
        delta_ct=means,
        delta_ct_sd=sds,
        comp=_stack(_zero_row(K), comp),
        ci_level=ci_level,
        method=method,
        test=[""] + [_TESTS[test]] * (len(levels) - 1),
    )
    table = table.sort_values("gene", kind="stable", key=lambda s: s.map(targets.index)).reset_index(
        drop=True
    )
    exclusions = pd.concat([e for e in (excl, excl_d) if len(e)] or [empty_exclusions()], ignore_index=True)
    return QpcrResult(table=table, delta_ct=long, replicates=reps, exclusions=exclusions)


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
        As in :func:`relative_expression`.

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
    _check_options(test, ci_level)
    if between not in ("change", "ancova"):
        raise InputError(f"between must be 'change' or 'ancova', not {between!r}")
    reps, excl, refs, targets, weights, first_row = _prepare(
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
    dct, meta, excl_d = _delta_ct(reps, weights, refs, targets, first_row)
    change, post_dct, pre_dct, arm, excl_p = _pair_visits(meta, dct, pre, post)
    arms = list(dict.fromkeys(arm))
    if reference_arm is not None:
        reference_arm = str(reference_arm)
        file = meta.attrs.get("file")
        arms = (
            _levels(pd.DataFrame({"group": arm}), reference_arm, what="reference arm", file=file)
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
    ns, _, sds = _group_moments(change, arm, arms)
    _, mpost, _ = _group_moments(post_dct, arm, arms)
    within = _table(
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
            comp, label = compare_groups(change, arm, arms, ref, test=test, ci_level=ci_level), _TESTS[test]
        parts.append(
            _table(
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
        table=table, delta_ct=_long_delta_ct(meta, dct, targets), replicates=reps, exclusions=exclusions
    )
