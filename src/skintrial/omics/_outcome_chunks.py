"""The gene axis of an expression fit in chunks, for a cluster (issue 16).

:func:`skintrial.omics.expression.fit_expression` with a cluster ``client`` runs its per-gene work as
tasks over chunks of :data:`GENES_PER_TASK` genes (cut by the data, never by the number of
workers), and keeps here only what needs every gene at once:

* **log-scale data**: one round — each task fits the design to its genes (:func:`fit_task`, the
  engine's :func:`~skintrial.stats.fit_ols` on the chunk's columns) and returns the chunk's
  :class:`~skintrial.stats.BatchedFit`, concatenated here in chunk order.
* **RNA-seq counts**: each sample's TMM factor is a trimmed mean over *all* genes of its log ratios
  against a reference sample (ranks over the whole column), which chunks of genes cannot give; so
  the TMM tasks take blocks of whole *samples* (:func:`~skintrial.omics._counts.tmm_task`; the
  reference column chosen here from the columns' upper quartiles, the factors scaled here; 40% of the
  in-process time at 20,000 genes × 100 samples). voom then takes two rounds: each task returns the residual SD of its genes
  (:func:`voom_sd_task`); the LOWESS trend of sqrt(SD) on the average log count is fitted here on
  all genes' points (one point per gene); each task then computes its genes' weights from the trend
  and fits the weighted model (:func:`voom_fit_task`).
* **a random block** (``duplicateCorrelation``): each task returns its genes' REML correlations
  (:func:`dupcor_task`); the consensus (a trimmed mean over all genes) is taken here; a second round
  fits the whitened model (:func:`fit_task` with ``whiten``).

The moderated statistics follow with the same client (:func:`skintrial.stats.moderated_contrasts`,
hyperparameters from the chunks' sufficient statistics, :mod:`skintrial.stats._moderation_chunks`).

What travels, and why: numpy arrays only, cut along the gene axis. The genes × samples matrix (values,
or log-CPM for counts) and the design are scattered once to each worker (8 bytes × genes × samples
per worker: 16 MB for 20,000 × 100), so a task's item is just its index range ``(start, stop)``. A
task returns its genes' arrays: the fit (p coefficients, variance, df, n and status per gene; the
p × p unscaled covariance and the design means once when they are the same for every gene of the
chunk — a shared design without missing values — else per gene) and the chunk's seven ``fitFDist``
sufficient statistics, so the moderation needs no extra round of tasks for them; voom's fit round
also returns the chunk's weights (chunk × samples), which the fit keeps. For 2,000 genes, p = 8 and
100 samples, measured: 0.2 MB back per task on complete log data, 3.0 MB with voom (its weights, and
a p × p covariance per gene since the weights differ by gene). No DataFrame is pickled:
the sample table and the gene names stay here, because per-row objects cost far more to serialise
than the arrays they hold. Everything is computed gene by gene, so a result equals this process's
to rounding (1e-12 relative, ``tests/cluster/test_omics_cluster.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from skintrial.cluster import Runner, chunk_bounds
from skintrial.omics._counts import log_cpm, voom_apply, voom_residual_sd, voom_trend
from skintrial.omics._dupcor import BlockRotation, block_rotation, consensus_correlation, gene_correlations
from skintrial.stats import BatchedFit, fdist_moments, fit_ols

GENES_PER_TASK = 2000
"""Genes per task: 2,000 genes × 100 samples is 1.6 MB of values and tens of milliseconds of fitting,
well above the scheduler's per-task overhead (9-14 ms a task on this 2-core machine under load, as
benchmarks/bench_cluster_power.py measured it)."""

__all__ = [
    "GENES_PER_TASK",
    "chunked_duplicate_correlation",
    "chunked_fit",
    "chunked_voom_fit",
    "dupcor_task",
    "fit_task",
    "voom_fit_task",
    "voom_sd_task",
]


def fit_task(
    bounds: tuple[int, int],
    *,
    values: np.ndarray,
    X: np.ndarray,
    params: tuple[str, ...],
    whiten: np.ndarray | None = None,
) -> tuple[BatchedFit, np.ndarray]:
    """A cluster task: the design fitted to genes ``bounds[0]:bounds[1]`` of ``values`` (genes ×
    samples); with ``whiten`` (samples × samples) data and design are multiplied by it first (GLS).
    Returns the chunk's fit (:func:`_packed`) and its ``fitFDist`` sufficient statistics."""
    a, b = bounds
    if whiten is None:
        fit = fit_ols(X, np.ascontiguousarray(values[a:b].T), params=params)
    else:
        fit = fit_ols(whiten @ X, np.ascontiguousarray(whiten @ values[a:b].T), params=params)
    return _packed(fit), fdist_moments(fit.sigma2, fit.df_resid, fit.status)


def _packed(fit: BatchedFit) -> BatchedFit:
    """The fit with ``xtx_inv`` and ``means`` as one row when every gene of the chunk has the same
    (a shared design without missing values): p × p numbers back instead of chunk × p × p."""
    rows: dict[str, Any] = {}
    for name in ("xtx_inv", "means"):
        x = np.asarray(getattr(fit, name))
        if x.shape[0] > 1 and np.array_equal(x, np.broadcast_to(x[:1], x.shape)):
            rows[name] = np.array(x[:1])
    return replace(fit, **rows) if rows else fit


def voom_sd_task(bounds: tuple[int, int], *, logcpm: np.ndarray, X: np.ndarray) -> np.ndarray:
    """A cluster task: voom's residual SD of genes ``bounds[0]:bounds[1]`` (unweighted fit)."""
    a, b = bounds
    return voom_residual_sd(logcpm[a:b], X)[1]


