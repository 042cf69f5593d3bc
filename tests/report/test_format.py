"""Numbers for people: decimals from each outcome's precision, one p-value style, no '-0.00'."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from skintrial.report._datatable import script_json
from skintrial.report._format import (
    ci,
    effect,
    eta_sq,
    fixed,
    mean_sd,
    name_of,
    outcome_decimals,
    pval,
    table_section,
)


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0.0004, "<0.001"),
        (0.001, "0.001"),
        (0.0466, "0.047"),
        (0.9996, ">0.999"),
        (1.0, ">0.999"),
        (np.nan, "–"),
    ],
)
def test_one_p_value_style(p, text):
    assert pval(p) == text


def test_effects_and_eta_squared():
    assert effect(0.3456) == "0.35" and effect(-0.001) == "0.00" and effect(None) == "–"
    assert eta_sq(0.0000018) == "<0.001" and eta_sq(0.0123) == "0.012"


def test_fixed_decimals_share_one_precision():
    assert mean_sd(0.6963, 0.0626, 3) == "0.696 ± 0.063"  # was "0.696 ± 0.0626"
    assert ci(0.00017, 0.0907, 3) == "0.000 to 0.091"  # was "0.000170 to 0.0907"
    assert fixed(-0.0001, 2) == "0.00" and fixed(-1.5, 1) == "−1.5"


def test_outcome_decimals_follow_the_recorded_precision_and_the_sd():
    rng = np.random.default_rng(0)
    long = pd.concat(
        [
            pd.DataFrame({"outcome": "r2", "visit": "week0", "value": rng.normal(0.7, 0.06, 60).round(3)}),
            pd.DataFrame({"outcome": "mass", "visit": "week0", "value": rng.normal(62, 8, 60).round(1)}),
            pd.DataFrame(
                {"outcome": "count", "visit": "week0", "value": rng.integers(10, 40, 60).astype(float)}
            ),
            pd.DataFrame({"outcome": "computed", "visit": "week0", "value": rng.normal(1.5, 0.2, 60)}),
        ]
    )
    d = outcome_decimals(long, baseline_visit="week0")
    assert d == {"r2": 3, "mass": 1, "count": 1, "computed": 2}


def test_internal_names_have_labels():
    assert name_of("mixed_anova") == "Mixed ANOVA" and name_of("paired_t") == "paired t test"
    assert name_of("welch_t") == "Welch's t test" and name_of("arm:visit") == "Arm × visit"
    assert name_of("some_new_status") == "some new status" and name_of("RT") == "RT"


def test_empty_columns_are_left_out_of_a_table():
    s = table_section("x", "X", ["Outcome", "p", "Status"], [["a", "0.1", ""], ["b", "0.2", ""]])
    assert s["headers"] == ["Outcome", "p"] and s["rows"] == [["a", "0.1"], ["b", "0.2"]]
    kept = table_section("x", "X", ["Outcome", "p", "Status"], [["a", "0.1", ""], ["b", "0.2", "no data"]])
    assert kept["headers"][-1] == "Status"


def test_script_json_cannot_close_its_element():
    text = script_json({"rows": [["</script><script>alert(1)</script>", "<!--", "a & b"]]})
    assert "<" not in text and ">" not in text and "&" not in text
    import json

    assert json.loads(text)["rows"][0][0] == "</script><script>alert(1)</script>"
