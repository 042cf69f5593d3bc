"""The trial analyses of a study bundle as pipeline stages (:mod:`skintrial.stage`).

* ``description`` — always: participant flow, baseline table, descriptive statistics by arm and visit,
  within-arm change at every follow-up visit (description only). In a cross-sectional study the
  groups of ``[analysis.cross_sectional] group`` stand in for the arms (participants by group, no change);
* ``ancova`` — a randomised trial: the primary analysis of the follow-up visit on baseline + arm (+ the
  plan's covariates), complete cases per outcome, multiplicity per family (primary, secondary);
* ``clda``, ``mixed_anova``, ``cross_sectional`` (with ``by``: the two-way ANOVA and simple effects),
  ``paired_change`` (a single-arm study) — when listed in ``[analysis] methods``.

Each stage returns a :class:`~skintrial.stage.StageResult` with its tables, the records it left out and
the settings it ran with.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd

from skintrial.stage import StageResult
from skintrial.stats._schema import CROSS_SECTIONAL_COLUMNS
from skintrial.stats.many_arms import FAMILIES as MANY_ARM_FAMILIES
from skintrial.stats.many_arms import family_table, with_family_p
from skintrial.stats.multiplicity import adjust_families
from skintrial.study import (
    CrossSectionalSpec,
    Study,
    analysis_exclusions,
    baseline_characteristics,
    participant_flow,
    read_screening,
)

__all__ = [
    "adjust_study_families",
    "ancova_settings",
    "description_stage",
    "ancova_stage",
    "clda_stage",
    "mixed_anova_stage",
    "cross_sectional_stage",
    "paired_change_stage",
    "sensitivity_stage",
    "responders_stage",
    "has_responders",
    "grouped_study",
    "followup_visits",
]


def followup_visits(study: Study) -> list[str]:
    """Every visit after the baseline, in time order (the last is the primary follow-up)."""
    s = study.spec.study
    return list(s.visits[s.visits.index(s.baseline_visit) + 1 :])


def _group_settings(study: Study) -> tuple[CrossSectionalSpec, str, list[str], str | None]:
    """The cross-sectional grouping: its spec, visit, groups (reference first) and reference group."""
    s, plan = study.spec.study, study.spec.analysis
    cs = plan.cross_sectional or CrossSectionalSpec()
    visit = cs.visit or s.baseline_visit
    by_arm = cs.group == "arm"
    if by_arm:
        groups = list(s.arms)
    else:
        groups = sorted({str(_group_text(v)) for v in study.participants[cs.group].dropna()})
    reference = (
        cs.reference_group if cs.reference_group is not None else (s.reference_arm if by_arm else None)
    )
    if reference is not None and reference in groups:
        groups = [reference, *(g for g in groups if g != reference)]
    return cs, visit, groups, reference


def grouped_study(study: Study) -> Study:
    """A cross-sectional study seen by its groups: the grouping column stands in for the arm (the
    participants' ``arm`` column and ``[study] arms``, reference group first), so that the participant
    flow, baseline table and descriptive statistics are by group. Any other study is returned as is."""
    if study.design != "cross_sectional":
        return study
    cs, _, groups, reference = _group_settings(study)
    if cs.group == "arm":
        return study
    people = study.participants.drop(columns=["arm"]).rename(columns={cs.group: "arm"})
    people["arm"] = people["arm"].map(_group_text)
    spec = study.spec.model_copy(
        update={"study": study.spec.study.model_copy(update={"arms": groups, "reference_arm": reference})}
    )
    return replace(study, participants=people, spec=spec)


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
    method = "none" if a.multiplicity in MANY_ARM_FAMILIES else a.multiplicity  # within outcome: ancova_stage
    return adjust_families(table, families=_families(study), method=method, gatekeeping=a.gatekeeping)


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
    """Participant flow, baseline characteristics, descriptives by arm × visit, within-arm change at
    every follow-up visit (a cross-sectional study: by group, no change)."""
    from skintrial.stats.describe import describe, within_arm_change

    design = study.design
    study = grouped_study(study)
    s = study.spec.study
    long = study.long()
    tables = {
        "flow": participant_flow(study),
        "baseline": baseline_characteristics(study),
        "descriptives": describe(long, arms=s.arms, visits=s.visits),
    }
    screening = read_screening(study)  # optional: who was assessed for eligibility (CONSORT)
    if screening is not None:
        tables["screening"] = screening
    follow = followup_visits(study)
    if design != "cross_sectional" and follow:
        tables["change"] = within_arm_change(
            long,
            baseline_visit=s.baseline_visit,
            followup_visit=follow,
            ci_level=study.spec.analysis.ci_level,
            arms=s.arms,
        )
    return StageResult(
        stage="description",
        tables=tables,
        settings={
            "design": design,
            "arms": list(s.arms),
            "baseline_visit": s.baseline_visit,
            "followup_visit": s.visits[-1],
            "followup_visits": follow,
        },
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
    tables = {
        "ancova": adjust_study_families(res.contrasts, study),
        "emmeans": res.estimates,
        "arm_tests": res.tests,
    }
    family = study.spec.analysis.multiplicity
    settings = dict(args)
    if family in MANY_ARM_FAMILIES:  # Dunnett / Tukey over each outcome's arm contrasts
        many = family_table(res.fit, res.contrasts, args["arms"], family=family, ci_level=args["ci_level"])
        tables["ancova"] = with_family_p(tables["ancova"], many, family)
        tables["many_arms"] = many
        settings["many_arms"] = {"family": family, "seed": int(many["seed"].iloc[0]) if len(many) else None}
    return StageResult(stage="ancova", tables=tables, exclusions=(excl,), settings=settings)


def sensitivity_stage(study: Study) -> StageResult:
    """The rank-based sensitivity analyses of ``[analysis] sensitivity`` (``skintrial.stats.rank``):
    Quade's rank ANCOVA (``rank_ancova``); the Wilcoxon–Mann–Whitney shift per arm contrast
    (``wilcoxon``) with, for more than two arms, the Kruskal–Wallis test (``kruskal_wallis``)."""
    from skintrial.stats.rank import QUADE, kruskal_wallis, rank_ancova, wilcoxon_shift

    args = ancova_settings(study)
    kw = {k: args[k] for k in ("baseline_visit", "followup_visit", "arms", "reference_arm")}
    listed = study.spec.analysis.sensitivity
    long = study.long()
    tables: dict[str, pd.DataFrame] = {}
    if "rank_ancova" in listed:
        tables["rank_ancova"] = rank_ancova(long, **kw)
    if "wilcoxon" in listed:
        tables["wilcoxon"] = wilcoxon_shift(long, **kw, ci_level=args["ci_level"])
        if len(args["arms"]) > 2:
            tables["kruskal_wallis"] = kruskal_wallis(long, **kw)
    settings: dict[str, Any] = {**kw, "methods": list(listed), "ci_level": args["ci_level"]}
    if "rank_ancova" in listed:
        settings["rank_ancova"] = QUADE
    if "rerandomisation" in listed:
        tables["rerandomisation"], settings["rerandomisation"] = _rerandomisation(study, long, args)
    return StageResult(stage="sensitivity", tables=tables, settings=settings)


def _rerandomisation(study: Study, long: pd.DataFrame, args: dict[str, Any]) -> tuple[pd.DataFrame, dict]:
    """The re-randomisation test with the scheme of ``[analysis.rerandomisation]``."""
    from skintrial.errors import InputError, Problem
    from skintrial.stats.rerandomisation import AllocationScheme, rerandomisation_test

    plan = study.spec.analysis
    spec = plan.rerandomisation
    parts = study.participants
    missing = [c for c in spec.strata if c not in parts.columns]
    if missing:
        raise InputError(
            Problem(
                f"[analysis.rerandomisation] strata {missing} are not participants.csv columns",
                file="study.toml",
                column="analysis.rerandomisation.strata",
                fix=f"name columns of participants.csv: {list(parts.columns)}",
            )
        )
    ids = parts["participant_id"].astype(str)
    strata = (
        dict(zip(ids, parts[spec.strata].astype(str).agg("|".join, axis=1), strict=True))
        if spec.strata
        else None
    )
    scheme = AllocationScheme(
        kind=spec.scheme,
        ratios=tuple(spec.ratios) if spec.ratios is not None else None,
        block_sizes=tuple(spec.block_sizes),
        strata=strata,
        order=list(ids),
    )
    table = rerandomisation_test(
        long,
        **_without(args, "interaction", "ci_level"),
        scheme=scheme,
        n_rerandomisations=plan.rerandomisations,
        seed=spec.seed,
    )
    described = scheme.describe(len(args["arms"]))
    return table, {"scheme": described, "n": plan.rerandomisations, "seed": spec.seed}


def _responders_of(study: Study) -> dict:
    """The responder rules of the study: binary outcomes and ``[analysis.responders]``."""
    from skintrial.errors import InputError, Problem
    from skintrial.stats.responders import ResponderRule

    rules = {
        o: ResponderRule(binary=True) for o, spec in study.spec.outcomes.items() if spec.type == "binary"
    }
    for o, r in study.spec.analysis.responders.items():
        if o not in study.spec.outcomes or o in rules:
            raise InputError(
                Problem(
                    f"[analysis.responders.{o}]: {o!r} is "
                    + ("a binary outcome already" if o in rules else "not a declared outcome"),
                    file="study.toml",
                    column=f"analysis.responders.{o}",
                    fix="name a continuous outcome of [outcomes]",
                )
            )
        rules[o] = ResponderRule(
            change_at_least=r.change_at_least, percent_change_at_least=r.percent_change_at_least
        )
    return rules


def has_responders(study: Study) -> bool:
    """Whether the study declares a binary outcome or a responder rule."""
    return bool(study.spec.analysis.responders) or any(
        s.type == "binary" for s in study.spec.outcomes.values()
    )


def responders_stage(study: Study) -> StageResult:
    """Binary and responder outcomes (``skintrial.stats.responders``): logistic regression on baseline and
    the plan's covariates, standardised risk difference and ratio beside the unadjusted ones."""
    from skintrial.errors import InputError, Problem
    from skintrial.stats.responders import responder_analysis

    rules = _responders_of(study)
    long = study.long()
    args = ancova_settings(study)
    binary = [o for o, r in rules.items() if r.binary]
    values = long.loc[long["outcome"].isin(binary), ["outcome", "value"]].dropna()
    bad = values[~values["value"].isin([0.0, 1.0])]
    if len(bad):
        raise InputError(
            Problem(
                f"{len(bad)} values of binary outcome(s) {sorted(set(bad['outcome']))} are not 0 or 1",
                column="value",
                value=bad["value"].iloc[0],
                fix='code a binary outcome 0/1, or declare it type = "continuous"',
            )
        )
    table = responder_analysis(long, rules=rules, **_without(args, "interaction"))
    settings = {
        "rules": {o: r.describe() for o, r in rules.items()},
        "covariates": args["covariates"],
        "ci_level": args["ci_level"],
    }
    return StageResult(stage="responders", tables={"responders": table}, settings=settings)


def _without(args: dict[str, Any], *names: str) -> dict[str, Any]:
    """``args`` less ``names``."""
    return {k: v for k, v in args.items() if k not in names}


def _adjust_per_visit(table: pd.DataFrame, study: Study) -> pd.DataFrame:
    """``p_adj`` within each visit's rows by the study's families (the primary visit's adjustment is the
    same as if it were the only one)."""
    parts = [adjust_study_families(g, study) for _, g in table.groupby("visit", sort=False)]
    if not parts:
        return adjust_study_families(table, study)
    return pd.concat(parts).sort_index()


def clda_stage(study: Study) -> StageResult:
    """cLDA (constrained longitudinal data analysis): participants with missing follow-up kept; the
    written table holds the contrasts at every post-baseline visit, the last one marked primary
    (``primary_visit``); p-values are adjusted within each visit by the study's families. With one arm
    (a single-arm study) the contrasts are the changes from baseline. df method, covariance structure,
    its fallback, vcov and covariate × visit terms come from ``[analysis.clda]`` (default: unstructured,
    Kenward–Roger, fallback toeph → ar1h → cs); the structure each outcome used is in ``covariance``."""
    from skintrial.stats.clda import clda

    s, plan = study.spec.study, study.spec.analysis
    args: dict[str, Any] = dict(
        baseline_visit=s.baseline_visit,
        visits=list(s.visits),
        covariates=list(plan.covariates),
        ci_level=plan.ci_level,
        arms=list(s.arms),
        reference_arm=s.reference_arm,
        df_method=plan.clda.df_method,
        covariance=plan.clda.covariance,
        fallback=list(plan.clda.fallback),
        vcov=plan.clda.vcov,
        visit_covariates=list(plan.clda.visit_covariates),
    )
    cl = clda(study.long(), **args)
    excl = analysis_exclusions(
        study, outcomes=study.outcomes, visits=s.visits, analysis="clda", require="any", measured_only=True
    )
    table = _adjust_per_visit(cl.tables()["clda"], study)
    return StageResult(stage="clda", tables={"clda": table}, exclusions=(excl,), settings=args)


def paired_change_stage(study: Study) -> StageResult:
    """A single-arm study's analysis: change from baseline at every follow-up visit (mean, CI, paired t,
    Wilcoxon signed-rank, d_z), p-values adjusted per family over all outcomes and visits; never a
    between-arm test."""
    from skintrial.stats.paired_change import paired_change

    s, plan = study.spec.study, study.spec.analysis
    res = paired_change(
        study.long(), baseline_visit=s.baseline_visit, visits=s.visits, arms=s.arms, ci_level=plan.ci_level
    )
    excl = [
        analysis_exclusions(
            study, outcomes=study.outcomes, visits=[s.baseline_visit, v], analysis="paired_change"
        ).assign(visit=v)
        for v in followup_visits(study)
    ]
    table = adjust_study_families(res.tables()["paired_change"], study)
    return StageResult(
        stage="paired_change",
        tables={"paired_change": table},
        exclusions=tuple(excl),
        settings={
            "baseline_visit": s.baseline_visit,
            "followup_visits": followup_visits(study),
            "ci_level": plan.ci_level,
            "multiplicity": plan.multiplicity,
        },
    )


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

    plan = study.spec.analysis
    cs, visit, groups, reference = _group_settings(study)
    covariates = list(plan.covariates if cs.covariates is None else cs.covariates)
    columns = ["participant_id", cs.group, *([cs.by] if cs.by else []), *covariates]
    people = study.participants[list(dict.fromkeys(columns))].copy()
    people[cs.group] = people[cs.group].map(_group_text)
    by_levels = None
    if cs.by:
        people[cs.by] = people[cs.by].map(_group_text)
        by_levels = _level_order(people[cs.by])
    m = study.measurements
    data = m[m["visit"] == visit].merge(people, on="participant_id", how="inner")
    res = cross_sectional(
        data,
        group=cs.group,
        covariates=covariates,
        outcomes=study.outcomes,
        at_visit=visit,
        groups=groups,
        reference_group=reference,
        by=cs.by,
        by_levels=by_levels,
        ci_level=plan.ci_level,
    )
    tables = res.tables()
    tables["cross_sectional"] = adjust_study_families(tables["cross_sectional"], study)[
        list(CROSS_SECTIONAL_COLUMNS)
    ]
    if "simple_effects" in tables:
        tables["simple_effects"] = adjust_study_families(tables["simple_effects"], study)
    excl = analysis_exclusions(study, outcomes=study.outcomes, visits=[visit], analysis="cross_sectional")
    return StageResult(
        stage="cross_sectional",
        tables=tables,
        exclusions=(excl,),
        settings={
            "group": cs.group,
            "visit": visit,
            "covariates": covariates,
            "groups": groups,
            "reference_group": reference,
            "by": cs.by,
            "by_levels": by_levels,
        },
    )


def _level_order(values: pd.Series) -> list[str]:
    """Levels of a factor column as text, in natural order (numbers inside compared as numbers: an age
    band ``20-39`` before ``40-64`` before ``65+``)."""
    from skintrial.stats._data import default_visit_order

    return default_visit_order(values.dropna().astype(str))
