"""Mechanism view: the batched correlation grid vs scipy (pearsonr, spearmanr), the arm-adjusted partial
correlation vs statsmodels OLS and pingouin, BH across the grid, change tables and the strongest pairs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from skintrial.errors import InputError
from skintrial.omics._panels_schema import MECHANISM_COLUMNS
from skintrial.omics.mechanism import correlate_changes, mechanism, participant_changes, strongest_pairs


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    n = 36
    ids = [f"p{i:02d}" for i in range(n)]
    arm = pd.Series(np.array(["CON", "AT", "RT"])[np.arange(n) % 3], index=ids)
    f = pd.DataFrame(rng.normal(size=(n, 6)), index=ids, columns=[f"F{j}" for j in range(6)])
    f["F0"] += (arm == "RT").to_numpy() * 1.5  # differs by arm only
    s = pd.DataFrame(rng.normal(size=(n, 3)), index=ids, columns=["thickness", "r2", "r7"])
    s["thickness"] += -0.8 * f["F1"] + (arm == "RT").to_numpy() * 1.5
    s["r2"] += 0.5 * f["F2"]
    f.iloc[4, 2] = np.nan
    s.iloc[9, 1] = np.nan
    f.iloc[10, 3] = f.iloc[11, 3]  # a tie
    f["F5"] = np.round(f["F5"], 0)  # many ties
    return f, s, arm


@pytest.fixture(scope="module")
def grid(data):
    f, s, arm = data
    return correlate_changes(f, s, arm=arm, adjust_for_arm=(False, True))


def _pair(f, s, a, b):
    ok = f[a].notna() & s[b].notna()
    return f.loc[ok, a], s.loc[ok, b], ok


def test_schema_and_size(grid, data):
    f, s, _ = data
    assert list(grid.columns) == list(MECHANISM_COLUMNS)
    assert len(grid) == f.shape[1] * s.shape[1] * 2 * 2
    assert set(grid["family"]) == {"spearman", "pearson", "spearman, arm-adjusted", "pearson, arm-adjusted"}


def test_unadjusted_matches_scipy_with_missing_values_and_ties(grid, data):
    """Pearson vs scipy.stats.pearsonr and Spearman vs spearmanr on each pair's complete cases (1e-12)."""
    f, s, _ = data
    for r in grid[~grid["arm_adjusted"]].itertuples():
        x, y, ok = _pair(f, s, r.factor, r.skin_outcome)
        ref = stats.pearsonr(x, y) if r.method == "pearson" else stats.spearmanr(x, y)
        assert_allclose([r.r, r.p], [ref[0], ref[1]], rtol=1e-10, atol=1e-14)
        assert r.n == ok.sum() and r.df == ok.sum() - 2


def test_arm_adjusted_is_the_slope_test_of_ols_with_arm(grid, data):
    """Partial correlation given arm: t and p equal those of the factor's slope in skin ~ factor + arm
    (statsmodels OLS, 1e-10), df = n - 2 - (arms - 1); Spearman on ranks of the complete cases."""
    import statsmodels.formula.api as smf

    f, s, arm = data
    for r in grid[grid["arm_adjusted"]].itertuples():
        x, y, ok = _pair(f, s, r.factor, r.skin_outcome)
        if r.method == "spearman":
            x, y = pd.Series(stats.rankdata(x), index=x.index), pd.Series(stats.rankdata(y), index=y.index)
        fit = smf.ols("y ~ x + C(arm)", pd.DataFrame({"y": y, "x": x, "arm": arm[ok]})).fit()
        assert_allclose([r.t, r.p], [fit.tvalues["x"], fit.pvalues["x"]], rtol=1e-9)
        assert r.df == fit.df_resid == ok.sum() - 2 - 2


def test_arm_adjusted_r_matches_pingouin(grid, data):
    import pingouin as pg

    f, s, arm = data
    dummies = pd.get_dummies(arm, drop_first=True).astype(float)
    for method in ("pearson", "spearman"):
        r = grid[
            (grid["arm_adjusted"])
            & (grid["method"] == method)
            & (grid["factor"] == "F1")
            & (grid["skin_outcome"] == "thickness")
        ].iloc[0]
        d = pd.concat([f["F1"], s["thickness"], dummies], axis=1)
        ref = pg.partial_corr(d, x="F1", y="thickness", covar=list(dummies.columns), method=method)
        assert_allclose(r["r"], ref["r"].iat[0], rtol=1e-10)


