"""A REDCap project (records export + data dictionary + mapping) turned into a study bundle.

:func:`import_redcap` reads the three files, builds ``study.toml``, ``participants.csv`` and
``measurements.csv`` in memory, validates them as ``skintrial validate`` does, and returns them with
the list of things a person should confirm. Every problem is said in REDCap's words: the records
file's row, the field, the record id and the event.

* participants: one per record with an arm (records without one, e.g. screening failures, are left
  out and listed); a participant field's value is the one non-empty value across the record's rows
  (two different values are a problem naming both events); coded choices become their labels.
* measurements: each outcome field's non-empty cells at the events mapped to visits; repeat
  instances (and several events mapped to one visit) are replicates, combined by the outcome's
  ``replicate_rule``; the field label becomes the outcome's label, the field note its unit, the
  validation min/max its range, unless the mapping says otherwise.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import ValidationError

from skintrial.errors import MAX_SHOWN, InputError, Problem, more_like_this
from skintrial.study._ranges import outcome_range
from skintrial.study._readers import ROW_COLUMN
from skintrial.study._redcap import (
    DAG,
    EVENT,
    REPEAT_INSTANCE,
    RedcapDictionary,
    RedcapField,
    RedcapRecords,
    parse_number,
    read_dictionary,
    read_records,
)
from skintrial.study._redcap_mapping import (
    MAPPING_DOC,
    RedcapMapping,
    draft_mapping,
    read_mapping,
    toml_key,
    toml_value,
    unit_from_note,
)
from skintrial.study._schema import OutcomeSpec

__all__ = [
    "RedcapImport",
    "import_redcap",
    "redcap_draft",
    "write_redcap_bundle",
    "write_redcap_draft",
    "MAPPING_FILE",
]

MAPPING_FILE = "redcap_mapping.toml"
"""The mapping's name in the bundle folder: the draft is written there, and a bundle keeps there the
mapping it was built with."""
_MARK = ".skintrial-import.json"
_BY = "skintrial import redcap"
_TABLE_SUFFIXES = (".csv", ".tsv", ".xlsx", ".parquet", ".sav", ".zsav", ".dta")


@dataclass(frozen=True)
class RedcapImport:
    """A bundle built from a REDCap project: its files' contents and what a person should confirm."""

    study_toml: str
    participants: pd.DataFrame
    measurements: pd.DataFrame
    mapping_text: str
    """The mapping that was used, as its file holds it."""
    confirm: tuple[str, ...] = field(default_factory=tuple)
    """What a person should check: arms, visits, outcomes and their units and ranges, records left
    out, incomplete forms, replicates, columns the dictionary does not know."""


def redcap_draft(records: Path | str, dictionary: Path | str, *, command: str = "") -> str:
    """The draft mapping of a project (:func:`skintrial.study._redcap_mapping.draft_mapping`)."""
    d = read_dictionary(dictionary)
    return draft_mapping(d, read_records(records, d), command=command)


def _fix_mapping(what: str) -> str:
    return f"correct {what} in the mapping (see {MAPPING_DOC})"


