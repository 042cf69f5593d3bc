"""The methods paragraph: the analysis plan, instrument and training processing, the molecular
analyses, software versions and seed, written from the settings each stage recorded.

One text for the page and for report.docx (:func:`methods_text`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from skintrial.pipeline import TrialResults
from skintrial.report._clda_text import clda_choices
from skintrial.report._format import name_of
from skintrial.report._sensitivity_text import many_arms_sentence, sensitivity_methods

__all__ = ["methods_text", "MULTIPLICITY"]

MULTIPLICITY = {
    "holm": "Holm",
    "hochberg": "Hochberg",
    "bonferroni": "Bonferroni",
    "bh": "Benjamini–Hochberg",
    "by": "Benjamini–Yekutieli",
    "fixed_sequence": "fixed-sequence",
    "none": "no",
}
"""The plan's multiplicity methods as a sentence names them."""


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _groups_words(group: str) -> str:
    """'the arms', or the groups of a participants.csv column, for a sentence."""
    return "the arms" if group == "arm" else f"the groups of '{group}'"


def methods_text(res: TrialResults) -> str:
    """The methods paragraph of the run (plain text)."""
    s = res.study.spec
    prov = res.provenance
    a = s.analysis
    ref = (
        f"each arm was compared with {s.study.reference_arm}"
        if s.study.reference_arm
        else "all pairs of arms were compared"
    )
    regressors = _and([f"its {s.study.baseline_visit} value", "arm", *(name_of(c) for c in a.covariates)])
    labels = {k: (v.label or k) for k, v in s.outcomes.items()}
    primary = "; ".join(labels.get(o, o) for o in a.primary)
    multiplicity = (
        f"No adjustment for multiplicity was made across the primary outcomes ({primary})"
        if a.multiplicity == "none"
        else f"Multiplicity was controlled with the {MULTIPLICITY.get(a.multiplicity, a.multiplicity)} method "
        f"across the primary outcomes ({primary})"
    )
    fam = "; secondary outcomes formed a second family" + (
        " gated by the primary family (serial gatekeeping)" if a.gatekeeping else ""
    )
    if many_arms_sentence(res):  # Dunnett / Tukey: a family over each outcome's arm contrasts
        multiplicity, fam = many_arms_sentence(res), ""
    text = (
        f"The primary analysis was an analysis of covariance (ANCOVA) of each outcome at {res.followup_visit} on "
        f"{regressors}, in participants with both values (complete cases; "
        f"exclusions are listed below); {ref}. Adjusted differences are reported with {a.ci_level:.0%} "
        f"t-intervals and adjusted means at the mean baseline. {multiplicity}{fam}. "
        f"Effect sizes are Hedges' g: the adjusted difference over the pooled baseline SD of the two arms, "
        f"times J = 1 − 3/(4(n1+n2)−9). Within-arm changes are descriptive only."
    )
    randomised = s.study.randomised
    if not randomised:  # a cross-sectional or single-arm study: its own analysis, never an ANCOVA
        from skintrial.report._section_design import design_methods

        text = design_methods(res, MULTIPLICITY.get(a.multiplicity, a.multiplicity))
    packages = cast("Mapping[str, Any]", prov.get("packages", {}))
    seed = prov.get("seed")
    software = (
        f" Analysis by skintrial {prov.get('skintrial_version')} (Python {prov.get('python')}, numpy "
        f"{packages.get('numpy')}, scipy {packages.get('scipy')}, pandas {packages.get('pandas')})"
        + (f"; study seed {seed}" if seed is not None else "")
        + f"; run {prov.get('created_utc')}."
    )
    text += _instrument_methods(res) + _training_methods(res)
    if res.has("clda"):
        text += (
            " As a sensitivity analysis for missing follow-up, a constrained longitudinal data analysis "
            f"(cLDA, an MMRM with the baseline as a response: {clda_choices(res)}) used every participant's "
            "available values, at every visit (the last one primary)."
        )
    if res.has("mixed_anova"):
        text += (
            " For comparison with published reports, a two-way mixed ANOVA (arm × visit, Type III, "
            "generalized η²) is given as the replication analysis; it is not the treatment test."
        )
        if res.table("mixed_anova")["gg_eps"].notna().any():
            text += (
                " Its within-participant terms are reported with Greenhouse–Geisser and Huynh–Feldt "
                "sphericity corrections."
            )
    text += sensitivity_methods(res)
    if randomised and res.has("cross_sectional") and len(res.table("cross_sectional")):
        t = res.table("cross_sectional")
        text += (
            f" A cross-sectional comparison of {_groups_words(t['group_column'].iloc[0])} at "
            f"{t['visit'].iloc[0]} (linear model of each outcome on group and covariates, same engine and "
            "multiplicity families) is given as a secondary, descriptive analysis."
        )
    from skintrial.report._section_omics import methods_text as omics_methods

    omics = omics_methods(res)
    if omics:
        text += " " + omics
    return text + software


def _instrument_methods(res: TrialResults) -> str:
    """Sentences on raw instrument files, from the [raw] settings the run used; empty without raw files."""
    files = res.get("instrument_files")
    if files is None or files.empty:
        return ""
    raw = cast("Mapping[str, Any]", res.settings("instruments").get("cutometer", {}))
    found = set(files["instrument"])
    text = ""
    if "cutometer" in found and raw:
        on_s, off_s = raw.get("on_s"), raw.get("off_s")
        declared = (
            f"the declared suction/relaxation times of {on_s:g}/{off_s:g} s"
            if on_s is not None and off_s is not None
            else f"a suction time of {on_s:g} s"
            if on_s is not None
            else None
        )
        timing = "the pressure channel" + (
            f", or for a curve without one, from {declared}" if declared else ""
        )
        point = (
            f"read {raw['read_time_s']:g} s after the start of suction and relaxation"
            if raw.get("method") == "read_time"
            else "at each curve's inflection point"
        )
        cycles = (
            "the first cycle dropped and the rest averaged"
            if raw.get("drop_first_cycle")
            else "the first cycle's points"
        )
        text += (
            f" Cutometer parameters (Ue, Uv, Uf, Ur, Ua, R0–R9) were computed by skintrial from the raw "
            f"suction curves: phases from {timing}, immediate deformations {point}, {cycles}."
        )
    if "ultrasound" in found:
        text += (
            " Dermal thickness and echogenicity were measured by skintrial on the B-mode scans (entry echo "
            "and dermis/subcutis border traced across the image by dynamic programming; thickness the "
            "median over columns; low-echogenic pixels 0–30 on the 0–255 scale)."
        )
    return text + (
        " Files with a quality flag were not used and are listed with the exclusions; their "
        "outcome values came from measurements.csv where it had them."
    )


def _training_methods(res: TrialResults) -> str:
    """Sentences on the training log and the per-protocol set; empty without a training log."""
    summary = res.get("training_summary")
    if summary is None:
        return ""
    plan = res.settings("training")
    per_week, weeks = cast(int, plan["sessions_per_week"]), cast(int, plan["weeks"])
    text = (
        f" Adherence was the sessions attended over the {per_week * weeks} planned ({per_week} a week for "
        f"{weeks} weeks), capped at 100%; dose–response was the ANCOVA with the training dose added."
    )
    rule = cast("float | None", plan["per_protocol_min_adherence"])
    if rule is not None and res.has("ancova_per_protocol"):
        text += (
            f" A per-protocol sensitivity analysis repeated the primary ANCOVA in participants with adherence "
            f"of at least {rule:.0%}."
        )
    return text
