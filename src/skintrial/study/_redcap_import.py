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

The import's state and its participants are built in ``_redcap_participants``, its measurements
in ``_redcap_measurements``, its ``study.toml`` and the validation in REDCap's words in
``_redcap_bundle``; ``_redcap_write`` writes the result into a bundle folder.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from skintrial.errors import InputError, Problem
from skintrial.study._redcap import DAG, read_dictionary, read_records
from skintrial.study._redcap_bundle import bundle_problems, study_toml_text
from skintrial.study._redcap_mapping import draft_mapping, read_mapping
from skintrial.study._redcap_measurements import last_visits, measurements
from skintrial.study._redcap_participants import Builder, fix_mapping

__all__ = ["RedcapImport", "import_redcap", "redcap_draft"]


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


def import_redcap(records: Path | str, dictionary: Path | str, mapping: Path | str) -> RedcapImport:
    """Build a study bundle from a REDCap records export, its data dictionary and a mapping.

    Raises :class:`InputError` with every problem (the records file's row, the field, the record id
    and event) when the export cannot make a valid bundle. See ``docs/import.md``.
    """
    mapping = Path(mapping)
    m = read_mapping(mapping)
    d = read_dictionary(dictionary)
    r = read_records(records, d)
    b = Builder(d, r, m, str(mapping))
    if b.rid not in r.frame.columns:
        raise InputError(
            Problem(
                f"the record-id field '{b.rid}' is not a column of the records",
                file=r.file,
                row=1,
                fix=fix_mapping("[redcap] record_id"),
            )
        )
    b.check_visits()
    people = b.participants()
    long, specs = measurements(b, people)
    InputError.collect(b.problems)
    people = last_visits(b, people, long)
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
    study_toml = study_toml_text(m, arms, specs, labels, source)
    InputError.collect(b.problems)
    InputError.collect(bundle_problems(study_toml, people, long, b))
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
    measured = long[
        ["participant_id", "visit", "outcome", "value", *(["replicate"] if "replicate" in long else [])]
    ]
    return RedcapImport(
        study_toml=study_toml,
        participants=people.drop(columns=["_record_row"]).reset_index(drop=True),
        measurements=measured.reset_index(drop=True),
        mapping_text=mapping.read_text(encoding="utf-8-sig"),
        confirm=tuple(b.confirm),
    )


def _shown(items: Iterable[str], n: int = 10) -> list[str]:
    items = list(items)
    return items[:n] + ([f"… {len(items) - n} more"] if len(items) > n else [])
