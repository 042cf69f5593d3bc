"""`skintrial ultrasound` through typer's CliRunner: CSV schema, spacing sources, overlays, exit codes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from PIL import Image
from typer.testing import CliRunner

from skintrial.cli import app
from skintrial.instruments.ultrasound import ULTRASOUND_COLUMNS, write_ultrasound_dicom
from skintrial.plan import simulate_ultrasound

runner = CliRunner()


def _read(path):
    """The CSV as written: empty qc (clean) is the empty string, empty numbers are NaN."""
    table = pd.read_csv(path)
    table["qc"] = table["qc"].fillna("")
    return table


@pytest.fixture(scope="module")
def scans(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scans")
    truths = {}
    for i, thickness in enumerate([1.3, 2.1]):
        pixels, truth = simulate_ultrasound(
            dermal_thickness_mm=thickness, lep_upper=0.3, lep_lower=0.1, rows=384, cols=512, seed=i
        )
        Image.fromarray(pixels).save(folder / f"p{i}.png")
        truths[f"p{i}.png"] = truth
    pixels, truth = simulate_ultrasound(
        dermal_thickness_mm=1.7, lep_upper=0.3, lep_lower=0.1, rows=384, cols=512, seed=9
    )
    write_ultrasound_dicom(folder / "d.dcm", pixels, spacing_mm=(0.0125, 0.0125))
    truths["d.dcm"] = truth
    (folder / "bad.png").write_text("no image here")
    return folder, truths


def test_writes_the_table_and_overlays(scans, tmp_path):
    folder, truths = scans
    files = [str(folder / n) for n in ("p0.png", "bad.png", "d.dcm", "p1.png")]
    out = tmp_path / "res" / "params.csv"
    result = runner.invoke(
        app,
        [
            "ultrasound",
            *files,
            "--out",
            str(out),
            "--pixel-spacing-mm",
            "0.0125",
            "--overlay-dir",
            str(tmp_path / "ov"),
        ],
    )
    assert result.exit_code == 0, result.output
    table = _read(out)
    assert tuple(table.columns) == ULTRASOUND_COLUMNS
    assert table["file"].tolist() == files
    assert table.loc[1, "qc"].startswith("error: ") and "bad.png" in table.loc[1, "qc"]
    good = table.drop(index=1)
    assert (good["qc"] == "").all()
    want = [truths[n]["dermal_thickness_mm"] for n in ("p0.png", "d.dcm", "p1.png")]
    assert_allclose(good["dermal_thickness_mm"], want, rtol=0.02)
    assert sorted(p.name for p in (tmp_path / "ov").iterdir()) == ["d.png", "p0.png", "p1.png"]
    assert not list(out.parent.glob("*.part"))


def test_spacing_missing_is_a_flag_not_a_failure(scans, tmp_path):
    folder, _ = scans
    out = tmp_path / "p.csv"
    result = runner.invoke(app, ["ultrasound", str(folder / "p0.png"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    row = _read(out).iloc[0]
    assert row["qc"] == "spacing_missing" and np.isnan(row["dermal_thickness_mm"]) and row["lep_upper"] > 0


def test_spacing_manifest_and_row_col_spacing(scans, tmp_path):
    folder, truths = scans
    manifest = tmp_path / "m.csv"
    pd.DataFrame({"file": ["p0.png"], "pixel_spacing_mm": [0.0125]}).to_csv(manifest, index=False)
    out = tmp_path / "p.csv"
    result = runner.invoke(
        app,
        [
            "ultrasound",
            str(folder / "p0.png"),
            str(folder / "p1.png"),
            "--out",
            str(out),
            "--spacing-manifest",
            str(manifest),
            "--pixel-spacing-mm",
            "0.0125,0.0125",
        ],
    )
    assert result.exit_code == 0, result.output
    table = _read(out)
    assert_allclose(
        table["dermal_thickness_mm"],
        [truths["p0.png"]["dermal_thickness_mm"], truths["p1.png"]["dermal_thickness_mm"]],
        rtol=0.02,
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--pixel-spacing-mm", "-1"], "pixel-spacing-mm"),
        (["--pixel-spacing-mm", "abc"], "pixel-spacing-mm"),
        (["--spacing-manifest", "nowhere.csv"], "nowhere.csv"),
        (["--upper-fraction", "1.5"], "upper_fraction"),
    ],
)
def test_bad_options_exit_2_and_write_nothing(scans, tmp_path, args, message):
    folder, _ = scans
    out = tmp_path / "p.csv"
    result = runner.invoke(app, ["ultrasound", str(folder / "p0.png"), "--out", str(out), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert not out.exists()


def test_manifest_without_columns_names_them(scans, tmp_path):
    folder, _ = scans
    manifest = tmp_path / "m.csv"
    manifest.write_text("name,spacing\np0.png,0.01\n")
    result = runner.invoke(
        app,
        [
            "ultrasound",
            str(folder / "p0.png"),
            "--out",
            str(tmp_path / "p.csv"),
            "--spacing-manifest",
            str(manifest),
        ],
    )
    assert result.exit_code == 2 and "file, pixel_spacing_mm" in result.output


@pytest.mark.parametrize(
    "text, where",
    [
        ("file,pixel_spacing_mm\np0.png,abc\np1.png,0.0125\n", "row 2, column 'pixel_spacing_mm'"),
        (
            "file,pixel_spacing_mm,pixel_spacing_col_mm\np0.png,0.0125,\n",
            "row 2, column 'pixel_spacing_col_mm'",
        ),
        ("file,pixel_spacing_mm\n,0.0125\n", "row 2, column 'file'"),
        ("", "not a readable CSV"),
        ('file,pixel_spacing_mm\n"p0.png,0.0125\n', "not a readable CSV"),
        ("file,pixel_spacing_mm\n", "no rows"),
    ],
)
def test_bad_manifest_exits_2_naming_file_row_and_fix(scans, tmp_path, text, where):
    folder, _ = scans
    manifest = tmp_path / "m.csv"
    manifest.write_text(text)
    out = tmp_path / "p.csv"
    result = runner.invoke(
        app, ["ultrasound", str(folder / "p0.png"), "--out", str(out), "--spacing-manifest", str(manifest)]
    )
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    text = " ".join(result.output.split())
    assert "m.csv" in text and where in text and "Fix:" in text
    assert not out.exists()


def test_manifest_reports_every_bad_row_at_once(scans, tmp_path):
    folder, _ = scans
    manifest = tmp_path / "m.csv"
    manifest.write_text("file,pixel_spacing_mm\np0.png,abc\np1.png,-2\nd.dcm,0.01\n")
    result = runner.invoke(
        app,
        [
            "ultrasound",
            str(folder / "p0.png"),
            "--out",
            str(tmp_path / "p.csv"),
            "--spacing-manifest",
            str(manifest),
        ],
    )
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "2 problems" in text and "row 2" in text and "row 3" in text and "'abc'" in text


def test_unwritable_overlay_dir_is_refused_before_the_batch(scans, tmp_path):
    folder, _ = scans
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    out = tmp_path / "p.csv"
    result = runner.invoke(
        app,
        [
            "ultrasound",
            str(folder / "p0.png"),
            "--out",
            str(out),
            "--pixel-spacing-mm",
            "0.0125",
            "--overlay-dir",
            str(blocker / "ov"),
        ],
    )
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "--overlay-dir" in text and "a_file" in text and "Fix:" in text
    assert not out.exists()


def test_overlay_failing_mid_batch_is_not_counted_as_unreadable(scans, tmp_path, monkeypatch):
    import skintrial.instruments.ultrasound as us

    def full_disk(image, result, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(us, "overlay_png", full_disk)
    folder, truths = scans
    out = tmp_path / "p.csv"
    result = runner.invoke(
        app,
        [
            "ultrasound",
            str(folder / "p0.png"),
            "--out",
            str(out),
            "--pixel-spacing-mm",
            "0.0125",
            "--overlay-dir",
            str(tmp_path / "ov"),
        ],
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "0 unreadable, 1 overlays not written" in text
    row = _read(out).iloc[0]
    assert_allclose(row["dermal_thickness_mm"], truths["p0.png"]["dermal_thickness_mm"], rtol=0.02)


def test_a_batch_without_one_usable_scan_exits_2_naming_every_file(scans, tmp_path):
    """The batch rule shared with `skintrial cutometer`: bad files are rows, unless no file is usable."""
    folder, _ = scans
    (tmp_path / "empty.dcm").write_bytes(b"")
    files = [str(folder / "bad.png"), str(tmp_path / "missing.png"), str(tmp_path / "empty.dcm")]
    out = tmp_path / "p.csv"
    result = runner.invoke(app, ["ultrasound", *files, "--out", str(out), "--pixel-spacing-mm", "0.0125"])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert all(f in text for f in files) and "3 problems" in text
    assert not out.exists()
    mixed = runner.invoke(
        app,
        ["ultrasound", files[0], str(folder / "p0.png"), "--out", str(out), "--pixel-spacing-mm", "0.0125"],
    )
    assert mixed.exit_code == 0, mixed.output
    assert "error:" in mixed.output and "bad.png" in mixed.output
    assert _read(out)["qc"].str.startswith("error").tolist() == [True, False]


def test_a_defect_is_exit_1_not_bad_input(scans, tmp_path, monkeypatch):
    """A bug inside the analysis (here a KeyError) is an internal error (exit 1), never 'bad input' (exit 2)."""
    import skintrial.instruments.ultrasound as us

    def broken(*args, **kwargs):
        raise KeyError("lep_upper")

    monkeypatch.setattr(us, "measure_stack", broken)
    monkeypatch.setattr(us, "ultrasound_parameters", broken)
    folder, _ = scans
    out = tmp_path / "p.csv"
    result = runner.invoke(
        app,
        [
            "ultrasound",
            str(folder / "p0.png"),
            str(folder / "p1.png"),
            "--out",
            str(out),
            "--pixel-spacing-mm",
            "0.0125",
        ],
    )
    assert result.exit_code == 1 and isinstance(result.exception, KeyError)
    assert not out.exists()


def test_spacing_manifest_goes_through_the_table_reader(scans, tmp_path):
    """The manifest is read as every table is (study reader): spreadsheet rows survive a blank line,
    an Excel manifest works, and the spacing rules are the bundle manifest's."""
    folder, truths = scans
    manifest = tmp_path / "m.csv"
    manifest.write_text("file,pixel_spacing_mm\np0.png,0.0125\n\np1.png,abc\n")
    out = tmp_path / "p.csv"
    args = ["ultrasound", str(folder / "p0.png"), "--out", str(out), "--spacing-manifest"]
    result = runner.invoke(app, [*args, str(manifest)])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "row 4, column 'pixel_spacing_mm'" in text and "positive number of mm" in text and "'abc'" in text
    book = tmp_path / "m.xlsx"
    pd.DataFrame({"file": ["p0.png"], "pixel_spacing_mm": [0.0125]}).to_excel(book, index=False)
    result = runner.invoke(app, [*args, str(book)])
    assert result.exit_code == 0, result.output
    assert_allclose(_read(out)["dermal_thickness_mm"], [truths["p0.png"]["dermal_thickness_mm"]], rtol=0.02)


