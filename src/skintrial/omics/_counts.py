"""RNA-seq counts: TMM normalisation factors (edgeR) and voom precision weights (limma).

A count table cannot go into the linear model as it is: library sizes differ between samples, a few
very highly expressed genes take up different shares of each library (composition), and a count's
variance grows with its mean. The path limma's authors recommend (Law et al. 2014) is:

1. **TMM** (Robinson & Oshlack 2010; edgeR ``calcNormFactors(method = "TMM")``): for each sample, the
   weighted mean of the gene-wise log ratios M_g = log2((y_g/N)/(r_g/N_r)) against a reference sample
   r, after trimming 30% of the M values from each end and 5% of the average log expression
   A_g = (log2(y_g/N) + log2(r_g/N_r))/2 from each end, each gene weighted by the inverse of the
   delta-method variance (N − y_g)/(N y_g) + (N_r − r_g)/(N_r r_g). The reference is the sample whose
   upper-quartile scaled count is nearest the mean of them all; all-zero genes are left out; the
   factors are scaled so that their product is one. The effective library size is N × factor.
2. **voom** (Law et al. 2014; limma ``voom``): log-counts per million, log2((y + 0.5)/(N_eff + 1) × 1e6);
   an unweighted fit of the design; a LOWESS curve (span 0.5, R's ``lowess``: 3 robustness
   iterations, delta 1% of the range) of the square root of each gene's residual standard deviation
   against its average log count; each observation's weight is the curve's value at its fitted log
   count, to the power −4 (the inverse of the predicted variance).

The weighted linear model and the moderated statistics then follow as for arrays
(:func:`skintrial.stats.fit_ols` with ``weights``). Checked against edgeR 3.40.2 and limma 3.54.1
(``tests/reference/voom/make_voom.R``; ``tests/omics/test_counts.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import rankdata

from skintrial.cluster import InProcess, as_runner, chunk_bounds

TMM_VALUES_PER_TASK = 400_000
"""About how many counts one TMM task reads: 20 samples of 20,000 genes (some 0.3 s of ranking)."""

__all__ = [
    "TMM_VALUES_PER_TASK",
    "log_cpm",
    "tmm_factors",
    "tmm_task",
    "voom_apply",
    "voom_residual_sd",
    "voom_trend",
    "voom_weights",
]


def _tmm_one(obs, ref, n_obs, n_ref, logratio_trim, sum_trim, do_weighting, a_cutoff) -> float:
    """edgeR's ``.calcFactorTMM`` for one sample against the reference (2^weighted trimmed mean of M)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_r = np.log2((obs / n_obs) / (ref / n_ref))
        abs_e = (np.log2(obs / n_obs) + np.log2(ref / n_ref)) / 2
        v = (n_obs - obs) / n_obs / obs + (n_ref - ref) / n_ref / ref
    fin = np.isfinite(log_r) & np.isfinite(abs_e) & (abs_e > a_cutoff)
    log_r, abs_e, v = log_r[fin], abs_e[fin], v[fin]
    if log_r.size == 0 or np.max(np.abs(log_r)) < 1e-6:
        return 1.0
    n = log_r.size
    lo_l = np.floor(n * logratio_trim) + 1
    hi_l = n + 1 - lo_l
    lo_s = np.floor(n * sum_trim) + 1
    hi_s = n + 1 - lo_s
    rank_r, rank_e = rankdata(log_r), rankdata(abs_e)  # average ranks for ties, as R's rank()
    keep = (rank_r >= lo_l) & (rank_r <= hi_l) & (rank_e >= lo_s) & (rank_e <= hi_s)
    if not keep.any():
        return 1.0
    f = np.sum(log_r[keep] / v[keep]) / np.sum(1 / v[keep]) if do_weighting else np.mean(log_r[keep])
    return float(2.0**f) if np.isfinite(f) else 1.0


