"""The training layer of a study bundle: read its log and derive everything from it in one call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from skintrial.errors import InputError, Problem
from skintrial.stage import StageResult
from skintrial.study import find_table
from skintrial.training._adherence import per_protocol_set, training_summary
from skintrial.training._dose import dose_response, dose_response_data
from skintrial.training._logs import read_training

__all__ = ["TrainingResults", "analyse_training", "training_stage"]


@dataclass(frozen=True)
class TrainingResults:
    """Everything the training layer derives from a bundle.

    Attributes
    ----------
    log : DataFrame
        The validated ``training.csv``.
    summary : DataFrame
        :func:`training_summary`, one row per participant.
    per_protocol : DataFrame or None
        :func:`per_protocol_set` when ``[analysis] per_protocol_min_adherence`` is declared.
    dose_response : DataFrame
        :func:`dose_response` over the bundle's outcomes.
    dose_data : DataFrame
        :func:`dose_response_data` (for the figure).
    """

    log: pd.DataFrame
    summary: pd.DataFrame
    per_protocol: pd.DataFrame | None
    dose_response: pd.DataFrame
    dose_data: pd.DataFrame


def analyse_training(study: Any) -> TrainingResults | None:
    """Read a study's training log (``[training] file``, default ``training.csv``) and analyse it.

    ``study`` is a :class:`skintrial.study.Study`. Returns None when the bundle has no training log.
    The planned dose comes from ``[training] sessions_per_week`` and ``weeks`` (defaults 2 and 16), for
    the arms of ``[training] training_arms`` (default: the arms with training rows in the log);
    the per-protocol rule from ``[analysis] per_protocol_min_adherence``; the dose–response intervals
    use ``[analysis] ci_level`` and its follow-up is the last of ``[study] visits``.
    """
    spec = study.spec.training
    plan = study.spec.training_plan
    stem = plan.file.rsplit(".", 1)[0]
    path = find_table(study.root, stem)
    if path is None:
        if spec is not None:
            raise InputError(
                Problem(
                    "study.toml declares [training] but the log is missing",
                    file=str(study.root),
                    fix=f"add {spec.file} to the bundle or remove the [training] table",
                )
            )
        return None
    log = read_training(path, participants=study.participants)
    summary = training_summary(
        log,
        study.participants,
        sessions_per_week=plan.sessions_per_week,
        weeks=plan.weeks,
        training_arms=plan.training_arms,
    )  # declared arms only
    rule = study.spec.analysis.per_protocol_min_adherence
    pp = per_protocol_set(summary, min_adherence=rule) if rule is not None else None
    base = study.spec.study.baseline_visit
    follow = [v for v in study.spec.study.visits if v != base][-1]
    dr = dose_response(
        study.measurements,
        summary,
        baseline_visit=base,
        followup_visit=follow,
        ci_level=study.spec.analysis.ci_level,
    )
    data = dose_response_data(study.measurements, summary, baseline_visit=base, followup_visit=follow)
    return TrainingResults(log=log, summary=summary, per_protocol=pp, dose_response=dr, dose_data=data)


def training_stage(study: Any) -> StageResult:
    """The training stage: the log's summary, dose–response (and its per-participant data for the
    figure), and with ``[analysis] per_protocol_min_adherence`` the per-protocol set and the primary
    ANCOVA on it (a sensitivity analysis; the participants left out are listed as exclusions).

    Empty when the bundle has no training log.
    """
    from skintrial.stats import adjust_study_families, ancova, ancova_settings

    tr = analyse_training(study)
    if tr is None:
        return StageResult(stage="training")
    plan = study.spec.training_plan
    tables = {
        "training_summary": tr.summary,
        "dose_response": tr.dose_response,
        "dose_data": tr.dose_data,
    }
    excl = []
    rule = study.spec.analysis.per_protocol_min_adherence
    if tr.per_protocol is not None:
        pp = tr.per_protocol
        tables["per_protocol"] = pp
        keep = set(pp.loc[pp["per_protocol"].astype(bool), "participant_id"])
        out = pp[~pp["participant_id"].isin(keep)]
        excl.append(
            pd.DataFrame(
                {
                    "analysis": "ancova_per_protocol",
                    "outcome": "",
                    "participant_id": out["participant_id"],
                    "arm": out["arm"],
                    "visit": "",
                    "reason": out["reason"],
                }
            )
        )
        long = study.long()
        res = ancova(long[long["participant_id"].isin(keep)], **ancova_settings(study))
        tables["ancova_per_protocol"] = adjust_study_families(res.contrasts, study)
    return StageResult(
        stage="training",
        tables=tables,
        exclusions=tuple(excl),
        settings={
            "file": plan.file,
            "sessions_per_week": plan.sessions_per_week,
            "weeks": plan.weeks,
            "training_arms": None if plan.training_arms is None else list(plan.training_arms),
            "per_protocol_min_adherence": rule,
        },
    )
