"""The shared data layer (``stats._data``): participant-level columns must agree on every row.

Every trial analysis reads the arm and the covariates once per participant. Conflicting values on
one participant's rows used to be resolved by taking the first row, so the result changed with the
row order; now each analysis refuses them with an InputError that names the participant, the column
and both values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from skintrial.errors import InputError
from skintrial.stats import ancova, clda, cross_sectional, mixed_anova, within_arm_change
from skintrial.stats._data import _factorize, check_subject_constant, default_visit_order, trial_arrays


def _trial() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(12):
        a = "AB"[i % 2]
        for o in ("y", "z"):
            b = rng.normal(10, 1)
            rows += [
                (f"p{i}", a, "w0", o, b, 50 + i),
                (f"p{i}", a, "w16", o, b + rng.normal() + (a == "B"), 50 + i),
            ]
    return pd.DataFrame(rows, columns=["participant_id", "arm", "visit", "outcome", "value", "age"])


def _row(d: pd.DataFrame, pid: str, visit: str, outcome: str) -> int:
    return int(np.flatnonzero((d.participant_id == pid) & (d.visit == visit) & (d.outcome == outcome))[0])


ANALYSES = {
    "ancova": lambda d: ancova(
        d, baseline_visit="w0", followup_visit="w16", reference_arm="A", covariates=["age"]
    ),
    "mixed_anova": lambda d: mixed_anova(d, visits=["w0", "w16"]),
    "within_arm_change": lambda d: within_arm_change(d, baseline_visit="w0", followup_visit="w16"),
    "cross_sectional": lambda d: cross_sectional(d, group="arm", at_visit="w16", covariates=["age"]),
    "clda": lambda d: clda(d, baseline_visit="w0", reference_arm="A", covariates=["age"]),
}


@pytest.mark.parametrize("name", list(ANALYSES))
def test_conflicting_arm_is_an_input_error_naming_participant_column_and_values(name):
    d = _trial()
    d.loc[_row(d, "p1", "w16", "z"), "arm"] = "A"  # p1 is in arm B on its other rows
    with pytest.raises(InputError) as err:
        ANALYSES[name](d)
    (problem,) = err.value.problems
    assert problem.column == "arm" and problem.fix
    assert "participant 'p1' has 'B' and 'A'" in str(err.value)


@pytest.mark.parametrize("name", ["ancova", "cross_sectional", "clda"])
def test_conflicting_covariate_is_an_input_error(name):
    d = _trial()
    d.loc[_row(d, "p1", "w16", "z"), "age"] = 99  # p1 is 51 on its other rows
    with pytest.raises(InputError, match="participant 'p1' has 51 and 99") as err:
        ANALYSES[name](d)
    assert err.value.problems[0].column == "age"


def test_every_conflicting_column_is_reported_at_once_with_counts():
    d = _trial()
    d.loc[[_row(d, "p0", "w16", "y"), _row(d, "p1", "w16", "y")], "arm"] = ["B", "A"]  # two participants
    d.loc[_row(d, "p1", "w0", "z"), "age"] = 99
    with pytest.raises(InputError) as err:
        trial_arrays(d, covariates=["age"])
    arm, age = err.value.problems
    assert arm.column == "arm" and "(2 participants in all)" in arm.message and arm.rows_affected == 8
    assert age.column == "age" and "participant 'p1' has 51 and 99" in age.message


def test_missing_next_to_a_value_is_a_conflict_and_text_equal_values_agree():
    d = _trial()
    d.loc[0, "age"] = np.nan
    with pytest.raises(InputError, match="participant 'p0' has nan and 50"):
        check_subject_constant(d, ["age"])
    d = _trial().astype({"age": object})
    d.loc[0, "age"] = "50"  # the same value written as text
    check_subject_constant(d, ["age"])


def test_consistent_data_gives_results_independent_of_row_order():
    d = _trial()
    a = ANALYSES["ancova"](d).contrasts
    b = ANALYSES["ancova"](d.iloc[::-1]).contrasts
    np.testing.assert_allclose(a["estimate"], b["estimate"], rtol=1e-12)


def test_cross_sectional_reads_group_and_covariates_at_the_analysed_visit_only():
    d = _trial()
    d.loc[d.visit == "w0", "age"] -= 1  # age at each visit: consistent within the analysed visit
    res = ANALYSES["cross_sectional"](d)
    assert (res.contrasts["status"] == "ok").all()


def test_default_visit_order_is_never_text_order():
    """Without a visits argument, visits keep their natural order: 'week8' before 'week16'."""
    d = _trial()
    d["visit"] = d["visit"].map({"w0": "week0", "w16": "week16"})
    mid = d[d["visit"] == "week0"].assign(visit="week8")
    d = pd.concat([d[d["visit"] == "week0"], mid, d[d["visit"] == "week16"]], ignore_index=True)
    assert sorted(["week0", "week8", "week16"]) == ["week0", "week16", "week8"]  # what text order would give
    assert trial_arrays(d).visits == ("week0", "week8", "week16")
    assert default_visit_order(pd.Series([16, 0, 8])) == ["0", "8", "16"]
    cat = pd.Series(pd.Categorical(["b", "a"], categories=["b", "a", "unused"], ordered=True))
    assert default_visit_order(cat) == ["b", "a"]
    # a numeric visit named by its number reaches the same slice as its text
    num = _trial()
    num["visit"] = num["visit"].map({"w0": 0, "w16": 16})
    ta = trial_arrays(num)
    np.testing.assert_array_equal(ta.visit(16), ta.visit("16"))


@pytest.mark.parametrize(
    "values",
    [
        ["o1"] * 1500 + ["o2"] * 1500 + ["o1"] * 10,  # runs: factorised at their first rows
        [f"v{i % 3}" for i in range(3000)],  # changes every row: factorised whole
        [1, 1.0, "1", None, None, np.nan, np.nan, "a", "a", "b"] * 300,
        ["x"] * 800 + [np.nan] * 700 + ["y"] * 900 + [None] * 5,
        [pd.NA] * 3 + ["a"] * 2000,  # pd.NA has no boolean comparison: factorised whole
        [np.nan] * 10,
    ],
)
def test_factorize_by_runs_gives_pandas_codes(values):
    col = pd.Series(values, dtype=object)
    codes, uniques = _factorize(col)
    ref_codes, ref_uniques = pd.factorize(col)
    np.testing.assert_array_equal(codes, ref_codes)
    assert [str(u) for u in uniques] == [str(u) for u in ref_uniques]
