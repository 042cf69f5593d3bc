"""describe / within_arm_change against direct pandas / scipy computations on a random long table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats as sps

from skintrial.errors import InputError
from skintrial.stats import describe, within_arm_change
from skintrial.stats._schema import CHANGE_COLUMNS, DESCRIPTIVE_COLUMNS


@pytest.fixture
def long_data() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = []
    for i in range(23):
        a = ["CON", "AT", "RT"][i % 3]
        for k in range(4):
            b = rng.normal(10 + k, 2)
            rows.append((f"p{i:02d}", a, "week0", f"o{k}", b))
            if rng.random() > 0.15:
                rows.append((f"p{i:02d}", a, "week16", f"o{k}", b + rng.normal(0.5, 1)))
    return pd.DataFrame(rows, columns=["participant_id", "arm", "visit", "outcome", "value"])


def test_describe_matches_pandas(long_data):
    out = describe(long_data, arms=["CON", "AT", "RT"], visits=["week0", "week16"])
    assert tuple(out.columns) == DESCRIPTIVE_COLUMNS
    assert len(out) == 4 * 3 * 2
    assert out["arm"].tolist()[:6] == ["CON", "CON", "AT", "AT", "RT", "RT"]
    for r in out.itertuples():
        v = long_data.query("outcome == @r.outcome and arm == @r.arm and visit == @r.visit")["value"]
        assert r.n == len(v)
        assert_allclose(
            [r.mean, r.sd, r.median, r.min, r.max],
            [v.mean(), v.std(ddof=1), v.median(), v.min(), v.max()],
            rtol=1e-12,
        )


def test_within_arm_change_matches_scipy(long_data):
    out = within_arm_change(long_data, baseline_visit="week0", followup_visit="week16", ci_level=0.9)
    assert tuple(out.columns) == CHANGE_COLUMNS
    wide = (
        long_data.pivot_table(index=["participant_id", "arm", "outcome"], columns="visit", values="value")
        .dropna()
        .reset_index()
    )
    for r in out.itertuples():
        w = wide[(wide.arm == r.arm) & (wide.outcome == r.outcome)]
        d = (w["week16"] - w["week0"]).to_numpy()
        lo, hi = sps.t.interval(0.9, len(d) - 1, loc=d.mean(), scale=sps.sem(d))
        assert r.n == len(d)
        assert_allclose(
            [r.mean_change, r.sd_change, r.ci_low, r.ci_high, r.percent_change],
            [d.mean(), d.std(ddof=1), lo, hi, 100 * d.mean() / w["week0"].mean()],
            rtol=1e-10,
        )


def test_within_arm_change_small_arms():
    d = pd.DataFrame(
        {
            "participant_id": ["a", "a", "b"],
            "arm": ["X", "X", "Y"],
            "visit": ["v0", "v1", "v0"],
            "outcome": "o",
            "value": [1.0, 2.0, 3.0],
        }
    )
    out = within_arm_change(d, baseline_visit="v0", followup_visit="v1").set_index("arm")
    assert (
        out.loc["X", "n"] == 1 and out.loc["X", "mean_change"] == 1.0 and np.isnan(out.loc["X", "sd_change"])
    )
    assert out.loc["Y", "n"] == 0 and np.isnan(out.loc["Y", "mean_change"])


def test_bad_visit_and_duplicates(long_data):
    with pytest.raises(InputError, match="week99"):
        within_arm_change(long_data, baseline_visit="week0", followup_visit="week99")
    with pytest.raises(InputError, match="more than one value"):
        describe(pd.concat([long_data, long_data.iloc[:1]]))
