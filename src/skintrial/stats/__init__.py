"""Trial statistics on one batched linear-model engine (many outcomes, one design).

``fit_ols`` is the engine; ``ancova``, ``cross_sectional``, ``clda``, ``mixed_anova`` and the descriptive
summaries stand on it. The four trial analyses return one family of results, :class:`TrialAnalysis`:
``contrasts``, ``tests``, ``estimates``, ``ci_level`` and ``tables()`` (the tables a run writes).
``p_adjust`` / ``serial_gatekeeper`` / ``adjust_families`` handle multiplicity; ``t_inference``,
``t_pvalue``, ``t_critical``, ``f_pvalue`` … (batched t / z / F tails, quantiles and intervals) are the
one inference path every package uses.
"""

from skintrial.stats._ancova_chunks import ancova_and_change_in_chunks
from skintrial.stats._data import default_visit_order, followup_visit_of, trial_arrays
from skintrial.stats._engine import BatchedFit, ContrastResult, FTestResult, fit_ols
from skintrial.stats._inference import (
    TInference,
    f_pvalue,
    f_quantile,
    t_cdf,
    t_critical,
    t_inference,
    t_interval,
    t_pvalue,
    t_quantile,
    t_sf,
    z_critical,
    z_pvalue,
)
from skintrial.stats._moderation import ModeratedContrasts, moderated_contrasts, moderated_f_test, squeeze_var
from skintrial.stats._moderation_chunks import fdist_moments
from skintrial.stats._schema import (
    CHANGE_COLUMNS,
    CONTRAST_COLUMNS,
    CROSS_SECTIONAL_COLUMNS,
    DESCRIPTIVE_COLUMNS,
    EMMEANS_COLUMNS,
    FTEST_COLUMNS,
    KRUSKAL_COLUMNS,
    MANY_ARMS_COLUMNS,
    MIXED_ANOVA_COLUMNS,
    PAIRED_CHANGE_COLUMNS,
    RANK_ANCOVA_COLUMNS,
    RERANDOMISATION_COLUMNS,
    RESPONDER_COLUMNS,
    SIMPLE_EFFECTS_COLUMNS,
    TWO_WAY_ANOVA_COLUMNS,
    TWO_WAY_MEANS_COLUMNS,
    VISIT_EMMEANS_COLUMNS,
    WILCOXON_COLUMNS,
)
from skintrial.stats._stages import (
    adjust_study_families,
    ancova_settings,
    ancova_stage,
    clda_stage,
    cross_sectional_stage,
    description_stage,
    followup_visits,
    grouped_study,
    has_responders,
    mixed_anova_stage,
    paired_change_stage,
    responders_stage,
    sensitivity_stage,
)
from skintrial.stats._trial import TrialAnalysis
from skintrial.stats.ancova import AncovaResult, ancova
from skintrial.stats.clda import CLDA_COLUMNS, CldaResult, clda
from skintrial.stats.cross_sectional import CrossSectionalResult, cross_sectional
from skintrial.stats.describe import describe, within_arm_change
from skintrial.stats.many_arms import many_arm_contrasts, simultaneous_contrasts
from skintrial.stats.mixed_anova import MixedAnovaResult, mixed_anova
from skintrial.stats.multiplicity import adjust_families, p_adjust, serial_gatekeeper
from skintrial.stats.paired_change import PairedChangeResult, paired_change, signed_rank_test
from skintrial.stats.rank import kruskal_wallis, rank_ancova, wilcoxon_shift
from skintrial.stats.rerandomisation import AllocationScheme, rerandomisation_test
from skintrial.stats.responders import ResponderRule, responder_analysis
from skintrial.stats.two_way import TwoWayAnova, two_way_anova

__all__ = [
    "ancova_and_change_in_chunks",
    "default_visit_order",
    "followup_visit_of",
    "trial_arrays",
    "BatchedFit",
    "ContrastResult",
    "FTestResult",
    "fit_ols",
    "ModeratedContrasts",
    "moderated_contrasts",
    "moderated_f_test",
    "squeeze_var",
    "fdist_moments",
    "TrialAnalysis",
    "AncovaResult",
    "ancova",
    "CLDA_COLUMNS",
    "CldaResult",
    "clda",
    "CrossSectionalResult",
    "cross_sectional",
    "describe",
    "within_arm_change",
    "MixedAnovaResult",
    "mixed_anova",
    "TwoWayAnova",
    "two_way_anova",
    "PairedChangeResult",
    "paired_change",
    "signed_rank_test",
    "adjust_families",
    "p_adjust",
    "serial_gatekeeper",
    "TInference",
    "t_cdf",
    "t_sf",
    "t_pvalue",
    "t_quantile",
    "t_critical",
    "t_interval",
    "t_inference",
    "z_pvalue",
    "z_critical",
    "f_pvalue",
    "f_quantile",
    "CHANGE_COLUMNS",
    "CONTRAST_COLUMNS",
    "CROSS_SECTIONAL_COLUMNS",
    "DESCRIPTIVE_COLUMNS",
    "EMMEANS_COLUMNS",
    "FTEST_COLUMNS",
    "MIXED_ANOVA_COLUMNS",
    "VISIT_EMMEANS_COLUMNS",
    "SIMPLE_EFFECTS_COLUMNS",
    "PAIRED_CHANGE_COLUMNS",
    "TWO_WAY_ANOVA_COLUMNS",
    "TWO_WAY_MEANS_COLUMNS",
    "adjust_study_families",
    "ancova_settings",
    "description_stage",
    "ancova_stage",
    "clda_stage",
    "mixed_anova_stage",
    "cross_sectional_stage",
    "paired_change_stage",
    "sensitivity_stage",
    "many_arm_contrasts",
    "simultaneous_contrasts",
    "rank_ancova",
    "wilcoxon_shift",
    "kruskal_wallis",
    "MANY_ARMS_COLUMNS",
    "RANK_ANCOVA_COLUMNS",
    "WILCOXON_COLUMNS",
    "KRUSKAL_COLUMNS",
    "RERANDOMISATION_COLUMNS",
    "RESPONDER_COLUMNS",
    "ResponderRule",
    "responder_analysis",
    "responders_stage",
    "has_responders",
    "AllocationScheme",
    "rerandomisation_test",
    "grouped_study",
    "followup_visits",
]
