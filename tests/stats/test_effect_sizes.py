"""Effect sizes recomputed by hand from the raw anorexia data (MASS::anorexia).

Hedges' g of an ANCOVA contrast: adjusted difference / pooled baseline SD of the two arms, times
J = 1 - 3 / (4 (n1 + n2) - 9). Cross-sectional: the pooled SD of the outcome itself. Partial eta
squared of the arm term: SS_arm / (SS_arm + SS_residual), SS_arm = RSS(no arm) - RSS(full), from
numpy least squares. Tolerance 1e-10 relative.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from numpy.testing import assert_allclose

from skintrial.stats import ancova, cross_sectional
from skintrial.stats._schema import HEDGES_G, HEDGES_G_CROSS_SECTIONAL

DATA = pd.read_csv(Path(__file__).resolve().parents[1] / "reference" / "stats" / "input_anorexia.csv")
WIDE = DATA.pivot(index=["participant_id", "arm"], columns="visit", values="value").reset_index()


def _pooled_sd(x: np.ndarray, y: np.ndarray) -> float:
    return float(
        np.sqrt(((len(x) - 1) * x.var(ddof=1) + (len(y) - 1) * y.var(ddof=1)) / (len(x) + len(y) - 2))
    )


def _hedges(est: float, x: np.ndarray, y: np.ndarray) -> float:
    return (1 - 3 / (4 * (len(x) + len(y)) - 9)) * est / _pooled_sd(x, y)


def _rss(D: np.ndarray, y: np.ndarray) -> float:
    beta, *_ = np.linalg.lstsq(D, y, rcond=None)
    return float(np.sum((y - D @ beta) ** 2))


def test_ancova_hedges_g_and_partial_eta_squared():
    res = ancova(DATA, baseline_visit="pre", followup_visit="post", reference_arm="Cont")
    c = res.contrasts.set_index("contrast")
    for arm in ["CBT", "FT"]:
        row = c.loc[f"{arm} - Cont"]
        expect = _hedges(
            row.estimate,
            WIDE.loc[WIDE.arm == arm, "pre"].to_numpy(),
            WIDE.loc[WIDE.arm == "Cont", "pre"].to_numpy(),
        )
        assert_allclose(row.effect_size, expect, rtol=1e-10)
        assert row.effect_size_formula == HEDGES_G
    one = np.ones(len(WIDE))
    dummies = np.column_stack([WIDE.arm == "CBT", WIDE.arm == "FT"]).astype(float)
    full = _rss(np.column_stack([one, WIDE.pre, dummies]), WIDE.post.to_numpy())
    reduced = _rss(np.column_stack([one, WIDE.pre]), WIDE.post.to_numpy())
    pes = (reduced - full) / ((reduced - full) + full)
    assert_allclose(res.tests["partial_eta_sq"], [pes, pes], rtol=1e-10)


def test_cross_sectional_hedges_g():
    res = cross_sectional(DATA, group="arm", at_visit="post", reference_group="Cont")
    row = res.contrasts.set_index("contrast").loc["FT - Cont"]
    expect = _hedges(
        row.estimate,
        WIDE.loc[WIDE.arm == "FT", "post"].to_numpy(),
        WIDE.loc[WIDE.arm == "Cont", "post"].to_numpy(),
    )
    assert_allclose(row.effect_size, expect, rtol=1e-10)
    assert row.effect_size_formula == HEDGES_G_CROSS_SECTIONAL


def _ss(x: np.ndarray) -> float:
    return float(np.sum((x - x.mean()) ** 2))


def _hedges_ss(est: float, x: np.ndarray, y: np.ndarray) -> float:
    """Pooled SD from the pooled within-arm sums of squares (an arm of one adds n, no spread)."""
    return (1 - 3 / (4 * (len(x) + len(y)) - 9)) * est / np.sqrt((_ss(x) + _ss(y)) / (len(x) + len(y) - 2))


ONE_FT = WIDE.loc[WIDE.arm == "FT", "participant_id"].iloc[0]


def test_hedges_g_with_an_arm_of_one_completer():
    """FT keeps one completer: its contrast is estimated, and so is its effect size (it used to be NaN)."""
    keep = (DATA.arm != "FT") | (DATA.participant_id == ONE_FT) | (DATA.visit == "pre")
    res = ancova(DATA[keep], baseline_visit="pre", followup_visit="post", reference_arm="Cont")
    row = res.contrasts.set_index("contrast").loc["FT - Cont"]
    assert row.status == "ok" and row.n == 1 + (WIDE.arm == "Cont").sum()
    expect = _hedges_ss(
        row.estimate,
        WIDE.loc[WIDE.participant_id == ONE_FT, "pre"].to_numpy(),
        WIDE.loc[WIDE.arm == "Cont", "pre"].to_numpy(),
    )
    assert np.isfinite(expect)
    assert_allclose(row.effect_size, expect, rtol=1e-10)


def test_cross_sectional_hedges_g_with_a_group_of_one():
    keep = (DATA.arm != "FT") | (DATA.participant_id == ONE_FT)
    res = cross_sectional(DATA[keep], group="arm", at_visit="post", reference_group="Cont")
    row = res.contrasts.set_index("contrast").loc["FT - Cont"]
    expect = _hedges_ss(
        row.estimate,
        WIDE.loc[WIDE.participant_id == ONE_FT, "post"].to_numpy(),
        WIDE.loc[WIDE.arm == "Cont", "post"].to_numpy(),
    )
    assert row.status == "ok"
    assert_allclose(row.effect_size, expect, rtol=1e-10)


def test_clda_hedges_g_with_an_arm_of_one_participant():
    from skintrial.stats import clda

    keep = (DATA.arm != "FT") | (DATA.participant_id == ONE_FT)
    res = clda(DATA[keep], baseline_visit="pre", visits=["pre", "post"], reference_arm="Cont").contrasts
    row = res.set_index("contrast").loc["FT - Cont"]
    expect = _hedges_ss(
        row.estimate,
        WIDE.loc[WIDE.participant_id == ONE_FT, "pre"].to_numpy(),
        WIDE.loc[WIDE.arm == "Cont", "pre"].to_numpy(),
    )
    assert row.status == "ok"
    assert_allclose(row.effect_size, expect, rtol=1e-10)


def test_hedges_g_pooling_equals_the_variance_formula_with_two_or_more_per_arm():
    x, y = WIDE.loc[WIDE.arm == "FT", "pre"].to_numpy(), WIDE.loc[WIDE.arm == "Cont", "pre"].to_numpy()
    assert_allclose(_hedges_ss(1.0, x, y), _hedges(1.0, x, y), rtol=1e-12)


def test_hedges_g_needs_more_than_three_participants_in_the_two_arms():
    from skintrial.stats._effect_size import hedges_g

    g = hedges_g(
        np.array([1.0, 1.0, 1.0]),
        np.array([1.0, 2.0, 2.0]),
        np.array([0.0, 2.0, 2.0]),
        np.array([1.0, 1.0, 2.0]),
        np.array([0.0, 0.0, 2.0]),
    )
    assert np.isnan(g[:2]).all()  # n1 + n2 = 2 (no spread) and 3 (J = 0)
    assert_allclose(g[2], (1 - 3 / 7) / np.sqrt(2.0), rtol=1e-12)  # SS 4 over 2 df: SD sqrt(2); J = 4/7
