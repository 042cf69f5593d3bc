"""cLDA's MMRM options against R ``mmrm`` 0.3.18 and ``nlme::gls`` (tests/reference/mmrm/make_mmrm.R).

Every covariance structure (us, cs, csh, ar1, ar1h, toep, toeph) × every df method (residual,
between-within, Satterthwaite, Kenward–Roger, Kenward–Roger-linear) and the empirical (sandwich)
variance, on two real trials: mmrm's FEV data (FEV1_BL as the baseline visit, 200 participants,
4 follow-up visits with missing values, race and sex as covariates) and HSAUR's BtheB (100 patients,
5 visits, monotone dropout); and the FEV data with a sex × visit term. R's optimiser was taken to
max |gradient| < 1e-11 (its default stops short of the REML maximum).

Tolerances (stated in docs/clda.md with the differences measured): estimates within 1e-8 of their
SE; SE, df and p 1e-8 relative; REML log-likelihood 1e-10 relative; covariance across visits 1e-7
relative. Against ``nlme::gls`` (whose optimiser stops earlier, nlminb for corAR1): 1e-5.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skintrial.errors import DegenerateFitWarning
from skintrial.stats._clda_fit import ClDAOptions
from skintrial.stats.clda import _fit, clda

REF = Path(__file__).resolve().parents[1] / "reference" / "mmrm"
STRUCTURES = ("us", "cs", "csh", "ar1", "ar1h", "toep", "toeph")
CASES = {
    "fev": dict(file="fev_long.csv", visits=["BL", "VIS1", "VIS2", "VIS3", "VIS4"], reference="PBO",
                covariates=["race", "sex"], visit_covariates=[]),
    "btheb": dict(file="../clda/btheb_long.csv", visits=["pre", "2m", "4m", "6m", "8m"], reference="TAU",
                  covariates=["drug", "length"], visit_covariates=[]),
    "fev_visit_covariate": dict(file="fev_long.csv", visits=["BL", "VIS1", "VIS2", "VIS3", "VIS4"],
                                reference="PBO", covariates=["race", "sex"], visit_covariates=["sex"]),
}  # fmt: skip
# (R's vcov, R's df_method) -> our (vcov, df_method)
VARIANTS = {
    ("asymptotic", "residual"): ("model", "residual"),
    ("asymptotic", "between_within"): ("model", "between_within"),
    ("asymptotic", "satterthwaite"): ("model", "satterthwaite"),
    ("kenward_roger", "kenward_roger"): ("model", "kenward_roger"),
    ("kenward_roger_linear", "kenward_roger"): ("model", "kenward_roger_linear"),
    ("empirical", "residual"): ("empirical", "residual"),
    ("empirical", "between_within"): ("empirical", "between_within"),
    ("empirical", "satterthwaite"): ("empirical", "satterthwaite"),
}


@cache
def _data(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / CASES[name]["file"])


@cache
def _run(name: str, structure: str, vcov: str, df_method: str):
    c = CASES[name]
    return clda(
        _data(name),
        baseline_visit=c["visits"][0],
        visits=c["visits"],
        reference_arm=c["reference"],
        covariates=c["covariates"],
        visit_covariates=c["visit_covariates"],
        covariance=structure,
        vcov=vcov,
        df_method=df_method,
    )


def _compare(ours: pd.DataFrame, ref: pd.DataFrame, value: str) -> dict[str, float]:
    """Largest differences: estimate / se, and relative se, df, p."""
    assert len(ours) == len(ref) > 0
    assert (ours["status"] == "ok").all()
    est = np.abs(ours[value].to_numpy() - ref["estimate"].to_numpy()) / ref["se"].to_numpy()
    rel = {  # relative; p-values that underflow to 0 on both sides agree
        k: np.abs(ours[k].to_numpy() - ref[k].to_numpy()) / np.maximum(np.abs(ref[k].to_numpy()), 1e-300)
        for k in ("se", "df", "p")
    }
    return {"estimate/se": est.max(), **{k: v.max() for k, v in rel.items()}}


@pytest.mark.parametrize("variant", list(VARIANTS), ids=["-".join(v) for v in VARIANTS])
@pytest.mark.parametrize("structure", STRUCTURES)
@pytest.mark.parametrize("name", list(CASES))
def test_contrasts_and_means_match_mmrm(name, structure, variant):
    vcov, df_method = VARIANTS[variant]
    res = _run(name, structure, vcov, df_method)
    ref = pd.read_csv(REF / "mmrm_contrasts.csv")
    sel = (ref["dataset"] == name) & (ref["covariance"] == structure)
    sel &= (ref["vcov"] == variant[0]) & (ref["df_method"] == variant[1])
    r = ref[sel].set_index(["visit", "label"])
    ours = res.contrasts.set_index(["visit", "contrast"]).loc[r.index]
    assert (ours["covariance"] == structure).all() and ours["converged"].all()
    assert (ours["df_method"] == df_method).all() and (ours["vcov"] == vcov).all()
    diff = _compare(ours, r, "estimate")
    assert diff["estimate/se"] < 1e-8 and max(diff["se"], diff["df"], diff["p"]) < 1e-8, diff
    means = pd.read_csv(REF / "mmrm_means.csv")
    sel = (means["dataset"] == name) & (means["covariance"] == structure)
    sel &= (means["vcov"] == variant[0]) & (means["df_method"] == variant[1])
    m = means[sel].set_index(["visit", "label"])
    ours = res.estimates.set_index(["visit", "arm"]).loc[m.index]
    ours = ours.assign(t=ours["emmean"] / ours["se"])
    from skintrial.stats._inference import t_inference

    ours = ours.assign(
        p=t_inference(ours["emmean"].to_numpy(), ours["se"].to_numpy(), ours["df"].to_numpy()).p
    )
    diff = _compare(ours, m, "emmean")
    assert diff["estimate/se"] < 1e-8 and max(diff["se"], diff["df"], diff["p"]) < 1e-8, diff


@pytest.mark.parametrize("structure", STRUCTURES)
@pytest.mark.parametrize("name", list(CASES))
def test_loglik_and_covariance_match_mmrm(name, structure):
    c = CASES[name]
    fit, _ = _fit(
        _data(name), baseline_visit=c["visits"][0], outcome="outcome", value="value", arm="arm",
        visit="visit", subject="participant_id", visits=c["visits"], arms=None, reference_arm=c["reference"],
        covariates=[*c["covariates"]], opts=ClDAOptions(covariance=structure, visit_covariates=tuple(c["visit_covariates"])),
    )  # fmt: skip
    fits = pd.read_csv(REF / "mmrm_fit.csv").set_index(["dataset", "covariance"])
    ref = fits.loc[(name, structure)]
    assert fit.status[0] == "ok" and fit.converged[0]
    assert int(fit.mask.sum()) == ref["n_obs"] and fit.X.shape[-1] == ref["p"]
    assert abs(fit.loglik[0] / ref["loglik"] - 1) < 1e-10
    cov = pd.read_csv(REF / "mmrm_covariance.csv")
    cov = cov[(cov["dataset"] == name) & (cov["covariance"] == structure)]
    S = cov.pivot(index="row", columns="col", values="value").loc[c["visits"], c["visits"]].to_numpy()
    np.testing.assert_allclose(fit.sigma[0], S, rtol=1e-7)


@pytest.mark.parametrize("structure", ["cs", "csh", "ar1", "ar1h"])
@pytest.mark.parametrize("name", list(CASES))
def test_structures_nlme_can_fit_match_gls(name, structure):
    res = _run(name, structure, "model", "residual")
    ref = pd.read_csv(REF / "gls_contrasts.csv")
    r = ref[(ref["dataset"] == name) & (ref["covariance"] == structure)].set_index(["visit", "label"])
    ours = res.contrasts.set_index(["visit", "contrast"]).loc[r.index]
    np.testing.assert_allclose(ours["estimate"], r["estimate"], rtol=0, atol=1e-5 * r["se"].min())
    np.testing.assert_allclose(ours["se"], r["se"], rtol=1e-5)
    c = CASES[name]
    fit, _ = _fit(
        _data(name), baseline_visit=c["visits"][0], outcome="outcome", value="value", arm="arm",
        visit="visit", subject="participant_id", visits=c["visits"], arms=None, reference_arm=c["reference"],
        covariates=[*c["covariates"]], opts=ClDAOptions(covariance=structure, visit_covariates=tuple(c["visit_covariates"])),
    )  # fmt: skip
    ll = (
        pd.read_csv(REF / "gls_fit.csv").set_index(["dataset", "covariance"]).loc[(name, structure), "loglik"]
    )
    assert fit.loglik[0] >= ll - 1e-9 * abs(ll)  # ours is at the maximum, gls at most a little below
    assert abs(fit.loglik[0] / ll - 1) < 1e-8


def _sparse_pairs() -> pd.DataFrame:
    """BtheB with the 2-month and 8-month visits never seen together: no unstructured covariance (a pair
    of visits with no participant in common), while every structured one has its parameters."""
    d = _data("btheb").copy()
    seen_8m = set(d.loc[d["visit"] == "8m", "participant_id"])
    return d[~((d["visit"] == "2m") & d["participant_id"].isin(seen_8m))]


def _btheb(data: pd.DataFrame, **kw):
    c = CASES["btheb"]
    return clda(
        data, baseline_visit="pre", visits=c["visits"], reference_arm="TAU", covariates=c["covariates"], **kw
    )


def test_fallback_fits_the_next_structure_and_reports_it():
    d = _sparse_pairs()
    with pytest.warns(DegenerateFitWarning, match="too_few_participants"):
        alone = _btheb(d, df_method="kenward_roger")
    assert (alone.contrasts["status"] == "too_few_participants").all()
    assert (alone.contrasts["covariance"] == "us").all() and not alone.contrasts["converged"].any()
    res = _btheb(d, df_method="kenward_roger", fallback=["toeph", "ar1h", "cs"])
    assert (res.contrasts["status"] == "ok").all()
    assert (res.contrasts["covariance"] == "toeph").all() and res.contrasts["converged"].all()
    assert res.fallback == ("toeph", "ar1h", "cs")
    direct = _btheb(d, df_method="kenward_roger", covariance="toeph")
    cols = ["estimate", "se", "df", "p"]
    pd.testing.assert_frame_equal(res.contrasts[cols], direct.contrasts[cols])
    pd.testing.assert_frame_equal(res.estimates, direct.estimates)


def test_an_outcome_that_cannot_be_fitted_is_not_retried_with_the_fallback():
    d = _data("btheb")
    d = d[d["visit"].isin(["pre", "2m"])]
    d = d.assign(value=np.where(d["visit"] == "2m", 7.0, d["value"]))  # no variance at 2m
    with pytest.warns(DegenerateFitWarning, match="constant_visit"):
        res = clda(d, baseline_visit="pre", reference_arm="TAU", fallback=["cs"])
    assert (res.contrasts["status"] == "constant_visit").all() and not res.contrasts["converged"].any()


@pytest.mark.parametrize(
    "kw",
    [
        dict(df_method="kenward"),
        dict(covariance="un"),
        dict(fallback=["cs", "ar2"]),
        dict(vcov="sandwich"),
        dict(df_method="kenward_roger", vcov="empirical"),
    ],
)
def test_unknown_or_incompatible_options_are_input_errors(kw):
    from skintrial.errors import InputError

    with pytest.raises(InputError):
        _btheb(_data("btheb"), **kw)


@pytest.mark.parametrize(
    "kw",
    [
        dict(df_method="kenward_roger", covariance="us"),
        dict(df_method="kenward_roger", covariance="toeph"),
        dict(df_method="satterthwaite", vcov="empirical", covariance="ar1h"),
        dict(df_method="between_within", covariance="csh", visit_covariates=["drug"]),
    ],
)
def test_results_are_equivariant_under_a_change_of_units(kw):
    d = _data("btheb")
    a = _btheb(d, **kw).contrasts
    b = _btheb(d.assign(value=d["value"] * 1000.0 - 7.0), **kw).contrasts
    np.testing.assert_allclose(b["estimate"], 1000.0 * a["estimate"], rtol=1e-9)
    np.testing.assert_allclose(b["se"], 1000.0 * a["se"], rtol=1e-9)
    np.testing.assert_allclose(b["df"], a["df"], rtol=1e-9)


def test_kenward_roger_inflates_the_se_and_lowers_the_df():
    d = _data("btheb")
    kr = _btheb(d, df_method="kenward_roger").contrasts
    sat = _btheb(d, df_method="satterthwaite").contrasts
    assert (kr["se"] > sat["se"]).all()
    assert (np.abs(kr["df"] / sat["df"] - 1) < 0.1).all()  # close to Satterthwaite's at this size


@pytest.mark.parametrize("structure", STRUCTURES)
def test_covariance_derivatives_match_finite_differences(structure):
    from skintrial.stats._covstruct import derivatives, n_params

    T = 4
    theta = np.random.default_rng(5).normal(0.0, 0.4, (3, n_params(structure, T)))
    _, J, H = derivatives(structure, theta, T)
    h = 1e-6
    for k in range(theta.shape[1]):
        e = np.zeros(theta.shape[1])
        e[k] = h
        (sp, Jp, _), (sm, Jm, _) = derivatives(structure, theta + e, T), derivatives(structure, theta - e, T)
        np.testing.assert_allclose((sp - sm) / (2 * h), J[:, k], atol=1e-8)
        np.testing.assert_allclose((Jp - Jm) / (2 * h), H[:, :, k], atol=1e-8)


@pytest.mark.parametrize("structure", ["us", "csh", "toeph"])
def test_reml_score_and_observed_information_in_mmrm_parameters(structure):
    """The engine's score and observed information (second derivatives of Sigma included) against
    finite differences of its restricted log-likelihood, away from the maximum, on BtheB."""
    from skintrial.stats import _reml
    from skintrial.stats._covstruct import derivatives, start_theta

    c = CASES["btheb"]
    fit, _ = _fit(
        _data("btheb"), baseline_visit="pre", outcome="outcome", value="value", arm="arm", visit="visit",
        subject="participant_id", visits=c["visits"], arms=None, reference_arm="TAU", covariates=c["covariates"],
    )  # fmt: skip
    y = np.where(fit.mask, np.nan_to_num(fit.ta.values.transpose(1, 0, 2)), 0.0) / 10.0
    prob = _reml._problem(y, fit.mask, fit.X)
    theta = start_theta(structure, fit.sigma / 100.0) + 0.05  # near, not at, the maximum
    T = fit.sigma.shape[-1]

    def ll(th):
        return _reml._loglik(prob, derivatives(structure, th, T)[0])[0]

    _, J, H = derivatives(structure, theta, T)
    _, score, _, observed, *_ = _reml._evaluate(prob, derivatives(structure, theta, T)[0], J, H)
    h, q = 1e-4, theta.shape[1]
    eye = np.eye(q) * h
    fd_score = np.array([(ll(theta + eye[k]) - ll(theta - eye[k])) / (2 * h) for k in range(q)])
    np.testing.assert_allclose(score[0], fd_score, rtol=1e-6, atol=1e-6)
    fd_hess = np.array(
        [
            [(ll(theta + eye[k] + eye[m]) - ll(theta + eye[k] - eye[m]) - ll(theta - eye[k] + eye[m])
              + ll(theta - eye[k] - eye[m])) / (4 * h * h) for m in range(q)]
            for k in range(q)
        ]
    )  # fmt: skip
    np.testing.assert_allclose(observed[0], -fd_hess, rtol=1e-4, atol=1e-3)
