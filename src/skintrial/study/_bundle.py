"""A study bundle (a folder) loaded, validated and typed: the :class:`Study` every stage reads.

Bundle layout (``docs/bundle.md``)::

    study.toml          design and pre-specified analysis plan
    participants.csv    participant_id, arm, age, sex, status, withdrawal_visit, withdrawal_reason, strata…
    measurements.csv    participant_id, visit, outcome, value [, replicate]
    training.csv        optional, training sessions
    raw/manifest.csv    optional, raw instrument files

Tables may be ``.csv``, ``.tsv``, ``.xlsx`` or ``.parquet``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from skintrial.errors import InputError, Problem
from skintrial.study._paths import (
    FILE_KEYS,
    Confinement,
    confinement,
    manifest_paths,
    normalised_name,
    outside_problem,
    toml_path_problems,
)
from skintrial.study._ranges import unit_notes
from skintrial.study._readers import ROW_COLUMN, find_table, not_utf8, read_table
from skintrial.study._schema import CONSISTENCY_ERROR, StudyFile, plan_inconsistencies, study_inconsistencies
from skintrial.study._validate import (
    Declared,
    blank_row_notes,
    check_baselines,
    check_declared_outcomes,
    check_followup,
    check_manifest,
    check_measurements,
    check_participants,
    check_withdrawals,
)
from skintrial.study._wide import as_long, read_options, table_formats, with_sheet_labels

__all__ = ["Study", "load_study", "validate_study", "read_study_toml"]


@dataclass(frozen=True)
class Study:
    """A validated study bundle.

    Attributes
    ----------
    root : Path
    spec : StudyFile
        The parsed ``study.toml``; its file keys (``[raw] manifest``, ``[serum] file`` …) name their
        files by the path inside the bundle (``./serum.csv`` is ``serum.csv``).
    participants : DataFrame
        One row per randomised participant (``age`` numeric; ``status`` defaults to ``completed``).
    measurements : DataFrame
        ``participant_id, visit, outcome, value, n_replicates`` with replicates combined by each
        outcome's ``replicate_rule``.
    files : tuple of Path
        Every input file read, for provenance.
    manifest : DataFrame or None
        The raw-file manifest (``participant_id, visit, site, instrument, file`` and ``path``, the
        file's normalised path: ``root / path inside the bundle``, or the resolved path of a file
        under ``[raw] data_root``; see :mod:`skintrial.study._paths`), when the bundle has one.
    notes : tuple of Problem
        Non-fatal findings (``kind="note"``): blank rows skipped, units without a range check.
    """

    root: Path
    spec: StudyFile
    participants: pd.DataFrame
    measurements: pd.DataFrame
    files: tuple[Path, ...]
    manifest: pd.DataFrame | None = None
    notes: tuple[Problem, ...] = ()
    """Non-fatal findings of validation (blank rows skipped, units without a range check), for the user."""

    @property
    def arms(self) -> list[str]:
        return list(self.spec.study.arms)

    @property
    def design(self) -> str:
        """``[study] design``: ``randomised``, ``cross_sectional`` or ``single_arm``."""
        return self.spec.study.design

    @property
    def outcomes(self) -> list[str]:
        """Declared outcomes that have measurements, in declaration order (an outcome computed from raw
        files whose every file failed has none; the pipeline reports it with status ``no_data``)."""
        present = set(self.measurements["outcome"])
        return [o for o in self.spec.outcomes if o in present]

    def with_measurements(self, replicates: pd.DataFrame) -> Study:
        """A copy in which ``replicates`` (one row per replicate: ``participant_id, visit, outcome,
        value``), combined by each outcome's replicate rule, replace the values of the same participant,
        visit and outcome; every other value is kept."""
        keys = ["participant_id", "visit", "outcome"]
        new = _combine_replicates(replicates[[*keys, "value"]], self.spec)
        replaced = self.measurements.set_index(keys).index.isin(new.set_index(keys).index)
        keep = self.measurements[~replaced]
        merged = (
            pd.concat([keep, new], ignore_index=True)
            .sort_values(["participant_id", "visit", "outcome"], kind="mergesort")
            .reset_index(drop=True)
        )
        return replace(self, measurements=merged)

    def long(self) -> pd.DataFrame:
        """Measurements joined with each participant's arm, status and covariates."""
        cols = ["participant_id", "arm", "status", *self.spec.analysis.covariates]
        extra = [c for c in ("age", "sex") if c in self.participants.columns and c not in cols]
        return self.measurements.merge(self.participants[cols + extra], on="participant_id", how="left")