def voom_fit_task(
    bounds: tuple[int, int],
    *,
    logcpm: np.ndarray,
    X: np.ndarray,
    lib_log: np.ndarray,
    ux: np.ndarray,
    uy: np.ndarray,
    params: tuple[str, ...],
) -> tuple[np.ndarray, BatchedFit, np.ndarray]:
    """A cluster task: voom's weights of genes ``bounds[0]:bounds[1]`` from the trend ``(ux, uy)`` and
    the weighted fit; returns ``(weights, fit, fitFDist sufficient statistics)``."""
    a, b = bounds
    y = logcpm[a:b]
    fitted, _ = voom_residual_sd(y, X)
    w = voom_apply(fitted, lib_log, ux, uy)
    fit = fit_ols(X, np.ascontiguousarray(y.T), params=params, weights=np.ascontiguousarray(w.T))
    return w, _packed(fit), fdist_moments(fit.sigma2, fit.df_resid, fit.status)


def dupcor_task(bounds: tuple[int, int], *, values: np.ndarray, rotation: BlockRotation) -> np.ndarray:
    """A cluster task: the REML within-block correlations of genes ``bounds[0]:bounds[1]``."""
    a, b = bounds
    return gene_correlations(values[a:b], rotation)


def _concat(parts: Sequence[BatchedFit], outcomes: tuple[str, ...]) -> BatchedFit:
    """The chunks' fits as one, genes in chunk order (rows sent once broadcast back to every gene)."""

    def rows(f: BatchedFit, x: np.ndarray) -> np.ndarray:
        return np.broadcast_to(x, (len(f.sigma2), *np.shape(x)[1:]))

    return BatchedFit(
        outcomes=outcomes,
        params=parts[0].params,
        coef=np.concatenate([f.coef for f in parts]),
        xtx_inv=np.concatenate([rows(f, f.xtx_inv) for f in parts]),
        sigma2=np.concatenate([f.sigma2 for f in parts]),
        df_resid=np.concatenate([f.df_resid for f in parts]),
        n=np.concatenate([f.n for f in parts]),
        status=np.concatenate([f.status for f in parts]),
        means=np.concatenate([rows(f, np.asarray(f.means)) for f in parts]),
    )


def chunked_fit(
    X: np.ndarray,
    values: np.ndarray,
    *,
    outcomes: tuple[str, ...],
    params: tuple[str, ...],
    runner: Runner,
    whiten: np.ndarray | None = None,
    chunk: int | None = None,
) -> tuple[BatchedFit, np.ndarray]:
    """``fit_ols(X, values.T)`` with the genes (rows of ``values``) in chunks on ``runner``; also the
    chunks' ``fitFDist`` sufficient statistics (one row each)."""
    shared = {"values": values, "X": X, "params": tuple(params), "whiten": whiten}
    bounds = chunk_bounds(len(outcomes), chunk or GENES_PER_TASK)
    parts = runner.map(fit_task, bounds, shared=shared, name="expression-fit")
    return _concat([p[0] for p in parts], tuple(outcomes)), np.array([p[1] for p in parts])


def chunked_voom_fit(
    counts: np.ndarray,
    X: np.ndarray,
    lib_size: np.ndarray,
    *,
    outcomes: tuple[str, ...],
    params: tuple[str, ...],
    runner: Runner,
    span: float = 0.5,
    chunk: int | None = None,
) -> tuple[np.ndarray, np.ndarray, BatchedFit, np.ndarray]:
    """voom + the weighted fit (as :func:`~skintrial.omics._counts.voom_weights` then ``fit_ols``) with
    the genes in chunks: ``(logcpm, weights, fit, the chunks' fitFDist sufficient statistics)``."""
    y = log_cpm(counts, lib_size)
    if y.shape[0] < 2:
        raise ValueError("voom needs at least two genes to fit a mean-variance trend")
    X = np.asarray(X, dtype=float)
    bounds = chunk_bounds(y.shape[0], chunk or GENES_PER_TASK)
    sigma = np.concatenate(runner.map(voom_sd_task, bounds, shared={"logcpm": y, "X": X}, name="voom-sd"))
    lib_log = np.log2(np.asarray(lib_size, dtype=float) + 1.0)
    sx = y.mean(axis=1) + lib_log.mean() - np.log2(1e6)
    use = np.asarray(counts).sum(axis=1) > 0
    ux, uy = voom_trend(sx[use], np.sqrt(sigma)[use], span=span)
    shared = {"logcpm": y, "X": X, "lib_log": lib_log, "ux": ux, "uy": uy, "params": tuple(params)}
    parts = runner.map(voom_fit_task, bounds, shared=shared, name="voom-fit")
    w = np.concatenate([p[0] for p in parts])
    return y, w, _concat([p[1] for p in parts], tuple(outcomes)), np.array([p[2] for p in parts])


def chunked_duplicate_correlation(
    values: np.ndarray, X: np.ndarray, block: np.ndarray, *, runner: Runner, chunk: int | None = None
) -> float:
    """The consensus of :func:`~skintrial.omics._dupcor.duplicate_correlation`, genes in chunks."""
    rot = block_rotation(X, block)
    if rot is None:
        return float("nan")
    bounds = chunk_bounds(values.shape[0], chunk or GENES_PER_TASK)
    rho = runner.map(dupcor_task, bounds, shared={"values": values, "rotation": rot}, name="dupcor")
    return consensus_correlation(np.concatenate(rho))
