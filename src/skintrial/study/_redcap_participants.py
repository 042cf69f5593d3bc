"""One REDCap import's state, the mapping's checks against the project, and the participants table.

:class:`Builder` holds the inputs (dictionary, records, mapping) and what is found on the way: the
problems (each in REDCap's words: the records file's row, the field, the record id and event) and the
notes a person should confirm. Its methods check the fields and events the mapping names and build
``participants.csv``: one row per record with an arm; a participant field's value is the one non-empty
value across the record's rows (two different values are a problem naming both events); coded choices
become their labels. The measurements are built from the same state in
:mod:`skintrial.study._redcap_measurements`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from skintrial.errors import MAX_SHOWN, Problem
from skintrial.study._readers import ROW_COLUMN
from skintrial.study._redcap import (
    DAG,
    EVENT,
    RedcapDictionary,
    RedcapField,
    RedcapRecords,
    parse_number,
)
from skintrial.study._redcap_mapping import MAPPING_DOC, RedcapMapping


def fix_mapping(what: str) -> str:
    """The fix of a problem with ``what`` (a key of the mapping)."""
    return f"correct {what} in the mapping (see {MAPPING_DOC})"


class Builder:
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
                    fix=fix_mapping(key),
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
                    fix=fix_mapping(key) + ": an outcome is a measured number",
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
                    + fix_mapping(key),
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
