"""The expression layer of a study bundle: ``[expression]`` → differential expression and gene sets.

A bundle may carry a transcriptome of its participants' samples — skin biopsies before and after
training, or fibroblasts given each participant's pre and post serum (then a ``treatment`` column
tells the assay conditions apart). ``study.toml`` names it::

    [expression]
    file = "expression.csv"            # genes × samples (log scale, or counts with counts = true)
    samples = "expression_samples.csv" # sample, participant_id, visit [, treatment, covariates]
    counts = true                      # RNA-seq counts: TMM + voom precision weights

The sample table is checked like every table of the bundle: its columns, participants that
``participants.csv`` does not list, visits that ``[study] visits`` does not declare, a participant
× visit (× treatment) sampled twice — each a problem naming the file, row, column and fix; the matrix
is checked for unreadable and (for counts) negative or missing cells. The participants' arm comes
from ``participants.csv``.

By default the design is the paired arm × visit design (:mod:`skintrial.omics._design`):
``~ participant_id + arm * visit`` with the change from the baseline to the last visit within each
arm and its difference from the reference arm; with one arm, ``~ participant_id + visit``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem

__all__ = ["ECM_COLUMNS", "analyse_expression", "expression_options", "leading_ecm_genes"]

ECM_COLUMNS = ("gene", "contrast", "log_fc", "p", "p_adj")
"""The report-only table ``expression_ecm``: the leading matrisome genes the report's heatmap draws."""


def leading_ecm_genes(de: pd.DataFrame, *, top: int = 30) -> pd.DataFrame:
    """The ``top`` genes of the shipped MATRISOME set with the smallest p over the contrasts, every
    contrast's row for each (columns :data:`ECM_COLUMNS`), ordered by that smallest p."""
    from skintrial.omics.genesets import ecm_gene_sets

    matrisome = set(ecm_gene_sets().sets.get("MATRISOME", ()))
    d = de[de["gene"].isin(matrisome) & np.isfinite(de["p"].astype(float))]
    best = d.groupby("gene", sort=False)["p"].min().sort_values(kind="mergesort").head(top).index
    rank = {g: i for i, g in enumerate(best)}
    out = d[d["gene"].isin(rank)]
    out = out.iloc[np.argsort(out["gene"].map(rank).to_numpy(), kind="stable")]
    return out[list(ECM_COLUMNS)].reset_index(drop=True)


def _arms(study, participants: pd.Series) -> list[str]:
    arm = study.participants.set_index(study.participants["participant_id"].astype(str))["arm"]
    present = set(participants.map(arm).dropna().astype(str))
    return [a for a in study.spec.study.arms if a in present]


def expression_options(study, arms: list[str] | None = None) -> dict:
    """The settings the expression layer runs with: ``[expression]`` and the defaults it leaves out.

    ``arms`` are the arms present among the sampled participants (all declared arms when None).
    One source for the analysis and for the report's methods text.
    """
    spec, s = study.spec.expression, study.spec.study
    arms = list(s.arms) if arms is None else arms
    pre, post = s.baseline_visit, s.visits[-1]
    change = f"visit: {post} - {pre}"
    fixed = "" if spec.random_participant else "participant_id + "
    if spec.design is not None:
        design = spec.design
    elif len(arms) >= 2:
        design = f"~ {fixed}arm * visit"
    else:
        design = f"~ {fixed}visit"
    if spec.contrasts is not None:
        contrasts = list(spec.contrasts)
    elif spec.design is None and len(arms) >= 2:
        ref = s.reference_arm if s.reference_arm in arms else arms[0]
        contrasts = [f"{change} | arm = {a}" for a in arms]
        contrasts += [f"{change} | arm: {a} - {ref}" for a in arms if a != ref]
    elif spec.design is None:
        contrasts = [change]
    else:
        raise InputError(
            Problem(
                "[expression] design is given without contrasts",
                file=str(study.root / "study.toml"),
                column="expression.contrasts",
                fix='list the contrasts to test, e.g. contrasts = ["visit: post - pre | arm = RT"]',
            )
        )
    return dict(
        file=spec.file,
        samples=spec.samples,
        counts=spec.counts,
        design=design,
        contrasts=contrasts,
        genesets=spec.genesets,
        inter_gene_cor=spec.inter_gene_cor,
        trend=spec.trend,
        robust=spec.robust,
        block="participant_id" if spec.random_participant else None,
        ci_level=study.spec.analysis.ci_level,
    )


