"""Synthetic serum panel: ~1,480 circulating factors per participant and visit, with known truth.

Three panels, as in the seed study's ">1,480 factors" of cytokines, hormones and metabolites
(paper.md §5): ``cytokines`` (pg/mL, each with a limit of detection, some often below it),
``hormones`` and ``metabolites`` (relative intensities carrying a per-sample dilution that PQN should
remove). For analyte *k* and participant *i* (log2 scale)::

    baseline_ik = m_k + s_k u_ik
    followup_ik = baseline_ik + delta_{arm(i),k} + c_k s_k e_ik

with ``u, e`` standard normal. A few dozen analytes truly change per arm (AT 28 up / 41 down, RT 34 up
/ 27 down: the counts reported by secondary sources, paper.md §5), among them IL-15 and sarcosine up
and interferon-γ, IFN-α2 and TRAIL down with AT, CXCL8 up and CCL28, CXCL4 and N,N-dimethylglycine down
with RT. For a few factors the participant's own change ``e_ik`` is correlated with their skin change
(the standardised within-arm residual of a ``measurements.csv`` change) so that the mechanism view
has something to find: CCL28 and CXCL4 (and DMG, weaker) fall more in participants whose dermis
thickens more — the route the paper proposes (lower CCL28 / CXCL4 → more biglycan), a link *we assume*;
the paper gives no correlations. Every number is a row of :data:`CALIBRATION`.

Values are written with 4 significant digits; cytokine values below their LOD as ``<LOD`` with the
limit in the ``lod`` column.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from skintrial.plan._calibration import Number

__all__ = ["CALIBRATION", "SERUM_FILE", "SERUM_COLUMNS", "catalogue", "serum_values", "serum_csv", "LINKS"]

SERUM_FILE = "serum.csv"
SERUM_COLUMNS = ("participant_id", "visit", "panel", "analyte", "value", "lod", "unit")

_P5 = "paper.md §5 (>1,480 serum factors: cytokines, hormones, metabolites [P]; counts and names [N])"
_COUNTS = "paper.md §5 (secondary sources [N]: AT 28 up / 41 down, RT 34 up / 27 down)"


def _a(reason: str) -> str:
    return "assumption: " + reason


CALIBRATION: tuple[Number, ...] = tuple(
    Number(*row)
    for row in (
        ("serum.n_cytokines", 520, _P5 + "; split between panels our assumption"),
        ("serum.n_hormones", 20, _P5 + "; split between panels our assumption"),
        ("serum.n_metabolites", 940, _P5 + "; split between panels our assumption (total 1,480)"),
        ("serum.cytokine_log2_mean_min", 1.0, _a("cytokines 2–2,000 pg/mL, typical multiplex ranges")),
        ("serum.cytokine_log2_mean_max", 11.0, _a("cytokines 2–2,000 pg/mL, typical multiplex ranges")),
        ("serum.hormone_log2_mean_min", 0.0, _a("hormones 1–256 in their units")),
        ("serum.hormone_log2_mean_max", 8.0, _a("hormones 1–256 in their units")),
        ("serum.metabolite_log2_mean_min", 10.0, _a("relative intensities 1e3–1e6, typical of LC-MS")),
        ("serum.metabolite_log2_mean_max", 20.0, _a("relative intensities 1e3–1e6, typical of LC-MS")),
        ("serum.log2_sd_min", 0.4, _a("between-person SD of log2 levels 0.4–1.0 (CV about 30–90 %)")),
        ("serum.log2_sd_max", 1.0, _a("between-person SD of log2 levels 0.4–1.0 (CV about 30–90 %)")),
        (
            "serum.change_ratio_min",
            0.4,
            _a(
                "SD of the 16-week change over the between-person SD: 0.4–0.8, i.e. "
                "baseline–follow-up correlation 0.78–0.93"
            ),
        ),
        ("serum.change_ratio_max", 0.8, _a("as serum.change_ratio_min")),
        (
            "serum.effect_d_min",
            0.8,
            _a("true changes of 0.8–1.4 change-SDs: detectable within an arm of 26–30"),
        ),
        ("serum.effect_d_max", 1.4, _a("as serum.effect_d_min")),
        ("serum.up.AT", 28, _COUNTS),
        ("serum.down.AT", 41, _COUNTS),
        ("serum.up.RT", 34, _COUNTS),
        ("serum.down.RT", 27, _COUNTS),
        ("serum.lod_fraction_censored", 0.25, _a("a quarter of cytokines have an LOD inside their range")),
        (
            "serum.lod_quantile_min",
            0.05,
            _a(
                "those LODs sit at the 5th–70th percentile of the baseline levels, so "
                "some analytes exceed the 50 % below-LOD limit"
            ),
        ),
        ("serum.lod_quantile_max", 0.70, _a("as serum.lod_quantile_min")),
        ("serum.lod_quantile_low", 0.001, _a("other cytokines and hormones: LOD at the 0.1th percentile")),
        (
            "serum.dilution_log2_sd",
            0.25,
            _a("per-sample dilution of the metabolite profile (SD 0.25 log2, about 19 %), removed by PQN"),
        ),
        (
            "serum.link.CCL28.dermal_thickness",
            -0.7,
            "paper.md §5 (proposed: RT lowers CCL28, which suppresses BGN "
            "[P/PR]); correlation with dermal-thickness change our assumption",
        ),
        (
            "serum.link.CXCL4.dermal_thickness",
            -0.6,
            "paper.md §5 (proposed: RT lowers CXCL4, which suppresses BGN "
            "[P/PR]); correlation our assumption",
        ),
        (
            "serum.link.N,N-dimethylglycine.dermal_thickness",
            -0.4,
            "paper.md §5 (DMG lowered by RT [PR]); correlation our assumption",
        ),
        (
            "serum.link.IL15.r2",
            0.5,
            "paper.md §5 (IL-15 up with AT [N]; Crane 2015: IL-15 regulates skin aging); "
            "correlation with elasticity change our assumption",
        ),
    )
)

# Named analytes that change, by arm and direction (paper.md §5); the rest of each count is drawn at random.
NAMED_CHANGES = {
    ("AT", 1): ("IL15", "sarcosine"),
    ("AT", -1): ("IFNG", "IFNA2", "TNFSF10"),
    ("RT", 1): ("CXCL8",),
    ("RT", -1): ("CCL28", "CXCL4", "N,N-dimethylglycine"),
}
LINKS = {
    row.name.split(".", 2)[2].rsplit(".", 1)[0]: (row.name.rsplit(".", 1)[1], row.value)
    for row in CALIBRATION
    if row.name.startswith("serum.link.")
}

_CYTOKINES = (
    [
        f"IL{i}"
        for i in (
            "1A",
            "1B",
            "1RN",
            "2",
            "3",
            "4",
            "5",
            "6",
            "7",
            "9",
            "10",
            "11",
            "12A",
            "12B",
            "13",
            "15",
            "16",
            "17A",
            "17F",
            "18",
            "21",
            "22",
            "23A",
            "27",
            "31",
            "33",
            "34",
            "37",
        )
    ]
    + [
        f"CCL{i}"
        for i in (1, 2, 3, 4, 5, 7, 8, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28)
    ]
    + [f"CXCL{i}" for i in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17)]
    + [
        "CX3CL1",
        "XCL1",
        "TNF",
        "LTA",
        "TNFSF10",
        "TNFSF11",
        "TNFSF12",
        "TNFSF13",
        "TNFSF13B",
        "TNFSF14",
        "FASLG",
        "CD40LG",
        "IFNG",
        "IFNA2",
        "IFNB1",
        "IFNL1",
        "CSF1",
        "CSF2",
        "CSF3",
        "VEGFA",
        "VEGFC",
        "FGF2",
        "FGF21",
        "FGF23",
        "PDGFB",
        "HGF",
        "EGF",
        "TGFB1",
        "GDF15",
        "LIF",
        "OSM",
        "BDNF",
        "NGF",
        "SPP1",
        "MMP1",
        "MMP2",
        "MMP3",
        "MMP7",
        "MMP9",
        "MMP12",
        "TIMP1",
        "TIMP2",
        "TIMP3",
        "TIMP4",
        "ANGPT1",
        "ANGPT2",
        "KITLG",
        "FSTL3",
        "MSTN",
        "FNDC5",
        "SPARC",
        "APLN",
        "METRNL",
        "CHI3L1",
        "LCN2",
        "SERPINE1",
        "ICAM1",
        "VCAM1",
        "SELE",
        "CRP",
    ]
)
_HORMONES = (
    ("cortisol", "nmol/L"),
    ("testosterone", "nmol/L"),
    ("estradiol", "pmol/L"),
    ("progesterone", "nmol/L"),
    ("DHEA_S", "umol/L"),
    ("insulin", "pmol/L"),
    ("IGF1", "nmol/L"),
    ("growth_hormone", "ug/L"),
    ("leptin", "ng/mL"),
    ("adiponectin", "ug/mL"),
    ("TSH", "mIU/L"),
    ("free_T4", "pmol/L"),
    ("FSH", "IU/L"),
    ("LH", "IU/L"),
    ("SHBG", "nmol/L"),
    ("prolactin", "ug/L"),
    ("melatonin", "pg/mL"),
    ("aldosterone", "pmol/L"),
    ("ghrelin", "pg/mL"),
    ("irisin", "ng/mL"),
)
_METABOLITES = (
    "N,N-dimethylglycine",
    "sarcosine",
    "lactate",
    "pyruvate",
    "glucose",
    "citrate",
    "succinate",
    "fumarate",
    "malate",
    "glycine",
    "alanine",
    "serine",
    "proline",
    "valine",
    "leucine",
    "isoleucine",
    "threonine",
    "methionine",
    "phenylalanine",
    "tyrosine",
    "tryptophan",
    "histidine",
    "lysine",
    "arginine",
    "ornithine",
    "citrulline",
    "glutamine",
    "glutamate",
    "asparagine",
    "aspartate",
    "taurine",
    "betaine",
    "choline",
    "creatine",
    "creatinine",
    "carnitine",
    "acetylcarnitine",
    "kynurenine",
    "hippurate",
    "urate",
    "urea",
    "3-hydroxybutyrate",
    "acetoacetate",
    "4-hydroxyproline",
    "hypoxanthine",
    "xanthine",
    "inosine",
    "glycerol",
    "palmitate",
    "oleate",
    "linoleate",
    "cholesterol",
    "trimethylamine N-oxide",
    "indoxyl sulfate",
    "p-cresol sulfate",
    "2-hydroxybutyrate",
    "alpha-ketoglutarate",
    "homocysteine",
    "spermidine",
    "NAD+",
)


def _names(numbers: Mapping[str, float]) -> pd.DataFrame:
    n_cyt, n_hor, n_met = (int(numbers[f"serum.n_{p}"]) for p in ("cytokines", "hormones", "metabolites"))
    cyt = list(_CYTOKINES) + [f"protein_{i:04d}" for i in range(1, n_cyt - len(_CYTOKINES) + 1)]
    met = list(_METABOLITES) + [f"metabolite_{i:04d}" for i in range(1, n_met - len(_METABOLITES) + 1)]
    hor = _HORMONES[:n_hor]
    return pd.DataFrame(
        {
            "panel": ["cytokines"] * n_cyt + ["hormones"] * len(hor) + ["metabolites"] * n_met,
            "analyte": cyt[:n_cyt] + [h for h, _ in hor] + met[:n_met],
            "unit": ["pg/mL"] * n_cyt + [u for _, u in hor] + ["AU"] * n_met,
        }
    )


def _pick_changes(
    rng: np.random.Generator, cat: pd.DataFrame, arms: tuple[str, ...], numbers: Mapping[str, float]
) -> pd.DataFrame:
    """Columns ``change.<ARM>`` (true mean log2 change) for AT and RT; CON and others 0."""
    eligible = np.flatnonzero(cat["lod_quantile"].to_numpy() < 0.3)
    index = {a: i for i, a in enumerate(cat["analyte"])}
    lo, hi = numbers["serum.effect_d_min"], numbers["serum.effect_d_max"]
    change_sd = (cat["log2_sd"] * cat["change_ratio"]).to_numpy()
    for arm in ("AT", "RT"):
        delta = np.zeros(len(cat))
        taken = set()
        for direction in (1, -1):
            named = [index[a] for a in NAMED_CHANGES[(arm, direction)]]
            count = int(numbers[f"serum.{'up' if direction > 0 else 'down'}.{arm}"])
            pool = np.array([k for k in eligible if k not in taken and k not in named])
            chosen = np.concatenate([named, rng.choice(pool, size=count - len(named), replace=False)]).astype(
                int
            )
            taken.update(chosen.tolist())
            delta[chosen] = direction * rng.uniform(lo, hi, size=chosen.size) * change_sd[chosen]
        cat[f"change.{arm}"] = delta if arm in arms else 0.0
    for arm in arms:
        if f"change.{arm}" not in cat:
            cat[f"change.{arm}"] = 0.0
    return cat


def catalogue(rng: np.random.Generator, arms: tuple[str, ...], numbers: Mapping[str, float]) -> pd.DataFrame:
    """The analytes and their true parameters: panel, analyte, unit, log2_mean, log2_sd, change_ratio,
    lod_quantile, lod (linear), and ``change.<ARM>`` (true mean log2 change over 16 weeks)."""
    cat = _names(numbers)
    K = len(cat)
    lo = cat["panel"].map(
        {p: numbers[f"serum.{p[:-1]}_log2_mean_min"] for p in ("cytokines", "hormones", "metabolites")}
    )
    hi = cat["panel"].map(
        {p: numbers[f"serum.{p[:-1]}_log2_mean_max"] for p in ("cytokines", "hormones", "metabolites")}
    )
    cat["log2_mean"] = rng.uniform(lo.to_numpy(), hi.to_numpy())
    cat["log2_sd"] = rng.uniform(numbers["serum.log2_sd_min"], numbers["serum.log2_sd_max"], K)
    cat["change_ratio"] = rng.uniform(numbers["serum.change_ratio_min"], numbers["serum.change_ratio_max"], K)
    censored = (cat["panel"] == "cytokines").to_numpy() & (
        rng.random(K) < numbers["serum.lod_fraction_censored"]
    )
    named = (
        cat["analyte"].isin([a for names in NAMED_CHANGES.values() for a in names] + list(LINKS)).to_numpy()
    )
    censored &= ~named
    q = np.where(
        censored,
        rng.uniform(numbers["serum.lod_quantile_min"], numbers["serum.lod_quantile_max"], K),
        numbers["serum.lod_quantile_low"],
    )
    from scipy.stats import norm

    cat["lod_quantile"] = q
    cat["lod"] = np.where(
        cat["panel"] == "metabolites", np.nan, 2.0 ** (cat["log2_mean"] + cat["log2_sd"] * norm.ppf(q))
    )
    return _pick_changes(rng, cat, arms, numbers)


def _skin_scores(
    participants: pd.DataFrame, measurements: pd.DataFrame, outcome: str, visits: tuple[str, str]
) -> np.ndarray:
    """Each participant's skin change standardised within arm (0 where there is no follow-up)."""
    m = measurements[measurements["outcome"] == outcome]
    wide = m.pivot(index="participant_id", columns="visit", values="value").reindex(
        participants["participant_id"]
    )
    change = (wide.get(visits[1], pd.Series(np.nan, index=wide.index)) - wide[visits[0]]).to_numpy(
        dtype=float
    )
    arm = participants["arm"].to_numpy()
    z = np.zeros(len(participants))
    for a in np.unique(arm):
        sel = (arm == a) & np.isfinite(change)
        if sel.sum() > 1:
            z[sel] = (change[sel] - change[sel].mean()) / change[sel].std(ddof=1)
    return z


