"""Column schemas of the statistical result tables: declared once, tested, never parameter-dependent."""

from __future__ import annotations

CONTRAST_COLUMNS: tuple[str, ...] = (
    "outcome",
    "contrast",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "df",
    "t",
    "p",
    "p_adj",
    "n",
    "ci_level",
    "family",
    "p_adj_method",
    "effect_size",
    "effect_size_formula",
    "status",
)
"""``results/ancova.csv`` and ``results/clda.csv`` (DESIGN.md), extended by the columns after ``n``."""

EMMEANS_COLUMNS: tuple[str, ...] = (
    "outcome",
    "arm",
    "emmean",
    "se",
    "df",
    "ci_low",
    "ci_high",
    "ci_level",
    "n",
    "status",
)
"""``results/emmeans.csv``: adjusted mean per outcome × arm; ``n`` counts the arm's rows used, and the
statistics (``df`` included) are NaN unless ``status`` is ``ok``."""

VISIT_EMMEANS_COLUMNS: tuple[str, ...] = (*EMMEANS_COLUMNS[:2], "visit", *EMMEANS_COLUMNS[2:])
"""Adjusted mean per outcome × arm × visit (the ``estimates`` of cLDA): the columns of ``emmeans.csv``
with the ``visit`` after the ``arm``."""

FTEST_COLUMNS: tuple[str, ...] = (
    "outcome",
    "term",
    "type",
    "num_df",
    "den_df",
    "f",
    "p",
    "partial_eta_sq",
    "partial_eta_sq_formula",
    "status",
)
"""``results/arm_tests.csv``: the F test of the arm (group) term, Type II and III, with partial eta
squared and its formula; the statistics (both df included) are NaN unless ``status`` is ``ok``."""

MIXED_ANOVA_COLUMNS: tuple[str, ...] = (
    "outcome",
    "term",
    "num_df",
    "den_df",
    "f",
    "p",
    "ges",
    "mse",
    "n",
    "n_visits",
    "gg_eps",
    "p_gg",
    "hf_eps",
    "p_hf",
    "status",
)
"""``results/mixed_anova.csv``: the DESIGN.md columns up to ``ges``, then error mean square, complete
cases, the number of visits analysed (those at which the outcome was measured), sphericity corrections
(NaN with two visits and on the ``arm`` row) and the fit status."""

CROSS_SECTIONAL_COLUMNS: tuple[str, ...] = (*CONTRAST_COLUMNS, "visit", "group_column")
"""``results/cross_sectional.csv``: the columns of ``ancova.csv``, then the visit compared and the
participants column that defines the groups (``contrast`` is ``GROUP - REFERENCE``)."""

DESCRIPTIVE_COLUMNS: tuple[str, ...] = ("outcome", "arm", "visit", "n", "mean", "sd", "median", "min", "max")

CHANGE_COLUMNS: tuple[str, ...] = (
    "outcome",
    "arm",
    "visit",
    "n",
    "mean_change",
    "sd_change",
    "ci_low",
    "ci_high",
    "ci_level",
    "percent_change",
    "baseline_visit",
    "followup_visit",
)
"""``results/change.csv``: within-arm change from the baseline to each follow-up ``visit`` (one row per
outcome × arm × follow-up visit; description only); ``followup_visit`` is the study's primary
follow-up (the last visit)."""

HEDGES_G = "hedges_g = J * estimate / pooled baseline SD of the two arms, J = 1 - 3 / (4 (n1 + n2) - 9)"

HEDGES_G_CROSS_SECTIONAL = (
    "hedges_g = J * estimate / pooled SD of the outcome in the two groups, J = 1 - 3 / (4 (n1 + n2) - 9)"
)

PARTIAL_ETA_SQ = "partial_eta_sq = SS_term / (SS_term + SS_residual) = f * num_df / (f * num_df + den_df)"

TWO_WAY_ANOVA_COLUMNS: tuple[str, ...] = (
    "outcome",
    "term",
    "num_df",
    "den_df",
    "f",
    "p",
    "partial_eta_sq",
    "type",
    "partial_eta_sq_formula",
    "n",
    "status",
)
"""``results/two_way_anova.csv``: one row per outcome × term (the group column, the ``by`` column and
their interaction ``group:by``) × type of sums of squares (``II``, ``III``), F with the full model's
error, partial eta squared and its formula, the participants used (``n``) and the fit status."""

SIMPLE_EFFECTS_COLUMNS: tuple[str, ...] = (
    "outcome",
    "by_level",
    *CONTRAST_COLUMNS[1:14],
    "status",
    "group_column",
    "by_column",
)
"""``results/simple_effects.csv``: the group contrasts (``GROUP - REFERENCE``) within each level of
``by`` (emmeans ``contrast(emmeans(fit, ~ group | by))``), with the contrast columns of ``ancova.csv``
up to ``p_adj_method``, the status and the two factors' columns."""

