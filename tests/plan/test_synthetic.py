"""The calibrated synthetic study generator: determinism, counts, effect directions, ranges, format."""

from __future__ import annotations

import io
import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from skintrial.errors import InputError
from skintrial.plan import _calibration as cal
from skintrial.plan import calibration_table, synthetic_study

BUNDLE_FILES = ("study.toml", "participants.csv", "measurements.csv")
REASONS = {"time constraints", "injury unrelated to training", "lost to follow-up", "illness", "moved away"}

# The published directions (paper.md §3): +1 up, -1 down, 0 no change reported.
PUBLISHED = {
    "r2": {"AT": 1, "RT": 1},
    "r5": {"AT": 1, "RT": 1},
    "r7": {"AT": 1, "RT": 1},
    "lep_upper": {"AT": -1, "RT": -1},
    "dermal_thickness": {"AT": 0, "RT": 1},
    "vo2peak": {"AT": 1},
    "body_mass": {"AT": -1},
    "lean_mass": {"RT": 1},
    "chest_press_1rm": {"RT": 1},
}


def _changes(study) -> pd.DataFrame:
    wide = (
        study.measurements.pivot_table(index=["participant_id", "outcome"], columns="visit", values="value")
        .dropna()
        .reset_index()
    )
    wide = wide.merge(study.participants[["participant_id", "arm"]], on="participant_id")
    return wide.assign(change=wide["week16"] - wide["week0"])


@pytest.fixture(scope="module")
def default():
    return synthetic_study()


@pytest.fixture(scope="module")
def large():
    return synthetic_study(n=2000, seed=7, control_arm=True)


def test_same_seed_writes_byte_identical_bundles(tmp_path):
    a = synthetic_study(seed=11, n=30).write(tmp_path / "a")
    b = synthetic_study(seed=11, n=30).write(tmp_path / "b")
    for name in BUNDLE_FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert b"\r" not in (a / "measurements.csv").read_bytes()


def test_different_seed_writes_different_values(tmp_path):
    a = synthetic_study(seed=11, n=30).write(tmp_path / "a")
    b = synthetic_study(seed=12, n=30).write(tmp_path / "b")
    assert (a / "measurements.csv").read_bytes() != (b / "measurements.csv").read_bytes()
    assert (a / "participants.csv").read_bytes() != (b / "participants.csv").read_bytes()


def test_default_reproduces_the_published_flow(default):
    p = default.participants
    assert len(p) == 61
    assert p["participant_id"].is_unique
    assert p["arm"].value_counts().to_dict() == {"RT": 34, "AT": 27}
    withdrawn = p[p["status"] == "withdrawn"]
    assert withdrawn["arm"].value_counts().to_dict() == {"RT": 4, "AT": 1}
    assert (p["status"] == "completed").sum() == 56
    assert set(withdrawn["withdrawal_visit"]) == {"week0"}
    assert set(withdrawn["withdrawal_reason"]) <= REASONS
    completed = p[p["status"] == "completed"]
    assert completed["withdrawal_visit"].isna().all() and completed["withdrawal_reason"].isna().all()
    assert p["age"].between(41, 59).all() and set(p["sex"]) == {"F"}
    assert set(p["age_group"]) <= {"40-49", "50-59"}


def test_withdrawn_have_baseline_only_and_everyone_has_a_full_baseline(default):
    m = default.measurements
    status = default.participants.set_index("participant_id")["status"]
    k = len(cal.OUTCOMES)
    counts = m.groupby(["participant_id", "visit"]).size().unstack(fill_value=0)
    assert (counts["week0"] == k).all()
    expected_follow_up = np.where(status.loc[counts.index] == "withdrawn", 0, k)
    np.testing.assert_array_equal(counts["week16"].to_numpy(), expected_follow_up)
    assert not m.duplicated(["participant_id", "visit", "outcome"]).any()


def test_control_arm_option(tmp_path):
    study = synthetic_study(control_arm=True)
    p = study.participants
    assert p["arm"].value_counts().to_dict() == {"RT": 21, "AT": 20, "CON": 20}
    assert 54 <= (p["status"] == "completed").sum() <= 57
    toml = tomllib.loads(study.study_toml)
    assert toml["study"]["arms"] == ["CON", "AT", "RT"] and toml["study"]["reference_arm"] == "CON"
    assert set(study.truth["arm"]) == {"CON", "AT", "RT"}


