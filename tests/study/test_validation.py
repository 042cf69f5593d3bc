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
    _edit(
        small_bundle,
        "measurements",
        lambda f: f.assign(outcome=f["outcome"].where(~f.index.isin([4, 9, 11]), "tewl")),
    )
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
        "participant_id == @first.participant_id and visit == @first.visit and outcome == @first.outcome"
    )
    assert row["n_replicates"].item() == 3
    assert row["value"].item() == pytest.approx((float(first["value"]) + 0.5 + 0.6) / 3, rel=1e-12)


@pytest.mark.parametrize(
    "bad, message",
    [("abc", "not a number"), ("", "value is empty"), ("inf", "infinite"), ("nan", "not a number")],
)
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
    _edit(
        small_bundle,
        "measurements",
        lambda f: f.assign(participant_id=f["participant_id"].where(f.index != 5, "P999")),
    )
    p = _one(_problems(small_bundle), "not in participants.csv")
    assert (p.row, p.value) == (7, "P999")


def test_randomised_participant_without_baseline(small_bundle):
    pid = pd.read_csv(small_bundle / "participants.csv")["participant_id"].iloc[0]
    _edit(
        small_bundle, "measurements", lambda f: f[~((f["participant_id"] == pid) & (f["visit"] == "week0"))]
    )
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
    _toml_edit(
        small_bundle,
        ('reference_arm = "AT"', 'reference_arm = "CON"'),
        ("alpha = 0.05", "alpha = 5"),
        ('primary = ["', 'primary = ["tewl", "'),
    )
    problems = validate_study(small_bundle)
    assert {p.column for p in problems} >= {"analysis.alpha", "study.reference_arm", "analysis.primary"}
    assert all(p.fix for p in problems)
    assert len([p for p in problems if p.column == "study.reference_arm"]) == 1


def test_a_declared_arm_without_participants_is_named(small_bundle):
    _toml_edit(small_bundle, ('arms = ["AT", "RT"]', 'arms = ["CON", "AT", "RT"]'))
    p = _one(_problems(small_bundle), "no participant")
    assert (p.column, p.value) == ("arm", "CON") and p.file.endswith("participants.csv")


def test_each_value_out_of_range_is_reported_on_its_row(small_bundle):
    def edit(f):
        rows = f.index[f["outcome"] == "r2"][:3]
        return f.assign(value=f["value"].where(~f.index.isin(rows), "68.8"))

    _edit(small_bundle, "measurements", edit)
    hits = [p for p in _problems(small_bundle) if "outside the physical range" in p.message]
    m = pd.read_csv(small_bundle / "measurements.csv", dtype=str)
    assert sorted(p.row for p in hits) == sorted((m.index[m["value"] == "68.8"] + 2).tolist())
    assert all(p.rows_affected == 1 and p.value == "68.8" for p in hits)


@pytest.mark.parametrize("unit, bad, good", [("a.u.", "7", "0.7"), ("%", "170", "70"), ("1", "-0.2", "0.2")])
def test_cutometer_ratio_range_applies_whatever_the_unit_is_called(small_bundle, unit, bad, good):
    text = (small_bundle / "study.toml").read_text()
    block = text[text.index("[outcomes.r2]") :]
    block = block[: block.index("\n\n")]
    unit_line = next(line for line in block.splitlines() if line.startswith("unit ="))
    _toml_edit(small_bundle, (block, block.replace(unit_line, f'unit = "{unit}"')))

    def edit(f):
        rows = f.index[f["outcome"] == "r2"]
        return f.assign(value=f["value"].where(~f.index.isin(rows[1:]), good).where(f.index != rows[0], bad))

    _edit(small_bundle, "measurements", edit)
    hits = [p for p in _problems(small_bundle) if "outside the physical range" in p.message]
    assert [(p.value, "cutometer output 'r2'" in p.message) for p in hits] == [(bad, True)]


