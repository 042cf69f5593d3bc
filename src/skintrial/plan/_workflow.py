"""The planning workflows as data: a trial planned from a pilot bundle, and the power of a planned trial.

:func:`plan_study` is ``skintrial plan`` without the command line: it reads the pilot's own
``[analysis]`` plan, estimates SDs, correlations and changes from the pilot, sizes the trial, draws
the power curve's n grid and (optionally) simulates the whole plan. :func:`plan_power` is ``skintrial
power``. Both return frozen dataclasses of tables and structured notes (:class:`PlanNote`); saying
them in words, and drawing them, is the report's job (:mod:`skintrial.report`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem

if TYPE_CHECKING:
    from skintrial.plan.pilot import PilotEstimates
    from skintrial.study import Study

__all__ = [
    "NOTE_KINDS",
    "PlanNote",
    "PlannedAnalysis",
    "TrialPlan",
    "PowerPlan",
    "plan_study",
    "plan_power",
    "n_grid",
    "PLAN_TABLES",
]

SimProgress = Callable[[int, int], None]
"""``progress(done, total)``: called as simulated trials are finished."""

NOTE_KINDS = (
    "methods_without_formula",
    "primary_added_to_family",
    "gated_family",
    "not_simulated",
    "covariates_not_in_analytic_power",
)
"""The kinds of :class:`PlanNote`, in the order a plan can raise them."""


@dataclass(frozen=True)
class PlanNote:
    """A caveat of a plan, as data; :func:`skintrial.report.plan_note_text` says it in words.

    ``kind`` is one of :data:`NOTE_KINDS`:

    * ``methods_without_formula`` — the study's ``methods`` have no power formula; ANCOVA was planned;
    * ``primary_added_to_family`` — ``outcomes[0]`` (the primary) is in none of the study's families
      and joined the primary family;
    * ``gated_family`` — ``outcomes[0]`` is in the gated family ``family``: the analytic power leaves
      the gate out;
    * ``not_simulated`` — ``outcomes`` have no pilot SD or rho and were left out of the simulation;
    * ``covariates_not_in_analytic_power`` — the study's covariates ``outcomes`` are not modelled.
    """

    kind: str
    outcomes: tuple[str, ...] = ()
    family: str | None = None
    methods: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in NOTE_KINDS:
            raise ValueError(f"unknown plan note kind {self.kind!r}; one of {NOTE_KINDS}")


@dataclass(frozen=True)
class PlannedAnalysis:
    """The analysis a plan powers: the pilot's ``[analysis]`` plan with the caller's overrides.

    ``multiplicity`` is the study's own (the simulation runs it); ``analytic_multiplicity`` the one of
    the analytic table (the override, when given). ``family`` is the primary outcome's family, which
    sets the number of hypotheses of the analytic alpha per test.
    """

    method: str
    multiplicity: str
    analytic_multiplicity: str
    alpha: float
    families: Mapping[str, tuple[str, ...]]
    gatekeeping: bool
    family_name: str
    family: tuple[str, ...]
    covariates: tuple[str, ...]
    alpha_given: bool
    multiplicity_given: bool
    simulated_method: str | None = None
    """``clda`` when the study's first method is cLDA: the simulation runs it (``clda_df_method``,
    ``clda_covariance`` of ``[analysis.clda]``) over the visits up to the follow-up, with dropout per
    visit; None: the simulation runs ``method``."""
    clda_df_method: str = "kenward_roger"
    clda_covariance: str = "us"

    def simulation_options(self) -> dict[str, Any]:
        """Keywords of :func:`skintrial.plan.simulate_power` for this analysis."""
        return {
            "families": {f: list(v) for f, v in self.families.items()},
            "method": self.method,
            "alpha": self.alpha,
            "multiplicity": self.multiplicity,
            "gatekeeping": self.gatekeeping,
        }


PLAN_TABLES = ("plan", "power_curve", "pilot_outcomes", "pilot_changes", "simulated_power")
"""The tables of a :class:`TrialPlan` (``simulated_power`` only when simulated), written as ``NAME.csv``."""


@dataclass(frozen=True)
class TrialPlan:
    """A trial planned from a pilot: what :func:`plan_study` returns.

    ``tables`` holds :data:`PLAN_TABLES`: ``plan`` (:func:`skintrial.plan.plan_trial`), ``power_curve``
    (:func:`skintrial.plan.power_curve` over :func:`n_grid`), the pilot's ``pilot_outcomes`` (SD, rho)
    and ``pilot_changes`` (mean change per arm), and ``simulated_power`` when ``n_sims > 0``.
    """

    study_name: str
    study_dir: Path
    primary: str
    baseline_visit: str
    followup_visit: str
    control_arm: str
    target_power: float
    outcome_corr: float
    n_sims: int
    analysis: PlannedAnalysis
    tables: Mapping[str, pd.DataFrame]
    notes: tuple[PlanNote, ...]

    @property
    def plan(self) -> pd.DataFrame:
        return self.tables["plan"]

    @property
    def simulated(self) -> pd.DataFrame | None:
        return self.tables.get("simulated_power")


@dataclass(frozen=True)
class PowerPlan:
    """The power (or sample size) of a planned ANCOVA trial: what :func:`plan_power` returns.

    ``table`` is :func:`skintrial.plan.ancova_power` or :func:`skintrial.plan.ancova_sample_size`;
    ``simulated`` the hypotheses table of :func:`skintrial.plan.simulate_power` (``n_sims > 0``).
    """

    table: pd.DataFrame
    simulated: pd.DataFrame | None
    n_sims: int
    n_outcomes: int
    outcome_corr: float
    analysis: str
    multiplicity: str


def _simulate(design, n: int, *, control_arm: str, n_sims: int, seed: int, progress, client, **options):
    from skintrial.plan.simulate import simulate_power

    return simulate_power(
        design,
        n_per_arm=n,
        control_arm=control_arm,
        n_sims=n_sims,
        seed=seed,
        progress=progress,
        client=client,
        **options,
    ).hypotheses


def plan_power(
    *,
    effects: Mapping[str, float],
    sd: float,
    rho: float = 0.5,
    n_per_arm: int | None = None,
    power: float = 0.8,
    control_arm: str = "CON",
    alpha: float = 0.05,
    multiplicity: str = "holm",
    n_outcomes: int = 1,
    dropout: float = 0.0,
    analysis: str = "ancova",
    n_sims: int = 0,
    outcome_corr: float = 0.0,
    seed: int = 1,
    progress: SimProgress | None = None,
    client: Any = None,
) -> PowerPlan:
    """Analytic power at ``n_per_arm`` (or the sample size for ``power``) of an ANCOVA trial, and
    optionally ``n_sims`` simulated trials of the same analysis.

    The simulation gives every one of the ``n_outcomes`` outcomes the same effects, SD and rho, and
    adjusts over all outcomes × contrasts, as the analytic alpha per test does; it runs on ``client``
    (a ``distributed.Client``, a :mod:`skintrial.cluster` runner, or None for this process) with the
    same result.

    Examples
    --------
    >>> res = plan_power(effects={"AT": 0.5}, sd=1.0, rho=0.6, n_per_arm=40)
    >>> round(float(res.table["power"].iloc[0]), 3), res.simulated is None
    (0.783, True)
    """
    from skintrial.plan.power import ancova_power, ancova_sample_size
    from skintrial.plan.simulate import design_table

    kw: dict[str, Any] = dict(
        effects=dict(effects),
        sd=sd,
        rho=rho,
        control_arm=control_arm,
        alpha=alpha,
        multiplicity=multiplicity,
        n_outcomes=n_outcomes,
        dropout=dropout,
        analysis=analysis,
    )
    if n_per_arm is not None:
        table = ancova_power(n_per_arm=n_per_arm, **kw)
    else:
        table = ancova_sample_size(power=power, **kw)
    sim = None
    if n_sims > 0:
        n = n_per_arm or int(table["n_enrolled_arm"].max())
        names = [f"outcome_{j + 1}" for j in range(n_outcomes)] if n_outcomes > 1 else ["outcome"]
        design = design_table(
            effects={o: dict(effects) for o in names}, sd={o: sd for o in names}, rho={o: rho for o in names}
        )
        sim = _simulate(
            design,
            n,
            control_arm=control_arm,
            n_sims=n_sims,
            seed=seed,
            progress=progress,
            client=client,
            families={"primary": names},
            method=analysis,
            alpha=alpha,
            multiplicity=multiplicity,
            dropout=dropout,
            outcome_corr=outcome_corr,
        )
    return PowerPlan(table, sim, n_sims, n_outcomes, outcome_corr, analysis, multiplicity)


def _analysis(
    spec_analysis: Mapping[str, Any],
    primary: str,
    *,
    alpha: float | None,
    multiplicity: str | None,
    simulate: bool,
    notes: list[PlanNote],
) -> dict[str, Any]:
    """The pilot's own ``[analysis]`` plan as simulation options, ``alpha`` overriding its alpha;
    the primary joins the primary family when the plan does not test it."""
    from skintrial.plan.power import MULTIPLICITY
    from skintrial.plan.simulate import analysis_options

    a = dict(spec_analysis)
    if alpha is not None:
        a["alpha"] = alpha
    try:
        opts = analysis_options(a)
    except InputError:
        if simulate and list(a.get("methods") or [])[:1] != ["clda"]:
            raise
        opts = analysis_options({**a, "methods": ["ancova"]})
        notes.append(PlanNote("methods_without_formula", methods=tuple(a.get("methods") or ())))
    analytic = opts["multiplicity"] if multiplicity is None else multiplicity
    if analytic not in MULTIPLICITY:
        given = multiplicity is not None
        raise InputError(
            Problem(
                f"multiplicity {analytic!r} has no analytic power formula",
                file=None if given else "study.toml",
                column="multiplicity" if given else "[analysis] multiplicity",
                value=analytic,
                fix=f"use one of {', '.join(MULTIPLICITY)}"
                + (
                    ""
                    if given
                    else " with the multiplicity option for the analytic table (a simulation runs the study's own)"
                ),
            )
        )
    fams = opts["families"]
    if not any(primary in v for v in fams.values()):
        fams["primary"] = [primary, *fams["primary"]]
        notes.append(PlanNote("primary_added_to_family", outcomes=(primary,)))
    return {**opts, "analytic": analytic}


def _followup_visit(spec_study, followup: str | None) -> str:
    """``followup``, checked against study.toml's visits; by default the last declared visit after the
    baseline."""
    later = [v for v in spec_study.visits if v != spec_study.baseline_visit]
    if followup is None:
        return later[-1]
    if followup not in later:
        raise InputError(
            Problem(
                f"{followup!r} is not a follow-up visit of the pilot",
                column="followup_visit",
                value=followup,
                fix=f"use one of {later} (study.toml [study] visits, not the "
                f"baseline {spec_study.baseline_visit!r})",
            )
        )
    return followup


def _clda_visits(spec_study, followup: str) -> list[str]:
    """The baseline, then the declared visits after it up to ``followup``: the cLDA plan's visits."""
    later = [v for v in spec_study.visits if v != spec_study.baseline_visit]
    return [spec_study.baseline_visit, *later[: later.index(followup) + 1]]