def _toml_problems(exc: ValidationError, file: str) -> list[Problem]:
    out = []
    for err in exc.errors():
        if err["type"] == CONSISTENCY_ERROR:  # reported one by one from the raw document
            continue
        loc = ".".join(str(x) for x in err["loc"])
        value = err.get("input")
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            what = "table" if len(err["loc"]) == 1 else "key"
            msg, fix = f"unknown {what}", "remove it or correct its spelling (see docs/bundle.md)"
        elif err["type"] == "missing":
            msg, fix, value = "required key is missing", "add it (see docs/bundle.md)", None
        elif err["type"] in _TYPE_ERRORS and isinstance(value, str):
            key, table = str(err["loc"][-1]), ".".join(str(x) for x in err["loc"][:-1])
            msg = f"{msg}, not text in quotes"
            fix = f'write {key} = {value.strip()} in [{table}], without quotes (not {key} = "{value}")'
        elif err["type"] == "literal_error" and loc == "study.design":
            fix = 'write design = "randomised" (the default), "cross_sectional" or "single_arm" (docs/bundle.md)'
        elif "is greater than max" in msg:
            fix = "swap min and max, or correct the one that is wrong"
        elif err["type"] == "finite_number":
            msg, fix = (
                "must be a finite number (nan and inf are not values)",
                "give a number, or remove the key",
            )
        else:
            fix = "correct the value (see docs/bundle.md)"
        out.append(
            Problem(
                msg,
                file=file,
                column=loc or None,
                value=value if isinstance(value, (str, int, float, bool)) else None,
                fix=fix,
            )
        )
    return out


_TYPE_ERRORS = ("float_type", "int_type", "bool_type", "float_parsing", "int_parsing")
"""pydantic error types of a value of the wrong type: a number or boolean written as text is named so."""

_TOML_UTF8_FIX = (
    'TOML files must be UTF-8: save study.toml as UTF-8 in a text editor (Notepad "Save As" > '
    'Encoding "UTF-8"; VS Code "Save with Encoding" > "UTF-8"; TextEdit "Format" > "Make Plain Text", '
    'then "Save" with encoding "Unicode (UTF-8)")'
)


def _toml_document(path: Path) -> dict:
    """The parsed TOML document of ``study.toml`` (an :class:`InputError` when it cannot be read)."""
    file = str(path)
    if not path.is_file():
        raise InputError(
            Problem(
                "study.toml not found",
                file=file,
                fix="a study bundle is a folder with study.toml, participants.csv and "
                "measurements.csv (see docs/bundle.md)",
            )
        )
    try:  # utf-8-sig: a byte-order mark (Notepad writes one) is not part of the document
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise InputError(not_utf8(path, fix=_TOML_UTF8_FIX)) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(
            Problem(f"not valid TOML: {exc}", file=file, fix="correct the TOML syntax")
        ) from None


def _study_file(raw: dict, file: str) -> StudyFile:
    # cross-checks run on the raw document too, so they are reported with the field errors, not after
    cross = [
        Problem(i.message, file=file, column=i.key, value=i.value, fix=i.fix)
        for i in (*study_inconsistencies(raw.get("study")), *plan_inconsistencies(raw))
    ]
    try:
        return StudyFile.model_validate(raw)
    except ValidationError as exc:
        raise InputError(_toml_problems(exc, file) + cross) from None


def read_study_toml(path: Path) -> StudyFile:
    """Parse and type-check ``study.toml``; every problem is reported at once."""
    return _study_file(_toml_document(path), str(path))


def _combine_replicates(m: pd.DataFrame, spec: StudyFile) -> pd.DataFrame:
    keys = ["participant_id", "visit", "outcome"]
    rule = m["outcome"].map({k: v.replicate_rule for k, v in spec.outcomes.items()})
    parts = []
    for r in ("mean", "median"):
        sub = m.loc[rule == r]
        if len(sub):
            parts.append(
                sub.groupby(keys, sort=False)["value"]
                .agg([r, "size"])
                .rename(columns={r: "value", "size": "n_replicates"})
                .reset_index()
            )
    out = pd.concat(parts, ignore_index=True) if parts else m[keys].assign(value=[], n_replicates=[])
    return out.sort_values(keys, kind="mergesort").reset_index(drop=True)


def _typed_participants(p: pd.DataFrame, spec: StudyFile) -> pd.DataFrame:
    p = p.drop(columns=[ROW_COLUMN]).copy()
    if "arm" not in p.columns:  # a non-randomised study without arms: its one group (validated)
        p.insert(1, "arm", spec.study.arms[0])
    if "status" not in p.columns:
        p["status"] = "completed"
    p["status"] = p["status"].fillna("completed")
    for c in ("withdrawal_visit", "withdrawal_reason", "sex"):
        if c not in p.columns:
            p[c] = None
    for c in p.columns:
        if c in ("participant_id", "arm", "status", "withdrawal_visit", "withdrawal_reason", "sex"):
            continue
        num = pd.to_numeric(p[c], errors="coerce")
        if num.notna().sum() == p[c].notna().sum():  # every filled cell is a number
            p[c] = num
    return p


