"""REDCap import: raw and labels exports, events, repeating instruments, DAGs, checkboxes, statuses,
blank cells, the dictionary's choices/labels/notes/validation, the draft mapping, and problems said in
REDCap's words (records row, field, record id, event)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
import pytest

from skintrial.errors import InputError
from skintrial.study import import_redcap, load_study, redcap_draft, validate_study, write_redcap_bundle

DICTIONARY = [
    # name, form, type, label, choices, note, validation, min, max
    ("record_id", "enrolment", "text", "Record ID", "", "", "", "", ""),
    ("arm", "enrolment", "radio", "Randomised <b>group</b>", "1, Aerobic | 2, Resistance", "", "", "", ""),
    ("age", "enrolment", "text", "Age", "", "years", "integer", "18", "90"),
    ("sex", "enrolment", "dropdown", "Sex", "1, Female | 2, Male", "", "", "", ""),
    (
        "conditions",
        "enrolment",
        "checkbox",
        "Conditions",
        "1, Hypertension | 2, Diabetes | 99, None",
        "",
        "",
        "",
        "",
    ),
    ("intro", "skin", "descriptive", "Measure the left cheek", "", "", "", "", ""),
    ("thick", "skin", "text", "Dermal thickness", "", "mm", "number", "0.5", "5"),
    ("r2", "cutometer", "text", "Gross elasticity R2", "", "(ratio)", "number", "0", "1"),
    ("wd", "completion", "yesno", "Withdrawn?", "", "", "", "", ""),
    ("wd_reason", "completion", "dropdown", "Reason", "1, Moved away | 2, Illness", "", "", "", ""),
    ("wd_visit", "completion", "dropdown", "Last visit", "week0, Week 0 | week16, Week 16", "", "", "", ""),
]
DICT_HEADER = [
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
]
RAW_HEADER = [
    "record_id",
    "redcap_event_name",
    "redcap_repeat_instrument",
    "redcap_repeat_instance",
    "redcap_data_access_group",
    "arm",
    "age",
    "sex",
    "conditions___1",
    "conditions___2",
    "conditions___99",
    "enrolment_complete",
    "thick",
    "skin_complete",
    "r2",
    "cutometer_complete",
    "wd",
    "wd_reason",
    "wd_visit",
    "completion_complete",
]
# record: arm, age, sex, conditions, DAG, thickness (week0, week16), r2 instances (week0, week16), withdrawn
PEOPLE = [
    ("1", "1", "45", "1", ["1"], "site_a", ("2.1", "2.3"), (["0.70", "0.72"], ["0.75", "0.77"]), None),
    ("2", "2", "51", "1", [], "site_a", ("1.9", "2.4"), (["0.66"], ["0.71", "0.73"]), None),
    ("3", "1", "48", "2", ["1", "2"], "site_b", ("2.0", "2.1"), (["0.69"], ["0.70"]), None),
    ("4", "2", "55", "1", ["99"], "site_b", ("2.2", "2.6"), (["0.64"], ["0.70"]), None),
    ("5", "1", "60", "1", [], "site_b", ("1.8", "1.9"), (["0.61"], ["0.62"]), None),
    ("6", "2", "43", "2", [], "site_a", ("2.3", None), (["0.73"], []), "2"),
]
EVENTS = ("baseline_arm_1", "week_16_arm_1")


def _raw_rows(people=PEOPLE, screen_failure: bool = True) -> list[dict]:
    rows = []
    for rid, arm, age, sex, conds, dag, thick, r2s, wd_reason in people:
        for k, event in enumerate(EVENTS):
            row = {"record_id": rid, "redcap_event_name": event, "redcap_data_access_group": dag}
            if k == 0:
                row.update(arm=arm, age=age, sex=sex, enrolment_complete="2")
                row.update({f"conditions___{c}": "1" if c in conds else "0" for c in ("1", "2", "99")})
            if thick[k] is not None:
                row.update(thick=thick[k], skin_complete="2")
            if k == 1:
                row.update(wd="1" if wd_reason else "0", wd_reason=wd_reason, completion_complete="2")
                row.update(wd_visit="week0" if wd_reason else None)
            rows.append(row)
            for i, v in enumerate(r2s[k], start=1):
                rows.append(
                    {
                        "record_id": rid,
                        "redcap_event_name": event,
                        "redcap_repeat_instrument": "cutometer",
                        "redcap_repeat_instance": str(i),
                        "redcap_data_access_group": dag,
                        "r2": v,
                        "cutometer_complete": "2",
                    }
                )
    if screen_failure:  # screened, never randomised: no arm, no measurements
        rows.append(
            {"record_id": "7", "redcap_event_name": EVENTS[0], "age": "70", "enrolment_complete": "0"}
        )
    return rows


MAPPING = """
[study]
name = "REDCap trial"
reference_arm = "AT"

