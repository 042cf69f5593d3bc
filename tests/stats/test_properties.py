"""Invariants of the statistics, checked by hypothesis on random trials (small example counts).

* the row order of the long table does not matter;
* ANCOVA on the change from baseline gives the same arm effect, SE and p as ANCOVA on follow-up
  (only the baseline slope moves, by exactly 1);
* adjusted p-values are never below the raw ones and are monotone in them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from skintrial.stats import ancova, p_adjust

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
                    rows.append((f"p{pid:03d}", a, "w16", f"o{k}", 0.6 * base + rng.normal(a == "RT", 1), age))
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
    assert_allclose(a.emmeans["emmean"], b.emmeans["emmean"], rtol=1e-10)


@FAST
@given(data=trials)
def test_change_and_followup_give_the_same_arm_effect(data):
    wide = data.pivot_table(index=["participant_id", "outcome"], columns="visit", values="value")
    change = data.copy()
    post = change.visit == "w16"
    base = wide["w0"].reindex(pd.MultiIndex.from_frame(change.loc[post, ["participant_id", "outcome"]])).to_numpy()
    change.loc[post, "value"] = change.loc[post, "value"].to_numpy() - base
    a, b = ancova(data, **KW), ancova(change, **KW)
    cols = ["estimate", "se", "t", "p", "ci_low", "ci_high"]
    assert_allclose(a.contrasts[cols].to_numpy(float), b.contrasts[cols].to_numpy(float), rtol=1e-9, atol=1e-12)
    assert_allclose(a.arm_test["f"], b.arm_test["f"], rtol=1e-9)
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
