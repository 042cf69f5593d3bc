"""Invariants of the statistics, checked by hypothesis on random trials (small example counts).

* the row order of the long table does not matter (ANCOVA, mixed ANOVA, cross-sectional comparison);
* ANCOVA on the change from baseline gives the same arm effect, SE and p as ANCOVA on follow-up
  (only the baseline slope moves, by exactly 1);
* adjusted p-values are never below the raw ones and are monotone in them; for a fixed sequence,
  monotone along the testing order instead (a later hypothesis can have a smaller raw p); with
  families and a serial gatekeeper, within each family, and no later family's adjusted p-value falls
  below an earlier family's largest.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from skintrial.stats import adjust_families, ancova, cross_sectional, mixed_anova, p_adjust

FAST = settings(max_examples=15, deadline=None)


def _trial(seed: int, n_per_arm: tuple[int, int, int], n_outcomes: int, missing: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    pid = 0
    for a, n in zip(["CON", "AT", "RT"], n_per_arm, strict=True):
        for _ in range(n):
            age = rng.uniform(40, 65)
            for k in range(n_outcomes):
                base = rng.normal(10 * (k + 1), 2)
                rows.append((f"p{pid:03d}", a, "w0", f"o{k}", base, age))
                if rng.random() >= missing:
                    rows.append(
                        (f"p{pid:03d}", a, "w16", f"o{k}", 0.6 * base + rng.normal(a == "RT", 1), age)
                    )
            pid += 1
    return pd.DataFrame(rows, columns=["participant_id", "arm", "visit", "outcome", "value", "age"])


trials = st.builds(
    _trial,
    seed=st.integers(0, 2**31 - 1),
    n_per_arm=st.tuples(st.integers(4, 12), st.integers(4, 12), st.integers(4, 12)),
    n_outcomes=st.integers(1, 4),
    missing=st.sampled_from([0.0, 0.2]),
)
KW = dict(baseline_visit="w0", followup_visit="w16", reference_arm="CON", covariates=["age"])
COLS = ["estimate", "se", "t", "p", "ci_low", "ci_high", "df", "n", "effect_size"]


@FAST
@given(data=trials, seed=st.integers(0, 1000))
def test_row_order_does_not_matter(data, seed):
    a = ancova(data, **KW)
    b = ancova(data.sample(frac=1.0, random_state=seed), **KW)
    assert_allclose(a.contrasts[COLS].to_numpy(float), b.contrasts[COLS].to_numpy(float), rtol=1e-10)
    assert_allclose(a.estimates["emmean"], b.estimates["emmean"], rtol=1e-10)


@FAST
@given(data=trials)
def test_change_and_followup_give_the_same_arm_effect(data):
    wide = data.pivot_table(index=["participant_id", "outcome"], columns="visit", values="value")
    change = data.copy()
    post = change.visit == "w16"
    base = (
        wide["w0"]
        .reindex(pd.MultiIndex.from_frame(change.loc[post, ["participant_id", "outcome"]]))
        .to_numpy()
    )
    change.loc[post, "value"] = change.loc[post, "value"].to_numpy() - base
    a, b = ancova(data, **KW), ancova(change, **KW)
    cols = ["estimate", "se", "t", "p", "ci_low", "ci_high"]
    assert_allclose(
        a.contrasts[cols].to_numpy(float), b.contrasts[cols].to_numpy(float), rtol=1e-9, atol=1e-12
    )
    assert_allclose(a.tests["f"], b.tests["f"], rtol=1e-9)
    k = a.fit.param_index("baseline")
    assert_allclose(a.fit.coef[:, k] - 1.0, b.fit.coef[:, k], rtol=1e-9, atol=1e-12)


pvals = st.lists(st.one_of(st.floats(0.0, 1.0), st.just(float("nan"))), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(p=pvals, method=st.sampled_from(["holm", "hochberg", "hommel", "bonferroni", "bh", "by", "none"]))
def test_adjusted_p_never_below_raw_and_monotone(p, method):
    p = np.asarray(p)
    adj = p_adjust(p, method)
    ok = np.isfinite(p)
    assert np.array_equal(np.isfinite(adj), ok)
    assert np.all(adj[ok] >= p[ok] - 1e-15) and np.all(adj[ok] <= 1.0)
    o = np.argsort(p[ok], kind="mergesort")
    assert np.all(np.diff(adj[ok][o]) >= -1e-15)


@FAST
@given(data=trials, seed=st.integers(0, 1000))
def test_row_order_does_not_matter_for_mixed_anova(data, seed):
    a = mixed_anova(data, visits=["w0", "w16"]).tests
    b = mixed_anova(data.sample(frac=1.0, random_state=seed), visits=["w0", "w16"]).tests
    cols = ["num_df", "den_df", "f", "p", "ges", "mse", "n"]
    assert a[["outcome", "term", "status"]].equals(b[["outcome", "term", "status"]])
    assert_allclose(a[cols].to_numpy(float), b[cols].to_numpy(float), rtol=1e-10)


@FAST
@given(data=trials, seed=st.integers(0, 1000))
def test_row_order_does_not_matter_for_cross_sectional(data, seed):
    kw = dict(group="arm", at_visit="w16", covariates=["age"], reference_group="CON")
    a = cross_sectional(data, **kw)
    b = cross_sectional(data.sample(frac=1.0, random_state=seed), **kw)
    assert a.contrasts[["outcome", "contrast", "status"]].equals(
        b.contrasts[["outcome", "contrast", "status"]]
    )
    assert_allclose(a.contrasts[COLS].to_numpy(float), b.contrasts[COLS].to_numpy(float), rtol=1e-10)
    assert_allclose(a.estimates["emmean"], b.estimates["emmean"], rtol=1e-10)
    assert_allclose(a.tests[["f", "p"]].to_numpy(float), b.tests[["f", "p"]].to_numpy(float), rtol=1e-10)


@settings(max_examples=60, deadline=None)
@given(p=pvals)
def test_fixed_sequence_never_below_raw_and_monotone_along_the_sequence(p):
    p = np.asarray(p)
    adj = p_adjust(p, "fixed_sequence")
    ok = np.isfinite(p)
    assert np.array_equal(np.isfinite(adj), ok)
    assert np.all(adj[ok] >= p[ok]) and np.all(adj[ok] <= 1.0)
    assert np.all(np.diff(adj[ok]) >= 0)  # the testing order is the given order


MONOTONE = ["holm", "hochberg", "hommel", "bonferroni", "bh", "by", "none"]


@settings(max_examples=60, deadline=None)
@given(
    p=st.lists(st.one_of(st.floats(0.0, 1.0), st.just(float("nan"))), min_size=2, max_size=24),
    cut=st.floats(0.0, 1.0),
    method=st.sampled_from([*MONOTONE, "fixed_sequence"]),
)
def test_gatekeeping_never_below_raw_monotone_within_a_family_and_ordered_across(p, cut, method):
    k = len(p)
    outcomes = [f"o{i:02d}" for i in range(k)]
    n_primary = max(1, int(cut * k))
    families = {"primary": outcomes[:n_primary], "secondary": outcomes[n_primary:]}
    res = pd.DataFrame({"outcome": outcomes, "p": p})
    out = adjust_families(res, families=families, method=method, gatekeeping=True)
    raw, adj = out["p"].to_numpy(), out["p_adj"].to_numpy()
    ok = np.isfinite(raw)
    assert np.array_equal(np.isfinite(adj), ok)
    assert np.all(adj[ok] >= raw[ok] - 1e-15) and np.all(adj[ok] <= 1.0)
    for fam in ("primary", "secondary"):
        f = ((out["family"] == fam).to_numpy()) & ok
        if method == "fixed_sequence":
            assert np.all(np.diff(adj[f]) >= 0)  # families keep the testing order of the outcomes
        else:
            o = np.argsort(raw[f], kind="mergesort")
            assert np.all(np.diff(adj[f][o]) >= -1e-15)
    first, second = (
        ok & (out["family"] == "primary").to_numpy(),
        ok & (out["family"] == "secondary").to_numpy(),
    )
    if first.any() and second.any():
        assert adj[second].min() >= adj[first].max()
