"""European spreadsheets: separator, decimal comma and thousands separators detected or declared;
never a silent mis-parse (``1,5`` is never 15 and never two columns)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skintrial.errors import InputError
from skintrial.study import load_study, read_table, validate_study
from skintrial.study._csvformat import parse_numbers
from skintrial.study._formats import CsvSpec


def _table(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_decimal_comma_is_never_fifteen_nor_two_columns(tmp_path):
    p = _table(tmp_path, "participant_id;visit;outcome;value\nP1;week0;r2;1,5\nP2;week0;r2;0,25\n")
    t = read_table(p)
    assert list(t.columns) == ["participant_id", "visit", "outcome", "value", "_row"]
    assert t["value"].tolist() == ["1.5", "0.25"]
    assert pd.to_numeric(t["value"]).tolist() == [1.5, 0.25]


def test_decimal_comma_in_a_comma_file_is_refused_at_its_row(tmp_path):
    p = _table(tmp_path, "participant_id,visit,outcome,value\nP1,week0,r2,1,5\nP2,week0,r2,0,25\n")
    with pytest.raises(InputError) as err:
        read_table(p)
    (problem,) = err.value.problems
    assert problem.row == 2 and "more fields than the header" in problem.message and problem.fix


def test_one_decimal_comma_in_a_comma_file_is_refused(tmp_path):
    p = _table(tmp_path, "participant_id,visit,outcome,value\nP1,week0,r2,1.5\nP2,week0,r2,0,25\n")
    with pytest.raises(InputError) as err:
        read_table(p)
    assert err.value.problems[0].row == 3


@pytest.mark.parametrize(
    "cell, value",
    [
        ("1.234,5", "1234.5"),
        ("12.345.678", "12345678"),
        ("0,722", "0.722"),
        ("-1,5E-3", "-1.5E-3"),
        ("1 234,5", "1234.5"),
        ("1\u00a0234,5", "1234.5"),
        ("7", "7"),
    ],
)
def test_thousands_separators_and_decimal_commas(tmp_path, cell, value):
    p = _table(tmp_path, f"id;value;other\nA;{cell};0,5\n")
    assert read_table(p)["value"].tolist() == [value]


def test_dot_thousands_are_read_once_a_decimal_comma_shows_the_format(tmp_path):
    p = _table(tmp_path, "id;steps;height\nA;12.345;1,62\nB;9.870;1,75\n")
    t = read_table(p)
    assert t["steps"].tolist() == ["12345", "9870"] and t["height"].tolist() == ["1.62", "1.75"]


def test_mixed_decimal_marks_are_an_error_naming_both(tmp_path):
    p = _table(tmp_path, "id;a;b\nA;0,5;0.7\n")
    with pytest.raises(InputError) as err:
        read_table(p)
    message = err.value.problems[0].render()
    assert "'0,5' (row 2, column 'a')" in message and "'0.7' (row 2, column 'b')" in message
    assert "[csv]" in message


def test_ambiguous_thousands_are_an_error_that_says_how_to_declare(tmp_path):
    p = _table(tmp_path, "id;value\nA;1.234\nB;2.500\n")
    with pytest.raises(InputError) as err:
        read_table(p)
    (problem,) = err.value.problems
    assert "1.234" in problem.message and "1234" in problem.message
    assert problem.row == 2 and problem.column == "value"
    assert 'decimal = ","' in problem.fix and "docs/import.md" in problem.fix


@pytest.mark.parametrize(
    "declared, expected",
    [(CsvSpec(decimal="."), ["1.234", "2.5"]), (CsvSpec(decimal=",", thousands="."), ["1234", "2500"])],
)
def test_declared_format_settles_ambiguity(tmp_path, declared, expected):
    p = _table(tmp_path, "id;value\nA;1.234\nB;2.500\n")
    got = read_table(p, csv=declared)["value"].tolist()
    assert got == (expected if declared.decimal == "," else ["1.234", "2.500"])


def test_a_cell_against_the_declared_format_is_an_error(tmp_path):
    p = _table(tmp_path, "id;value\nA;0,5\nB;0.722\n")
    with pytest.raises(InputError) as err:
        read_table(p, csv=CsvSpec(separator=";", decimal=","))
    (problem,) = err.value.problems
    assert problem.row == 3 and problem.column == "value" and problem.value == "0.722"


def test_tab_files_keep_decimal_points(tmp_path):
    """A tab-separated export with 3-decimal numbers reads as before (no cell says comma)."""
    p = _table(tmp_path, "sample\tct\nS1\t17.785\nS2\t19.515\n", name="t.tsv")
    assert read_table(p)["ct"].tolist() == ["17.785", "19.515"]
    q = _table(tmp_path, "sample\tct\nS1\t17,785\nS2\t19,5\n", name="q.tsv")  # Excel's tab text, German
    assert read_table(q)["ct"].tolist() == ["17.785", "19.5"]


def test_header_split_by_two_separators_is_settled_by_the_rows(tmp_path):
    p = _table(tmp_path, "id;weight, kg\nA;1,5\nB;2\n")
    t = read_table(p)
    assert list(t.columns)[:2] == ["id", "weight, kg"] and t["weight, kg"].tolist() == ["1.5", "2"]


def test_a_header_that_two_separators_split_alike_is_an_error(tmp_path):
    p = _table(tmp_path, "a,b;c,d\n1,2;3,4\n")
    with pytest.raises(InputError) as err:
        read_table(p)
    assert "separator" in err.value.problems[0].message and err.value.problems[0].row == 1


def test_text_cells_are_left_as_they_are(tmp_path):
    p = _table(tmp_path, "id;date;note;value\nA;01.02.2023;v1.2.3;0,5\n")
    t = read_table(p)
    assert t.loc[0, "date"] == "01.02.2023" and t.loc[0, "note"] == "v1.2.3" and t.loc[0, "value"] == "0.5"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.lists(
        st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False).filter(
            lambda v: v != 0
        ),
        min_size=1,
        max_size=20,
    ),
    thousands=st.sampled_from(["", ".", " "]),
)
def test_european_numbers_round_trip_exactly(tmp_path_factory, values, thousands):
    """Any float written with a decimal comma (and a thousands separator) reads back as that float,
    bit for bit, through the validator's number parser."""

    def european(v: float) -> str:
        text = repr(v)
        if "e" in text or "inf" in text:
            return text.replace(".", ",")
        sign, rest = ("-", text[1:]) if text.startswith("-") else ("", text)
        whole, _, frac = rest.partition(".")
        if thousands and len(whole) > 3:
            groups = []
            while len(whole) > 3:
                groups.insert(0, whole[-3:])
                whole = whole[:-3]
            whole = thousands.join([whole, *groups])
        return sign + whole + ("," + frac if frac else "")

    lines = ["id;value"] + [f"P{i};{european(v)}" for i, v in enumerate(values)] + ["Z;0,5"]
    p = tmp_path_factory.mktemp("eu") / "t.csv"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    got = parse_numbers(read_table(p)["value"]).to_numpy()
    np.testing.assert_array_equal(got, [*values, 0.5])


