"""Every number of the cross-sectional (``xs.*``) and single-arm (``sa.*``) synthetic studies, each with
its source (paper.md §7, Crane et al. 2015) or marked as our assumption; listed in docs/calibration.md and
by :func:`skintrial.plan.calibration_table`. The generators are in :mod:`skintrial.plan._synthetic_designs`.
"""

from __future__ import annotations

from skintrial.plan._calibration import Number

__all__ = ["CROSS_SECTIONAL", "SINGLE_ARM"]


_P7 = "paper.md §7 (Crane et al. 2015, Aging Cell 14:625"
_XS = _P7 + ", cross-sectional arm"
_SA = _P7 + ", intervention arm"


def _a(reason: str) -> str:
    return "assumption: " + reason


_MAG = "magnitude our assumption (the figures give no values: paper.md §7 'NOT FOUND')"
_SIG = " — about 1.5 SD (about the sedentary's loss between 40 and 62, the band's mean age: the active 'like the young'), so that a difference reported significant at 15 per group is seen most of the time"
_SIG_SA = (
    " — d_z about 1.5, so that a change reported significant in about ten people is seen most of the time"
)

CROSS_SECTIONAL: tuple[Number, ...] = tuple(
    Number(*row)
    for row in (
        (
            "xs.n",
            60,
            _XS + ": n = 11–19 per age × activity group in the figure legend [P]; the news figure of 29 [N] "
            "cannot fill four such groups) — 60, i.e. 15 per group, inside the legend's range",
        ),
        ("xs.age_min", 20, _XS + ": ages 20–84 [N], 20–86 [P])"),
        ("xs.age_max", 84, _XS + ": ages 20–84 [N])"),
        (
            "xs.age_split",
            40,
            _XS + ": the active differ 'after age 40' [N]) — the two age bands 20-39 and 40+",
        ),
        (
            "xs.active_hours_min",
            3,
            _XS + ": active = at least 3 h/week of moderate or vigorous activity [N])",
        ),
        ("xs.active_hours_max", 8, _a("upper end of the active group's weekly hours")),
        ("xs.sedentary_hours_max", 1, _XS + ": sedentary = under 1 h/week [N])"),
        ("xs.female_fraction", 0.5, _a("men and women recruited alike (the sexes are not reported)")),
        (
            "xs.stratum_corneum.mean",
            15.0,
            _a("stratum corneum of non-sun-exposed skin about 10–20 µm by histology"),
        ),
        ("xs.stratum_corneum.sd", 2.5, _a("a sixth of the mean")),
        (
            "xs.stratum_corneum.age_slope",
            0.15,
            _XS + ": the sedentary have a thicker stratum corneum with age [P/N]); " + _MAG,
        ),
        (
            "xs.stratum_corneum.active_after_40",
            -3.6,
            _XS
            + ": after 40 the active have a thinner stratum corneum, like the 20–30-year-olds [N]); "
            + _MAG
            + _SIG,
        ),
        ("xs.dermal_thickness.mean", 1.8, _a("buttock dermis about 1.5–2 mm")),
        ("xs.dermal_thickness.sd", 0.2, _a("about 11 % of the mean")),
        (
            "xs.dermal_thickness.age_slope",
            -0.012,
            _XS + ": the dermis thins with age in the sedentary [N]); " + _MAG + " (about −0.5 mm by 80)",
        ),
        (
            "xs.dermal_thickness.active_after_40",
            0.3,
            _XS + ": after 40 the active have a thicker dermis [N]); " + _MAG + _SIG,
        ),
        ("xs.collagen.mean", 70.0, _a("collagen fills most of the reticular dermis")),
        ("xs.collagen.sd", 8.0, _a("a typical spread of an area fraction")),
        ("xs.collagen.age_slope", -0.15, _a("collagen density falls slowly with age")),
        (
            "xs.collagen.active_after_40",
            0.0,
            _XS + ": SED and ACT pooled for collagen 'as there was not a group effect' [P])",
        ),
        ("xs.mtdna.mean", 1.0, _a("relative units: the young have 1 on average")),
        ("xs.mtdna.sd", 0.2, _a("a fifth of the mean")),
        ("xs.mtdna.age_slope", -0.006, _XS + ": skin mitochondria decline with age [P]); " + _MAG),
        (
            "xs.mtdna.active_after_40",
            0.3,
            _XS + ": the active had more and healthier skin mitochondria [N]); " + _MAG + _SIG,
        ),
    )
)

SINGLE_ARM: tuple[Number, ...] = tuple(
    Number(*row)
    for row in (
        ("sa.n", 10, _SA + ": about ten previously sedentary adults [N])"),
        ("sa.weeks", 12, _SA + ": 3 months of endurance training twice a week [N])"),
        ("sa.age_min", 65, _SA + ": aged 65 and over [N])"),
        ("sa.age_max", 86, _P7 + ": oldest participant of the human arms 86 [P])"),
        ("sa.age_centre", 70, _a("the baseline means below are for a 70-year-old")),
        ("sa.withdrawn", 1, _a("one of ten lost over 3 months (the report does not say)")),
        ("sa.female_fraction", 0.5, _a("men and women alike (not reported)")),
        (
            "sa.stratum_corneum.mean",
            18.0,
            _a("older sedentary skin: the cross-sectional young mean plus the age trend"),
        ),
        ("sa.stratum_corneum.sd", 3.0, _a("as the cross-sectional SD")),
        ("sa.stratum_corneum.age_slope", 0.15, _a("as xs.stratum_corneum.age_slope")),
        ("sa.stratum_corneum.rho", 0.85, _a("biopsies of neighbouring skin 3 months apart agree well")),
        (
            "sa.stratum_corneum.change",
            -2.5,
            _SA + ": the stratum corneum thinned after training [N]); " + _MAG + _SIG_SA,
        ),
        (
            "sa.dermal_thickness.mean",
            1.45,
            _a("older dermis: the cross-sectional young mean minus the age trend"),
        ),
        ("sa.dermal_thickness.sd", 0.25, _a("as the cross-sectional SD")),
        ("sa.dermal_thickness.age_slope", -0.012, _a("as xs.dermal_thickness.age_slope")),
        ("sa.dermal_thickness.rho", 0.85, _a("biopsies of neighbouring skin 3 months apart agree well")),
        (
            "sa.dermal_thickness.change",
            0.2,
            _SA + ": the dermis thickened, like 20–40-year-olds' [N]); " + _MAG + _SIG_SA,
        ),
        ("sa.collagen.mean", 65.0, _a("older reticular dermis")),
        ("sa.collagen.sd", 8.0, _a("as the cross-sectional SD")),
        ("sa.collagen.age_slope", -0.15, _a("as xs.collagen.age_slope")),
        ("sa.collagen.rho", 0.85, _a("biopsies of neighbouring skin 3 months apart agree well")),
        ("sa.collagen.change", 6.5, _SA + ": collagen rose after training [N]); " + _MAG + _SIG_SA),
        ("sa.mtdna.mean", 0.8, _a("older skin: below the young's 1")),
        ("sa.mtdna.sd", 0.25, _a("as the cross-sectional SD")),
        ("sa.mtdna.age_slope", -0.006, _a("as xs.mtdna.age_slope")),
        ("sa.mtdna.rho", 0.7, _a("mtDNA copy number varies more between biopsies")),
        (
            "sa.mtdna.change",
            0.15,
            _P7 + ": IL-15 from exercise raises skin mitochondrial function [P]); " + _MAG,
        ),
    )
)
