"""The study bundle an import makes: its ``study.toml`` text, and its validation in REDCap's words.

:func:`study_toml_text` writes ``study.toml`` from the mapping's study, visits, arms and analysis and the
outcomes' specs. :func:`bundle_problems` validates the built bundle as ``skintrial validate`` does and
says each problem where a person would correct it: a ``participants.csv`` or ``measurements.csv`` row as
the record, event, field and row of the records export; a ``study.toml`` key as the mapping's table.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pandas as pd

from skintrial.errors import Problem
from skintrial.study._redcap_mapping import MAPPING_DOC, RedcapMapping, toml_key, toml_value
from skintrial.study._redcap_participants import Builder
from skintrial.study._schema import OutcomeSpec


def study_toml_text(
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


def bundle_problems(study_toml: str, people: pd.DataFrame, long: pd.DataFrame, b: Builder) -> list[Problem]:
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


def _said_in_redcap(p: Problem, root: Path, people: pd.DataFrame, long: pd.DataFrame, b: Builder) -> Problem:
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
