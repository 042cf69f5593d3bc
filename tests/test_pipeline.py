"""The pipeline: tables, columns (a schema), multiplicity families, exclusions, provenance."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from skintrial.pipeline import analyse, write_results
from skintrial.stats._schema import CONTRAST_COLUMNS, DESCRIPTIVE_COLUMNS
from skintrial.study import load_study

DESIGN_ANCOVA_COLUMNS = [
    "outcome",
    "contrast",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "df",
    "t",
    "p",
    "p_adj",
    "n",
]


def test_ancova_table_has_the_contract_columns(demo_results):
    anc = demo_results.tables["ancova"]
    assert list(anc.columns[: len(DESIGN_ANCOVA_COLUMNS)]) == DESIGN_ANCOVA_COLUMNS
    assert list(anc.columns) == list(CONTRAST_COLUMNS)
    assert set(anc["contrast"]) == {"RT - AT"}
    assert (anc["status"] == "ok").all()
    assert list(anc["outcome"]) == list(demo_results.study.spec.outcomes)


def test_descriptives_by_arm_and_visit(demo_results):
    d = demo_results.tables["descriptives"]
    assert list(d.columns) == list(DESCRIPTIVE_COLUMNS)
    n = d.query("outcome == 'r2' and visit == 'week0'").set_index("arm")["n"]
    assert n.to_dict() == {"AT": 27, "RT": 34}


def test_primary_family_holm_and_secondary_family(demo_results):
    anc = demo_results.tables["ancova"]
    prim = anc[anc["family"] == "primary"]
    assert set(prim["outcome"]) == set(demo_results.study.spec.analysis.primary)
    p = np.sort(prim["p"].to_numpy())
    expected = np.minimum(1, np.maximum.accumulate(p * np.arange(len(p), 0, -1)))
    np.testing.assert_allclose(np.sort(prim["p_adj"].to_numpy()), expected, rtol=1e-12)
    assert (anc["p_adj"] >= anc["p"] - 1e-15).all()


def test_every_participant_without_follow_up_is_listed(demo_results):
    excl = demo_results.tables["exclusions"].query("analysis == 'ancova'")
    withdrawn = demo_results.study.participants.query("status == 'withdrawn'")["participant_id"]
    n_outcomes = len(demo_results.study.outcomes)
    assert len(excl) == len(withdrawn) * n_outcomes
    assert set(excl["participant_id"]) == set(withdrawn)
    anc = demo_results.tables["ancova"]
    assert (anc["n"] == len(demo_results.study.participants) - len(withdrawn)).all()


def test_results_and_provenance_written(small_bundle, tmp_path):
    res = analyse(load_study(small_bundle))
    written = write_results(res, tmp_path)
    assert (tmp_path / "results" / "ancova.csv") in written
    back = pd.read_csv(tmp_path / "results" / "ancova.csv", float_precision="round_trip")
    np.testing.assert_allclose(back["estimate"], res.tables["ancova"]["estimate"], rtol=1e-15)
    prov = json.loads((tmp_path / "provenance.json").read_text())
    assert prov["seed"] == 11
    assert set(prov["inputs"]) == {
        "study.toml",
        "participants.csv",
        "measurements.csv",
        "training.csv",
        "serum.csv",
        "qpcr.csv",
    }
    assert all(len(h) == 64 for h in prov["inputs"].values())
    assert prov["packages"]["numpy"] == np.__version__
    assert prov["study_dir"] == str(small_bundle.resolve())


def test_training_log_gives_per_protocol_sensitivity_and_dose_response(tmp_path):
    from skintrial.plan import synthetic_study
    from skintrial.plan._sim_training import simulate_training

    s = synthetic_study(seed=4, n=30, omics=False, training=False)
    root = s.write(tmp_path / "study")
    simulate_training(s.participants, seed=4).to_csv(root / "training.csv", index=False)
    toml = root / "study.toml"
    toml.write_text(
        toml.read_text().replace("covariates = []", "covariates = []\nper_protocol_min_adherence = 0.9")
    )
    res = analyse(load_study(root))
    pp = res.tables["per_protocol"]
    kept = set(pp.loc[pp["per_protocol"].astype(bool), "participant_id"])
    out = set(pp["participant_id"]) - kept
    assert out, "a 90 % rule should leave someone out"
    excl = res.tables["exclusions"].query("analysis == 'ancova_per_protocol'")
    assert set(excl["participant_id"]) == out
    ppa = res.tables["ancova_per_protocol"]
    assert list(ppa.columns) == list(CONTRAST_COLUMNS)
    assert (ppa["n"] <= len(kept)).all() and (ppa["n"] < res.tables["ancova"]["n"]).all()
    dr = res.tables["dose_response"]
    assert set(dr["outcome"]) == set(res.study.outcomes)


def test_exclusions_cover_every_analysis_in_the_plan(demo_results):
    from skintrial.study._summaries import EXCLUSION_COLUMNS

    excl = demo_results.tables["exclusions"]
    assert list(excl.columns) == list(EXCLUSION_COLUMNS)
    plan = demo_results.study.spec.analysis.methods
    assert {"ancova", "mixed_anova"} <= set(excl["analysis"]) and "mixed_anova" in plan
    ma = demo_results.tables["mixed_anova"].query("term == 'arm'").set_index("outcome")["n"]
    dropped = excl.query("analysis == 'mixed_anova'").groupby("outcome").size()
    n = len(demo_results.study.participants)
    assert all(ma[o] + dropped.get(o, 0) == n for o in ma.index)  # every participant used or listed


def _plan_cross_sectional(bundle, table: str = "") -> None:
    toml = bundle / "study.toml"
    text = toml.read_text().replace(
        'methods = ["ancova", "clda", "mixed_anova"]', 'methods = ["ancova", "cross_sectional"]'
    )
    toml.write_text(
        text.replace("per_protocol_min_adherence = 0.8\n", f"per_protocol_min_adherence = 0.8\n\n{table}", 1)
    )


def test_cross_sectional_defaults_to_the_arms_at_baseline(small_bundle):
    from skintrial.stats import cross_sectional
    from skintrial.stats._schema import CROSS_SECTIONAL_COLUMNS

    _plan_cross_sectional(small_bundle)
    study = load_study(small_bundle)
    res = analyse(study)
    cs = res.tables["cross_sectional"]
    assert tuple(cs.columns) == CROSS_SECTIONAL_COLUMNS and list(cs.columns[:11]) == DESIGN_ANCOVA_COLUMNS
    assert (
        set(cs["contrast"]) == {"RT - AT"}
        and (cs["visit"] == "week0").all()
        and (cs["group_column"] == "arm").all()
    )
    direct = cross_sectional(
        study.long(), group="arm", at_visit="week0", groups=["AT", "RT"], reference_group="AT"
    )
    got = cs.set_index("outcome").loc[direct.contrasts["outcome"]]
    np.testing.assert_allclose(got["estimate"], direct.contrasts["estimate"], rtol=1e-12)
    np.testing.assert_allclose(got["p"], direct.contrasts["p"], rtol=1e-12)
    assert (cs["p_adj"] >= cs["p"] - 1e-15).all() and set(cs["family"]) == {"primary", "secondary"}
    assert list(cs["outcome"]) == list(study.spec.outcomes)


def test_cross_sectional_by_a_participant_column_at_another_visit(small_bundle):
    from skintrial.stats import cross_sectional

    _plan_cross_sectional(
        small_bundle,
        '[analysis.cross_sectional]\ngroup = "age_group"\nvisit = "week16"\n'
        'reference_group = "40-49"\ncovariates = ["age"]\n',
    )
    study = load_study(small_bundle)
    cs = analyse(study).tables["cross_sectional"]
    assert set(cs["contrast"]) == {"50-59 - 40-49"} and (cs["visit"] == "week16").all()
    data = study.measurements.merge(study.participants[["participant_id", "age_group", "age"]])
    direct = cross_sectional(
        data,
        group="age_group",
        at_visit="week16",
        covariates=["age"],
        groups=["40-49", "50-59"],
        reference_group="40-49",
    )
    np.testing.assert_allclose(
        cs.set_index("outcome").loc[direct.contrasts["outcome"], "se"], direct.contrasts["se"], rtol=1e-12
    )


def test_demo_never_replaces_an_input_that_provenance_records(tmp_path):
    """An earlier run's study, wherever it lies in OUT (here moved into OUT/results), is protected."""
    from skintrial._io import demo_problems, recorded_inputs

    out = tmp_path / "out"
    (out / "results").mkdir(parents=True)
    (out / "results" / "study.toml").write_text("# the user's study\n")
    prov = {"written_by": "skintrial", "study_dir": str(out / "results"), "inputs": {"study.toml": "0" * 64}}
    (out / "provenance.json").write_text(json.dumps(prov))
    assert recorded_inputs(out) == [out / "results", out / "results" / "study.toml"]
    (problem,) = demo_problems(out)
    assert "is, or lies inside" in problem.message and "choose another --out" in problem.fix