def _declared(study, name: str, key: str) -> Path:
    path = study.root / name
    if not path.is_file():
        raise InputError(
            Problem(
                f"the expression {'matrix' if key == 'file' else 'sample table'} declared in study.toml is missing",
                file=str(path),
                column=f"expression.{key}",
                value=name,
                fix=f"add the file to the bundle, or correct [expression] {key}",
            )
        )
    return path


def _sample_table(study, path: Path) -> pd.DataFrame:
    """Read and check the sample table: columns, participants, visits, one sample per cell."""
    from skintrial.study import read_table

    return _checked(study, read_table(path, what="expression sample table", csv=study.spec.csv), str(path))


def _checked(study, table: pd.DataFrame, file: str) -> pd.DataFrame:
    """The sample table (with its spreadsheet row numbers, or without for an AnnData's obs) checked
    against the bundle, with each participant's arm from participants.csv."""
    from skintrial.study import ROW_COLUMN

    if ROW_COLUMN not in table.columns:  # an AnnData's obs: no spreadsheet rows to name
        table = table.assign(**{ROW_COLUMN: None})
    need = [c for c in ("sample", "participant_id", "visit") if c not in table.columns]
    if need:
        raise InputError(
            Problem(
                f"the expression sample table lacks the column(s) {', '.join(need)}",
                file=file,
                row=1,
                fix="one row per sample (matrix column): sample, participant_id, visit "
                "(and treatment for an assay with several conditions)",
            )
        )
    problems = []
    known = set(study.participants["participant_id"].astype(str))
    pname = study.participants.attrs.get("file", "participants.csv")
    visits = list(study.spec.study.visits)
    for column, bad, what, fix in (
        (
            "participant_id",
            ~table["participant_id"].astype(str).isin(known),
            f"participant not in {pname}",
            f"correct the id, or add the participant to {pname}",
        ),
        (
            "visit",
            ~table["visit"].astype(str).isin(visits),
            f"visit not declared in study.toml (visits: {visits})",
            "use a visit of [study] visits",
        ),
    ):
        if bad.any():
            first = table.loc[bad].iloc[0]
            problems.append(
                Problem(
                    what,
                    file=file,
                    row=None if first[ROW_COLUMN] is None else int(first[ROW_COLUMN]),
                    column=column,
                    value=first[column],
                    rows_affected=int(bad.sum()),
                    fix=fix,
                )
            )
    key = ["participant_id", "visit", *(["treatment"] if "treatment" in table.columns else [])]
    twice = table.duplicated(key, keep="first") & ~table.duplicated("sample", keep=False)
    if twice.any():
        first = table.loc[twice].iloc[0]
        problems.append(
            Problem(
                f"two samples of the same {' × '.join(key)} ({', '.join(str(first[k]) for k in key)})",
                file=file,
                row=None if first[ROW_COLUMN] is None else int(first[ROW_COLUMN]),
                column="sample",
                value=first["sample"],
                rows_affected=int(twice.sum()),
                fix="keep one sample per participant and visit"
                + (
                    " and treatment"
                    if "treatment" in key
                    else " (add a treatment column for assay conditions)"
                )
                + ", or average technical replicates first",
            )
        )
    InputError.collect(problems)
    arm = study.participants.set_index(study.participants["participant_id"].astype(str))["arm"]
    out = table.drop(columns=[ROW_COLUMN]).assign(
        participant_id=table["participant_id"].astype(str), visit=table["visit"].astype(str)
    )
    if "arm" in out.columns:
        out = out.drop(columns=["arm"])  # the arm is the participant's, from participants.csv
    out["arm"] = out["participant_id"].map(arm).astype(str)
    return out


