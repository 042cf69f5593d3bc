"""Reference-gene stability: geNorm M with stepwise exclusion, and the NormFinder stability value.

Both work on log2 relative quantities ``q = −log2(E) · Ct`` (``q = −Ct`` when E = 2) of candidate
reference genes measured in the same samples. Samples missing any candidate are left out (geNorm and
NormFinder need complete cases); :func:`reference_gene_stability` runs both from a raw Ct table and
lists every well and sample it did not use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem

from ._qpcr_io import EXCLUSION_COLUMNS, clean_ct, empty_exclusions

__all__ = [
    "GenormResult",
    "genorm",
    "normfinder",
    "log2_quantities",
    "incomplete_samples",
    "reference_gene_stability",
    "StabilityResult",
    "STABILITY_COLUMNS",
]

STABILITY_COLUMNS = (
    "gene",
    "genorm_rank",
    "genorm_m",
    "normfinder_rank",
    "normfinder_stability",
    "intragroup_variance",
    "intergroup_difference",
)


def _candidates(data: pd.DataFrame, genes: list[str] | None) -> list[str]:
    genes = list(dict.fromkeys(data["gene"])) if genes is None else [str(g) for g in genes]
    absent = [g for g in genes if g not in set(data["gene"])]
    if absent:
        raise InputError(
            Problem(
                f"candidate gene(s) not in the data: {', '.join(absent)}",
                file=data.attrs.get("file"),
                column="gene",
                fix="name genes exactly as in the 'gene' column",
            )
        )
    return genes


def incomplete_samples(data: pd.DataFrame, *, genes: list[str] | None = None) -> pd.DataFrame:
    """Samples that lack a Ct for some candidate gene: left out of geNorm and NormFinder, listed here.

    Returns the exclusions schema (``stage = "stability"``, ``gene`` the missing candidates joined by
    ``;``, ``reason = "no_ct_for_candidate"``), one row per sample.
    """
    genes = _candidates(data, genes)
    sub = data.loc[data["gene"].isin(genes)]
    has = (
        sub.pivot_table(index="sample", columns="gene", values="ct", aggfunc="count")
        .reindex(index=list(dict.fromkeys(data["sample"])), columns=genes)
        .fillna(0)
        > 0
    )
    lacking = ~has.all(axis=1)
    if not lacking.any():
        return empty_exclusions()
    return pd.DataFrame(
        {
            "stage": "stability",
            "sample": has.index[lacking],
            "gene": [
                ";".join(g for g, ok in zip(genes, r, strict=True) if not ok) for r in has[lacking].to_numpy()
            ],
            "replicate": None,
            "row": None,
            "value": None,
            "reason": "no_ct_for_candidate",
            "action": "excluded",
        },
        columns=list(EXCLUSION_COLUMNS),
    ).reset_index(drop=True)


def log2_quantities(
    data: pd.DataFrame,
    *,
    genes: list[str] | None = None,
    efficiencies: pd.Series | None = None,
    extra: tuple[str, ...] = (),
) -> tuple[pd.DataFrame, np.ndarray]:
    """Wide complete-case matrix of log2 quantities (samples × genes) from a long Ct table.

    Several rows for one sample and gene (technical replicates) are averaged first. Returns the
    per-sample metadata (``sample`` plus ``extra`` columns) and the (n, k) matrix.
    """
    genes = _candidates(data, genes)
    if len(genes) < 3:  # geNorm ranks down to a pair; NormFinder's variance estimate divides by 1 − 2/k
        raise InputError(
            Problem(
                f"need at least 3 candidate genes, got {len(genes)}",
                file=data.attrs.get("file"),
                fix="measure more candidate reference genes",
            )
        )
    sub = data.loc[data["gene"].isin(genes)]
    wide = sub.pivot_table(index="sample", columns="gene", values="ct", aggfunc="mean")[genes]
    if extra:
        meta = sub.groupby("sample")[list(extra)].first()
        wide = wide.join(meta)
    wide = wide.dropna()
    if len(wide) < 3:
        raise InputError(
            Problem(
                f"only {len(wide)} samples have a Ct for every candidate gene",
                file=data.attrs.get("file"),
                fix="stability needs at least 3 complete samples",
            )
        )
    ct = wide[genes].to_numpy(dtype=float)
    w = np.ones(len(genes)) if efficiencies is None else np.log2(efficiencies.reindex(genes).to_numpy(float))
    if not np.isfinite(w).all():
        raise InputError(
            "an efficiency is missing for a candidate gene", fix="add it to the efficiency table"
        )
    meta = wide.reset_index()[["sample", *extra]]
    return meta, -ct * w[None, :]


def _m_values(q: np.ndarray) -> np.ndarray:
    """geNorm M of each column: the mean SD of its pairwise log2 ratios with the other columns."""
    diff = q[:, :, None] - q[:, None, :]  # (n, k, k)
    v = diff.std(axis=0, ddof=1)
    return v.sum(axis=1) / (q.shape[1] - 1)


@dataclass(frozen=True)
class GenormResult:
    """geNorm output.

    Attributes
    ----------
    m : DataFrame
        ``step, n_genes, gene, m``: M of every remaining gene at each step of the stepwise exclusion.
    ranking : DataFrame
        ``rank, gene, m``: 1 = most stable; the last two genes share rank 1 (geNorm cannot separate
        a pair). ``m`` is the gene's M at the step it was excluded (the final M for the pair).
    pairwise_variation : DataFrame
        ``n, v, below_threshold``: V_n/n+1, the SD of log2(NF_n / NF_n+1), where NF_n is the geometric
        mean of the n most stable genes. Below the threshold, adding gene n+1 is not needed.
    threshold : float
    n_samples : int
    """

    m: pd.DataFrame
    ranking: pd.DataFrame
    pairwise_variation: pd.DataFrame
    threshold: float
    n_samples: int


def genorm(
    data: pd.DataFrame,
    *,
    genes: list[str] | None = None,
    efficiencies: pd.Series | None = None,
    threshold: float = 0.15,
) -> GenormResult:
    """geNorm reference-gene stability (Vandesompele et al. 2002).

    For genes j, k the pairwise variation V_jk is the SD over samples of log2(a_j / a_k); the stability
    M_j is the mean of V_jk over the other k − 1 genes (lower is more stable). The gene with the
    largest M is removed and M recomputed, until two genes remain. The pairwise variation V_n/n+1 tells
    how many reference genes to use (Vandesompele's cut-off 0.15).

    Parameters
    ----------
    data : DataFrame
        Long Ct table with ``sample, gene, ct`` (replicates are averaged).
    genes : list of str, optional
        Candidate reference genes (default: every gene in ``data``). At least three.
    efficiencies : Series, optional
        Amplification factor E per gene (default 2 for every gene).
    threshold : float, default 0.15

    Returns
    -------
    GenormResult

    Notes
    -----
    Checked against a direct, loop-by-loop evaluation of the definition and hand-computed cases
    (``tests/omics/test_qpcr.py``).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"sample": [1, 2, 3, 4] * 3, "gene": ["A"] * 4 + ["B"] * 4 + ["C"] * 4,
    ...                   "ct": [20, 21, 22, 23, 25, 26, 27, 28, 18, 20, 18, 21]})
    >>> genorm(d).ranking["gene"].tolist()
    ['A', 'B', 'C']
    """
    meta, q = log2_quantities(data, genes=genes, efficiencies=efficiencies)
    names = list(genes) if genes is not None else list(dict.fromkeys(data["gene"]))
    remaining = list(range(len(names)))
    m_rows, removed = [], []
    step = 1
    while True:
        m = _m_values(q[:, remaining])
        m_rows += [(step, len(remaining), names[j], float(mj)) for j, mj in zip(remaining, m, strict=True)]
        if len(remaining) == 2:
            break
        worst = int(np.argmax(m))
        removed.append((names[remaining[worst]], float(m[worst])))
        del remaining[worst]
        step += 1
    order = [(names[j], float(mj)) for j, mj in zip(remaining, m, strict=True)] + removed[::-1]
    ranking = pd.DataFrame(
        {"rank": [1, 1, *range(3, len(order) + 1)], "gene": [g for g, _ in order], "m": [v for _, v in order]}
    )
    idx = [names.index(g) for g, _ in order]
    cum = np.cumsum(q[:, idx], axis=1) / np.arange(1, len(idx) + 1)[None, :]  # log2 NF_n (n = 1..k)
    ns = np.arange(2, len(idx))
    v = np.array([np.std(cum[:, n - 1] - cum[:, n], ddof=1) for n in ns])
    pv = pd.DataFrame({"n": ns, "v": v, "below_threshold": v < threshold})
    mdf = pd.DataFrame(m_rows, columns=["step", "n_genes", "gene", "m"])
    return GenormResult(
        m=mdf, ranking=ranking, pairwise_variation=pv, threshold=threshold, n_samples=int(q.shape[0])
    )


def normfinder(
    data: pd.DataFrame,
    *,
    group: str = "group",
    genes: list[str] | None = None,
    efficiencies: pd.Series | None = None,
) -> pd.DataFrame:
    """NormFinder stability value (Andersen, Jensen & Ørntoft 2004).

    A model-based estimate: each gene's log expression y_igj (gene i, group g, sample j) is split into
    an intragroup variance σ²_ig (residuals after removing gene × group and sample effects, corrected
    for the k genes' mutual dependence) and an intergroup difference d_ig (gene × group interaction),
    shrunk towards zero by the common between-group variance γ²:
    d̃_ig = d_ig · γ² / (γ² + σ²_ig/n_g), with variance v_ig = σ²_ig/n_g + γ² (σ²_ig/n_g) / (γ² + σ²_ig/n_g).
    The stability value is ρ_i = mean over groups of |d̃_ig| + √v_ig (lower is more stable).

    Parameters
    ----------
    data : DataFrame
        Long Ct table with ``sample, gene, ct`` and the ``group`` column.
    group : str, default "group"
        Column naming each sample's group (tissue, treatment). With a single group there is no
        intergroup term and the stability reported is √σ²_i (the intragroup SD), as NormFinder's
        one-group mode ranks by the variance.
    genes : list of str, optional
        Candidate genes (default all). At least three (the intragroup variance divides by 1 − 2/k).
    efficiencies : Series, optional
        Amplification factor per gene (default 2).

    Raises
    ------
    InputError
        Fewer than three candidate genes, fewer than three complete samples, or a group with fewer
        than two complete samples (its variance cannot be estimated; the message names the group and
        its samples).

    Returns
    -------
    DataFrame
        ``gene, stability, intragroup_variance, intergroup_difference, rank`` sorted by stability;
        ``intragroup_variance`` is the mean of σ²_ig over groups and ``intergroup_difference`` the mean
        of |d̃_ig|.

    Notes
    -----
    Follows the formulas of Andersen et al. (2004) as implemented in Bioconductor NormqPCR's
    ``stabMeasureRho`` (negative variance estimates set to 0); checked against a literal evaluation of
    those formulas in the tests.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> rows = [(f"s{i}", "ab"[i % 2], g, 20 + 0.2 * rng.normal() + shift * (i % 2))
    ...         for i in range(16) for g, shift in [("A", 0), ("B", 0), ("C", 1.5), ("D", 0)]]
    >>> d = pd.DataFrame(rows, columns=["sample", "group", "gene", "ct"])
    >>> normfinder(d)["gene"].tolist()  # C shifts between the groups: least stable
    ['D', 'B', 'A', 'C']
    """
    if group not in data.columns:
        raise InputError(Problem(f"no '{group}' column", fix="name the group column", column=group))
    meta, y = log2_quantities(data, genes=genes, efficiencies=efficiencies, extra=(group,))
    names = list(genes) if genes is not None else list(dict.fromkeys(data["gene"]))
    labels = meta[group].astype(str).to_numpy()
    levels = list(dict.fromkeys(labels))
    sizes = pd.Series(labels).value_counts()
    small = [lev for lev in levels if sizes[lev] < 2]
    if small:
        raise InputError(
            Problem(
                "NormFinder needs at least 2 complete samples in every group (the intragroup variance); "
                + "; ".join(
                    f"{group} '{lev}' has {sizes[lev]} ({', '.join(meta.loc[labels == lev, 'sample'].astype(str))})"
                    for lev in small
                ),
                file=data.attrs.get("file"),
                column=group,
                fix=f"measure at least 2 samples in every {group}, or leave such a {group} out (geNorm does not "
                "use groups)",
            )
        )
    k = y.shape[1]
    var = np.empty((len(levels), k))
    gmeans = np.empty((len(levels), k))
    ngr = np.empty(len(levels))
    for gi, lev in enumerate(levels):  # loop over groups (a few), vectorised over genes
        yg = y[labels == lev]
        ngr[gi] = len(yg)
        gmeans[gi] = yg.mean(axis=0)
        r = yg - gmeans[gi][None, :] - yg.mean(axis=1, keepdims=True) + yg.mean()
        a = (r**2).sum(axis=0) / (len(yg) - 1) if len(yg) > 1 else np.full(k, np.nan)
        var[gi] = (a - a.sum() / (k * (k - 1))) / (1.0 - 2.0 / k)
    var = np.maximum(var, 0.0)
    if len(levels) == 1:
        stab, dnew = np.sqrt(var[0]), np.zeros((1, k))
    else:
        dif = gmeans - gmeans.mean(axis=1, keepdims=True) - gmeans.mean(axis=0, keepdims=True) + gmeans.mean()
        va = var / ngr[:, None]
        tau = max(float((dif**2).sum() / ((len(levels) - 1) * (k - 1)) - va.mean()), 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            shrink = np.where(tau + va > 0, tau / (tau + va), 0.0)
            vanew = va + np.where(tau + va > 0, tau * va / (tau + va), 0.0)
        dnew = dif * shrink
        stab = (np.abs(dnew) + np.sqrt(vanew)).mean(axis=0)
    out = pd.DataFrame(
        {
            "gene": names,
            "stability": stab,
            "intragroup_variance": var.mean(axis=0),
            "intergroup_difference": np.abs(dnew).mean(axis=0),
        }
    )
    if not np.isfinite(
        stab
    ).all():  # cannot happen with >= 2 samples per group and >= 3 genes; never rank NaN
        raise RuntimeError(f"NormFinder stability is not finite: {stab.tolist()}")
    out = out.sort_values("stability", kind="stable").reset_index(drop=True)
    out["rank"] = np.arange(1, k + 1)
    return out


@dataclass(frozen=True)
class StabilityResult:
    """geNorm and NormFinder on one Ct table, with everything left out.

    Attributes
    ----------
    table : DataFrame
        One row per candidate gene, columns :data:`STABILITY_COLUMNS` (geNorm rank and M, NormFinder
        rank and stability with its two parts), in geNorm rank order.
    genorm : GenormResult
        The stepwise M values and the pairwise variation V_n/n+1.
    exclusions : DataFrame
        Undetermined and above-cutoff wells (stage ``ct``) and samples without a Ct for every candidate
        (stage ``stability``, ``no_ct_for_candidate``): the exclusions schema of :func:`clean_ct`.
    n_samples : int
        Complete samples used by both methods.
    """

    table: pd.DataFrame
    genorm: GenormResult
    exclusions: pd.DataFrame
    n_samples: int


def reference_gene_stability(
    data: pd.DataFrame,
    *,
    genes: list[str] | None = None,
    group: str = "group",
    efficiencies: pd.Series | None = None,
    cutoff: float | None = 35.0,
    threshold: float = 0.15,
) -> StabilityResult:
    """geNorm and NormFinder from a raw long Ct table, listing every well and sample not used.

    Ct cells are read by :func:`clean_ct` (``cutoff`` as there; undetermined and late wells are
    excluded, never set to the cutoff: a substituted Ct would look perfectly stable). Technical
    replicates are averaged; samples without a Ct for every candidate are left out of both methods
    and listed.

    Parameters
    ----------
    data : DataFrame
        Long Ct table (:func:`read_ct`): ``sample, group, gene, ct``.
    genes : list of str, optional
        Candidate reference genes (default: every gene). At least three.
    group : str, default "group"
        The NormFinder grouping column; every group needs two complete samples.
    efficiencies : Series, optional
        Amplification factor per gene (default 2).
    cutoff : float or None, default 35.0
    threshold : float, default 0.15
        geNorm's pairwise-variation cut-off.

    Returns
    -------
    StabilityResult

    Examples
    --------
    >>> import pandas as pd
    >>> rows = [(f"s{i}", "ab"[i % 2], g, 20 + 0.1 * i * (g == "C") + 0.05 * (i % 3) * (g == "B"))
    ...         for i in range(6) for g in "ABC"]
    >>> d = pd.DataFrame(rows, columns=["sample", "group", "gene", "ct"]).astype({"ct": object})
    >>> d.loc[0, "ct"] = "Undetermined"
    >>> res = reference_gene_stability(d)
    >>> res.n_samples, res.exclusions["reason"].tolist()
    (5, ['undetermined', 'no_ct_for_candidate'])
    """
    clean, excl_ct = clean_ct(data, cutoff=cutoff, undetermined="exclude")
    clean.attrs["file"] = data.attrs.get("file")
    excl_s = incomplete_samples(clean, genes=genes)
    g = genorm(clean, genes=genes, efficiencies=efficiencies, threshold=threshold)
    nf = normfinder(clean, group=group, genes=genes, efficiencies=efficiencies)
    table = g.ranking.rename(columns={"rank": "genorm_rank", "m": "genorm_m"}).merge(
        nf.rename(columns={"rank": "normfinder_rank", "stability": "normfinder_stability"}), on="gene"
    )
    parts = [e for e in (excl_ct, excl_s) if len(e)]
    return StabilityResult(
        table=table[list(STABILITY_COLUMNS)],
        genorm=g,
        exclusions=pd.concat(parts, ignore_index=True) if parts else empty_exclusions(),
        n_samples=g.n_samples,
    )