[participants]
arm = "arm"
age = "age"
sex = "sex"
withdrawn = "wd"
withdrawal_reason = "wd_reason"
site = "redcap_data_access_group"
columns = { conditions = "conditions" }

[arms]
AT = "1"
RT = "2"

[visits]
week0 = "baseline_arm_1"
week16 = "week_16_arm_1"

[outcomes.dermal_thickness]
field = "thick"

[outcomes.r2]
field = "r2"
instrument = "cutometer"

[analysis]
primary = ["dermal_thickness"]
secondary = ["r2"]
"""


def _write(path: Path, rows: list[dict], header: list[str], sep: str = ",") -> Path:
    pd.DataFrame(rows).reindex(columns=header).to_csv(path, index=False, sep=sep)
    return path


@pytest.fixture
def project(tmp_path: Path) -> dict[str, Path]:
    rows = [[name, form, "", *rest, "", "", ""] for name, form, *rest in DICTIONARY]
    pd.DataFrame(rows, columns=DICT_HEADER).to_csv(tmp_path / "dictionary.csv", index=False)
    _write(tmp_path / "records.csv", _raw_rows(), RAW_HEADER)
    (tmp_path / "mapping.toml").write_text(MAPPING)
    return {
        "records": tmp_path / "records.csv",
        "dictionary": tmp_path / "dictionary.csv",
        "mapping": tmp_path / "mapping.toml",
    }


def _labels_export(raw: Path, out: Path, sep: str = ",") -> Path:
    """The raw export as REDCap's "CSV (labels)" writes it: field labels as headers, choice labels as
    values, Checked/Unchecked, statuses in words, event labels."""
    frame = pd.read_csv(raw, dtype=str, keep_default_na=False)
    fields = {r[0]: r for r in DICTIONARY}
    choices = {
        "arm": {"1": "Aerobic", "2": "Resistance"},
        "sex": {"1": "Female", "2": "Male"},
        "wd": {"1": "Yes", "0": "No"},
        "wd_reason": {"1": "Moved away", "2": "Illness"},
        "wd_visit": {"week0": "Week 0", "week16": "Week 16"},
    }
    status = {"0": "Incomplete", "1": "Unverified", "2": "Complete"}
    events = {"baseline_arm_1": "Baseline (Arm 1: Trial)", "week_16_arm_1": "Week 16 (Arm 1: Trial)"}
    header = []
    for c in frame.columns:
        if c in choices:
            frame[c] = frame[c].map(lambda v, t=choices[c]: t.get(v, v))
        if c.endswith("_complete"):
            frame[c] = frame[c].map(lambda v: status.get(v, v))
            header.append("Complete?")
        elif c.startswith("conditions___"):
            frame[c] = frame[c].map({"1": "Checked", "0": "Unchecked", "": ""})
            code = c.split("___")[1]
            label = {"1": "Hypertension", "2": "Diabetes", "99": "None"}[code]
            header.append(f"Conditions (choice={label})")
        elif c == "redcap_event_name":
            frame[c] = frame[c].map(events)
            header.append("Event Name")
        elif c == "redcap_repeat_instrument":
            frame[c] = frame[c].map({"cutometer": "Cutometer", "": ""})
            header.append("Repeat Instrument")
        elif c == "redcap_repeat_instance":
            header.append("Repeat Instance")
        elif c == "redcap_data_access_group":
            header.append("Data Access Group")
        else:
            header.append(fields[c][3].replace("<b>", "").replace("</b>", ""))
    frame.columns = header
    frame.to_csv(out, index=False, sep=sep)
    return out


def _bundle(imported, tmp: Path, mapping: Path) -> Path:
    out = tmp / "bundle"
    write_redcap_bundle(imported, out, mapping=mapping)
    return out


def test_raw_export_makes_a_valid_bundle(project, tmp_path):
    imp = import_redcap(project["records"], project["dictionary"], project["mapping"])
    out = _bundle(imp, tmp_path, project["mapping"])
    assert validate_study(out) == []
    study = load_study(out)
    p = study.participants.set_index("participant_id")
    assert list(p.index) == ["1", "2", "3", "4", "5", "6"]  # the screening failure (no arm) is left out
    assert p.loc["1", "arm"] == "AT" and p.loc["2", "arm"] == "RT"
    assert p.loc["3", "sex"] == "Male"  # coded choice -> label
    assert p.loc["3", "conditions"] == "Hypertension; Diabetes"  # checkbox -> checked labels
    assert pd.isna(p.loc["2", "conditions"])
    assert p.loc["4", "site"] == "site_b"  # data access group
    assert p.loc["6", "status"] == "withdrawn" and p.loc["6", "withdrawal_reason"] == "Illness"
    assert p.loc["6", "withdrawal_visit"] == "week0"  # the last visit with data
    spec = tomllib.loads((out / "study.toml").read_text())
    assert spec["study"]["arms"] == ["AT", "RT"] and spec["study"]["visits"] == ["week0", "week16"]
    assert spec["study"]["arm_labels"] == {"AT": "Aerobic", "RT": "Resistance"}
    thick = spec["outcomes"]["dermal_thickness"]
    assert thick == {"unit": "mm", "label": "Dermal thickness", "min": 0.5, "max": 5.0}
    assert spec["outcomes"]["r2"]["unit"] == "ratio" and spec["outcomes"]["r2"]["instrument"] == "cutometer"
    m = study.measurements.set_index(["participant_id", "visit", "outcome"])
    assert m.loc[("1", "week0", "r2"), "value"] == pytest.approx(0.71)  # repeat instances averaged
    assert m.loc[("1", "week0", "r2"), "n_replicates"] == 2
    assert m.loc[("1", "week16", "dermal_thickness"), "value"] == 2.3
    assert ("6", "week16", "dermal_thickness") not in m.index  # blank cell: not measured
    text = "\n".join(imp.confirm)
    assert "1 record(s) without an arm" in text and ": 7" in text
    assert "replicates" in text and "site_a 3" in text
    assert "min 0.5 (from the field's validation min)" in text and "unit 'mm' (from the field note)" in text


@pytest.mark.parametrize("strict", [False, True])
def test_labels_export_gives_the_same_bundle(project, tmp_path, strict):
    rows = _raw_rows()
    rows[3]["skin_complete"] = "1"  # record 1, week 16: thickness Unverified (a later form's status)
    _write(project["records"], rows, RAW_HEADER)
    head = "[redcap]\nrequire_complete = true\n" if strict else ""
    (tmp_path / "raw_mapping.toml").write_text(head + MAPPING)
    raw = import_redcap(project["records"], project["dictionary"], tmp_path / "raw_mapping.toml")
    labels = _labels_export(project["records"], tmp_path / "labels.csv")
    mapping = tmp_path / "labels_mapping.toml"
    mapping.write_text(
        head
        + MAPPING.replace('"baseline_arm_1"', '"Baseline (Arm 1: Trial)"').replace(
            '"week_16_arm_1"', '"Week 16 (Arm 1: Trial)"'
        )
    )
    lab = import_redcap(labels, project["dictionary"], mapping)
    pd.testing.assert_frame_equal(lab.participants, raw.participants)
    pd.testing.assert_frame_equal(lab.measurements, raw.measurements)
    assert any("labels export" in line for line in lab.confirm)
    assert any("1 outcome value(s) come from forms not marked Complete" in line for line in lab.confirm)
    assert not any("not in the data dictionary" in line for line in lab.confirm)  # every "Complete?" known


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_other_delimiters_and_decimal_commas(project, tmp_path, sep):
    rows = _raw_rows()
    for row in rows:  # REDCap's export option "decimal character: comma"
        for k in ("thick", "r2"):
            if row.get(k):
                row[k] = row[k].replace(".", ",")
    path = _write(tmp_path / "records_eu.csv", rows, RAW_HEADER, sep=sep)
    raw = import_redcap(project["records"], project["dictionary"], project["mapping"])
    eu = import_redcap(path, project["dictionary"], project["mapping"])
    pd.testing.assert_frame_equal(eu.measurements, raw.measurements)
    assert eu.measurements["value"].between(0.5, 5).all()  # 2,1 is 2.1: never 21, never two columns


def test_require_complete_leaves_out_unfinished_forms(project, tmp_path):
    rows = _raw_rows()
    rows[0]["skin_complete"] = "1"  # record 1, baseline: thickness Unverified
    _write(project["records"], rows, RAW_HEADER)
    imp = import_redcap(project["records"], project["dictionary"], project["mapping"])
    assert any("1 outcome value(s) come from forms not marked Complete" in c for c in imp.confirm)
    mapping = tmp_path / "strict.toml"
    mapping.write_text("[redcap]\nrequire_complete = true\n" + MAPPING)
    strict = import_redcap(project["records"], project["dictionary"], mapping)
    m = strict.measurements
    assert len(m) == len(imp.measurements) - 1
    assert not ((m.participant_id == "1") & (m.visit == "week0") & (m.outcome == "dermal_thickness")).any()


def _problem(exc: pytest.ExceptionInfo, text: str):
    hits = [p for p in exc.value.problems if text in p.message]
    assert hits, [p.render() for p in exc.value.problems]
    assert all(p.fix for p in hits)
    return hits[0]


def test_a_bad_value_is_named_by_record_event_field_and_row(project):
    rows = _raw_rows()
    rows[3]["thick"] = "2.2mm"  # record 1, week 16
    _write(project["records"], rows, RAW_HEADER)
    with pytest.raises(InputError) as exc:
        import_redcap(project["records"], project["dictionary"], project["mapping"])
    p = _problem(exc, "not a number")
    assert "record '1', event 'week_16_arm_1'" in p.message
    assert p.column == "thick" and p.row == 5 and p.value == "2.2mm" and p.file == str(project["records"])


def test_a_value_outside_the_validation_range_is_named(project):
    rows = _raw_rows()
    rows[1]["r2"] = "7"  # record 1, baseline, instance 1
    _write(project["records"], rows, RAW_HEADER)
    with pytest.raises(InputError) as exc:
        import_redcap(project["records"], project["dictionary"], project["mapping"])
    p = _problem(exc, "outside the range [0, 1]")
    assert "record '1', event 'baseline_arm_1', instance 1" in p.message and p.column == "r2" and p.row == 3


def test_two_values_of_a_participant_field_are_named_with_their_events(project):
    rows = _raw_rows()
    rows[3]["arm"] = "2"  # record 1 randomised to AT at baseline, RT at week 16
    _write(project["records"], rows, RAW_HEADER)
    with pytest.raises(InputError) as exc:
        import_redcap(project["records"], project["dictionary"], project["mapping"])
    p = _problem(exc, "holds different values")
    assert "record '1'" in p.message and "'baseline_arm_1'" in p.message and "'week_16_arm_1'" in p.message
    assert p.column == "arm"


def test_mapping_problems_name_their_keys(project, tmp_path):
    mapping = tmp_path / "bad.toml"
    mapping.write_text(
        MAPPING.replace('field = "thick"', 'field = "thickness"')
        .replace('"week_16_arm_1"', '"week_12_arm_1"')
        .replace('field = "r2"', 'field = "sex"')
    )
    with pytest.raises(InputError) as exc:
        import_redcap(project["records"], project["dictionary"], mapping)
    assert (
        _problem(exc, "field 'thickness' is not in the data dictionary").column
        == "outcomes.dermal_thickness.field"
    )
    assert _problem(exc, "event 'week_12_arm_1' is not in the records").column == "visits.week16"
    assert _problem(exc, "not a number field").column == "outcomes.r2.field"
    mapping.write_text(MAPPING.replace("[participants]", "[participants]\nweight = 'w'"))
    with pytest.raises(InputError) as exc:
        import_redcap(project["records"], project["dictionary"], mapping)
    assert _problem(exc, "unknown key").column == "participants.weight"


def test_a_measurement_after_withdrawal_is_said_in_redcap_words(project):
    people = list(PEOPLE)
    people[5] = people[5][:6] + (("2.3", "2.5"),) + people[5][7:]  # withdrawn at week 0, measured at week 16
    _write(project["records"], _raw_rows(people), RAW_HEADER)
    mapping = project["mapping"]
    mapping.write_text(MAPPING.replace("site = ", 'withdrawal_visit = "wd_visit"\nsite = '))
    with pytest.raises(InputError) as exc:
        import_redcap(project["records"], project["dictionary"], mapping)
    p = _problem(exc, "after the visit 'week0'")
    assert p.message.startswith("record '6', event 'week_16_arm_1': ")
    assert p.column == "thick" and p.file == str(project["records"]) and p.row == 27
    assert "participants.csv" not in p.message
    mapping.write_text(MAPPING.replace("site = ", 'withdrawal_visit = "age"\nsite = '))
    with pytest.raises(InputError) as exc:
        import_redcap(project["records"], project["dictionary"], mapping)
    assert _problem(exc, "the withdrawal visit '43'").column == "age"


def test_unit_missing_from_note_and_mapping(project, tmp_path):
    d = pd.read_csv(project["dictionary"], dtype=str, keep_default_na=False)
    d.loc[d["Variable / Field Name"] == "thick", "Field Note"] = "left cheek, 3 readings"
    d.to_csv(project["dictionary"], index=False)
    with pytest.raises(InputError) as exc:
        import_redcap(project["records"], project["dictionary"], project["mapping"])
    assert _problem(exc, "has no unit").column == "outcomes.dermal_thickness.unit"


def test_project_without_events_names_a_field_per_visit(tmp_path):
    d = pd.DataFrame(
        [
            ("id", "form", "text", "ID", "", "", ""),
            ("group", "form", "dropdown", "Group", "0, CON | 1, RT", "", ""),
            ("r2_pre", "form", "text", "R2 before", "", "ratio", "number"),
            ("r2_post", "form", "text", "R2 after", "", "ratio", "number"),
            ("thick_pre", "form", "text", "Thickness before", "", "mm", "number"),
            ("thick_post", "form", "text", "Thickness after", "", "mm", "number"),
        ],
        columns=[
            "field_name",
            "form_name",
            "field_type",
            "field_label",
            "select_choices_or_calculations",
            "field_note",
            "text_validation_type_or_show_slider_number",
        ],
    )  # the API's metadata export names its columns so
    d.to_csv(tmp_path / "dictionary.csv", index=False)
    records = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "group": ["0", "1", "0", "1"],
            "r2_pre": ["0.7", "0.6", "0.65", "0.66"],
            "r2_post": ["0.72", "0.7", "", "0.71"],
            "thick_pre": ["2", "2.1", "1.9", "2.2"],
            "thick_post": ["2.1", "2.4", "2", "2.5"],
            "form_complete": ["2", "2", "2", "2"],
        }
    )
    records.to_csv(tmp_path / "records.csv", index=False)
    draft = redcap_draft(tmp_path / "records.csv", tmp_path / "dictionary.csv")
    parsed = tomllib.loads(draft)
    assert list(parsed["visits"]) == ["pre", "post"]
    assert parsed["outcomes"]["r2"]["fields"] == {"pre": "r2_pre", "post": "r2_post"}
    assert parsed["participants"]["arm"] == "group"
    (tmp_path / "m.toml").write_text(draft)
    imp = import_redcap(tmp_path / "records.csv", tmp_path / "dictionary.csv", tmp_path / "m.toml")
    out = _bundle(imp, tmp_path, tmp_path / "m.toml")
    assert validate_study(out) == []
    m = load_study(out).measurements
    assert len(m) == 15 and set(m["visit"]) == {"pre", "post"}


def test_draft_of_a_longitudinal_project(project):
    draft = redcap_draft(project["records"], project["dictionary"])
    parsed = tomllib.loads(draft)
    assert parsed["participants"]["arm"] == "arm"
    assert parsed["participants"]["site"] == "redcap_data_access_group"
    assert parsed["participants"]["withdrawn"] == "wd" and parsed["participants"]["withdrawn_values"] == ["1"]
    assert parsed["arms"] == {"Aerobic": "1", "Resistance": "2"}
    assert parsed["visits"] == {"baseline": "baseline_arm_1", "week_16": "week_16_arm_1"}
    assert parsed["outcomes"]["thick"]["unit"] == "mm" and parsed["outcomes"]["r2"]["unit"] == "ratio"
    assert "age" not in parsed["outcomes"]  # a participant field, not an outcome
    assert "# CHECK" in draft
