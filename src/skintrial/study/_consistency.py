"""The cross-checks of ``study.toml``: keys of one table that must agree with keys of another.

Each runs on the raw TOML document (so it is reported, key by key, even when other keys have errors)
and again inside the models (:func:`raise_inconsistencies`), which ``read_study_toml`` recognises by
their error type :data:`CONSISTENCY_ERROR`. :func:`study_inconsistencies` checks ``[study]`` (arms,
reference arm, visits, baseline visit against the design); :func:`plan_inconsistencies` checks
``[analysis]`` against ``[outcomes.*]``, the design, ``[analysis.cross_sectional]`` and ``[training]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from pydantic_core import PydanticCustomError

from skintrial.study._designs import (
    DEFAULT_METHODS,
    DESIGN_METHODS,
    METHOD_NAMES,
    design_of,
    methods_of,
    string_list,
)

__all__ = [
    "Inconsistency",
    "CONSISTENCY_ERROR",
    "study_inconsistencies",
    "plan_inconsistencies",
    "raise_inconsistencies",
]


class Inconsistency(NamedTuple):
    """A cross-check of ``study.toml`` that failed: the key (``study.reference_arm``), what, and the fix."""

    key: str
    message: str
    value: object
    fix: str


CONSISTENCY_ERROR = "study_consistency"
"""pydantic error type of the cross-checks; ``read_study_toml`` reports them one by one instead."""


def study_inconsistencies(study: object) -> list[Inconsistency]:
    """Cross-checks of the ``[study]`` table, run on the raw TOML table (so they are reported even when
    other keys have errors) as well as by :class:`StudySpec` itself."""
    if not isinstance(study, Mapping):
        return []
    out = []
    design = design_of(study)
    arms, visits = string_list(study.get("arms")), string_list(study.get("visits"))
    if design == "single_arm" and isinstance(study.get("reference_arm"), str):
        out.append(
            Inconsistency(
                "study.reference_arm",
                "a single-arm study has no reference arm: nothing is compared between arms",
                study.get("reference_arm"),
                'remove reference_arm, or set design = "randomised" for a trial that compares arms',
            )
        )
    if arms is not None:
        twice = sorted({a for a in arms if arms.count(a) > 1})
        if twice:
            out.append(
                Inconsistency(
                    "study.arms", f"arms are listed more than once: {twice}", twice, "list each arm once"
                )
            )
        if design == "randomised" and len(set(arms)) < 2:
            out.append(
                Inconsistency(
                    "study.arms",
                    f"a trial compares at least 2 arms; [study] arms lists {len(set(arms))}: {arms}",
                    arms,
                    'declare every arm participants were randomised to, e.g. arms = ["CON", "RT"]; a study '
                    'of one group measured before and after is design = "single_arm"',
                )
            )
        if design == "single_arm" and len(set(arms)) != 1:
            out.append(
                Inconsistency(
                    "study.arms",
                    f"a single-arm study has one arm; [study] arms lists {len(set(arms))}: {arms}",
                    arms,
                    'list the one arm (or leave arms out), or set design = "randomised" for a trial that '
                    "compares arms",
                )
            )
        ref = study.get("reference_arm")
        if isinstance(ref, str) and ref not in arms:
            out.append(
                Inconsistency(
                    "study.reference_arm",
                    f"reference_arm is not one of arms {arms}",
                    ref,
                    "set reference_arm to a declared arm, or add it to arms",
                )
            )
        labels = study.get("arm_labels")
        unknown = sorted(set(labels) - set(arms)) if isinstance(labels, Mapping) else []
        if unknown:
            out.append(
                Inconsistency(
                    "study.arm_labels",
                    f"arm_labels name arms that are not declared: {unknown}",
                    unknown,
                    "correct the arm names, or add them to arms",
                )
            )
    if visits is not None:
        twice = sorted({v for v in visits if visits.count(v) > 1})
        if twice:
            out.append(
                Inconsistency(
                    "study.visits",
                    f"visits are listed more than once: {twice}",
                    twice,
                    "list each visit once, in time order",
                )
            )
        base = study.get("baseline_visit")
        if isinstance(base, str) and base not in visits:
            out.append(
                Inconsistency(
                    "study.baseline_visit",
                    f"baseline_visit is not one of visits {visits}",
                    base,
                    "set baseline_visit to a declared visit, or add it to visits",
                )
            )
        elif (
            isinstance(base, str) and design != "cross_sectional" and len(visits) >= 2 and base == visits[-1]
        ):
            out.append(
                Inconsistency(
                    "study.baseline_visit",
                    f"baseline_visit is the last of visits {visits}; the last visit is the follow-up that the "
                    "primary analysis compares with the baseline, so the baseline must come before it",
                    base,
                    "list visits in time order (baseline first), or set baseline_visit to the visit before the "
                    "intervention",
                )
            )
        if design != "cross_sectional" and len(visits) < 2:
            what = "a randomised trial" if design == "randomised" else "a single-arm pre/post study"
            out.append(
                Inconsistency(
                    "study.visits",
                    f"{what} needs a baseline and at least one follow-up visit; [study] visits lists "
                    f"{len(visits)}: {visits}",
                    visits,
                    'list the visits in time order (e.g. visits = ["week0", "week12"]), or set design = '
                    '"cross_sectional" for a study that measures each participant once',
                )
            )
    return out


def raise_inconsistencies(problems: list[Inconsistency]) -> None:
    """Raise the failed cross-checks as one pydantic error of type :data:`CONSISTENCY_ERROR`."""
    if problems:
        raise PydanticCustomError(
            CONSISTENCY_ERROR, "{detail}", {"detail": "; ".join(f"{p.key}: {p.message}" for p in problems)}
        )


def plan_inconsistencies(raw: object) -> list[Inconsistency]:
    """Cross-checks between ``[analysis]`` and ``[outcomes.*]`` on the raw TOML document (see
    :func:`study_inconsistencies`)."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("analysis"), Mapping):
        return []
    analysis, outcomes = raw["analysis"], raw.get("outcomes")
    declared = set(outcomes) if isinstance(outcomes, Mapping) else None
    out = []
    for key in ("primary", "secondary"):
        names = string_list(analysis.get(key))
        unknown = [o for o in names or [] if declared is not None and o not in declared]
        if unknown:
            out.append(
                Inconsistency(
                    f"analysis.{key}",
                    f"analysis.{key} names undeclared outcomes {unknown}",
                    unknown,
                    "declare each as an [outcomes.NAME] table with its unit, or correct the name",
                )
            )
    both = sorted(
        set(string_list(analysis.get("primary")) or []) & set(string_list(analysis.get("secondary")) or [])
    )
    if both:
        out.append(
            Inconsistency(
                "analysis.secondary",
                f"outcomes {both} are both primary and secondary",
                both,
                "list each outcome in one family only",
            )
        )
    return (
        out
        + _design_inconsistencies(raw)
        + _cross_sectional_inconsistencies(raw)
        + _training_inconsistencies(raw)
    )


