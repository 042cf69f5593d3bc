"""The trial analyses of a study bundle as pipeline stages (:mod:`skintrial.stage`).

* ``description`` — always: participant flow, baseline table, descriptive statistics by arm and visit,
  within-arm change (description only);
* ``ancova`` — always: the primary analysis of the follow-up visit on baseline + arm (+ the plan's
  covariates), complete cases per outcome, multiplicity per family (primary, secondary);
* ``clda``, ``mixed_anova``, ``cross_sectional`` — when listed in ``[analysis] methods``.

Each stage returns a :class:`~skintrial.stage.StageResult` with its tables, the records it left out and
the settings it ran with.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from skintrial.stage import StageResult
from skintrial.stats._schema import CROSS_SECTIONAL_COLUMNS
from skintrial.stats.multiplicity import adjust_families
from skintrial.study import (
    CrossSectionalSpec,
    Study,
    analysis_exclusions,
    baseline_characteristics,
    participant_flow,
)

__all__ = [
    "adjust_study_families",
    "ancova_settings",
    "description_stage",
    "ancova_stage",
    "clda_stage",
    "mixed_anova_stage",
    "cross_sectional_stage",
]


def _families(study: Study) -> dict[str, list[str]]:
    present = set(study.outcomes)
    return {
        "primary": [o for o in study.spec.analysis.primary if o in present],
        "secondary": [o for o in study.spec.secondary if o in present],
    }


def adjust_study_families(table: pd.DataFrame, study: Study) -> pd.DataFrame:
    """``p_adj`` of a contrast table by the study's plan: one family of primary outcomes, one of
    secondary outcomes, the plan's method and gatekeeping (:func:`adjust_families`)."""
    a = study.spec.analysis
    return adjust_families(table, families=_families(study), method=a.multiplicity, gatekeeping=a.gatekeeping)


def ancova_settings(study: Study) -> dict[str, Any]:
    """The keywords of :func:`skintrial.stats.ancova` for the study's primary analysis."""
    s, plan = study.spec.study, study.spec.analysis
    return dict(
        baseline_visit=s.baseline_visit,
        followup_visit=s.visits[-1],
        covariates=list(plan.covariates),
        interaction=plan.interaction,
        ci_level=plan.ci_level,
        arms=list(s.arms),
        reference_arm=s.reference_arm,
    )


def description_stage(study: Study) -> StageResult:
    """Participant flow, baseline characteristics, descriptives by arm × visit, within-arm change."""
    from skintrial.stats.describe import describe, within_arm_change

    s = study.spec.study
    long = study.long()
    return StageResult(
        stage="description",
        tables={
            "flow": participant_flow(study),
            "baseline": baseline_characteristics(study),
            "descriptives": describe(long, arms=s.arms, visits=s.visits),
            "change": within_arm_change(
                long,
                baseline_visit=s.baseline_visit,
                followup_visit=s.visits[-1],
                ci_level=study.spec.analysis.ci_level,
                arms=s.arms,
            ),
        },
        settings={"baseline_visit": s.baseline_visit, "followup_visit": s.visits[-1]},
    )


def ancova_stage(study: Study) -> StageResult:
    """The primary ANCOVA: contrasts (multiplicity-adjusted), adjusted means, the arm F tests."""
    from skintrial.stats.ancova import ancova

    args = ancova_settings(study)
    res = ancova(study.long(), **args)
    excl = analysis_exclusions(
        study,
        outcomes=study.outcomes,
        visits=[args["baseline_visit"], args["followup_visit"]],
        analysis="ancova",
    )
    return StageResult(
        stage="ancova",
        tables={
            "ancova": adjust_study_families(res.contrasts, study),
            "emmeans": res.estimates,
            "arm_tests": res.tests,
        },
        exclusions=(excl,),
        settings=args,
    )


def clda_stage(study: Study) -> StageResult:
    """cLDA (constrained longitudinal data analysis): participants with missing follow-up kept; the
    written table holds the contrasts at the follow-up visit."""
    from skintrial.stats.clda import clda

    s, plan = study.spec.study, study.spec.analysis
    args: dict[str, Any] = dict(
        baseline_visit=s.baseline_visit,
        visits=list(s.visits),
        covariates=list(plan.covariates),
        ci_level=plan.ci_level,
        arms=list(s.arms),
        reference_arm=s.reference_arm,
    )
    cl = clda(study.long(), **args)
    excl = analysis_exclusions(
        study, outcomes=study.outcomes, visits=s.visits, analysis="clda", require="any", measured_only=True
    )
    table = adjust_study_families(cl.tables()["clda"], study)  # the contrasts at the last visit
    return StageResult(stage="clda", tables={"clda": table}, exclusions=(excl,), settings=args)


def mixed_anova_stage(study: Study) -> StageResult:
    """The two-way mixed ANOVA (arm × visit) that published papers report, for replication."""
    from skintrial.stats.mixed_anova import mixed_anova

    s = study.spec.study
    excl = analysis_exclusions(
        study, outcomes=study.outcomes, visits=s.visits, analysis="mixed_anova", measured_only=True
    )
    table = mixed_anova(study.long(), visits=s.visits, arms=s.arms).tables()["mixed_anova"]
    return StageResult(
        stage="mixed_anova",
        tables={"mixed_anova": table},
        exclusions=(excl,),
        settings={"visits": list(s.visits), "arms": list(s.arms)},
    )


def _group_text(value: object) -> object:
    """A group as text: ``1`` for a number column's 1.0, so contrasts read ``2 - 1``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if value is None or isinstance(value, str) else str(value)


def cross_sectional_stage(study: Study) -> StageResult:
    """Groups compared at one visit, adjusted for covariates (the 2015 active-vs-sedentary design)."""
    from skintrial.stats.cross_sectional import cross_sectional

    s, plan = study.spec.study, study.spec.analysis
    cs = plan.cross_sectional or CrossSectionalSpec()
    visit = cs.visit or s.baseline_visit
    covariates = list(plan.covariates if cs.covariates is None else cs.covariates)
    by_arm = cs.group == "arm"
    people = study.participants[list(dict.fromkeys(["participant_id", cs.group, *covariates]))].copy()
    people[cs.group] = people[cs.group].map(_group_text)
    m = study.measurements
    data = m[m["visit"] == visit].merge(people, on="participant_id", how="inner")
    groups = list(s.arms) if by_arm else sorted(people[cs.group].dropna().unique())
    reference = (
        cs.reference_group if cs.reference_group is not None else (s.reference_arm if by_arm else None)
    )
    res = cross_sectional(
        data,
        group=cs.group,
        covariates=covariates,
        outcomes=study.outcomes,
        at_visit=visit,
        groups=groups,
        reference_group=reference,
        ci_level=plan.ci_level,
    )
    table = adjust_study_families(res.tables()["cross_sectional"], study)  # visit, group_column included
    excl = analysis_exclusions(study, outcomes=study.outcomes, visits=[visit], analysis="cross_sectional")
    return StageResult(
        stage="cross_sectional",
        tables={"cross_sectional": table[list(CROSS_SECTIONAL_COLUMNS)]},
        exclusions=(excl,),
        settings={
            "group": cs.group,
            "visit": visit,
            "covariates": covariates,
            "groups": groups,
            "reference_group": reference,
        },
    )