@pytest.mark.parametrize("unit, bad", [("millimetres", "-1"), ("µm", "50"), ("mm", "12")])
def test_dermal_thickness_range_from_the_ultrasound_output(small_bundle, unit, bad):
    _toml_edit(small_bundle, ('unit = "mm"', f'unit = "{unit}"'))
    factor = 1000 if unit == "µm" else 1

    def edit(f):
        rows = f.index[f["outcome"] == "dermal_thickness"]
        scaled = (pd.to_numeric(f["value"]) * factor).map(repr)
        f = f.assign(value=f["value"].where(~f.index.isin(rows), scaled))
        return f.assign(value=f["value"].where(f.index != rows[0], bad))

    _edit(small_bundle, "measurements", edit)
    hits = [p for p in _problems(small_bundle) if "outside the physical range" in p.message]
    assert [p.value for p in hits] == [bad] and "dermal_thickness_mm" in hits[0].message


def test_an_unknown_unit_is_a_note_not_silence(small_bundle):
    _toml_edit(small_bundle, ('unit = "kg"', 'unit = "stone"'))
    assert validate_study(small_bundle) == []
    notes = [p for p in validate_study(small_bundle, notes=True) if p.kind == "note"]
    assert len(notes) == 1 and "'stone'" in notes[0].message and "min and max" in notes[0].fix
    assert load_study(small_bundle).notes == tuple(notes)


@pytest.mark.parametrize("column", ["participant_id", "visit", "outcome"])
def test_an_empty_key_cell_is_named_as_empty(small_bundle, column):
    _edit(small_bundle, "measurements", lambda f: f.assign(**{column: f[column].where(f.index != 4, "")}))
    problems = _problems(small_bundle)
    p = _one(problems, f"empty {column}")
    assert (p.row, p.column, p.value) == (6, column, None)
    assert not any("nan" in p.render() for p in problems)


def test_an_empty_arm_is_named_as_empty(small_bundle):
    _edit(small_bundle, "participants", lambda f: f.assign(arm=f["arm"].where(f.index != 2, "")))
    problems = _problems(small_bundle)
    p = _one(problems, "empty arm")
    assert (p.row, p.column) == (4, "arm")
    assert not any("unknown arm" in q.message for q in problems)


def test_row_numbers_stay_right_after_a_blank_line(small_bundle):
    _edit(
        small_bundle, "measurements", lambda f: f.assign(value=f["value"].where(f.index != 4, "abc"))
    )  # row 6
    path = small_bundle / "measurements.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines[:3], "", *lines[3:]]) + "\n")  # a blank line at spreadsheet row 4
    p = _one(_problems(small_bundle), "not a number")
    assert p.row == 7  # row 6 of the file before, one row down
    notes = [n for n in validate_study(small_bundle, notes=True) if n.kind == "note"]
    assert [(n.row, n.message) for n in notes] == [(4, "blank row skipped")]


def test_blank_excel_rows_are_skipped_with_one_note(small_bundle):
    frame = pd.read_csv(small_bundle / "measurements.csv", dtype=str, keep_default_na=False)
    blank = pd.DataFrame([[""] * frame.shape[1]], columns=frame.columns)
    pd.concat([frame.iloc[:4], blank, frame.iloc[4:]]).to_excel(
        small_bundle / "measurements.xlsx", index=False
    )
    (small_bundle / "measurements.csv").unlink()
    assert validate_study(small_bundle) == []
    notes = validate_study(small_bundle, notes=True)
    assert [(n.kind, n.row) for n in notes] == [("note", 6)] and notes[0].file.endswith("measurements.xlsx")


def test_measurements_after_the_withdrawal_visit(small_bundle):
    parts = pd.read_csv(small_bundle / "participants.csv", dtype=str, keep_default_na=False)
    meas = pd.read_csv(small_bundle / "measurements.csv", dtype=str, keep_default_na=False)
    pid = next(
        p
        for p in parts.loc[parts["status"] == "completed", "participant_id"]
        if ((meas["participant_id"] == p) & (meas["visit"] == "week16")).any()
    )
    _edit(
        small_bundle,
        "participants",
        lambda f: f.assign(
            status=f["status"].where(f["participant_id"] != pid, "withdrawn"),
            withdrawal_visit=f["withdrawal_visit"].where(f["participant_id"] != pid, "week0"),
            withdrawal_reason=f["withdrawal_reason"].where(f["participant_id"] != pid, "moved"),
        ),
    )
    p = _one(_problems(small_bundle), "says they withdrew")
    later = meas.index[(meas["participant_id"] == pid) & (meas["visit"] == "week16")]
    assert (p.file.endswith("measurements.csv"), p.row, p.column, p.value) == (
        True,
        later[0] + 2,
        "visit",
        "week16",
    )
    assert pid in p.message and p.rows_affected == len(later)