def test_dropout_does_not_change_any_value():
    with_dropout = synthetic_study(seed=3, n=40)
    without = synthetic_study(seed=3, n=40, dropout=False)
    assert (without.participants["status"] == "completed").all()
    cols = ["participant_id", "arm", "age", "sex", "age_group"]
    pd.testing.assert_frame_equal(with_dropout.participants[cols], without.participants[cols])
    key = ["participant_id", "visit", "outcome"]
    merged = with_dropout.measurements.merge(without.measurements, on=key, how="left")
    assert len(merged) == len(with_dropout.measurements)
    np.testing.assert_array_equal(merged["value_x"].to_numpy(), merged["value_y"].to_numpy())


def test_truth_follows_the_published_directions(large):
    truth = large.truth.set_index(["outcome", "arm"])["mean_change"]
    for outcome, arms in PUBLISHED.items():
        for arm, sign in arms.items():
            assert np.sign(truth[(outcome, arm)]) == sign, (outcome, arm)
    # only RT thickens the dermis; AT is the aerobic arm, RT the strength arm
    assert truth[("vo2peak", "AT")] > truth[("vo2peak", "RT")]
    assert truth[("body_mass", "AT")] < truth[("body_mass", "RT")]
    assert truth[("lean_mass", "RT")] > truth[("lean_mass", "AT")]
    assert truth[("chest_press_1rm", "RT")] > truth[("chest_press_1rm", "AT")]
    con = truth.xs("CON", level="arm")
    assert (con.abs() <= 0.03 * large.truth.groupby("outcome")["baseline_mean"].first()[con.index]).all()


def test_large_draw_recovers_the_true_mean_changes(large):
    """Mean change per arm within 4 standard errors of the truth (n = 2000; a real check of the model)."""
    changes = _changes(large)
    summary = changes.groupby(["outcome", "arm"])["change"].agg(["mean", "sem"])
    truth = large.truth.set_index(["outcome", "arm"])["mean_change"].loc[summary.index]
    z = (summary["mean"] - truth) / summary["sem"]
    assert (z.abs() < 4).all(), z[z.abs() >= 4]
    for outcome, arms in PUBLISHED.items():
        for arm, sign in arms.items():
            if sign:
                assert np.sign(summary.loc[(outcome, arm), "mean"]) == sign, (outcome, arm)


def test_large_draw_recovers_baseline_calibration(large):
    numbers = cal.values()
    base = large.measurements.query("visit == 'week0'").pivot(
        index="participant_id", columns="outcome", values="value"
    )
    for o in cal.OUTCOMES:
        mean, sd = numbers[f"{o.key}.baseline_mean"], numbers[f"{o.key}.baseline_sd"]
        # standard error of a mean of 2000 is sd/45; 4 SE, plus rounding of the step
        assert_allclose(base[o.key].mean(), mean, atol=4 * sd / np.sqrt(len(base)) + 1e-9, err_msg=o.key)
        assert_allclose(base[o.key].std(), sd, rtol=0.08, err_msg=o.key)
    changes = _changes(large)
    for o in cal.OUTCOMES:
        within = changes[changes["outcome"] == o.key]
        # within-arm correlation; the age trend makes the marginal one slightly larger than rho
        r = np.mean([np.corrcoef(d["week0"], d["week16"])[0, 1] for _, d in within.groupby("arm")])
        assert -0.04 < r - numbers[f"{o.key}.rho"] < 0.08, (o.key, r)


def test_values_stay_in_physical_ranges_on_the_instrument_grid(large):
    numbers = cal.values()
    m = large.measurements
    assert np.isfinite(m["value"]).all()
    for o in cal.OUTCOMES:
        v = m.loc[m["outcome"] == o.key, "value"].to_numpy()
        assert v.min() >= numbers[f"{o.key}.lower"] and v.max() <= numbers[f"{o.key}.upper"], o.key
        step = numbers[f"{o.key}.resolution"]
        assert_allclose(v / step, np.round(v / step), atol=1e-6, err_msg=o.key)
    wide = m.pivot_table(index=["participant_id", "visit"], columns="outcome", values="value")
    assert ((wide[["r2", "r5", "r7"]] > 0) & (wide[["r2", "r5", "r7"]] < 1)).all().all()
    assert (wide["r7"] < wide["r5"]).all() and (wide["r7"] <= wide["r2"]).all()


