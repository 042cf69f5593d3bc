"""Reference-gene stability: geNorm M with stepwise exclusion, and the NormFinder stability value.

Both work on log2 relative quantities ``q = −log2(E) · Ct`` (``q = −Ct`` when E = 2) of candidate
reference genes measured in the same samples. Samples missing any candidate are left out (geNorm and
NormFinder need complete cases); the number used is reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem

__all__ = ["GenormResult", "genorm", "normfinder", "log2_quantities"]


def log2_quantities(
    data: pd.DataFrame, *, genes: list[str] | None = None, efficiencies: pd.Series | None = None,
    extra: tuple[str, ...] = (),
) -> tuple[pd.DataFrame, np.ndarray]:
    """Wide complete-case matrix of log2 quantities (samples × genes) from a long Ct table.

    Several rows for one sample and gene (technical replicates) are averaged first. Returns the
    per-sample metadata (``sample`` plus ``extra`` columns) and the (n, k) matrix.
    """
    if genes is None:
        genes = list(dict.fromkeys(data["gene"]))
    absent = [g for g in genes if g not in set(data["gene"])]
    if absent:
        raise InputError(Problem(f"candidate gene(s) not in the data: {', '.join(absent)}",
                                 fix="name genes exactly as in the 'gene' column", column="gene"))
    need = 2 if extra else 3
    if len(genes) < need:
        raise InputError(Problem(f"need at least {need} candidate genes, got {len(genes)}",
                                 fix="measure more candidate reference genes"))
    sub = data.loc[data["gene"].isin(genes)]
    wide = sub.pivot_table(index="sample", columns="gene", values="ct", aggfunc="mean")[genes]
    if extra:
        meta = sub.groupby("sample")[list(extra)].first()
        wide = wide.join(meta)
    wide = wide.dropna()
    if len(wide) < 3:
        raise InputError(Problem(f"only {len(wide)} samples have a Ct for every candidate gene",
                                 fix="stability needs at least 3 complete samples"))
    ct = wide[genes].to_numpy(dtype=float)
    w = np.ones(len(genes)) if efficiencies is None else np.log2(efficiencies.reindex(genes).to_numpy(float))
    if not np.isfinite(w).all():
        raise InputError("an efficiency is missing for a candidate gene", fix="add it to the efficiency table")
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
    ranking = pd.DataFrame({"rank": [1, 1, *range(3, len(order) + 1)],
                            "gene": [g for g, _ in order], "m": [v for _, v in order]})
    idx = [names.index(g) for g, _ in order]
    cum = np.cumsum(q[:, idx], axis=1) / np.arange(1, len(idx) + 1)[None, :]  # log2 NF_n (n = 1..k)
    ns = np.arange(2, len(idx))
    v = np.array([np.std(cum[:, n - 1] - cum[:, n], ddof=1) for n in ns])
    pv = pd.DataFrame({"n": ns, "v": v, "below_threshold": v < threshold})
    mdf = pd.DataFrame(m_rows, columns=["step", "n_genes", "gene", "m"])
    return GenormResult(m=mdf, ranking=ranking, pairwise_variation=pv, threshold=threshold,
                        n_samples=int(q.shape[0]))


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
        Candidate genes (default all). At least two.
    efficiencies : Series, optional
        Amplification factor per gene (default 2).

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
    out = pd.DataFrame({"gene": names, "stability": stab, "intragroup_variance": var.mean(axis=0),
                        "intergroup_difference": np.abs(dnew).mean(axis=0)})
    out = out.sort_values("stability", kind="stable").reset_index(drop=True)
    out["rank"] = np.arange(1, k + 1)
    return out
