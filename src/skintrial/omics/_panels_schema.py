"""Column schemas of the serum-panel and mechanism tables: declared once, tested, never parameter-dependent."""

from __future__ import annotations

from skintrial.stats import CONTRAST_COLUMNS

PANEL_COLUMNS: tuple[str, ...] = (
    "participant_id",
    "visit",
    "panel",
    "analyte",
    "unit",
    "value",
    "lod",
    "below_lod",
    "row",
)
"""A typed panel (:func:`~skintrial.omics.panels.read_panel`): ``value`` NaN when below the LOD or
missing, ``below_lod`` True for censored entries, ``row`` the spreadsheet row (header = 1)."""

PREPARED_COLUMNS: tuple[str, ...] = (
    "participant_id",
    "visit",
    "panel",
    "analyte",
    "value",
    "below_lod",
    "scale",
)
"""A panel after PQN, below-LOD handling and the log transform; ``scale`` names the transform."""

LOD_COLUMNS: tuple[str, ...] = (
    "analyte",
    "panel",
    "unit",
    "lod",
    "n_values",
    "n_below_lod",
    "fraction_below_lod",
    "n_missing",
    "method",
    "tested",
    "status",
)

PQN_COLUMNS: tuple[str, ...] = ("participant_id", "visit", "panel", "dilution_factor", "n_quotients")

SERUM_ANCOVA_COLUMNS: tuple[str, ...] = (
    "analyte",
    "panel",
    *CONTRAST_COLUMNS[1 : CONTRAST_COLUMNS.index("effect_size")],
    "scale",
    "ratio",
    "ratio_low",
    "ratio_high",
    *CONTRAST_COLUMNS[CONTRAST_COLUMNS.index("effect_size") :],
)
"""One row per analyte × contrast. ``estimate`` is on the ``scale`` of the analysis (log2 by default);
``ratio`` = base^estimate is the ratio of adjusted geometric means (NaN when ``scale`` is ``none``)."""

SERUM_CHANGE_COLUMNS: tuple[str, ...] = (
    "analyte",
    "panel",
    "arm",
    "n",
    "mean_change",
    "sd_change",
    "se",
    "ci_low",
    "ci_high",
    "ci_level",
    "df",
    "t",
    "p",
    "p_adj",
    "family",
    "p_adj_method",
    "scale",
    "ratio",
    "baseline_visit",
    "followup_visit",
)
"""One row per analyte × arm: the within-arm change (paired t on the transformed scale), a description."""

MECHANISM_COLUMNS: tuple[str, ...] = (
    "factor",
    "skin_outcome",
    "method",
    "arm_adjusted",
    "r",
    "n",
    "df",
    "t",
    "p",
    "p_adj",
    "p_adj_method",
    "family",
)
"""One row per circulating factor × skin outcome × method (× arm adjustment)."""