def test_toml_parses_and_declares_every_measured_outcome(default):
    toml = tomllib.loads(default.study_toml)
    study = toml["study"]
    assert study["arms"] == ["AT", "RT"] and study["reference_arm"] == "AT"
    assert study["visits"] == ["week0", "week16"] and study["baseline_visit"] == "week0"
    assert study["seed"] == 20230623 and set(study["arm_labels"]) == {"AT", "RT"}
    assert set(toml["outcomes"]) == set(default.measurements["outcome"])
    for spec in toml["outcomes"].values():
        assert {"label", "unit", "instrument", "family", "higher_is_better", "description"} <= set(spec)
    assert toml["outcomes"]["lep_upper"]["higher_is_better"] is False
    analysis = toml["analysis"]
    assert set(analysis["primary"]) | set(analysis["secondary"]) == set(toml["outcomes"])
    assert not set(analysis["primary"]) & set(analysis["secondary"])
    assert analysis["alpha"] == 0.05 and analysis["multiplicity"] == "holm"


def test_written_csv_reads_back_to_the_same_tables(default, tmp_path):
    root = default.write(tmp_path / "bundle")
    assert tomllib.loads((root / "study.toml").read_text("utf-8")) == tomllib.loads(default.study_toml)
    m = pd.read_csv(root / "measurements.csv")
    assert list(m.columns) == ["participant_id", "visit", "outcome", "value"]
    assert_allclose(m["value"].to_numpy(), default.measurements["value"].to_numpy(), rtol=0, atol=1e-12)
    p = pd.read_csv(io.StringIO((root / "participants.csv").read_text("utf-8")))
    assert list(p.columns[:7]) == [
        "participant_id",
        "arm",
        "age",
        "sex",
        "status",
        "withdrawal_visit",
        "withdrawal_reason",
    ]
    assert p["withdrawal_reason"].notna().sum() == 5


def test_layer_seeds_are_independent_of_each_other():
    from skintrial.plan.synthetic import _layer_rng

    a = _layer_rng(5, "measurements").standard_normal(3)
    _layer_rng(5, "raw").standard_normal(100)  # another layer drawing first changes nothing
    assert_allclose(_layer_rng(5, "measurements").standard_normal(3), a, rtol=0, atol=0)
    assert not np.allclose(_layer_rng(5, "participants").standard_normal(3), a)


@pytest.mark.parametrize("options", [{"n": 3}, {"n": 7, "control_arm": True}, {"seed": -1}, {"n": 20.5}])
def test_bad_options_raise_input_error(options):
    with pytest.raises(InputError, match="seed|n must"):
        synthetic_study(**options)


def test_calibration_table_is_sourced_and_consistent():
    table = calibration_table()
    assert list(table.columns) == ["name", "value", "source"] and table["name"].is_unique
    sourced = table["source"].str.contains("paper.md|instruments.md") | table["source"].str.startswith(
        "assumption:"
    )
    assert sourced.all(), table.loc[~sourced, "name"].tolist()
    from skintrial.plan.synthetic import _outcome_parameters

    par = _outcome_parameters(("CON", "AT", "RT"), cal.values())
    assert np.linalg.eigvalsh(par["corr"]).min() > 0.01  # positive definite
    assert (par["resid_sd"] > 0).all() and ((par["rho"] > 0) & (par["rho"] < 1)).all()
    p = table.set_index("name")["value"]
    assert_allclose(p.filter(like="withdrawal.").sum(), 1.0, rtol=1e-12)


def test_dose_slopes_are_one_baseline_sd_per_unit_of_adherence():
    """The dose rows are derived from the SD rows (their source says "one baseline SD per unit of adherence"),
    so changing an SD moves its slope with it."""
    v = cal.values()
    assert v["dose.dermal_thickness.adherence"] == v["dermal_thickness.baseline_sd"]
    assert (
        v["dose.lep_upper.adherence"] == -v["lep_upper.baseline_sd"]
    )  # fewer low-echogenic pixels is better


