"""Synthetic studies of the two non-randomised designs of the seed studies (issue 11).

Both are modelled on Crane et al. 2015 (*Aging Cell* 14:625; paper.md §7), whose human part has two
designs:

* **cross-sectional** (:func:`synthetic_cross_sectional`): highly active (``ACT``, at least 3 h/week of
  moderate or vigorous activity) and sedentary (``SED``, under 1 h/week) adults aged 20–84, skin from a
  buttock biopsy measured once, analysed as a two-way ANOVA age group × activity. Published
  directions: after age 40 the active had a thinner stratum corneum and a thicker dermis; no activity
  difference in collagen.
* **single-arm pre/post** (:func:`synthetic_single_arm`): previously sedentary adults aged 65 and over,
  12 weeks of endurance training twice a week, about ten people, no control group. Published
  directions: stratum corneum thinner, dermis thicker, collagen up.

Every number is a row of :data:`CROSS_SECTIONAL` or :data:`SINGLE_ARM` (``name, value, source``: a
section of paper.md, or ``assumption:`` and why), listed in ``docs/calibration.md`` and by
:func:`skintrial.plan.calibration_table`. The 2015 paper's figures give no values in µm or % (paper.md §7
"NOT FOUND"), so every magnitude is our assumption and only the directions are sourced.

Model, for outcome *k* of participant *i* of age *a*:

* cross-sectional: ``y = mu_k + b_k · max(a − 40, 0) + ACT · [a ≥ 40] · d_k + s_k · e``, e standard
  normal (independent between outcomes): the sedentary age trend after 40 and an activity difference
  after 40 only (the published interaction);
* single-arm: ``baseline = mu_k + b_k (a − 70) + s_k zb``, ``week12 = baseline's mean + delta_k + s_k (rho_k
  zb + sqrt(1 − rho_k²) ze)``; withdrawn participants keep their baseline only.

Values are rounded to each outcome's ``resolution``. Each layer draws from its own generator
(:func:`~skintrial.plan.synthetic._layer_rng`), so the same seed gives byte-identical bundles.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem
from skintrial.plan._calibration import Number
from skintrial.plan._calibration_designs import CROSS_SECTIONAL, SINGLE_ARM
from skintrial.plan._synthetic_text import _toml_table
from skintrial.plan.synthetic import SyntheticStudy, _layer_rng

__all__ = [
    "CROSS_SECTIONAL",
    "SINGLE_ARM",
    "DESIGN_SEED",
    "synthetic_cross_sectional",
    "synthetic_single_arm",
    "DEMO_DESIGNS",
    "demo_study",
]

DESIGN_SEED = 20150422
"""Default seed of both generators (the online date of Crane et al. 2015)."""

# (key, label, unit, higher_is_better, description)
_OUTCOMES: tuple[tuple[str, str, str, bool, str], ...] = (
    (
        "stratum_corneum",
        "Stratum corneum thickness (buttock)",
        "um",
        False,
        "Histology of a 4-mm punch biopsy, upper non-sun-exposed buttock: stratum corneum thickness.",
    ),
    (
        "dermal_thickness",
        "Dermal thickness (buttock)",
        "mm",
        True,
        "Histology of the same biopsy: epidermal–dermal junction to the dermis/subcutis border.",
    ),
    (
        "collagen",
        "Reticular-dermis collagen (buttock)",
        "%",
        True,
        "Collagen area fraction of the reticular dermis (stained section).",
    ),
    (
        "mtdna",
        "Skin mtDNA copy number (buttock)",
        "a.u.",
        True,
        "Mitochondrial DNA copies per nuclear genome in the biopsy, relative to the study mean of the young.",
    ),
)
_KEYS = tuple(o[0] for o in _OUTCOMES)
_RESOLUTION = {"stratum_corneum": 0.1, "dermal_thickness": 0.01, "collagen": 0.1, "mtdna": 0.01}


def _values(rows: tuple[Number, ...]) -> dict[str, float]:
    return {r.name: float(r.value) for r in rows}


def _quantise(values: np.ndarray, keys: tuple[str, ...]) -> np.ndarray:
    step = np.array([_RESOLUTION[k] for k in keys])
    return np.round(np.maximum(values, step) / step) * step


def _decimals() -> dict[str, int]:
    return {k: max(0, -int(np.floor(np.log10(v)))) for k, v in _RESOLUTION.items()}


def _check(seed: object, n: object, minimum: int) -> None:
    problems = []
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        problems.append(
            Problem(
                "the seed must be a non-negative integer", column="seed", value=seed, fix="pass e.g. seed=1"
            )
        )
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < minimum:
        problems.append(
            Problem(
                f"n must be an integer of at least {minimum}",
                column="n",
                value=n,
                fix=f"pass n={minimum} or more",
            )
        )
    InputError.collect(problems)


def _outcome_tables() -> list[str]:
    lines: list[str] = []
    for key, label, unit, better, description in _OUTCOMES:
        lines += _toml_table(
            f"outcomes.{key}",
            {
                "label": label,
                "unit": unit,
                "instrument": "histology" if key != "mtdna" else "qpcr",
                "family": "skin",
                "higher_is_better": better,
                "site": "buttock",
                "description": description,
            },
        )
    return lines


def _long(ids: np.ndarray, visit: str, values: np.ndarray) -> pd.DataFrame:
    n, k = values.shape
    return pd.DataFrame(
        {
            "participant_id": np.repeat(ids, k),
            "visit": visit,
            "outcome": np.tile(np.array(_KEYS, dtype=object), n),
            "value": values.reshape(-1),
        }
    )


def _truth(rows: Mapping[str, float], prefix: str, effect: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "outcome": list(_KEYS),
            "baseline_mean": [rows[f"{prefix}.{k}.mean"] for k in _KEYS],
            "baseline_sd": [rows[f"{prefix}.{k}.sd"] for k in _KEYS],
            effect: [
                rows[f"{prefix}.{k}.{'active_after_40' if prefix == 'xs' else 'change'}"] for k in _KEYS
            ],
        }
    )


def synthetic_cross_sectional(*, seed: int = DESIGN_SEED, n: int | None = None) -> SyntheticStudy:
    """A synthetic cross-sectional study: active vs sedentary adults aged 20–84, measured once.

    Parameters
    ----------
    seed : int
        Non-negative; the same seed gives byte-identical files.
    n : int, optional
        Participants (default ``xs.n`` = 60: 15 per age band × activity group, inside the 11–19 per group
        of the published figure legend). Half are active; within each activity group half are aged
        20–39 and half 40–84 (recruitment stratified by age and activity, our assumption).

    Returns
    -------
    SyntheticStudy
        ``study.toml`` with ``design = "cross_sectional"``, one visit, ``[analysis.cross_sectional]``
        ``group = "activity"``, ``reference_group = "SED"``, ``covariates = ["age"]``, ``by = "age_band"``;
        ``participants.csv`` without an ``arm`` column (``activity``, ``activity_hours``, ``age``,
        ``age_band``, ``sex``); ``truth``: each outcome's young mean, SD and the true activity difference
        after 40.

    Examples
    --------
    >>> s = synthetic_cross_sectional()
    >>> s.participants.groupby(["activity", "age_band"]).size().to_dict()
    {('ACT', '20-39'): 15, ('ACT', '40+'): 15, ('SED', '20-39'): 15, ('SED', '40+'): 15}
    """
    v = _values(CROSS_SECTIONAL)
    n = int(v["xs.n"]) if n is None else n
    _check(seed, n, 8)
    rng = _layer_rng(seed, "cross_sectional.participants")
    split, lo, hi = int(v["xs.age_split"]), int(v["xs.age_min"]), int(v["xs.age_max"])
    activity = np.where(np.arange(n) % 2 == 0, "ACT", "SED")
    older = (np.arange(n) // 2) % 2 == 1
    age = np.where(older, rng.integers(split, hi + 1, n), rng.integers(lo, split, n))
    order = rng.permutation(n)
    activity, older, age = activity[order], older[order], age[order]
    hours = np.where(
        activity == "ACT",
        rng.uniform(v["xs.active_hours_min"], v["xs.active_hours_max"], n),
        rng.uniform(0.0, v["xs.sedentary_hours_max"], n),
    )
    sex = np.where(rng.random(n) < v["xs.female_fraction"], "F", "M")
    ids = np.array([f"X{i:03d}" for i in range(1, n + 1)], dtype=object)
    participants = pd.DataFrame(
        {
            "participant_id": ids,
            "activity": activity.astype(object),
            "activity_hours": np.floor(hours * 10) / 10,  # 0.1 h, never up to the 1 h limit
            "age": age.astype(np.int64),
            "age_band": np.where(older, f"{split}+", f"{lo}-{split - 1}").astype(object),
            "sex": sex.astype(object),
        }
    )
    mu = np.array([v[f"xs.{k}.mean"] for k in _KEYS])
    sd = np.array([v[f"xs.{k}.sd"] for k in _KEYS])
    slope = np.array([v[f"xs.{k}.age_slope"] for k in _KEYS])
    effect = np.array([v[f"xs.{k}.active_after_40"] for k in _KEYS])
    e = _layer_rng(seed, "cross_sectional.measurements").standard_normal((n, len(_KEYS)))
    after = np.maximum(age - split, 0).astype(float)
    act_old = ((activity == "ACT") & (age >= split)).astype(float)
    y = mu + np.outer(after, slope) + np.outer(act_old, effect) + sd * e
    measurements = _long(ids, "visit1", _quantise(y, _KEYS))
    toml = [
        "# Synthetic cross-sectional study written by skintrial.plan.synthetic_cross_sectional (deterministic).",
        "",
    ]
    toml += _toml_table(
        "study",
        {
            "name": "Activity and skin across age (synthetic cross-sectional)",
            "description": f"Synthetic cross-sectional study of {n} highly active (ACT, >= 3 h/week) and sedentary "
            f"(SED, < 1 h/week) adults aged {lo}-{hi}, one buttock biopsy each, modelled on the cross-sectional "
            "arm of Crane et al. 2015 (Aging Cell 14:625). Generated by skintrial.plan.synthetic_cross_sectional"
            f"(seed={seed}); every number and its source is in docs/calibration.md.",
            "design": "cross_sectional",
            "visits": ["visit1"],
            "baseline_visit": "visit1",
            "seed": seed,
        },
    )
    toml += _outcome_tables()
    toml += _toml_table(
        "analysis",
        {
            "primary": ["stratum_corneum", "dermal_thickness"],
            "secondary": ["collagen", "mtdna"],
            "methods": ["cross_sectional"],
            "alpha": 0.05,
            "multiplicity": "holm",
        },
    )
    toml += _toml_table(
        "analysis.cross_sectional",
        {"group": "activity", "reference_group": "SED", "covariates": ["age"], "by": "age_band"},
    )
    return SyntheticStudy(
        seed=seed,
        study_toml="\n".join(toml[:-1]) + "\n",
        participants=participants,
        measurements=measurements,
        truth=_truth(v, "xs", "active_minus_sedentary_after_40"),
        decimals=_decimals(),
    )


def synthetic_single_arm(*, seed: int = DESIGN_SEED, n: int | None = None) -> SyntheticStudy:
    """A synthetic single-arm pre/post study: previously sedentary adults aged 65 and over, 12 weeks of
    endurance training, no control group.

    Parameters
    ----------
    seed : int
    n : int, optional
        Participants enrolled (default ``sa.n`` = 10, as published); ``sa.withdrawn`` of them withdraw after
        baseline.

    Returns
    -------
    SyntheticStudy
        ``study.toml`` with ``design = "single_arm"``, one arm ``ET`` (endurance training), visits
        ``week0`` and ``week12``, methods ``paired_change`` and ``clda``; ``truth``: each outcome's baseline
        mean and SD (at age 70) and the true mean change.

    Examples
    --------
    >>> s = synthetic_single_arm()
    >>> len(s.participants), int((s.participants["status"] == "withdrawn").sum())
    (10, 1)
    """
    v = _values(SINGLE_ARM)
    n = int(v["sa.n"]) if n is None else n
    _check(seed, n, 4)
    rng = _layer_rng(seed, "single_arm.participants")
    age = rng.integers(int(v["sa.age_min"]), int(v["sa.age_max"]) + 1, n)
    sex = np.where(rng.random(n) < v["sa.female_fraction"], "F", "M")
    ids = np.array([f"E{i:02d}" for i in range(1, n + 1)], dtype=object)
    out = np.sort(rng.choice(n, size=min(int(v["sa.withdrawn"]), n - 2), replace=False))
    status = np.full(n, "completed", dtype=object)
    status[out] = "withdrawn"
    participants = pd.DataFrame(
        {
            "participant_id": ids,
            "arm": "ET",
            "age": age.astype(np.int64),
            "sex": sex.astype(object),
            "status": status,
            "withdrawal_visit": ["week0" if st == "withdrawn" else None for st in status],
            "withdrawal_reason": ["illness" if st == "withdrawn" else None for st in status],
        }
    )
    mu = np.array([v[f"sa.{k}.mean"] for k in _KEYS])
    sd = np.array([v[f"sa.{k}.sd"] for k in _KEYS])
    slope = np.array([v[f"sa.{k}.age_slope"] for k in _KEYS])
    rho = np.array([v[f"sa.{k}.rho"] for k in _KEYS])
    change = np.array([v[f"sa.{k}.change"] for k in _KEYS])
    r = _layer_rng(seed, "single_arm.measurements")
    zb, ze = r.standard_normal((n, len(_KEYS))), r.standard_normal((n, len(_KEYS)))
    centre = mu + np.outer(age - v["sa.age_centre"], slope)
    base = centre + sd * zb
    follow = centre + change + sd * (rho * zb + np.sqrt(1 - rho**2) * ze)
    keep = status == "completed"
    measurements = pd.concat(
        [
            _long(ids, "week0", _quantise(base, _KEYS)),
            _long(ids[keep], "week12", _quantise(follow[keep], _KEYS)),
        ],
        ignore_index=True,
    )
    toml = [
        "# Synthetic single-arm study written by skintrial.plan.synthetic_single_arm (deterministic).",
        "",
    ]
    toml += _toml_table(
        "study",
        {
            "name": "Endurance training and skin after 65 (synthetic single-arm)",
            "description": f"Synthetic single-arm pre/post study of {n} previously sedentary adults aged 65 and over, "
            "12 weeks of endurance training twice a week, no control group, modelled on the intervention arm of "
            "Crane et al. 2015 (Aging Cell 14:625). Generated by skintrial.plan.synthetic_single_arm"
            f"(seed={seed}); every number and its source is in docs/calibration.md.",
            "design": "single_arm",
            "arms": ["ET"],
            "visits": ["week0", "week12"],
            "baseline_visit": "week0",
            "seed": seed,
        },
    )
    toml += _toml_table(
        "study.arm_labels", {"ET": "Endurance training (jogging or cycling, 2×/week, 12 weeks)"}
    )
    toml += _outcome_tables()
    toml += _toml_table(
        "analysis",
        {
            "primary": ["stratum_corneum", "dermal_thickness"],
            "secondary": ["collagen", "mtdna"],
            "methods": ["paired_change", "clda"],
            "alpha": 0.05,
            "multiplicity": "holm",
        },
    )
    return SyntheticStudy(
        seed=seed,
        study_toml="\n".join(toml[:-1]) + "\n",
        participants=participants,
        measurements=measurements,
        truth=_truth(v, "sa", "mean_change"),
        decimals=_decimals(),
    )


DEMO_DESIGNS: tuple[str, ...] = ("randomised", "cross-sectional", "single-arm")
"""The designs of ``skintrial demo --design`` (study.toml writes them with underscores)."""


def demo_study(
    design: str = "randomised",
    *,
    seed: int | None = None,
    n: int | None = None,
    control_arm: bool = False,
    raw: bool = True,
) -> SyntheticStudy:
    """The synthetic study of ``skintrial demo --design DESIGN``: the randomised trial (default seed
    20230623, n = 61, with raw instrument files), or the cross-sectional or single-arm study of
    Crane et al. 2015 (default seed :data:`DESIGN_SEED`, their own n).

    Examples
    --------
    >>> demo_study("single-arm").study_toml.count('design = "single_arm"')
    1
    """
    key = design.replace("_", "-").lower()
    problems = []
    if key not in DEMO_DESIGNS:
        problems.append(
            Problem(
                "unknown design",
                column="--design",
                value=design,
                fix=f"use one of {', '.join(DEMO_DESIGNS)}",
            )
        )
    elif control_arm and key != "randomised":
        problems.append(
            Problem(
                f"a control arm is an option of the randomised demo, not of a {key} study",
                column="--control",
                fix="leave --control out, or use --design randomised",
            )
        )
    InputError.collect(problems)
    if key == "randomised":
        from skintrial.plan.synthetic import synthetic_study

        return synthetic_study(
            seed=20230623 if seed is None else seed,
            n=61 if n is None else n,
            control_arm=control_arm,
            raw=raw,
        )
    make = synthetic_cross_sectional if key == "cross-sectional" else synthetic_single_arm
    return make(seed=DESIGN_SEED if seed is None else seed, n=n)