def n_grid(plan: pd.DataFrame, n_max: int) -> list[int]:
    """The n per arm of the power curve: about 60 steps up to ``n_max`` or 15 % past the largest
    planned enrolment per arm, whichever is larger, with each scenario's planned n included.

    Examples
    --------
    >>> import pandas as pd
    >>> n_grid(pd.DataFrame({"n_enrolled_arm": [33.0, 41.0]}), 20)[:5]
    [1, 2, 3, 4, 5]
    >>> n = n_grid(pd.DataFrame({"n_enrolled_arm": [33.0]}), 150)
    >>> n[:3], n[-1], 33 in n
    ([2, 4, 6], 150, True)
    """
    top = max(n_max, int(1.15 * plan["n_enrolled_arm"].max()))
    step = max(1, top // 60)
    return np.unique(np.r_[np.arange(step, top + 1, step), plan["n_enrolled_arm"].astype(int)]).tolist()


def _simulation(
    est: PilotEstimates,
    plan: pd.DataFrame,
    analysis: PlannedAnalysis,
    kw: Mapping[str, Any],
    notes: list[PlanNote],
    *,
    n_sims: int,
    seed: int,
    outcome_corr: float,
    progress: SimProgress | None,
    client: Any,
    long: pd.DataFrame,
    visits: Sequence[str],
    retention: Sequence[float] | None,
) -> pd.DataFrame:
    """Simulate the study's analysis plan (every outcome of its families) at the pilot scenario's n per
    arm; a cLDA plan over ``visits`` with ``retention`` per visit (by default falling linearly to
    ``1 − dropout``)."""
    from skintrial.plan._clda_plan import linear_retention, simulate_clda_plan
    from skintrial.plan.pilot import pilot_design

    o = est.outcomes
    usable = set(o.loc[np.isfinite(o["sd"]) & np.isfinite(o["rho"]), "outcome"])
    dropped = sorted({x for v in analysis.families.values() for x in v} - usable)
    if dropped:
        notes.append(PlanNote("not_simulated", outcomes=tuple(dropped)))
    fams = {f: [x for x in v if x in usable] for f, v in analysis.families.items()}
    fams = {f: v for f, v in fams.items() if v}
    design = pilot_design(
        est,
        outcomes=[x for v in fams.values() for x in v],
        primary=kw["primary"],
        arms=kw["arms"],
        control_arm=kw["control_arm"],
        control_change=kw["control_change"],
        effects=kw["effects"],
    )
    n = int(plan.loc[plan["scenario"] == "pilot", "n_enrolled_arm"].max())
    if analysis.simulated_method == "clda":
        if outcome_corr != 0:
            raise InputError(
                Problem(
                    "the cLDA simulation draws the outcomes independently",
                    column="outcome_corr",
                    value=outcome_corr,
                    fix="leave outcome_corr at 0 for a study whose primary analysis is clda",
                )
            )
        hyp, no_cov = simulate_clda_plan(
            long,
            design,
            visits=visits,
            control_arm=kw["control_arm"],
            families=fams,
            n_per_arm=n,
            retention=linear_retention(len(visits), kw["dropout"]) if retention is None else retention,
            multiplicity=analysis.multiplicity,
            gatekeeping=analysis.gatekeeping,
            alpha=analysis.alpha,
            n_sims=n_sims,
            seed=seed,
            df_method=analysis.clda_df_method,
            covariance=analysis.clda_covariance,
            progress=progress,
            client=client,
        )
        if no_cov:
            notes.append(PlanNote("not_simulated", outcomes=tuple(no_cov)))
        return hyp
    return _simulate(
        design,
        n,
        control_arm=kw["control_arm"],
        n_sims=n_sims,
        seed=seed,
        progress=progress,
        client=client,
        dropout=kw["dropout"],
        outcome_corr=outcome_corr,
        **{**analysis.simulation_options(), "families": fams},
    )


def plan_study(
    study: Study,
    *,
    primary: str,
    arms: Sequence[str] = ("CON", "AT", "RT"),
    control_arm: str = "CON",
    control_change: float = 0.0,
    effects: Mapping[str, float] | None = None,
    power: float = 0.8,
    alpha: float | None = None,
    multiplicity: str | None = None,
    dropout: float = 0.1,
    n_max: int = 150,
    n_sims: int = 0,
    outcome_corr: float = 0.0,
    seed: int = 1,
    followup_visit: str | None = None,
    progress: SimProgress | None = None,
    retention: Sequence[float] | None = None,
    client: Any = None,
) -> TrialPlan:
    """Plan a controlled trial of ``primary`` from a pilot study: sample size, power curve, simulation.

    The analysis planned is the pilot's own ``[analysis]`` plan: its method, alpha and multiplicity
    (``alpha`` overrides the alpha; ``multiplicity`` the analytic table's method only), with the
    primary outcome's family setting the number of hypotheses of the analytic alpha per test.
    ``n_sims > 0`` simulates that whole plan with the study's own multiplicity (every outcome of its
    families; effects, SDs and rho from the pilot) at the pilot scenario's n per arm. Effects are the
    pilot's mean changes minus its control arm's (or minus ``control_change`` when the pilot has no
    ``control_arm``), unless ``effects`` gives them. The pilot change runs from the baseline to
    ``followup_visit`` (default: the last declared visit).

    When the study's first ``[analysis] methods`` is ``clda``, the simulation is of that analysis
    (:func:`skintrial.plan._clda_plan.simulate_clda_plan`): the visits from the baseline to
    ``followup_visit``, the pilot's SDs and correlations across them, ``retention`` per visit (the
    fraction still observed, baseline first; by default falling linearly to ``1 − dropout``), and
    ``[analysis.clda]``'s df method and covariance structure.

    The simulation runs on ``client`` (a ``distributed.Client``, a :mod:`skintrial.cluster` runner, or
    None for this process), one task per block of trials; the tables are the same whatever runs it.

    Examples
    --------
    >>> import tempfile
    >>> from skintrial.plan import synthetic_study
    >>> from skintrial.study import load_study
    >>> pilot = load_study(synthetic_study(seed=2, n=24, omics=False).write(tempfile.mkdtemp()))
    >>> p = plan_study(pilot, primary="r2", effects={"AT": 0.03, "RT": 0.04})
    >>> sorted(p.tables), [n.kind for n in p.notes]
    (['pilot_changes', 'pilot_outcomes', 'plan', 'power_curve'], [])
    """
    from skintrial.plan.pilot import pilot_estimates, plan_trial, power_curve

    if n_max < 2:
        raise InputError(
            Problem("must be at least 2", column="n_max", value=n_max, fix="pass n_max=2 or more")
        )
    notes: list[PlanNote] = []
    s, a = study.spec.study, study.spec.analysis
    opts = _analysis(
        a.model_dump(), primary, alpha=alpha, multiplicity=multiplicity, simulate=n_sims > 0, notes=notes
    )
    long = study.long()
    est = pilot_estimates(
        long, baseline_visit=s.baseline_visit, followup_visit=_followup_visit(s, followup_visit)
    )
    fam_name, family = next((f, v) for f, v in opts["families"].items() if primary in v)
    analysis = PlannedAnalysis(
        method=opts["method"],
        multiplicity=opts["multiplicity"],
        analytic_multiplicity=opts["analytic"],
        alpha=opts["alpha"],
        families=MappingProxyType({f: tuple(v) for f, v in opts["families"].items()}),
        gatekeeping=opts["gatekeeping"],
        family_name=fam_name,
        family=tuple(family),
        covariates=tuple(a.covariates),
        alpha_given=alpha is not None,
        multiplicity_given=multiplicity is not None,
        simulated_method="clda" if list(a.methods)[:1] == ["clda"] else None,
        clda_df_method=a.clda.df_method,
        clda_covariance=a.clda.covariance,
    )
    if retention is not None and analysis.simulated_method != "clda":
        raise InputError(
            Problem(
                "a retention per visit is for a study whose primary analysis is clda",
                file="study.toml",
                column="retention",
                value=list(a.methods),
                fix='leave the retention out (dropout is the fraction lost), or put "clda" first in '
                "[analysis] methods",
            )
        )
    if analysis.gatekeeping and fam_name != next(iter(analysis.families)):
        notes.append(PlanNote("gated_family", outcomes=(primary,), family=fam_name))
    arms = list(arms)
    n_contrasts = len([x for x in arms if x != control_arm])
    kw: dict[str, Any] = dict(
        primary=primary,
        arms=arms,
        control_arm=control_arm,
        alpha=analysis.alpha,
        multiplicity=analysis.analytic_multiplicity,
        n_outcomes=len(family),
        analysis=analysis.method,
        sequence_position=family.index(primary) * n_contrasts,
        control_change=control_change,
        effects=dict(effects) if effects else None,
        dropout=dropout,
    )
    plan = plan_trial(est, power=power, **kw)
    tables = {
        "plan": plan,
        "power_curve": power_curve(est, n_per_arm=n_grid(plan, n_max), **kw),
        "pilot_outcomes": est.outcomes,
        "pilot_changes": est.changes,
    }
    if n_sims > 0:
        tables["simulated_power"] = _simulation(
            est,
            plan,
            analysis,
            kw,
            notes,
            n_sims=n_sims,
            seed=seed,
            outcome_corr=outcome_corr,
            progress=progress,
            client=client,
            long=long,
            visits=_clda_visits(s, est.followup_visit),
            retention=retention,
        )
    if analysis.covariates:
        notes.append(PlanNote("covariates_not_in_analytic_power", outcomes=analysis.covariates))
    return TrialPlan(
        study_name=s.name,
        study_dir=study.root,
        primary=primary,
        baseline_visit=s.baseline_visit,
        followup_visit=est.followup_visit,
        control_arm=control_arm,
        target_power=power,
        outcome_corr=outcome_corr,
        n_sims=n_sims,
        analysis=analysis,
        tables=MappingProxyType(tables),
        notes=tuple(notes),
    )