class _Builder:
    """The state of one import: the inputs, and the problems and notes found on the way."""

    def __init__(self, d: RedcapDictionary, r: RedcapRecords, m: RedcapMapping, mapping_file: str):
        self.d, self.r, self.m, self.mfile = d, r, m, mapping_file
        self.frame = r.frame
        self.rid = m.redcap.record_id or d.record_id
        self.problems: list[Problem] = []
        self.confirm: list[str] = []
        self.event_visit: dict[str, str] = {}
        self.validated: set[str] = set()
        """Outcomes whose min or max is the REDCap field's validation min/max."""
        self.visits = list(m.visits)

    # --- checks of the mapping against the project ------------------------------------------------

    def field_of(self, name: str | None, key: str, *, numeric: bool = False) -> RedcapField | None:
        if name is None:
            return None
        if name == DAG and key == "participants.site":
            return None
        f = self.d.fields.get(name)
        if f is None:
            close = [n for n in self.d.fields if n.startswith(name[:3])][:6]
            self.problems.append(
                Problem(
                    f"field '{name}' is not in the data dictionary"
                    + (f" (fields like it: {close})" if close else ""),
                    file=self.mfile,
                    column=key,
                    value=name,
                    fix=_fix_mapping(key),
                )
            )
            return None
        if numeric and not f.numeric and not (f.type == "text" and not f.validation):
            self.problems.append(
                Problem(
                    f"field '{name}' is a {f.describe()}, not a number field (text validated as a number, "
                    "calc or slider)",
                    file=self.mfile,
                    column=key,
                    value=name,
                    fix=_fix_mapping(key) + ": an outcome is a measured number",
                )
            )
            return None
        if f.type != "checkbox" and name not in self.frame.columns:
            self.problems.append(
                Problem(
                    f"field '{name}' is in the data dictionary but not in the records export",
                    file=self.r.file,
                    row=1,
                    column=name,
                    fix="export the records with every field the mapping names (all instruments), or "
                    + _fix_mapping(key),
                )
            )
            return None
        return f

    def check_visits(self) -> None:
        if self.r.longitudinal:
            seen = set(self.r.events)
            for visit, events in self.m.visit_events().items():
                if not events:
                    self.problems.append(
                        Problem(
                            f"visit '{visit}' names no event (events in the records: {self.r.events})",
                            file=self.mfile,
                            column=f"visits.{visit}",
                            fix="name the visit's event(s)",
                        )
                    )
                for e in events:
                    if e in self.event_visit:
                        self.problems.append(
                            Problem(
                                f"event '{e}' is named for two visits ('{self.event_visit[e]}' and '{visit}')",
                                file=self.mfile,
                                column=f"visits.{visit}",
                                value=e,
                                fix="map each event to one visit",
                            )
                        )
                    elif e not in seen:
                        self.problems.append(
                            Problem(
                                f"event '{e}' is not in the records (events found: {self.r.events})",
                                file=self.mfile,
                                column=f"visits.{visit}",
                                value=e,
                                fix="write the event as the records' redcap_event_name column has it "
                                "(a labels export has the event's label)",
                            )
                        )
                    self.event_visit.setdefault(e, visit)
            left = [e for e in self.r.events if e not in self.event_visit]
            if left:
                self.confirm.append(
                    f"events that are not visits (their outcome values are not imported; participant "
                    f"fields are read from them): {', '.join(left)}"
                )
        else:
            for name, o in self.m.outcomes.items():
                if o.field is not None:
                    self.problems.append(
                        Problem(
                            "the project has no events (no redcap_event_name column), so one field cannot "
                            "hold several visits",
                            file=self.mfile,
                            column=f"outcomes.{name}.field",
                            value=o.field,
                            fix=f'name the field of each visit: fields = {{ {self.visits[0]} = "...", '
                            f'{self.visits[-1]} = "..." }}',
                        )
                    )

    # --- participants -------------------------------------------------------------------------------

    def record_values(
        self, f: RedcapField | None, column: str | None = None, *, codes: bool = False
    ) -> pd.Series:
        """Each record's one value of a participant field (its choice label for a choice field, unless
        ``codes``)."""
        name = column or (f.name if f is not None else None)
        records = pd.Index(self.frame[self.rid].drop_duplicates())
        if name is None:
            return pd.Series(None, index=records, dtype=object)
        if f is not None and f.type == "checkbox":
            return self._checkbox_values(f, records)
        cells = self.frame.loc[
            self.frame[name].notna(), [self.rid, name, ROW_COLUMN] + ([EVENT] if self.r.longitudinal else [])
        ]
        distinct = cells.drop_duplicates([self.rid, name])
        clash = distinct[distinct.duplicated(self.rid, keep=False)]
        for rid, grp in list(clash.groupby(self.rid, sort=False))[:MAX_SHOWN]:
            where = (
                ", ".join(
                    f"'{v}' at event '{e}' (row {r})"
                    for v, e, r in zip(grp[name], grp[EVENT], grp[ROW_COLUMN], strict=True)
                )
                if self.r.longitudinal
                else ", ".join(f"'{v}' (row {r})" for v, r in zip(grp[name], grp[ROW_COLUMN], strict=True))
            )
            self.problems.append(
                Problem(
                    f"record '{rid}': field '{name}' holds different values: {where}",
                    file=self.r.file,
                    row=int(grp[ROW_COLUMN].iloc[1]),
                    column=name,
                    fix="a participant has one value of this field: correct it in REDCap and export again",
                )
            )
        values = distinct.drop_duplicates(self.rid).set_index(self.rid)[name]
        if f is not None and f.choice_field and not codes:
            values = values.map(lambda v: f.choices.get(v, v))
        return values.reindex(records)

    def _checkbox_values(self, f: RedcapField, records: pd.Index) -> pd.Series:
        cols = [
            (c, code)
            for c in self.frame.columns
            if (hit := self.d.checkbox_column(c)) and hit[0] is f
            for code in [hit[1]]
        ]
        checked = pd.DataFrame({code: self.frame[c].eq("1") for c, code in cols})
        checked[self.rid] = self.frame[self.rid]
        per = checked.groupby(self.rid, sort=False).any()
        return pd.Series(
            ["; ".join(f.choices[c] for c in per.columns if row[c]) or None for _, row in per.iterrows()],
            index=per.index,
            dtype=object,
        ).reindex(records)

    def first_row(self) -> pd.Series:
        return self.frame.drop_duplicates(self.rid).set_index(self.rid)[ROW_COLUMN]

    def participants(self) -> pd.DataFrame:
        pm = self.m.participants
        arm_f = self.field_of(pm.arm, "participants.arm")
        keyed = {
            "age": self.field_of(pm.age, "participants.age"),
            "sex": self.field_of(pm.sex, "participants.sex"),
            "withdrawal_reason": self.field_of(pm.withdrawal_reason, "participants.withdrawal_reason"),
        }
        wd_f = self.field_of(pm.withdrawn, "participants.withdrawn")
        wv_f = self.field_of(pm.withdrawal_visit, "participants.withdrawal_visit")
        site_f = self.field_of(pm.site, "participants.site")
        extra = {c: self.field_of(f, f"participants.columns.{c}") for c, f in pm.columns.items()}
        if arm_f is None:
            return pd.DataFrame()
        rows = self.first_row()
        codes = (
            self.frame.loc[self.frame[arm_f.name].notna()]
            .drop_duplicates(self.rid)
            .set_index(self.rid)[arm_f.name]
        )
        arm = self.record_values(arm_f)
        names = self.arm_names(arm_f, codes)
        out = pd.DataFrame({"participant_id": arm.index, "arm": arm.map(names).to_numpy()})
        for column, f in keyed.items():
            if f is not None:
                out[column] = self.record_values(f).to_numpy()
        if out.get("age") is not None:
            age = out["age"].map(lambda v: None if v is None else parse_number(str(v)))
            bad = out["age"].notna() & age.isna()
            for rid in out.loc[bad, "participant_id"].head(MAX_SHOWN):
                self.problems.append(
                    Problem(
                        f"record '{rid}': age is not a number",
                        file=self.r.file,
                        row=int(rows[rid]),
                        column=pm.age,
                        value=out.loc[out["participant_id"] == rid, "age"].iloc[0],
                        fix="correct the age in REDCap",
                    )
                )
            out["age"] = out["age"]  # the text as REDCap holds it (checked above)
        if wd_f is not None:
            raw = (
                self.frame.loc[self.frame[wd_f.name].notna()]
                .drop_duplicates(self.rid)
                .set_index(self.rid)[wd_f.name]
            )
            label = {c: lab for c, lab in wd_f.choices.items()}
            flagged = {v for v in pm.withdrawn_values} | {label[v] for v in pm.withdrawn_values if v in label}
            is_wd = raw.reindex(out["participant_id"]).map(lambda v: v in flagged or label.get(v) in flagged)
            out["status"] = np.where(is_wd.to_numpy(dtype=bool), "withdrawn", "completed")
        if site_f is not None or pm.site == DAG:
            out["site"] = self.record_values(site_f, column=DAG if pm.site == DAG else None).to_numpy()
        for column, f in extra.items():
            if f is not None:
                out[column] = self.record_values(f).to_numpy()
        out["_record_row"] = rows.reindex(out["participant_id"]).to_numpy()
        out = self.drop_unrandomised(out)
        if "status" in out.columns:
            out = self.withdrawal_visits(out, wv_f)
        return out

    def arm_names(self, f: RedcapField, codes: pd.Series) -> dict[str, str]:
        """Arm label (the record's value) → arm name in the bundle."""
        if not f.choice_field:
            return {v: v for v in codes.unique()}
        if not self.m.arms:
            return {lab: lab for lab in f.choices.values()}
        out = {}
        for name, want in self.m.arms.items():
            code = (
                want if want in f.choices else next((c for c, lab in f.choices.items() if lab == want), None)
            )
            if code is None:
                self.problems.append(
                    Problem(
                        f"'{want}' is not a choice of the arm field '{f.name}' ({f.describe()})",
                        file=self.mfile,
                        column=f"arms.{name}",
                        value=want,
                        fix="give the choice's code (or label)",
                    )
                )
                continue
            out[f.choices[code]] = name
        unmapped = sorted({f.choices.get(c, c) for c in codes.unique()} - set(out))
        if unmapped:
            self.problems.append(
                Problem(
                    f"records are randomised to arm choice(s) {unmapped} that [arms] does not name",
                    file=self.mfile,
                    column="arms",
                    fix="add each arm to [arms] (arm name = choice code)",
                )
            )
        return out

    def drop_unrandomised(self, out: pd.DataFrame) -> pd.DataFrame:
        none = out["arm"].isna()
        if none.any():
            ids = out.loc[none, "participant_id"].astype(str).tolist()
            shown = ", ".join(ids[:10]) + (" …" if len(ids) > 10 else "")
            self.confirm.append(
                f"{len(ids)} record(s) without an arm (field '{self.m.participants.arm}' empty: not randomised?) "
                f"left out: {shown}"
            )
        self.dropped = set(out.loc[none, "participant_id"])
        return out.loc[~none].reset_index(drop=True)

    def withdrawal_visits(self, out: pd.DataFrame, wv_f: RedcapField | None) -> pd.DataFrame:
        withdrawn = out["status"] == "withdrawn"
        if wv_f is not None:
            raw = self.record_values(wv_f, codes=True).reindex(out["participant_id"]).to_numpy()
            lookup = {**{v: v for v in self.visits}, **self.event_visit}
            visit = [
                None
                if v is None
                else lookup.get(v, lookup.get(wv_f.choices.get(v, ""), lookup.get(str(v).lower())))
                for v in raw
            ]
            for rid, v, vis, wd, row in zip(
                out["participant_id"], raw, visit, withdrawn, out["_record_row"], strict=True
            ):
                if wd and v is not None and vis is None:
                    self.problems.append(
                        Problem(
                            f"record '{rid}': the withdrawal visit '{v}' is neither a visit {self.visits} nor an "
                            "event mapped to one",
                            file=self.r.file,
                            row=int(row),
                            column=wv_f.name,
                            fix="give the choices of this field the visits' or events' names, or leave "
                            "withdrawal_visit out (the last visit with data is used)",
                        )
                    )
            out["withdrawal_visit"] = [vis if wd else None for vis, wd in zip(visit, withdrawn, strict=True)]
        else:
            out["withdrawal_visit"] = None
        self.withdrawn_ids = out.loc[withdrawn, "participant_id"]
        if withdrawn.any():
            how = f"field '{wv_f.name}'" if wv_f is not None else "the last visit with measurements"
            self.confirm.append(
                f"{int(withdrawn.sum())} withdrawn participant(s) (field '{self.m.participants.withdrawn}' in "
                f"{self.m.participants.withdrawn_values}); withdrawal visit from {how}"
            )
        return out

    # --- measurements -------------------------------------------------------------------------------

    def outcome_spec(self, name: str) -> tuple[OutcomeSpec | None, list[str]]:
        o = self.m.outcomes[name]
        key = f"outcomes.{name}"
        src = [o.field] if o.field is not None else list((o.fields or {}).values())
        fs = [
            self.field_of(f, key + (".field" if o.field is not None else ".fields"), numeric=True)
            for f in src
        ]
        if any(f is None for f in fs) or not fs:
            return None, []
        first = fs[0]
        assert first is not None
        unit = o.unit or unit_from_note(first.note)
        said = [f"unit '{unit}'" + (" (from the field note)" if o.unit is None else "")]
        if not unit:
            self.problems.append(
                Problem(
                    f"outcome '{name}' has no unit (the note of field '{first.name}' is {first.note!r})",
                    file=self.mfile,
                    column=f"{key}.unit",
                    fix=f'write its unit in [{key}], e.g. unit = "mm"',
                )
            )
            return None, []
        values = o.model_dump(exclude={"field", "fields"}, exclude_none=True, exclude_unset=True)
        values["unit"] = unit
        if o.label is None and first.label:
            values["label"] = first.label
            said.append("label from the field label")
        for bound in ("min", "max"):
            given = getattr(first, bound)
            if getattr(o, bound) is None and given is not None:
                values[bound] = given
                said.append(f"{bound} {given:g} (from the field's validation {bound})")
                self.validated.add(name)
        try:
            return OutcomeSpec.model_validate(values), said
        except ValidationError as exc:
            for err in exc.errors():
                self.problems.append(
                    Problem(
                        err["msg"].removeprefix("Value error, "),
                        file=self.mfile,
                        column=key,
                        fix=_fix_mapping(key) + " (the range may come from the field's validation min/max)",
                    )
                )
            return None, []

    def measurements(self, people: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, OutcomeSpec]]:
        frame = self.frame
        keep = frame[self.rid].isin(set(people["participant_id"])) if len(people) else frame[self.rid].isna()
        parts, specs = [], {}
        events = frame[EVENT] if self.r.longitudinal else pd.Series(None, index=frame.index, dtype=object)
        instance = frame[REPEAT_INSTANCE] if REPEAT_INSTANCE in frame.columns else None
        incomplete = 0
        for name, o in self.m.outcomes.items():
            spec, said = self.outcome_spec(name)
            if spec is None:
                continue
            specs[name] = spec
            sources = [(v, fname) for v, fname in (o.fields or {}).items()] if o.fields else [(None, o.field)]
            for visit, fname in sources:
                if visit is not None and visit not in self.visits:
                    self.problems.append(
                        Problem(
                            f"'{visit}' is not a visit of [visits] {self.visits}",
                            file=self.mfile,
                            column=f"outcomes.{name}.fields",
                            value=visit,
                            fix="name each field by one of the visits",
                        )
                    )
                    continue
                assert fname is not None
                f = self.d.fields[fname]
                mask = keep & frame[fname].notna()
                if visit is None:
                    vis = events.map(self.event_visit)
                else:
                    allowed = {e for e, v in self.event_visit.items() if v == visit}
                    vis = (
                        pd.Series(visit, index=frame.index)
                        if not allowed
                        else events.map(lambda e, a=allowed, v=visit: v if e in a else None)
                    )
                mask &= vis.notna()
                status = frame.get(f"{f.form}_complete")
                if status is not None:
                    not_done = mask & status.ne("2")
                    incomplete += int(not_done.sum())
                    if self.m.redcap.require_complete:
                        mask &= ~not_done
                sub = frame.loc[mask]
                parts.append(
                    pd.DataFrame(
                        {
                            "participant_id": sub[self.rid].to_numpy(),
                            "visit": vis[mask].to_numpy(),
                            "outcome": name,
                            "text": sub[fname].to_numpy(),
                            "instance": instance[mask].to_numpy() if instance is not None else None,
                            "_record_row": sub[ROW_COLUMN].to_numpy(),
                            "_field": fname,
                            "_event": events[mask].to_numpy(),
                        }
                    )
                )
            self.confirm.append(
                f"outcome '{name}' <- field(s) {', '.join(str(s[1]) for s in sources)}: {', '.join(said)}"
            )
        if incomplete:
            self.confirm.append(
                f"{incomplete} outcome value(s) come from forms not marked Complete (status 0 Incomplete or "
                "1 Unverified): "
                + (
                    "left out (require_complete = true)"
                    if self.m.redcap.require_complete
                    else "imported; set require_complete = true in [redcap] to leave them out"
                )
            )
        long = (
            pd.concat(parts, ignore_index=True)
            if parts
            else pd.DataFrame(
                columns=[
                    "participant_id",
                    "visit",
                    "outcome",
                    "text",
                    "instance",
                    "_record_row",
                    "_field",
                    "_event",
                ]
            )
        )
        return self.numbers(long, specs), specs

    def numbers(self, long: pd.DataFrame, specs: dict[str, OutcomeSpec]) -> pd.DataFrame:
        value = long["text"].map(lambda t: parse_number(str(t)))
        bad = value.isna()
        self.cell_problems(
            long, bad, "not a number", "correct the value in REDCap (a plain number) and export again"
        )
        long = long.assign(value=value.astype(float))
        for name, spec in specs.items():
            rng = outcome_range(spec, name)
            if not rng.checked:
                continue
            sub = (long["outcome"] == name) & ~bad
            out = sub & ((long["value"] < rng.low) | (long["value"] > rng.high))
            self.cell_problems(
                long,
                out,
                f"value outside the range [{rng.low:g}, {rng.high:g}] of outcome '{name}' in '{spec.unit}' "
                + (
                    "(the field's validation min/max, or the mapping's)"
                    if name in self.validated
                    else f"({rng.basis.replace('in study.toml', 'in the mapping')})"
                ),
                "correct the value in REDCap, or give the outcome's min/max in the mapping if the range is really wider",
            )
        long = long.loc[~bad].reset_index(drop=True)
        key = ["participant_id", "visit", "outcome"]
        n = long.groupby(key, sort=False)["value"].transform("size")
        if (n > 1).any():
            long["replicate"] = long.groupby(key, sort=False).cumcount() + 1
            self.confirm.append(
                f"{int((n > 1).sum())} value(s) are replicates (repeat instances, or several events of one visit) "
                "of their participant, visit and outcome: combined by each outcome's replicate_rule (mean unless "
                "the mapping says median)"
            )
        return long

    def cell_problems(self, long: pd.DataFrame, bad: pd.Series, message: str, fix: str) -> None:
        sub = long.loc[bad]
        shown = []
        for rec in sub.head(MAX_SHOWN).to_dict("records"):
            where = f"record '{rec['participant_id']}'" + (
                f", event '{rec['_event']}'" if rec["_event"] is not None else ""
            )
            if rec["instance"] is not None and not pd.isna(rec["instance"]):
                where += f", instance {rec['instance']}"
            shown.append(
                Problem(
                    f"{where}: {message}",
                    file=self.r.file,
                    row=int(rec["_record_row"]),
                    column=rec["_field"],
                    value=rec["text"],
                    fix=fix,
                )
            )
        if len(sub) > len(shown):
            rows = sub["_record_row"].iloc[len(shown) :]
            shown.append(more_like_this(shown[-1], len(rows), int(rows.min()), int(rows.max())))
        self.problems += shown

    def last_visits(self, people: pd.DataFrame, long: pd.DataFrame) -> pd.DataFrame:
        if "withdrawal_visit" not in people.columns:
            return people
        order = {v: i for i, v in enumerate(self.visits)}
        last = long.assign(i=long["visit"].map(order)).groupby("participant_id")["i"].max()
        fill = people["participant_id"].map(last).map(lambda i: None if pd.isna(i) else self.visits[int(i)])
        need = (people["status"] == "withdrawn") & people["withdrawal_visit"].isna()
        people.loc[need, "withdrawal_visit"] = fill[need]
        return people


