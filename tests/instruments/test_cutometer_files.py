"""Cutometer batches never stop for one bad file: corrupt workbooks, empty files, failing analyses."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import skintrial.instruments.cutometer as cutometer_module
from skintrial.errors import InputError
from skintrial.instruments import cutometer_files, read_cutometer
from skintrial.plan import simulate_cutometer


@pytest.fixture
def good(tmp_path: Path) -> Path:
    curves, _ = simulate_cutometer(1, seed=40)
    curves.drop(columns="file").to_csv(tmp_path / "good.csv", index=False)
    return tmp_path / "good.csv"


def _not_a_zip(path: Path) -> Path:
    path.write_bytes(b"PK\x03\x04" + bytes(60))  # a zip signature, then nothing a zip reader can use
    return path


def _text(path: Path) -> Path:
    path.write_bytes(b"this is not a workbook at all")
    return path


def _zip_without_workbook(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "no workbook in here")
    return path


@pytest.mark.parametrize("make", [_not_a_zip, _zip_without_workbook, _text])
def test_a_corrupt_workbook_is_an_input_error_naming_the_file(tmp_path, make):
    path = make(tmp_path / "curve.xlsx")
    with pytest.raises(InputError) as info:
        read_cutometer(path)
    text = str(info.value)
    assert str(path) in text and "Excel workbook" in text and "Fix:" in text


@pytest.mark.parametrize("make", [_not_a_zip, _zip_without_workbook, _text])
def test_a_corrupt_workbook_is_an_error_row_and_the_batch_goes_on(tmp_path, good, make):
    bad = make(tmp_path / "bad.xlsx")
    res = cutometer_files([bad, good])
    assert res["file"].tolist() == [str(bad), str(good)]
    assert res["qc"][0].startswith("error: ") and str(bad) in res["qc"][0]
    assert res["qc"][1] == "" and np.isfinite(res["ue"][1])


def test_a_header_without_samples_is_an_input_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("time_s,deformation_mm,pressure_mbar\n")
    with pytest.raises(InputError, match="no data rows") as info:
        read_cutometer(path)
    assert str(path) in str(info.value)


def test_every_input_file_has_a_row(tmp_path, good):
    empty = tmp_path / "empty.csv"
    empty.write_text("time_s,deformation_mm,pressure_mbar\n")
    res = cutometer_files([empty, good])
    assert res["file"].tolist() == [str(empty), str(good)]
    assert res["qc"][0].startswith("error: ") and "no data rows" in res["qc"][0]
    assert res["n_cycles"].tolist() == [0, 1]


def test_error_cells_hold_one_line(tmp_path, good):
    bad = tmp_path / "two_problems.csv"
    bad.write_text("time_s,deformation_mm\n0,abc\nx,0.1\n")
    res = cutometer_files([bad, good])
    assert "2 problems" in res["qc"][0]
    assert "\n" not in res["qc"][0] and "\r" not in res["qc"][0]


def _poisoned(tmp_path: Path, monkeypatch, exc: Exception) -> Path:
    """A file whose curves make cutometer_parameters raise ``exc`` (the other files analyse normally)."""
    curves, _ = simulate_cutometer(1, seed=41, id_prefix="poison")
    curves.drop(columns="file").to_csv(tmp_path / "poison.csv", index=False)
    real = cutometer_module.cutometer_parameters

    def fragile(curves: pd.DataFrame, **options):
        if curves["measurement_id"].astype(str).str.startswith("poison").any():
            raise exc
        return real(curves, **options)

    monkeypatch.setattr(cutometer_module, "cutometer_parameters", fragile)
    return tmp_path / "poison.csv"


def test_a_file_that_breaks_the_batched_analysis_fails_alone(tmp_path, good, monkeypatch):
    poison = _poisoned(tmp_path, monkeypatch, InputError("simulated bad curves"))
    res = cutometer_files([good, poison, good])
    assert res["qc"].tolist()[0] == "" and res["qc"].tolist()[2] == ""
    assert res["qc"][1] == "error: simulated bad curves"


@pytest.mark.parametrize("exc", [RuntimeError("simulated defect"), KeyError("r2")])
def test_a_defect_in_the_analysis_is_raised_not_hidden_in_an_error_row(tmp_path, good, monkeypatch, exc):
    """Only bad input (InputError) becomes an error row; a bug of ours must stop the batch (CLI exit 1)."""
    poison = _poisoned(tmp_path, monkeypatch, exc)
    with pytest.raises(type(exc)):
        cutometer_files([good, poison, good])


def test_a_defect_in_the_reader_is_raised_not_hidden_in_an_error_row(tmp_path, good, monkeypatch):
    def broken(path, mapping=None):
        raise KeyError("time_s")

    monkeypatch.setattr(cutometer_module, "read_cutometer", broken)
    with pytest.raises(KeyError):
        cutometer_files([good])


def test_an_infinite_time_is_named_as_such_not_as_milliseconds(tmp_path):
    path = tmp_path / "tinf.csv"
    path.write_text("time_s,deformation_mm\n0,0\n0.01,0.1\ninf,0.2\n")
    with pytest.raises(InputError) as info:
        read_cutometer(path)
    text = str(info.value)
    assert "row 4, column 'time_s': not a finite number" in text and "millisecond" not in text


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_a_non_finite_time_in_a_table_is_an_error_row_not_a_flag(bad):
    curves, _ = simulate_cutometer(2, seed=42)
    curves["time_s"] = curves["time_s"].astype(float)
    curves.loc[5, "time_s"] = bad
    res = cutometer_module.cutometer_parameters(curves)
    assert res["qc"][0] == "error: time_s holds a value that is not a finite number (inf or NaN)"
    assert res["qc"][1] == ""
