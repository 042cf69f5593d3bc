"""The measurements of one REDCap import: outcome fields' cells at the visits' events, as numbers.

Each outcome's :class:`OutcomeSpec` comes from the mapping and the field it names: the field label
becomes the outcome's label, the field note its unit, the validation min/max its range, unless the
mapping says otherwise (:func:`outcome_spec`). :func:`measurements` takes each outcome field's non-empty
cells at the events mapped to visits (or at the field of each visit); repeat instances and several
events mapped to one visit are replicates, combined by the outcome's ``replicate_rule``. A cell that is
not a number, or is outside the outcome's range, is a problem naming the record, event, instance and
row. :func:`last_visits` gives withdrawn participants without a withdrawal visit their last visit with
values. All of them read and add to the import's :class:`Builder`.
"""

from __future__ import annotations

import pandas as pd
from pydantic import ValidationError

from skintrial.errors import MAX_SHOWN, Problem, more_like_this
from skintrial.study._ranges import outcome_range
from skintrial.study._readers import ROW_COLUMN
from skintrial.study._redcap import EVENT, REPEAT_INSTANCE, parse_number
from skintrial.study._redcap_mapping import unit_from_note
from skintrial.study._redcap_participants import Builder, fix_mapping
from skintrial.study._schema import OutcomeSpec


def outcome_spec(b: Builder, name: str) -> tuple[OutcomeSpec | None, list[str]]:
    """Outcome ``name``'s spec from the mapping and its field, and what was taken from the field (for
    the notes to confirm); ``(None, [])`` after adding the problems when there is none."""
    o = b.m.outcomes[name]
    key = f"outcomes.{name}"
    src = [o.field] if o.field is not None else list((o.fields or {}).values())
    fs = [b.field_of(f, key + (".field" if o.field is not None else ".fields"), numeric=True) for f in src]
    if any(f is None for f in fs) or not fs:
        return None, []
    first = fs[0]
    assert first is not None
    unit = o.unit or unit_from_note(first.note)
    said = [f"unit '{unit}'" + (" (from the field note)" if o.unit is None else "")]
    if not unit:
        b.problems.append(
            Problem(
                f"outcome '{name}' has no unit (the note of field '{first.name}' is {first.note!r})",
                file=b.mfile,
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
            b.validated.add(name)
    try:
        return OutcomeSpec.model_validate(values), said
    except ValidationError as exc:
        for err in exc.errors():
            b.problems.append(
                Problem(
                    err["msg"].removeprefix("Value error, "),
                    file=b.mfile,
                    column=key,
                    fix=fix_mapping(key) + " (the range may come from the field's validation min/max)",
                )
            )
        return None, []


def measurements(b: Builder, people: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, OutcomeSpec]]:
    """The long measurements of ``people`` (one row per value, with its record row, field and event)
    and the outcomes' specs."""
    frame = b.frame
    keep = frame[b.rid].isin(set(people["participant_id"])) if len(people) else frame[b.rid].isna()
    parts, specs = [], {}
    events = frame[EVENT] if b.r.longitudinal else pd.Series(None, index=frame.index, dtype=object)
    instance = frame[REPEAT_INSTANCE] if REPEAT_INSTANCE in frame.columns else None
    incomplete = 0
    for name, o in b.m.outcomes.items():
        spec, said = outcome_spec(b, name)
        if spec is None:
            continue
        specs[name] = spec
        sources = [(v, fname) for v, fname in (o.fields or {}).items()] if o.fields else [(None, o.field)]
        for visit, fname in sources:
            if visit is not None and visit not in b.visits:
                b.problems.append(
                    Problem(
                        f"'{visit}' is not a visit of [visits] {b.visits}",
                        file=b.mfile,
                        column=f"outcomes.{name}.fields",
                        value=visit,
                        fix="name each field by one of the visits",
                    )
                )
                continue
            assert fname is not None
            f = b.d.fields[fname]
            mask = keep & frame[fname].notna()
            if visit is None:
                vis = events.map(b.event_visit)
            else:
                allowed = {e for e, v in b.event_visit.items() if v == visit}
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
                if b.m.redcap.require_complete:
                    mask &= ~not_done
            sub = frame.loc[mask]
            parts.append(
                pd.DataFrame(
                    {
                        "participant_id": sub[b.rid].to_numpy(),
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
        b.confirm.append(
            f"outcome '{name}' <- field(s) {', '.join(str(s[1]) for s in sources)}: {', '.join(said)}"
        )
    if incomplete:
        b.confirm.append(
            f"{incomplete} outcome value(s) come from forms not marked Complete (status 0 Incomplete or "
            "1 Unverified): "
            + (
                "left out (require_complete = true)"
                if b.m.redcap.require_complete
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
    return _numbers(b, long, specs), specs


def _numbers(b: Builder, long: pd.DataFrame, specs: dict[str, OutcomeSpec]) -> pd.DataFrame:
    value = long["text"].map(lambda t: parse_number(str(t)))
    bad = value.isna()
    _cell_problems(
        b, long, bad, "not a number", "correct the value in REDCap (a plain number) and export again"
    )
    long = long.assign(value=value.astype(float))
    for name, spec in specs.items():
        rng = outcome_range(spec, name)
        if not rng.checked:
            continue
        sub = (long["outcome"] == name) & ~bad
        out = sub & ((long["value"] < rng.low) | (long["value"] > rng.high))
        _cell_problems(
            b,
            long,
            out,
            f"value outside the range [{rng.low:g}, {rng.high:g}] of outcome '{name}' in '{spec.unit}' "
            + (
                "(the field's validation min/max, or the mapping's)"
                if name in b.validated
                else f"({rng.basis.replace('in study.toml', 'in the mapping')})"
            ),
            "correct the value in REDCap, or give the outcome's min/max in the mapping if the range is really wider",
        )
    long = long.loc[~bad].reset_index(drop=True)
    key = ["participant_id", "visit", "outcome"]
    n = long.groupby(key, sort=False)["value"].transform("size")
    if (n > 1).any():
        long["replicate"] = long.groupby(key, sort=False).cumcount() + 1
        b.confirm.append(
            f"{int((n > 1).sum())} value(s) are replicates (repeat instances, or several events of one visit) "
            "of their participant, visit and outcome: combined by each outcome's replicate_rule (mean unless "
            "the mapping says median)"
        )
    return long


def _cell_problems(b: Builder, long: pd.DataFrame, bad: pd.Series, message: str, fix: str) -> None:
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
                file=b.r.file,
                row=int(rec["_record_row"]),
                column=rec["_field"],
                value=rec["text"],
                fix=fix,
            )
        )
    if len(sub) > len(shown):
        rows = sub["_record_row"].iloc[len(shown) :]
        shown.append(more_like_this(shown[-1], len(rows), int(rows.min()), int(rows.max())))
    b.problems += shown


def last_visits(b: Builder, people: pd.DataFrame, long: pd.DataFrame) -> pd.DataFrame:
    """``people`` with each withdrawn participant's missing withdrawal visit set to their last visit
    with values."""
    if "withdrawal_visit" not in people.columns:
        return people
    order = {v: i for i, v in enumerate(b.visits)}
    last = long.assign(i=long["visit"].map(order)).groupby("participant_id")["i"].max()
    fill = people["participant_id"].map(last).map(lambda i: None if pd.isna(i) else b.visits[int(i)])
    need = (people["status"] == "withdrawn") & people["withdrawal_visit"].isna()
    people.loc[need, "withdrawal_visit"] = fill[need]
    return people
