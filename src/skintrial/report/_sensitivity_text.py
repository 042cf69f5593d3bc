"""Methods sentences for the analyses of issue 15: Dunnett / Tukey families, the sensitivity analyses
(re-randomisation, rank-based) and binary / responder outcomes; read from the run's tables and settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from skintrial.pipeline import TrialResults

__all__ = ["many_arms_sentence", "sensitivity_methods"]

_FAMILY = {
    "dunnett": "Dunnett's single-step procedure (each arm against the reference arm)",
    "tukey": "Tukey's single-step procedure (every pair of arms)",
}


def many_arms_sentence(res: TrialResults) -> str:
    """The multiplicity sentence when the plan's method is Dunnett or Tukey (empty otherwise)."""
    family = res.study.spec.analysis.multiplicity
    if family not in _FAMILY:
        return ""
    return (
        f"Within each outcome the arm contrasts were adjusted by {_FAMILY[family]}, with simultaneous "
        f"{res.study.spec.analysis.ci_level:.0%} intervals from the multivariate t distribution of the "
        "contrasts (randomised quasi-Monte-Carlo integration, seed recorded); there was no further "
        "adjustment across outcomes"
    )


def sensitivity_methods(res: TrialResults) -> str:
    """Sentences on the sensitivity and responder analyses the run made (empty when none)."""
    text = ""
    if res.has("rerandomisation") and len(res.table("rerandomisation")):
        st = cast("Mapping[str, Any]", res.settings("sensitivity").get("rerandomisation", {}))
        text += (
            " As a sensitivity analysis that does not rely on normality, a re-randomisation test re-drew "
            f"the allocation {st.get('n')} times with the trial's scheme ({st.get('scheme')}; seed "
            f"{st.get('seed')}) and compared the ANCOVA's t and F statistics with their re-randomisation "
            "distribution (p-values with their Monte-Carlo error)."
        )
    if res.has("rank_ancova"):
        text += (
            " Quade's rank ANCOVA (1967: the follow-up ranks adjusted for the baseline ranks by linear "
            "regression, the residuals compared by one-way ANOVA) was a rank-based sensitivity analysis."
        )
    if res.has("wilcoxon"):
        text += (
            " The change from baseline was compared by the Wilcoxon–Mann–Whitney test with the "
            "Hodges–Lehmann shift and its interval"
            + (" and across all arms by the Kruskal–Wallis test" if res.has("kruskal_wallis") else "")
            + "."
        )
    if res.has("responders") and len(res.table("responders")):
        rules = cast("Mapping[str, str]", res.settings("responders").get("rules", {}))
        listed = "; ".join(f"{o}: {r}" for o, r in rules.items())
        text += (
            f" Responders ({listed}) were analysed by logistic regression on arm, the baseline value and the "
            "covariates; covariate-adjusted risk differences and risk ratios were obtained by "
            "standardisation over all analysed participants (g-computation) with delta-method standard "
            "errors, reported beside the unadjusted ones."
        )
    return text