def test_docs_list_every_calibration_number():
    docs = Path(__file__).resolve().parents[2] / "docs" / "calibration.md"
    text = docs.read_text("utf-8")
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `([^`]+)` \| ([^|]+?) \|", text, re.M)}
    for row in cal.TABLE:
        assert row.name in rows, f"{row.name} missing from docs/calibration.md"
        assert_allclose(float(rows[row.name]), row.value, rtol=1e-5, err_msg=row.name)


@pytest.mark.parametrize("options", [{}, {"control_arm": True, "n": 24, "seed": 2}])
def test_bundle_passes_the_study_validator(tmp_path, options):
    from skintrial.study import load_study, validate_study

    root = synthetic_study(**options).write(tmp_path / "bundle")
    assert validate_study(root) == []
    load_study(root)


@pytest.fixture(scope="module")
def with_raw():
    return synthetic_study(n=10, seed=4, raw=True)


@pytest.fixture(scope="module")
def raw_bundle(with_raw, tmp_path_factory):
    root = with_raw.write(tmp_path_factory.mktemp("raw") / "bundle")
    return root, pd.read_csv(root / "raw" / "manifest.csv")


def test_raw_layer_lists_one_curve_and_one_scan_per_visit_attended(with_raw, raw_bundle):
    root, manifest = raw_bundle
    assert list(manifest.columns) == ["participant_id", "visit", "site", "instrument", "file"]
    attended = set(
        map(tuple, with_raw.measurements[["participant_id", "visit"]].drop_duplicates().to_numpy())
    )
    for instrument in ("cutometer", "ultrasound"):
        rows = manifest[manifest["instrument"] == instrument]
        assert set(map(tuple, rows[["participant_id", "visit"]].to_numpy())) == attended
        assert len(rows) == len(attended)
        assert all((root / "raw" / f).is_file() for f in rows["file"])
    raw = tomllib.loads(with_raw.study_toml)["raw"]
    assert raw == {"manifest": "raw/manifest.csv", "cutometer_on_s": 2.0, "cutometer_off_s": 2.0}
    from skintrial.study import validate_study

    assert validate_study(root) == []


def test_raw_cutometer_curves_give_back_the_tidy_r_parameters(with_raw, raw_bundle):
    """R2/R5/R7 read from the curves (skintrial.instruments) within 0.02 of measurements.csv."""
    from skintrial.instruments import cutometer_files

    root, manifest = raw_bundle
    rows = manifest[manifest["instrument"] == "cutometer"].reset_index(drop=True)
    result = cutometer_files([root / "raw" / f for f in rows["file"]])
    assert (result["qc"] == "").all()
    tidy = with_raw.measurements.pivot(index=["participant_id", "visit"], columns="outcome", values="value")
    expected = tidy.loc[list(zip(rows["participant_id"], rows["visit"], strict=True)), ["r2", "r5", "r7"]]
    assert_allclose(result[["r2", "r5", "r7"]].to_numpy(), expected.to_numpy(), rtol=0, atol=0.02)


def test_raw_ultrasound_scans_carry_the_tidy_values(with_raw, raw_bundle):
    """Spacing exact; thickness and lep_upper as measured by skintrial.instruments, loose bounds
    (the detector's and the speckle's error, not the generator's)."""
    from skintrial.instruments import read_ultrasound, ultrasound_files

    root, manifest = raw_bundle
    rows = manifest[manifest["instrument"] == "ultrasound"].reset_index(drop=True)
    paths = [root / "raw" / f for f in rows["file"]]
    assert all(read_ultrasound(p).spacing_mm == (0.0125, 0.0125) for p in paths)
    result = ultrasound_files(paths)
    tidy = with_raw.measurements.pivot(index=["participant_id", "visit"], columns="outcome", values="value")
    expected = tidy.loc[list(zip(rows["participant_id"], rows["visit"], strict=True))]
    assert_allclose(
        result["dermal_thickness_mm"].to_numpy(), expected["dermal_thickness"].to_numpy(), rtol=0, atol=0.15
    )
    assert_allclose(result["lep_upper"].to_numpy(), expected["lep_upper"].to_numpy(), rtol=0, atol=0.06)


def test_raw_layer_changes_no_tidy_file_and_is_deterministic(with_raw):
    plain = synthetic_study(n=10, seed=4)
    pd.testing.assert_frame_equal(plain.measurements, with_raw.measurements)
    pd.testing.assert_frame_equal(plain.participants, with_raw.participants)
    again = synthetic_study(n=10, seed=4, raw=True)
    assert again.files.keys() == with_raw.files.keys()
    assert all(again.files[k] == v for k, v in with_raw.files.items())
    assert not any(k.startswith("raw/") for k in plain.files)
    assert {k: plain.files[k] for k in plain.files} == {
        k: v for k, v in with_raw.files.items() if not k.startswith("raw/")
    }


def test_training_layer_is_deterministic_and_changes_nothing_else():
    with_log = synthetic_study(n=12, seed=6, omics=False)
    without = synthetic_study(n=12, seed=6, omics=False, training=False)
    assert "training.csv" in with_log.files and "training.csv" not in without.files
    pd.testing.assert_frame_equal(with_log.measurements, without.measurements)
    assert synthetic_study(n=12, seed=6, omics=False).files["training.csv"] == with_log.files["training.csv"]
    log = pd.read_csv(io.BytesIO(with_log.files["training.csv"]))
    withdrawn = set(with_log.participants.query("status == 'withdrawn'")["participant_id"])
    sessions = log[log["modality"] != "test"]
    assert set(sessions["participant_id"]) <= set(with_log.participants["participant_id"])
    per_person = (
        sessions.drop_duplicates(["participant_id", "week", "session"]).groupby("participant_id").size()
    )
    assert (per_person.drop(list(withdrawn), errors="ignore") <= 32).all()
    assert "per_protocol_min_adherence = 0.8" in with_log.study_toml and "[training]" in with_log.study_toml


def test_training_log_tests_are_the_measured_values():
    """The log's chest-press 1RM and VO2peak tests are the measurements (they correlated at -0.05 before)."""
    study = synthetic_study(seed=5, omics=False)
    log = pd.read_csv(io.BytesIO(study.files["training.csv"]))
    m = study.measurements
    for outcome, exercise, test in (
        ("chest_press_1rm", "chest_press", "one_rm"),
        ("vo2peak", "cycle_ergometer", "vo2peak"),
    ):
        for visit, week in (("week0", 0), ("week16", 16)):
            measured = m[(m.outcome == outcome) & (m.visit == visit)].set_index("participant_id")["value"]
            logged = log[(log.test == test) & (log.exercise == exercise) & (log.week == week)]
            logged = logged.set_index("participant_id")["test_value"]
            assert set(logged.index) == set(measured.index), (outcome, visit)
            assert_allclose(
                logged.reindex(measured.index), measured, rtol=0, atol=1e-9, err_msg=f"{outcome} {visit}"
            )
    # the other machines follow the participant's measured strength
    rm0 = log[(log.test == "one_rm") & (log.week == 0)].pivot(
        index="participant_id", columns="exercise", values="test_value"
    )
    assert np.corrcoef(rm0["chest_press"], rm0["leg_extension"])[0, 1] > 0.8


def test_dose_effect_on_skin_change_is_recovered_in_a_large_draw():
    """The calibration's true slope of dermal change on adherence (trained arms), through the training log,
    training_summary and dose_response: within 4 SE, and clearly away from zero; none on the other outcomes."""
    from skintrial.training import dose_response, training_summary, validate_training

    study = synthetic_study(seed=8, n=1500, dropout=False, omics=False)
    log = validate_training(pd.read_csv(io.BytesIO(study.files["training.csv"])))
    summary = training_summary(log, study.participants)
    res = dose_response(study.measurements, summary, baseline_visit="week0", dose_measures=["adherence"])
    pooled = res[res["arm"] == "all"].set_index("outcome")
    numbers = cal.values()
    assert numbers["dose.dermal_thickness.adherence"] > 0 > numbers["dose.lep_upper.adherence"]
    for o in cal.OUTCOMES:
        row = pooled.loc[o.key]
        slope = numbers.get(f"dose.{o.key}.adherence", 0.0)
        assert abs(row["estimate"] - slope) < 4 * row["se"], (o.key, row["estimate"], row["se"], slope)
        if slope:
            assert abs(slope) > 4 * row["se"] and np.sign(row["estimate"]) == np.sign(slope), o.key
    truth = study.truth.set_index(["outcome", "arm"])["mean_change"]
    changes = _changes(study).groupby(["outcome", "arm"])["change"].mean()
    se = _changes(study).groupby(["outcome", "arm"])["change"].sem()
    assert (
        (changes - truth.reindex(changes.index)).abs() < 4 * se
    ).all()  # arm means unchanged by the dose term
