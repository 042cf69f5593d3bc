"""The molecular layer of a study bundle: serum panel, mechanism view and fibroblast qPCR, as result tables.

A bundle may hold (``docs/bundle.md``, "Molecular data"):

* ``serum.csv`` — a long serum panel (:func:`skintrial.omics.panels.read_panel`), analysed as the
  ``[serum]`` table of ``study.toml`` says (defaults when the table is absent);
* ``qpcr.csv`` — fibroblasts given each participant's pre and post serum (one sample per participant
  and visit, technical replicates as rows), analysed by the paired design of
  :func:`skintrial.omics.qpcr.paired_relative_expression`; needs ``[qpcr] reference_genes``;
* an expression matrix and its sample table declared by ``[expression]`` — moderated differential
  expression of the paired arm × visit design and CAMERA gene sets
  (:mod:`skintrial.omics._study_expression`).

:func:`analyse_omics` returns the tables by name; a bundle with neither file gives ``{}``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from skintrial.errors import InputError, Problem
from skintrial.stage import StageResult

__all__ = ["analyse_omics", "OMICS_TABLES", "serum_options", "qpcr_options", "omics_stage"]

OMICS_TABLES = (
    "serum_ancova",
    "serum_change",
    "serum_lod",
    "serum_pqn",
    "mechanism",
    "mechanism_top",
    "qpcr",
    "qpcr_exclusions",
    "expression_de",
    "expression_ecm",
    "expression_genesets",
)


def _file(study, spec, stem: str) -> Path | None:
    """The declared file (must exist), else ``<stem>.csv/.tsv/.xlsx/.parquet`` when present."""
    from skintrial.study import find_table

    if spec is not None:
        path = study.root / spec.file
        if not path.is_file():
            raise InputError(
                Problem(
                    f"the {stem} file declared in study.toml is missing",
                    file=str(path),
                    column=f"{stem}.file",
                    value=spec.file,
                    fix=f"add the file to the bundle, or correct [{stem}] file",
                )
            )
        return path
    return find_table(study.root, stem)


def _unknown_participants(
    table: pd.DataFrame, study, file: str, column: str, row: str | None
) -> list[Problem]:
    known = set(study.participants["participant_id"].astype(str))
    ids = table[column].astype(str)
    bad = ~ids.isin(known)
    out = []
    name = study.participants.attrs.get("file", "participants.csv")
    for pid, grp in table.loc[bad].groupby(ids[bad], sort=False):
        out.append(
            Problem(
                f"participant not in {name}",
                file=file,
                column=column,
                value=pid,
                row=int(grp[row].iloc[0]) if row else None,
                rows_affected=len(grp),
                fix=f"correct the id, or add the participant to {name}",
            )
        )
    return out


def serum_options(study) -> dict:
    """The serum-panel settings the bundle is analysed with: ``[serum]`` of study.toml, its defaults when absent.

    One source for the analysis (:func:`panel_analysis` keywords) and for the report's methods text.
    """
    from skintrial.study import SerumSpec

    spec = study.spec.serum if study.spec.serum is not None else SerumSpec()
    return dict(
        log=spec.log,
        below_lod=spec.below_lod,
        max_below_lod=spec.max_below_lod,
        pqn=list(spec.pqn),
        pqn_reference=spec.pqn_reference,
        pqn_total_area=spec.pqn_total_area,
    )


def qpcr_options(study) -> dict:
    """The qPCR settings the bundle is analysed with (``[qpcr]``), as :func:`paired_relative_expression` keywords.

    ``reference_arm`` is not included: it depends on the arms present in the file. Empty without ``[qpcr]``.
    """
    spec, s = study.spec.qpcr, study.spec.study
    if spec is None:
        return {}
    return dict(
        reference_genes=list(spec.reference_genes),
        pre=spec.pre or s.baseline_visit,
        post=spec.post or s.visits[-1],
        method=spec.method,
        efficiencies=pd.Series(spec.efficiencies, dtype=float) if spec.efficiencies else None,
        test=spec.test,
        between=spec.between,
        cutoff=spec.cutoff,
        undetermined=spec.undetermined,
        replicate_rule=spec.replicate_rule,
        max_replicate_sd=spec.max_replicate_sd,
        ci_level=study.spec.analysis.ci_level,
    )


def _serum(study, path: Path, client: Any = None) -> dict[str, pd.DataFrame]:
    from skintrial.omics._panels_schema import PQN_COLUMNS
    from skintrial.omics.panels import panel_analysis, read_panel

    s, plan = study.spec.study, study.spec.analysis
    panel = read_panel(path)
    problems = _unknown_participants(panel, study, str(path), "participant_id", "row")
    bad_visit = ~panel["visit"].isin(s.visits)
    if bad_visit.any():
        first = panel.loc[bad_visit].iloc[0]
        problems.append(
            Problem(
                f"visit not declared in study.toml (visits: {s.visits})",
                file=str(path),
                row=int(first["row"]),
                column="visit",
                value=first["visit"],
                rows_affected=int(bad_visit.sum()),
                fix="use a visit of [study] visits",
            )
        )
    panels = sorted(set(panel["panel"].astype(str)))
    unknown = [name for name in serum_options(study)["pqn"] if name not in panels]
    if unknown:
        problems.append(
            Problem(
                f"[serum] pqn in study.toml names panel(s) {unknown} that the file does not have (its panels: "
                f"{panels})",
                file=str(path),
                column="panel",
                fix="name panels as the file's 'panel' column writes them in [serum] pqn, or remove them",
            )
        )
    InputError.collect(problems)
    covs = list(plan.covariates)
    subj = study.participants[["participant_id", "arm", *covs]].astype({"participant_id": str})
    data = panel.merge(subj, on="participant_id", how="left")
    data.attrs["file"] = str(path)
    opts = serum_options(study)
    present = set(data["arm"].dropna().astype(str))
    arms = [a for a in s.arms if a in present]  # e.g. serum drawn in the exercise arms only
    reference = s.reference_arm if s.reference_arm in present else None
    res = panel_analysis(
        data,
        baseline_visit=s.baseline_visit,
        followup_visit=s.visits[-1],
        arms=arms,
        reference_arm=reference,
        covariates=covs,
        ci_level=plan.ci_level,
        client=client,
        **opts,
    )
    out = {"serum_ancova": res.ancova, "serum_change": res.change, "serum_lod": res.lod}
    if len(res.pqn):
        out["serum_pqn"] = res.pqn[list(PQN_COLUMNS)]
    out.update(_mechanism(study, res))
    return out


def _skin_outcomes(study) -> list[str]:
    spec = study.spec.serum
    declared = study.spec.outcomes
    if spec is not None and spec.mechanism_outcomes is not None:
        unknown = [o for o in spec.mechanism_outcomes if o not in declared]
        if unknown:
            raise InputError(
                Problem(
                    f"serum.mechanism_outcomes names undeclared outcomes {unknown}",
                    file=str(study.root / "study.toml"),
                    column="serum.mechanism_outcomes",
                    fix=f"use outcomes declared under [outcomes] ({list(declared)})",
                )
            )
        names = list(spec.mechanism_outcomes)
    else:
        names = [o for o, d in declared.items() if d.family == "skin"] or list(study.spec.analysis.primary)
    return [o for o in names if o in set(study.outcomes)]


def _mechanism(study, res) -> dict[str, pd.DataFrame]:
    from skintrial.omics.mechanism import mechanism, strongest_pairs

    spec = study.spec.serum
    outcomes = _skin_outcomes(study)
    tested = res.lod.loc[res.lod["tested"], ["panel", "analyte"]]
    if not outcomes or tested.empty:
        return {}
    values = res.values.merge(tested, on=["panel", "analyte"])
    dup = values.drop_duplicates(["panel", "analyte"])["analyte"].duplicated(keep=False)
    if dup.any():  # the same analyte on two panels: name factors panel:analyte
        values = values.assign(analyte=values["panel"] + ":" + values["analyte"])
    long = study.long()
    skin = long[long["outcome"].isin(outcomes)]
    s = study.spec.study
    methods = spec.mechanism_methods if spec is not None else ["spearman", "pearson"]
    adjusted = (False, True) if (spec is None or spec.mechanism_arm_adjusted) else (False,)
    grid = mechanism(
        values,
        skin,
        baseline_visit=s.baseline_visit,
        followup_visit=s.visits[-1],
        methods=methods,
        adjust_for_arm=adjusted,
    )
    return {"mechanism": grid, "mechanism_top": strongest_pairs(grid, top=20, method=methods[0])}


def _qpcr(study, path: Path) -> dict[str, pd.DataFrame]:
    from skintrial.omics.qpcr import paired_relative_expression
    from skintrial.study import read_table

    spec = study.spec.qpcr
    if spec is None:
        raise InputError(
            Problem(
                "a qPCR file is in the bundle but study.toml has no [qpcr] table",
                file=str(path),
                fix="add [qpcr] with reference_genes = [...] (see docs/bundle.md)",
            )
        )
    s = study.spec.study
    raw = read_table(path)
    rename = {c: "participant" for c in raw.columns if c.strip().lower() in ("participant_id", "subject")}
    table = raw.rename(columns=rename)
    if "participant" not in table.columns:
        raise InputError(
            Problem(
                "the qPCR file needs a participant_id column (one sample per participant and visit)",
                file=str(path),
                row=1,
                fix="add participant_id, visit, gene, ct (and sample)",
            )
        )
    problems = _unknown_participants(table, study, str(path), "participant", "_row")
    if "visit" not in table.columns:
        problems.append(
            Problem(
                "the qPCR file needs a visit column (the serum of which visit each sample is)",
                file=str(path),
                row=1,
                fix=f"add a visit column with visits of [study] visits {s.visits}",
            )
        )
    else:
        bad_visit = ~table["visit"].isin(s.visits)
        if bad_visit.any():
            first = table.loc[bad_visit].iloc[0]
            problems.append(
                Problem(
                    f"visit not declared in study.toml (visits: {s.visits})",
                    file=str(path),
                    row=int(first["_row"]),
                    column="visit",
                    value=first["visit"],
                    rows_affected=int(bad_visit.sum()),
                    fix="use a visit of [study] visits",
                )
            )
    InputError.collect(problems)
    arms = study.participants.set_index(study.participants["participant_id"].astype(str))["arm"]
    if "group" not in table.columns:
        table["group"] = table["participant"].astype(str).map(arms)
    if "sample" not in table.columns:
        table["sample"] = table["participant"].astype(str) + "_" + table["visit"].astype(str)
    data = table.drop(columns=["_row"])
    data.attrs["file"] = str(path)
    res = paired_relative_expression(
        data,
        reference_arm=s.reference_arm if s.reference_arm in set(data["group"]) else None,
        **qpcr_options(study),
    )
    out = {"qpcr": res.table}
    if len(res.exclusions):
        participant = table.drop_duplicates("sample").set_index(
            table.drop_duplicates("sample")["sample"].astype(str)
        )
        out["qpcr_exclusions"] = res.exclusions.assign(
            participant_id=res.exclusions["sample"].astype(str).map(participant["participant"]),
            visit=res.exclusions["sample"].astype(str).map(participant["visit"]),
        )
    return out


def analyse_omics(study, *, client: Any = None) -> dict[str, pd.DataFrame]:
    """Analyse the molecular files of a loaded study bundle.

    Parameters
    ----------
    study : skintrial.study.Study
    client : optional
        A ``distributed.Client``, a :mod:`skintrial.cluster` runner, or None for this process: the
        expression layer's genes are then fitted and moderated in chunks on it
        (:mod:`skintrial.omics._outcome_chunks`), with the same results to 1e-12, and the serum
        panel's analytes in chunks (:mod:`skintrial.stats._ancova_chunks`: PQN, the LOD handling and
        Benjamini–Hochberg here, the per-analyte ANCOVA and change in the tasks), with the same tables
        (the ANCOVA's floating-point columns to 1e-12).
        The qPCR runs in this process (a few genes).

    Returns
    -------
    dict of str to DataFrame
        Any of :data:`OMICS_TABLES`: ``serum_ancova``, ``serum_change``, ``serum_lod`` (and ``serum_pqn``
        when PQN ran), ``mechanism`` (the whole factor × skin-outcome grid) and ``mechanism_top`` (its 20
        strongest pairs), ``qpcr`` (and ``qpcr_exclusions``), ``expression_de`` and
        ``expression_genesets`` (with ``[expression]``). Empty when the bundle has no molecular file.

    Raises
    ------
    InputError
        A declared file is missing, a file names unknown participants or visits, a value cannot be
        read, or a qPCR file has no ``[qpcr]`` table.

    Examples
    --------
    >>> import tempfile
    >>> from skintrial.plan import synthetic_study
    >>> from skintrial.study import load_study
    >>> study = load_study(synthetic_study(seed=3, n=24).write(tempfile.mkdtemp()))
    >>> sorted(analyse_omics(study))
    ['mechanism', 'mechanism_top', 'qpcr', 'qpcr_exclusions', 'serum_ancova', 'serum_change', 'serum_lod', 'serum_pqn']
    """
    out: dict[str, pd.DataFrame] = {}
    serum = _file(study, study.spec.serum, "serum")
    if serum is not None:
        out.update(_serum(study, serum, client))
    qpcr = _file(study, study.spec.qpcr, "qpcr")
    if qpcr is not None:
        out.update(_qpcr(study, qpcr))
    if getattr(study.spec, "expression", None) is not None:
        from skintrial.omics._study_expression import analyse_expression

        tables, settings = analyse_expression(study, client=client)
        tables["expression_de"].attrs["settings"] = settings  # read back by omics_stage
        out.update(tables)
    return out


def _qpcr_exclusions(wells: pd.DataFrame, study) -> pd.DataFrame:
    """qPCR wells or samples left out, in the common exclusion table (details in qpcr_exclusions.csv)."""
    arm = study.participants.set_index("participant_id")["arm"]
    return pd.DataFrame(
        {
            "analysis": "qpcr",
            "outcome": wells["gene"],
            "participant_id": wells["participant_id"],
            "arm": wells["participant_id"].map(arm),
            "visit": wells["visit"],
            "reason": wells["stage"].astype(str)
            + ": "
            + wells["reason"].astype(str)
            + " ("
            + wells["action"].astype(str)
            + ")",
        }
    )


def omics_stage(study, *, client: Any = None) -> StageResult:
    """The molecular stage: :func:`analyse_omics`'s tables, the qPCR wells left out as exclusions, and
    the settings each part ran with (``serum``: :func:`serum_options`; ``qpcr``: :func:`qpcr_options`)
    for the report's methods text. Empty when the bundle has neither a serum nor a qPCR file.
    ``client`` (a ``distributed.Client`` or a :mod:`skintrial.cluster` runner) runs the expression
    layer's genes and the serum panel's analytes in chunks on a cluster (:func:`analyse_omics`)."""
    tables = analyse_omics(study, client=client)
    settings: dict[str, object] = {}
    if "serum_lod" in tables:
        settings["serum"] = serum_options(study)
    if "qpcr" in tables:
        settings["qpcr"] = qpcr_options(study)
    if "expression_de" in tables:
        settings["expression"] = tables["expression_de"].attrs.get("settings", {})
    wells = tables.get("qpcr_exclusions")
    return StageResult(
        stage="omics",
        tables=tables,
        exclusions=(_qpcr_exclusions(wells, study),) if wells is not None else (),
        settings=settings,
    )