def tmm_factors(
    counts: np.ndarray,
    *,
    ref_column: int | None = None,
    logratio_trim: float = 0.3,
    sum_trim: float = 0.05,
    do_weighting: bool = True,
    a_cutoff: float = -1e10,
    client: Any = None,
) -> np.ndarray:
    """TMM normalisation factors of a genes × samples count matrix (edgeR ``calcNormFactors``).

    Parameters
    ----------
    counts : ndarray, shape (G, n)
        Non-negative counts, no missing values.
    ref_column : int, optional
        The reference sample; by default the one whose upper-quartile factor (75th percentile of its
        counts over its library size) is nearest the mean of those factors (edgeR's choice).
    logratio_trim, sum_trim, do_weighting, a_cutoff
        As edgeR: the fraction of M values trimmed from each end, the fraction of A values trimmed
        from each end, precision weighting of the M values, and the lowest A kept.
    client : optional
        A ``distributed.Client``, a :mod:`skintrial.cluster` runner, or None for this process. A
        sample's factor needs its whole column (ranks over all genes), so on a cluster the *samples*
        go in blocks (about :data:`TMM_VALUES_PER_TASK` counts a task), the matrix scattered once to
        each worker; the factors are those of this process, exactly.

    Returns
    -------
    ndarray, shape (n,)
        Factors whose product is one; the effective library size is ``counts.sum(0) * factors``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.poisson(50, size=(200, 4)).astype(float)
    >>> y[:20, 3] *= 5  # a few genes take a larger share of sample 4's library
    >>> f = tmm_factors(y)
    >>> bool(np.isclose(np.prod(f), 1.0)) and bool(f[3] < f[0])
    True
    """
    x = np.asarray(counts, dtype=float)
    lib = x.sum(axis=0)
    x = x[(x > 0).any(axis=1)]  # all-zero genes carry no information
    nsamp = x.shape[1]
    if x.shape[0] == 0 or nsamp == 1:
        return np.ones(nsamp)
    if ref_column is None:
        f75 = np.quantile(x, 0.75, axis=0) / lib  # R's quantile type 7 = numpy's linear
        if np.median(f75) < 1e-20:
            ref_column = int(np.argmax(np.sqrt(x).sum(axis=0)))
        else:
            ref_column = int(np.argmin(np.abs(f75 - f75.mean())))
    opts = dict(
        lib=lib,
        ref_column=ref_column,
        logratio_trim=logratio_trim,
        sum_trim=sum_trim,
        do_weighting=do_weighting,
        a_cutoff=a_cutoff,
    )
    runner = as_runner(client)
    if isinstance(runner, InProcess):
        f = tmm_task((0, nsamp), x=x, **opts)
    else:  # whole columns, a block of samples per task (cut by the data's size)
        bounds = chunk_bounds(nsamp, max(1, TMM_VALUES_PER_TASK // x.shape[0]))
        f = np.concatenate(runner.map(tmm_task, bounds, shared={"x": x, **opts}, name="tmm"))
    return f / np.exp(np.mean(np.log(f)))


def tmm_task(
    bounds: tuple[int, int],
    *,
    x: np.ndarray,
    lib: np.ndarray,
    ref_column: int,
    logratio_trim: float,
    sum_trim: float,
    do_weighting: bool,
    a_cutoff: float,
) -> np.ndarray:
    """TMM factors (before scaling) of samples ``bounds[0]:bounds[1]`` of ``x`` (genes × samples, no
    all-zero gene) against the reference column: a cluster task, and this process's loop."""
    ref = x[:, ref_column]
    return np.array(
        [
            _tmm_one(x[:, i], ref, lib[i], lib[ref_column], logratio_trim, sum_trim, do_weighting, a_cutoff)
            for i in range(*bounds)  # a loop over samples (tens), each vectorised over genes
        ]
    )


def log_cpm(counts: np.ndarray, lib_size: np.ndarray) -> np.ndarray:
    """voom's log2 counts per million: ``log2((y + 0.5) / (lib_size + 1) * 1e6)``, genes × samples."""
    return np.log2((np.asarray(counts, dtype=float) + 0.5) / (np.asarray(lib_size) + 1.0) * 1e6)


def voom_weights(
    counts: np.ndarray, X: np.ndarray, lib_size: np.ndarray, *, span: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """limma's ``voom``: log-CPM values and their precision weights, both genes × samples.

    ``X`` is the full-rank design (samples × p) and ``lib_size`` the effective library sizes
    (``counts.sum(0) * tmm_factors(counts)``). The mean–variance trend is fitted by the batched
    engine (one factorisation for all genes) and a port of R's ``lowess`` (:mod:`._lowess`: the
    cut-offs and tie handling that statsmodels' LOWESS lacks; agreement with R about 1e-13).
    """
    y = log_cpm(counts, lib_size)
    if y.shape[0] < 2:
        raise ValueError("voom needs at least two genes to fit a mean-variance trend")
    fitted, sigma = voom_residual_sd(y, X)
    lib_log = np.log2(np.asarray(lib_size, dtype=float) + 1.0)
    sx = y.mean(axis=1) + lib_log.mean() - np.log2(1e6)
    sy = np.sqrt(sigma)
    use = np.asarray(counts).sum(axis=1) > 0
    ux, uy = voom_trend(sx[use], sy[use], span=span)
    return y, voom_apply(fitted, lib_log, ux, uy)


def voom_residual_sd(y: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """voom's unweighted fit of every gene (rows of the log-CPM ``y``): fitted values and residual SD.

    Gene by gene (a least-squares solve shared by all columns), so a chunk of genes gives the rows of
    the whole (:mod:`skintrial.omics._outcome_chunks`).
    """
    X = np.asarray(X, dtype=float)
    n, p = X.shape
    if n <= p:
        raise ValueError("voom needs residual degrees of freedom (more samples than design columns)")
    # unweighted least squares for all genes at once (X full rank: a QR of the design)
    coef, *_ = np.linalg.lstsq(X, y.T, rcond=None)  # (p, G)
    fitted = (X @ coef).T  # genes × samples
    resid = y - fitted
    sigma = np.sqrt(np.einsum("gn,gn->g", resid, resid) / (n - p))
    return fitted, sigma


def voom_trend(sx: np.ndarray, sy: np.ndarray, *, span: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """The mean–variance trend: R's ``lowess`` of sqrt(residual SD) on the average log count, as the
    distinct abscissae and their mean fitted value (``approxfun(ties = mean)``)."""
    from ._lowess import r_lowess

    cx, cy = r_lowess(sx, sy, f=span, iter=3)
    ux, inv = np.unique(cx, return_inverse=True)  # approxfun(ties = mean)
    uy = np.bincount(inv, weights=cy) / np.bincount(inv)
    return ux, uy


def voom_apply(fitted: np.ndarray, lib_log: np.ndarray, ux: np.ndarray, uy: np.ndarray) -> np.ndarray:
    """voom's weights: the trend at each fitted log count, to the power −4 (genes × samples)."""
    fitted_logcount = fitted + lib_log[None, :] - np.log2(1e6)
    return 1.0 / np.interp(fitted_logcount, ux, uy) ** 4  # rule = 2: constant beyond the ends
