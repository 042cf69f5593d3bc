"""The examples of docs/import.md (docs/examples/) are valid and say what the page says they say."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skintrial.study import import_redcap, load_study, validate_study, write_redcap_bundle

DOCS = Path(__file__).resolve().parents[2] / "docs"
EXAMPLES = DOCS / "examples"


@pytest.fixture(scope="module")
def original():
    return load_study(DOCS / "example_bundle")


@pytest.mark.parametrize("form", ["european", "spss", "wide"])
def test_example_is_valid(form):
    assert validate_study(EXAMPLES / form) == []


def test_european_example_is_the_example_bundle(original):
    study = load_study(EXAMPLES / "european")
    pd.testing.assert_frame_equal(study.measurements, original.measurements)
    pd.testing.assert_frame_equal(study.participants, original.participants)


def test_spss_example_is_the_example_bundle_with_labels_applied(original):
    study = load_study(EXAMPLES / "spss")
    pd.testing.assert_frame_equal(study.measurements, original.measurements)
    p, o = study.participants, original.participants
    assert p["arm"].tolist() == o["arm"].tolist()  # value labels CON/AT/RT, not codes 0/1/2
    assert p["sex"].iloc[:-1].tolist() == o["sex"].iloc[:-1].tolist() and pd.isna(
        p["sex"].iloc[-1]
    )  # 9: missing


def test_wide_example_holds_one_value_per_outcome_and_visit(original):
    study = load_study(EXAMPLES / "wide")
    m = study.measurements.set_index(["participant_id", "visit", "outcome"])["value"]
    o = original.measurements.set_index(["participant_id", "visit", "outcome"])[
        "value"
    ]  # medians of replicates
    assert m.index.sort_values().equals(o.index.sort_values())
    np.testing.assert_allclose(m.loc[o.index].to_numpy(), o.to_numpy(), rtol=1e-12)


def test_redcap_example_imports(tmp_path):
    imported = import_redcap(
        EXAMPLES / "redcap" / "records.csv",
        EXAMPLES / "redcap" / "dictionary.csv",
        EXAMPLES / "redcap" / "mapping.toml",
    )
    write_redcap_bundle(imported, tmp_path / "bundle", mapping=EXAMPLES / "redcap" / "mapping.toml")
    assert validate_study(tmp_path / "bundle") == []
    study = load_study(tmp_path / "bundle")
    assert study.arms == ["AT", "RT"] and len(study.participants) == 8
    assert study.spec.outcomes["dermal_thickness"].min == 0.5  # the field's validation min
