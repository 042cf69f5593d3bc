"""Raw instrument files in a bundle become measurements; bad files are listed, never a stop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skintrial.errors import InputError
from skintrial.instruments import measure_raw
from skintrial.pipeline import analyse
from skintrial.plan import synthetic_study
from skintrial.study import load_study, validate_study


@pytest.fixture
def raw_bundle(tmp_path: Path) -> Path:
    return synthetic_study(seed=8, n=12, raw=True).write(tmp_path / "study")


def test_cutometer_values_from_raw_curves_replace_the_table(raw_bundle):
    study = load_study(raw_bundle)
    raw = measure_raw(study)
    assert {"r2", "r5", "r7"} <= set(raw.outcomes)
    n_curves = (study.manifest["instrument"] == "cutometer").sum()
    assert (raw.measurements["outcome"] == "r2").sum() == n_curves
    agree = raw.agreement.set_index("outcome")
    assert agree.loc["r2", "n"] == n_curves and agree.loc["r2", "n_raw"] == n_curves
    assert agree.loc["r2", "n_table_only"] == 0
    assert agree.loc["r2", "max_abs_difference"] < 0.02  # simulator truth vs extraction (docs/calibration.md)
    replaced = study.with_measurements(raw.measurements)
    mine = replaced.measurements.query("outcome == 'r2'").sort_values(["participant_id", "visit"])
    ours = raw.measurements.query("outcome == 'r2'").sort_values(["participant_id", "visit"])
    np.testing.assert_allclose(mine["value"].to_numpy(), ours["value"].to_numpy(), rtol=0, atol=0)


def test_a_corrupt_file_is_listed_and_the_rest_goes_on(raw_bundle):
    man = pd.read_csv(raw_bundle / "raw" / "manifest.csv")
    bad = man.query("instrument == 'cutometer'")["file"].iloc[0]
    (raw_bundle / "raw" / bad).write_text("time_s,deformation_mm\n0,abc\n")
    res = analyse(load_study(raw_bundle))
    files = res.tables["instrument_files"]
    row = files[files["file"] == bad]
    assert row["qc"].str.startswith("error").all()
    excl = res.tables["exclusions"]
    assert excl["reason"].str.contains(bad, regex=False).any()
    ok = files[(files["instrument"] == "cutometer") & (files["file"] != bad)]
    assert (ok["qc"].fillna("") == "").all()
    assert res.tables["ancova"].query("outcome == 'r2'")["status"].eq("ok").all()


def test_manifest_problems_are_found_by_validation(raw_bundle):
    man = pd.read_csv(raw_bundle / "raw" / "manifest.csv")
    man.loc[1, "instrument"] = "corneometer"
    man.loc[2, "participant_id"] = "P999"
    man.to_csv(raw_bundle / "raw" / "manifest.csv", index=False)
    problems = validate_study(raw_bundle)
    msgs = {(p.row, p.column): p.message for p in problems}
    assert "unknown raw instrument" in msgs[(3, "instrument")]
    assert "not in participants.csv" in msgs[(4, "participant_id")]


def test_a_missing_file_is_an_error_row_and_table_values_are_kept(raw_bundle):
    man = pd.read_csv(raw_bundle / "raw" / "manifest.csv")
    cut = man.query("instrument == 'cutometer'")
    gone = cut["file"].iloc[0]
    (raw_bundle / "raw" / gone).unlink()
    dropped = cut.iloc[1]  # a file taken out of the manifest: its table values must stay in use
    man.drop(index=dropped.name).to_csv(raw_bundle / "raw" / "manifest.csv", index=False)
    res = analyse(load_study(raw_bundle))
    files = res.tables["instrument_files"]
    assert files.loc[files["file"] == gone, "qc"].str.contains("file not found").all()
    agree = res.tables["instrument_agreement"].set_index("outcome")
    assert agree.loc["r2", "n_table_only"] == 2  # the missing file's and the unlisted file's visits
    used = res.study.measurements.query("outcome == 'r2'")
    assert ((used["participant_id"] == dropped["participant_id"]) & (used["visit"] == dropped["visit"])).any()
    table = load_study(raw_bundle).measurements.query("outcome == 'r2'")
    assert len(used) == len(table)  # every participant-visit keeps a value


def test_an_outcome_with_a_parameter_the_instrument_lacks_is_an_error(raw_bundle):
    toml = raw_bundle / "study.toml"
    toml.write_text(toml.read_text().replace('parameter = "dermal_thickness_mm"', 'parameter = "thickness"'))
    with pytest.raises(InputError, match="does not produce"):
        measure_raw(load_study(raw_bundle))


def test_provenance_hashes_every_raw_file(raw_bundle, tmp_path):
    from skintrial.pipeline import write_results

    res = analyse(load_study(raw_bundle))
    inputs = res.provenance["inputs"]
    man = pd.read_csv(raw_bundle / "raw" / "manifest.csv")
    assert {f"raw/{f}" for f in man["file"]} <= set(inputs)
    first = f"raw/{man['file'].iloc[0]}"
    (raw_bundle / first).write_bytes((raw_bundle / first).read_bytes().replace(b"0.0", b"0.1", 1))
    again = analyse(load_study(raw_bundle)).provenance["inputs"]
    assert again[first] != inputs[first]
    assert write_results(res, tmp_path)


def test_empty_and_corrupt_curve_files_through_run_and_validate(raw_bundle, tmp_path):
    """A header-only curve keeps the table's value; a corrupt workbook with no table value leaves the
    participant out of the ANCOVA with an exclusions row; neither stops the run, nor leaves a NaN."""
    from typer.testing import CliRunner

    from skintrial.cli import app

    man = pd.read_csv(raw_bundle / "raw" / "manifest.csv")
    cut = man.query("instrument == 'cutometer' and visit == 'week0'")
    empty, corrupt = cut.iloc[0], cut.iloc[1]
    (raw_bundle / "raw" / empty["file"]).write_text("time_s,deformation_mm,pressure_mbar\n")
    man.loc[corrupt.name, "file"] = "cutometer/corrupt.xlsx"
    (raw_bundle / "raw" / "cutometer" / "corrupt.xlsx").write_bytes(b"PK\x03\x04" + bytes(60))
    man.to_csv(raw_bundle / "raw" / "manifest.csv", index=False)
    meas = pd.read_csv(raw_bundle / "measurements.csv")
    gone = (
        (meas["participant_id"] == corrupt["participant_id"])
        & (meas["visit"] == "week0")
        & (meas["outcome"] == "r2")
    )
    assert gone.sum() == 1
    meas[~gone].to_csv(raw_bundle / "measurements.csv", index=False)
    table_value = meas.loc[
        (meas["participant_id"] == empty["participant_id"])
        & (meas["visit"] == "week0")
        & (meas["outcome"] == "r2"),
        "value",
    ].item()

    runner = CliRunner()
    checked = runner.invoke(app, ["validate", str(raw_bundle)])
    assert checked.exit_code == 0, checked.output
    assert "corrupt.xlsx" in checked.output and empty["file"] in checked.output
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(raw_bundle), "--out", str(out)])
    assert result.exit_code == 0, result.output
    files = pd.read_csv(out / "results" / "instrument_files.csv")
    for name, text in ((empty["file"], "no data rows"), ("cutometer/corrupt.xlsx", "Excel workbook")):
        qc = files.loc[files["file"] == name, "qc"]
        assert len(qc) == 1 and qc.iloc[0].startswith("error: ") and text in qc.iloc[0]
    excl = pd.read_csv(out / "results" / "exclusions.csv")
    r2 = excl[excl["outcome"] == "r2"]
    for row in (empty, corrupt):
        listed = r2[(r2["analysis"] == "instruments") & (r2["participant_id"] == row["participant_id"])]
        assert listed["reason"].str.contains("error: ", regex=False).any()
    dropped = r2[(r2["analysis"] == "ancova") & (r2["participant_id"] == corrupt["participant_id"])]
    assert dropped["reason"].str.contains("no week0 value").all() and len(dropped) == 1
    assert not ((r2["analysis"] == "ancova") & (r2["participant_id"] == empty["participant_id"])).any()
    study = load_study(raw_bundle)
    used = study.with_measurements(measure_raw(study).measurements).measurements
    used = used.query("outcome == 'r2' and visit == 'week0'").set_index("participant_id")["value"]
    assert used.notna().all()
    assert used[empty["participant_id"]] == table_value
    assert corrupt["participant_id"] not in used.index


def test_a_defect_in_the_cutometer_analysis_stops_run_with_exit_1(raw_bundle, tmp_path, monkeypatch):
    """A bug (here a KeyError in cutometer_parameters) must not turn every curve file into an exclusion
    and a report with exit 0: it is an internal error, exit 1, and nothing is written."""
    from typer.testing import CliRunner

    import skintrial.instruments.cutometer as cutometer_module
    from skintrial.cli import app

    def broken(curves, **options):
        raise KeyError("r2")

    monkeypatch.setattr(cutometer_module, "cutometer_parameters", broken)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(raw_bundle), "--out", str(out)])
    assert result.exit_code == 1 and isinstance(result.exception, KeyError)
    assert not out.exists()


def test_a_file_without_a_result_row_or_value_is_excluded_and_keeps_the_table_value(raw_bundle, monkeypatch):
    """Defence in depth: whatever an instrument returns, a listed file without a row is an error and a
    clean row without a value gives none (the merge must never leave a NaN qc or a NaN value)."""
    import skintrial.instruments._study_layer as layer

    study = load_study(raw_bundle)
    cut = study.manifest.query("instrument == 'cutometer'")
    lost, hollow = cut.iloc[0], cut.iloc[1]
    real = layer._measure

    def leaky(instrument, paths, *args, **kwargs):
        res = real(instrument, paths, *args, **kwargs)
        if instrument == "cutometer":
            res = res[res["file"] != lost["path"]].copy()
            res.loc[res["file"] == hollow["path"], "r2"] = np.nan
        return res

    monkeypatch.setattr(layer, "_measure", leaky)
    raw = measure_raw(study)
    files = raw.files.set_index("file")
    assert files.loc[lost["file"], "qc"].startswith("error: ")
    r2 = raw.measurements.query("outcome == 'r2'")
    assert r2["value"].notna().all()
    assert not ((r2["participant_id"] == hollow["participant_id"]) & (r2["visit"] == hollow["visit"])).any()
    reasons = raw.exclusions.query("outcome == 'r2'")["reason"]
    assert reasons.str.contains(f"{lost['file']}: error: ", regex=False).any()
    assert reasons.str.contains(f"{hollow['file']}: no r2 value", regex=False).any()
    used = study.with_measurements(raw.measurements).measurements.query("outcome == 'r2'")
    table = study.measurements.query("outcome == 'r2'")
    key = ["participant_id", "visit"]
    merged = used.merge(table, on=key, suffixes=("", "_table"))
    for row in (lost, hollow):
        pick = (merged["participant_id"] == row["participant_id"]) & (merged["visit"] == row["visit"])
        assert merged.loc[pick, "value"].item() == merged.loc[pick, "value_table"].item()


def _raw_keys(bundle: Path, lines: str, tables: str = "") -> None:
    """Add ``lines`` to the ``[raw]`` table of study.toml and ``tables`` at its end."""
    toml = bundle / "study.toml"
    text = toml.read_text().replace("[raw]\n", "[raw]\n" + lines, 1)
    toml.write_text(text + tables)


def _r2_by_file(raw) -> pd.Series:
    r2 = raw.measurements.query("outcome == 'r2'")
    return r2.set_index("file")["value"].sort_index()


def test_raw_cutometer_columns_and_onset_read_vendor_exports(raw_bundle):
    """Vendor exports (metadata lines, ms and µm, no pressure, 1 s at rest before suction) measured with
    the bundle's [raw.cutometer_columns] and cutometer_onset_s give the values of the documented files."""
    want = _r2_by_file(measure_raw(load_study(raw_bundle)))
    man = pd.read_csv(raw_bundle / "raw" / "manifest.csv").query("instrument == 'cutometer'")
    for name in man["file"]:
        path = raw_bundle / "raw" / name
        curve = pd.read_csv(path)
        dt = float(np.median(np.diff(curve["time_s"])))
        rest = np.arange(int(round(1.0 / dt))) * dt
        t = np.r_[rest, curve["time_s"].to_numpy() + 1.0]
        d = np.r_[np.full(rest.size, curve["deformation_mm"].iloc[0]), curve["deformation_mm"].to_numpy()]
        body = pd.DataFrame({"Time [ms]": t * 1000, "Deformation [um]": d * 1000}).to_csv(index=False)
        path.write_text("Device: MPA 580\nProbe: 2 mm\n" + body)
    _raw_keys(
        raw_bundle,
        "cutometer_onset_s = 1.0\n",
        '\n[raw.cutometer_columns]\ntime_s = "Time [ms]:ms"\ndeformation_mm = "Deformation [um]:um"\n'
        "skiprows = 2\n",
    )
    study = load_study(raw_bundle)
    raw = measure_raw(study)
    assert (raw.files.query("instrument == 'cutometer'")["qc"] == "").all()
    got = _r2_by_file(raw)
    assert list(got.index) == list(want.index)
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=0, atol=1e-9)
    res = analyse(study)  # the report's example curves are read with the same mapping
    assert len(res.table("cutometer_curves"))


