"""From a Ct table to ΔCt: steps 1–3 of the pipeline, the efficiency weights, and ΔCt per sample.

:func:`prepare` cleans the wells, combines the technical replicates and turns the efficiencies (for
``method="pfaffl"``) into per-gene weights log2(E); :func:`weighted_ct` is the samples × genes matrix of
weighted Ct; :func:`sample_delta_ct` the per-sample ΔCt = weighted target Ct − mean weighted reference
Ct, listing the samples without a reference or target Ct; :func:`long_delta_ct` its long table
(:data:`DELTA_CT_COLUMNS`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem

from ._qpcr_efficiency import check_amplification, efficiencies_with_exclusions
from ._qpcr_io import EXCLUSION_COLUMNS, clean_ct, empty_exclusions
from ._qpcr_replicates import aggregate_replicates

__all__ = ["DELTA_CT_COLUMNS", "prepare", "weighted_ct", "sample_delta_ct", "long_delta_ct"]

DELTA_CT_COLUMNS = ("sample", "group", "participant", "visit", "gene", "delta_ct")


def prepare(
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


def weighted_ct(
    reps: pd.DataFrame, weights: pd.Series, first_row: pd.Series
) -> tuple[pd.DataFrame, pd.DataFrame]:
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


def sample_delta_ct(reps, weights, reference_genes, targets, first_row):
    """Per-sample ΔCt matrix (n, K) = weighted target Ct − mean weighted reference Ct, and exclusions."""
    wct, meta = weighted_ct(reps, weights, first_row)
    ref = wct.reindex(columns=reference_genes).to_numpy(float)
    tgt = wct.reindex(columns=targets).to_numpy(float)
    norm = ref.mean(axis=1)
    no_ref = ~np.isfinite(norm)
    excl = [_missing_rows(meta, np.isnan(ref) & no_ref[:, None], reference_genes, "reference_gene_missing")]
    excl.append(_missing_rows(meta, np.isnan(tgt) & ~no_ref[:, None], targets, "no_ct_for_sample"))
    dct = tgt - norm[:, None]
    return dct, meta, pd.concat([e for e in excl if len(e)] or [empty_exclusions()], ignore_index=True)


def long_delta_ct(meta: pd.DataFrame, dct: np.ndarray, targets: list[str]) -> pd.DataFrame:
    si, gi = np.nonzero(np.isfinite(dct))
    out = meta.iloc[si].reset_index(drop=True)
    out["gene"] = np.asarray(targets, dtype=object)[gi]
    out["delta_ct"] = dct[si, gi]
    return out.sort_values(["gene"], kind="stable").reset_index(drop=True)[list(DELTA_CT_COLUMNS)]