def _study_toml(
    m: RedcapMapping, arms: list[str], specs: dict[str, OutcomeSpec], labels: dict[str, str], source: str
) -> str:
    s = m.study
    lines = [
        f"# Written by `skintrial import redcap` from {source}.",
        "",
        "[study]",
        f"name = {toml_value(s.name)}",
    ]
    if s.description:
        lines.append(f"description = {toml_value(s.description)}")
    lines.append(f"arms = {toml_value(arms)}")
    if s.reference_arm is not None:
        lines.append(f"reference_arm = {toml_value(s.reference_arm)}")
    lines += [
        f"visits = {toml_value(list(m.visits))}",
        f"baseline_visit = {toml_value(next(iter(m.visits)))}",
    ]
    if s.seed is not None:
        lines.append(f"seed = {s.seed}")
    arm_labels = {**{a: lab for a, lab in labels.items() if a in arms and lab != a}, **s.arm_labels}
    if arm_labels:
        lines += ["", "[study.arm_labels]"] + [
            f"{toml_key(a)} = {toml_value(lab)}" for a, lab in arm_labels.items()
        ]
    for name, spec in specs.items():
        lines += ["", f"[outcomes.{toml_key(name)}]"]
        lines += [
            f"{k} = {toml_value(v)}"
            for k, v in spec.model_dump(exclude_none=True, exclude_defaults=True).items()
        ]
        if "unit" not in spec.model_dump(exclude_defaults=True):
            lines.append(f"unit = {toml_value(spec.unit)}")
    lines += ["", "[analysis]"]
    lines += [
        f"{k} = {toml_value(v)}"
        for k, v in m.analysis.model_dump(exclude_unset=True, exclude_none=True).items()
        if not isinstance(v, dict)
    ]
    cs = m.analysis.cross_sectional
    if cs is not None:
        lines += ["", "[analysis.cross_sectional]"]
        lines += [
            f"{k} = {toml_value(v)}" for k, v in cs.model_dump(exclude_unset=True, exclude_none=True).items()
        ]
    return "\n".join(lines) + "\n"