def test_raw_cutometer_method_read_time_and_cycles_are_passed_through(raw_bundle):
    from skintrial.instruments import cutometer_files

    _raw_keys(
        raw_bundle,
        'cutometer_method = "inflection"\ncutometer_drop_first_cycle = true\ncutometer_read_time_s = 0.12\n',
    )
    study = load_study(raw_bundle)
    raw = measure_raw(study)
    paths = study.manifest.query("instrument == 'cutometer'")["path"].tolist()
    direct = cutometer_files(
        paths,
        on_s=study.spec.raw.cutometer_on_s,
        off_s=study.spec.raw.cutometer_off_s,
        method="inflection",
        drop_first_cycle=True,
        read_time_s=0.12,
    )
    files = raw.files.query("instrument == 'cutometer'")
    np.testing.assert_allclose(files["r2"].to_numpy(dtype=float), direct["r2"].to_numpy(), rtol=0, atol=0)
    default = cutometer_files(paths, on_s=study.spec.raw.cutometer_on_s, off_s=study.spec.raw.cutometer_off_s)
    assert np.abs(default["r2"].to_numpy() - direct["r2"].to_numpy()).max() > 1e-3


@pytest.mark.parametrize(
    "lines, tables, column",
    [
        ('cutometer_method = "knee"\n', "", "raw.cutometer_method"),
        ("cutometer_onset_s = -1\n", "", "raw.cutometer_onset_s"),
        ("cutometer_read_time_s = 3.0\n", "", "raw"),
        ("", '\n[raw.cutometer_columns]\ntime = "T:ms"\n', "raw.cutometer_columns.time"),
        ("", '\n[raw.cutometer_columns]\nskiprows = "two"\n', "raw"),
    ],
)
def test_bad_raw_cutometer_options_are_named_by_validation(raw_bundle, lines, tables, column):
    _raw_keys(raw_bundle, lines, tables)
    problems = validate_study(raw_bundle)
    assert problems and any(
        p.file.endswith("study.toml") and (p.column or "").startswith(column) for p in problems
    )


