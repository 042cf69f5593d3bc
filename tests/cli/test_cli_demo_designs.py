"""``skintrial demo --design cross-sectional|single-arm`` (issue 11): a bundle of that design, its results
and a report that names the design; a wrong design or option is exit 2 naming the option."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from skintrial.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("design", "tables"),
    [
        ("cross-sectional", {"cross_sectional", "two_way_anova", "simple_effects", "two_way_means"}),
        ("single-arm", {"paired_change", "clda", "change"}),
    ],
)
def test_demo_of_each_design(tmp_path, design, tables):
    out = tmp_path / "demo"
    r = runner.invoke(app, ["demo", "--out", str(out), "--design", design])
    assert r.exit_code == 0, r.output
    toml = (out / "study" / "study.toml").read_text()
    assert f'design = "{design.replace("-", "_")}"' in toml
    written = {p.stem for p in (out / "results").glob("*.csv")}
    assert tables <= written and "ancova" not in written
    html = (out / "report.html").read_text()
    assert ("Cross-sectional comparison" if design == "cross-sectional" else "Single-arm pre/post") in html
    assert "randomis" not in html.lower()
    assert json.loads((out / "provenance.json").read_text())["seed"] == 20150422


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--design", "crossover"], "--design"),
        (["--design", "single-arm", "--control"], "--control"),
        (["--design", "cross-sectional", "--expression"], "--expression"),
    ],
)
def test_bad_design_options_exit_2(tmp_path, args, option):
    r = runner.invoke(app, ["demo", "--out", str(tmp_path / "d"), *args])
    assert r.exit_code == 2 and option in r.output and "Traceback" not in r.output