_NOT_FOR_DESIGN = {
    "cross_sectional": "a cross-sectional study measures each participant once: it has no follow-up to "
    "analyse by {method}",
    "single_arm": "a single-arm study has no second arm: {method} compares arms, and a single-arm study is "
    "never analysed by a between-arm test",
    "randomised": "{method} tests change within one group; in a randomised trial within-arm tests are no "
    "comparison of the arms (the within-arm change is described in change.csv)",
}


def _mapping(value: object) -> Mapping:
    return value if isinstance(value, Mapping) else {}


def _design_inconsistencies(raw: Mapping) -> list[Inconsistency]:
    """The methods of ``[analysis]`` fit the study's design, and the design's own analysis is listed;
    the ANCOVA-only settings (interaction, per-protocol set) belong to a randomised trial."""
    design, methods = design_of(raw), methods_of(raw)
    allowed = DESIGN_METHODS[design]
    out = []
    for m in methods:
        if m in METHOD_NAMES and m not in allowed:
            out.append(
                Inconsistency(
                    "analysis.methods",
                    _NOT_FOR_DESIGN[design].format(method=m) + f" (design = {design!r})",
                    m,
                    f"list only methods of this design: {list(allowed)}, or correct [study] design",
                )
            )
    own = DEFAULT_METHODS[design][0]
    if design != "randomised" and own not in methods:
        out.append(
            Inconsistency(
                "analysis.methods",
                f"a {design.replace('_', '-')} study is analysed by {own!r}, which methods does not list",
                methods,
                f"add {own!r} to [analysis] methods (or leave methods out)",
            )
        )
    analysis, study = _mapping(raw.get("analysis")), _mapping(raw.get("study"))
    table = analysis.get("cross_sectional")
    group = table.get("group", "arm") if isinstance(table, Mapping) else "arm"
    arms = string_list(study.get("arms"))
    if design == "cross_sectional" and group == "arm" and (arms is None or len(set(arms)) < 2):
        out.append(
            Inconsistency(
                "analysis.cross_sectional.group",
                "a cross-sectional study compares the groups of a participants column, and none is named "
                "(the default, the arm, has one value here)",
                None,
                'name the column in study.toml: [analysis.cross_sectional] group = "activity" (any '
                "participants column with two or more values)",
            )
        )
    if design != "randomised":
        for key in ("interaction", "per_protocol_min_adherence"):
            if analysis.get(key) not in (None, False):
                out.append(
                    Inconsistency(
                        f"analysis.{key}",
                        f"{key} is a setting of the ANCOVA of a randomised trial; this study's design is "
                        f"{design!r}",
                        analysis.get(key),
                        f"remove {key} from [analysis], or correct [study] design",
                    )
                )
    return out


