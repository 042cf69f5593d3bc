"""cLDA: agreement with nlme::gls (tests/reference/clda), the ANCOVA equivalence, invariants, statuses."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from skintrial.errors import DegenerateFitWarning, InputError
from skintrial.stats import _reml
from skintrial.stats.clda import CLDA_COLUMNS, CLDA_STATUSES, _fit, clda

REF = Path(__file__).resolve().parents[1] / "reference" / "clda"

# name: (input file, visits in order, reference arm, covariates) -- the same table as make_clda.R
DATASETS = {
    "anorexia": ("anorexia_long.csv", ["Pre", "Post"], "Cont", []),
    "btheb": ("btheb_long.csv", ["pre", "2m", "4m", "6m", "8m"], "TAU", ["drug", "length"]),
    "synthetic": ("synthetic_long.csv", ["w0", "w4", "w8", "w16"], "CON", ["age", "sex"]),
    "synthetic2": ("synthetic2_long.csv", ["pre", "post"], "A", ["age"]),
}

# Agreement with gls measured on these fixtures (R 4.2.2, nlme 3.1.162, gls with opt = "optim"):
# estimates within 6.1e-7 standard errors (2.0e-6 relative), SEs within 8.0e-7 relative, and our REML
# log-likelihood is never below R's (it is 1e-11 higher: gls stops a little short of the maximum).
EST_TOL_SE = 2e-6  # |ours - R| / se_R
SE_RTOL = 2e-6


def _load(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / DATASETS[name][0], dtype={"participant_id": str})


def _run(name: str, mode: str) -> pd.DataFrame:
    _, visits, ref, cov = DATASETS[name]
    return clda(
        _load(name),
        baseline_visit=visits[0],
        visits=visits,
        reference_arm=ref if mode == "reference" else None,
        covariates=cov,
    ).contrasts


def _internal_fit(name: str):
    _, visits, ref, cov = DATASETS[name]
    return _fit(
        _load(name),
        baseline_visit=visits[0],
        outcome="outcome",
        value="value",
        arm="arm",
        visit="visit",
        subject="participant_id",
        visits=visits,
        arms=None,
        reference_arm=ref,
        covariates=cov,
    )[0]


@pytest.mark.parametrize("mode", ["reference", "pairs"])
@pytest.mark.parametrize("name", list(DATASETS))
def test_matches_nlme_gls(name, mode):
    ref = pd.read_csv(REF / "clda_contrasts.csv")
    ref = ref[(ref["dataset"] == name) & (ref["mode"] == mode)]
    ours = _run(name, mode)
    m = ours.merge(ref, on=["outcome", "contrast", "visit"], suffixes=("", "_r"), validate="one_to_one")
    assert len(m) == len(ref) == len(ours)
    assert (m["status"] == "ok").all()
    assert np.all(np.abs(m["estimate"] - m["estimate_r"]) <= EST_TOL_SE * m["se_r"])
    assert_allclose(m["se"], m["se_r"], rtol=SE_RTOL)
    assert_allclose(m["df"], m["df_r"], rtol=0, atol=0)
    assert_allclose(m["t"], m["t_r"], rtol=1e-5, atol=EST_TOL_SE)
    assert_allclose(m["p"], m["p_r"], rtol=1e-4, atol=1e-12)
    assert_allclose(m["ci_low"], m["ci_low_r"], rtol=1e-5, atol=1e-5 * m["se_r"].max())
    assert_allclose(m["ci_high"], m["ci_high_r"], rtol=1e-5, atol=1e-5 * m["se_r"].max())


@pytest.mark.parametrize("name", list(DATASETS))
def test_adjusted_means_match_nlme_gls(name):
    """``estimates``: the adjusted mean of each arm at each visit, ``L beta`` of the same gls fit
    (make_clda_means.R), numeric covariates at the outcome's participants' mean and factors averaged over
    their levels. Same tolerances as the contrasts."""
    _, visits, ref_arm, cov = DATASETS[name]
    ref = pd.read_csv(REF / "clda_means.csv", dtype={"visit": str})
    ref = ref[ref["dataset"] == name]
    res = clda(_load(name), baseline_visit=visits[0], visits=visits, reference_arm=ref_arm, covariates=cov)
    ours = res.estimates
    m = ours.merge(ref, on=["outcome", "arm", "visit"], suffixes=("", "_r"), validate="one_to_one")
    assert len(m) == len(ref) == len(ours) and (m["status"] == "ok").all()
    assert np.all(np.abs(m["emmean"] - m["emmean_r"]) <= EST_TOL_SE * m["se_r"])
    assert_allclose(m["se"], m["se_r"], rtol=SE_RTOL)
    assert_allclose(m["df"], m["df_r"], rtol=0, atol=0)
    assert_allclose(m["ci_low"], m["ci_low_r"], rtol=1e-5, atol=1e-5 * m["se_r"].max())
    assert_allclose(m["ci_high"], m["ci_high_r"], rtol=1e-5, atol=1e-5 * m["se_r"].max())


def test_adjusted_means_agree_with_the_contrasts_and_share_the_baseline():
    d = _load("synthetic")
    res = clda(
        d, baseline_visit="w0", reference_arm="CON", covariates=["age", "sex"], df_method="satterthwaite"
    )
    est = res.estimates.set_index(["outcome", "visit", "arm"])["emmean"]
    for row in res.contrasts.itertuples():
        hi, lo = row.contrast.split(" - ")
        diff = est[row.outcome, row.visit, hi] - est[row.outcome, row.visit, lo]
        assert_allclose(diff, row.estimate, rtol=1e-10, atol=1e-12)
    base = res.estimates[res.estimates["visit"] == "w0"].groupby("outcome")["emmean"]
    assert_allclose(base.max() - base.min(), 0.0, atol=1e-10)
    n_arm = d.groupby(["outcome", "arm"])["participant_id"].nunique()
    got = res.estimates.drop_duplicates(["outcome", "arm"]).set_index(["outcome", "arm"])["n"]
    assert got.sort_index().to_dict() == n_arm.sort_index().to_dict()
    assert list(res.estimates.columns) == list(res.estimate_columns)
    assert res.df_method == "satterthwaite" and (res.estimates["df"] > 0).all()


def test_adjusted_means_ignore_participants_without_the_outcome():
    """The covariates are averaged over the participants who have the outcome, so an outcome's means
    are the same analysed alone or beside an outcome that other participants have."""
    d = _load("synthetic")
    kw = dict(baseline_visit="w0", reference_arm="CON", covariates=["age", "sex"])
    extra = d[d["outcome"] == "r2"].assign(
        participant_id=lambda x: "new_" + x["participant_id"], age=lambda x: x["age"] + 30.0
    )
    thickness = d[d["outcome"] == "thickness"]
    alone = clda(thickness, **kw).estimates
    beside = clda(pd.concat([thickness, extra]), **kw).estimates
    beside = beside[beside["outcome"] == "thickness"].reset_index(drop=True)
    pd.testing.assert_frame_equal(alone, beside, rtol=1e-8)


@pytest.mark.parametrize("name", list(DATASETS))
def test_satterthwaite_df_match_r(name):
    """Satterthwaite df against numDeriv derivatives of nlme's REML criterion and vcov (make_clda.R).

    Measured: within 1.8e-6 relative (ours uses the exact information; R differentiates numerically).
    """
    _, visits, _, cov = DATASETS[name]
    ref = pd.read_csv(REF / "clda_contrasts.csv")
    ref = ref[(ref["dataset"] == name) & (ref["mode"] == "pairs")]
    ours = clda(
        _load(name), baseline_visit=visits[0], visits=visits, covariates=cov, df_method="satterthwaite"
    ).contrasts
    m = ours.merge(ref, on=["outcome", "contrast", "visit"], suffixes=("", "_r"), validate="one_to_one")
    assert len(m) == len(ref) and (m["df_method"] == "satterthwaite").all()
    assert_allclose(m["df"], m["df_satterthwaite"], rtol=1e-5)
    residual = _run(name, "pairs")
    assert_allclose(m["estimate"], residual["estimate"], rtol=1e-12)
    assert_allclose(m["se"], residual["se"], rtol=1e-12)
    assert ((m["p"] >= residual["p"]) == (m["df"] <= residual["df"])).all()  # fewer df, larger p


@pytest.mark.parametrize("name", list(DATASETS))
def test_covariance_and_loglik_match_nlme(name):
    fit = _internal_fit(name)
    visits = list(fit.ta.visits)
    cov = pd.read_csv(REF / "clda_covariance.csv")
    ll = pd.read_csv(REF / "clda_fit.csv").set_index(["dataset", "outcome"])
    for g, out in enumerate(fit.ta.outcomes):
        c = cov[(cov["dataset"] == name) & (cov["outcome"] == out)]
        R = c.pivot(index="row", columns="col", values="value").loc[visits, visits].to_numpy()
        assert_allclose(fit.sigma[g], R, rtol=1e-5)
        r = ll.loc[(name, out)]
        assert fit.mask[g].sum() == r["n_obs"] and fit.X.shape[-1] == r["p"]
        assert fit.loglik[g] >= r["loglik"] - 1e-9  # at least as close to the maximum as gls
        assert_allclose(fit.loglik[g], r["loglik"], rtol=1e-10)


def _ancova_ols(d: pd.DataFrame, pre: str, post: str, ref: str) -> pd.DataFrame:
    w = d.pivot_table(index=["participant_id", "arm"], columns="visit", values="value").reset_index()
    arms = [ref, *sorted(set(w["arm"]) - {ref})]
    X = np.column_stack([np.ones(len(w)), w[pre], *[(w["arm"] == a).to_numpy(float) for a in arms[1:]]])
    beta, *_ = np.linalg.lstsq(X, w[post].to_numpy(), rcond=None)
    resid = w[post].to_numpy() - X @ beta
    s2 = resid @ resid / (len(w) - X.shape[1])
    se = np.sqrt(np.diag(np.linalg.inv(X.T @ X)) * s2)
    return pd.DataFrame({"contrast": [f"{a} - {ref}" for a in arms[1:]], "estimate": beta[2:], "se": se[2:]})


def test_complete_two_visit_estimate_equals_ancova():
    """With complete data and two visits the cLDA estimate is the ANCOVA estimate, exactly.

    Reason: the joint model factorises into baseline ~ N(mu, s11) and follow-up | baseline, a
    regression on baseline and arm with free coefficients; REML over the covariance maximises the
    second factor at the OLS slope, so the arm effect is the ANCOVA one. The standard errors differ
    (cLDA does not carry the slope's own uncertainty the same way, and its df are 2n - p).
    """
    d = _load("anorexia")
    ours = clda(d, baseline_visit="Pre", visits=["Pre", "Post"], reference_arm="Cont").contrasts
    ols = _ancova_ols(d, "Pre", "Post", "Cont")
    m = ours.merge(ols, on="contrast", suffixes=("", "_ols"))
    assert len(m) == 2
    assert_allclose(m["estimate"], m["estimate_ols"], rtol=1e-8)
    assert_allclose(m["se"], m["se_ols"], rtol=0.05)  # measured: within 1.5%


def test_complete_synthetic_equals_ancova_for_each_outcome():
    d = _load("synthetic2")
    complete = d.groupby(["participant_id", "outcome"])["visit"].transform("size") == 2
    d = d[complete]
    ours = clda(d, baseline_visit="pre", visits=["pre", "post"], reference_arm="A").contrasts
    for out, sub in d.groupby("outcome"):
        ols = _ancova_ols(sub, "pre", "post", "A")
        assert_allclose(ours.loc[ours["outcome"] == out, "estimate"].to_numpy(), ols["estimate"], rtol=1e-8)


def test_row_order_does_not_matter():
    d = _load("synthetic")
    a = clda(
        d, baseline_visit="w0", visits=["w0", "w4", "w8", "w16"], reference_arm="CON", covariates=["age"]
    ).contrasts
    shuffled = d.sample(frac=1.0, random_state=3)
    b = clda(
        shuffled,
        baseline_visit="w0",
        visits=["w0", "w4", "w8", "w16"],
        reference_arm="CON",
        covariates=["age"],
    ).contrasts
    pd.testing.assert_frame_equal(a, b, rtol=1e-9)


def test_location_scale_equivariance():
    d = _load("synthetic")
    kw = dict(baseline_visit="w0", visits=["w0", "w4", "w8", "w16"], reference_arm="CON")
    a = clda(d, **kw).contrasts
    b = clda(d.assign(value=d["value"] * 1000.0 - 7.0), **kw).contrasts
    assert_allclose(b["estimate"], a["estimate"] * 1000.0, rtol=1e-8)
    assert_allclose(b["se"], a["se"] * 1000.0, rtol=1e-8)
    assert_allclose(b["p"], a["p"], rtol=1e-7)


def test_batched_equals_one_by_one_and_degenerate_neighbours_do_not_leak():
    d = _load("synthetic")
    kw = dict(baseline_visit="w0", visits=["w0", "w4", "w8", "w16"], reference_arm="CON", covariates=["sex"])
    together = clda(d, **kw).contrasts
    for out in together["outcome"].unique():
        alone = clda(d[d["outcome"] == out], **kw).contrasts
        pd.testing.assert_frame_equal(
            together[together["outcome"] == out].reset_index(drop=True), alone, rtol=1e-8
        )
    const = d[d["outcome"] == "r2"].assign(outcome="zz_const", value=1.0)
    with pytest.warns(DegenerateFitWarning, match="constant_outcome"):
        mixed = clda(pd.concat([d, const]), **kw).contrasts
    pd.testing.assert_frame_equal(
        mixed[mixed["outcome"] != "zz_const"].reset_index(drop=True), together, rtol=1e-8
    )


def test_two_visits_missing_followup_estimate_equals_completers_ancova():
    """Two visits, only follow-up missing, no covariates: the estimate is the completers' ANCOVA.

    The likelihood factorises into the baseline (every participant) and follow-up given baseline
    (completers only); the arm effect lives in the second factor. The participants without
    follow-up are still counted in ``n`` and inform the baseline mean and variance.
    """
    d = _load("synthetic2")
    res = clda(d, baseline_visit="pre", visits=["pre", "post"], reference_arm="A").contrasts
    n_any = d.groupby("outcome")["participant_id"].nunique()
    assert res.set_index("outcome")["n"].to_dict() == n_any.to_dict()
    followed = d[d.groupby(["participant_id", "outcome"])["visit"].transform("size") == 2]
    for out, sub in followed.groupby("outcome"):
        assert sub["participant_id"].nunique() < n_any[out]
        ols = _ancova_ols(sub, "pre", "post", "A")
        assert_allclose(res.loc[res["outcome"] == out, "estimate"].to_numpy(), ols["estimate"], rtol=1e-8)


def test_intermediate_visits_of_dropouts_change_the_final_estimate():
    """With more visits, the intermediate values of participants who later drop out inform the last visit."""
    d = _load("synthetic")
    kw = dict(baseline_visit="w0", visits=["w0", "w4", "w8", "w16"], reference_arm="CON")
    res = clda(d, **kw).contrasts
    has_last = d[d["visit"] == "w16"][["participant_id", "outcome"]]
    completers = d.merge(has_last, on=["participant_id", "outcome"])
    cc = clda(completers, **kw).contrasts
    assert (res["n"].to_numpy() >= cc["n"].to_numpy()).all() and (res["n"] > cc["n"]).any()
    last = res["visit"] == "w16"
    assert not np.allclose(res.loc[last, "estimate"], cc.loc[last, "estimate"], rtol=1e-3)


def test_schema_and_contrast_labels():
    res = _run("synthetic", "pairs")
    assert tuple(res.columns) == CLDA_COLUMNS
    assert set(res["contrast"]) == {"CON - AT", "RT - AT", "RT - CON"}
    assert list(res["visit"].unique()) == ["w4", "w8", "w16"]
    assert res["p_adj"].isna().all() and (res["ci_level"] == 0.95).all()
    assert (res["df_method"] == "residual").all()
    assert set(res["status"]) <= set(CLDA_STATUSES)
    narrow = _run("synthetic", "reference")
    assert set(narrow["contrast"]) == {"AT - CON", "RT - CON"}


def test_ci_level_changes_only_the_interval():
    d = _load("synthetic2")
    a = clda(d, baseline_visit="pre", reference_arm="A", ci_level=0.95).contrasts
    b = clda(d, baseline_visit="pre", reference_arm="A", ci_level=0.80).contrasts
    assert_allclose(a["estimate"], b["estimate"])
    assert_allclose(a["p"], b["p"])
    assert ((b["ci_high"] - b["ci_low"]) < (a["ci_high"] - a["ci_low"])).all()
    assert (b["ci_level"] == 0.80).all()


def _small(seed=0, n=24, arms=("A", "B", "C"), visits=("v0", "v1", "v2")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        a = arms[i % len(arms)]
        base = rng.normal()
        for t, v in enumerate(visits):
            rows.append((f"p{i:02d}", a, v, "y", base + 0.3 * t + rng.normal(scale=0.5)))
    return pd.DataFrame(rows, columns=["participant_id", "arm", "visit", "outcome", "value"])


@pytest.mark.parametrize(
    ("make", "status"),
    [
        (lambda d: d.assign(value=2.0), "constant_outcome"),
        (lambda d: d[~((d["arm"] == "C") & (d["visit"] == "v2"))], "arm_without_followup"),
        (lambda d: d[d["participant_id"].isin(["p00", "p01", "p02", "p03"])], "too_few_participants"),
        (lambda d: d.assign(value=np.where(d["visit"] == "v0", 5.0, d["value"])), "constant_visit"),
        (lambda d: d.assign(value=np.where(d["visit"] == "v2", 5.0, d["value"])), "constant_visit"),
        # constant within each arm at v1: the arm effects there explain all of its variance
        (
            lambda d: d.assign(
                value=np.where(d["visit"] == "v1", d["arm"].map({"A": 1.0, "B": 2.0, "C": 4.0}), d["value"])
            ),
            "constant_visit",
        ),
    ],
)
def test_degenerate_outcomes_get_a_status_not_a_crash(make, status):
    good = _small()
    bad = make(_small(seed=1)).assign(outcome="bad")
    with pytest.warns(DegenerateFitWarning, match=status):
        res = clda(
            pd.concat([good, bad]), baseline_visit="v0", visits=["v0", "v1", "v2"], reference_arm="A"
        ).contrasts
    b = res[res["outcome"] == "bad"]
    assert (b["status"] == status).all()
    assert b[["estimate", "se", "p", "ci_low", "ci_high", "df"]].isna().all().all()
    assert (res.loc[res["outcome"] == "y", "status"] == "ok").all()


def _copy_visit(d: pd.DataFrame) -> pd.DataFrame:
    """Visit v2 = visit v1 + 1 for everyone: the two visits are perfectly correlated."""
    v1 = d[d["visit"] == "v1"].set_index("participant_id")["value"]
    out = d.copy()
    at2 = out["visit"] == "v2"
    out.loc[at2, "value"] = out.loc[at2, "participant_id"].map(v1).to_numpy() + 1.0
    return out


def test_perfectly_correlated_visits_give_singular_covariance():
    with pytest.warns(DegenerateFitWarning, match="singular_covariance"):
        res = clda(
            pd.concat([_small(), _copy_visit(_small(seed=2)).assign(outcome="bad")]),
            baseline_visit="v0",
            reference_arm="A",
        ).contrasts
    assert (res.loc[res["outcome"] == "bad", "status"] == "singular_covariance").all()
    assert res.loc[res["outcome"] == "bad", "estimate"].isna().all()
    assert (res.loc[res["outcome"] == "y", "status"] == "ok").all()


def test_constant_covariate_is_rank_deficient():
    d = _small()
    with pytest.warns(DegenerateFitWarning, match="rank_deficient"):
        res = clda(d.assign(age=50.0), baseline_visit="v0", covariates=["age"], reference_arm="A").contrasts
    assert (res["status"] == "rank_deficient").all()


def test_input_errors_name_the_column():
    d = _small()
    with pytest.raises(InputError, match="baseline visit 'week0'"):
        clda(d, baseline_visit="week0")
    with pytest.raises(InputError, match="not found"):
        clda(d.drop(columns="arm"), baseline_visit="v0")
    swapped = d.copy()
    swapped.loc[0, "arm"] = "B"  # p00 is in arm A on its other rows
    with pytest.raises(InputError, match="'arm' must be the same"):
        clda(swapped, baseline_visit="v0")
    holes = d.assign(age=1.0)
    holes.loc[3, "age"] = np.nan
    with pytest.raises(InputError, match="column 'age'"):
        clda(holes, baseline_visit="v0", covariates=["age"])
    with pytest.raises(InputError, match="ci_level"):
        clda(d, baseline_visit="v0", ci_level=95)
    with pytest.raises(InputError, match="df_method"):
        clda(d, baseline_visit="v0", df_method="kenward-roger")
    with pytest.raises(InputError, match="reference arm"):
        clda(d, baseline_visit="v0", reference_arm="Z")


def test_visit_order_default_keeps_numeric_and_categorical_order():
    d = _small(visits=(0, 4, 16))
    res = clda(d, baseline_visit=0, reference_arm="A").contrasts
    assert list(res["visit"].unique()) == ["4", "16"]
    d2 = _small(visits=("wk0", "wk4", "wk16"))
    d2["visit"] = pd.Categorical(d2["visit"], categories=["wk0", "wk4", "wk16"], ordered=True)
    assert list(clda(d2, baseline_visit="wk0", reference_arm="A").contrasts["visit"].unique()) == [
        "wk4",
        "wk16",
    ]


def test_reml_score_and_information_match_finite_differences():
    rng = np.random.default_rng(4)
    G, n, T = 3, 30, 3
    arm = rng.integers(0, 2, n)
    p = T + (T - 1)
    X = np.zeros((n, T, p))
    X[:, np.arange(T), np.arange(T)] = 1.0
    for t in range(1, T):
        X[:, t, T + t - 1] = arm == 1
    y = rng.standard_normal((G, n, T)) @ np.array([[1, 0.5, 0.3], [0, 1, 0.4], [0, 0, 1.0]])
    mask = rng.random((G, n, T)) > 0.2
    mask[:, :, 0] = True
    prob = _reml._problem(y, mask, X)
    assert prob.order is not None  # 2 arms x a few patterns: subjects grouped into cells
    S = _reml._sym_index(T)
    iu = np.triu_indices(T)
    sigma = np.broadcast_to(np.array([[1.2, 0.4, 0.2], [0.4, 1.0, 0.3], [0.2, 0.3, 0.9]]), (G, T, T)).copy()

    def at(theta):
        s = np.zeros((G, T, T))
        s[:, iu[0], iu[1]] = theta
        return s + np.triu(s, 1).transpose(0, 2, 1)

    _, score, expected, observed = _reml._evaluate(prob, sigma, S)[:4]
    theta, h, q = sigma[:, iu[0], iu[1]], 1e-5, len(iu[0])
    num_score = np.stack(
        [
            (_reml._loglik(prob, at(theta + h * e)) - _reml._loglik(prob, at(theta - h * e))) / (2 * h)
            for e in np.eye(q)
        ],
        axis=1,
    )
    num_hess = np.stack(
        [
            (_reml._evaluate(prob, at(theta + h * e), S)[1] - _reml._evaluate(prob, at(theta - h * e), S)[1])
            / (2 * h)
            for e in np.eye(q)
        ],
        axis=2,
    )
    assert_allclose(score, num_score, rtol=1e-6, atol=1e-6)
    assert_allclose(observed, -num_hess, rtol=1e-5, atol=1e-5)
    assert (np.linalg.eigvalsh(expected)[:, 0] > 0).all()
    # every subject its own cell (the path of continuous covariates) gives the same numbers
    ungrouped = _reml._problem(y, mask, X, group=False)
    assert ungrouped.order is None
    for a, b in zip(_reml._evaluate(prob, sigma, S), _reml._evaluate(ungrouped, sigma, S), strict=True):
        assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.slow
def test_many_outcomes_all_converge():
    """Benchmark-shaped data (60 participants, 3 arms, 10% missing follow-up): every outcome fits.

    Small form by default (100 outcomes); 1,000 outcomes with SKINTRIAL_FULL=1.
    """
    G = 1000 if os.environ.get("SKINTRIAL_FULL") == "1" else 100
    rng = np.random.default_rng(11)
    n, visits = 60, ["w0", "w8", "w16"]
    arm = np.array(["CON", "AT", "RT"])[np.arange(n) % 3]
    L = np.linalg.cholesky(np.array([[1.0, 0.7, 0.6], [0.7, 1.2, 0.75], [0.6, 0.75, 1.4]]))
    y = rng.standard_normal((G, n, 3)) @ L.T + 0.3 * (arm != "CON")[None, :, None] * np.array([0, 1, 1])
    keep = np.ones((G, n, 3), bool)
    keep[:, :, 1:] = rng.random((G, n, 1)) > 0.1
    g, i, t = np.nonzero(keep)
    d = pd.DataFrame(
        {
            "participant_id": np.char.add("p", i.astype(str)),
            "arm": arm[i],
            "visit": np.array(visits)[t],
            "outcome": np.char.add("o", g.astype(str)),
            "value": y[g, i, t],
        }
    )
    res = clda(d, baseline_visit="w0", visits=visits, reference_arm="CON").contrasts
    assert (res["status"] == "ok").all()
    assert len(res) == G * 2 * 2


def test_outcome_measured_at_some_visits_is_fitted_on_those():
    """An outcome measured at baseline and the last visit only (VO2peak beside skin at three visits) is
    fitted on its two visits, exactly as alone; the visit it lacks, and an outcome without baseline data,
    get rows with their own status instead of NaN for everything."""
    rng = np.random.default_rng(1)
    rows = []
    for i in range(40):
        a = ("CON", "AT", "RT")[i % 3]
        for o in ("skin", "vo2", "nobase"):
            for v in ("week0", "week8", "week16"):
                if (o, v) in {("vo2", "week8"), ("nobase", "week0")}:
                    continue
                rows.append((f"p{i}", a, v, o, rng.normal() + (v != "week0") * (a == "RT")))
    d = pd.DataFrame(rows, columns=["participant_id", "arm", "visit", "outcome", "value"])
    with pytest.warns(DegenerateFitWarning, match=r"1 of 3 outcome\(s\) \{'no_baseline_data': 1\}"):
        full = clda(d, baseline_visit="week0", reference_arm="CON")
    res = full.contrasts
    status = res.set_index(["outcome", "visit", "contrast"])["status"].sort_index()
    assert (status.loc["nobase"] == "no_baseline_data").all()
    assert (status.loc[("vo2", "week8")] == "not_measured_at_visit").all()
    assert (status.loc["skin"] == "ok").all() and (status.loc[("vo2", "week16")] == "ok").all()
    alone = clda(
        d[d["outcome"] == "vo2"], baseline_visit="week0", visits=["week0", "week16"], reference_arm="CON"
    ).contrasts
    got = res[(res["outcome"] == "vo2") & (res["visit"] == "week16")].reset_index(drop=True)
    assert_allclose(got[["estimate", "se", "p"]], alone[["estimate", "se", "p"]], rtol=1e-12)
    assert list(res["outcome"].unique()) == ["nobase", "skin", "vo2"]
    assert res.groupby("outcome")["visit"].apply(list).loc["skin"] == ["week8", "week8", "week16", "week16"]
    est = full.estimates.set_index(["outcome", "visit", "arm"])["status"].sort_index()
    assert (est.loc["nobase"] == "no_baseline_data").all() and len(est.loc["nobase"]) == 9
    assert (est.loc[("vo2", "week8")] == "not_measured_at_visit").all()
    e = full.estimates
    fitted = e["outcome"].isin(["skin", "vo2"]) & ~((e["outcome"] == "vo2") & (e["visit"] == "week8"))
    assert (e.loc[fitted, "status"] == "ok").all() and e.loc[fitted, "emmean"].notna().all()


def test_an_outcome_with_baseline_only_has_no_estimate_at_baseline_either():
    d = _small()
    base_only = d[d["visit"] == "v0"].assign(outcome="z_base_only")
    with pytest.warns(DegenerateFitWarning, match="not_measured_at_visit"):
        res = clda(pd.concat([d, base_only]), baseline_visit="v0", reference_arm="A")
    est = res.estimates[res.estimates["outcome"] == "z_base_only"].set_index(["visit", "arm"])
    assert (est.loc["v0", "status"] == "no_followup_data").all()
    assert (est.drop("v0", level=0)["status"] == "not_measured_at_visit").all()
    assert est["emmean"].isna().all() and (est["n"] == 0).all()
    assert set(res.estimates["status"]) <= set(CLDA_STATUSES)


def test_warning_names_the_fit_status_of_an_outcome_fitted_on_some_visits():
    """VO2peak measured at week0/week16 and constant at week16: the warning says constant_visit (its fit's
    status), not the not_measured_at_visit of its week-8 rows."""
    rng = np.random.default_rng(3)
    rows = [
        (f"p{i}", ("CON", "RT")[i % 2], v, o, 5.0 if (o, v) == ("vo2", "week16") else rng.normal())
        for i in range(30)
        for o in ("skin", "vo2")
        for v in ("week0", "week8", "week16")
        if (o, v) != ("vo2", "week8")
    ]
    d = pd.DataFrame(rows, columns=["participant_id", "arm", "visit", "outcome", "value"])
    with pytest.warns(DegenerateFitWarning, match=r"1 of 2 outcome\(s\) \{'constant_visit': 1\}"):
        res = clda(d, baseline_visit="week0", reference_arm="CON").contrasts
    vo2 = res[res["outcome"] == "vo2"].set_index("visit")["status"]
    assert vo2.to_dict() == {"week8": "not_measured_at_visit", "week16": "constant_visit"}
