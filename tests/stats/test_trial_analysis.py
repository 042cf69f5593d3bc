"""The four trial analyses return one family of results (``stats._trial.TrialAnalysis``).

ANCOVA, the cross-sectional comparison, cLDA, the mixed ANOVA and the single-arm change share the fields ``contrasts``,
``tests``, ``estimates`` and ``ci_level``, the class-level ``method`` and column schemas, and
``tables()``. These tests fail when one of them drifts: a field renamed or added without being
declared here, a table whose columns are not its declared schema, a written table that the table
registry (``skintrial.tables``) does not know under that stage and those columns.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from skintrial.stats import (
    AncovaResult,
    CldaResult,
    CrossSectionalResult,
    MixedAnovaResult,
    PairedChangeResult,
    TrialAnalysis,
    ancova,
    clda,
    cross_sectional,
    mixed_anova,
    paired_change,
)
from skintrial.study._schema import METHOD_NAMES
from skintrial.tables import TABLES

BASE_FIELDS = ("contrasts", "tests", "estimates", "ci_level")
CLASS_LEVEL = {"method", "contrast_columns", "test_columns", "estimate_columns", "schema", "tables"}

# every analysis: its result class, a call on a small trial, and the fields it adds to the base
ANALYSES = {
    "ancova": (
        AncovaResult,
        lambda d: ancova(
            d, baseline_visit="w0", followup_visit="w16", reference_arm="CON", covariates=["age"]
        ),
        {"fit"},
    ),
    "cross_sectional": (
        CrossSectionalResult,
        lambda d: cross_sectional(
            d, group="arm", at_visit="w0", reference_group="CON", covariates=["age"], by="band"
        ),
        {"fit", "two_way"},
    ),
    "clda": (
        CldaResult,
        lambda d: clda(d, baseline_visit="w0", reference_arm="CON", covariates=["age"]),
        {"visits", "df_method", "covariance", "fallback", "vcov", "visit_covariates"},
    ),
    "mixed_anova": (MixedAnovaResult, lambda d: mixed_anova(d.drop(columns=["band"])), set()),
    "paired_change": (
        PairedChangeResult,
        lambda d: paired_change(d, baseline_visit="w0", visits=["w0", "w8", "w16"]),
        set(),
    ),
}


def _trial() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    rows = []
    for i in range(24):
        arm = ("CON", "AT", "RT")[i % 3]
        age = 40.0 + i
        for o in ("thickness", "elasticity"):
            base = rng.normal(2.0, 0.3)
            for t, v in enumerate(("w0", "w8", "w16")):
                rows.append((f"p{i}", arm, age, v, o, base + 0.1 * t * (arm != "CON") + rng.normal(0, 0.1)))
    d = pd.DataFrame(rows, columns=["participant_id", "arm", "age", "visit", "outcome", "value"])
    return d.assign(band=np.where(d["age"] < 52, "<52", "52+"))


@pytest.fixture(scope="module")
def results() -> dict[str, TrialAnalysis]:
    d = _trial()
    return {m: call(d) for m, (_, call, _) in ANALYSES.items()}


def test_one_analysis_per_method_name():
    assert set(ANALYSES) == set(METHOD_NAMES)
    assert {cls.method: m for m, (cls, _, _) in ANALYSES.items()} == {m: m for m in ANALYSES}
    assert set(TrialAnalysis.__subclasses__()) == {cls for cls, _, _ in ANALYSES.values()}


@pytest.mark.parametrize("method", list(ANALYSES))
def test_fields_are_the_base_fields_then_the_declared_extras(method):
    cls, _, extras = ANALYSES[method]
    names = [f.name for f in dataclasses.fields(cls)]
    assert tuple(names[: len(BASE_FIELDS)]) == BASE_FIELDS
    assert set(names[len(BASE_FIELDS) :]) == extras
    assert cls.__dataclass_params__.frozen and all(f.kw_only for f in dataclasses.fields(cls))
    public = {n for n in dir(cls) if not n.startswith("_")}
    assert public - set(names) == CLASS_LEVEL
    assert not {"emmeans", "arm_test", "group_test"} & public  # one vocabulary: estimates, tests


@pytest.mark.parametrize("method", list(ANALYSES))
def test_every_table_has_exactly_its_declared_columns(results, method):
    res = results[method]
    assert isinstance(res, ANALYSES[method][0])
    for field, columns in type(res).schema().items():
        table = getattr(res, field)
        assert isinstance(table, pd.DataFrame)
        assert tuple(table.columns) == columns, f"{method}.{field}"
        assert "status" in table.columns, f"{method}.{field}"
    assert res.ci_level == (None if method == "mixed_anova" else 0.95)


@pytest.mark.parametrize("method", list(ANALYSES))
def test_written_tables_are_registered_under_the_method(results, method):
    for name, table in results[method].tables().items():
        spec = TABLES[name]
        assert spec.stage == method and spec.written
        assert tuple(table.columns) == spec.columns, name
        assert len(table) > 0


def test_what_each_analysis_fills(results):
    empty = {
        m: {f for f in ("contrasts", "tests", "estimates") if getattr(r, f).empty} for m, r in results.items()
    }
    assert empty == {
        "ancova": set(),
        "cross_sectional": set(),
        "clda": {"tests"},
        "mixed_anova": {"contrasts", "estimates"},
        "paired_change": {"tests"},
    }


def test_clda_writes_every_visit_the_last_primary(results):
    res = results["clda"]
    assert res.visits == ("w0", "w8", "w16")
    assert list(dict.fromkeys(res.contrasts["visit"])) == ["w8", "w16"]
    assert list(dict.fromkeys(res.estimates["visit"])) == ["w0", "w8", "w16"]
    written = res.tables()["clda"]
    pd.testing.assert_frame_equal(written.drop(columns=["primary_visit"]), res.contrasts)
    assert (written["primary_visit"] == (written["visit"] == "w16")).all()


def test_cross_sectional_writes_the_two_way_tables_with_by(results):
    res = results["cross_sectional"]
    assert set(res.tables()) == {"cross_sectional", "two_way_anova", "simple_effects", "two_way_means"}
    assert set(res.two_way.tests["term"]) == {"arm", "band", "arm:band"}


def test_ancova_tables_are_its_fields(results):
    res = results["ancova"]
    t = res.tables()
    assert t["ancova"] is res.contrasts and t["emmeans"] is res.estimates and t["arm_tests"] is res.tests
