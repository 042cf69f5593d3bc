"""The same result from every form: the demo study written as a REDCap export + data dictionary, as
SPSS files, as a European CSV and as a wide workbook gives, through `skintrial run`, an ancova.csv
identical to the last digit to the one of the demo's own CSV bundle."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
from typer.testing import CliRunner

from skintrial.cli import app

runner = CliRunner()
EVENTS = {"week0": "baseline_arm_1", "week16": "week_16_arm_1"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo study (the seed and size `skintrial demo` uses): its tables and plan, the ANCOVA only."""
    from skintrial.plan import synthetic_study

    root = synthetic_study().write(tmp_path_factory.mktemp("demo") / "study")
    for name in ("training.csv", "serum.csv", "qpcr.csv"):
        (root / name).unlink()
    toml = (root / "study.toml").read_text()
    toml = toml.split("\n[training]")[0].replace("per_protocol_min_adherence = 0.8\n", "")
    # the ANCOVA is what is compared
    toml = toml.replace('methods = ["ancova", "clda", "mixed_anova"]', 'methods = ["ancova"]')
    (root / "study.toml").write_text(toml + "\n")
    return root


def _ancova(bundle: Path, out: Path) -> bytes:
    result = runner.invoke(app, ["run", str(bundle), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return (out / "results" / "ancova.csv").read_bytes()


@pytest.fixture(scope="module")
def reference(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return _ancova(demo, tmp_path_factory.mktemp("ref"))


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def _copy_plan(demo: Path, to: Path) -> None:
    to.mkdir(parents=True)
    shutil.copy(demo / "study.toml", to / "study.toml")


def _tables(demo: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (
        pd.read_csv(demo / "participants.csv", dtype=str, keep_default_na=False),
        pd.read_csv(demo / "measurements.csv", dtype=str, keep_default_na=False),
    )


def _redcap(demo: Path, where: Path) -> tuple[Path, Path, Path]:
    """The demo as a longitudinal REDCap project: enrolment, skin measures and completion forms."""
    spec = tomllib.loads((demo / "study.toml").read_text())
    parts, meas = _tables(demo)
    outcomes = list(spec["outcomes"])
    visit_choices = " | ".join(f"{v}, {v}" for v in EVENTS)
    fields = [
        ("record_id", "enrolment", "text", "Record ID", "", "", ""),
        ("rand_arm", "enrolment", "radio", "Randomised arm", "1, AT | 2, RT", "", ""),
        ("age", "enrolment", "text", "Age", "", "years", "integer"),
        ("sex", "enrolment", "dropdown", "Sex", "1, F | 2, M", "", ""),
        ("age_group", "enrolment", "text", "Age group", "", "", ""),
        *[
            (o, "skin", "text", spec["outcomes"][o]["label"], "", spec["outcomes"][o]["unit"], "number")
            for o in outcomes
        ],
        ("withdrawn", "completion", "yesno", "Withdrawn?", "", "", ""),
        ("wd_visit", "completion", "dropdown", "Last visit attended", visit_choices, "", ""),
        ("wd_reason", "completion", "text", "Reason for withdrawal", "", "", ""),
    ]
    header = [
        "Variable / Field Name",
        "Form Name",
        "Field Type",
        "Field Label",
        "Choices, Calculations, OR Slider Labels",
        "Field Note",
        "Text Validation Type OR Show Slider Number",
    ]
    pd.DataFrame(fields, columns=header).to_csv(where / "dictionary.csv", index=False)
    values = meas.set_index(["participant_id", "visit", "outcome"])["value"]
    rows = []
    for p in parts.itertuples():
        for visit, event in EVENTS.items():
            row = {"record_id": p.participant_id, "redcap_event_name": event}
            if visit == "week0":
                arm, sex = {"AT": "1", "RT": "2"}[p.arm], {"F": "1", "M": "2"}[p.sex]
                row.update(rand_arm=arm, age=p.age, sex=sex, age_group=p.age_group, enrolment_complete="2")
            got = {o: values.get((p.participant_id, visit, o)) for o in outcomes}
            if any(v is not None for v in got.values()):
                row.update({o: v for o, v in got.items() if v is not None}, skin_complete="2")
            if visit == "week16":
                withdrawn = p.status == "withdrawn"
                row.update(withdrawn="1" if withdrawn else "0", completion_complete="2")
                if withdrawn:
                    row.update(wd_visit=p.withdrawal_visit, wd_reason=p.withdrawal_reason)
            rows.append(row)
    columns = [
        "record_id",
        "redcap_event_name",
        "rand_arm",
        "age",
        "sex",
        "age_group",
        "enrolment_complete",
        *outcomes,
        "skin_complete",
        "withdrawn",
        "wd_visit",
        "wd_reason",
        "completion_complete",
    ]
    pd.DataFrame(rows).reindex(columns=columns).to_csv(where / "records.csv", index=False)
    lines = ["[study]"] + [
        f"{k} = {toml_value(v)}"
        for k, v in spec["study"].items()
        if k in ("name", "description", "reference_arm", "seed")
    ]
    lines += ["arm_labels = " + toml_value(spec["study"]["arm_labels"])]
    lines += [
        "[participants]",
        'arm = "rand_arm"\nage = "age"\nsex = "sex"\nwithdrawn = "withdrawn"\nwithdrawal_visit = "wd_visit"',
        'withdrawal_reason = "wd_reason"\ncolumns = { age_group = "age_group" }',
        '[arms]\nAT = "1"\nRT = "2"',
        "[visits]",
        *[f"{v} = {toml_value(e)}" for v, e in EVENTS.items()],
    ]
    for o in outcomes:
        lines.append(f"[outcomes.{o}]\nfield = {toml_value(o)}")
        lines += [f"{k} = {toml_value(v)}" for k, v in spec["outcomes"][o].items()]
    lines.append("[analysis]")
    lines += [f"{k} = {toml_value(v)}" for k, v in spec["analysis"].items()]
    (where / "mapping.toml").write_text("\n".join(lines) + "\n")
    return where / "records.csv", where / "dictionary.csv", where / "mapping.toml"


def test_redcap_export(demo, reference, tmp_path):
    records, dictionary, mapping = _redcap(demo, tmp_path)
    bundle = tmp_path / "bundle"
    args = ["import", "redcap", str(records), "--dictionary", str(dictionary), "--out", str(bundle)]
    r = runner.invoke(app, [*args, "--mapping", str(mapping)])
    assert r.exit_code == 0, r.output
    assert _ancova(bundle, tmp_path / "out") == reference


def test_spss_files(demo, reference, tmp_path):
    bundle = tmp_path / "bundle"
    _copy_plan(demo, bundle)
    parts, meas = _tables(demo)
    arms = {"AT": 1.0, "RT": 2.0}
    sav = parts.assign(arm=parts["arm"].map(arms), age=pd.to_numeric(parts["age"]).astype(float))
    pyreadstat.write_sav(
        sav, bundle / "participants.sav", variable_value_labels={"arm": {v: k for k, v in arms.items()}}
    )
    pyreadstat.write_sav(meas.assign(value=pd.to_numeric(meas["value"])), bundle / "measurements.sav")
    assert _ancova(bundle, tmp_path / "out") == reference


def test_european_csv(demo, reference, tmp_path):
    bundle = tmp_path / "bundle"
    _copy_plan(demo, bundle)
    for name, frame in zip(("participants", "measurements"), _tables(demo), strict=True):
        for c in frame.columns:
            frame[c] = frame[c].str.replace(".", ",", regex=False)
        frame.to_csv(bundle / f"{name}.csv", sep=";", index=False)
    assert ";" in (bundle / "measurements.csv").read_text().splitlines()[0]
    assert _ancova(bundle, tmp_path / "out") == reference


def test_wide_workbook(demo, reference, tmp_path):
    bundle = tmp_path / "bundle"
    _copy_plan(demo, bundle)
    parts, meas = _tables(demo)
    parts.to_csv(bundle / "participants.csv", index=False)
    meas = meas.assign(column=meas["outcome"] + "_" + meas["visit"], value=pd.to_numeric(meas["value"]))
    wide = meas.pivot(index="participant_id", columns="column", values="value").reset_index()
    wide.columns.name = None
    wide.to_excel(bundle / "measurements.xlsx", index=False, sheet_name="skin")
    with (bundle / "study.toml").open("a") as fh:
        fh.write('\n[measurements]\nlayout = "wide"\nsheet = "skin"\n')
    assert _ancova(bundle, tmp_path / "out") == reference