def serum_values(
    rng: np.random.Generator,
    cat: pd.DataFrame,
    participants: pd.DataFrame,
    measurements: pd.DataFrame,
    *,
    visits: tuple[str, str],
    numbers: Mapping[str, float],
) -> tuple[np.ndarray, np.ndarray]:
    """Linear values (participants, 2 visits, analytes) before the LOD, and the follow-up mask (n,)."""
    n, K = len(participants), len(cat)
    arm_change = np.stack([cat[f"change.{a}"].to_numpy() for a in participants["arm"]])  # (n, K)
    sd = cat["log2_sd"].to_numpy()
    u = rng.standard_normal((n, K))
    e = rng.standard_normal((n, K))
    index = {a: k for k, a in enumerate(cat["analyte"])}
    for analyte, (outcome, rho) in LINKS.items():
        z = _skin_scores(participants, measurements, outcome, visits)
        k = index[analyte]
        e[:, k] = rho * z + np.sqrt(1.0 - rho**2) * e[:, k]
    base = cat["log2_mean"].to_numpy() + sd * u
    follow = base + arm_change + cat["change_ratio"].to_numpy() * sd * e
    log2 = np.stack([base, follow], axis=1)
    dilution = rng.normal(0.0, numbers["serum.dilution_log2_sd"], size=(n, 2))
    metab = (cat["panel"] == "metabolites").to_numpy()
    log2[:, :, metab] += dilution[:, :, None]
    has_follow = (participants["status"] != "withdrawn").to_numpy()
    return 2.0**log2, has_follow