def analyse_expression(study, *, client: Any = None) -> tuple[dict[str, pd.DataFrame], dict]:
    """Differential expression (and CAMERA gene sets) of the bundle's ``[expression]`` layer.

    Returns the tables ``expression_de`` (:data:`skintrial.omics.expression.DE_COLUMNS`, every
    contrast), ``expression_ecm`` (:func:`leading_ecm_genes`, for the report) and ``expression_genesets`` (CAMERA per contrast; absent with ``genesets = "none"``),
    and the settings they ran with (:func:`expression_options`, plus the fitted d0 and s0^2).
    ``client``: the genes fitted and moderated in chunks on a cluster (:func:`fit_expression`).
    """
    from skintrial.omics.enrichment import CAMERA_COLUMNS, camera_from_fit
    from skintrial.omics.expression import (
        differential_expression_from_fit,
        fit_expression,
        load_expression,
    )

    spec = study.spec.expression
    matrix = _declared(study, spec.file, "file")
    is_h5ad = matrix.name.lower().endswith(".h5ad")
    if spec.samples is not None and (not is_h5ad or (study.root / spec.samples).is_file()):
        table = _sample_table(study, _declared(study, spec.samples, "samples"))
        data = load_expression(matrix, table)
        data = replace(data, sample_file=str(study.root / spec.samples))
    else:  # an .h5ad without a sample table: its obs, checked the same way
        data = load_expression(matrix)
        obs = data.samples.astype({"sample": str})
        data = replace(data, samples=_checked(study, obs, str(matrix)))
    data = replace(data, quoted=data.quoted | {"participant_id", "visit", "arm", "treatment"})
    treatments = data.samples["treatment"].astype(str).unique() if "treatment" in data.samples else []
    if len(treatments) > 1 and spec.design is None:
        raise InputError(
            Problem(
                f"the expression samples have {len(treatments)} treatments ({', '.join(treatments[:4])}); "
                "the default paired arm × visit design would mix them",
                file=str(study.root / "study.toml"),
                column="expression.design",
                fix='give [expression] design and contrasts, e.g. design = "~ participant_id + treatment + '
                'arm * visit", or analyse one treatment per bundle',
            )
        )
    arms = _arms(study, data.samples["participant_id"].astype(str))
    opts = expression_options(study, arms)
    ef = fit_expression(data, design=opts["design"], counts=spec.counts, block=opts["block"], client=client)
    de = differential_expression_from_fit(
        ef,
        opts["contrasts"],
        ci_level=opts["ci_level"],
        trend=spec.trend,
        robust=spec.robust,
        client=client,
    )
    tables = {"expression_de": de, "expression_ecm": leading_ecm_genes(de)}
    if spec.genesets.lower() != "none" and ef.correlation is None:  # CAMERA has no random block
        sets = (
            spec.genesets
            if spec.genesets.lower() in ("ecm", "matrisome")
            else str(study.root / spec.genesets)
        )
        cams = [
            camera_from_fit(ef, c, sets, inter_gene_cor=spec.inter_gene_cor, trend_var=spec.trend)
            for c in opts["contrasts"]
        ]
        tables["expression_genesets"] = pd.concat(cams, ignore_index=True)[list(CAMERA_COLUMNS)]
    settings = {
        **opts,
        "n_genes": len(data.genes),
        "n_samples": len(data.samples),
        "df_prior": float(np.median(de.attrs["df_prior"])),
        "not_estimable": list(de.attrs["not_estimable"]),
        "correlation": ef.correlation,
    }
    return tables, settings
