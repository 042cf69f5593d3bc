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
