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
    gone = (meas["participant_id"] == corrupt["participant_id"]) & (meas["visit"] == "week0") & (meas["outcome"] == "r2")
    assert gone.sum() == 1
    meas[~gone].to_csv(raw_bundle / "measurements.csv", index=False)
    table_value = meas.loc[(meas["participant_id"] == empty["participant_id"]) & (meas["visit"] == "week0")
                           & (meas["outcome"] == "r2"), "value"].item()

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
    res = analyse(load_study(raw_bundle))
    used = res.study.measurements.query("outcome == 'r2' and visit == 'week0'").set_index("participant_id")["value"]
    assert used.notna().all()
    assert used[empty["participant_id"]] == table_value
    assert corrupt["participant_id"] not in used.index


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