def serum_csv(
    values: np.ndarray,
    has_follow: np.ndarray,
    cat: pd.DataFrame,
    participants: pd.DataFrame,
    *,
    visits: tuple[str, str],
) -> bytes:
    """The long ``serum.csv``: participant, visit, panel, analyte order; ``<LOD`` below the limit."""
    n, V, K = values.shape
    keep = np.ones((n, V), dtype=bool)
    keep[:, 1] = has_follow
    pi, vi = np.nonzero(keep)
    vals = values[pi, vi, :].reshape(-1)
    lod = np.tile(cat["lod"].to_numpy(), pi.size)
    text = np.array([f"{v:.4g}" for v in vals.tolist()], dtype=object)
    text[np.isfinite(lod) & (vals < lod)] = "<LOD"
    per_analyte = np.array(
        ["" if not np.isfinite(v) else f"{v:.4g}" for v in cat["lod"].tolist()], dtype=object
    )
    lod_text = np.tile(per_analyte, pi.size)
    prefix = np.array(
        [
            f"{p},{v},"
            for p, v in zip(
                participants["participant_id"].to_numpy()[pi],
                np.asarray(visits, dtype=object)[vi],
                strict=True,
            )
        ],
        dtype=object,
    )
    middle = np.array(
        [f"{_csv_cell(p)},{_csv_cell(a)}," for p, a in zip(cat["panel"], cat["analyte"], strict=True)],
        dtype=object,
    )
    units = np.array([_csv_cell(u) for u in cat["unit"]], dtype=object)
    lines = (
        np.repeat(prefix, K)
        + np.tile(middle, pi.size)
        + text
        + ","
        + lod_text
        + ","
        + np.tile(units, pi.size)
    )
    return (",".join(SERUM_COLUMNS) + "\n" + "\n".join(lines.tolist()) + "\n").encode("utf-8")


def _csv_cell(text: str) -> str:
    """A CSV cell, quoted when it holds a comma or a quote (RFC 4180)."""
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if ("," in text or '"' in text) else text
