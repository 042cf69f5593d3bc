"""One visit order for every analysis, whatever the order of the rows (``stats._data.default_visit_order``).

Without a ``visits`` argument: category order for a categorical column, numeric order for numbers, natural
order for text (numbers inside a label compared as numbers). It used to be the order of first appearance,
so a table sorted by participant and visit (where first appearance is text order) put week16 before week8,
and ``describe`` sorted visits as text. A missing visit used to become a visit called 'nan'.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from skintrial.errors import InputError
from skintrial.stats import ancova, clda, cross_sectional, describe, mixed_anova, within_arm_change
from skintrial.stats._data import default_visit_order, trial_arrays

VISITS = ["week0", "week8", "week16"]


def _trial(visits=VISITS) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = []
    for i in range(18):
        a = "AB"[i % 2]
        base = rng.normal(10, 1)
        for k, v in enumerate(visits):
            rows.append((f"p{i:02d}", a, v, "y", base + k * (0.5 + (a == "B")) + rng.normal(0, 0.5)))
    return pd.DataFrame(rows, columns=["participant_id", "arm", "visit", "outcome", "value"])


def _orders(d: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {
        "sorted by participant and visit": d.sort_values(["participant_id", "visit"]).reset_index(drop=True),
        "shuffled": d.sample(frac=1.0, random_state=7).reset_index(drop=True),
        "as made": d,
    }


@pytest.mark.parametrize("rows", ["sorted by participant and visit", "shuffled", "as made"])
def test_default_order_is_natural_whatever_the_row_order(rows):
    d = _orders(_trial())[rows]
    assert default_visit_order(d["visit"]) == VISITS
    assert trial_arrays(d).visits == tuple(VISITS)
    desc = describe(d)
    assert list(dict.fromkeys(desc["visit"])) == VISITS
    res = clda(d, baseline_visit="week0", reference_arm="A").contrasts
    assert res["visit"].tolist() == ["week8", "week16"]
    with pytest.raises(InputError, match=r"\['week0', 'week8', 'week16'\]"):  # the visits it offers, in order
        mixed_anova(d, visits=["week0", "week12"])


def test_results_are_the_same_on_sorted_and_shuffled_rows():
    a, b = (_orders(_trial())[k] for k in ("sorted by participant and visit", "shuffled"))
    pd.testing.assert_frame_equal(describe(a), describe(b))
    pd.testing.assert_frame_equal(
        clda(a, baseline_visit="week0", reference_arm="A").contrasts,
        clda(b, baseline_visit="week0", reference_arm="A").contrasts,
        rtol=1e-9,
    )
    pd.testing.assert_frame_equal(mixed_anova(a).tests, mixed_anova(b).tests, rtol=1e-9)


def test_natural_order_compares_numbers_inside_labels_as_numbers():
    col = pd.Series(["visit10", "visit2", "baseline", "visit1", "visit10"])
    assert default_visit_order(col) == ["baseline", "visit1", "visit2", "visit10"]
    assert default_visit_order(pd.Series([16, 0, 8])) == ["0", "8", "16"]
    cat = pd.Series(pd.Categorical(["week16", "week0"], categories=["week16", "week0"]))
    assert default_visit_order(cat) == ["week16", "week0"]  # category order is the caller's declared order


def test_a_declared_order_is_kept():
    d = _orders(_trial())["shuffled"]
    assert describe(d, visits=["week16", "week0"])["visit"].drop_duplicates().tolist() == [
        "week16",
        "week0",
        "week8",
    ]
    res = clda(d, baseline_visit="week0", visits=["week0", "week16", "week8"], reference_arm="A").contrasts
    assert res["visit"].tolist() == ["week16", "week8"]


def _with_missing_visit() -> pd.DataFrame:
    d = _trial()
    d["visit"] = d["visit"].astype(object)
    d.loc[[4, 10], "visit"] = np.nan
    return d


ANALYSES = {
    "default_visit_order": lambda d: default_visit_order(d["visit"]),
    "trial_arrays": lambda d: trial_arrays(d),
    "trial_arrays_declared": lambda d: trial_arrays(d, visits=VISITS),
    "describe": lambda d: describe(d),
    "ancova": lambda d: ancova(d, baseline_visit="week0", followup_visit="week16"),
    "clda": lambda d: clda(d, baseline_visit="week0"),
    "mixed_anova": lambda d: mixed_anova(d),
    "within_arm_change": lambda d: within_arm_change(d, baseline_visit="week0", followup_visit="week16"),
    "cross_sectional": lambda d: cross_sectional(d, group="arm", at_visit="week0"),
}


@pytest.mark.parametrize("name", list(ANALYSES))
def test_a_missing_visit_is_refused_naming_column_and_rows(name):
    with pytest.raises(InputError, match=r"visit is missing \(rows 6, 12\)") as err:
        ANALYSES[name](_with_missing_visit())
    (problem,) = err.value.problems
    assert problem.column == "visit" and problem.row == 6 and problem.rows_affected == 2
    assert "nan" not in str(err.value)


def test_a_visit_written_nan_is_a_name_not_a_missing_value():
    d = _trial().replace({"visit": {"week8": "nan"}})
    assert default_visit_order(d["visit"]) == ["nan", "week0", "week16"]
