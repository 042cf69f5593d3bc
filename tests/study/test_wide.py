"""Wide measurement sheets ([measurements] layout = "wide" / "wide_per_visit") and SPSS/Stata tables:
reshaped to the same study, every problem at the sheet's own row and column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from skintrial.errors import InputError
from skintrial.study import load_study, read_table, validate_study


def _wide(long: pd.DataFrame, pattern: str = "{outcome}_{visit}") -> pd.DataFrame:
    long = long.assign(
        column=[pattern.format(outcome=o, visit=v) for o, v in zip(long.outcome, long.visit, strict=True)]
    )
    wide = long.pivot(index="participant_id", columns="column", values="value").reset_index()
    wide.columns.name = None
    return wide


def _declare(bundle: Path, text: str) -> None:
    toml = bundle / "study.toml"
    toml.write_text(toml.read_text() + "\n" + text + "\n")


@pytest.fixture
def long(small_bundle) -> pd.DataFrame:
    return pd.read_csv(small_bundle / "measurements.csv", dtype={"value": str})


def test_wide_xlsx_gives_the_long_study(small_bundle, long):
    before = load_study(small_bundle)
    (small_bundle / "measurements.csv").unlink()
    _wide(long.assign(value=long.value.astype(float))).to_excel(
        small_bundle / "measurements.xlsx", index=False
    )
    _declare(small_bundle, '[measurements]\nlayout = "wide"')
    assert validate_study(small_bundle) == []
    after = load_study(small_bundle)
    pd.testing.assert_frame_equal(after.measurements, before.measurements)


def test_wide_per_visit_with_renamed_columns_and_visits(small_bundle, long):
    before = load_study(small_bundle)
    per_visit = long.pivot(index=["participant_id", "visit"], columns="outcome", values="value").reset_index()
    per_visit.columns.name = None
    per_visit["visit"] = per_visit["visit"].map({"week0": "Pre", "week16": "Post"})
    per_visit = per_visit.rename(columns={"participant_id": "ID", "r2": "R2 (cheek)"})
    per_visit.insert(1, "initials", "XY")
    per_visit.to_csv(small_bundle / "measurements.csv", index=False)
    _declare(
        small_bundle,
        '[measurements]\nlayout = "wide_per_visit"\nid_column = "ID"\nignore_columns = ["initials"]\n'
        '[measurements.visit_names]\nweek0 = "pre"\nweek16 = "post"\n'
        '[measurements.outcome_names]\nr2 = "R2 (cheek)"',
    )
    assert validate_study(small_bundle) == []
    pd.testing.assert_frame_equal(load_study(small_bundle).measurements, before.measurements)


def test_a_bad_cell_is_named_by_the_sheets_row_column_and_cell(small_bundle, long):
    wide = _wide(long)
    wide.loc[3, "r2_week16"] = "0.7 (repeat)"
    wide.loc[5, "dermal_thickness_week0"] = "25"  # 25 mm: a unit slip
    wide["vo2_week0"] = ""
    wide.to_csv(small_bundle / "measurements.csv", index=False)
    _declare(small_bundle, '[measurements]\nlayout = "wide"')
    problems = validate_study(small_bundle)
    by = {p.message.split(" (")[0]: p for p in problems}
    nan = by["value is not a number"]
    col = list(wide.columns).index("r2_week16")
    assert nan.row == 5 and nan.column == "r2_week16" and nan.value == "0.7 (repeat)"
    assert f"(cell {chr(65 + col)}5)" in nan.message
    out = next(p for p in problems if "outside the physical range" in p.message)
    assert out.row == 7 and out.column == "dermal_thickness_week0"
    unknown = next(p for p in problems if p.column == "vo2_week0")
    assert unknown.row == 1 and "ignore_columns" in unknown.fix
    assert all(p.file.endswith("measurements.csv") for p in problems)


def test_empty_cells_are_measurements_not_taken(small_bundle, long):
    wide = _wide(long)
    wide.loc[0, "r2_week16"] = None
    wide.to_csv(small_bundle / "measurements.csv", index=False)
    _declare(small_bundle, '[measurements]\nlayout = "wide"')
    assert validate_study(small_bundle) == []
    m = load_study(small_bundle).measurements
    pid = wide.loc[0, "participant_id"]
    assert not ((m.participant_id == pid) & (m.visit == "week16") & (m.outcome == "r2")).any()


def test_a_participant_twice_is_named_with_the_first_row(small_bundle, long):
    wide = _wide(long)
    wide = pd.concat([wide, wide.iloc[[2]]], ignore_index=True)
    wide.to_csv(small_bundle / "measurements.csv", index=False)
    _declare(small_bundle, '[measurements]\nlayout = "wide"')
    (p,) = [p for p in validate_study(small_bundle) if "same participant" in p.message]
    assert p.row == len(wide) + 1 and "as row 4" in p.message


def test_pattern_must_name_outcome_and_visit(small_bundle):
    _declare(small_bundle, '[measurements]\nlayout = "wide"\ncolumns = "{outcome}"')
    problems = validate_study(small_bundle)
    assert any(p.column == "measurements" and "{visit}" in p.message for p in problems)


def test_a_missing_id_column_is_named(small_bundle, long):
    _wide(long).rename(columns={"participant_id": "subject"}).to_csv(
        small_bundle / "measurements.csv", index=False
    )
    _declare(small_bundle, '[measurements]\nlayout = "wide"')
    p = next(p for p in validate_study(small_bundle) if p.row == 1)
    assert "id column 'participant_id'" in p.message and "subject" in p.message


# --- SPSS and Stata ---------------------------------------------------------------------------------


def test_spss_value_labels_user_missing_and_variable_labels(small_bundle, long):
    before = load_study(small_bundle)
    parts = pd.read_csv(small_bundle / "participants.csv", dtype=str, keep_default_na=False)
    sav = parts.assign(arm=parts.arm.map({"AT": 1.0, "RT": 2.0}), age=pd.to_numeric(parts.age).astype(float))
    sav.loc[0, "age"] = 999.0  # declared missing: never the age 999
    (small_bundle / "participants.csv").unlink()
    pyreadstat.write_sav(
        sav,
        small_bundle / "participants.sav",
        variable_value_labels={"arm": {1.0: "AT", 2.0: "RT"}},
        missing_ranges={"age": [999.0]},
    )
    wide = _wide(long.assign(value=long.value.astype(float)))
    labels = {c: f"Gross elasticity R2, {c.rsplit('_', 1)[1]}" for c in wide.columns if c.startswith("r2_")}
    (small_bundle / "measurements.csv").unlink()
    pyreadstat.write_sav(wide, small_bundle / "measurements.sav", column_labels=labels)
    toml = small_bundle / "study.toml"
    toml.write_text(
        toml.read_text().replace('label = "Gross elasticity R2 (cheek)"\n', "")
        + '\n[measurements]\nlayout = "wide"\n'
    )
    assert validate_study(small_bundle) == []
    study = load_study(small_bundle)
    assert study.participants["arm"].tolist() == before.participants["arm"].tolist()
    assert np.isnan(study.participants["age"].iloc[0])
    assert study.spec.outcomes["r2"].label == "Gross elasticity R2"  # the labels' common beginning
    pd.testing.assert_frame_equal(study.measurements, before.measurements)


def test_stata_long_measurements_with_labelled_outcomes(small_bundle, long):
    before = load_study(small_bundle)
    codes = {o: i for i, o in enumerate(sorted(long.outcome.unique()), start=1)}
    dta = long.assign(outcome=long.outcome.map(codes), value=long.value.astype(float))
    (small_bundle / "measurements.csv").unlink()
    pyreadstat.write_dta(
        dta,
        small_bundle / "measurements.dta",
        variable_value_labels={"outcome": {i: o for o, i in codes.items()}},
    )
    assert validate_study(small_bundle) == []
    pd.testing.assert_frame_equal(load_study(small_bundle).measurements, before.measurements)


def test_a_broken_spss_file_is_named(tmp_path):
    p = tmp_path / "participants.sav"
    p.write_bytes(b"not an spss file")
    with pytest.raises(InputError) as err:
        read_table(p)
    assert "could not be read as a SPSS file" in err.value.problems[0].message