def _european(bundle: Path, *tables: str) -> None:
    for table in tables:
        path = bundle / f"{table}.csv"
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        for c in frame.columns:
            frame[c] = frame[c].str.replace(".", ",", regex=False)
        frame.to_csv(path, sep=";", index=False)


def test_a_european_bundle_loads_as_the_original(small_bundle):
    before = load_study(small_bundle)
    _european(small_bundle, "participants", "measurements")
    assert validate_study(small_bundle) == []
    after = load_study(small_bundle)
    pd.testing.assert_frame_equal(after.measurements, before.measurements)
    pd.testing.assert_frame_equal(after.participants, before.participants)


def test_study_toml_csv_key_declares_the_format(small_bundle):
    _european(small_bundle, "participants", "measurements")
    toml = small_bundle / "study.toml"
    toml.write_text(toml.read_text() + '\n[csv]\nseparator = ";"\ndecimal = ","\nthousands = ""\n')
    assert validate_study(small_bundle) == []
    toml.write_text(toml.read_text().replace('decimal = ","', 'decimal = "."'))
    problems = validate_study(small_bundle)
    assert problems and all("measurements.csv" in (p.file or "") for p in problems)  # ages are whole
    assert "does not read as a number with decimal '.'" in problems[0].message


def test_study_toml_csv_key_is_checked(small_bundle):
    toml = small_bundle / "study.toml"
    toml.write_text(toml.read_text() + '\n[csv]\ndecimal = ";"\nseparator = ";"\n')
    problems = validate_study(small_bundle)
    assert any(p.column and p.column.startswith("csv") for p in problems)
