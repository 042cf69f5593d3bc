"""Empirical-Bayes moderation (squeeze_var, moderated_contrasts) against R limma 3.54.1.

Fixtures: tests/reference/limma/ (make_limma.R wrote them; versions.txt names R and limma).
Tolerance: 1e-6 relative, the issue's agreement target (observed: about 1e-10).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from skintrial.errors import DegenerateFitWarning
from skintrial.stats import fit_ols, squeeze_var
from skintrial.stats._moderation import fit_f_dist, moderated_contrasts, moderated_f_test, trigamma_inverse

REF = Path(__file__).resolve().parents[1] / "reference" / "limma"
DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "kuehne2017_skin_aging"
RTOL = 1e-6


def _design_kuehne(samples: pd.DataFrame) -> np.ndarray:
    slides = sorted(samples["slide"].unique())
    cols = [np.ones(len(samples)), (samples["condition"] == "old").to_numpy(float)]
    cols += [(samples["slide"] == s).to_numpy(float) for s in slides[1:]]
    return np.column_stack(cols)


@pytest.fixture(scope="module")
def kuehne():
    if not (DATA / "expression_log2.csv.gz").exists():
        pytest.skip(f"skin-aging data not found at {DATA}")
    expr = pd.read_csv(DATA / "expression_log2.csv.gz", index_col=0)
    samples = pd.read_csv(DATA / "samples.csv", dtype={"slide": str})
    Y = np.ascontiguousarray(expr[samples["sample"]].to_numpy().T)
    fit = fit_ols(_design_kuehne(samples), Y, outcomes=list(expr.index))
    return fit, moderated_contrasts(fit, np.eye(fit.coef.shape[1])[1], contrast_names=["old - young"])


def test_squeeze_var_small_case_matches_limma():
    ref = pd.read_csv(REF / "squeezevar_cases.csv").set_index("case")
    post = pd.read_csv(REF / "squeezevar_small_post.csv")["var_post"].to_numpy()
    sv = squeeze_var(np.array([0.2, 0.5, 1.1, 0.7, 3.4, 0.05]), np.array([3, 3, 4, 4, 5, 6]))
    assert_allclose(sv.df_prior, ref.loc["small", "df_prior"], rtol=1e-10)
    assert_allclose(sv.var_prior, ref.loc["small", "var_prior"], rtol=1e-10)
    assert_allclose(sv.var_post, post, rtol=1e-10)


def test_squeeze_var_infinite_prior_df_pools_variances():
    ref = pd.read_csv(REF / "squeezevar_cases.csv").set_index("case")
    s2 = np.tile([0.99, 1.01], 50) * 0.5
    sv = squeeze_var(s2, 10)
    assert np.isinf(sv.df_prior) and np.isinf(ref.loc["inf", "df_prior"])
    assert_allclose(sv.var_prior, ref.loc["inf", "var_prior"], rtol=1e-12)
    assert_allclose(sv.var_post, np.full(100, 0.5), rtol=1e-12)


def test_squeeze_var_posterior_lies_between_sample_and_prior():
    rng = np.random.default_rng(3)
    s2 = 0.2 * rng.chisquare(4, 500) / 4 * rng.lognormal(0, 0.5, 500)
    sv = squeeze_var(s2, 4)
    lo, hi = np.minimum(s2, sv.var_prior), np.maximum(s2, sv.var_prior)
    assert np.all((sv.var_post >= lo - 1e-15) & (sv.var_post <= hi + 1e-15))
    assert 0 < sv.df_prior < np.inf


def test_squeeze_var_recovers_simulated_prior():
    rng = np.random.default_rng(11)
    d0, s0, d = 6.0, 0.3, 5
    sigma2 = d0 * s0 / rng.chisquare(d0, 40_000)
    s2 = sigma2 * rng.chisquare(d, 40_000) / d
    sv = squeeze_var(s2, d)
    assert_allclose(sv.df_prior, d0, rtol=0.1)
    assert_allclose(sv.var_prior, s0, rtol=0.05)


def test_nan_variances_are_left_out_and_stay_nan():
    s2 = np.array([0.2, np.nan, 0.5, 1.1, 0.7, 3.4, 0.05])
    df = np.array([3, 0, 3, 4, 4, 5, 6])
    sv = squeeze_var(s2, df)
    ref = squeeze_var(np.delete(s2, 1), np.delete(df, 1))
    assert np.isnan(sv.var_post[1])
    assert_allclose(np.delete(sv.var_post, 1), ref.var_post, rtol=1e-14)


def test_zero_variance_is_offset_with_a_warning():
    with pytest.warns(DegenerateFitWarning, match="offset"):
        scale, df2 = fit_f_dist(np.array([0.0, 0.4, 0.5, 0.9, 1.3]), 4)
    assert np.isfinite(scale) and df2 > 0


def test_trigamma_inverse_inverts_over_the_whole_range():
    from scipy.special import polygamma

    y = np.array([1e-4, 0.01, 0.5, 3.0, 40.0, 1e4, 1e7])
    assert_allclose(trigamma_inverse(polygamma(1, y)), y, rtol=1e-6)


def test_kuehne_hyperparameters_match_limma(kuehne):
    _, res = kuehne
    ref = pd.read_csv(REF / "kuehne_hyper.csv").iloc[0]
    assert_allclose(res.df_prior, ref["df_prior"], rtol=RTOL)
    assert_allclose(res.var_prior, ref["s2_prior"], rtol=RTOL)
    assert_allclose(res.coef_var_prior[0], ref["var_prior"], rtol=RTOL)


@pytest.mark.rlimma
@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("estimate", "logFC"),
        ("t", "t"),
        ("p", "P.Value"),
        ("b", "B"),
        ("ci_low", "CI.L"),
        ("ci_high", "CI.R"),
        ("s2_post", "s2.post"),
    ],
)
def test_kuehne_moderated_statistics_match_limma(kuehne, ours, theirs):
    _, res = kuehne
    ref = pd.read_csv(REF / "kuehne_toptable.csv.gz")
    assert res.table["outcome"].tolist() == ref["gene"].tolist()
    assert_allclose(res.table[ours].to_numpy(), ref[theirs].to_numpy(), rtol=RTOL)
    assert_allclose(res.table["df_total"], 40 + res.df_prior, rtol=1e-12)


def test_paired_design_with_missing_values_matches_limma():
    expr = pd.read_csv(REF / "paired_expr.csv", index_col=0)
    samples = pd.read_csv(REF / "paired_samples.csv")
    ref = pd.read_csv(REF / "paired_toptable.csv")
    hyper = pd.read_csv(REF / "paired_hyper.csv").iloc[0]
    subj = sorted(samples["participant"].unique())
    X = np.column_stack(
        [np.ones(len(samples)), (samples["visit"] == "post").to_numpy(float)]
        + [(samples["participant"] == s).to_numpy(float) for s in subj[1:]]
    )
    fit = fit_ols(X, expr[samples["sample"]].to_numpy().T, outcomes=list(expr.index))
    assert_allclose(fit.df_resid, ref["df.residual"], rtol=0)
    res = moderated_contrasts(fit, np.eye(X.shape[1])[1])
    assert_allclose(res.df_prior, hyper["df_prior"], rtol=RTOL)
    assert_allclose(res.var_prior, hyper["s2_prior"], rtol=RTOL)
    assert_allclose(res.coef_var_prior[0], hyper["var_prior"], rtol=RTOL)
    for ours, theirs in [("t", "t"), ("p", "P.Value"), ("b", "B"), ("df_total", "df.total")]:
        assert_allclose(res.table[ours], ref[theirs], rtol=RTOL, err_msg=ours)


def test_degenerate_outcomes_keep_their_status_and_do_not_move_the_prior():
    rng = np.random.default_rng(5)
    X = np.column_stack([np.ones(10), np.repeat([0.0, 1.0], 5)])
    Y = rng.normal(size=(10, 40))
    Y2 = np.column_stack([Y, np.full(10, 3.0)])  # a constant outcome
    a = moderated_contrasts(fit_ols(X, Y), [0, 1])
    b = moderated_contrasts(fit_ols(X, Y2), [0, 1])
    assert b.table["status"].iloc[-1] == "no_residual_variance"
    assert np.isnan(b.table["t"].iloc[-1])
    assert_allclose(b.df_prior, a.df_prior, rtol=1e-12)
    assert_allclose(b.table["t"].iloc[:-1], a.table["t"], rtol=1e-12)


def test_no_usable_variance_gives_nan_tables_with_statuses_and_a_warning():
    """All outcomes constant: no prior can be estimated. Nothing crashes; every statistic is NaN,
    each outcome keeps its status, and one DegenerateFitWarning per call says why."""
    X = np.column_stack([np.ones(6), np.repeat([0.0, 1.0], 3)])
    fit = fit_ols(X, np.full((6, 3), 2.0))
    with pytest.warns(DegenerateFitWarning, match="usable residual variance") as rec:
        res = moderated_contrasts(fit, [0, 1])
    assert len(rec) == 1
    assert res.table["status"].tolist() == ["no_residual_variance"] * 3
    stats = ["estimate", "se", "t", "df_total", "p", "b", "ci_low", "ci_high", "s2_post"]
    assert res.table[stats].isna().all().all() and np.isnan(res.df_prior)
    with pytest.warns(DegenerateFitWarning, match="usable residual variance") as rec:
        ft = moderated_f_test(fit, [[0, 1]])
    assert len(rec) == 1
    assert ft["status"].tolist() == ["no_residual_variance"] * 3
    assert ft[["f", "df1", "df2", "p"]].isna().all().all()
    with pytest.warns(DegenerateFitWarning, match="usable residual variance"):
        sv = squeeze_var(np.array([np.nan, np.nan]), np.array([0.0, 3.0]))
    assert np.isnan(sv.var_post).all() and np.isnan(sv.df_prior)


def test_moderated_f_with_a_degenerate_outcome_is_nan_there_only():
    rng = np.random.default_rng(4)
    X = np.column_stack([np.ones(9), np.repeat(np.eye(3)[:, 1:], 3, axis=0)])
    Y = np.column_stack([rng.normal(size=(9, 20)), np.full(9, 1.5)])
    ft = moderated_f_test(fit_ols(X, Y), np.eye(3)[1:])
    assert ft["f"].iloc[:-1].notna().all() and (ft["df1"].iloc[:-1] == 2).all()
    assert (
        ft.iloc[-1][["f", "df1", "df2", "p"]].isna().all() and ft["status"].iloc[-1] == "no_residual_variance"
    )


def test_several_contrasts_come_out_long_and_named():
    rng = np.random.default_rng(2)
    X = np.column_stack([np.ones(12), np.repeat([0.0, 1.0, 0.0], 4), np.repeat([0.0, 0.0, 1.0], 4)])
    fit = fit_ols(X, rng.normal(size=(12, 30)), params=["i", "b", "c"])
    res = moderated_contrasts(fit, [[0, 1, 0], [0, 0, 1], [0, -1, 1]], contrast_names=["b", "c", "c-b"])
    assert len(res.table) == 90
    assert res.table["contrast"].iloc[:3].tolist() == ["b", "c", "c-b"]
    t = res.table.pivot(index="outcome", columns="contrast", values="estimate")
    assert_allclose(t["c-b"], t["c"] - t["b"], atol=1e-12)


def test_squeeze_var_trend_matches_limma_including_missing_and_extrapolated():
    ref = pd.read_csv(REF / "squeezevar_trend.csv")
    sv = squeeze_var(ref["var"].to_numpy(), 4, covariate=ref["covariate"].to_numpy())
    assert_allclose(sv.df_prior, ref["df_prior"].iloc[0], rtol=RTOL)
    # the last covariate lies beyond the others and its variance is missing: its prior is extrapolated
    assert_allclose(sv.var_prior, ref["var_prior"], rtol=RTOL)
    known = ref["var_post"].notna().to_numpy()
    assert_allclose(sv.var_post[known], ref["var_post"][known], rtol=RTOL)
    assert np.isnan(sv.var_post[~known]).all()


def test_trend_on_a_constant_covariate_falls_back_to_no_trend():
    s2 = np.array([0.2, 0.5, 1.1, 0.7, 3.4, 0.05])
    df = np.array([3, 3, 4, 4, 5, 6])
    flat = squeeze_var(s2, df, covariate=np.full(6, 7.0))
    plain = squeeze_var(s2, df)
    assert_allclose(flat.var_prior, np.full(6, plain.var_prior), rtol=1e-12)
    assert_allclose(flat.df_prior, plain.df_prior, rtol=1e-12)


@pytest.mark.rlimma
def test_kuehne_trend_matches_limma(kuehne):
    fit, _ = kuehne
    if not (DATA / "expression_log2.csv.gz").exists():
        pytest.skip("data absent")
    expr = pd.read_csv(DATA / "expression_log2.csv.gz", index_col=0)
    samples = pd.read_csv(DATA / "samples.csv", dtype={"slide": str})
    amean = expr[samples["sample"]].to_numpy().mean(axis=1)
    res = moderated_contrasts(fit, np.eye(fit.coef.shape[1])[1], trend=amean)
    ref = pd.read_csv(REF / "kuehne_trend.csv.gz")  # written with 12 significant digits
    hyper = pd.read_csv(REF / "kuehne_trend_hyper.csv").iloc[0]
    assert_allclose(res.df_prior, hyper["df_prior"], rtol=RTOL)
    assert_allclose(res.coef_var_prior[0], hyper["var_prior"], rtol=RTOL)
    assert_allclose(res.var_prior, ref["s2.prior"], rtol=RTOL)
    assert_allclose(res.table["t"], ref["t"], rtol=RTOL)
    assert_allclose(res.table["p"], ref["P.Value"], rtol=RTOL)


@pytest.mark.rlimma
def test_moderated_f_of_the_slide_effect_matches_limma(kuehne):
    fit, res = kuehne
    L = np.eye(fit.coef.shape[1])[2:8]
    ft = moderated_f_test(fit, L)
    ref = pd.read_csv(REF / "kuehne_slide_f.csv.gz")["x"].to_numpy()  # 12 significant digits
    summary = pd.read_csv(REF / "kuehne_slide_f_summary.csv").iloc[0]
    assert_allclose(ft["f"], ref, rtol=RTOL)
    assert (ft["df1"] == 6).all()
    assert_allclose(ft["df2"], summary["df2"], rtol=RTOL)
    assert_allclose(ft["p"].iloc[0], summary["p_first"], rtol=RTOL)
    assert_allclose(ft["p"].min(), summary["p_min"], rtol=RTOL)


def test_moderated_f_of_one_contrast_is_t_squared():
    rng = np.random.default_rng(9)
    X = np.column_stack([np.ones(10), np.repeat([0.0, 1.0], 5)])
    fit = fit_ols(X, rng.normal(size=(10, 30)))
    t = moderated_contrasts(fit, [0, 1]).table["t"].to_numpy()
    ft = moderated_f_test(fit, [[0, 1]])
    assert_allclose(ft["f"], t**2, rtol=1e-10)


def test_moderated_f_per_outcome_design_with_missing_values():
    rng = np.random.default_rng(10)
    X = np.column_stack([np.ones(12), np.repeat(np.eye(3)[:, 1:], 4, axis=0)])
    Y = rng.normal(size=(12, 25))
    Y[0, 3] = np.nan  # gene 3 loses a row: its own (X'X)^-1
    fit = fit_ols(X, Y)
    ft = moderated_f_test(fit, np.eye(3)[1:])
    assert np.isfinite(ft["f"]).all() and (ft["df1"] == 2).all()
    assert ft["df2"].iloc[3] == ft["df2"].iloc[0] - 1


@given(seed=st.integers(0, 2**32 - 1), k=st.integers(5, 60))
@settings(max_examples=25, deadline=None)
def test_outcome_order_does_not_matter(seed, k):
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(9), np.repeat([0.0, 1.0, 2.0], 3)])
    Y = rng.normal(size=(9, k)) * rng.lognormal(0, 0.7, size=k)
    perm = rng.permutation(k)
    a = moderated_contrasts(fit_ols(X, Y), [0, 1])
    b = moderated_contrasts(fit_ols(X, Y[:, perm]), [0, 1])
    assert_allclose(b.df_prior, a.df_prior, rtol=1e-9)
    assert_allclose(b.table["t"], a.table["t"].to_numpy()[perm], rtol=1e-9)
    assert_allclose(b.table["b"], a.table["b"].to_numpy()[perm], rtol=1e-8)


@pytest.mark.rlimma
def test_kuehne_robust_matches_limma(kuehne):
    fit, _ = kuehne
    res = moderated_contrasts(fit, np.eye(fit.coef.shape[1])[1], robust=True)
    ref = pd.read_csv(REF / "kuehne_robust.csv.gz")  # 12 significant digits
    hyper = pd.read_csv(REF / "kuehne_robust_hyper.csv").iloc[0]
    assert_allclose(res.var_prior, hyper["s2_prior"], rtol=RTOL)
    assert_allclose(res.coef_var_prior[0], hyper["var_prior"], rtol=RTOL)
    assert_allclose(res.df_prior, ref["df.prior"], rtol=RTOL)
    for ours, theirs in [("t", "t"), ("p", "P.Value"), ("b", "B")]:
        assert_allclose(res.table[ours], ref[theirs], rtol=RTOL, err_msg=ours)


def test_paired_robust_with_unequal_df_matches_limma():
    expr = pd.read_csv(REF / "paired_expr.csv", index_col=0)
    samples = pd.read_csv(REF / "paired_samples.csv")
    ref = pd.read_csv(REF / "paired_robust.csv")
    subj = sorted(samples["participant"].unique())
    X = np.column_stack(
        [np.ones(len(samples)), (samples["visit"] == "post").to_numpy(float)]
        + [(samples["participant"] == s).to_numpy(float) for s in subj[1:]]
    )
    fit = fit_ols(X, expr[samples["sample"]].to_numpy().T)
    res = moderated_contrasts(fit, np.eye(X.shape[1])[1], robust=True)
    assert_allclose(res.df_prior, ref["df.prior"], rtol=RTOL)
    assert_allclose(res.var_prior, ref["s2.prior"].iloc[0], rtol=RTOL)
    assert_allclose(res.table["t"], ref["t"], rtol=RTOL)
    assert_allclose(res.table["p"], ref["P.Value"], rtol=RTOL)


def test_robust_gives_hypervariable_outcomes_less_prior_weight():
    rng = np.random.default_rng(12)
    s2 = 0.1 * rng.chisquare(4, 2000) / 4 * rng.lognormal(0, 0.3, 2000)
    s2[:10] *= 50  # hypervariable
    sv = squeeze_var(s2, 4, robust=True)
    assert np.all(sv.df_prior[:10] < np.median(sv.df_prior[10:]))
    plain = squeeze_var(s2, 4)
    assert np.median(sv.df_prior) >= plain.df_prior
