"""power, plan and randomize through typer's runner: outputs, exit codes, nothing half-written."""

from __future__ import annotations

import pandas as pd
import pytest
from numpy.testing import assert_allclose
from typer.testing import CliRunner

from skintrial.cli import app
from skintrial.plan.power import ancova_power

runner = CliRunner()


def test_power_analytic_and_gpower_line(tmp_path):
    out = tmp_path / "p.csv"
    r = runner.invoke(
        app,
        [
            "power",
            "-e",
            "AT=0.5",
            "-e",
            "RT=0.5",
            "--sd",
            "1",
            "--rho",
            "0.6",
            "--n-per-arm",
            "40",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "G*Power" in r.output and "number of covariates = 1" in r.output
    t = pd.read_csv(out)
    ref = ancova_power(effects={"AT": 0.5, "RT": 0.5}, sd=1.0, rho=0.6, n_per_arm=40)
    assert_allclose(t["power"], ref["power"], rtol=1e-12)


def test_power_sample_size_with_simulation(tmp_path):
    out = tmp_path / "n.csv"
    r = runner.invoke(
        app,
        [
            "power",
            "-e",
            "AT=0.6",
            "--sd",
            "1",
            "--rho",
            "0.5",
            "--power",
            "0.9",
            "--simulate",
            "400",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    t = pd.read_csv(out)
    assert t["power"].iloc[0] >= 0.9
    sim = pd.read_csv(tmp_path / "n_simulated.csv")
    assert (
        sim["n_sims"].iloc[0] == 400
        and abs(sim["power"].iloc[0] - t["power"].iloc[0]) < 5 * sim["mcse"].iloc[0]
    )


def test_power_bad_input_exit_2_and_nothing_written(tmp_path):
    out = tmp_path / "x.csv"
    r = runner.invoke(app, ["power", "-e", "AT=0.5", "--sd", "-1", "--out", str(out)])
    assert r.exit_code == 2
    assert "sd" in r.output and not out.exists()


def test_plan_from_a_pilot_bundle(small_bundle, tmp_path):
    out = tmp_path / "plan"
    r = runner.invoke(
        app,
        [
            "plan",
            str(small_bundle),
            "--primary",
            "r2",
            "--out",
            str(out),
            "--effect",
            "AT=0.03",
            "--effect",
            "RT=0.04",
            "--simulate",
            "200",
        ],
    )
    assert r.exit_code == 0, r.output
    for name in (
        "plan.csv",
        "power_curve.csv",
        "pilot_outcomes.csv",
        "pilot_changes.csv",
        "simulated_power.csv",
        "power_curve.svg",
        "power_curve.png",
        "plan.html",
    ):
        assert (out / name).is_file(), name
    plan = pd.read_csv(out / "plan.csv")
    assert set(plan["scenario"]) == {"pilot", "conservative"}
    assert_allclose(plan.loc[plan.arm == "AT", "effect"], 0.03)
    html = (out / "plan.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html and "http" not in html
    assert (out / "power_curve.png").read_bytes()[:4] == b"\x89PNG"


def test_plan_unknown_outcome_exit_2(small_bundle, tmp_path):
    out = tmp_path / "plan"
    r = runner.invoke(app, ["plan", str(small_bundle), "--primary", "wrinkles", "--out", str(out)])
    assert r.exit_code == 2 and "wrinkles" in r.output
    assert not out.exists()


def test_randomize_participants_with_strata(small_bundle, tmp_path):
    out = tmp_path / "alloc" / "list.csv"
    r = runner.invoke(
        app,
        [
            "randomize",
            "--arms",
            "CON,AT,RT",
            "--seed",
            "17",
            "--participants",
            str(small_bundle / "participants.csv"),
            "--strata",
            "age_group",
            "--block-sizes",
            "3,6",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    lst = pd.read_csv(out)
    assert (lst["seed"] == 17).all() and lst["participant_id"].notna().all()
    assert lst["stratum"].str.startswith("age_group=").all()
    bal = pd.read_csv(tmp_path / "alloc" / "list_balance.csv")
    assert set(bal["factor"]) == {"overall", "stratum", "age_group"}
    again = tmp_path / "again.csv"
    runner.invoke(
        app,
        [
            "randomize",
            "--arms",
            "CON,AT,RT",
            "--seed",
            "17",
            "--participants",
            str(small_bundle / "participants.csv"),
            "--strata",
            "age_group",
            "--block-sizes",
            "3,6",
            "--out",
            str(again),
        ],
    )
    assert pd.read_csv(again).equals(lst)


def test_randomize_declared_strata_and_errors(tmp_path):
    out = tmp_path / "l.csv"
    r = runner.invoke(
        app,
        [
            "randomize",
            "--arms",
            "A,B",
            "--seed",
            "1",
            "--level",
            "site=x,y",
            "--level",
            "sex=F,M",
            "--n-per-stratum",
            "8",
            "--ratios",
            "1,1",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    assert pd.read_csv(out)["stratum"].nunique() == 4
    r = runner.invoke(
        app,
        [
            "randomize",
            "--arms",
            "A,B",
            "--seed",
            "1",
            "--n-per-stratum",
            "8",
            "--block-sizes",
            "3",
            "--out",
            str(tmp_path / "bad.csv"),
        ],
    )
    assert r.exit_code == 2 and "multiples" in r.output
    assert not (tmp_path / "bad.csv").exists()


def test_plan_with_a_control_arm_in_the_pilot(tmp_path):
    from skintrial.plan import synthetic_study
    from skintrial.plan.pilot import pilot_estimates
    from skintrial.study import load_study

    bundle = synthetic_study(seed=5, n=45, control_arm=True, omics=False).write(tmp_path / "study")
    out = tmp_path / "plan"
    r = runner.invoke(
        app, ["plan", str(bundle), "--primary", "r2", "--out", str(out), "--control-change", "0.5"]
    )
    assert r.exit_code == 0, r.output
    st = load_study(bundle)
    ch = pilot_estimates(st.long(), baseline_visit="week0").changes.query("outcome == 'r2'").set_index("arm")
    plan = pd.read_csv(out / "plan.csv").query("scenario == 'pilot'").set_index("arm")
    assert_allclose(
        plan["effect"],
        ch.loc[["AT", "RT"], "mean_change"].to_numpy() - ch.loc["CON", "mean_change"],
        rtol=1e-9,
    )
    assert "own CON mean change" in (out / "plan.html").read_text()


def test_power_simulation_uses_n_outcomes(tmp_path):
    """Analytic (Bonferroni, exact) and simulated power answer the same question: 2 outcomes x 2 contrasts."""
    out = tmp_path / "p.csv"
    r = runner.invoke(
        app,
        [
            "power",
            "-e",
            "AT=0.5",
            "-e",
            "RT=0.5",
            "--sd",
            "1",
            "--rho",
            "0.6",
            "--n-per-arm",
            "40",
            "--n-outcomes",
            "2",
            "--multiplicity",
            "bonferroni",
            "--simulate",
            "3000",
            "--seed",
            "3",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    t = pd.read_csv(out)
    sim = pd.read_csv(tmp_path / "p_simulated.csv")
    assert len(sim) == 4 and sim["outcome"].nunique() == 2
    assert (t["n_hypotheses"] == 4).all()
    assert (abs(sim["power"] - t["power"].iloc[0]) < 4 * sim["mcse"]).all(), (sim["power"], t["power"])
    assert "independent" in r.output  # the outcome correlation simulated is stated


def _bundle_with_analysis(tmp_path, analysis: str):
    from skintrial.plan import synthetic_study

    s = synthetic_study(seed=11, n=30, omics=False)
    root = s.write(tmp_path / "study")
    toml = (root / "study.toml").read_text()
    head, _, rest = toml.partition("[analysis]")
    tail = rest[rest.index("\n[") :] if "\n[" in rest else ""
    (root / "study.toml").write_text(head + "[analysis]\n" + analysis + tail)
    return root


def test_plan_simulation_runs_the_studys_own_analysis(tmp_path):
    root = _bundle_with_analysis(
        tmp_path,
        'primary = ["r2", "dermal_thickness"]\nsecondary = ["r5"]\n'
        'methods = ["ancova"]\nalpha = 0.05\nmultiplicity = "bonferroni"\n',
    )
    out = tmp_path / "plan"
    r = runner.invoke(
        app,
        [
            "plan",
            str(root),
            "--primary",
            "r2",
            "--out",
            str(out),
            "--effect",
            "AT=0.03",
            "--effect",
            "RT=0.04",
            "--simulate",
            "300",
        ],
    )
    assert r.exit_code == 0, r.output
    sim = pd.read_csv(out / "simulated_power.csv")
    assert set(sim["outcome"]) == {"r2", "dermal_thickness", "r5"}
    assert set(sim.loc[sim.outcome == "r5", "family"]) == {"secondary"}
    plan = pd.read_csv(out / "plan.csv")
    # the analytic plan uses the same family: 2 primary outcomes x 2 contrasts, bonferroni from study.toml
    assert (plan["n_hypotheses"] == 4).all() and (plan["multiplicity"] == "bonferroni").all()
    assert_allclose(plan["alpha_test"], 0.0125)
    r2 = sim[sim.outcome == "r2"].set_index("contrast")
    assert_allclose(r2.loc["AT - CON", "effect"], 0.03)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["power", "-e", "CON=0.3", "--sd", "1"], "control arm"),
        (["power", "-e", "AT=0.3", "--sd", "1", "--n-per-arm", "1"], "--n-per-arm"),
        (["power", "-e", "AT=0.3", "--sd", "1", "--n-per-arm", "0"], "--n-per-arm"),
        (["power", "-e", "AT=0.3", "--sd", "1", "--n-per-arm", "4", "--dropout", "0.6"], "n_per_arm"),
        (["power", "-e", "AT=0.3", "-e", "AT=0.4", "--sd", "1"], "more than once"),
        (["power", "-e", "0.4", "--sd", "1"], "ARM=NUMBER"),
        (["power", "-e", "AT=0.3", "--sd", "1", "--simulate", "-5"], "--simulate"),
        (["power", "-e", "AT=0.3", "--sd", "1", "--seed", "-2", "--simulate", "10"], "--seed"),
        (["randomize", "--arms", "A,B", "--seed", "-1", "--n-per-stratum", "4"], "seed"),
    ],
)
def test_bad_options_exit_2_with_a_message(args, says, tmp_path):
    r = runner.invoke(app, [*args, "--out", str(tmp_path / "x.csv")])
    assert r.exit_code == 2, (r.exit_code, r.output, r.exception)
    assert isinstance(r.exception, SystemExit)
    assert says in r.output
    assert not (tmp_path / "x.csv").exists()


def test_plan_effect_for_an_arm_not_planned_exit_2(small_bundle, tmp_path):
    out = tmp_path / "plan"
    r = runner.invoke(app, ["plan", str(small_bundle), "--primary", "r2", "--out", str(out), "-e", "ZZ=0.1"])
    assert r.exit_code == 2 and "ZZ" in r.output
    for bad in (["--simulate", "-3"], ["--n-max", "0"]):
        r = runner.invoke(app, ["plan", str(small_bundle), "--primary", "r2", "--out", str(out), *bad])
        assert r.exit_code == 2 and bad[0] in r.output, r.output
    assert not out.exists()


def test_randomize_participants_file_without_ids_names_that_file(tmp_path):
    f = tmp_path / "enrolled.csv"
    f.write_text("id,age_group\n1,41-49\n2,50-59\n")
    r = runner.invoke(
        app,
        [
            "randomize",
            "--arms",
            "A,B",
            "--seed",
            "1",
            "--participants",
            str(f),
            "--strata",
            "age_group",
            "--out",
            str(tmp_path / "l.csv"),
        ],
    )
    assert r.exit_code == 2
    assert "enrolled.csv" in r.output and "participant_id" in r.output and "participants.csv" not in r.output


def test_power_says_holm_is_a_lower_bound_and_gpower_note_follows_the_analysis(tmp_path):
    out = tmp_path / "p.csv"
    r = runner.invoke(
        app, ["power", "-e", "AT=0.5", "-e", "RT=0.5", "--sd", "1", "--n-per-arm", "30", "--out", str(out)]
    )
    assert r.exit_code == 0 and "lower bound" in r.output
    assert (pd.read_csv(out)["power_bound"] == "lower_bound").all()
    r = runner.invoke(
        app,
        [
            "power",
            "-e",
            "AT=0.5",
            "--sd",
            "1",
            "--n-per-arm",
            "30",
            "--multiplicity",
            "bonferroni",
            "--analysis",
            "change",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0 and "lower bound" not in r.output
    assert (pd.read_csv(out)["power_bound"] == "as_tested").all()
    assert "covariate as fixed" not in r.output and "change scores" in r.output
    assert "number of covariates = 0" in r.output


def test_plan_html_says_holm_power_is_a_lower_bound(small_bundle, tmp_path):
    out = tmp_path / "plan"
    r = runner.invoke(
        app,
        ["plan", str(small_bundle), "--primary", "r2", "--out", str(out), "-e", "AT=0.03", "-e", "RT=0.04"],
    )
    assert r.exit_code == 0, r.output
    assert "lower bound" in (out / "plan.html").read_text()
    assert (pd.read_csv(out / "power_curve.csv")["power_bound"] == "lower_bound").all()
    r = runner.invoke(
        app,
        [
            "plan",
            str(small_bundle),
            "--primary",
            "r2",
            "--out",
            str(out),
            "-e",
            "AT=0.03",
            "-e",
            "RT=0.04",
            "--multiplicity",
            "bonferroni",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "lower bound" not in (out / "plan.html").read_text()


@pytest.mark.parametrize(
    ("method", "bound"),
    [("fixed_sequence", ["as_tested", "upper_bound"]), ("by", ["lower_bound", "lower_bound"])],
)
def test_plan_with_the_studys_by_or_fixed_sequence_needs_no_override(tmp_path, method, bound):
    """by and fixed_sequence have analytic bounds now, and --simulate runs the study's own method."""
    root = _bundle_with_analysis(
        tmp_path, f'primary = ["r2", "dermal_thickness"]\nmethods = ["ancova"]\nmultiplicity = "{method}"\n'
    )
    out = tmp_path / "plan"
    r = runner.invoke(
        app,
        [
            "plan",
            str(root),
            "--primary",
            "r2",
            "--out",
            str(out),
            "-e",
            "AT=0.03",
            "-e",
            "RT=0.04",
            "--simulate",
            "200",
        ],
    )
    assert r.exit_code == 0, r.output
    plan = pd.read_csv(out / "plan.csv")
    assert (plan["multiplicity"] == method).all()
    assert plan.query("scenario == 'pilot'")["power_bound"].tolist() == bound
    html = (out / "plan.html").read_text()
    assert f"own ancova with {method}" in html
    r = runner.invoke(
        app,
        [
            "plan",
            str(root),
            "--primary",
            "r2",
            "--out",
            str(out),
            "-e",
            "AT=0.03",
            "-e",
            "RT=0.04",
            "--multiplicity",
            "bonferroni",
            "--simulate",
            "200",
        ],
    )
    assert r.exit_code == 0, r.output
    assert (pd.read_csv(out / "plan.csv")["multiplicity"] == "bonferroni").all()
    assert f"--simulate runs the study's own {method}" in r.output
    assert f"own ancova with {method}" in (out / "plan.html").read_text()


def test_plan_simulation_runs_the_studys_own_multiplicity_not_the_override(tmp_path):
    """--multiplicity changes the analytic table only (and so the planned n the simulation runs at): the
    simulated analysis is adjusted by the study's BY both times, never by the override 'none'."""
    root = _bundle_with_analysis(
        tmp_path, 'primary = ["r2", "dermal_thickness"]\nmethods = ["ancova"]\nmultiplicity = "by"\n'
    )
    sims = []
    for extra in ([], ["--multiplicity", "none"]):
        out = tmp_path / f"plan{len(extra)}"
        r = runner.invoke(
            app,
            [
                "plan",
                str(root),
                "--primary",
                "r2",
                "--out",
                str(out),
                "-e",
                "AT=0.03",
                "-e",
                "RT=0.04",
                "--simulate",
                "300",
                "--seed",
                "4",
                *extra,
            ],
        )
        assert r.exit_code == 0, r.output
        sims.append(pd.read_csv(out / "simulated_power.csv"))
    for sim in sims:  # BY adjusts: power below the unadjusted power; with 'none' they would be equal
        assert (sim["power"] <= sim["power_unadjusted"]).all() and (
            sim["power"] < sim["power_unadjusted"]
        ).any()


def test_plan_unknown_multiplicity_option_names_the_option(small_bundle, tmp_path):
    r = runner.invoke(
        app,
        [
            "plan",
            str(small_bundle),
            "--primary",
            "r2",
            "--out",
            str(tmp_path / "p"),
            "--multiplicity",
            "hommel",
        ],
    )
    assert r.exit_code == 2 and "--multiplicity" in r.output and "hommel" in r.output
    assert "study.toml" not in r.output


def test_plan_says_declared_covariates_are_not_simulated(tmp_path):
    root = _bundle_with_analysis(tmp_path, 'primary = ["r2"]\nmethods = ["ancova"]\ncovariates = ["age"]\n')
    out = tmp_path / "plan"
    r = runner.invoke(
        app,
        [
            "plan",
            str(root),
            "--primary",
            "r2",
            "--out",
            str(out),
            "-e",
            "AT=0.03",
            "-e",
            "RT=0.04",
            "--simulate",
            "100",
        ],
    )
    assert r.exit_code == 0, r.output
    html = (out / "plan.html").read_text()
    assert "covariates (age) are left out of the simulated analysis" in html
    assert "covariates (age) are not in the analytic power" in html


def test_plan_terminal_names_the_analysis_plan(small_bundle, tmp_path):
    r = runner.invoke(
        app,
        [
            "plan",
            str(small_bundle),
            "--primary",
            "r2",
            "--out",
            str(tmp_path / "p"),
            "-e",
            "AT=0.03",
            "-e",
            "RT=0.04",
        ],
    )
    assert r.exit_code == 0 and "[analysis] plan" in r.output


def test_plan_uses_the_declared_last_visit_and_followup_option(tmp_path):
    """visits week0, week8, week16: 'week8' sorts last as text; plan must compare week0 with week16."""
    from skintrial.plan.pilot import pilot_estimates
    from skintrial.study import load_study

    root = _bundle_with_analysis(tmp_path, 'primary = ["dermal_thickness"]\nmethods = ["ancova"]\n')
    m = pd.read_csv(root / "measurements.csv")
    w = m.pivot_table(index=["participant_id", "outcome"], columns="visit", values="value").dropna()
    mid = ((w["week0"] + w["week16"]) / 2).rename("value").reset_index().assign(visit="week8")
    pd.concat([m, mid]).to_csv(root / "measurements.csv", index=False)
    toml = (root / "study.toml").read_text()
    (root / "study.toml").write_text(
        toml.replace('visits = ["week0", "week16"]', 'visits = ["week0", "week8", "week16"]')
    )
    long = load_study(root).long()
    for option, visit in (([], "week16"), (["--followup", "week8"], "week8")):
        out = tmp_path / f"plan_{visit}"
        r = runner.invoke(
            app, ["plan", str(root), "--primary", "dermal_thickness", "--out", str(out), *option]
        )
        assert r.exit_code == 0, r.output
        assert f"week0 to {visit}" in r.output and f"week0 to {visit}" in (out / "plan.html").read_text()
        ref = pilot_estimates(long, baseline_visit="week0", followup_visit=visit)
        assert_allclose(
            pd.read_csv(out / "pilot_changes.csv")["mean_change"], ref.changes["mean_change"], rtol=1e-9
        )
    r = runner.invoke(
        app,
        [
            "plan",
            str(root),
            "--primary",
            "dermal_thickness",
            "--out",
            str(tmp_path / "x"),
            "--followup",
            "week0",
        ],
    )
    assert r.exit_code == 2 and "--followup" in r.output and "week16" in r.output
    assert not (tmp_path / "x").exists()


def test_randomize_balance_follows_unequal_ratios_in_declared_arm_order(tmp_path):
    out = tmp_path / "l.csv"
    r = runner.invoke(
        app,
        [
            "randomize",
            "--arms",
            "RT,CON,AT",
            "--seed",
            "3",
            "--ratios",
            "2,1,2",
            "--block-sizes",
            "5,10",
            "--n-per-stratum",
            "50",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    bal = pd.read_csv(tmp_path / "l_balance.csv")
    overall = bal[bal["factor"] == "overall"]
    assert overall["arm"].tolist() == ["RT", "CON", "AT"]
    assert_allclose(overall["target_proportion"], [0.4, 0.2, 0.4], rtol=1e-12)
    assert_allclose(overall["difference"], 0.0, atol=1e-12)  # whole blocks: exactly on target


def test_power_gpower_total_is_a_whole_number_to_type(tmp_path):
    r = runner.invoke(app, ["power", "-e", "AT=0.5", "--sd", "1", "--n-per-arm", "33", "--dropout", "0.1"])
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert (
        "total sample size = 59 (G*Power needs a whole number; 59.40 is the expected number analysed" in text
    )
    r = runner.invoke(app, ["power", "-e", "AT=0.5", "--sd", "1", "--n-per-arm", "30"])
    assert "total sample size = 60 →" in " ".join(r.output.split())


@pytest.mark.parametrize("sd", ["inf", "nan", "0"])
def test_power_sd_must_be_finite_and_positive(sd):
    r = runner.invoke(app, ["power", "-e", "AT=0.5", "--sd", sd])
    assert r.exit_code == 2 and "finite and positive" in r.output


def test_power_with_one_hypothesis_is_not_called_a_lower_bound(tmp_path):
    out = tmp_path / "p.csv"
    r = runner.invoke(app, ["power", "-e", "AT=0.5", "--sd", "1", "--n-per-arm", "30", "--out", str(out)])
    assert r.exit_code == 0 and "lower bound" not in r.output
    assert (pd.read_csv(out)["power_bound"] == "as_tested").all()


def test_power_curve_with_dollar_signs_renders_as_text():
    """The plan's figure goes through the report's renderer: '$' in an outcome name is text, not mathtext."""
    from skintrial.report._fig_planning import power_curve_figure
    from skintrial.report._figures import figure_bytes

    curve = pd.DataFrame(
        {
            "n_per_arm": [10, 20, 30] * 2,
            "power": [0.3, 0.5, 0.7, 0.2, 0.4, 0.6],
            "contrast": ["$AT - CON"] * 3 + ["RT$ - CON"] * 3,
            "scenario": "pilot",
        }
    )
    fig = power_curve_figure(curve, target_power=0.8, title="cost $x^{ per $5 voucher: power by n per arm")
    svg = figure_bytes(fig, "svg")
    assert b"<svg" in svg and b"voucher" in svg
    assert figure_bytes(fig, "png")[:4] == b"\x89PNG"


def test_randomize_reads_ratios_with_colons_and_names_its_options(tmp_path):
    out = tmp_path / "r.csv"
    r = runner.invoke(
        app,
        [
            "randomize",
            "--arms",
            "CON,AT,RT",
            "--seed",
            "7",
            "--ratios",
            "1:2:2",
            "--block-sizes",
            "5,10",
            "--level",
            "age=young,old",
            "--n-per-stratum",
            "20",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    counts = pd.read_csv(out)["arm"].value_counts()
    assert counts["AT"] == counts["RT"] == 2 * counts["CON"]
    r = runner.invoke(
        app,
        [
            "randomize",
            "--arms",
            "CON,AT,RT",
            "--seed",
            "7",
            "--ratios",
            "1:2:2",
            "--block-sizes",
            "4",
            "--out",
            str(tmp_path / "bad.csv"),
        ],
    )
    assert r.exit_code == 2 and "option '--block-sizes'" in r.output and "block_sizes" not in r.output
    assert not (tmp_path / "bad.csv").exists()


def test_plan_replaces_only_its_own_earlier_files(small_bundle, tmp_path):
    """A second plan into the same folder replaces the first; a plan.html (or plan.csv) of the user's
    own in that folder is never replaced: exit 2, the file named, nothing changed (issue 10)."""
    argv = ["plan", str(small_bundle), "--primary", "r2", "--effect", "AT=0.03", "--effect", "RT=0.04"]
    out = tmp_path / "plan"
    assert runner.invoke(app, [*argv, "--out", str(out)]).exit_code == 0
    again = runner.invoke(app, [*argv, "--out", str(out)])
    assert again.exit_code == 0, again.output
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "plan.html").write_text("<p>my own notes</p>", encoding="utf-8")
    (mine / "plan.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    r = runner.invoke(app, [*argv, "--out", str(mine)])
    assert r.exit_code == 2, r.output
    assert "plan.html" in r.output and "not written by skintrial plan" in r.output
    assert (mine / "plan.html").read_text(encoding="utf-8") == "<p>my own notes</p>"
    assert (mine / "plan.csv").read_text(encoding="utf-8") == "a,b\n1,2\n"
    assert sorted(p.name for p in mine.iterdir()) == ["plan.csv", "plan.html"]