def test_no_follow_up_data_at_all_is_a_study_level_problem(small_bundle):
    _edit(small_bundle, "measurements", lambda f: f[f["visit"] != "week16"])
    problems = _problems(small_bundle)
    p = _one(problems, "no measurements at the follow-up visit 'week16'")
    assert p.file.endswith("measurements.csv") and "[study] visits" in p.message + p.fix


def test_messages_name_the_files_actually_read(small_bundle):
    for table in ("participants", "measurements"):
        frame = pd.read_csv(small_bundle / f"{table}.csv", dtype=str, keep_default_na=False)
        if table == "measurements":
            frame.loc[0, "participant_id"] = "P999"
            frame = pd.concat([frame, frame.iloc[[3]]], ignore_index=True)
        frame.to_parquet(small_bundle / f"{table}.parquet", index=False)
        (small_bundle / f"{table}.csv").unlink()
    problems = _problems(small_bundle)
    p = _one(problems, "not in participants.parquet")
    assert "participants.parquet" in p.fix and p.file.endswith("measurements.parquet")
    dup = _one(problems, "duplicate measurement")
    assert "as row 5" in dup.message and not any("participants.csv" in q.render() for q in problems)


def test_a_non_utf8_table_says_to_save_it_as_utf8(small_bundle):
    path = small_bundle / "participants.csv"
    text = path.read_text()
    path.write_bytes(text.encode("utf-8") + "Zoë,AT\n".encode("latin-1"))  # saved by a legacy editor
    p = _one(_problems(small_bundle), "not UTF-8")
    assert "UTF-8" in p.fix and p.row == len(text.splitlines()) + 1


@pytest.mark.parametrize(
    "body, message, row",
    [
        ('participant_id,arm\nP01,AT\nP02,"RT\nP03,AT\n', "EOF inside string starting at row 3", 3),
        ("participant_id,arm\nP01,AT\nP02,RT,extra,more\n", "Expected 2 fields in line 3", 3),
        ("", "the file is empty", None),
    ],
)
def test_an_unparsable_table_names_its_row(small_bundle, body, message, row):
    (small_bundle / "participants.csv").write_text(body)
    with pytest.raises(InputError, match=message) as err:
        load_study(small_bundle)
    (p,) = err.value.problems
    assert p.file.endswith("participants.csv") and p.row == row and "save the table" in p.fix


def test_a_non_utf8_study_toml_gets_text_editor_advice_not_spreadsheet_advice(small_bundle):
    path = small_bundle / "study.toml"
    text = path.read_text()
    path.write_bytes(text.encode("utf-8") + "# Zoë\n".encode("latin-1"))  # saved by a legacy editor
    with pytest.raises(InputError) as err:
        load_study(small_bundle)
    (p,) = err.value.problems
    assert "not UTF-8" in p.message and p.file == str(path) and p.row == len(text.splitlines()) + 1
    assert "study.toml" in p.fix and "text editor" in p.fix
    assert "CSV" not in p.fix and "Excel" not in p.fix and "LibreOffice" not in p.fix


def test_study_toml_problems_do_not_hide_the_tables_problems(small_bundle):
    _toml_edit(small_bundle, ("alpha = 0.05", "alpha = 5"))
    _edit(
        small_bundle,
        "measurements",
        lambda f: f.assign(
            value=f["value"].where(f.index != 7, "abc"), visit=f["visit"].where(f.index != 3, "week9")
        ),
    )
    problems = validate_study(small_bundle)
    assert {(p.column, p.row) for p in problems} >= {("analysis.alpha", None), ("value", 9), ("visit", 5)}


