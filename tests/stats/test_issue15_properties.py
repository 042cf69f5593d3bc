"""Invariants of issue 15's analyses (hypothesis): the row order of the long table does not change any
result; adjusted p-values are never below the raw ones; re-randomisation p-values lie in
[1 / (B + 1), 1]; the responder risks are proportions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from skintrial.stats.many_arms import many_arm_contrasts
from skintrial.stats.rank import kruskal_wallis, rank_ancova, wilcoxon_shift
from skintrial.stats.rerandomisation import rerandomisation_test
from skintrial.stats.responders import ResponderRule, responder_analysis

REF = Path(__file__).parents[1] / "reference" / "stats"
DATA = pd.read_csv(REF / "input_baumann.csv")
KW = {
    "baseline_visit": "pre",
    "followup_visit": "post",
    "arms": ["Basal", "DRTA", "Strat"],
    "reference_arm": "Basal",
}
FAST = settings(max_examples=5, deadline=None)


def _key(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    return df.sort_values(cols).reset_index(drop=True)


@FAST
@given(st.integers(0, 2**32 - 1))
def test_row_order_does_not_matter(seed):
    shuffled = DATA.sample(frac=1.0, random_state=seed)
    for fn, cols in (
        (rank_ancova, ["outcome"]),
        (kruskal_wallis, ["outcome"]),
        (wilcoxon_shift, ["outcome", "contrast"]),
    ):
        pd.testing.assert_frame_equal(_key(fn(shuffled, **KW), cols), _key(fn(DATA, **KW), cols))
    a = many_arm_contrasts(shuffled, **KW, family="tukey")
    b = many_arm_contrasts(DATA, **KW, family="tukey")
    pd.testing.assert_frame_equal(_key(a, ["outcome", "contrast"]), _key(b, ["outcome", "contrast"]))
    r1 = rerandomisation_test(shuffled, **KW, n_rerandomisations=100)
    r2 = rerandomisation_test(DATA, **KW, n_rerandomisations=100)
    # the draws follow the participants' (sorted) order, not the rows': identical results
    pd.testing.assert_frame_equal(_key(r1, ["outcome", "contrast"]), _key(r2, ["outcome", "contrast"]))


@FAST
@given(st.integers(0, 10_000), st.sampled_from(["dunnett", "tukey"]))
def test_adjusted_at_least_raw_and_rerandomisation_p_in_range(seed, family):
    m = many_arm_contrasts(DATA, **KW, family=family, seed=seed)
    assert (m["p_adj"] >= m["p"] - 1e-12).all() and (m["p_adj"] <= 1).all()
    B = 50
    r = rerandomisation_test(DATA, **KW, n_rerandomisations=B, seed=seed)
    ok = r["status"] == "ok"
    assert r.loc[ok, "p"].between(1 / (B + 1) - 1e-15, 1).all()


@FAST
@given(st.floats(-3, 3))
def test_responder_risks_are_proportions(threshold):
    r = responder_analysis(DATA, rules={"test1": ResponderRule(change_at_least=threshold)}, **KW)
    risks = r[["risk_arm", "risk_reference"]].to_numpy(dtype=float)
    risks = risks[np.isfinite(risks)]
    assert ((risks >= 0) & (risks <= 1)).all()