def test_arm_adjustment_removes_a_shared_arm_difference(grid):
    g = grid[(grid["factor"] == "F0") & (grid["skin_outcome"] == "thickness") & (grid["method"] == "pearson")]
    raw = g.loc[~g["arm_adjusted"], "r"].iat[0]
    adj = g.loc[g["arm_adjusted"], "r"].iat[0]
    assert raw > 0.3 and abs(adj) < abs(raw) - 0.2
    strong = grid[(grid["factor"] == "F1") & (grid["skin_outcome"] == "thickness")]
    assert (strong["r"] < -0.4).all() and (strong["p"] < 0.01).all()


def test_bh_across_the_grid(grid):
    from statsmodels.stats.multitest import multipletests

    for _, g in grid.groupby("family"):
        assert_allclose(
            g["p_adj"].to_numpy(), multipletests(g["p"].to_numpy(), method="fdr_bh")[1], rtol=1e-12
        )


def test_long_tables_give_the_same_grid(data):
    f, s, arm = data

    def long(wide, name):
        base = pd.DataFrame(
            np.random.default_rng(2).normal(size=wide.shape), index=wide.index, columns=wide.columns
        )
        parts = [
            base.stack(future_stack=True).rename("value").reset_index().assign(visit="w0"),
            (base + wide).stack(future_stack=True).rename("value").reset_index().assign(visit="w16"),
        ]
        out = pd.concat(parts, ignore_index=True).rename(
            columns={"level_0": "participant_id", "level_1": name}
        )
        return out.assign(arm=out["participant_id"].map(arm))

    lf, ls = long(f, "analyte"), long(s, "outcome")
    changes = participant_changes(lf, baseline_visit="w0", followup_visit="w16", outcome="analyte")
    assert_allclose(changes.loc[f.index, f.columns].to_numpy(), f.to_numpy(), rtol=1e-12, atol=1e-12)
    via_long = mechanism(lf, ls, baseline_visit="w0", followup_visit="w16")
    direct = correlate_changes(f, s, arm=arm, adjust_for_arm=(False, True))
    key = ["factor", "skin_outcome", "method", "arm_adjusted"]
    a = via_long.sort_values(key).reset_index(drop=True)
    b = direct.sort_values(key).reset_index(drop=True)
    assert_allclose(a["r"].to_numpy(), b["r"].to_numpy(), rtol=1e-10, atol=1e-13)


def test_strongest_pairs_order(grid):
    top = strongest_pairs(grid, top=5)
    assert len(top) == 5 and (top["method"] == "spearman").all() and top["arm_adjusted"].all()
    assert top["p"].is_monotonic_increasing
    assert (top.iloc[0][["factor", "skin_outcome"]] == ["F1", "thickness"]).all()
    assert not strongest_pairs(grid, top=3, method="pearson", arm_adjusted=False)["arm_adjusted"].any()


def test_degenerate_pairs_are_nan_not_errors():
    f = pd.DataFrame({"const": [1.0, 1.0, 1.0, 1.0], "x": [1.0, 2.0, np.nan, np.nan]}, index=list("abcd"))
    s = pd.DataFrame({"y": [0.1, 0.5, 0.2, 0.9]}, index=list("abcd"))
    out = correlate_changes(f, s)
    assert out["r"].isna().all() and out["p"].isna().all()


def test_input_errors(data):
    f, s, _ = data
    with pytest.raises(InputError, match="unknown correlation"):
        correlate_changes(f, s, methods=["kendall"])
    with pytest.raises(InputError, match="arm"):
        correlate_changes(f, s, adjust_for_arm=(True,))
    with pytest.raises(InputError, match="visit"):
        participant_changes(
            pd.DataFrame({"participant_id": ["a"], "visit": ["w0"], "outcome": ["x"], "value": [1.0]}),
            baseline_visit="w0",
            followup_visit="w16",
        )
