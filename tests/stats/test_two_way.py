"""Two-way ANOVA group × by and simple effects against R ``lm`` + ``car::Anova`` + ``emmeans``
(``tests/reference/designs/make_designs.R``; carData::Moore with and without a covariate, ToothGrowth,
warpbreaks).

Tolerance: 1e-10 relative (closed forms; p-values also 1e-15 absolute).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from skintrial.stats import two_way_anova
from skintrial.stats._schema import SIMPLE_EFFECTS_COLUMNS, TWO_WAY_ANOVA_COLUMNS, TWO_WAY_MEANS_COLUMNS

REF = Path(__file__).resolve().parents[1] / "reference" / "designs"
CASES = pd.read_csv(REF / "two_way_cases.csv", keep_default_na=False)
ANOVA = pd.read_csv(REF / "two_way_anova.csv")
CELLS = pd.read_csv(REF / "two_way_cells.csv", keep_default_na=False)
SIMPLE = pd.read_csv(REF / "two_way_simple.csv", keep_default_na=False)
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


def _run(case, data=None):
    data = pd.read_csv(REF / f"two_way_input_{case.input}.csv") if data is None else data
    return two_way_anova(
        data,
        group=case.group,
        by=case.by,
        groups=case.groups.split(";"),
        by_levels=case.by_levels.split(";"),
        reference_group=case.reference_group or None,
        covariates=case.covariates.split(";") if case.covariates else [],
    )


@pytest.mark.parametrize("case", list(CASES.itertuples()), ids=CASES["case"].tolist())
def test_matches_r(case):
    res = _run(case)
    assert tuple(res.tests.columns) == TWO_WAY_ANOVA_COLUMNS
    assert tuple(res.contrasts.columns) == SIMPLE_EFFECTS_COLUMNS
    assert tuple(res.estimates.columns) == TWO_WAY_MEANS_COLUMNS
    ref = ANOVA[ANOVA.case == case.case]
    ours = res.tests.set_index(["term", "type"]).loc[list(zip(ref.term, ref.type, strict=True))]
    _close(ours, ref, ["num_df", "den_df", "f", "p"])
    pes = ref.ss / (ref.ss + ref.ss_resid)  # partial eta squared from R's sums of squares
    assert_allclose(ours["partial_eta_sq"].to_numpy(float), pes.to_numpy(), rtol=RTOL)
    assert (ours["n"].to_numpy() == ref.n.to_numpy()).all() and (ours["status"] == "ok").all()
    ref_c = CELLS[CELLS.case == case.case]
    ours_c = res.estimates.set_index(["group", "by_level"]).loc[
        list(zip(ref_c.group, ref_c.level, strict=True))
    ]
    _close(ours_c, ref_c, ["emmean", "se", "df", "ci_low", "ci_high"])
    ref_s = SIMPLE[SIMPLE.case == case.case]
    ours_s = res.contrasts.set_index(["by_level", "contrast"]).loc[
        list(zip(ref_s.level, ref_s.contrast, strict=True))
    ]
    _close(ours_s, ref_s, ["estimate", "se", "df", "t", "p", "ci_low", "ci_high"])


def test_row_order_does_not_matter():
    case = next(CASES.itertuples())
    data = pd.read_csv(REF / f"two_way_input_{case.input}.csv")
    a = _run(case, data).tests
    b = _run(case, data.sample(frac=1.0, random_state=3)).tests
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)


def test_empty_cell_is_a_status_not_a_crash():
    case = CASES[CASES.case == "warp"].iloc[0]
    data = pd.read_csv(REF / "two_way_input_warp.csv")
    data = data[~((data.tension == "H") & (data.wool == "B"))]
    res = _run(case, data)
    assert (res.tests["status"] == "empty_cell").all() and res.tests["f"].isna().all()
    assert (res.contrasts["status"] == "empty_cell").all()


def test_several_outcomes_at_once_equal_one_at_a_time():
    case = CASES[CASES.case == "moore_fscore"].iloc[0]
    data = pd.read_csv(REF / "two_way_input_moore.csv")
    rng = np.random.default_rng(0)
    other = data.assign(outcome="other", value=data["value"] * 2 + rng.normal(0, 1, len(data)))
    other = other.iloc[3:]  # missing values for some participants
    both = _run(case, pd.concat([data, other], ignore_index=True)).tests
    alone = _run(case, other).tests
    pd.testing.assert_frame_equal(
        both[both.outcome == "other"].reset_index(drop=True), alone, check_exact=False, rtol=1e-10
    )