def test_implausible_spacing_is_refused_naming_the_unit_slip(scans, tmp_path):
    folder, _ = scans
    out = tmp_path / "p.csv"
    r = runner.invoke(
        app, ["ultrasound", str(folder / "p0.png"), "--pixel-spacing-mm", "20", "--out", str(out)]
    )
    assert r.exit_code == 2 and "--pixel-spacing-mm" in r.output and "20 µm = 0.02 mm" in r.output
    assert not out.exists()


def test_study_wide_spacing_is_checked_in_study_toml():
    from pydantic import ValidationError

    from skintrial.study._schema import RawSpec

    with pytest.raises(ValidationError, match="implausible for skin ultrasound"):
        RawSpec(pixel_spacing_mm=12.5)
    assert RawSpec(pixel_spacing_mm=0.0125).pixel_spacing_mm == 0.0125


@pytest.mark.filterwarnings("default::skintrial.errors.QualityWarning")
def test_manifest_rows_naming_no_input_file_are_said(scans, tmp_path):
    """A mis-cased name (P0.PNG for p0.png) would leave the scan without its spacing: the command says so."""
    folder, _ = scans
    manifest = tmp_path / "m.csv"
    pd.DataFrame({"file": ["P0.PNG", "p1.png"], "pixel_spacing_mm": [0.0125, 0.0125]}).to_csv(
        manifest, index=False
    )
    out = tmp_path / "p.csv"
    r = runner.invoke(
        app,
        [
            "ultrasound",
            str(folder / "p0.png"),
            str(folder / "p1.png"),
            "--out",
            str(out),
            "--spacing-manifest",
            str(manifest),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "warning: 1 row(s)" in r.output and "P0.PNG" in r.output
    assert _read(out).set_index("file")["qc"].str.contains("spacing_missing").tolist() == [True, False]


def test_manifest_row_by_absolute_path_wins_over_the_option(scans, tmp_path):
    """A manifest row may name a scan by its absolute path; --pixel-spacing-mm covers only the others."""
    folder, truths = scans
    manifest = tmp_path / "m.csv"
    pd.DataFrame({"file": [str((folder / "p0.png").resolve())], "pixel_spacing_mm": [0.0125]}).to_csv(
        manifest, index=False
    )
    out = tmp_path / "p.csv"
    r = runner.invoke(
        app,
        [
            "ultrasound",
            str(folder / "p0.png"),
            "--out",
            str(out),
            "--spacing-manifest",
            str(manifest),
            "--pixel-spacing-mm",
            "0.025",
        ],
    )
    assert r.exit_code == 0, r.output
    assert_allclose(_read(out)["dermal_thickness_mm"], [truths["p0.png"]["dermal_thickness_mm"]], rtol=0.02)
