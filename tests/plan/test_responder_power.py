"""Responder power and sample size against R power.prop.test (tests/reference/responder_power, base R):
closed forms, 1e-10 relative (R's n from uniroot at tol 1e-12: 1e-8)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from numpy.testing import assert_allclose

from skintrial.errors import InputError
from skintrial.plan.responder_power import responder_power, responder_sample_size, simulated_responder_power

REF = Path(__file__).parents[1] / "reference" / "responder_power" / "power_prop.csv"


def test_power_and_sample_size_against_r():
    ref = pd.read_csv(REF)
    power = [responder_power(r.p0, r.p1, n_per_arm=r.n, alpha=r.alpha) for r in ref.itertuples()]
    assert_allclose(power, ref["power"], rtol=1e-10)
    n = [responder_sample_size(r.p0, r.p1, power=0.8, alpha=r.alpha, exact=True) for r in ref.itertuples()]
    assert_allclose(n, ref["n_for_80"], rtol=1e-8)


def test_sample_size_reaches_the_power():
    n = responder_sample_size(0.2, 0.45)
    assert responder_power(0.2, 0.45, n_per_arm=n) >= 0.8 > responder_power(0.2, 0.45, n_per_arm=n - 1)


def test_simulation_agrees_with_analytic_within_its_error():
    s = simulated_responder_power(0.2, 0.45, n_per_arm=54, n_sims=40_000, seed=3)
    assert abs(s.power - responder_power(0.2, 0.45, n_per_arm=54)) < 4 * s.mc_error + 0.02
    assert s.seed == 3 and s.n_sims == 40_000


def test_bad_inputs_are_refused():
    with pytest.raises(InputError, match="p_control"):
        responder_power(1.2, 0.5, n_per_arm=10)
    with pytest.raises(InputError, match="no effect"):
        responder_sample_size(0.5, 0.5)
