"""One test per validation class: each problem is found, located (file, row, column) and has a fix."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from skintrial.errors import InputError
from skintrial.study import load_study, validate_study


def _edit(bundle: Path, table: str, fn) -> None:
    path = bundle / f"{table}.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    fn(frame).to_csv(path, index=False, lineterminator="\n")


def _problems(bundle: Path):
    problems = validate_study(bundle)
    assert problems, "expected the bundle to be invalid"
    return problems


def _one(problems, text: str):
    hits = [p for p in problems if text in p.message]
    assert hits, f"no problem mentions {text!r}: {[p.message for p in problems]}"
    assert all(p.fix for p in hits)
    return hits[0]


def test_valid_bundle_has_no_problems(small_bundle):
    assert validate_study(small_bundle) == []
    study = load_study(small_bundle)
    assert set(study.measurements.columns) >= {"participant_id", "visit", "outcome", "value", "n_replicates"}


def test_unknown_arm(small_bundle):
    _edit(small_bundle, "participants", lambda f: f.assign(arm=f["arm"].where(f.index != 3, "YOGA")))
    p = _one(_problems(small_bundle), "unknown arm")
    assert (p.file.endswith("participants.csv"), p.row, p.column, p.value) == (True, 5, "arm", "YOGA")


def test_unknown_visit(small_bundle):
    _edit(small_bundle, "measurements", lambda f: f.assign(visit=f["visit"].where(f.index != 0, "week8")))
    p = _one(_problems(small_bundle), "unknown visit")
    assert (p.row, p.column, p.value) == (2, "visit", "week8")


def test_undeclared_outcome_names_it_once_with_count(small_bundle):
    _edit(small_bundle, "measurements",
          lambda f: f.assign(outcome=f["outcome"].where(~f.index.isin([4, 9, 11]), "tewl")))
    p = _one(_problems(small_bundle), "not declared")
    assert (p.row, p.column, p.value, p.rows_affected) == (6, "outcome", "tewl", 3)
    assert "[outcomes.tewl]" in p.fix


def test_duplicate_participant_id(small_bundle):
    _edit(small_bundle, "participants", lambda f: pd.concat([f, f.iloc[[2]]], ignore_index=True))
    p = _one(_problems(small_bundle), "duplicate participant id")
    assert (p.row, p.column) == (22, "participant_id")


def test_duplicate_measurement(small_bundle):
    _edit(small_bundle, "measurements", lambda f: pd.concat([f, f.iloc[[0]]], ignore_index=True))
    p = _one(_problems(small_bundle), "duplicate measurement")
    assert "replicate" in p.fix


def test_replicates_are_averaged_by_the_declared_rule(small_bundle):
    m = pd.read_csv(small_bundle / "measurements.csv", dtype=str)
    rep = m.iloc[[0, 0]].assign(replicate=["2", "3"], value=["0.5", "0.6"])
    m = pd.concat([m.assign(replicate="1"), rep], ignore_index=True)
    m.to_csv(small_bundle / "measurements.csv", index=False)
    study = load_study(small_bundle)
    first = m.iloc[0]
    row = study.measurements.query(
        "participant_id == @first.participant_id and visit == @first.visit and outcome == @first.outcome")
    assert row["n_replicates"].item() == 3
    assert row["value"].item() == pytest.approx((float(first["value"]) + 0.5 + 0.6) / 3, rel=1e-12)


@pytest.mark.parametrize("bad, message", [("abc", "not a number"), ("", "value is empty"),
                                          ("inf", "infinite"), ("nan", "not a number")])
def test_non_numeric_nan_and_infinite_values(small_bundle, bad, message):
    _edit(small_bundle, "measurements", lambda f: f.assign(value=f["value"].where(f.index != 7, bad)))
    p = _one(_problems(small_bundle), message)
    assert (p.row, p.column) == (9, "value")


@pytest.mark.parametrize("outcome, bad", [("r2", "7"), ("dermal_thickness", "-1")])
def test_values_outside_the_physical_range(small_bundle, outcome, bad):
    def edit(f):
        idx = f.index[f["outcome"] == outcome][0]
        return f.assign(value=f["value"].where(f.index != idx, bad))

    _edit(small_bundle, "measurements", edit)
    p = _one(_problems(small_bundle), "outside the physical range")
    assert p.value == bad and outcome in p.message


def test_measurements_for_unknown_participant(small_bundle):
    _edit(small_bundle, "measurements",
          lambda f: f.assign(participant_id=f["participant_id"].where(f.index != 5, "P999")))
    p = _one(_problems(small_bundle), "not in participants.csv")
    assert (p.row, p.value) == (7, "P999")


def test_randomised_participant_without_baseline(small_bundle):
    pid = pd.read_csv(small_bundle / "participants.csv")["participant_id"].iloc[0]
    _edit(small_bundle, "measurements",
          lambda f: f[~((f["participant_id"] == pid) & (f["visit"] == "week0"))])
    p = _one(_problems(small_bundle), "no measurement at the baseline visit")
    assert p.value == pid and p.file.endswith("participants.csv")


def test_withdrawal_needs_visit_and_reason(small_bundle):
    def edit(f):
        f = f.copy()
        f.loc[0, ["status", "withdrawal_visit", "withdrawal_reason"]] = ["withdrawn", "", ""]
        return f

    _edit(small_bundle, "participants", edit)
    problems = _problems(small_bundle)
    _one(problems, "last visit attended")
    _one(problems, "withdrawal reason")


def test_study_toml_errors_name_the_key(small_bundle):
    toml = (small_bundle / "study.toml").read_text()
    (small_bundle / "study.toml").write_text(toml.replace("baseline_visit =", "basline_visit =", 1))
    problems = _problems(small_bundle)
    assert {p.column for p in problems} >= {"study.basline_visit", "study.baseline_visit"}
    assert all(p.file.endswith("study.toml") for p in problems)


def test_all_problems_in_one_pass_and_load_raises(small_bundle):
    _edit(small_bundle, "participants", lambda f: f.assign(arm=f["arm"].where(f.index != 0, "X")))
    _edit(small_bundle, "measurements", lambda f: f.assign(visit=f["visit"].where(f.index != 0, "w9")))
    assert len(validate_study(small_bundle)) >= 2
    with pytest.raises(InputError) as info:
        load_study(small_bundle)
    assert "problems found" in str(info.value)


@pytest.mark.parametrize("fmt", ["xlsx", "parquet"])
def test_excel_and_parquet_tables_read_like_csv(small_bundle, fmt):
    reference = load_study(small_bundle)
    for table in ("participants", "measurements"):
        frame = pd.read_csv(small_bundle / f"{table}.csv", dtype=str, keep_default_na=False)
        if fmt == "xlsx":
            frame.to_excel(small_bundle / f"{table}.xlsx", index=False)
        else:
            frame.to_parquet(small_bundle / f"{table}.parquet", index=False)
        (small_bundle / f"{table}.csv").unlink()
    study = load_study(small_bundle)
    pd.testing.assert_frame_equal(study.measurements, reference.measurements)


def test_excel_row_numbers_match_the_spreadsheet(small_bundle):
    frame = pd.read_csv(small_bundle / "measurements.csv", dtype=str, keep_default_na=False)
    frame.loc[10, "value"] = "n/a"
    frame.to_excel(small_bundle / "measurements.xlsx", index=False)
    (small_bundle / "measurements.csv").unlink()
    p = _one(_problems(small_bundle), "not a number")
    assert p.row == 12 and p.file.endswith("measurements.xlsx")


def test_withdrawn_without_the_withdrawal_columns(small_bundle):
    def edit(f):
        f = f.drop(columns=["withdrawal_visit", "withdrawal_reason"])
        f.loc[0, "status"] = "withdrawn"
        return f

    _edit(small_bundle, "participants", edit)
    problems = _problems(small_bundle)
    missing = {p.column for p in problems if "there is no" in p.message}
    assert missing == {"withdrawal_visit", "withdrawal_reason"}


def test_duplicates_with_an_empty_replicate_cell_are_not_averaged(small_bundle):
    m = pd.read_csv(small_bundle / "measurements.csv", dtype=str, keep_default_na=False)
    m["replicate"] = ""
    m = pd.concat([m, m.iloc[[0]].assign(value="9.9")], ignore_index=True)
    m.to_csv(small_bundle / "measurements.csv", index=False)
    _one(_problems(small_bundle), "duplicate measurement")


def test_a_declared_outcome_without_data_is_an_error(small_bundle):
    toml = small_bundle / "study.toml"
    toml.write_text(toml.read_text() + '\n[outcomes.tewl]\nunit = "g/m2/h"\n')
    p = _one(_problems(small_bundle), "declared but has no measurements")
    assert p.column == "outcomes.tewl"


def test_a_misspelt_table_is_named(small_bundle):
    toml = small_bundle / "study.toml"
    toml.write_text(toml.read_text() + "\n[analysys]\nalpha = 0.01\n")
    p = _one(_problems(small_bundle), "unknown table")
    assert p.column == "analysys"


def _toml_edit(bundle: Path, *pairs: tuple[str, str]) -> None:
    toml = bundle / "study.toml"
    text = toml.read_text()
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    toml.write_text(text)


def test_a_study_needs_two_distinct_arms(small_bundle):
    _toml_edit(small_bundle, ('arms = ["AT", "RT"]', 'arms = ["RT"]'), ('reference_arm = "AT"\n', ""))
    p = _one(_problems(small_bundle), "at least 2 arms")
    assert (p.column, p.value) == ("study.arms", ["RT"]) and p.file.endswith("study.toml")


def test_baseline_visit_cannot_be_the_last_visit(small_bundle):
    _toml_edit(small_bundle, ('baseline_visit = "week0"', 'baseline_visit = "week16"'))
    p = _one(_problems(small_bundle), "is the last of visits")
    assert (p.column, p.value) == ("study.baseline_visit", "week16")


def test_every_study_toml_problem_is_reported_together(small_bundle):
    """Cross-checks (reference arm, plan outcomes) are not held back by a field error elsewhere."""
    _toml_edit(small_bundle, ('reference_arm = "AT"', 'reference_arm = "CON"'), ("alpha = 0.05", "alpha = 5"),
               ('primary = ["', 'primary = ["tewl", "'))
    problems = validate_study(small_bundle)
    assert {p.column for p in problems} >= {"analysis.alpha", "study.reference_arm", "analysis.primary"}
    assert all(p.fix for p in problems)
    assert len([p for p in problems if p.column == "study.reference_arm"]) == 1
