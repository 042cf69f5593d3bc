"""Participants as a random block: limma's duplicateCorrelation + lmFit(block=, correlation=).

Reference: tests/reference/dupcor/make_dupcor.R (R 4.2.2, limma 3.54.1, statmod 1.5.0) on the two-arm
pre/post data of tests/reference/limma (200 genes, 12 participants × 2 visits), ``~ arm * visit``,
block = participant. Tolerance 1e-6 relative; observed: per-gene atanh correlations 1.4e-14, the
consensus exact to the last digit, moderated t of all four contrasts ≤ 3e-13.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from skintrial.errors import InputError
from skintrial.omics.expression import differential_expression

REFS = Path(__file__).resolve().parents[1] / "reference"
RTOL = 1e-6
CONTRASTS = [
    "visit: post - pre | arm = AT",
    "visit: post - pre | arm = RT",
    "visit: post - pre | arm: RT - AT",
    "arm: RT - AT | visit = pre",  # estimable with a random block: between participants
]


def _samples() -> pd.DataFrame:
    s = pd.read_csv(REFS / "limma" / "twoarm_samples.csv")
    s[["arm", "visit"]] = s["arm_visit"].str.split("_", expand=True)
    return s


@pytest.fixture(scope="module")
def blocked():
    return differential_expression(
        REFS / "limma" / "twoarm_expr.csv",
        _samples(),
        design="~ arm * visit",
        contrast=CONTRASTS,
        block="participant",
    )


@pytest.mark.rlimma
def test_blocked_fit_matches_limma(blocked):
    ref = pd.read_csv(REFS / "dupcor" / "dupcor_twoarm.csv")
    hyper = pd.read_csv(REFS / "dupcor" / "dupcor_hyper.csv").iloc[0]
    G = len(ref)
    assert_allclose(blocked.attrs["correlation"], hyper["consensus"], rtol=1e-10)
    for j, col in enumerate(["t_at", "t_rt", "t_diff", "t_base"]):
        block = blocked.iloc[j * G : (j + 1) * G]
        assert (block["contrast"] == CONTRASTS[j]).all()
        assert_allclose(block["t"], ref[col], rtol=RTOL, err_msg=col)
    assert_allclose(blocked["p"].iloc[2 * G : 3 * G], ref["p_diff"], rtol=RTOL)
    assert_allclose(blocked["log_fc"].iloc[3 * G :], ref["logfc_base"], rtol=RTOL)
    assert_allclose(blocked.attrs["df_prior"], hyper["df_prior"], rtol=RTOL)
    assert_allclose(blocked.attrs["var_prior"], hyper["s2_prior"], rtol=RTOL)


@pytest.mark.rlimma
def test_per_gene_correlations_match_limma():
    from skintrial.omics._dupcor import duplicate_correlation

    e = pd.read_csv(REFS / "limma" / "twoarm_expr.csv")
    s = _samples()
    arm = (s["arm"] == "RT").to_numpy(float)
    post = (s["visit"] == "post").to_numpy(float)
    X = np.column_stack([np.ones(len(s)), arm, post, arm * post])
    consensus, rho = duplicate_correlation(e[s["sample"]].to_numpy(float), X, s["participant"].to_numpy())
    ref = pd.read_csv(REFS / "dupcor" / "dupcor_twoarm.csv")
    assert_allclose(np.arctanh(rho), ref["atanh_cor"], rtol=1e-8, atol=1e-10)


def test_block_errors_name_the_fix(tmp_path):
    s = _samples()
    with pytest.raises(InputError, match="block column 'subject'") as err:
        differential_expression(
            REFS / "limma" / "twoarm_expr.csv",
            s,
            design="~ arm * visit",
            contrast=CONTRASTS[0],
            block="subject",
        )
    assert "Fix:" in str(err.value)
    e = pd.read_csv(REFS / "limma" / "twoarm_expr.csv")
    e.iloc[3, 2] = np.nan
    with pytest.raises(InputError, match="complete data"):
        differential_expression(
            e.set_index("gene"), s, design="~ arm * visit", contrast=CONTRASTS[0], block="participant"
        )


@pytest.mark.rlimma
def test_unbalanced_blocks_match_limma():
    s = _samples()
    keep = ~(s["participant"].isin(["S02", "S07", "S11"]) & (s["visit"] == "post"))
    e = pd.read_csv(REFS / "limma" / "twoarm_expr.csv").set_index("gene")
    de = differential_expression(
        e[s.loc[keep, "sample"]],
        s[keep],
        design="~ arm * visit",
        contrast="visit: post - pre | arm: RT - AT",
        block="participant",
    )
    ref = pd.read_csv(REFS / "dupcor" / "dupcor_unbalanced.csv")
    assert_allclose(de.attrs["correlation"], ref["consensus"].iat[0], rtol=1e-10)
    assert_allclose(de["t"], ref["t_diff"], rtol=RTOL)
