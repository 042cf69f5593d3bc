"""ANCOVA against R (lm + emmeans + car::Anova), one set of assertions over every reference case.

The fixtures and the script that wrote them are in ``tests/reference/stats`` (``make_stats.R``; R and
package versions in ``versions.txt``). Closed forms: everything is compared to ``RTOL = 1e-10``
relative (p-values also to an absolute 1e-15, for p-values near machine zero).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from skintrial.stats import ancova

REF = Path(__file__).resolve().parents[1] / "reference" / "stats"
RTOL = 1e-10
CASES = pd.read_csv(REF / "ancova_cases.csv", keep_default_na=False)
FIT = pd.read_csv(REF / "ancova_fit.csv")
CONTRASTS = pd.read_csv(REF / "ancova_contrasts.csv")
EMMEANS = pd.read_csv(REF / "ancova_emmeans.csv")
ANOVA = pd.read_csv(REF / "ancova_anova.csv")


def _split(s: str) -> list[str]:
    return s.split(";") if s else []


def _run(case: pd.Series):
    data = pd.read_csv(REF / f"input_{case.input}.csv")
    return ancova(
        data,
        baseline_visit=case.baseline_visit,
        followup_visit=case.followup_visit,
        arms=_split(case.arms),
        reference_arm=case.reference_arm or None,
        covariates=_split(case.covariates),
        interaction=str(case.interaction).upper() == "TRUE",
    )


@pytest.fixture(scope="module", params=CASES["case"].tolist())
def case_result(request):
    case = CASES.set_index("case").loc[request.param]
    case["case"] = request.param
    return request.param, _run(case)


def _close(ours: pd.DataFrame, ref: pd.DataFrame, cols: list[str]):
    for c in cols:
        assert_allclose(
            ours[c].to_numpy(float),
            ref[c].to_numpy(float),
            rtol=RTOL,
            atol=1e-15 if c == "p" else 0,
            err_msg=c,
        )


def test_status_and_n(case_result):
    name, res = case_result
    ref = FIT[FIT.case == name].set_index("outcome")
    st = res.contrasts.drop_duplicates("outcome").set_index("outcome")
    assert st.loc[ref.index, "status"].tolist() == ref["status"].tolist()
    ok = ref.index[ref.status == "ok"]
    fit = res.fit
    k = [fit.outcomes.index(o) for o in ok]
    assert_allclose(fit.n[k], ref.loc[ok, "n"])
    assert_allclose(fit.df_resid[k], ref.loc[ok, "df_resid"])
    assert_allclose(np.sqrt(fit.sigma2[k]), ref.loc[ok, "sigma"], rtol=RTOL)
    assert_allclose(fit.coef[k, fit.param_index("baseline")], ref.loc[ok, "baseline_slope"], rtol=RTOL)
    bad = ref.index[ref.status != "ok"]
    assert res.contrasts.set_index("outcome").loc[bad, "estimate"].isna().all()


def test_contrasts(case_result):
    name, res = case_result
    ref = CONTRASTS[CONTRASTS.case == name]
    ours = res.contrasts.set_index(["outcome", "contrast"]).loc[
        list(zip(ref.outcome, ref.contrast, strict=True))
    ]
    _close(ours, ref, ["estimate", "se", "df", "t", "p", "ci_low", "ci_high"])


def test_emmeans(case_result):
    name, res = case_result
    ref = EMMEANS[EMMEANS.case == name]
    ours = res.estimates.set_index(["outcome", "arm"]).loc[list(zip(ref.outcome, ref.arm, strict=True))]
    _close(ours, ref, ["emmean", "se", "df", "ci_low", "ci_high"])


def test_arm_test_type_ii_and_iii(case_result):
    name, res = case_result
    ref = ANOVA[ANOVA.case == name]
    ours = res.tests.set_index(["outcome", "type"]).loc[list(zip(ref.outcome, ref.type, strict=True))]
    _close(ours, ref, ["num_df", "den_df", "f", "p"])
    pes = ref.ss / (ref.ss + ref.ss_resid)
    assert_allclose(ours["partial_eta_sq"].to_numpy(), pes.to_numpy(), rtol=RTOL)


def test_every_case_was_checked():
    assert set(CONTRASTS.case) <= set(CASES.case) and set(ANOVA.case) <= set(CASES.case)
    assert len(CASES) >= 9 and len(CONTRASTS) >= 40


def test_followup_visit_must_be_named_with_more_than_two_visits():
    import pandas as pd

    from skintrial.errors import InputError
    from skintrial.stats import ancova

    rows = [
        (f"p{i}", "AB"[i % 2], v, "y", float(i + k))
        for i in range(8)
        for k, v in enumerate(["week0", "week4", "week16"])
    ]
    d = pd.DataFrame(rows, columns=["participant_id", "arm", "visit", "outcome", "value"])
    with pytest.raises(InputError, match="followup_visit"):
        ancova(d, baseline_visit="week0")
    with pytest.raises(InputError, match="week12"):
        ancova(d, baseline_visit="week0", followup_visit="week12")
    res = ancova(d, baseline_visit="week0", followup_visit="week16")
    assert res.contrasts["n"].iloc[0] == 8
