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

HEDGES_G = "hedges_g = J * estimate / pooled baseline SD of the two arms, J = 1 - 3 / (4 (n1 + n2) - 9)"

HEDGES_G_CROSS_SECTIONAL = (
    "hedges_g = J * estimate / pooled SD of the outcome in the two groups, J = 1 - 3 / (4 (n1 + n2) - 9)"
)

PARTIAL_ETA_SQ = "partial_eta_sq = SS_term / (SS_term + SS_residual) = f * num_df / (f * num_df + den_df)"
