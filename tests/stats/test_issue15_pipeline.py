"""[analysis] multiplicity = "dunnett" / "tukey" and [analysis] sensitivity in a study bundle (issue 15):
the tables are written under their registered names and agree with the library functions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from skintrial.errors import InputError
from skintrial.pipeline import analyse
from skintrial.plan import synthetic_study
from skintrial.stats import ancova_settings
from skintrial.stats.many_arms import many_arm_contrasts
from skintrial.stats.rank import rank_ancova
from skintrial.study import load_study


def _bundle(tmp_path: Path, lines: str, tables: str = "") -> Path:
    """The 3-arm synthetic bundle with ``lines`` in place of the multiplicity key of [analysis] and
    ``tables`` (sub-tables of [analysis]) at the end of study.toml, where [analysis] is last."""
    root = synthetic_study(seed=11, n=30, control_arm=True, omics=False, training=False).write(tmp_path / "s")
    toml = root / "study.toml"
    text = toml.read_text(encoding="utf-8").replace('multiplicity = "holm"\n', lines)
    assert text.rstrip().rsplit("\n[", 1)[-1].startswith("analysis]")
    toml.write_text(text.rstrip() + "\n" + tables, encoding="utf-8")
    return root


@pytest.mark.parametrize("family", ["dunnett", "tukey"])
def test_many_arm_family_fills_ancova_p_adj(tmp_path, family):
    study = load_study(
        _bundle(tmp_path, f'multiplicity = "{family}"\nsensitivity = ["rank_ancova", "wilcoxon"]\n')
    )
    res = analyse(study)
    anc, many = res.table("ancova"), res.table("many_arms")
    assert (anc["p_adj_method"] == family).all()
    assert (many["family"] == family).all()
    m = anc.merge(many, on=["outcome", "contrast"], suffixes=("", "_m"))
    assert len(m) == len(anc)
    assert_allclose(m["p_adj"], m["p_adj_m"], equal_nan=True)
    ok = m["status"] == "ok"
    assert (m.loc[ok, "p_adj"] >= m.loc[ok, "p"] - 1e-12).all()
    direct = many_arm_contrasts(study.long(), **_keywords(study), family=family)
    both = many.merge(direct, on=["outcome", "contrast"], suffixes=("", "_d"))
    assert len(both) == len(many) == len(direct)
    assert_allclose(both["p_adj"], both["p_adj_d"], equal_nan=True)
    assert res.settings("ancova")["many_arms"]["family"] == family
    # the sensitivity stage
    assert res.has("rank_ancova") and res.has("wilcoxon") and res.has("kruskal_wallis")
    q = rank_ancova(study.long(), **{k: v for k, v in _keywords(study).items() if k != "covariates"})
    assert_allclose(
        res.table("rank_ancova").set_index("outcome").loc[q["outcome"], "f"], q["f"], equal_nan=True
    )
    assert list(res.settings("sensitivity")["methods"]) == ["rank_ancova", "wilcoxon"]


def _keywords(study):
    a = ancova_settings(study)
    return {k: a[k] for k in ("baseline_visit", "followup_visit", "arms", "reference_arm", "covariates")}


def test_default_plan_has_no_sensitivity_or_many_arms(tmp_path):
    res = analyse(load_study(_bundle(tmp_path, 'multiplicity = "holm"\n')))
    assert not res.has("many_arms") and not res.has("rank_ancova") and not res.has("wilcoxon")
    assert (res.table("ancova")["p_adj_method"] == "holm").all()


def test_unknown_sensitivity_method_is_refused(tmp_path):
    with pytest.raises(InputError, match="sensitivity"):
        load_study(_bundle(tmp_path, 'multiplicity = "holm"\nsensitivity = ["bootstrap"]\n'))


def test_p_values_between_zero_and_one(tmp_path):
    res = analyse(load_study(_bundle(tmp_path, 'multiplicity = "tukey"\nsensitivity = ["wilcoxon"]\n')))
    w = res.table("wilcoxon")
    p = w.loc[w["status"] == "ok", "p"].to_numpy()
    assert np.all((p >= 0) & (p <= 1))


def test_rerandomisation_in_the_bundle(tmp_path):
    lines = (
        'multiplicity = "holm"\nsensitivity = ["rerandomisation"]\nrerandomisations = 500\n'
        '[analysis.rerandomisation]\nscheme = "permuted_blocks"\nblock_sizes = [3, 6]\nstrata = ["sex"]\nseed = 9\n'
    )
    root = _bundle(tmp_path, "")
    toml = root / "study.toml"
    text = toml.read_text(encoding="utf-8")
    # the rerandomisation table goes at the end of [analysis]: before the next top-level table
    head, sep, tail = text.partition("\n[training]")
    text = head + "\n" + lines + (sep + tail if sep else "")
    toml.write_text(text, encoding="utf-8")
    res = analyse(load_study(root))
    r = res.table("rerandomisation")
    ok = r["status"] == "ok"
    assert ok.any() and (r.loc[ok, "n_rerandomisations"] == 500).all()
    assert (r["seed"] == 9).all() and (r["enumeration"] == "monte_carlo").all()
    assert r["scheme"].iloc[0].startswith("stratified permuted blocks of 3, 6")
    assert res.settings("sensitivity")["rerandomisation"]["seed"] == 9
    anc = res.table("ancova")
    m = anc[anc["status"] == "ok"].merge(r[ok], on=["outcome", "contrast"])
    assert_allclose(m["observed"], np.abs(m["t"]), rtol=1e-10)


def test_rerandomisation_strata_must_be_participants_columns(tmp_path):
    root = _bundle(tmp_path, "")
    toml = root / "study.toml"
    head, sep, tail = toml.read_text(encoding="utf-8").partition("\n[training]")
    extra = 'sensitivity = ["rerandomisation"]\n[analysis.rerandomisation]\nstrata = ["shoe_size"]\n'
    toml.write_text(head + "\n" + extra + sep + tail, encoding="utf-8")
    with pytest.raises(InputError, match="shoe_size"):
        analyse(load_study(root))


def test_responders_in_the_bundle(tmp_path):
    root = _bundle(tmp_path, 'multiplicity = "holm"\n', "[analysis.responders.r2]\nchange_at_least = 0.0\n")
    study = load_study(root)
    res = analyse(study)
    r = res.table("responders")
    assert set(r["outcome"]) == {"r2"} and (r["rule"] == "change >= 0").all()
    assert set(r["measure"]) == {"risk_difference", "risk_ratio", "odds_ratio"}
    assert res.settings("responders")["rules"] == {"r2": "change >= 0"}
    ok = r[r["status"] == "ok"]
    assert len(ok) > 0 and ok["p"].between(0, 1).all()


def test_responder_rule_needs_one_threshold_and_a_declared_outcome(tmp_path):
    both = "[analysis.responders.r2]\nchange_at_least = 1.0\npercent_change_at_least = 5.0\n"
    with pytest.raises(InputError, match="exactly one"):
        load_study(_bundle(tmp_path, 'multiplicity = "holm"\n', both))
    root = _bundle(
        tmp_path / "b", 'multiplicity = "holm"\n', "[analysis.responders.nope]\nchange_at_least = 1.0\n"
    )
    with pytest.raises(InputError, match="nope"):
        analyse(load_study(root))


def test_methods_paragraph_and_report_sections(tmp_path):
    from skintrial.report import render_report
    from skintrial.report._methods import methods_text

    root = _bundle(
        tmp_path,
        'multiplicity = "dunnett"\nsensitivity = ["rerandomisation", "rank_ancova", "wilcoxon"]\n'
        "rerandomisations = 200\n",
        "[analysis.responders.r2]\nchange_at_least = 0.0\n",
    )
    res = analyse(load_study(root))
    html = render_report(res)
    for title in (
        "Many arms: Dunnett single-step adjustment",
        "Sensitivity analysis: re-randomisation test",
        "Sensitivity analysis: rank-based tests",
        "Responders",
    ):
        assert title in html
    text = methods_text(res)
    assert "Dunnett's single-step procedure" in text and "dunnett method" not in text
    assert "re-randomisation test re-drew the allocation 200 times" in text
    assert "simple randomisation 1:1:1 (no scheme declared)" in text
    assert "Quade's rank ANCOVA" in text and "Kruskal–Wallis" in text
    assert "standardisation over all analysed participants" in text


def test_methods_paragraph_unchanged_without_them(tmp_path):
    from skintrial.report._methods import methods_text

    text = methods_text(analyse(load_study(_bundle(tmp_path, 'multiplicity = "holm"\n'))))
    assert "Holm method" in text and "re-randomisation" not in text and "Responders" not in text