def test_raw_cutometer_options_offer_what_the_cli_offers():
    import typing

    from skintrial.instruments._cutometer_read import COLUMN_KEYS
    from skintrial.instruments.cutometer import _METHODS
    from skintrial.study._schema import CUTOMETER_COLUMN_KEYS, RawSpec

    assert CUTOMETER_COLUMN_KEYS == COLUMN_KEYS
    assert typing.get_args(RawSpec.model_fields["cutometer_method"].annotation) == _METHODS


def _scans_as_png(bundle: Path, k: int) -> tuple[pd.DataFrame, list[int], float]:
    """The first ``k`` ultrasound DICOMs of the manifest saved as PNG (no spacing in the file)."""
    from PIL import Image

    from skintrial.instruments import read_ultrasound

    man = pd.read_csv(bundle / "raw" / "manifest.csv")
    rows = man.index[man["instrument"] == "ultrasound"][:k].tolist()
    spacing = None
    for i in rows:
        image = read_ultrasound(bundle / "raw" / man.loc[i, "file"])
        spacing = image.spacing_mm[0]
        png = str(Path(man.loc[i, "file"]).with_suffix(".png"))
        Image.fromarray(image.pixels).save(bundle / "raw" / png)
        man.loc[i, "file"] = png
    return man, rows, spacing


