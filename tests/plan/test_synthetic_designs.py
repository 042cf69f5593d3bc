"""Synthetic studies of the non-randomised designs (issue 11): valid bundles of their design, byte-identical
for a seed, every number sourced, the published directions at the default seed."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from skintrial.errors import InputError
from skintrial.pipeline import analyse
from skintrial.plan import synthetic_cross_sectional, synthetic_single_arm
from skintrial.plan._calibration_designs import CROSS_SECTIONAL, SINGLE_ARM
from skintrial.study import load_study, validate_study

GENERATORS = {"cross_sectional": synthetic_cross_sectional, "single_arm": synthetic_single_arm}


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    out = {}
    for design, make in GENERATORS.items():
        root = make().write(tmp_path_factory.mktemp(design))
        out[design] = analyse(load_study(root))
    return out


@pytest.mark.parametrize("design", list(GENERATORS))
def test_bundle_is_valid_and_of_its_design(tmp_path, design):
    root = GENERATORS[design]().write(tmp_path / "study")
    assert validate_study(root) == []
    assert load_study(root).design == design


@pytest.mark.parametrize("design", list(GENERATORS))
def test_same_seed_same_bytes(tmp_path, design):
    a = GENERATORS[design](seed=7).write(tmp_path / "a")
    b = GENERATORS[design](seed=7).write(tmp_path / "b")
    for name in ("study.toml", "participants.csv", "measurements.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    c = GENERATORS[design](seed=8).write(tmp_path / "c")
    assert (a / "measurements.csv").read_bytes() != (c / "measurements.csv").read_bytes()


@pytest.mark.parametrize("design", list(GENERATORS))
def test_bad_options(design):
    with pytest.raises(InputError, match="seed|n must"):
        GENERATORS[design](seed=-1)
    with pytest.raises(InputError, match="n must"):
        GENERATORS[design](n=2)


def test_cross_sectional_layout():
    s = synthetic_cross_sectional()
    p = s.participants
    assert "arm" not in p.columns and len(p) == 60
    assert p.groupby(["activity", "age_band"]).size().tolist() == [15, 15, 15, 15]
    assert p.loc[p.activity == "ACT", "activity_hours"].min() >= 3
    assert p.loc[p.activity == "SED", "activity_hours"].max() < 1
    assert p["age"].between(20, 84).all() and set(s.measurements["visit"]) == {"visit1"}


def test_cross_sectional_reproduces_the_published_directions(analysed):
    se = analysed["cross_sectional"].table("simple_effects").set_index(["outcome", "by_level"])
    assert se.loc[("stratum_corneum", "40+"), "ci_high"] < 0  # thinner stratum corneum after 40
    assert se.loc[("dermal_thickness", "40+"), "ci_low"] > 0  # thicker dermis after 40
    collagen = se.loc[("collagen", "40+")]
    assert collagen["ci_low"] < 0 < collagen["ci_high"]  # no activity difference in collagen
    tw = analysed["cross_sectional"].table("two_way_anova")
    assert set(tw["type"]) == {"II", "III"} and "activity:age_band" in set(tw["term"])
    assert not analysed["cross_sectional"].has("ancova") and not analysed["cross_sectional"].has("change")


def test_single_arm_layout():
    s = synthetic_single_arm()
    p = s.participants
    assert len(p) == 10 and (p["arm"] == "ET").all() and (p["age"] >= 65).all()
    withdrawn = p.loc[p.status == "withdrawn", "participant_id"]
    assert len(withdrawn) == 1
    assert set(s.measurements.loc[s.measurements.participant_id.isin(withdrawn), "visit"]) == {"week0"}


def test_single_arm_reproduces_the_published_directions(analysed):
    res = analysed["single_arm"]
    pc = res.table("paired_change").set_index("outcome")
    assert pc.loc["stratum_corneum", "ci_high"] < 0
    assert pc.loc["dermal_thickness", "ci_low"] > 0
    assert pc.loc["collagen", "ci_low"] > 0
    assert (pc["n"] == 9).all()
    cl = res.table("clda")
    assert (cl["n"] == 10).all() and cl["primary_visit"].all()  # the withdrawn participant kept by cLDA
    assert not res.has("ancova") and not res.has("cross_sectional")


def test_docs_list_every_design_number():
    text = (Path(__file__).resolve().parents[2] / "docs" / "calibration.md").read_text("utf-8")
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `([^`]+)` \| ([^|]+?) \|", text, re.M)}
    for row in (*CROSS_SECTIONAL, *SINGLE_ARM):
        assert row.name in rows, row.name
        assert float(rows[row.name]) == pytest.approx(row.value, rel=1e-5), row.name
        assert "paper.md" in row.source or row.source.startswith("assumption:"), row.name


def test_truth_tables():
    xs, sa = synthetic_cross_sectional().truth, synthetic_single_arm().truth
    assert isinstance(xs, pd.DataFrame) and list(xs["outcome"]) == list(sa["outcome"])
    assert xs.set_index("outcome").loc["collagen", "active_minus_sedentary_after_40"] == 0