@dataclass(frozen=True)
class _Collected:
    spec: StudyFile | None
    """None when study.toml has problems (they are in ``problems``)."""
    participants: pd.DataFrame | None
    measurements: pd.DataFrame | None
    manifest: pd.DataFrame | None
    files: list[Path]
    problems: list[Problem]
    """Errors and notes (``kind="note"``), in the order found."""

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.kind != "note"]

    @property
    def notes(self) -> list[Problem]:
        return [p for p in self.problems if p.kind == "note"]


def _read_spec(root: Path) -> tuple[StudyFile | None, Declared, dict, list[Problem]]:
    """study.toml, and what it declares as far as it is readable (its problems do not stop the table checks)."""
    path = root / "study.toml"
    try:
        raw = _toml_document(path)
    except InputError as exc:
        if not path.is_file():
            raise
        return None, Declared(), {}, list(exc.problems)
    try:
        spec = _study_file(raw, str(path))
    except InputError as exc:
        return None, Declared.from_raw(raw), raw, list(exc.problems)
    return spec, Declared.from_spec(spec), raw, unit_notes(spec.outcomes, str(path))


def _manifest_name(spec: StudyFile | None, raw: dict) -> str | None:
    if spec is not None:
        return spec.raw.manifest if spec.raw is not None else None
    table = raw.get("raw")
    if not isinstance(table, dict):
        return None
    name = table.get("manifest", "raw/manifest.csv")
    return name if isinstance(name, str) else None


def _check_toml_place(root: Path) -> None:
    """study.toml itself is read only when it lies in the bundle (not a link leading out of it)."""
    path = root / "study.toml"
    where = confinement(root, {}, str(path))[0]
    if path.is_symlink() and where.place(path) is None:
        raise InputError(outside_problem(path, where))


def _per_protocol_without_log(root: Path, spec: StudyFile | None, raw: dict, toml: str) -> list[Problem]:
    """A per-protocol rule needs the training log that gives each participant's adherence."""
    analysis = raw.get("analysis")
    rule = analysis.get("per_protocol_min_adherence") if isinstance(analysis, dict) else None
    if rule is None:
        return []
    training = raw.get("training")
    name = (
        spec.training_plan.file
        if spec is not None
        else (training.get("file", "training.csv") if isinstance(training, dict) else "training.csv")
    )
    if not isinstance(name, str):
        return []
    try:
        found = find_table(root, name.rsplit(".", 1)[0])
    except InputError:  # two files for the log: said by the training layer
        return []
    if found is not None:
        return []
    return [
        Problem(
            f"a per-protocol rule is given but the bundle has no training log ({name}) to compute adherence from",
            file=toml,
            column="analysis.per_protocol_min_adherence",
            value=rule,
            fix="add the training log (docs/training.md), or remove per_protocol_min_adherence from [analysis]",
        )
    ]


def _collect(root: Path) -> _Collected:
    _check_toml_place(root)
    spec, d, raw, problems = _read_spec(root)
    toml = str(root / "study.toml")
    where, root_problems = confinement(root, raw, toml)
    problems += root_problems + toml_path_problems(raw, where, toml)
    problems += _per_protocol_without_log(root, spec, raw, toml)
    files = [root / "study.toml"]
    csv, layout = table_formats(spec, raw)  # [csv] and [measurements]: European CSV, wide sheets
    tables: dict[str, tuple[Path, pd.DataFrame]] = {}
    for stem in ("participants", "measurements"):
        try:
            path = find_table(root, stem)
            if path is None:
                raise InputError(
                    Problem(
                        f"{stem} table not found",
                        file=str(root / f"{stem}.csv"),
                        fix=f"add {stem}.csv (or .xlsx / .parquet) to the bundle",
                    )
                )
            if where.place(path) is None:
                raise InputError(outside_problem(path, where))
            tables[stem] = (path, read_table(path, **read_options(stem, csv, layout)))
        except InputError as exc:
            problems += exc.problems
            continue
        files.append(path)
        problems += blank_row_notes(tables[stem][1], str(path))
    if len(tables) < 2:
        return _Collected(None, None, None, None, files, problems)
    (p_path, parts), (m_path, meas) = tables["participants"], tables["measurements"]
    p_file, m_file = str(p_path), str(m_path)
    problems += check_participants(parts, d, p_file)
    # a wide sheet is checked cell by cell (its own rows and columns); `seen` is what it holds
    meas, seen, wide_problems = as_long(meas, layout, d, m_file, parts, p_file)
    problems += wide_problems
    if seen is None:  # a long table
        m_problems, meas = check_measurements(meas, d, parts, m_file, p_file)
        problems += m_problems
        seen = meas
    problems += check_withdrawals(seen, parts, d, m_file, p_file)
    manifest_file, manifest, man_problems = _manifest(where, _manifest_name(spec, raw), d, parts, p_file)
    problems += man_problems
    if manifest is not None and manifest_file is not None:
        files.append(manifest_file)
    if seen.empty:  # said once by check_measurements; every outcome, visit and participant would lack data
        return _Collected(spec, parts, meas, manifest, files, problems)
    problems += check_declared_outcomes(d, seen, manifest, toml)
    problems += check_followup(seen, manifest, d, m_file)
    if "participant_id" in parts.columns and {"participant_id", "visit"} <= set(seen.columns):
        keys = ["participant_id", "visit"]
        base = (
            seen
            if manifest is None or not set(keys) <= set(manifest.columns)
            else pd.concat([seen[keys], manifest[keys]])
        )
        problems += check_baselines(base, parts, d, p_file, m_file)
    return _Collected(spec, parts, meas, manifest, files, problems)