def test_manifest_pixel_spacing_per_file_overrides_the_study_wide_value(raw_bundle):
    want = measure_raw(load_study(raw_bundle)).files.set_index("file")["dermal_thickness_mm"]
    man, rows, spacing = _scans_as_png(raw_bundle, 3)
    before = {i: pd.read_csv(raw_bundle / "raw" / "manifest.csv").loc[i, "file"] for i in rows}
    man["pixel_spacing_mm"] = None
    man.loc[rows[:2], "pixel_spacing_mm"] = spacing  # the third falls back to [raw] pixel_spacing_mm
    man.loc[rows[1], "pixel_spacing_col_mm"] = spacing
    man.to_csv(raw_bundle / "raw" / "manifest.csv", index=False)
    _raw_keys(raw_bundle, f"pixel_spacing_mm = {2 * spacing}\n")
    got = measure_raw(load_study(raw_bundle)).files.set_index("file")["dermal_thickness_mm"]
    png = [man.loc[i, "file"] for i in rows]
    np.testing.assert_allclose(
        got[png[:2]].to_numpy(), want[[before[i] for i in rows[:2]]].to_numpy(), rtol=1e-12
    )
    np.testing.assert_allclose(got[png[2]], 2 * want[before[rows[2]]], rtol=0.02)  # study-wide spacing