@pytest.mark.parametrize(
    "table, methods, column, text",
    [
        (
            '[analysis.cross_sectional]\ngroup = "age_group"\n',
            '"ancova"',
            "analysis.cross_sectional",
            "not in [analysis] methods",
        ),
        (
            '[analysis.cross_sectional]\nvisit = "week8"\n',
            '"ancova", "cross_sectional"',
            "analysis.cross_sectional.visit",
            "not one of [study] visits",
        ),
        (
            '[analysis.cross_sectional]\nreference_group = "CON"\n',
            '"ancova", "cross_sectional"',
            "analysis.cross_sectional.reference_group",
            "not one of arms",
        ),
        (
            '[analysis.cross_sectional]\ngroup = "fitness"\n',
            '"ancova", "cross_sectional"',
            "fitness",
            "grouping column 'fitness'",
        ),
        (
            '[analysis.cross_sectional]\ngroup = "age_group"\nreference_group = "30-39"\n',
            '"ancova", "cross_sectional"',
            "age_group",
            "reference_group of [analysis.cross_sectional]",
        ),
        (
            '[analysis.cross_sectional]\ncovariates = ["bmi"]\n',
            '"ancova", "cross_sectional"',
            "bmi",
            "covariate 'bmi'",
        ),
    ],
)
def test_cross_sectional_settings_are_checked(small_bundle, table, methods, column, text):
    _toml_edit(
        small_bundle,
        ('methods = ["ancova", "clda", "mixed_anova"]', f"methods = [{methods}]"),
        ("per_protocol_min_adherence = 0.8\n", f"per_protocol_min_adherence = 0.8\n\n{table}"),
    )
    p = _one(_problems(small_bundle), text)
    assert p.column == column


def _duplicates_by_row_keys(df: pd.DataFrame) -> list[tuple[int, int]]:
    """The specification the vectorised check must meet: (row, row it repeats), from a key per row."""
    keys = ["participant_id", "visit", "outcome"] + (["replicate"] if "replicate" in df.columns else [])
    seen: dict[tuple, int] = {}
    out = []
    for rec in df.to_dict("records"):
        key = tuple("" if rec[k] is None else str(rec[k]) for k in keys)
        if key in seen and all(rec[k] is not None for k in keys[:3]):
            out.append((rec["_row"], seen[key]))
        seen.setdefault(key, rec["_row"])
    return out


def _no_call_per_row(method):
    def call(self, func=None, axis=0, *args, **kwargs):
        if axis in (1, "columns"):
            raise AssertionError(f"DataFrame.{method.__name__}(axis=1): a Python call per row")
        return method(self, func, axis, *args, **kwargs)

    return call


@pytest.mark.parametrize("replicate", [False, True])
@pytest.mark.parametrize("seed", range(5))
def test_duplicate_measurements_name_the_row_they_repeat(seed, replicate, monkeypatch):
    """Every repeat (empty cells included) names the first row with its key (the first MAX_SHOWN
    repeats; one record counts the rest), and the check never calls Python once per row (a key string
    per row took 1 s on 240k rows; df.duplicated takes 0.03 s)."""
    import numpy as np

    from skintrial.errors import MAX_SHOWN
    from skintrial.study._validate import _duplicates

    rng = np.random.default_rng(seed)
    n = 300

    def pick(values):
        return [values[i] for i in rng.integers(0, len(values), n)]

    df = pd.DataFrame(
        {
            "participant_id": pick(["P1", "P2", "P3", None]),
            "visit": pick(["week0", "week16", None]),
            "outcome": pick(["r2", "tewl", None]),
            "value": pick(["1.0", "2.0"]),
        }
    )
    if replicate:
        df["replicate"] = pick(["1", "2", None])
    df["_row"] = rng.permutation(n) + 2  # any spreadsheet numbering, not the index order
    for name in ("agg", "aggregate", "apply"):
        monkeypatch.setattr(pd.DataFrame, name, _no_call_per_row(getattr(pd.DataFrame, name)))
    problems = _duplicates(df, "measurements.csv")
    keys = "participant_id, visit, outcome" + (", replicate" if replicate else "")
    expected = _duplicates_by_row_keys(df)
    shown, rest = problems[:MAX_SHOWN], problems[MAX_SHOWN:]
    assert [(p.row, p.message) for p in shown] == [
        (row, f"duplicate measurement: same {keys} as row {first}") for row, first in expected[:MAX_SHOWN]
    ]
    # the rows past the first MAX_SHOWN are counted in one record, not listed one by one
    assert [p.rows_affected for p in rest] == [len(expected) - MAX_SHOWN]
    assert rest[0].message.startswith("duplicate measurement") and "more rows" in rest[0].message
    assert all(p.column == "outcome" and p.file == "measurements.csv" for p in problems)