def _bundle_problems(study_toml: str, people: pd.DataFrame, long: pd.DataFrame, b: _Builder) -> list[Problem]:
    """Validate the bundle as ``skintrial validate`` does, with each problem said in REDCap's words."""
    from skintrial.study._bundle import validate_study

    with tempfile.TemporaryDirectory(prefix="skintrial-redcap-") as tmp:
        root = Path(tmp)
        (root / "study.toml").write_text(study_toml, encoding="utf-8")
        people.drop(columns=["_record_row"]).to_csv(root / "participants.csv", index=False)
        long[
            ["participant_id", "visit", "outcome", "value", *(["replicate"] if "replicate" in long else [])]
        ].to_csv(root / "measurements.csv", index=False)
        found = validate_study(root)
        return [_said_in_redcap(p, root, people, long, b) for p in found]


def _said_in_redcap(p: Problem, root: Path, people: pd.DataFrame, long: pd.DataFrame, b: _Builder) -> Problem:
    name = Path(p.file).name if p.file else ""
    if name == "study.toml":
        return Problem(
            f"the study.toml built from the mapping: {p.message}"
            + (f" (key {p.column})" if p.column else ""),
            file=b.mfile,
            value=p.value,
            fix=p.fix + f" — in the mapping's matching table (see {MAPPING_DOC})",
        )
    if name in ("participants.csv", "measurements.csv") and p.row is not None and p.row >= 2:
        table = people if name == "participants.csv" else long
        rec = table.iloc[p.row - 2]
        where = f"record '{rec['participant_id']}'"
        column = p.column
        if name == "measurements.csv":
            if rec["_event"] is not None:
                where += f", event '{rec['_event']}'"
            column = rec["_field"]
        message = re.sub(r"participants\.csv \(row \d+\)", "the record's withdrawal fields", p.message)
        return Problem(
            f"{where}: {message}",
            file=b.r.file,
            row=int(rec["_record_row"]),
            column=column,
            value=p.value,
            fix=p.fix.replace("participants.csv", "REDCap (the record's participant fields)"),
            rows_affected=p.rows_affected,
        )
    return Problem(
        p.message.replace(str(root), "the bundle"),
        file=b.r.file,
        column=p.column,
        value=p.value,
        fix=p.fix,
        rows_affected=p.rows_affected,
    )


