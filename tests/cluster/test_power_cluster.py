"""Power simulations on a cluster (issue 16): blocks of trials with their own random streams, so a
seed gives the same tables in this process and on a LocalCluster of 2 workers, to the last bit."""

from __future__ import annotations

import pandas as pd
import pytest

from skintrial.cluster import InProcess
from skintrial.plan import design_table, simulate_power


def _three_arms():
    return design_table(
        effects={"r2": {"AT": 0.5, "RT": 0.3}, "ue": {"AT": 0.4, "RT": 0.2}},
        sd={"r2": 1.0, "ue": 2.0},
        rho={"r2": 0.6, "ue": 0.4},
    )


def _same(a, b):
    pd.testing.assert_frame_equal(a.hypotheses, b.hypotheses, check_exact=True)
    pd.testing.assert_frame_equal(a.families, b.families, check_exact=True)
    assert a.settings == b.settings


@pytest.mark.parametrize("method", ["ancova", "change"])
def test_simulate_power_is_identical_in_process_and_on_two_workers(dask_client, monkeypatch, method):
    import skintrial.plan.simulate as sim

    monkeypatch.setattr(sim, "BLOCK_TRIALS", 60)  # 7 blocks: both workers get several, out of order
    kw = dict(
        n_per_arm=15,
        families={"primary": ["r2"], "secondary": ["ue"]},
        gatekeeping=True,
        dropout=0.1,
        outcome_corr=0.3,
        method=method,
        n_sims=400,
        seed=12,
    )
    seen: list[int] = []
    here = simulate_power(_three_arms(), **kw)
    there = simulate_power(_three_arms(), client=dask_client, progress=lambda k, n: seen.append(k), **kw)
    _same(here, there)
    _same(here, simulate_power(_three_arms(), client=InProcess(), **kw))
    assert sorted(seen) == seen and seen[-1] == 400 and len(seen) == 7
