"""The column lists in docs/statistics.md are the schemas of ``stats/_schema.py`` (one source, checked)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from skintrial.stats import _schema

DOC = (Path(__file__).resolve().parents[2] / "docs" / "statistics.md").read_text(encoding="utf-8")
ROWS = {m.group(1): m.group(2) for m in re.finditer(r"\| `([A-Z_]+_COLUMNS)` \| `([^`]+)` \|", DOC)}


@pytest.mark.parametrize(
    "name",
    [
        "CONTRAST_COLUMNS",
        "EMMEANS_COLUMNS",
        "VISIT_EMMEANS_COLUMNS",
        "FTEST_COLUMNS",
        "MIXED_ANOVA_COLUMNS",
        "DESCRIPTIVE_COLUMNS",
        "CHANGE_COLUMNS",
        "CROSS_SECTIONAL_COLUMNS",
        "TWO_WAY_ANOVA_COLUMNS",
        "SIMPLE_EFFECTS_COLUMNS",
        "TWO_WAY_MEANS_COLUMNS",
        "PAIRED_CHANGE_COLUMNS",
    ],
)
def test_documented_columns_are_the_schema(name):
    assert name in ROWS, f"docs/statistics.md does not list {name}"
    assert tuple(ROWS[name].split(", ")) == getattr(_schema, name)


def test_every_documented_status_column_table_has_status():
    for name in (
        "CONTRAST_COLUMNS",
        "EMMEANS_COLUMNS",
        "VISIT_EMMEANS_COLUMNS",
        "FTEST_COLUMNS",
        "MIXED_ANOVA_COLUMNS",
    ):
        assert getattr(_schema, name)[-1] == "status"