def import_redcap(records: Path | str, dictionary: Path | str, mapping: Path | str) -> RedcapImport:
    """Build a study bundle from a REDCap records export, its data dictionary and a mapping.

    Raises :class:`InputError` with every problem (the records file's row, the field, the record id
    and event) when the export cannot make a valid bundle. See ``docs/import.md``.
    """
    mapping = Path(mapping)
    m = read_mapping(mapping)
    d = read_dictionary(dictionary)
    r = read_records(records, d)
    b = _Builder(d, r, m, str(mapping))
    if b.rid not in r.frame.columns:
        raise InputError(
            Problem(
                f"the record-id field '{b.rid}' is not a column of the records",
                file=r.file,
                row=1,
                fix=_fix_mapping("[redcap] record_id"),
            )
        )
    b.check_visits()
    people = b.participants()
    long, specs = b.measurements(people)
    InputError.collect(b.problems)
    people = b.last_visits(people, long)
    arm_field = d.fields[m.participants.arm]
    used = list(dict.fromkeys(people["arm"]))
    choice_order = (
        [
            b.arm_names(arm_field, pd.Series([], dtype=object)).get(lab, lab)
            for lab in arm_field.choices.values()
        ]
        if arm_field.choice_field
        else []
    )
    arms = [a for a in choice_order if a in used] + [a for a in used if a not in choice_order]
    labels = {}
    if arm_field.choice_field:
        names = b.arm_names(arm_field, pd.Series([], dtype=object))
        labels = {names.get(lab, lab): lab for lab in arm_field.choices.values()}
    source = f"{Path(records).name} and {Path(dictionary).name} with {mapping.name}"
    study_toml = _study_toml(m, arms, specs, labels, source)
    InputError.collect(b.problems)
    InputError.collect(_bundle_problems(study_toml, people, long, b))
    n_arm = people["arm"].value_counts()
    b.confirm.insert(
        0,
        f"{len(people)} participants from field '{m.participants.arm}': "
        + ", ".join(f"{a} {int(n_arm.get(a, 0))}" for a in arms)
        + (
            f" (labels: {', '.join(f'{a} = {labels[a]!r}' for a in arms if labels.get(a, a) != a)})"
            if any(labels.get(a, a) != a for a in arms)
            else ""
        ),
    )
    per_visit = long.groupby("visit", sort=False)["participant_id"].nunique()
    b.confirm.insert(
        1,
        "visits: "
        + "; ".join(
            f"{v} <- {', '.join(repr(e) for e in m.visit_events()[v]) or 'fields per visit'} "
            f"({int(per_visit.get(v, 0))} participants with values)"
            for v in m.visits
        ),
    )
    if "site" in people.columns and m.participants.site == DAG:
        groups = people["site"].value_counts(dropna=False)
        b.confirm.append(
            "data access groups -> participants column 'site': "
            + ", ".join(f"{k} {int(n)}" for k, n in groups.items())
        )
    if r.unknown_columns:
        b.confirm.append(
            f"columns not in the data dictionary, left out: {', '.join(_shown(r.unknown_columns))}"
        )
    if r.labels:
        b.confirm.append(
            "the records are a labels export: choice labels were turned back into codes with the dictionary"
        )
    measurements = long[
        ["participant_id", "visit", "outcome", "value", *(["replicate"] if "replicate" in long else [])]
    ]
    return RedcapImport(
        study_toml=study_toml,
        participants=people.drop(columns=["_record_row"]).reset_index(drop=True),
        measurements=measurements.reset_index(drop=True),
        mapping_text=mapping.read_text(encoding="utf-8-sig"),
        confirm=tuple(b.confirm),
    )


