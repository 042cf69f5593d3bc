"""Re-randomisation tests of the ANCOVA (issue 15).

The observed statistics are the ANCOVA's own (1e-10); the exact enumeration equals a brute-force loop
over every allocation with numpy's least squares (1e-12); the Monte-Carlo p-value lies within 4
Monte-Carlo SEs of the exact one; permuted blocks keep every completed block balanced.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from skintrial.stats import ancova
from skintrial.stats.rerandomisation import AllocationScheme, draw_allocations, rerandomisation_test

REF = Path(__file__).parents[1] / "reference" / "stats"


def _synthetic():
    return pd.read_csv(REF / "input_synthetic.csv")


def test_observed_statistics_are_the_ancova():
    d = _synthetic()
    kw = dict(baseline_visit="pre", followup_visit="post", arms=["A", "B", "C"], reference_arm="A")
    r = rerandomisation_test(d, **kw, covariates=["age"], n_rerandomisations=200)
    a = ancova(d, **kw, covariates=["age"])
    c = a.contrasts[a.contrasts["status"] == "ok"]
    m = c.merge(r[r["status"] == "ok"], on=["outcome", "contrast"])
    assert len(m) > 0
    assert set(r.loc[r["outcome"] == "y_nocompleters", "status"]) == {"arm_without_complete_cases"}
    assert_allclose(m["observed"], np.abs(m["t"]), rtol=1e-10)
    f = a.tests[(a.tests["type"] == "III") & (a.tests["status"] == "ok")]
    mf = f.merge(r[(r["contrast"] == "arm") & (r["status"] == "ok")], on="outcome", suffixes=("", "_r"))
    assert_allclose(mf["observed"], mf["f"], rtol=1e-10)
    assert (r.loc[r["status"] == "ok", "p"].between(0, 1)).all()
    assert (r["seed"] == 20261207).all()


def _small(n=8, seed=3):
    rng = np.random.default_rng(seed)
    base = rng.normal(10, 2, n)
    post = base + rng.exponential(1.0, n) + np.r_[np.zeros(n // 2), np.ones(n - n // 2)]
    arm = np.r_[["A"] * (n // 2), ["B"] * (n - n // 2)]
    rows = []
    for i in range(n):
        rows += [(f"p{i}", arm[i], "pre", "y", base[i]), (f"p{i}", arm[i], "post", "y", post[i])]
    return pd.DataFrame(rows, columns=["participant_id", "arm", "visit", "outcome", "value"]), base, post, arm


def _t(base, post, alloc):
    X = np.column_stack([np.ones(len(base)), alloc, base])
    beta, rss, *_ = np.linalg.lstsq(X, post, rcond=None)
    df = len(base) - 3
    s2 = rss[0] / df
    return beta[1] / np.sqrt(s2 * np.linalg.inv(X.T @ X)[1, 1])


def test_exact_enumeration_equals_brute_force():
    d, base, post, arm = _small()
    r = rerandomisation_test(d, baseline_visit="pre", reference_arm="A", n_rerandomisations=1000)
    row = r[r["contrast"] == "B - A"].iloc[0]
    assert row["enumeration"] == "exact" and row["mc_error"] == 0
    t_obs = abs(_t(base, post, (arm == "B").astype(float)))
    ts = []
    for a in itertools.product([0.0, 1.0], repeat=len(base)):
        a = np.array(a)
        if 0 < a.sum() < len(a):
            ts.append(abs(_t(base, post, a)))
    ts = np.array(ts)
    assert row["n_rerandomisations"] == len(ts)
    assert_allclose(row["observed"], t_obs, rtol=1e-10)
    assert_allclose(row["p"], np.mean(ts >= t_obs * (1 - 1e-9)), rtol=1e-12)


def test_monte_carlo_close_to_exact_and_reproducible():
    d, *_ = _small()
    exact = rerandomisation_test(d, baseline_visit="pre", reference_arm="A", n_rerandomisations=1000)
    mc = rerandomisation_test(d, baseline_visit="pre", reference_arm="A", n_rerandomisations=200, seed=5)
    again = rerandomisation_test(d, baseline_visit="pre", reference_arm="A", n_rerandomisations=200, seed=5)
    pd.testing.assert_frame_equal(mc, again)
    assert (mc["enumeration"] == "monte_carlo").all() and (mc["seed"] == 5).all()
    diff = np.abs(mc["p"].to_numpy() - exact["p"].to_numpy())
    assert np.all(diff <= 4 * mc["mc_error"].to_numpy() + 1 / 201)


def test_permuted_blocks_are_balanced_within_strata():
    subjects = [f"s{i:02d}" for i in range(24)]
    strata = {s: ("F" if i % 3 else "M") for i, s in enumerate(subjects)}
    scheme = AllocationScheme(kind="permuted_blocks", block_sizes=(4,), strata=strata, order=subjects[::-1])
    alloc = draw_allocations(scheme, subjects, 2, 500, np.random.default_rng(1))
    for st in ("F", "M"):
        idx = [i for i, s in enumerate(subjects) if strata[s] == st]
        idx = sorted(idx, key=lambda i: subjects[::-1].index(subjects[i]))  # enrolment order
        full = len(idx) // 4 * 4
        block_sums = alloc[:, idx[:full]].reshape(500, -1, 4).sum(axis=2)
        assert (block_sums == 2).all()
    assert "stratified permuted blocks of 4" in scheme.describe(2)


def test_unequal_ratio_blocks_and_bad_blocks_refused():
    scheme = AllocationScheme(kind="permuted_blocks", ratios=(1, 2), block_sizes=(3, 6))
    alloc = draw_allocations(scheme, [f"s{i}" for i in range(12)], 2, 100, np.random.default_rng(0))
    assert alloc.shape == (100, 12) and set(np.unique(alloc)) <= {0, 1}
    from skintrial.errors import InputError

    with pytest.raises(InputError, match="block sizes"):
        draw_allocations(AllocationScheme(kind="permuted_blocks", block_sizes=(3,)), ["a", "b"], 2, 5, None)