def _manifest(
    where: Confinement, name: str | None, d: Declared, parts: pd.DataFrame, p_file: str
) -> tuple[Path | None, pd.DataFrame | None, list[Problem]]:
    """The raw-file manifest named by ``[raw] manifest`` (normalised path; the table with each file's
    normalised ``path``), and its problems."""
    if name is None:
        return None, None, []
    m_file = where.root / name
    placed = where.place(m_file)
    if placed is None:  # said against the key of study.toml (toml_path_problems)
        return None, None, []
    if not placed.is_file():
        return (
            None,
            None,
            [
                Problem(
                    "raw manifest not found",
                    file=str(m_file),
                    fix="add the manifest, or remove the [raw] table from study.toml",
                )
            ],
        )
    try:
        manifest = read_table(placed)
    except InputError as exc:
        return None, None, list(exc.problems)
    problems = blank_row_notes(manifest, str(placed)) + check_manifest(
        manifest, d, parts, str(placed), p_file
    )
    if "file" in manifest.columns:
        # relative to the manifest's folder as study.toml names it (a linked manifest keeps that folder)
        paths, path_problems = manifest_paths(manifest, m_file.parent, where, str(placed))
        problems += path_problems
        manifest = manifest.assign(path=paths)
    return placed, manifest, problems


def _normalised_spec(spec: StudyFile, where: Confinement) -> StudyFile:
    """``spec`` with each file key naming its file by the path inside the bundle (``./serum.csv`` →
    ``serum.csv``, an absolute path into the bundle → relative), so that later layers read the file
    that was checked and every input path lies under the bundle root."""
    update: dict[str, dict[str, str]] = {}  # a table may name several files ([expression])
    for table, key in FILE_KEYS:
        section = getattr(spec, table)
        value = getattr(section, key) if section is not None else None
        if isinstance(value, str):
            update.setdefault(table, {})[key] = normalised_name(where, value)
    return spec.model_copy(update={t: getattr(spec, t).model_copy(update=u) for t, u in update.items()})


def validate_study(root: Path | str, *, notes: bool = False) -> list[Problem]:
    """Every problem of a bundle, found in one pass (an empty list when it is valid).

    With ``notes=True`` the non-fatal notes (``kind="note"``: blank rows skipped, units without a
    range check) follow the errors.

    Examples
    --------
    >>> import tempfile
    >>> from skintrial.plan import synthetic_study
    >>> d = synthetic_study(seed=1, n=12).write(tempfile.mkdtemp())
    >>> validate_study(d)
    []
    """
    try:
        found = _collect(Path(root))
    except InputError as exc:
        return list(exc.problems)
    return found.errors + (found.notes if notes else [])


def load_study(root: Path | str) -> Study:
    """Load and validate a study bundle; raise :class:`InputError` listing every problem."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(
            Problem("study folder not found", file=str(root), fix="give the path of the bundle folder")
        )
    found = _collect(root)
    InputError.collect(found.errors)
    spec, parts, meas, manifest = found.spec, found.participants, found.measurements, found.manifest
    assert spec is not None and parts is not None and meas is not None  # no errors: everything was read
    spec = _normalised_spec(spec, confinement(root, spec.model_dump(), "")[0])
    spec = with_sheet_labels(spec, meas)  # outcome labels from an SPSS/Stata sheet's variable labels
    if manifest is not None:
        manifest = manifest.drop(columns=[ROW_COLUMN])
        if "site" not in manifest.columns:
            manifest["site"] = None
    participants = _typed_participants(parts, spec)
    # messages of later layers (training, serum, qPCR) name the participants table the bundle has
    participants.attrs["file"] = next(p.name for p in found.files if p.stem == "participants")
    return Study(
        root=root,
        spec=spec,
        participants=participants,
        measurements=_combine_replicates(meas, spec),
        files=tuple(found.files),
        manifest=manifest,
        notes=tuple(found.notes),
    )