@pytest.mark.parametrize(
    "column, value, where, message",
    [
        ("pixel_spacing_mm", "abc", "ultrasound", "positive number of mm"),
        ("pixel_spacing_mm", "-0.01", "ultrasound", "positive number of mm"),
        ("pixel_spacing_mm", "20", "ultrasound", "20 µm = 0.02 mm"),  # µm typed as mm
        ("pixel_spacing_mm", "0.0125", "cutometer", "not an ultrasound scan"),
        ("pixel_spacing_col_mm", "0.0125", "ultrasound", "column spacing without a row spacing"),
        ("pixel_spacing", "0.0125", "ultrasound", "unknown manifest column"),
    ],
)
def test_manifest_spacing_problems_are_named_with_row_and_column(raw_bundle, column, value, where, message):
    man = pd.read_csv(raw_bundle / "raw" / "manifest.csv", dtype=str)
    i = man.index[man["instrument"] == where][1]
    man[column] = ""
    man.loc[i, column] = value
    man.to_csv(raw_bundle / "raw" / "manifest.csv", index=False)
    problems = [p for p in validate_study(raw_bundle) if message in p.message]
    assert len(problems) == 1
    p = problems[0]
    assert p.file.endswith("manifest.csv") and p.column == column and p.fix
    assert p.row == (1 if message.startswith("unknown") else i + 2)


def test_every_flagged_curve_is_drawn_beside_the_contact_sheet(raw_bundle, monkeypatch):
    """The report gets at most N_FLAGGED_CURVES flagged files; overlays/flagged_curves.html draws all of
    them, each captioned with the flags of every flagged measurement, and the contact sheet links it."""
    import skintrial.instruments._study_layer as layer
    from skintrial.plan import simulate_cutometer

    man = pd.read_csv(raw_bundle / "raw" / "manifest.csv")
    bad = man.query("instrument == 'cutometer'")["file"].iloc[:3].tolist()
    for k, name in enumerate(bad):
        ids = [f"m{k}a", f"m{k}b"]
        curves, _ = simulate_cutometer(2, artefact=[None, "drift"], measurement_ids=ids, seed=k)
        curves.drop(columns="file").to_csv(raw_bundle / "raw" / name, index=False)
    monkeypatch.setattr(layer, "N_FLAGGED_CURVES", 2)
    stage = layer.raw_stage(load_study(raw_bundle))
    files = stage.tables["instrument_files"]
    flagged = files[layer.qc_flagged(files["qc"])]
    assert sorted(flagged["file"].unique()) == sorted(bad)
    in_report = set(stage.tables["cutometer_curves"]["file"]) & set(bad)
    assert len(in_report) == 2
    page = stage.assets["overlays/flagged_curves.html"].decode("utf-8")
    assert page.count("<figure") == 3
    for k, name in enumerate(bad):
        qc = flagged.loc[flagged["file"] == name, "qc"].item()
        assert f"{name} — <b>m{k}b: {qc}</b>" in page
    assert page.count('class="f"') == 3 and page.count('class="c"') == 3  # flagged red, clean grey
    sheet = stage.assets["overlays/index.html"].decode("utf-8")
    assert '<a href="flagged_curves.html">' in sheet and "(3 files)" in sheet