TWO_WAY_MEANS_COLUMNS: tuple[str, ...] = (
    "outcome",
    "group",
    "by_level",
    "emmean",
    "se",
    "df",
    "ci_low",
    "ci_high",
    "ci_level",
    "n",
    "status",
)
"""``results/two_way_means.csv``: the adjusted mean of each group × by cell (at the covariate means),
with its interval and the cell's n: what the interaction figure draws."""

PAIRED_CHANGE_COLUMNS: tuple[str, ...] = (
    *CONTRAST_COLUMNS,
    "arm",
    "visit",
    "baseline_visit",
    "sd_change",
    "percent_change",
    "wilcoxon_v",
    "wilcoxon_p",
    "wilcoxon_method",
)
"""``results/paired_change.csv``: the change from baseline at every follow-up visit within an arm (a
single-arm study): the contrast columns of ``ancova.csv`` (``contrast`` is ``VISIT - BASELINE``,
``estimate`` the mean change with its paired t test, ``effect_size`` d_z), then the arm, the visits,
the SD of the change, the percent change and the Wilcoxon signed-rank test (R's V, p and whether the
p-value is exact or from the normal approximation)."""

D_Z = "d_z = mean change / SD of the change (Cohen 1988), over the participants with both visits"

MANY_ARMS_COLUMNS: tuple[str, ...] = (
    "outcome",
    "family",
    "contrast",
    "estimate",
    "se",
    "df",
    "t",
    "p",
    "p_adj",
    "mc_error",
    "ci_low",
    "ci_high",
    "critical",
    "ci_level",
    "n",
    "seed",
    "status",
)
"""``results/many_arms.csv``: Dunnett (each arm vs the reference) or Tukey (every pair) single-step
inference for the ANCOVA's arm contrasts (``skintrial.stats.many_arms``): the unadjusted t test, the
adjusted p-value with its Monte-Carlo error, the simultaneous interval and its critical value, and the
seed of the integration."""

RANK_ANCOVA_COLUMNS: tuple[str, ...] = ("outcome", "f", "num_df", "den_df", "p", "n", "method", "status")
"""``results/rank_ancova.csv``: Quade's (1967) rank ANCOVA of follow-up on baseline, one row per outcome
(``skintrial.stats.rank``); ``method`` names the procedure."""

WILCOXON_COLUMNS: tuple[str, ...] = (
    "outcome",
    "contrast",
    "w",
    "p",
    "estimate",
    "ci_low",
    "ci_high",
    "ci_level",
    "n",
    "method",
    "status",
)
"""``results/wilcoxon.csv``: Wilcoxon–Mann–Whitney test of the change from baseline per arm contrast
with the Hodges–Lehmann shift (``estimate``) and its interval; ``method`` is ``exact`` or
``normal_approximation`` (R ``wilcox.test``'s choice)."""

KRUSKAL_COLUMNS: tuple[str, ...] = ("outcome", "statistic", "df", "p", "n", "status")
"""Kruskal–Wallis test of the change from baseline across every arm, one row per outcome (``statistic``
is the tie-corrected H)."""

RERANDOMISATION_COLUMNS: tuple[str, ...] = (
    "outcome",
    "contrast",
    "statistic",
    "observed",
    "p",
    "mc_error",
    "n_rerandomisations",
    "enumeration",
    "scheme",
    "seed",
    "status",
)
"""``results/rerandomisation.csv``: re-randomisation p-values of the ANCOVA (``skintrial.stats.
rerandomisation``): one row per outcome × contrast (``statistic = "abs_t"``) and one for the arm test
(``contrast = "arm"``, ``statistic = "f"``), with the Monte-Carlo error, the number of re-drawn (or
enumerated) allocations, the scheme in words and the seed."""

RESPONDER_COLUMNS: tuple[str, ...] = (
    "outcome",
    "rule",
    "contrast",
    "measure",
    "adjusted",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "ci_level",
    "z",
    "p",
    "risk_arm",
    "risk_reference",
    "n",
    "status",
)
"""``results/responders.csv``: responder analyses (``skintrial.stats.responders``): per outcome ×
contrast, the risk difference, risk ratio and odds ratio adjusted by standardisation from a logistic
model on baseline (and covariates), and the unadjusted risk difference and ratio; ``se`` on the test's
scale (RD, log RR, log OR), ``risk_arm`` / ``risk_reference`` the (standardised or observed) risks."""
