"""Benchmark: moderated differential expression of 20,000 genes × 100 samples, in this process vs
``--cluster local:2`` (issue 16: the omics outcome axis in chunks).

Data: simulated log expression (a scaled inverse chi-square prior on the variances, d0 = 6; 5% of
the genes shifted), ``~ group + batch`` with 4 groups and 5 batches (p = 8), three contrasts; with
``--counts`` negative-binomial counts instead, through TMM + voom + the weighted fit. The matrix is
loaded once (not timed).

Timed, in one process, ``--repeat`` times each (median and range printed):

* in-process: ``differential_expression(data, ...)`` (numpy / BLAS threads as this process has them:
  printed);
* cluster: the same call with ``client=runner`` on a LocalCluster of 2 worker processes (1 thread
  each) started once, not timed, and warmed by one untimed run (the workers' first task imports
  skintrial). On the cluster the genes go in chunks of 2,000: the fit per chunk, the empirical-Bayes
  hyperparameters from the chunks' sufficient statistics, the moderated t/p per chunk (two rounds of
  tasks; voom adds two).

Every cluster table is checked against the in-process one (numbers to 1e-12 relative, text equal);
exit 1 when one differs. There is no speed target for this part of the issue: the figures say what
the distribution costs at this size.

Run: .venv/bin/python benchmarks/bench_cluster_omics.py [--genes 20000] [--samples 100] [--counts]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import pandas as pd

WORKERS = 2
CONTRASTS = ["group: g1 - g0", "group: g2 - g0", "group: g3 - g0"]


def blas_threads() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    return ", ".join(f"{p['internal_api']} {p['num_threads']}" for p in threadpool_info()) or "none loaded"


def make_data(n_genes: int, n_samples: int, counts: bool):
    from skintrial.omics.expression import load_expression

    rng = np.random.default_rng(2026)
    samples = pd.DataFrame(
        {
            "sample": [f"s{i:03d}" for i in range(n_samples)],
            "group": [f"g{i % 4}" for i in range(n_samples)],
            "batch": [f"b{(i // 4) % 5}" for i in range(n_samples)],
        }
    )
    shift = np.zeros((n_genes, n_samples))
    shift[: n_genes // 20, samples["group"].to_numpy() == "g1"] = 1.0
    if counts:
        mu = np.exp(rng.normal(3, 1.5, (n_genes, 1)) + shift * np.log(2)) * rng.uniform(0.6, 1.6, n_samples)
        values = rng.negative_binomial(5, 5 / (5 + mu)).astype(float)
    else:
        sd = np.sqrt(0.05 * 6 / rng.chisquare(6, n_genes))
        values = rng.normal(8, 1, (n_genes, 1)) + shift + rng.normal(size=(n_genes, n_samples)) * sd[:, None]
    expr = pd.DataFrame(values, columns=samples["sample"], index=[f"g{i}" for i in range(n_genes)])
    return load_expression(expr, samples)


def same(a: pd.DataFrame, b: pd.DataFrame) -> float:
    """The largest relative difference of the numbers (intervals relative to their width); text equal."""
    worst = 0.0
    for col in b.columns:
        x, y = a[col].to_numpy(), b[col].to_numpy()
        if b[col].dtype.kind != "f":
            assert (x == y).all(), col
            continue
        assert np.array_equal(np.isnan(x), np.isnan(y)), col
        ok = ~np.isnan(y)
        scale = np.abs(y[ok])
        if col in ("ci_low", "ci_high"):
            scale = np.maximum(scale, np.nanmax(b["ci_high"] - b["ci_low"]))
        if col == "b":
            scale = np.maximum(scale, np.nanmax(np.abs(y)))
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = np.abs(x[ok] - y[ok]) / scale
        worst = max(worst, float(np.nanmax(np.where(scale > 0, rel, np.abs(x[ok] - y[ok])))))
    return worst


def main() -> int:
    from skintrial.cluster import connect
    from skintrial.omics.expression import differential_expression

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--genes", type=int, default=20_000)
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--counts", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    data = make_data(args.genes, args.samples, args.counts)
    kw = dict(design="~ group + batch", contrast=CONTRASTS, counts=args.counts)
    print(
        f"{args.genes} genes x {args.samples} samples ({'counts: TMM + voom' if args.counts else 'log scale'}), "
        f"~ group + batch (p = 8), {len(CONTRASTS)} contrasts"
    )
    print(f"in-process BLAS/OpenMP threads: {blas_threads()}")
    here_s, want = [], None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        want = differential_expression(data, **kw)
        here_s.append(time.perf_counter() - t0)
    assert want is not None
    there_s, worst = [], 0.0
    t0 = time.perf_counter()
    with connect(f"local:{WORKERS}") as runner:
        start = time.perf_counter() - t0
        t0 = time.perf_counter()
        differential_expression(data, client=runner, **kw)  # warm-up: the workers import skintrial
        first = time.perf_counter() - t0
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            got = differential_expression(data, client=runner, **kw)
            there_s.append(time.perf_counter() - t0)
            worst = max(worst, same(got, want))
    here, there = statistics.median(here_s), statistics.median(there_s)
    print(f"in-process: {here:.3f} s (median of {args.repeat}; {min(here_s):.3f}-{max(here_s):.3f})")
    print(
        f"local:{WORKERS}: {there:.3f} s (median of {args.repeat}; {min(there_s):.3f}-{max(there_s):.3f}); "
        f"first run on fresh workers {first:.3f} s; cluster start-up {start:.2f} s (not in the ratio)"
    )
    print(f"ratio in-process / cluster: {here / there:.2f}x")
    print(f"largest relative difference cluster vs in-process: {worst:.2e} (limit 1e-12)")
    if worst > 1e-12:
        print("FAIL: the cluster table differs from the in-process one")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
