"""ANCOVA (and the cross-sectional comparison built on it) on degenerate outcomes: every row of every
table says what it is, statistics are NaN unless the row is ok, and nothing warns or crashes.

One synthetic three-arm trial holds an outcome of each kind: fine, one completer in an arm, an arm
without completers, constant follow-up, constant baseline, too few completers, no follow-up at all.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from skintrial.stats import ancova, cross_sectional
from skintrial.stats._schema import CONTRAST_COLUMNS, EMMEANS_COLUMNS, FTEST_COLUMNS, PARTIAL_ETA_SQ

ARMS = ["CON"] * 6 + ["AT"] * 6 + ["RT"] * 6
KINDS = ["ok", "one_completer_RT", "no_RT", "const_post", "const_base", "sparse", "allmissing"]


def _trial() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for i, a in enumerate(ARMS):
        b = rng.normal(10, 1)
        for o in KINDS:
            rows.append((f"p{i:02d}", a, "w0", o, 5.0 if o == "const_base" else b))
            f = 3.0 if o == "const_post" else b + rng.normal() + (a == "RT")
            skip = (
                (o == "one_completer_RT" and a == "RT" and i != 12)
                or (o == "no_RT" and a == "RT")
                or (o == "sparse" and i not in (0, 6, 12, 13))
                or o == "allmissing"
            )
            if not skip:
                rows.append((f"p{i:02d}", a, "w16", o, f))
    return pd.DataFrame(rows, columns=["participant_id", "arm", "visit", "outcome", "value"])


KW = dict(baseline_visit="w0", followup_visit="w16", reference_arm="CON")
EXPECTED = {  # status of the contrasts AT - CON, RT - CON
    "ok": ("ok", "ok"),
    "one_completer_RT": ("ok", "ok"),
    "no_RT": ("ok", "arm_without_complete_cases"),
    "const_post": ("no_residual_variance",) * 2,
    "const_base": ("rank_deficient",) * 2,
    "sparse": ("too_few_observations",) * 2,
    "allmissing": ("too_few_observations",) * 2,
}


@pytest.fixture(scope="module", params=[False, True], ids=["main_effects", "interaction"])
def result(request):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning (e.g. a mean of an empty slice) anywhere
        return ancova(_trial(), **KW, interaction=request.param)


def test_every_table_has_its_schema_with_a_status(result):
    assert tuple(result.contrasts.columns) == CONTRAST_COLUMNS
    assert tuple(result.estimates.columns) == EMMEANS_COLUMNS and "status" in EMMEANS_COLUMNS
    assert tuple(result.tests.columns) == FTEST_COLUMNS and "status" in FTEST_COLUMNS
    assert result.estimates["status"].notna().all() and result.tests["status"].notna().all()


def test_statistics_and_df_are_nan_unless_the_row_is_ok(result):
    tables = {
        "contrasts": (
            result.contrasts,
            ["estimate", "se", "ci_low", "ci_high", "df", "t", "p", "effect_size"],
        ),
        "estimates": (result.estimates, ["emmean", "se", "df", "ci_low", "ci_high"]),
        "tests": (result.tests, ["num_df", "den_df", "f", "p", "partial_eta_sq"]),
    }
    for name, (t, cols) in tables.items():
        bad = t["status"] != "ok"
        assert bad.any(), name
        assert t.loc[bad, cols].isna().all().all(), name
        df_cols = [c for c in cols if c.endswith("df")]
        assert (t.loc[~bad, df_cols] > 0).all().all(), name  # never a zero or negative df
        assert t.loc[~bad, ["estimate" if name == "contrasts" else cols[0]]].notna().all().all(), name


def test_statuses_per_outcome(result):
    con = result.contrasts
    interaction = result.fit.params[-1].startswith("baseline:")
    for outcome, expected in EXPECTED.items():
        if interaction and outcome == "one_completer_RT":
            expected = ("rank_deficient",) * 2  # one RT completer cannot estimate an RT slope
        assert tuple(con.loc[con.outcome == outcome, "status"]) == expected, outcome


def test_an_arm_without_completers_keeps_the_other_contrasts(result):
    """RT has no follow-up for 'no_RT': its contrast, adjusted mean and the arm test say so; AT - CON
    is the ANCOVA of the two arms that have data (as R's lm, which drops the unused level)."""
    interaction = result.fit.params[-1].startswith("baseline:")
    d = _trial()
    two = ancova(
        d[(d.outcome == "no_RT") & (d.arm != "RT")], **KW, arms=["CON", "AT"], interaction=interaction
    )
    ours = result.contrasts.set_index(["outcome", "contrast"]).loc[("no_RT", "AT - CON")]
    cols = ["estimate", "se", "df", "t", "p", "ci_low", "ci_high", "effect_size", "n"]
    assert_allclose(ours[cols].to_numpy(float), two.contrasts.iloc[0][cols].to_numpy(float), rtol=1e-10)
    em = result.estimates.set_index(["outcome", "arm"])
    assert (
        em.loc[("no_RT", "RT"), "status"] == "arm_without_complete_cases"
        and em.loc[("no_RT", "RT"), "n"] == 0
    )
    assert np.isnan(em.loc[("no_RT", "RT"), "emmean"])
    assert_allclose(
        em.loc[("no_RT", "AT"), "emmean"], two.estimates.set_index("arm").loc["AT", "emmean"], rtol=1e-10
    )
    at = result.tests[result.tests.outcome == "no_RT"]
    assert (at["status"] == "arm_without_complete_cases").all() and at["f"].isna().all()


def test_an_empty_reference_arm_estimates_nothing_and_says_why():
    d = _trial()
    d = d[~((d.outcome == "ok") & (d.arm == "CON") & (d.visit == "w16"))]
    res = ancova(d, baseline_visit="w0", followup_visit="w16", arms=["CON", "AT", "RT"])  # all pairs
    for t in (res.contrasts, res.estimates, res.tests):
        rows = t[t.outcome == "ok"]
        assert (rows["status"] == "arm_without_complete_cases").all()
    assert res.contrasts.loc[res.contrasts.outcome == "ok", "estimate"].isna().all()


def test_interaction_without_complete_cases_does_not_warn():
    d = _trial()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = ancova(d[d.outcome.isin(["ok", "allmissing"])], **KW, interaction=True)
    assert res.contrasts.groupby("outcome")["status"].first().to_dict() == {
        "allmissing": "too_few_observations",
        "ok": "ok",
    }


def test_partial_eta_squared_names_its_formula(result):
    assert "partial_eta_sq_formula" in FTEST_COLUMNS
    assert (result.tests["partial_eta_sq_formula"] == PARTIAL_ETA_SQ).all()
    ok = result.tests[result.tests.status == "ok"]
    f, q, d = ok["f"], ok["num_df"], ok["den_df"]
    assert_allclose(ok["partial_eta_sq"], f * q / (f * q + d), rtol=1e-12)


def test_cross_sectional_tests_and_estimates_carry_status_and_formula():
    d = _trial()
    res = cross_sectional(d[d.visit == "w16"], group="arm", reference_group="CON")
    assert tuple(res.tests.columns) == FTEST_COLUMNS and tuple(res.estimates.columns) == EMMEANS_COLUMNS
    assert (res.tests["partial_eta_sq_formula"] == PARTIAL_ETA_SQ).all()
    gt = res.tests.set_index("outcome")
    assert gt.loc["no_RT", "status"] == "arm_without_complete_cases" and np.isnan(gt.loc["no_RT", "den_df"])
    assert gt.loc["ok", "status"] == "ok"
    con = res.contrasts.set_index(["outcome", "contrast"])
    assert con.loc[("no_RT", "AT - CON"), "status"] == "ok"
    assert con.loc[("no_RT", "RT - CON"), "status"] == "arm_without_complete_cases"
