"""The mapping of a REDCap project to a study bundle (a TOML file), and the draft of one.

What the data dictionary and the records cannot say, the mapping says: which field is the randomised
arm, which events are the study's visits (in time order), which fields are outcomes and in what unit,
which fields are participant covariates or strata, and the pre-specified analysis plan. Every key is in
``docs/import.md``; unknown keys are errors, as in ``study.toml``.

:func:`draft_mapping` writes a first mapping from the dictionary and the records for a person to
check: the lines that are guesses carry ``# CHECK``.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from skintrial.errors import InputError, Problem
from skintrial.study._ranges import canonical_unit
from skintrial.study._readers import not_utf8
from skintrial.study._redcap import DAG, EVENT, RedcapDictionary, RedcapField, RedcapRecords
from skintrial.study._schema import AnalysisSpec, OutcomeSpec

__all__ = [
    "RedcapMapping",
    "OutcomeMap",
    "ParticipantsMap",
    "read_mapping",
    "draft_mapping",
    "unit_from_note",
    "toml_value",
    "MAPPING_DOC",
]

MAPPING_DOC = "docs/import.md"


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class RedcapOptions(_Table):
    """``[redcap]``: how the export is read."""

    record_id: str | None = None
    """The record-id field (default: the dictionary's first field)."""
    require_complete: bool = False
    """Leave out values of forms whose ``<form>_complete`` status is not 2 (Complete)."""


class StudyMap(_Table):
    """``[study]``: the keys of study.toml's ``[study]`` that REDCap does not hold."""

    name: str
    description: str = ""
    reference_arm: str | None = None
    seed: int | None = None
    arm_labels: dict[str, str] = Field(default_factory=dict)


class ParticipantsMap(_Table):
    """``[participants]``: the fields of the participants table (each a REDCap field name)."""

    arm: str
    age: str | None = None
    sex: str | None = None
    withdrawn: str | None = None
    withdrawn_values: list[str] = Field(default_factory=lambda: ["1"])
    """Codes (or labels) of ``withdrawn`` that mean withdrawn (default ``["1"]``: Yes, True, checked)."""
    withdrawal_visit: str | None = None
    withdrawal_reason: str | None = None
    site: str | None = None
    """A field, or ``"redcap_data_access_group"`` for the record's data access group."""
    columns: dict[str, str] = Field(default_factory=dict)
    """Further participants columns (covariates, strata): column name = field."""


class OutcomeMap(OutcomeSpec):
    """``[outcomes.NAME]``: the field of an outcome and every key of study.toml's ``[outcomes.NAME]``.

    ``unit``, ``label``, ``min`` and ``max`` default to the field's note, label and validation
    min/max in the dictionary.
    """

    unit: str | None = None  # type: ignore[assignment]
    field: str | None = None
    fields: dict[str, str] | None = None
    """Visit → field, for a project without events (or one that keeps each visit in its own field)."""

    @model_validator(mode="after")
    def _one_source(self) -> OutcomeMap:
        if (self.field is None) == (self.fields is None):
            raise ValueError(
                "give either field (the same field at every visit's event) or fields (visit = field)"
            )
        return self


class RedcapMapping(_Table):
    """The whole mapping file."""

    redcap: RedcapOptions = Field(default_factory=RedcapOptions)
    study: StudyMap
    participants: ParticipantsMap
    arms: dict[str, str] = Field(default_factory=dict)
    """Arm name in the bundle = the arm field's choice code (or label); default: the choice labels."""
    visits: dict[str, str | list[str]] = Field(min_length=2)
    """Visit = its REDCap event(s), in time order; the first is the baseline, the last the follow-up."""
    outcomes: dict[str, OutcomeMap] = Field(min_length=1)
    analysis: AnalysisSpec

    def visit_events(self) -> dict[str, list[str]]:
        return {v: [e] if isinstance(e, str) else list(e) for v, e in self.visits.items()}


def _problems(exc: ValidationError, file: str) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg, fix = "unknown key", f"remove it or correct its spelling (see {MAPPING_DOC})"
        elif err["type"] == "missing":
            msg, fix = "required key is missing", f"add it (see {MAPPING_DOC})"
        else:
            fix = f"correct the value (see {MAPPING_DOC})"
        value = err.get("input")
        out.append(
            Problem(
                msg,
                file=file,
                column=loc or None,
                value=value if isinstance(value, str | int | float | bool) else None,
                fix=fix,
            )
        )
    return out


def read_mapping(path: Path | str) -> RedcapMapping:
    """Parse and type-check a mapping file; every problem at once, each naming its key."""
    path = Path(path)
    file = str(path)
    if not path.is_file():
        raise InputError(
            Problem(
                "mapping file not found",
                file=file,
                column="--mapping",
                fix="give the mapping's path, or leave --mapping out to have a draft written",
            )
        )
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise InputError(not_utf8(path, fix="save the mapping as UTF-8 in a text editor")) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(
            Problem(f"not valid TOML: {exc}", file=file, fix="correct the TOML syntax")
        ) from None
    try:
        return RedcapMapping.model_validate(raw)
    except ValidationError as exc:
        raise InputError(_problems(exc, file)) from None


# --- writing TOML -------------------------------------------------------------------------------------


def toml_value(value: object) -> str:
    """A Python value as TOML (strings as JSON strings, which are valid TOML basic strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value), ensure_ascii=False)


def toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def _line(key: str, value: object, comment: str = "") -> str:
    text = f"{toml_key(key)} = {toml_value(value)}"
    return f"{text:<40} # {comment}" if comment else text


# --- the draft ----------------------------------------------------------------------------------------


_UNIT_NOTE = re.compile(r"^(?:units?\s*[:=]?\s*|in\s+)?\(?\s*([^\s()]{1,16})\s*\)?$", re.IGNORECASE)


def unit_from_note(note: str) -> str | None:
    """The unit a field note gives (``mm``, ``(kg)``, ``Unit: mL/kg/min``, ``in %``), or ``None``.

    >>> unit_from_note("(mm)"), unit_from_note("Unit: mL/kg/min"), unit_from_note("measured twice")
    ('mm', 'mL/kg/min', None)
    """
    m = _UNIT_NOTE.match(note.strip())
    if m is None:
        return None
    unit = m.group(1)
    return unit if canonical_unit(unit) is not None or re.fullmatch(r"[^\d\s]\S*", unit) else None


def _find(fields: list[RedcapField], pattern: str, *, types: tuple[str, ...] = ()) -> RedcapField | None:
    rx = re.compile(pattern, re.IGNORECASE)
    for f in fields:
        if (not types or f.type in types) and (rx.search(f.name) or rx.search(f.label)):
            return f
    return None


def _visit_name(event: str) -> str:
    """``week_16_arm_1`` → ``week_16``; a labels export's ``Week 16 (Arm 1: RT)`` → ``week_16``."""
    name = re.sub(r"\s*\(arm \d+.*\)$", "", event, flags=re.IGNORECASE)
    name = re.sub(r"_arm_\d+$", "", name)
    return re.sub(r"[^0-9A-Za-z]+", "_", name).strip("_").lower() or "visit"


def _events_with_values(records: RedcapRecords, f: RedcapField) -> list[str]:
    frame = records.frame
    if f.name not in frame.columns or not records.longitudinal:
        return []
    return list(dict.fromkeys(frame.loc[frame[f.name].notna(), EVENT].dropna()))


def _classic_visits(numeric: list[RedcapField]) -> tuple[list[str], dict[str, dict[str, str]]]:
    """In a project without events, fields named ``<outcome>_<visit>`` (``r2_pre``, ``r2_post``): the
    visits (the suffix set most stems share) and each outcome's field per visit."""
    stems: dict[str, dict[str, str]] = {}
    for f in numeric:
        stem, sep, suffix = f.name.rpartition("_")
        if sep and stem:
            stems.setdefault(stem, {})[suffix] = f.name
    sets: dict[tuple[str, ...], int] = {}
    for per in stems.values():
        if len(per) >= 2:
            sets[tuple(per)] = sets.get(tuple(per), 0) + 1
    if not sets:
        return [], {}
    best: tuple[str, ...] = max(sets, key=lambda k: (sets[k], len(k)))
    visits = list(best)
    return visits, {s: per for s, per in stems.items() if tuple(per) == tuple(visits)}


def draft_mapping(dictionary: RedcapDictionary, records: RedcapRecords, *, command: str = "") -> str:
    """A first mapping of the project, as TOML text, for a person to check and edit.

    Guesses (the arm field, the withdrawal fields, units that no field note gives, the primary
    outcome) are marked ``# CHECK``; everything else is what the dictionary and the records say.
    """
    d = dictionary
    fields = [f for f in d.fields.values() if f.name != d.record_id and f.type != "descriptive"]
    choice = [f for f in fields if f.type in ("dropdown", "radio")]
    arm = _find(choice, r"\barm\b|arm$|group|random|alloc|treat|interven") or (choice[0] if choice else None)
    age = _find(fields, r"^age$|^age\b", types=("text", "calc"))
    sex = _find(fields, r"^(sex|gender)$|\bsex\b|\bgender\b", types=("dropdown", "radio", "text"))
    withdrawn = _find(
        fields, r"withdr|discontinu|drop.?out|early.?term", types=("yesno", "truefalse", "dropdown", "radio")
    )
    reason = _find([f for f in fields if f is not withdrawn], r"reason")
    used = {f.name for f in (arm, age, sex, withdrawn, reason) if f is not None}
    numeric = [f for f in fields if f.numeric and f.name not in used]
    lines = [
        "# Mapping of a REDCap project to a skintrial study bundle (docs/import.md).",
        "# A draft written by `skintrial import redcap` from the data dictionary and the records.",
        "# Check every line marked CHECK, then run the import again with --mapping pointing at this file"
        + (":" if command else "."),
    ]
    if command:
        lines.append(f"#   {command}")
    lines += ["", "[redcap]", _line("record_id", d.record_id, "the record-id field (the dictionary's first)")]
    lines.append(_line("require_complete", False, "true: leave out values of forms not marked Complete"))
    lines += ["", "[study]", _line("name", "REDCap study", "CHECK: the study's name, shown in the report")]
    arm_codes = list(arm.choices) if arm is not None else []
    if arm is not None and arm_codes:
        lines.append(
            _line("reference_arm", arm.choices[arm_codes[0]], "CHECK: contrasts are ARM - reference_arm")
        )
    lines += ["", "[participants]"]
    if arm is None:
        lines.append(
            _line("arm", "", "CHECK: no dropdown or radio field found; name the randomised arm's field")
        )
    else:
        lines.append(_line("arm", arm.name, f"CHECK: the randomised arm ({arm.describe()})"))
    if age is not None:
        lines.append(_line("age", age.name, f"{age.label}"))
    if sex is not None:
        lines.append(_line("sex", sex.name, f"{sex.label}"))
    if withdrawn is not None:
        codes = (
            ["1"]
            if withdrawn.type in ("yesno", "truefalse")
            else [
                c for c, lab in withdrawn.choices.items() if re.search(r"withdr|discontinu|drop", lab, re.I)
            ]
            or ["1"]
        )
        lines.append(_line("withdrawn", withdrawn.name, f"CHECK: {withdrawn.describe()}"))
        lines.append(_line("withdrawn_values", codes, "CHECK: the codes that mean withdrawn"))
    if reason is not None:
        lines.append(_line("withdrawal_reason", reason.name, f"{reason.label}"))
    if records.frame.get(DAG) is not None and records.frame[DAG].notna().any():
        lines.append(_line("site", DAG, "the record's data access group"))
    if arm is not None and arm_codes:
        lines += [
            "",
            "[arms]                                   # arm name in the bundle = the arm field's choice code",
        ]
        lines += [_line(arm.choices[c], c, f"choice {c}, {arm.choices[c]}") for c in arm_codes]
    events = records.events
    classic_visits, per_visit = ([], {}) if events else _classic_visits(numeric)
    lines += [
        "",
        "[visits]                                 # visit = REDCap event(s), in time order; the first is the baseline",
    ]
    if events:
        grouped: dict[str, list[str]] = {}
        for e in events:
            grouped.setdefault(_visit_name(e), []).append(e)
        for visit, evs in grouped.items():
            lines.append(_line(visit, evs[0] if len(evs) == 1 else evs))
    elif classic_visits:
        lines += [_line(v, [], "no events: each outcome names its field per visit") for v in classic_visits]
    else:
        lines += [_line("baseline", [], "CHECK: no events; name the visits"), _line("followup", [], "CHECK")]
    outcomes = []
    lines.append("")
    if events:
        for f in numeric:
            at = _events_with_values(records, f)
            outcomes.append(f.name)
            lines += _outcome_lines(f.name, f, {"field": f.name}, single=len(at) == 1)
    else:
        for stem, per in per_visit.items():
            f = d.fields[next(iter(per.values()))]
            outcomes.append(stem)
            lines += _outcome_lines(stem, f, {"fields": per}, single=False)
        if not per_visit:
            for f in numeric:
                outcomes.append(f.name)
                lines += _outcome_lines(f.name, f, {"fields": {"baseline": f.name}}, single=False, check=True)
    lines += [
        "[analysis]                               # the pre-specified plan, as in study.toml (docs/bundle.md)",
        _line("primary", outcomes[:1], "CHECK: the primary outcome(s)"),
        _line("methods", ["ancova"], 'any of "ancova", "clda", "mixed_anova", "cross_sectional"'),
        _line("multiplicity", "holm"),
        "",
    ]
    return "\n".join(lines)


def _outcome_lines(
    name: str, f: RedcapField, source: dict, *, single: bool, check: bool = False
) -> list[str]:
    unit = unit_from_note(f.note)
    pre = "# " if single else ""
    lines = []
    if single:
        lines.append(
            f"# '{f.name}' has values at one event only: a participant covariate? (participants.columns)"
        )
    head = f"[outcomes.{toml_key(name)}]"
    lines.append(pre + (f"{head:<40} # CHECK: the fields of each visit" if check else head))
    for key, value in source.items():
        lines.append(pre + _line(key, value))
    if unit is None:
        lines.append(pre + _line("unit", "", f"CHECK: the field note ({f.note!r}) gives no unit"))
    else:
        lines.append(pre + _line("unit", unit, "from the field note"))
    if f.label:
        lines.append(pre + _line("label", f.label, "from the field label"))
    rng = [f"{k} {v:g}" for k, v in (("min", f.min), ("max", f.max)) if v is not None]
    if rng:
        lines.append(pre + f"# range {', '.join(rng)} from the field's validation (min/max here override it)")
    lines.append("")
    return lines
