"""``skintrial power --method clda`` through typer's runner: the analytic Lu, Luo & Chen table, the
simulated one through the study's cLDA, and the options it refuses."""

from __future__ import annotations

import pandas as pd
import pytest
from numpy.testing import assert_allclose
from typer.testing import CliRunner

from skintrial.cli import app
from skintrial.plan import clda_power, clda_sample_size, visit_correlation

runner = CliRunner()
CLDA = ["power", "--method", "clda", "-e", "AT=0.5", "--sd", "1", "--rho", "0.6"]


def test_power_at_n_per_arm_is_the_analytic_clda_power(tmp_path):
    out = tmp_path / "p.csv"
    r = runner.invoke(
        app,
        [*CLDA, "--retention", "1,0.9,0.8,0.7", "--retention-control", "1,0.95,0.9,0.85"]
        + ["--correlation", "cs", "--ratio", "2", "--n-per-arm", "30", "--out", str(out)],
    )
    assert r.exit_code == 0, r.output
    t = pd.read_csv(out)
    assert t[["n_enrolled_control", "n_enrolled_arm", "n_enrolled_total"]].iloc[0].tolist() == [30, 60, 90]
    ref = clda_power(
        0.5,
        n_per_arm=30,
        ratio=2,
        sd=1,
        correlation=visit_correlation(4, 0.6, "cs"),
        retention=[1, 0.9, 0.8, 0.7],
        retention_control=[1, 0.95, 0.9, 0.85],
    )
    assert_allclose(t["power"], ref, rtol=1e-12)
    assert_allclose(t["n_analysed_last_visit"], 60 * 0.7 + 30 * 0.85)
    assert not (tmp_path / "p_simulated.csv").exists()


def test_sample_size_with_simulation_agrees_within_monte_carlo_error(tmp_path):
    out = tmp_path / "n.csv"
    r = runner.invoke(
        app,
        [*CLDA, "--retention", "1,0.85,0.75", "--visit-sd", "0.8,1,1.2", "--power", "0.8"]
        + ["--simulate", "400", "--seed", "5", "--out", str(out)],
    )
    assert r.exit_code == 0, r.output
    t = pd.read_csv(out)
    kw = dict(sd=[0.8, 1, 1.2], correlation=visit_correlation(3, 0.6), retention=[1, 0.85, 0.75])
    n = clda_sample_size(0.5, **kw)
    assert t["n_enrolled_control"].iloc[0] == n and t["power"].iloc[0] >= 0.8
    sim = pd.read_csv(tmp_path / "n_simulated.csv")
    assert sim["n_sims"].iloc[0] == 400 and sim["n_failed"].iloc[0] == 0
    assert sim["df_method"].iloc[0] == "kenward_roger" and sim["covariance"].iloc[0] == "us"
    assert abs(sim["power"].iloc[0] - t["power"].iloc[0]) < 3.5 * sim["mcse"].iloc[0]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([*CLDA], "--retention"),
        ([*CLDA, "--retention", "1,0.8,0.9"], "never rising"),
        ([*CLDA, "--retention", "1,x"], "cannot read"),
        ([*CLDA, "--retention", "1,0.8", "--visit-sd", "1,1,1"], "one per visit"),
        ([*CLDA, "--retention", "1,0.8", "--correlation", "un"], "structure"),
        ([*CLDA, "--retention", "1,0.8", "--n-outcomes", "2"], "--n-outcomes"),
        ([*CLDA, "--retention", "1,0.8", "-e", "RT=0.3"], "one treated arm"),
        (["power", "-e", "AT=0.3", "--sd", "1", "--retention", "1,0.8"], "--method clda"),
        (["power", "-e", "AT=0.3", "--sd", "1", "--method", "mmrm"], "unknown method"),
    ],
)
def test_bad_options_exit_2_with_a_message(args, says, tmp_path):
    r = runner.invoke(app, [*args, "--out", str(tmp_path / "x.csv")])
    assert r.exit_code == 2, (r.exit_code, r.output, r.exception)
    assert says in r.output
    assert not (tmp_path / "x.csv").exists()


def test_plan_of_a_clda_study_simulates_its_clda(tmp_path):
    import re

    from skintrial.plan import synthetic_study

    root = synthetic_study(seed=3, n=30, omics=False, training=False, control_arm=True).write(tmp_path / "s")
    toml = root / "study.toml"
    t = re.sub(r"methods = \[[^\]]*\]", 'methods = ["clda"]', toml.read_text())
    toml.write_text(re.sub(r"secondary = \[[^\]]*\]\n", "", t))
    out = tmp_path / "plan"
    args = ["plan", str(root), "--primary", "r2", "-e", "AT=0.03", "-e", "RT=0.03", "--out", str(out)]
    r = runner.invoke(app, [*args, "--simulate", "100", "--retention", "1,0.8"])
    assert r.exit_code == 0, r.output
    sim = pd.read_csv(out / "simulated_power.csv")
    assert set(sim["outcome"]) == {"r2", "dermal_thickness"} and (sim["n_sims"] == 100).all()
    assert "own cLDA (kenward_roger df, us covariance) over the visits" in (out / "plan.html").read_text()
    r = runner.invoke(app, [*args, "--simulate", "10", "--retention", "1,0.8,0.7"])
    assert r.exit_code == 2 and "2 visits" in r.output
