"""`skintrial cutometer` through typer's CliRunner: schema, options, mapping, exit codes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from typer.testing import CliRunner

from skintrial.cli import app
from skintrial.instruments import OUTPUT_COLUMNS
from skintrial.plan import simulate_cutometer

runner = CliRunner()


def _read(path):
    table = pd.read_csv(path, dtype={"measurement_id": str})
    table["qc"] = table["qc"].fillna("")
    return table


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cutometer")
    curves, truth = simulate_cutometer(3, n_cycles=2, seed=1)
    curves.drop(columns="file").to_csv(folder / "long.csv", index=False)
    one = curves[curves["measurement_id"] == "sim000000"]
    vendor = pd.DataFrame({"t [ms]": one["time_s"] * 1000, "Def [um]": one["deformation_mm"] * 1000})
    vendor.to_csv(folder / "vendor.csv", index=False)
    (folder / "broken.csv").write_text("time_s,height\n0,1\n0.01,2\n")
    return folder, truth


def test_exit_0_with_exact_columns_and_values(files, tmp_path):
    folder, truth = files
    out = tmp_path / "params.csv"
    result = runner.invoke(app, ["cutometer", str(folder / "long.csv"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = _read(out)
    assert list(table.columns) == list(OUTPUT_COLUMNS)
    assert table["measurement_id"].tolist() == truth["measurement_id"].tolist()
    assert (table["n_cycles"] == 2).all() and (table["qc"] == "").all()
    assert_allclose(table["r7"], truth["r7"], atol=0.05)


def test_mapping_units_and_declared_times(files, tmp_path):
    folder, truth = files
    out = tmp_path / "vendor.csv"
    args = [
        "cutometer",
        str(folder / "vendor.csv"),
        "-o",
        str(out),
        "--column",
        "time_s=t [ms]:ms",
        "--column",
        "deformation_mm=Def [um]:um",
        "--on",
        "2",
        "--off",
        "2",
        "--drop-first-cycle",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    table = _read(out)
    assert table["measurement_id"].tolist() == ["vendor"]
    assert np.isfinite(table["ue"][0]) and table["qc"][0] == ""
    same = runner.invoke(
        app, ["cutometer", str(folder / "long.csv"), "-o", str(tmp_path / "l.csv"), "--drop-first-cycle"]
    )
    assert same.exit_code == 0
    assert_allclose(table["ue"][0], _read(tmp_path / "l.csv")["ue"][0], rtol=1e-9)


def test_bad_file_alone_exits_2_naming_file_and_column(files, tmp_path):
    folder, _ = files
    out = tmp_path / "never.csv"
    result = runner.invoke(app, ["cutometer", str(folder / "broken.csv"), "--out", str(out)])
    assert result.exit_code == 2
    assert "broken.csv" in result.output and "column 'deformation_mm'" in result.output
    assert not out.exists()


def test_micrometres_named_on_the_command_line(files, tmp_path):
    folder, _ = files
    result = runner.invoke(
        app,
        [
            "cutometer",
            str(folder / "vendor.csv"),
            "-o",
            str(tmp_path / "x.csv"),
            "--column",
            "time_s=t [ms]:ms",
            "--column",
            "deformation_mm=Def [um]",
        ],
    )
    assert result.exit_code == 2
    assert "column 'Def [um]'" in result.output and "micrometres" in result.output


def test_one_bad_file_among_good_ones_is_a_row(files, tmp_path):
    folder, _ = files
    out = tmp_path / "mixed.csv"
    result = runner.invoke(
        app,
        [
            "cutometer",
            str(folder / "long.csv"),
            str(folder / "broken.csv"),
            str(folder / "nowhere.csv"),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    table = _read(out)
    assert len(table) == 5
    assert table["qc"].str.startswith("error:").tolist() == [False, False, False, True, True]
    assert "nowhere.csv" in table["qc"][4] and "file not found" in table["qc"][4]


def test_bad_options_exit_2(files, tmp_path):
    folder, _ = files
    out = str(tmp_path / "o.csv")
    bad_method = runner.invoke(app, ["cutometer", str(folder / "long.csv"), "-o", out, "--method", "knee"])
    assert bad_method.exit_code == 2 and "unknown method 'knee'" in bad_method.output
    bad_map = runner.invoke(app, ["cutometer", str(folder / "long.csv"), "-o", out, "--column", "oops"])
    assert bad_map.exit_code == 2 and "CANONICAL=SOURCE" in bad_map.output


def test_unknown_unit_on_the_command_line_is_named_as_a_unit(files, tmp_path):
    folder, _ = files
    out = tmp_path / "o.csv"
    result = runner.invoke(
        app, ["cutometer", str(folder / "long.csv"), "-o", str(out), "--column", "time_s=time_s:hours"]
    )
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "unknown unit 'hours' for time_s (allowed: s, ms, min)" in text and "long.csv" in text
    assert "not found" not in text and "Fix:" in text
    assert not out.exists()


def test_curves_without_pressure_or_times_are_read_from_the_curve(tmp_path):
    curves, _ = simulate_cutometer(1, seed=2)
    names = ["a.csv", "b.csv", "c.csv"]
    for name in names:
        curves[["time_s", "deformation_mm"]].to_csv(tmp_path / name, index=False)
    out = tmp_path / "o.csv"
    result = runner.invoke(app, ["cutometer", *[str(tmp_path / n) for n in names], "-o", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, keep_default_na=False)
    assert table["qc"].tolist() == ["phases_inferred"] * 3 and table["n_cycles"].tolist() == [1, 1, 1]
    assert "(0 flagged, 0 unreadable)" in result.output  # phases_inferred is informational, not a flag


def test_one_sample_curve_gets_a_fix_and_a_pressure_gap_is_located(tmp_path):
    (tmp_path / "one.csv").write_text("time_s,deformation_mm\n0,0.1\n")
    result = runner.invoke(app, ["cutometer", str(tmp_path / "one.csv"), "-o", str(tmp_path / "o.csv")])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "one.csv, row 2, column 'time_s'" in text and "only 1 sample" in text and "Fix:" in text
    curves, _ = simulate_cutometer(1, seed=4)
    curves = curves.drop(columns="file").reset_index(drop=True)
    curves.loc[100, "pressure_mbar"] = np.nan
    curves.to_csv(tmp_path / "gap.csv", index=False)
    result = runner.invoke(app, ["cutometer", str(tmp_path / "gap.csv"), "-o", str(tmp_path / "o.csv")])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "gap.csv, row 102, column 'pressure_mbar': pressure missing" in text and "Fix:" in text


def test_error_rows_printed_with_their_file_and_n_cycles_stays_integer(files, tmp_path):
    folder, _ = files
    (tmp_path / "one.csv").write_text("time_s,deformation_mm\n0,0.1\n")
    out = tmp_path / "o.csv"
    result = runner.invoke(
        app, ["cutometer", str(folder / "long.csv"), str(tmp_path / "one.csv"), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert f"error: {tmp_path / 'one.csv'}" in text and "only 1 sample" in text
    table = pd.read_csv(out)
    assert table["n_cycles"].dtype == np.int64 and table["n_cycles"].tolist() == [2, 2, 2, 0]


def test_onset_option_places_the_declared_phases(tmp_path):
    curves, truth = simulate_cutometer(1, n_cycles=2, noise_mm=0.0, pressure_mbar=None, rest_s=1.0, seed=7)
    curves[["time_s", "deformation_mm"]].to_csv(tmp_path / "rest.csv", index=False)
    out = tmp_path / "o.csv"
    result = runner.invoke(
        app,
        [
            "cutometer",
            str(tmp_path / "rest.csv"),
            "-o",
            str(out),
            "--on",
            "2",
            "--off",
            "2",
            "--onset",
            "1.0",
        ],
    )
    assert result.exit_code == 0, result.output
    table = _read(out)
    assert table["qc"][0] == "" and table["n_cycles"][0] == 2
    assert_allclose(
        table[["ue", "uf", "r2", "r9"]].to_numpy()[0],
        truth[["ue", "uf", "r2", "r9"]].to_numpy()[0],
        atol=1e-6,
    )
    bad = runner.invoke(
        app, ["cutometer", str(tmp_path / "rest.csv"), "-o", str(out), "--on", "2", "--onset", "-1"]
    )
    assert bad.exit_code == 2 and "onset" in bad.output


def test_sheet_name_is_a_column_option(tmp_path):
    curves, truth = simulate_cutometer(1, seed=8, noise_mm=0.0)
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path) as book:
        pd.DataFrame({"note": ["exported by the device"]}).to_excel(book, sheet_name="Info", index=False)
        curves[["time_s", "deformation_mm", "pressure_mbar"]].to_excel(book, sheet_name="Curves", index=False)
    out = tmp_path / "o.csv"
    result = runner.invoke(app, ["cutometer", str(path), "-o", str(out), "--column", "sheet_name=Curves"])
    assert result.exit_code == 0, result.output
    table = _read(out)
    assert table["qc"][0] == ""
    assert_allclose(table["r2"][0], truth["r2"][0], atol=1e-9)
    second = runner.invoke(app, ["cutometer", str(path), "-o", str(out), "--column", "sheet_name=1"])
    assert second.exit_code == 0, second.output
    assert_allclose(_read(out)["r2"][0], truth["r2"][0], atol=1e-9)


def test_a_batch_without_one_usable_curve_exits_2_naming_every_file(tmp_path):
    """The batch rule shared with `skintrial ultrasound`: bad files are rows, unless no file is usable."""
    (tmp_path / "corrupt.xlsx").write_bytes(b"PK\x03\x04" + bytes(60))
    (tmp_path / "header.csv").write_text("time_s,deformation_mm\n")
    files = [str(tmp_path / n) for n in ("corrupt.xlsx", "header.csv", "missing.csv")]
    out = tmp_path / "o.csv"
    result = runner.invoke(app, ["cutometer", *files, "-o", str(out)])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert all(f in text for f in files) and "3 problems" in text
    assert "Excel workbook" in text and "no data rows" in text and "file not found" in text
    assert not out.exists()


def test_a_defect_is_exit_1_not_bad_input(files, tmp_path, monkeypatch):
    """A bug inside the analysis (here a KeyError) is an internal error (exit 1), never 'bad input' (exit 2)."""
    import skintrial.instruments.cutometer as cutometer_module

    def broken(curves, **options):
        raise KeyError("r7")

    monkeypatch.setattr(cutometer_module, "cutometer_parameters", broken)
    folder, _ = files
    out = tmp_path / "params.csv"
    result = runner.invoke(app, ["cutometer", str(folder / "long.csv"), "--out", str(out)])
    assert result.exit_code == 1 and isinstance(result.exception, KeyError)
    assert not out.exists()


def test_help_lists_every_output_column_and_says_where_the_phases_come_from(tmp_path):
    """The help's 'Columns:' list names every column the command writes (ranges as 'r0 ... r9')."""
    import re

    import typer.main

    command = typer.main.get_command(app).commands["cutometer"]  # type: ignore[attr-defined]
    text = " ".join((command.help or "").split())
    listed = text.split("Columns:", 1)[1]
    names = set(re.findall(r"[a-z_]+[0-9]*", listed))
    for stem, lo, hi in re.findall(r"([a-z]+)([0-9]) \.\.\. [a-z]+([0-9])", listed):
        names |= {f"{stem}{i}" for i in range(int(lo), int(hi) + 1)}
    curves, _ = simulate_cutometer(1, seed=3, pressure_mbar=None)
    curves.drop(columns="file").to_csv(tmp_path / "c.csv", index=False)
    out = tmp_path / "o.csv"
    result = runner.invoke(app, ["cutometer", str(tmp_path / "c.csv"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    written = list(pd.read_csv(out, keep_default_na=False).columns)
    assert [c for c in written if c not in names] == []
    assert "phases_inferred" in listed
    on = next(p for p in command.params if p.name == "on")
    assert "found in the deformation" in " ".join((on.help or "").split())
