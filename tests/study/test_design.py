"""Study designs in a bundle (issue 11): ``[study] design`` = randomised (default), cross_sectional or
single_arm; one visit is valid for a cross-sectional study; every design problem names its file, key
or row and the fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skintrial.study import load_study, validate_study

CROSS_SECTIONAL_TOML = """
[study]
name = "Active vs sedentary skin"
design = "cross_sectional"
visits = ["visit1"]
baseline_visit = "visit1"

[outcomes.dermal_thickness]
unit = "mm"

[analysis]
primary = ["dermal_thickness"]
{methods}

[analysis.cross_sectional]
group = "activity"
reference_group = "SED"
covariates = ["age"]
by = "age_band"
"""

SINGLE_ARM_TOML = """
[study]
name = "Endurance training after 65"
design = "single_arm"
{arms}
visits = ["week0", "week12"]
baseline_visit = "week0"

[outcomes.dermal_thickness]
unit = "mm"

[analysis]
primary = ["dermal_thickness"]
"""


def _write(root: Path, toml: str, participants: pd.DataFrame, measurements: pd.DataFrame) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "study.toml").write_text(toml, encoding="utf-8")
    participants.to_csv(root / "participants.csv", index=False)
    measurements.to_csv(root / "measurements.csv", index=False)
    return root


def cross_sectional_bundle(root: Path, *, methods: str = "", n: int = 24) -> Path:
    rng = np.random.default_rng(1)
    ids = [f"X{i:02d}" for i in range(n)]
    activity = np.where(np.arange(n) % 2 == 0, "ACT", "SED")
    age = rng.integers(20, 85, n)
    people = pd.DataFrame(
        {
            "participant_id": ids,
            "activity": activity,
            "age": age,
            "age_band": np.where(age < 40, "20-39", np.where(age < 65, "40-64", "65+")),
        }
    )
    values = 1.5 + 0.2 * (activity == "ACT") - 0.004 * (age - 50) + rng.normal(0, 0.1, n)
    meas = pd.DataFrame(
        {"participant_id": ids, "visit": "visit1", "outcome": "dermal_thickness", "value": values}
    )
    return _write(root, CROSS_SECTIONAL_TOML.format(methods=methods), people, meas)


def single_arm_bundle(root: Path, *, arms: str = "", arm_column: bool = False, n: int = 10) -> Path:
    rng = np.random.default_rng(2)
    ids = [f"S{i:02d}" for i in range(n)]
    people = pd.DataFrame({"participant_id": ids, "age": rng.integers(65, 80, n)})
    if arm_column:
        people.insert(1, "arm", "ET")
    base = rng.normal(1.4, 0.15, n)
    meas = pd.DataFrame(
        {
            "participant_id": ids * 2,
            "visit": ["week0"] * n + ["week12"] * n,
            "outcome": "dermal_thickness",
            "value": np.concatenate([base, base + 0.1 + rng.normal(0, 0.05, n)]),
        }
    )
    return _write(root, SINGLE_ARM_TOML.format(arms=arms), people, meas)


def _hits(problems, text):
    hits = [p for p in problems if text in p.message]
    assert hits, f"no problem mentions {text!r}: {[p.render() for p in problems]}"
    assert all(p.fix for p in hits)
    return hits[0]


def test_randomised_is_the_default(small_bundle):
    study = load_study(small_bundle)
    assert study.design == "randomised" and study.spec.study.randomised


def test_cross_sectional_one_visit_without_arm_column(tmp_path):
    root = cross_sectional_bundle(tmp_path / "xs")
    assert validate_study(root) == []
    study = load_study(root)
    assert study.design == "cross_sectional"
    assert study.spec.analysis.methods == ["cross_sectional"]  # the design's default
    assert study.spec.analysis.cross_sectional.by == "age_band"
    assert (study.participants["arm"] == "all").all()


def test_single_arm_without_arms(tmp_path):
    root = single_arm_bundle(tmp_path / "sa")
    assert validate_study(root) == []
    study = load_study(root)
    assert study.arms == ["all"] and study.spec.analysis.methods == ["paired_change"]


def test_single_arm_with_its_arm_column(tmp_path):
    root = single_arm_bundle(tmp_path / "sa", arms='arms = ["ET"]', arm_column=True)
    assert validate_study(root) == []
    assert load_study(root).arms == ["ET"]


def test_unknown_design_names_the_key_and_the_values(tmp_path):
    root = single_arm_bundle(tmp_path / "sa")
    toml = root / "study.toml"
    toml.write_text(toml.read_text().replace('"single_arm"', '"pre_post"'))
    p = [p for p in validate_study(root) if p.column == "study.design"][0]
    assert p.file.endswith("study.toml") and p.value == "pre_post"
    assert "cross_sectional" in p.fix and "single_arm" in p.fix


def test_single_arm_with_one_visit(tmp_path):
    root = single_arm_bundle(tmp_path / "sa")
    toml = root / "study.toml"
    toml.write_text(toml.read_text().replace('visits = ["week0", "week12"]', 'visits = ["week0"]'))
    p = _hits(validate_study(root), "single-arm pre/post study needs a baseline and at least one follow-up")
    assert p.column == "study.visits" and "cross_sectional" in p.fix


def test_single_arm_with_two_arms(tmp_path):
    root = single_arm_bundle(tmp_path / "sa", arms='arms = ["ET", "CON"]', arm_column=True)
    p = _hits(validate_study(root), "a single-arm study has one arm")
    assert p.column == "study.arms" and "randomised" in p.fix


def test_single_arm_never_a_between_arm_test(tmp_path):
    root = single_arm_bundle(tmp_path / "sa")
    toml = root / "study.toml"
    toml.write_text(toml.read_text() + 'methods = ["paired_change", "ancova"]\n')
    p = _hits(validate_study(root), "never analysed by a between-arm test")
    assert p.column == "analysis.methods" and p.value == "ancova" and "paired_change" in p.fix


def test_randomised_with_one_visit(small_bundle):
    toml = small_bundle / "study.toml"
    toml.write_text(toml.read_text().replace('visits = ["week0", "week16"]', 'visits = ["week0"]'))
    p = _hits(validate_study(small_bundle), "a randomised trial needs a baseline and at least one follow-up")
    assert p.column == "study.visits" and "cross_sectional" in p.fix


def test_cross_sectional_group_column_missing(tmp_path):
    root = cross_sectional_bundle(tmp_path / "xs")
    p = pd.read_csv(root / "participants.csv").drop(columns=["activity"])
    p.to_csv(root / "participants.csv", index=False)
    hit = _hits(validate_study(root), "grouping column 'activity'")
    assert hit.file.endswith("participants.csv") and hit.row == 1 and hit.column == "activity"


def test_cross_sectional_group_with_one_value(tmp_path):
    root = cross_sectional_bundle(tmp_path / "xs")
    p = pd.read_csv(root / "participants.csv").assign(activity="SED")
    p.to_csv(root / "participants.csv", index=False)
    hit = _hits(validate_study(root), "has 1 distinct value(s)")
    assert hit.column == "activity"


def test_cross_sectional_without_a_group(tmp_path):
    root = cross_sectional_bundle(tmp_path / "xs")
    toml = root / "study.toml"
    toml.write_text(
        toml.read_text().replace('group = "activity"\n', "").replace('reference_group = "SED"\n', "")
    )
    p = _hits(validate_study(root), "compares the groups of a participants column")
    assert p.column == "analysis.cross_sectional.group" and 'group = "activity"' in p.fix


def test_cross_sectional_by_column_problems(tmp_path):
    root = cross_sectional_bundle(tmp_path / "xs")
    p = pd.read_csv(root / "participants.csv")
    p.loc[3, "age_band"] = None
    p.to_csv(root / "participants.csv", index=False)
    hit = _hits(validate_study(root), "by value missing")
    assert (hit.row, hit.column) == (5, "age_band")
    p.drop(columns=["age_band"]).to_csv(root / "participants.csv", index=False)
    hit = _hits(validate_study(root), "named by by in [analysis.cross_sectional] is not a column")
    assert hit.column == "age_band"


@pytest.mark.parametrize("method", ["ancova", "clda", "mixed_anova"])
def test_cross_sectional_refuses_longitudinal_methods(tmp_path, method):
    root = cross_sectional_bundle(tmp_path / "xs", methods=f'methods = ["cross_sectional", "{method}"]')
    p = _hits(validate_study(root), "no follow-up")
    assert p.column == "analysis.methods" and p.value == method


def test_randomised_refuses_paired_change(small_bundle):
    toml = small_bundle / "study.toml"
    text = toml.read_text()
    toml.write_text(text.replace('methods = ["ancova"', 'methods = ["paired_change", "ancova"'))
    p = _hits(validate_study(small_bundle), "within-arm tests are no comparison")
    assert p.value == "paired_change"
