"""analyse_omics on study bundles: the synthetic study's molecular files end to end, bundles without them,
declared files, and the errors a user can make (unknown participants, visits, missing [qpcr])."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from skintrial.errors import InputError
from skintrial.omics._panels_schema import MECHANISM_COLUMNS, SERUM_ANCOVA_COLUMNS, SERUM_CHANGE_COLUMNS
from skintrial.omics._study_layer import OMICS_TABLES, analyse_omics
from skintrial.plan import synthetic_study
from skintrial.study import load_study, validate_study


@pytest.fixture(scope="module")
def synthetic():
    return synthetic_study(seed=5)


@pytest.fixture(scope="module")
def bundle(synthetic, tmp_path_factory):
    return synthetic.write(tmp_path_factory.mktemp("omics") / "study")


@pytest.fixture(scope="module")
def tables(bundle):
    return analyse_omics(load_study(bundle))


def _copy(bundle, tmp_path):
    root = tmp_path / "study"
    shutil.copytree(bundle, root)
    return root


def test_tables_and_schemas(tables):
    assert set(tables) <= set(OMICS_TABLES)
    assert {
        "serum_ancova",
        "serum_change",
        "serum_lod",
        "serum_pqn",
        "mechanism",
        "mechanism_top",
        "qpcr",
    } <= set(tables)
    assert list(tables["serum_ancova"].columns) == list(SERUM_ANCOVA_COLUMNS)
    assert list(tables["serum_change"].columns) == list(SERUM_CHANGE_COLUMNS)
    assert list(tables["mechanism"].columns) == list(MECHANISM_COLUMNS)
    assert len(tables["serum_lod"]) == 1480
    assert (tables["serum_ancova"]["contrast"] == "RT - AT").all()


def test_recovers_the_built_in_changes(synthetic, tables):
    """At BH q < 0.05 the within-arm tests find most truly changing factors and few others."""
    truth = synthetic.omics_truth["serum"].set_index(["panel", "analyte"])
    change = tables["serum_change"].set_index(["panel", "analyte"])
    for arm in ("AT", "RT"):
        c = change[change["arm"] == arm]
        found = set(c.index[c["p_adj"] < 0.05])
        true = set(truth.index[truth[f"change.{arm}"] != 0])
        assert len(found & true) >= 0.8 * len(true)
        assert len(found - true) <= 0.1 * len(found) + 2
        direction = np.sign(truth.loc[list(found & true), f"change.{arm}"])
        assert (np.sign(c.loc[list(found & true), "mean_change"]) == direction).all()


def test_mechanism_finds_the_proposed_pairs(tables):
    # the proposed route (lower CCL28 / CXCL4 -> thicker dermis) is among the strongest pairs, negative and
    # FDR-significant; exact ranks among the few simulated links are left to the draw (n = 56)
    top = tables["mechanism_top"].head(5).reset_index(drop=True)
    pairs = top.set_index(["factor", "skin_outcome"])
    for factor in ("CCL28", "CXCL4"):
        row = pairs.loc[(factor, "dermal_thickness")]
        assert row["r"] < 0 and row["p_adj"] < 0.05
    assert top.loc[0, "factor"] in {"CCL28", "CXCL4"}
    assert set(tables["mechanism"]["skin_outcome"]) == {"r2", "r5", "r7", "dermal_thickness", "lep_upper"}


def test_qpcr_paired_design(tables):
    q = tables["qpcr"]
    within = q[q["contrast"] == "week16 - week0"]
    assert set(within["gene"]) == {"COL1A1", "COL3A1", "COL6A1", "HAS2", "DCN", "BGN", "ELN", "FBN1"}
    assert set(within["group"]) == {"AT", "RT"} and (within["test"] == "paired_t").all()
    assert (within.set_index(["gene", "group"]).loc[("HAS2", "RT"), "fold_change"]) > 1.1
    between = q[q["contrast"] == "RT - AT (week16 - week0)"]
    assert len(between) == 8 and (between["n"] == 30).all()


def test_no_molecular_files_gives_nothing(bundle, tmp_path):
    plain = synthetic_study(seed=5, n=12, omics=False).write(tmp_path / "plain")
    assert analyse_omics(load_study(plain)) == {}


def test_serum_without_a_table_uses_defaults(bundle, tmp_path):
    root = _copy(bundle, tmp_path)
    toml = (root / "study.toml").read_text("utf-8")
    cut = toml.index("[serum]")
    (root / "study.toml").write_text(toml[:cut] + toml[toml.index("[qpcr]") :], encoding="utf-8")
    out = analyse_omics(load_study(root))
    assert "serum_pqn" not in out and len(out["serum_ancova"]) > 1000 and "qpcr" in out


def test_declared_file_missing(bundle, tmp_path):
    root = _copy(bundle, tmp_path)
    (root / "serum.csv").unlink()
    with pytest.raises(InputError) as err:
        analyse_omics(load_study(root))
    assert err.value.problems[0].file.endswith("serum.csv") and "missing" in err.value.problems[0].message


def test_unknown_participant_and_visit_are_named(bundle, tmp_path):
    root = _copy(bundle, tmp_path)
    lines = (root / "serum.csv").read_text("utf-8").splitlines()
    lines[1] = lines[1].replace("P001", "P999")
    lines[2] = lines[2].replace("week0", "week8")
    (root / "serum.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        analyse_omics(load_study(root))
    found = {(p.row, p.column, p.value) for p in err.value.problems}
    assert (2, "participant_id", "P999") in found and (3, "visit", "week8") in found
    # the message names the participants table the bundle has, not always participants.csv
    pd.read_csv(root / "participants.csv", dtype=str, keep_default_na=False).to_excel(
        root / "participants.xlsx", index=False
    )
    (root / "participants.csv").unlink()
    with pytest.raises(InputError) as err:
        analyse_omics(load_study(root))
    unknown = [p for p in err.value.problems if p.value == "P999"]
    assert unknown and "participants.xlsx" in unknown[0].message and "participants.csv" not in unknown[0].fix


def test_qpcr_file_needs_its_table(bundle, tmp_path):
    root = _copy(bundle, tmp_path)
    toml = (root / "study.toml").read_text("utf-8")
    (root / "study.toml").write_text(toml[: toml.index("[qpcr]")], encoding="utf-8")
    with pytest.raises(InputError, match=r"\[qpcr\]"):
        analyse_omics(load_study(root))


def test_schema_rejects_unknown_serum_keys(bundle, tmp_path):
    root = _copy(bundle, tmp_path)
    toml = (root / "study.toml").read_text("utf-8")
    (root / "study.toml").write_text(
        toml.replace('below_lod = "lod_sqrt2"', 'below_lod = "lod_sqrt2"\nlog_base = 2'), encoding="utf-8"
    )
    problems = validate_study(root)
    assert any(p.column == "serum.log_base" for p in problems)


def test_censored_option_and_undeclared_mechanism_outcome(bundle, tmp_path):
    root = _copy(bundle, tmp_path)
    toml = (root / "study.toml").read_text("utf-8")
    (root / "study.toml").write_text(
        toml.replace('below_lod = "lod_sqrt2"', 'below_lod = "censored_normal"'), encoding="utf-8"
    )
    out = analyse_omics(load_study(root))
    lod = out["serum_lod"]
    assert (lod["method"] == "censored_normal").all()
    assert set(lod["status"]) <= {"ok", "too_many_below_lod", "fallback_lod_sqrt2", "no_detected_values"}
    bad = toml.replace('mechanism_outcomes = ["r2"', 'mechanism_outcomes = ["wrinkles", "r2"')
    (root / "study.toml").write_text(bad, encoding="utf-8")
    with pytest.raises(InputError, match="wrinkles"):
        analyse_omics(load_study(root))


def test_qpcr_unknown_participant(bundle, tmp_path):
    root = _copy(bundle, tmp_path)
    q = pd.read_csv(root / "qpcr.csv", dtype=str, keep_default_na=False)
    q.loc[0, "participant_id"] = "X1"
    q.to_csv(root / "qpcr.csv", index=False)
    with pytest.raises(InputError) as err:
        analyse_omics(load_study(root))
    assert err.value.problems[0].row == 2 and err.value.problems[0].value == "X1"


def test_report_sections_render_and_escape(bundle, tables, tmp_path):
    """build(ctx) gives the serum, mechanism and qPCR sections; names from input files are escaped."""
    import dataclasses

    from skintrial.pipeline import analyse
    from skintrial.report._context import make_context
    from skintrial.report._html import _environment
    from skintrial.report._section_omics import build
    from skintrial.report._sections import summary

    hostile = "<script>alert(1)</script>"
    root = _copy(bundle, tmp_path)
    qpcr = pd.read_csv(root / "qpcr.csv", dtype=str, keep_default_na=False)
    qpcr.loc[qpcr["gene"] == "DCN", "gene"] = hostile
    qpcr.to_csv(root / "qpcr.csv", index=False)
    res = analyse(load_study(root))
    assert {k: len(v) for k, v in tables.items()} == {k: len(res.table(k)) for k in tables}
    assert hostile in set(res.table("qpcr")["gene"])
    ctx = make_context(res, files=False)
    sections = build(ctx)
    assert [s["id"] for s in sections] == ["serum", "mechanism", "qpcr"]
    serum = sections[0]
    assert [v["contrast"] for v in serum["volcanoes"]] == ["RT - AT"]
    assert serum["volcanoes"][0]["uri"].startswith("data:image/svg+xml;base64,")
    assert serum["n_analytes"] == 1480 and serum["n_tested"] + serum["n_excluded_lod"] == 1480
    html = (
        _environment()
        .get_template("report.html.j2")
        .render(summary=summary(ctx), sections=sections, version="t", css="", js="")
    )
    assert hostile not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'id="mechanism-heatmap"' in html and 'id="qpcr-table"' in html and "CXCL4" in html
    assert "not adjusted for the 8 genes tested" in html
    no_omics = dataclasses.replace(res, stages=tuple(s for s in res.stages if s.stage != "omics"))
    assert build(make_context(no_omics, files=False)) == []


def test_serum_from_some_arms_only(tmp_path):
    """A three-arm study whose serum was drawn in the exercise arms only: contrasts among those arms."""
    study = synthetic_study(seed=2, n=24, control_arm=True)
    root = study.write(tmp_path / "s")
    frame = pd.read_csv(root / "serum.csv", dtype=str, keep_default_na=False)
    con = set(study.participants.loc[study.participants["arm"] == "CON", "participant_id"])
    frame[~frame["participant_id"].isin(con)].to_csv(root / "serum.csv", index=False)
    out = analyse_omics(load_study(root))
    assert set(out["serum_ancova"]["contrast"]) == {"RT - AT"}
    assert (out["serum_ancova"]["status"] == "ok").mean() > 0.95
    assert set(out["serum_change"]["arm"]) == {"AT", "RT"}
