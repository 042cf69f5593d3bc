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

This module holds :func:`relative_expression` and re-exports the other steps from the modules that
hold them: reading and cleaning (``_qpcr_io``), replicates (``_qpcr_replicates``), efficiencies and
standard curves (``_qpcr_efficiency``), reference-gene stability (``_qpcr_stability``), ΔCt
(``_qpcr_delta_ct``), the tests (``_qpcr_stats``), the result and its table (``_qpcr_result``) and the
pre/post design (``_qpcr_paired``).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from skintrial.errors import InputError

from ._qpcr_delta_ct import DELTA_CT_COLUMNS, long_delta_ct, prepare, sample_delta_ct, weighted_ct
from ._qpcr_efficiency import (
    CURVE_COLUMNS,
    StandardCurveResult,
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
from ._qpcr_paired import paired_relative_expression
from ._qpcr_replicates import REPLICATE_COLUMNS, aggregate_replicates
from ._qpcr_result import (
    RESULT_COLUMNS,
    TESTS,
    QpcrResult,
    check_options,
    control_row,
    group_moments,
    ordered_levels,
    result_table,
    stack_comparisons,
)
from ._qpcr_stability import (
    STABILITY_COLUMNS,
    GenormResult,
    StabilityResult,
    genorm,
    normfinder,
    reference_gene_stability,
)
from ._qpcr_stats import compare_cells, compare_groups

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


def _separate_tubes(reps, weights, refs, targets, control, test, ci_level, first_row):
    """Unpaired target and reference wells: per-group ΔCt from group means, SD √(s²_T + Σ s²_R / m²)."""
    wct, meta = weighted_ct(reps, weights, first_row)
    labels = meta["group"].to_numpy()
    levels = ordered_levels(meta, control, file=meta.attrs.get("file"))
    tgt, ref = wct.reindex(columns=targets).to_numpy(float), wct.reindex(columns=refs).to_numpy(float)
    ns, mt, st = group_moments(tgt, labels, levels)
    _, mr, sr = group_moments(ref, labels, levels)
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
    check_options(test, ci_level)
    if pairing not in ("sample", "none"):
        raise InputError(f"pairing must be 'sample' or 'none', not {pairing!r}")
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
    if pairing == "sample":
        dct, meta, excl_d = sample_delta_ct(reps, weights, refs, targets, first_row)
        labels = meta["group"].to_numpy()
        levels = ordered_levels(meta, control_group, file=meta.attrs.get("file"))
        ns, means, sds = group_moments(dct, labels, levels)
        comp = compare_groups(dct, labels, levels, levels[0], test=test, ci_level=ci_level)
        long = long_delta_ct(meta, dct, targets)
    else:
        levels, ns, means, sds, comp = _separate_tubes(
            reps, weights, refs, targets, str(control_group), test, ci_level, first_row
        )
        excl_d, long = empty_exclusions(), pd.DataFrame(columns=list(DELTA_CT_COLUMNS))
    K = len(targets)
    table = result_table(
        genes=targets,
        groups=levels,
        contrasts=[f"{g} - {levels[0]}" for g in levels],
        n=ns,
        n_control=ns[:1],
        delta_ct=means,
        delta_ct_sd=sds,
        comp=stack_comparisons(control_row(K), comp),
        ci_level=ci_level,
        method=method,
        test=[""] + [TESTS[test]] * (len(levels) - 1),
    )
    table = table.sort_values("gene", kind="stable", key=lambda s: s.map(targets.index)).reset_index(
        drop=True
    )
    exclusions = pd.concat([e for e in (excl, excl_d) if len(e)] or [empty_exclusions()], ignore_index=True)
    return QpcrResult(table=table, delta_ct=long, replicates=reps, exclusions=exclusions)
