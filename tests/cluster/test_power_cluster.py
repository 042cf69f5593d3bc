"""Power simulations on a cluster (issue 16): blocks of trials with their own random streams, so a
seed gives the same tables in this process and on a LocalCluster of 2 workers, to the last bit."""

from __future__ import annotations

import importlib

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


def test_simulated_clda_power_is_identical_in_process_and_on_two_workers(dask_client, monkeypatch):
    cp = importlib.import_module("skintrial.plan.clda_power")  # the package's clda_power is the function

    monkeypatch.setattr(cp, "CLDA_BLOCK_TRIALS", 15)  # 4 blocks
    kw = dict(
        n_per_arm=20,
        sd=1.0,
        correlation=cp.visit_correlation(3, 0.6),
        retention=[1, 0.9, 0.8],
        n_sims=60,
        seed=4,
        df_method="residual",
    )
    here = cp.simulated_clda_power(0.5, **kw)
    assert here == cp.simulated_clda_power(0.5, client=dask_client, **kw)


def test_cli_power_simulate_on_local_2_writes_the_same_tables(tmp_path):
    from typer.testing import CliRunner

    from skintrial.cli import app

    args = ["power", "-e", "AT=0.5", "-e", "RT=0.3", "--sd", "1", "--rho", "0.6", "--n-per-arm", "30"]
    args += ["--n-outcomes", "2", "--outcome-corr", "0.2", "--simulate", "300", "--seed", "3"]
    runs = {}
    for name, extra in (("here", []), ("local2", ["--cluster", "local:2"])):
        (tmp_path / name).mkdir()
        r = CliRunner().invoke(app, [*args, "--out", str(tmp_path / name / "p.csv"), *extra])
        assert r.exit_code == 0, r.output
        runs[name] = r
    assert "cluster: local:2 (2 workers)" in runs["local2"].output
    assert runs["here"].stdout.replace("here", "local2") == runs["local2"].stdout
    for file in ("p.csv", "p_simulated.csv"):
        assert (tmp_path / "here" / file).read_bytes() == (tmp_path / "local2" / file).read_bytes()
    assert len(pd.read_csv(tmp_path / "here" / "p_simulated.csv")) == 4  # 2 outcomes x 2 contrasts


def test_cli_refuses_a_misspelt_cluster_even_without_simulating():
    from typer.testing import CliRunner

    from skintrial.cli import app

    r = CliRunner().invoke(app, ["power", "-e", "AT=0.5", "--sd", "1", "--cluster", "locale"])
    assert r.exit_code == 2 and "--cluster" in r.output


def test_plan_study_simulation_is_identical_on_two_workers(dask_client, tmp_path):
    from skintrial.plan import plan_study, synthetic_study
    from skintrial.study import load_study

    pilot = load_study(synthetic_study(seed=2, n=24, omics=False, training=False).write(tmp_path))
    kw = dict(primary="r2", effects={"AT": 0.03, "RT": 0.04}, n_sims=300, seed=6)
    here = plan_study(pilot, **kw).simulated
    there = plan_study(pilot, client=dask_client, **kw).simulated
    assert here is not None and len(here) > 0
    pd.testing.assert_frame_equal(here, there, check_exact=True)


def test_the_total_work_bound_grows_with_the_workers(dask_client, monkeypatch):
    """One process refuses what two workers may do (10⁷ trials on a 100-worker cluster, docs/scale.md)."""
    import skintrial.plan.simulate as sim
    from skintrial.errors import InputError

    design = design_table(effects={"r2": {"AT": 0.5}}, sd={"r2": 1.0}, rho={"r2": 0.5})
    per_trial = 1 * 40 * (2 + 8) * 8  # one outcome, 2 arms of 20, 2 coefficients
    monkeypatch.setattr(sim, "MAX_TOTAL_BYTES", per_trial * 150)
    kw = dict(n_per_arm=20, n_sims=200, seed=1)
    with pytest.raises(InputError, match="too much work for one process.*--cluster"):
        simulate_power(design, **kw)
    assert simulate_power(design, client=dask_client, **kw).hypotheses["n_sims"].iloc[0] == 200
