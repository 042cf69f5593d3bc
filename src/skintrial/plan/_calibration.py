"""Every number the synthetic study generator uses, in one table, each with its source.

A row is ``(name, value, source)``. ``source`` either points into the project's reference notes
(``paper.md`` / ``instruments.md`` and the section, naming the underlying publication given there) or
starts with ``"assumption:"`` and says why the value was chosen. ``docs/calibration.md`` lists the same
rows for a reader; a test keeps the two in step.

Naming: ``<outcome>.<quantity>`` for outcome numbers (``baseline_mean`` and ``baseline_sd`` at age 50,
``rho`` the baseline–follow-up correlation, ``age_slope`` per year of age, ``change.<ARM>`` the true mean
change over 16 weeks, ``lower`` / ``upper`` the physical clipping range, ``resolution`` the instrument's
reading step), ``corr.<a>.<b>`` for between-outcome correlations, and ``design.*`` / ``allocation.*`` /
``dropout.*`` / ``withdrawal.*`` for the trial design, ``training.*`` for the synthetic training log and
``dose.<outcome>.adherence`` for the true slope of skin change on adherence in the trained arms.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- sources (the wording of the reference notes, with the publication they cite) ---------------------
_ABSTRACT = "paper.md §0a/§1 (Nishikori et al. 2023, Sci Rep 13:10214, abstract [P])"
_ALLOC = "paper.md §1 (news copies: Business Insider, usglobalhealth.us — '27 given aerobic exercise, the remaining 34') [N]"
_DROP = (
    "paper.md §1 (implied dropouts AT 1, RT 4: inference from 61 randomised AT 27/RT 34 and 56 analysed "
    "AT 26/RT 30, sanwenwang.com) [inference]"
)
_AGE = "paper.md §1 (age 41–59: Business Insider and other news copies) [N]"
_WEEKS = "paper.md §1 (16-week intervention, abstract [P])"
_DIR_SKIN = "paper.md §0a/§3 (abstract [P]: both arms improve elasticity and upper dermal structure, only RT dermal thickness)"
_DIR_FIT = "paper.md §3 ([N], maoyihang.com, nazology: AT lowers body weight and raises VO2peak; RT raises lean mass and 1RM)"
_CUTO = (
    "instruments.md §1.8 (Kawałkiewicz et al. 2021, J Cosmet Dermatol 20:875, Cutometer MPA 580, facial sites, "
    "women 25–40 vs >40–55: R2 0.66–0.82, R5 0.60–0.92, R7 0.37–0.52)"
)
_CUTO_AGE = (
    "instruments.md §1.8 (Ryu et al. 2008; Kim et al. 2019; Ohshima 2013; Chen et al. 2024: "
    "R2, R5, R7 fall with age, face most)"
)
_THICK = (
    "instruments.md §2.4 (50 MHz study of 200 Chinese adults: cheek full-thickness skin 1.98 ± 0.12 mm in "
    "women 40–49, 2.12 ± 0.13 at 30–39)"
)
_THICK_AGE = "instruments.md §2.4 (Meng et al. 2022, BMC Med Imaging 22:113: facial thickness decreases with age in women)"
_LEP_AGE = (
    "instruments.md §2.3 (Crisan et al. 2012: LEP rises after age 21–40, most at photo-exposed sites; "
    "Gniadecka & Jemec 1998: upper-dermis echogenicity falls with age at sun-exposed sites)"
)
_US_REL = "instruments.md §2.3 (ultrasound skin thickness ICC 0.95–0.99, PMC7949727)"


def _a(reason: str) -> str:
    return "assumption: " + reason


@dataclass(frozen=True)
class Number:
    """One calibration number: its name, value and where it comes from."""

    name: str
    value: float
    source: str


@dataclass(frozen=True)
class OutcomeSpec:
    """What ``study.toml`` declares about one synthetic outcome (no numbers: those are in the table)."""

    key: str
    label: str
    unit: str
    instrument: str
    family: str
    higher_is_better: bool
    site: str | None
    description: str
    parameter: str | None = None  # instrument output the outcome is computed from, when not its own name


OUTCOMES: tuple[OutcomeSpec, ...] = (
    OutcomeSpec(
        "r2",
        "Gross elasticity R2 (cheek)",
        "ratio",
        "cutometer",
        "skin",
        True,
        "cheek",
        "Cutometer R2 = Ua/Uf, total recovery over final deformation of the first suction cycle.",
    ),
    OutcomeSpec(
        "r5",
        "Net elasticity R5 (cheek)",
        "ratio",
        "cutometer",
        "skin",
        True,
        "cheek",
        "Cutometer R5 = Ur/Ue, immediate retraction over immediate deformation.",
    ),
    OutcomeSpec(
        "r7",
        "Biological elasticity R7 (cheek)",
        "ratio",
        "cutometer",
        "skin",
        True,
        "cheek",
        "Cutometer R7 = Ur/Uf, immediate retraction over final deformation.",
    ),
    OutcomeSpec(
        "dermal_thickness",
        "Dermal thickness (cheek)",
        "mm",
        "ultrasound",
        "skin",
        True,
        "cheek",
        "High-frequency ultrasound: lower edge of the entry echo to the dermis/subcutis border.",
        "dermal_thickness_mm",
    ),
    OutcomeSpec(
        "lep_upper",
        "Low-echogenic pixels, upper dermis (cheek)",
        "fraction",
        "ultrasound",
        "skin",
        False,
        "cheek",
        "Fraction of low-echogenic pixels in the upper half of the dermis; lower means denser "
        "upper-dermal structure.",
    ),
    OutcomeSpec(
        "body_mass",
        "Body mass",
        "kg",
        "scale",
        "body_composition",
        False,
        None,
        "Body mass on a calibrated scale, light clothing.",
    ),
    OutcomeSpec(
        "lean_mass",
        "Lean soft-tissue mass",
        "kg",
        "dxa",
        "body_composition",
        True,
        None,
        "Whole-body lean soft-tissue mass by dual-energy X-ray absorptiometry.",
    ),
    OutcomeSpec(
        "vo2peak",
        "Peak oxygen uptake",
        "mL/kg/min",
        "cpet",
        "fitness",
        True,
        None,
        "VO2peak from an incremental cycle-ergometer test to exhaustion.",
    ),
    OutcomeSpec(
        "chest_press_1rm",
        "Chest press one-repetition maximum",
        "kg",
        "dynamometer",
        "fitness",
        True,
        None,
        "Heaviest load lifted once on the chest-press machine (one of the six RT machines).",
    ),
)

ARM_LABELS: dict[str, str] = {
    "CON": "No-exercise control (usual lifestyle)",
    "AT": "Aerobic training (cycle ergometer, 2×/week)",
    "RT": "Resistance training (6 machines, 3×10, 2×/week)",
}

WITHDRAWAL_REASONS: dict[str, str] = {
    "time_constraints": "time constraints",
    "injury": "injury unrelated to training",
    "lost": "lost to follow-up",
    "illness": "illness",
    "moved": "moved away",
}

_R = "Cutometer ratios of one site re-measured months apart agree moderately (probe placement, season)"
_DRIFT = "small drift only: seasonal and measurement drift over 4 months, no intervention"
_PATTERN = (
    "magnitude our assumption, chosen with the outcome's rho so that the within-arm change has d_z about 1 "
    "(about 0.7 baseline SD): the abstract reports a significant within-arm gain in both arms at n = 26 "
    "and 30, and the demo reproduces it at the default seed and in at least 90 % of seeds "
    "(docs/calibration.md, 'Published directions')"
)
_DOSE = (
    "a small dose effect on the dermal structure seen by ultrasound: in the trained arms the change rises by "
    "one baseline SD per unit of adherence (0 to 100 % of the sessions planned), centred at the expected "
    "adherence so the arm's mean change is unchanged; about 0.1 SD per within-arm SD of adherence. The paper "
    "reports no dose-response; the Cutometer ratios get none"
)

# Baseline SDs that other rows are expressed in: the dose slopes are one baseline SD per unit of adherence.
_SD_DERMAL_THICKNESS = 0.15
_SD_LEP_UPPER = 0.10
_DOSE_SD_PER_ADHERENCE = 1.0

TABLE: tuple[Number, ...] = tuple(
    Number(*row)
    for row in (
        # --- design ---------------------------------------------------------------------------------------
        ("design.n_randomised", 61, _ABSTRACT),
        ("design.weeks", 16, _WEEKS),
        ("design.age_min", 41, _AGE),
        ("design.age_max", 59, _AGE),
        ("design.age_centre", 50, _a("midpoint of 41–59; baseline means below are for a 50-year-old")),
        ("allocation.AT", 27, _ALLOC),
        ("allocation.RT", 34, _ALLOC),
        (
            "allocation3.CON",
            1,
            _a("1:1:1 allocation, the usual choice for a three-arm trial; remainder to RT, then AT"),
        ),
        ("allocation3.AT", 1, _a("1:1:1 allocation (see allocation3.CON)")),
        ("allocation3.RT", 1, _a("1:1:1 allocation (see allocation3.CON)")),
        ("dropout.AT", 1 / 27, _DROP),
        ("dropout.RT", 4 / 34, _DROP),
        (
            "dropout.CON",
            0.10,
            _a("controls have no sessions to keep them engaged; between the AT and RT rates"),
        ),
        ("withdrawal.time_constraints", 0.35, _a("the commonest reason in supervised exercise trials")),
        ("withdrawal.injury", 0.15, _a("injuries outside the training happen at this age")),
        ("withdrawal.lost", 0.20, _a("no contact after baseline")),
        ("withdrawal.illness", 0.20, _a("intercurrent illness over 4 months")),
        ("withdrawal.moved", 0.10, _a("relocation, rare over 4 months")),
        # --- Cutometer R2 = Ua/Uf ---------------------------------------------------------------------------
        ("r2.baseline_mean", 0.70, _CUTO + "; lower part of the range for the >40 group"),
        ("r2.baseline_sd", 0.06, _a("about a quarter of the reported facial range 0.66–0.82")),
        ("r2.rho", 0.75, _a(_R + "; Cutometer R2 test-retest ICC is about 0.7–0.9, upper-middle value")),
        ("r2.age_slope", -0.003, _CUTO_AGE + "; magnitude our assumption"),
        ("r2.change.AT", 0.040, _DIR_SKIN + "; " + _PATTERN),
        ("r2.change.RT", 0.040, _DIR_SKIN + "; " + _PATTERN + "; the same as AT: no difference between arms"),
        ("r2.change.CON", -0.005, _a(_DRIFT)),
        ("r2.lower", 0.001, _a("ratio of two deformations, strictly inside (0, 1)")),
        ("r2.upper", 0.999, _a("ratio of two deformations, strictly inside (0, 1)")),
        ("r2.resolution", 0.001, _a("Cutometer software reports R parameters to 3 decimals")),
        # --- Cutometer R5 = Ur/Ue ---------------------------------------------------------------------------
        ("r5.baseline_mean", 0.68, _CUTO + "; lower part of the range for the >40 group"),
        ("r5.baseline_sd", 0.09, _a("about a quarter of the reported facial range 0.60–0.92")),
        ("r5.rho", 0.60, _a(_R + "; R5 is the noisiest of the three (Ue read at a fixed 0.1 s)")),
        ("r5.age_slope", -0.003, _CUTO_AGE + "; magnitude our assumption"),
        ("r5.change.AT", 0.030, _DIR_SKIN + "; magnitude our assumption"),
        ("r5.change.RT", 0.035, _DIR_SKIN + "; magnitude our assumption"),
        ("r5.change.CON", -0.005, _a(_DRIFT)),
        ("r5.lower", 0.001, _a("ratio of two deformations, strictly inside (0, 1)")),
        ("r5.upper", 0.999, _a("ratio of two deformations, strictly inside (0, 1)")),
        ("r5.resolution", 0.001, _a("Cutometer software reports R parameters to 3 decimals")),
        # --- Cutometer R7 = Ur/Uf ---------------------------------------------------------------------------
        ("r7.baseline_mean", 0.42, _CUTO + "; equals R5 × Ue/Uf with Ue/Uf ≈ 0.62"),
        ("r7.baseline_sd", 0.06, _a("about a third of the reported facial range 0.37–0.52")),
        ("r7.rho", 0.70, _a(_R)),
        ("r7.age_slope", -0.003, _CUTO_AGE + " (facial R7 falls most); magnitude our assumption"),
        ("r7.change.AT", 0.025, _DIR_SKIN + "; magnitude our assumption"),
        ("r7.change.RT", 0.030, _DIR_SKIN + "; magnitude our assumption"),
        ("r7.change.CON", -0.005, _a(_DRIFT)),
        ("r7.lower", 0.001, _a("ratio of two deformations, strictly inside (0, 1)")),
        ("r7.upper", 0.999, _a("ratio of two deformations, strictly inside (0, 1)")),
        ("r7.resolution", 0.001, _a("Cutometer software reports R parameters to 3 decimals")),
        (
            "r7.margin",
            0.01,
            _a("R7 = R5·Ue/Uf < R5 and Ur ≤ Ua so R7 ≤ R2: R7 is capped at min(R2, R5) − margin"),
        ),
        # --- ultrasound dermal thickness --------------------------------------------------------------------
        (
            "dermal_thickness.baseline_mean",
            1.90,
            _THICK + "; minus ≈0.08 mm of epidermis/entry echo (our assumption)",
        ),
        (
            "dermal_thickness.baseline_sd",
            _SD_DERMAL_THICKNESS,
            _THICK + "; widened from 0.12 for ages 41–59 and other scanners (our assumption)",
        ),
        ("dermal_thickness.rho", 0.85, _US_REL + "; lower over 16 weeks than same-day (our assumption)"),
        ("dermal_thickness.age_slope", -0.005, _THICK_AGE + "; magnitude our assumption"),
        ("dermal_thickness.change.AT", 0.0, _DIR_SKIN + " (no change in AT)"),
        (
            "dermal_thickness.change.RT",
            0.08,
            _DIR_SKIN + "; magnitude our assumption (≈4 %, about 0.5 SD; "
            "paper.md §3 rejects the web figures 9 % and 15 % as unreliable)",
        ),
        ("dermal_thickness.change.CON", -0.005, _a(_DRIFT)),
        (
            "dermal_thickness.lower",
            0.30,
            _a("below any facial dermis (histology 0.76–1.97 mm, instruments.md §2.4)"),
        ),
        ("dermal_thickness.upper", 5.00, _a("above any facial dermis, within a 20–50 MHz probe's depth")),
        (
            "dermal_thickness.resolution",
            0.01,
            _a("20–50 MHz scanners resolve tens of micrometres; report 0.01 mm"),
        ),
        # --- ultrasound low-echogenic pixel fraction, upper dermis ------------------------------------------
        (
            "lep_upper.baseline_mean",
            0.40,
            _a(
                "no published fraction for the cheek at this age (instruments.md §2.3 gives "
                "pixel counts, not fractions); a mid-range value"
            ),
        ),
        (
            "lep_upper.baseline_sd",
            _SD_LEP_UPPER,
            _a("wide inter-individual and diurnal variation of SLEB (instruments.md §2.3)"),
        ),
        (
            "lep_upper.rho",
            0.75,
            _a(
                "echogenicity is more variable than thickness (gain, time of day): below dermal_thickness.rho"
            ),
        ),
        ("lep_upper.age_slope", 0.004, _LEP_AGE + "; magnitude our assumption"),
        ("lep_upper.change.AT", -0.065, _DIR_SKIN + "; " + _PATTERN),
        ("lep_upper.change.RT", -0.070, _DIR_SKIN + "; " + _PATTERN),
        ("lep_upper.change.CON", 0.005, _a(_DRIFT)),
        ("lep_upper.lower", 0.0, _a("a fraction")),
        ("lep_upper.upper", 1.0, _a("a fraction")),
        ("lep_upper.resolution", 0.001, _a("pixel fractions reported to 3 decimals")),
        # --- body mass ------------------------------------------------------------------------------------
        (
            "body_mass.baseline_mean",
            55.0,
            _a("typical of sedentary Japanese women in their 40s–50s; paper.md §3 has no baseline table"),
        ),
        ("body_mass.baseline_sd", 8.0, _a("typical spread of adult body mass")),
        ("body_mass.rho", 0.98, _a("body mass is very stable over 4 months")),
        ("body_mass.age_slope", 0.0, _a("no age trend within 41–59")),
        ("body_mass.change.AT", -1.0, _DIR_FIT + "; magnitude our assumption"),
        ("body_mass.change.RT", 0.2, _a("no significant change reported for RT; lean gain offsets fat loss")),
        ("body_mass.change.CON", 0.3, _a(_DRIFT)),
        ("body_mass.lower", 30.0, _a("physical range for adult women")),
        ("body_mass.upper", 150.0, _a("physical range for adult women")),
        ("body_mass.resolution", 0.1, _a("scale reads 0.1 kg")),
        # --- lean mass (DXA) ------------------------------------------------------------------------------
        (
            "lean_mass.baseline_mean",
            37.0,
            _a("about two thirds of a 55 kg body mass, typical for women of this age"),
        ),
        ("lean_mass.baseline_sd", 4.0, _a("typical spread of DXA lean mass in women")),
        ("lean_mass.rho", 0.97, _a("DXA lean mass is very stable over 4 months")),
        ("lean_mass.age_slope", -0.05, _a("slow age-related loss of lean mass")),
        ("lean_mass.change.AT", 0.1, _a("cycling adds little lean mass; not reported as significant")),
        (
            "lean_mass.change.RT",
            0.7,
            _DIR_FIT + "; magnitude our assumption (typical of 16 weeks of novice RT)",
        ),
        ("lean_mass.change.CON", -0.1, _a(_DRIFT)),
        ("lean_mass.lower", 20.0, _a("physical range for adult women")),
        ("lean_mass.upper", 80.0, _a("physical range for adult women")),
        ("lean_mass.resolution", 0.1, _a("DXA software reports 0.1 kg")),
        # --- VO2peak --------------------------------------------------------------------------------------
        ("vo2peak.baseline_mean", 26.0, _a("typical of sedentary women in their 40s–50s")),
        ("vo2peak.baseline_sd", 4.5, _a("typical spread of relative VO2peak")),
        ("vo2peak.rho", 0.85, _a("test–retest of VO2peak over months")),
        ("vo2peak.age_slope", -0.25, _a("about 1 % per year decline")),
        ("vo2peak.change.AT", 2.5, _DIR_FIT + "; magnitude our assumption (≈10 %)"),
        (
            "vo2peak.change.RT",
            0.5,
            _a("RT improves VO2peak little in sedentary women; not reported as significant"),
        ),
        ("vo2peak.change.CON", -0.3, _a(_DRIFT)),
        ("vo2peak.lower", 8.0, _a("physical range")),
        ("vo2peak.upper", 70.0, _a("physical range")),
        ("vo2peak.resolution", 0.1, _a("metabolic carts report 0.1 mL/kg/min")),
        # --- chest press 1RM ------------------------------------------------------------------------------
        (
            "chest_press_1rm.baseline_mean",
            22.0,
            _a("typical machine chest-press 1RM of untrained women of this age"),
        ),
        ("chest_press_1rm.baseline_sd", 5.0, _a("typical spread")),
        ("chest_press_1rm.rho", 0.85, _a("1RM test–retest over months")),
        ("chest_press_1rm.age_slope", -0.15, _a("slow age-related loss of strength")),
        ("chest_press_1rm.change.AT", 0.5, _a("familiarisation with the test only")),
        (
            "chest_press_1rm.change.RT",
            5.0,
            _DIR_FIT + "; magnitude our assumption (≈20–25 % in 16 weeks, novices)",
        ),
        ("chest_press_1rm.change.CON", 0.5, _a("familiarisation with the test only")),
        ("chest_press_1rm.lower", 2.5, _a("the lightest machine plate")),
        ("chest_press_1rm.upper", 150.0, _a("physical range")),
        ("chest_press_1rm.resolution", 0.5, _a("machine weight steps")),
        # --- raw layer (instrument files; only with raw=True) ---------------------------------------------
        (
            "raw.r0_mean",
            0.27,
            "instruments.md §1.8 (Kawałkiewicz et al. 2021: facial R0 = Uf 0.20–0.33 mm; no age "
            "correlation); midpoint",
        ),
        ("raw.r0_sd", 0.04, _a("about a third of the reported range 0.20–0.33 mm")),
        ("raw.r0_rho", 0.70, _a("no training effect on the deformation size; visit-to-visit noise only")),
        ("raw.r0_min", 0.10, _a("clipping range of R0")),
        ("raw.r0_max", 0.60, _a("clipping range of R0")),
        (
            "raw.cutometer_on_s",
            2.0,
            "instruments.md §1.6 ('450 mbar, 2 s on / 2 s off' is common but NOT CONFIRMED; "
            "the confirmed SM575 protocol used 3 s / 2 s); our choice",
        ),
        ("raw.cutometer_off_s", 2.0, "instruments.md §1.6 (as raw.cutometer_on_s)"),
        ("raw.cutometer_mbar", 450.0, "instruments.md §1.6 (400–500 mbar reported; 450 common, unconfirmed)"),
        (
            "raw.cutometer_cycles",
            3,
            "instruments.md §1.1 (Mode 1 records repeated suction/relaxation cycles; Abbas 2021 "
            "used 4); 3 is our assumption",
        ),
        ("raw.cutometer_hz", 100.0, _a("the export's sampling rate was not found (instruments.md §1.7)")),
        (
            "raw.cutometer_noise_mm",
            0.0005,
            _a(
                "0.5 µm noise: enough to make the curve look measured while the R2/R5/R7 "
                "read from it stay within about 0.01 of the tidy values"
            ),
        ),
        (
            "raw.lep_lower_mean",
            0.15,
            "instruments.md §2.3 (Gniadecka & Jemec 1998: the upper dermis of sun-exposed skin is "
            "less echogenic than the lower, so LEP upper > LEP lower); value our assumption",
        ),
        ("raw.lep_lower_sd", 0.05, _a("spread a little narrower than the upper dermis' (0.10)")),
        (
            "raw.lep_lower_rho",
            0.80,
            _a("the lower dermis does not respond to training; visit-to-visit noise only"),
        ),
        ("raw.lep_lower_min", 0.01, _a("clipping range of the lower-dermis fraction")),
        ("raw.lep_lower_max", 0.60, _a("clipping range of the lower-dermis fraction")),
        (
            "raw.pixel_spacing_mm",
            0.0125,
            _a(
                "a 50 MHz scanner's axial and lateral pixel size (instruments.md §2.1, §2.4 "
                "use 20–75 MHz scanners)"
            ),
        ),
        ("raw.cols", 256, _a("3.2 mm wide scans keep a 61-person bundle near 10 MB")),
        (
            "raw.depth_margin_mm",
            1.4,
            _a("image depth = margin + 1.25 × dermal thickness: gel, entry echo, fat"),
        ),
        # --- training log and the dose effect on skin change (training layer; docs/training.md) ------------
        (
            "training.attendance_a",
            18.0,
            _a(
                "each participant's chance of attending a session is Beta(a, b): mean "
                "a/(a+b) = 0.878, typical of supervised twice-weekly programmes"
            ),
        ),
        (
            "training.attendance_b",
            2.5,
            _a("as training.attendance_a; within-arm SD of adherence over 32 sessions about 0.09"),
        ),
        ("dose.dermal_thickness.adherence", _DOSE_SD_PER_ADHERENCE * _SD_DERMAL_THICKNESS, _a(_DOSE)),
        (
            "dose.lep_upper.adherence",
            -_DOSE_SD_PER_ADHERENCE * _SD_LEP_UPPER,
            _a(_DOSE + "; negative: fewer low-echogenic pixels is better"),
        ),
        # --- between-outcome correlations (same visit; all others 0) ---------------------------------------
        ("corr.r2.r5", 0.5, _a("R2 and R5 are both recovery ratios of the same curve")),
        ("corr.r2.r7", 0.7, _a("R2 and R7 share the denominator Uf")),
        ("corr.r5.r7", 0.7, _a("R7 = R5 × Ue/Uf")),
        (
            "corr.dermal_thickness.lep_upper",
            0.2,
            "instruments.md §2.3 (thick skin tends to be echo-poor, Dermascan C "
            "22-site study); magnitude our assumption",
        ),
        ("corr.body_mass.lean_mass", 0.75, _a("lean mass grows with body size")),
        ("corr.body_mass.vo2peak", -0.4, _a("VO2peak is per kg of body mass")),
        ("corr.lean_mass.chest_press_1rm", 0.5, _a("strength grows with lean mass")),
    )
)


def values() -> dict[str, float]:
    """The table as a name → value mapping (a fresh dict each call)."""
    return {row.name: float(row.value) for row in TABLE}
