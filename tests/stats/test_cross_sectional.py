"""Cross-sectional group comparisons against R lm + emmeans + car::Anova (make_stats.R).

Tolerance: 1e-10 relative (p-values also 1e-15 absolute).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from numpy.testing import assert_allclose

from skintrial.errors import InputError
from skintrial.stats import cross_sectional
from skintrial.stats._schema import CROSS_SECTIONAL_COLUMNS

REF = Path(__file__).resolve().parents[1] / "reference" / "stats"
CASES = pd.read_csv(REF / "cross_sectional_cases.csv", keep_default_na=False)
CONTRASTS = pd.read_csv(REF / "cross_sectional_contrasts.csv")
EMMEANS = pd.read_csv(REF / "cross_sectional_emmeans.csv")
ANOVA = pd.read_csv(REF / "cross_sectional_anova.csv")
RTOL = 1e-10


def _close(ours, ref, cols):
    for c in cols:
        assert_allclose(
            ours[c].to_numpy(float),
            ref[c].to_numpy(float),
            rtol=RTOL,
            atol=1e-15 if c == "p" else 0,
            err_msg=c,
        )


@pytest.mark.parametrize("case", list(CASES.itertuples()), ids=CASES["case"].tolist())
def test_matches_r(case):
    data = pd.read_csv(REF / f"input_{case.input}.csv")
    res = cross_sectional(
        data,
        group="arm",
        at_visit=case.visit,
        groups=case.groups.split(";"),
        reference_group=case.reference_group or None,
        covariates=case.covariates.split(";") if case.covariates else [],
    )
    assert tuple(res.contrasts.columns) == CROSS_SECTIONAL_COLUMNS
    assert (res.contrasts["visit"] == case.visit).all() and (res.contrasts["group_column"] == "arm").all()
    ref = CONTRASTS[CONTRASTS.case == case.case]
    ours = res.contrasts.set_index(["outcome", "contrast"]).loc[
        list(zip(ref.outcome, ref.contrast, strict=True))
    ]
    _close(ours, ref, ["estimate", "se", "df", "t", "p", "ci_low", "ci_high"])
    k = [res.fit.outcomes.index(o) for o in ref.outcome]
    assert_allclose(res.fit.n[k], ref.n)
    ref_e = EMMEANS[EMMEANS.case == case.case]
    ours_e = res.estimates.set_index(["outcome", "arm"]).loc[list(zip(ref_e.outcome, ref_e.arm, strict=True))]
    _close(ours_e, ref_e, ["emmean", "se", "df", "ci_low", "ci_high"])
    ref_a = ANOVA[ANOVA.case == case.case]
    ours_a = res.tests.set_index("outcome").loc[ref_a.outcome]
    _close(ours_a, ref_a, ["num_df", "den_df", "f", "p"])


def test_several_visits_need_a_choice():
    data = pd.read_csv(REF / "input_anorexia.csv")
    with pytest.raises(InputError, match="at_visit"):
        cross_sectional(data, group="arm")
    with pytest.raises(InputError, match="week99"):
        cross_sectional(data, group="arm", at_visit="week99")
