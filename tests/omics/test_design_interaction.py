"""The paired arm × visit design by name: ``~ participant + arm * visit`` with conditional contrasts.

References: tests/reference/limma/make_limma.R (log scale, the same estimable design written with a
hand-made arm_visit factor and ``contrasts.fit``) and tests/reference/voom/make_voom.R (counts, voom,
R's own ``model.matrix(~ participant + arm * visit)`` less the non-estimable arm column). Tolerance 1e-6
relative; observed 1e-12 (log scale) and 1e-8 (counts, R's lowess vs statsmodels').
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from skintrial.errors import InputError
from skintrial.omics._design import build_design, contrast_vector
from skintrial.omics.expression import differential_expression

REFS = Path(__file__).resolve().parents[1] / "reference"
RTOL = 1e-6
CHANGES = ["visit: post - pre | arm = RT", "visit: post - pre | arm = AT", "visit: post - pre | arm: RT - AT"]


def _twoarm_samples() -> pd.DataFrame:
    s = pd.read_csv(REFS / "limma" / "twoarm_samples.csv")
    s[["arm", "visit"]] = s["arm_visit"].str.split("_", expand=True)
    return s


@pytest.mark.rlimma
def test_arm_by_visit_matches_limma_without_a_combined_factor():
    de = differential_expression(
        REFS / "limma" / "twoarm_expr.csv",
        _twoarm_samples(),
        design="~ participant + arm * visit",
        contrast=CHANGES,
    )
    ref = pd.read_csv(REFS / "limma" / "twoarm_results.csv")
    G = len(ref)
    assert de.attrs["not_estimable"] == ["arm[RT]"]  # the arm main effect lives in the participants
    for j, col in enumerate(["t_rt", "t_at", "t_rt_vs_at"]):
        block = de.iloc[j * G : (j + 1) * G]
        assert (block["contrast"] == CHANGES[j]).all()
        assert_allclose(block["t"], ref[col], rtol=RTOL, err_msg=col)
    assert_allclose(de["p"].iloc[2 * G :], ref["p_rt_vs_at"], rtol=RTOL)
    assert_allclose(de.attrs["df_prior"], ref["df_prior"].iloc[0], rtol=RTOL)


def test_interaction_design_equals_the_combined_factor_design():
    s = _twoarm_samples()
    expr = REFS / "limma" / "twoarm_expr.csv"
    a = differential_expression(expr, s, design="~ participant + arm * visit", contrast=CHANGES[2])
    b = differential_expression(
        expr, s, design="~ participant + arm_visit", contrast="arm_visit: RT_post - RT_pre - AT_post + AT_pre"
    )
    for col in ("log_fc", "t", "p", "b"):
        assert_allclose(a[col], b[col], rtol=1e-10, err_msg=col)


@pytest.mark.rlimma
def test_arm_by_visit_on_counts_matches_voom():
    ref = pd.read_csv(REFS / "voom" / "armvisit_voom.csv.gz")
    de = differential_expression(
        REFS / "voom" / "armvisit_counts.csv",
        REFS / "voom" / "armvisit_samples.csv",
        design="~ participant + arm * visit",
        contrast=["visit: post - pre | arm = AT", "visit: post - pre | arm: RT - AT"],
        counts=True,
    )
    G = len(ref)
    at, diff = de.iloc[:G], de.iloc[G:]
    assert_allclose(at["t"], ref["t_at"], rtol=RTOL)
    assert_allclose(at["p"], ref["p_at"], rtol=RTOL)
    for ours, theirs in [("log_fc", "logfc_diff"), ("t", "t_diff"), ("p", "p_diff"), ("b", "b_diff")]:
        assert_allclose(diff[ours], ref[theirs], rtol=RTOL, err_msg=ours)
    hyper = pd.read_csv(REFS / "voom" / "armvisit_hyper.csv").iloc[0]
    assert_allclose(de.attrs["df_prior"], hyper["df_prior"], rtol=RTOL)
    assert_allclose(de.attrs["var_prior"], hyper["s2_prior"], rtol=RTOL)
    # known truth: genes e001-e040 rise after resistance training only
    top = diff.nsmallest(40, "p")["gene"].str[1:].astype(int)
    assert (top <= 40).sum() >= 25


def test_interaction_coding_follows_r_model_matrix():
    s = pd.DataFrame({"arm": ["A", "A", "B", "B"] * 2, "visit": ["pre", "post"] * 4})
    d = build_design(s, "~ arm * visit")
    assert d.params == ("intercept", "arm[B]", "visit[pre]", "arm[B]:visit[pre]")
    assert_allclose(d.X[:, 3], (s["arm"] == "B") & (s["visit"] == "pre"))
    label, L = contrast_vector(d, "visit:post-pre|arm:B-A")
    assert label == "visit: post - pre | arm: B - A"
    assert_allclose(L, [0, 0, 0, -1])  # only the interaction column (visit[pre] is the coded level)


@pytest.mark.parametrize(
    ("design", "contrast", "message"),
    [
        ("~ participant + arm * visit", "visit: post - pre", "must say where"),
        ("~ participant + arm * visit", "arm: RT - AT | visit = pre", "cannot be estimated"),
        ("~ participant + arm:visit", "visit: post - pre | arm = AT", "needs both main effects"),
        ("~ participant + arm * visit", "visit: post - pre | arm = XX", "cannot read the contrast"),
        ("~ participant + arm * visit", "visit: post | arm: RT - AT", "do not sum to zero"),
        ("~ participant + arm * visit", "visit: post - pre | dose = 1", "not a factor"),
        (
            "~ participant + arm * visit * slide",
            "visit: post - pre | arm = AT",
            "cannot read the interaction",
        ),
    ],
)
def test_interaction_errors_name_the_fix(design, contrast, message):
    with pytest.raises(InputError, match=message) as err:
        differential_expression(
            REFS / "limma" / "twoarm_expr.csv", _twoarm_samples(), design=design, contrast=contrast
        )
    assert "Fix:" in str(err.value)


def test_numeric_interaction_is_refused():
    s = pd.DataFrame({"arm": ["A", "B"] * 4, "age": np.linspace(20.5, 60.5, 8)})
    with pytest.raises(InputError, match="numeric term 'age'"):
        build_design(s, "~ arm * age")