def test_outcome_measured_at_baseline_and_end_only_in_a_three_visit_study(small_bundle):
    """Body mass measured at week0 and week16 only, beside outcomes at week0, week8 and week16: cLDA and
    the mixed ANOVA analyse it on its two visits, and nobody is listed as excluded for lacking week8."""
    toml = small_bundle / "study.toml"
    toml.write_text(
        toml.read_text().replace('visits = ["week0", "week16"]', 'visits = ["week0", "week8", "week16"]')
    )
    m = pd.read_csv(small_bundle / "measurements.csv")
    completers = set(m.loc[m["visit"] == "week16", "participant_id"])
    mid = m[(m["visit"] == "week0") & m["participant_id"].isin(completers) & (m["outcome"] != "body_mass")]
    mid = mid.assign(visit="week8", value=mid["value"] * np.random.default_rng(5).normal(1.0, 0.02, len(mid)))
    pd.concat([m, mid], ignore_index=True).to_csv(small_bundle / "measurements.csv", index=False)
    res = analyse(load_study(small_bundle))
    cl = res.tables["clda"].set_index("outcome")
    assert cl.loc[["body_mass"], "visit"].tolist() == ["week8", "week16"]  # every post-baseline visit
    assert cl.loc[["body_mass"], "status"].tolist() == ["not_measured_at_visit", "ok"]
    assert cl.loc[["body_mass"], "primary_visit"].tolist() == [False, True]
    mixed = res.tables["mixed_anova"].set_index("outcome")
    assert mixed.loc["body_mass", "status"].eq("ok").all() and mixed.loc["body_mass", "n_visits"].eq(2).all()
    assert mixed.loc["r2", "n_visits"].eq(3).all()
    excl = res.tables["exclusions"]
    lacking_week8 = excl[(excl["outcome"] == "body_mass") & excl["reason"].str.contains("week8")]
    assert lacking_week8.empty


def test_clda_settings_of_the_plan_reach_clda_csv(small_bundle):
    """[analysis.clda] (issue 14): the default is Kenward-Roger with an unstructured covariance and the
    fallback toeph -> ar1h -> cs; a plan may choose another df method, structure, vcov."""
    res = analyse(load_study(small_bundle))
    cl = res.tables["clda"]
    ok = cl["status"] == "ok"
    assert ok.any() and (cl["df_method"] == "kenward_roger").all() and (cl["vcov"] == "model").all()
    assert (
        cl.loc[ok, "covariance"].isin(["us", "toeph", "ar1h", "cs"]).all() and cl.loc[ok, "converged"].all()
    )
    toml = small_bundle / "study.toml"
    toml.write_text(
        toml.read_text()
        + '\n[analysis.clda]\ndf_method = "satterthwaite"\ncovariance = "ar1h"\nfallback = []\nvcov = "empirical"\n'
    )
    res = analyse(load_study(small_bundle))
    cl = res.tables["clda"]
    assert (cl["df_method"] == "satterthwaite").all() and (cl["vcov"] == "empirical").all()
    assert (cl["covariance"] == "ar1h").all()
    assert res.settings("clda")["covariance"] == "ar1h" and res.settings("clda")["fallback"] == []
