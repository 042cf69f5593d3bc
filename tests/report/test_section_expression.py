"""The report's expression section: volcanoes, counts, CAMERA sets, the ECM heatmap, the methods sentence."""

from __future__ import annotations

import tempfile
from html import unescape
from pathlib import Path

import pytest

from skintrial.pipeline import analyse
from skintrial.plan import add_expression_layer, synthetic_study
from skintrial.report import render_report
from skintrial.report._section_expression import methods_sentence
from skintrial.study import load_study


@pytest.fixture(scope="module")
def results():
    root = Path(synthetic_study(seed=3, n=24).write(tempfile.mkdtemp()))
    add_expression_layer(root)
    return analyse(load_study(root))


def test_expression_section_in_the_report(results):
    html = unescape(render_report(results))
    assert 'id="expression"' in html and "Gene expression" in html
    for c in ("visit: week16 - week0 | arm = RT", "visit: week16 - week0 | arm: RT - AT"):
        assert f"Volcano plot: {c}" in html
    assert "Gene sets (CAMERA)" in html and "MATRISOME" in html
    assert 'id="expression-ecm-heatmap"' in html
    sentence = methods_sentence(dict(results.settings("omics")["expression"]))
    assert sentence in html
    assert "TMM" in sentence and "voom precision weights" in sentence
    assert "~ participant_id + arm * visit" in sentence and "not estimable and dropped: arm[RT]" in sentence


def test_no_expression_layer_no_section():
    res = analyse(load_study(synthetic_study(seed=3, n=12).write(tempfile.mkdtemp())))
    assert 'id="expression"' not in render_report(res)


def test_demo_has_the_expression_layer_by_default(tmp_path):
    from typer.testing import CliRunner

    from skintrial.cli import app

    out = tmp_path / "demo"
    r = CliRunner().invoke(app, ["demo", "--out", str(out), "--n", "24"])
    assert r.exit_code == 0, r.output
    assert (out / "study" / "expression.csv").is_file()
    assert "[expression]" in (out / "study" / "study.toml").read_text()
    assert {"expression_de", "expression_genesets"} <= {p.stem for p in (out / "results").glob("*.csv")}
    assert 'id="expression"' in (out / "report.html").read_text()
    assert (out / "figures" / "expression-ecm-heatmap.svg").is_file()


def test_demo_without_the_expression_layer(tmp_path):
    from typer.testing import CliRunner

    from skintrial.cli import app

    out = tmp_path / "demo"
    r = CliRunner().invoke(app, ["demo", "--out", str(out), "--n", "24", "--no-expression"])
    assert r.exit_code == 0, r.output
    assert not (out / "study" / "expression.csv").exists()
    assert "[expression]" not in (out / "study" / "study.toml").read_text()
    assert not (out / "results" / "expression_de.csv").exists()
    assert 'id="expression"' not in (out / "report.html").read_text()