def _shown(items: Iterable[str], n: int = 10) -> list[str]:
    items = list(items)
    return items[:n] + ([f"… {len(items) - n} more"] if len(items) > n else [])


# --- writing ------------------------------------------------------------------------------------------


def _marked(out: Path) -> dict[str, str]:
    """The files an earlier import wrote into ``out`` and their SHA-256 (empty without a mark)."""
    try:
        mark = json.loads((out / _MARK).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(mark, dict) or mark.get("written_by") != _BY or not isinstance(mark.get("files"), dict):
        return {}
    return {str(k): str(v) for k, v in mark["files"].items()}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _replace_problems(out: Path, names: Iterable[str]) -> list[Problem]:
    """Files of ``out`` an import may not replace: those an earlier import did not write, or that were
    changed since; and tables of another format that would make a second table of a name."""
    marked = _marked(out)
    problems = []
    for name in names:
        path = out / name
        if not (path.exists() or path.is_symlink()):
            continue
        if path.is_file() and not path.is_symlink() and marked.get(name) == _sha(path.read_bytes()):
            continue
        problems.append(
            Problem(
                f"{name} is already in the bundle folder and was not written by an earlier import (or was "
                "changed since); it is not replaced",
                file=str(path),
                column="--out",
                fix="choose another --out, or move the file away",
            )
        )
    for stem in ("participants", "measurements"):
        for suffix in _TABLE_SUFFIXES:
            path = out / f"{stem}{suffix}"
            if suffix != ".csv" and path.exists():
                problems.append(
                    Problem(
                        f"the bundle folder already holds {path.name}; with the imported {stem}.csv it would "
                        f"have two {stem} tables",
                        file=str(path),
                        column="--out",
                        fix="choose another --out, or move the file away",
                    )
                )
    return problems


def write_redcap_bundle(
    imported: RedcapImport, out: Path | str, *, mapping: Path | str, inputs: Iterable[Path | str] = ()
) -> list[Path]:
    """Write the bundle into ``out``: ``study.toml``, ``participants.csv``, ``measurements.csv`` and
    the mapping used (``redcap_mapping.toml``, unless ``mapping`` is that file), all or none.

    Files an earlier import wrote are replaced; any other file of those names (a bundle of your own) is
    refused (:class:`InputError`, nothing written). Returns the paths written.
    """
    from skintrial._io import csv_bytes, same_file, write_files

    out = Path(out)
    files: dict[str, bytes] = {
        "study.toml": imported.study_toml.encode("utf-8"),
        "participants.csv": csv_bytes(imported.participants),
        "measurements.csv": csv_bytes(imported.measurements),
    }
    if not same_file(out / MAPPING_FILE, Path(mapping)):
        files[MAPPING_FILE] = imported.mapping_text.encode("utf-8")
    InputError.collect(_replace_problems(out, files))
    mark = {"written_by": _BY, "files": {name: _sha(data) for name, data in files.items()}}
    files[_MARK] = (json.dumps(mark, indent=1, sort_keys=True) + "\n").encode("utf-8")
    inputs = [Path(p) for p in inputs] + [Path(mapping)]
    return write_files({out / name: data for name, data in files.items()}, inputs=inputs)


def write_redcap_draft(draft: str, out: Path | str, *, inputs: Iterable[Path | str] = ()) -> Path:
    """Write a draft mapping to ``out/redcap_mapping.toml``; a mapping already there is never replaced."""
    from skintrial._io import write_text

    path = Path(out) / MAPPING_FILE
    if path.exists() or path.is_symlink():
        raise InputError(
            Problem(
                "a mapping is already there; a draft would replace it",
                file=str(path),
                column="--mapping",
                fix=f"pass it with --mapping {path}, or move it away to have a new draft written",
            )
        )
    return write_text(draft, path, inputs=[Path(p) for p in inputs])