def _training_inconsistencies(raw: Mapping) -> list[Inconsistency]:
    """``[training] training_arms`` names declared arms."""
    training, study = raw.get("training"), raw.get("study")
    if not isinstance(training, Mapping) or not isinstance(study, Mapping):
        return []
    listed, arms = string_list(training.get("training_arms")), string_list(study.get("arms"))
    unknown = [a for a in listed or [] if arms is not None and a not in arms]
    if not unknown:
        return []
    return [
        Inconsistency(
            "training.training_arms",
            f"training_arms names arms that are not declared: {unknown}",
            unknown,
            f"name arms of [study] arms {arms}, or add the arm there",
        )
    ]


def _cross_sectional_inconsistencies(raw: Mapping) -> list[Inconsistency]:
    """``[analysis.cross_sectional]`` goes with ``"cross_sectional"`` in methods, names a declared visit,
    and (grouping by arm) a declared reference arm."""
    analysis, study = raw["analysis"], raw.get("study")
    study = study if isinstance(study, Mapping) else {}
    table, methods = analysis.get("cross_sectional"), methods_of(raw)
    if not isinstance(table, Mapping):
        return []
    out = []
    key = "analysis.cross_sectional"
    if "cross_sectional" not in methods:
        out.append(
            Inconsistency(
                key,
                "[analysis.cross_sectional] is given but 'cross_sectional' is not in [analysis] methods",
                None,
                "add 'cross_sectional' to methods, or remove the table",
            )
        )
    visits, arms = string_list(study.get("visits")), string_list(study.get("arms"))
    visit = table.get("visit")
    if isinstance(visit, str) and visits is not None and visit not in visits:
        out.append(
            Inconsistency(
                f"{key}.visit",
                f"visit is not one of [study] visits {visits}",
                visit,
                "name a declared visit (default: the baseline visit)",
            )
        )
    group, by = table.get("group", "arm"), table.get("by")
    if isinstance(by, str) and by == group:
        out.append(
            Inconsistency(
                f"{key}.by",
                f"by names the grouping column {group!r} itself; the two-way ANOVA needs a second factor",
                by,
                "name another participants column (e.g. an age band), or leave by out",
            )
        )
    ref = table.get("reference_group")
    if group == "arm" and isinstance(ref, str) and arms is not None and ref not in arms:
        out.append(
            Inconsistency(
                f"{key}.reference_group",
                f"reference_group is not one of arms {arms}",
                ref,
                "name a declared arm, or leave it out (default: the reference arm)",
            )
        )
    return out
