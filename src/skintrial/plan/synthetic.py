"""A calibrated synthetic study: the 16-week aerobic vs resistance training trial, as a study bundle.

The generator writes what a real trial of Nishikori et al. (2023, *Sci Rep* 13:10214) would hand over:
``study.toml``, ``participants.csv`` and ``measurements.csv`` (DESIGN.md's bundle format), with known
ground truth. It is the demo's data, the fixture for tests, and the engine behind simulation-based power.

How the numbers are made
------------------------
Every number comes from one table (:func:`calibration_table`, documented in ``docs/calibration.md``
with its source or marked as our assumption). For participant *i* with age :math:`a_i` in arm *g* and
outcome *k*::

    baseline_ik  = mu_k + beta_k (a_i - 50) + s_k Zb_ik
    followup_ik  = mu_k + beta_k (a_i - 50) + delta_gk + s_k (rho_k Zb_ik + sqrt(1 - rho_k^2) Ze_ik)

plus, in the trained arms, ``dose_k (adherence_i − ā)`` on the follow-up of the outcomes with a
``dose.<outcome>.adherence`` row (dermal thickness and ``lep_upper``; ``ā`` the expected adherence, so arm means are unchanged). Here
``Zb_i`` and ``Ze_i`` are independent standard-normal vectors with the between-outcome correlation
matrix ``C`` (the ``corr.*`` rows), ``rho_k`` is the baseline–follow-up correlation given age,
``delta_gk`` the true mean change of arm *g*, and ``s_k`` the residual SD chosen so that the baseline
SD over ages 41–59 equals the table's ``baseline_sd``. Values are clipped to the outcome's physical
range and rounded to the instrument's resolution; R7 is capped just below min(R2, R5), as its
definition requires (R7 = R5·Ue/Uf, and Ur ≤ Ua). Withdrawn participants keep their baseline only.

Determinism and layers
----------------------
Each layer (``participants``, ``dropout``, ``measurements``, ``raw.cutometer``, ``raw.ultrasound``,
``serum.catalogue``, ``serum``, ``qpcr``, ``training``) draws from its own generator, seeded by
``SeedSequence(seed, spawn_key=(key(layer),))`` with a key hashed from the layer's name. Adding a layer
therefore never changes the files of the others, with one link by design: the ``training`` layer's
attendance is drawn first, whether or not ``training.csv`` is written, and gives the dermal outcomes a
small dose term (below); the log's fitness tests are then the measured chest-press 1RM and VO2peak.
``dropout=False`` gives the same values as ``dropout=True`` for every participant who completes.
Files are written with fixed number formats and ``\\n`` line ends: the same seed gives byte-identical
bundles.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem
from skintrial.plan import _calibration as cal
from skintrial.plan._synthetic_text import (
    BASELINE_VISIT,
    VISITS,
    _measurements_csv,
    _participants_csv,
    _study_toml,
)

__all__ = ["SyntheticStudy", "synthetic_study", "calibration_table"]

PARTICIPANT_COLUMNS = (
    "participant_id",
    "arm",
    "age",
    "sex",
    "status",
    "withdrawal_visit",
    "withdrawal_reason",
    "age_group",
)
MEASUREMENT_COLUMNS = ("participant_id", "visit", "outcome", "value")
TRUTH_COLUMNS = ("outcome", "arm", "baseline_mean", "baseline_sd", "rho", "mean_change")


@dataclass(frozen=True, eq=False)
class SyntheticStudy:
    """A generated study bundle held in memory, with its ground truth.

    Attributes
    ----------
    seed : int
        The seed it was generated from.
    study_toml : str
        The text of ``study.toml``.
    participants, measurements : pandas.DataFrame
        The tables written to ``participants.csv`` and ``measurements.csv``.
    truth : pandas.DataFrame
        The true values behind the data, one row per outcome × arm: ``outcome, arm, baseline_mean,
        baseline_sd, rho, mean_change`` (``mean_change`` is the true mean change from week0 to week16;
        a contrast's true value is the difference of two arms' ``mean_change``).
    files : Mapping[str, bytes]
        Further files of later layers (raw instrument files, serum panels, …), by path relative to the
        bundle root. Empty unless such a layer was asked for. The omics files are made when first
        read (or written), so asking for the layer costs nothing until then.
    decimals : Mapping[str, int]
        Decimals each outcome's values are written with in ``measurements.csv``; by default those of the
        trial's outcomes (their ``resolution`` in the calibration table). The other designs' generators
        (:func:`~skintrial.plan.synthetic_cross_sectional`, :func:`~skintrial.plan.synthetic_single_arm`)
        give their own.
    omics_truth : Mapping[str, pandas.DataFrame]
        With ``omics=True``: ``serum`` (every analyte's panel, true log2 mean and SD, LOD and true mean
        log2 change per arm, columns ``change.<ARM>``), ``qpcr`` (gene, arm, true mean log2 fold change
        of the fibroblasts given post- vs pre-training serum) and ``links`` (factor, skin outcome and
        the correlation of their changes built in). Empty otherwise.
    """

    seed: int
    study_toml: str
    participants: pd.DataFrame
    measurements: pd.DataFrame
    truth: pd.DataFrame
    files: Mapping[str, bytes] = field(default_factory=dict)
    omics_truth: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    decimals: Mapping[str, int] = field(default_factory=dict)

    def write(self, directory: str | Path) -> Path:
        """Write the bundle into ``directory`` (created if needed) and return its path.

        Writes ``study.toml``, ``participants.csv``, ``measurements.csv`` and every entry of
        :attr:`files`; existing files of those names are replaced, nothing else is touched.
        """
        root = Path(directory)
        root.mkdir(parents=True, exist_ok=True)
        outputs = {
            "study.toml": self.study_toml.encode("utf-8"),
            "participants.csv": _participants_csv(self.participants).encode("utf-8"),
            "measurements.csv": _measurements_csv(self.measurements, self.decimals).encode("utf-8"),
            **self.files,
        }
        for name, content in outputs.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        return root


def calibration_table() -> pd.DataFrame:
    """Every number the generators use: ``name, value, source``, one row each (the randomised trial's,
    its molecular layer's, and the cross-sectional ``xs.*`` and single-arm ``sa.*`` studies').

    ``source`` names the section of the project's reference notes (and the publication cited there) or
    starts with ``"assumption:"`` and gives the reason. ``docs/calibration.md`` lists the same table.

    Examples
    --------
    >>> from skintrial.plan.synthetic import calibration_table
    >>> table = calibration_table()
    >>> float(table.set_index("name").loc["allocation.RT", "value"])
    34.0
    """
    from skintrial.plan._calibration_designs import CROSS_SECTIONAL, SINGLE_ARM

    rows = (*cal.TABLE, *_omics_calibration(), *CROSS_SECTIONAL, *SINGLE_ARM)
    return pd.DataFrame(
        {
            "name": [r.name for r in rows],
            "value": [float(r.value) for r in rows],
            "source": [r.source for r in rows],
        }
    )


def _omics_calibration() -> tuple[cal.Number, ...]:
    from skintrial.plan import _sim_qpcr, _sim_serum

    return (*_sim_serum.CALIBRATION, *_sim_qpcr.CALIBRATION)


def synthetic_study(
    *,
    seed: int = 20230623,
    n: int = 61,
    control_arm: bool = False,
    dropout: bool = True,
    raw: bool = False,
    omics: bool = True,
    training: bool = True,
) -> SyntheticStudy:
    """Generate a synthetic AT vs RT (optionally with a no-exercise control) study bundle.

    Parameters
    ----------
    seed : int
        Non-negative seed; the same seed (and options) gives byte-identical files.
    n : int
        Participants randomised. With two arms they are allocated 27:34 (AT:RT) as in the published
        study; with ``control_arm`` 1:1:1 (the remainder goes to RT, then AT).
    control_arm : bool
        Add a no-exercise control arm ``CON`` (small drift only); it becomes the reference arm.
        Otherwise the arms are ``AT`` and ``RT`` with ``AT`` the reference, so contrasts read
        ``RT - AT``.
    dropout : bool
        Withdraw participants after baseline at the published per-arm rates (AT 1 of 27, RT 4 of 34;
        CON 10 %, our assumption), each with a reason. With ``False`` everyone completes, and every
        value is the same as with ``True``.
    raw : bool
        Add the raw layer: per participant and visit, a Cutometer recording (CSV, 3 cycles) whose
        R2/R5/R7 are that visit's values and a cheek ultrasound scan (DICOM, 50 MHz-like phantom) with
        that visit's ``dermal_thickness`` and ``lep_upper``, listed in ``raw/manifest.csv``, and a
        ``[raw]`` table in ``study.toml``. The tidy files are unchanged.
    omics : bool
        Add the molecular layer: ``serum.csv`` (1,480 circulating factors in three panels, values below
        the LOD written ``<LOD``, a few dozen truly changing per arm, some linked to the participants'
        skin changes) and ``qpcr.csv`` (fibroblasts given each completer's pre and post serum: ECM genes
        and two reference genes in triplicate), with ``[serum]`` and ``[qpcr]`` tables in
        ``study.toml``; see :mod:`skintrial.plan._sim_serum` and :mod:`skintrial.plan._sim_qpcr`. The
        other files are unchanged, and the two files are only made when read or written.

    training : bool
        Add ``training.csv``: every supervised session of the 16-week, twice-weekly protocols (AT: cycle
        ergometer at 65–70 % HRpeak; RT: six machines, 3×10 with progression), missed sessions,
        withdrawals, 1RM and VO2peak tests equal to the measured ``chest_press_1rm`` and ``vo2peak``
        (:func:`skintrial.plan.simulate_training`), a ``[training]`` table and a per-protocol rule
        (adherence ≥ 80 %) in ``study.toml``. Other files are unchanged: the attendance behind the dermal
        outcomes' dose term is drawn either way.

    Returns
    -------
    SyntheticStudy
        The bundle in memory; :meth:`SyntheticStudy.write` puts it on disk.

    Notes
    -----
    The model and every number are in the module docstring and ``docs/calibration.md``. Effects follow
    the published directions: both arms raise R2, R5, R7 and lower the upper-dermis low-echogenic
    fraction; only RT thickens the dermis; AT raises VO2peak and lowers body mass; RT raises lean mass
    and the chest-press 1RM. Checked by tests: determinism, counts, effect directions in a 2000-person
    draw, physical ranges.

    Examples
    --------
    >>> from skintrial.plan import synthetic_study
    >>> study = synthetic_study()
    >>> p = study.participants
    >>> p["arm"].value_counts().sort_index().to_dict()
    {'AT': 27, 'RT': 34}
    >>> (p["status"] == "withdrawn").groupby(p["arm"]).sum().to_dict()
    {'AT': 1, 'RT': 4}
    >>> sorted(study.measurements["outcome"].unique())[:3]
    ['body_mass', 'chest_press_1rm', 'dermal_thickness']
    """
    arms = ("CON", "AT", "RT") if control_arm else ("AT", "RT")
    _check_options(seed=seed, n=n, n_arms=len(arms))
    numbers = cal.values()
    participants = _participants_layer(_layer_rng(seed, "participants"), n=n, arms=arms, numbers=numbers)
    if dropout:
        participants = _dropout_layer(_layer_rng(seed, "dropout"), participants, arms=arms, numbers=numbers)
    from skintrial.plan._sim_training import simulate_attendance, simulate_training

    training_seed = int(_layer_rng(seed, "training").integers(2**31))
    adherence = simulate_attendance(participants, seed=training_seed)["adherence"].to_numpy()
    measurements = _measurements_layer(
        _layer_rng(seed, "measurements"), participants, arms=arms, numbers=numbers, adherence=adherence
    )
    files: dict[str, bytes] = {}
    if raw:
        from skintrial.plan._synthetic_raw import raw_layer

        files.update(
            raw_layer(
                lambda layer: _layer_rng(seed, layer),
                participants,
                measurements,
                visits=VISITS,
                numbers=numbers,
                token=str(seed),
            )
        )
    if training:
        log = simulate_training(participants, seed=training_seed, measurements=measurements, visits=VISITS)
        files["training.csv"] = log.to_csv(index=False, lineterminator="\n").encode("utf-8")
    omics_truth: dict[str, pd.DataFrame] = {}
    all_files: Mapping[str, bytes] = files
    if omics:
        from skintrial.plan._synthetic_omics import omics_layer

        lazy, omics_truth = omics_layer(
            lambda layer: _layer_rng(seed, layer),
            participants,
            measurements,
            arms=arms,
            visits=VISITS,
            numbers=numbers,
        )
        all_files = _LazyFiles(files, lazy)
    return SyntheticStudy(
        seed=seed,
        study_toml=_study_toml(
            arms=arms, seed=seed, n=n, dropout=dropout, raw=raw, omics=omics, training=training
        ),
        participants=participants,
        measurements=measurements,
        truth=_truth(arms, numbers),
        files=all_files,
        omics_truth=omics_truth,
    )


class _LazyFiles(Mapping[str, bytes]):
    """Files by path, some made on first access by one call that returns all of them (then cached)."""

    def __init__(
        self, ready: Mapping[str, bytes], lazy: tuple[tuple[str, ...], Callable[[], dict[str, bytes]]]
    ):
        self._ready = dict(ready)
        self._names, self._make = lazy
        self._made: dict[str, bytes] | None = None

    def __getitem__(self, key: str) -> bytes:
        if key in self._ready:
            return self._ready[key]
        if key not in self._names:
            raise KeyError(key)
        if self._made is None:
            self._made = self._make()
        return self._made[key]

    def __iter__(self) -> Iterator[str]:
        yield from self._ready
        yield from (k for k in self._names if k not in self._ready)

    def __len__(self) -> int:
        return len(set(self._ready) | set(self._names))


# --- layers -------------------------------------------------------------------------------------------


def _layer_rng(seed: int, layer: str) -> np.random.Generator:
    """The generator of one layer: independent of every other layer and of the order they run in."""
    key = int.from_bytes(hashlib.sha256(layer.encode("utf-8")).digest()[:4], "little")
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(key,)))


def _allocate(n: int, arms: tuple[str, ...], numbers: Mapping[str, float]) -> dict[str, int]:
    """Arm sizes by largest remainder; ties go to RT, then AT, then CON."""
    prefix = "allocation3." if len(arms) == 3 else "allocation."
    weights = np.array([numbers[prefix + arm] for arm in arms])
    quota = n * weights / weights.sum()
    size = np.floor(quota).astype(int)
    priority = {"RT": 0, "AT": 1, "CON": 2}
    order = sorted(range(len(arms)), key=lambda j: (-(quota[j] - size[j]), priority[arms[j]]))
    for j in order[: n - int(size.sum())]:
        size[j] += 1
    return {arm: int(s) for arm, s in zip(arms, size, strict=True)}


def _participants_layer(
    rng: np.random.Generator, *, n: int, arms: tuple[str, ...], numbers: Mapping[str, float]
) -> pd.DataFrame:
    """Randomised participants: id, arm (a random permutation of the allocation), age, sex, age group."""
    sizes = _allocate(n, arms, numbers)
    arm = rng.permutation(np.repeat(np.array(arms), [sizes[a] for a in arms]))
    age = rng.integers(int(numbers["design.age_min"]), int(numbers["design.age_max"]) + 1, size=n)
    width = max(3, len(str(n)))
    return pd.DataFrame(
        {
            "participant_id": [f"P{i:0{width}d}" for i in range(1, n + 1)],
            "arm": arm.astype(object),
            "age": age.astype(np.int64),
            "sex": "F",
            "status": "completed",
            "withdrawal_visit": None,
            "withdrawal_reason": None,
            "age_group": np.where(age < 50, "40-49", "50-59").astype(object),
        },
        columns=list(PARTICIPANT_COLUMNS),
    )


def _dropout_layer(
    rng: np.random.Generator,
    participants: pd.DataFrame,
    *,
    arms: tuple[str, ...],
    numbers: Mapping[str, float],
) -> pd.DataFrame:
    """Withdraw round(rate × arm size) participants per arm after baseline (at most all but two)."""
    out = participants.copy()
    keys = list(cal.WITHDRAWAL_REASONS)
    p = np.array([numbers[f"withdrawal.{k}"] for k in keys])
    for arm in arms:
        members = np.flatnonzero(out["arm"].to_numpy() == arm)
        count = min(int(np.floor(numbers[f"dropout.{arm}"] * members.size + 0.5)), members.size - 2)
        chosen = np.sort(rng.choice(members, size=max(count, 0), replace=False))
        reasons = rng.choice(len(keys), size=chosen.size, p=p / p.sum())
        out.loc[chosen, "status"] = "withdrawn"
        out.loc[chosen, "withdrawal_visit"] = BASELINE_VISIT
        out.loc[chosen, "withdrawal_reason"] = [cal.WITHDRAWAL_REASONS[keys[r]] for r in reasons]
    return out


def _outcome_parameters(arms: tuple[str, ...], numbers: Mapping[str, float]) -> dict[str, np.ndarray]:
    """The per-outcome vectors of the model, in the order of ``cal.OUTCOMES``."""
    keys = [o.key for o in cal.OUTCOMES]

    def vec(quantity: str) -> np.ndarray:
        return np.array([numbers[f"{k}.{quantity}"] for k in keys])

    corr = np.eye(len(keys))
    for name, value in numbers.items():
        if name.startswith("corr."):
            a, b = name.split(".")[1:]
            i, j = keys.index(a), keys.index(b)
            corr[i, j] = corr[j, i] = value
    lo, hi = numbers["design.age_min"], numbers["design.age_max"]
    age_var = ((hi - lo + 1) ** 2 - 1) / 12.0  # discrete uniform ages
    sd, slope = vec("baseline_sd"), vec("age_slope")
    return {
        "mean": vec("baseline_mean"),
        "slope": slope,
        "rho": vec("rho"),
        "resid_sd": np.sqrt(sd**2 - slope**2 * age_var),
        "change": np.array([[numbers[f"{k}.change.{arm}"] for k in keys] for arm in arms]),
        "lower": vec("lower"),
        "upper": vec("upper"),
        "step": vec("resolution"),
        "corr": corr,
    }


def _quantise(x: np.ndarray, lower: np.ndarray, upper: np.ndarray, step: np.ndarray) -> np.ndarray:
    """Clip to the physical range, round to the instrument's step (bounds lie on the step grid)."""
    decimals = np.maximum(0, -np.floor(np.log10(step))).astype(int)
    y = np.round(np.clip(x, lower, upper) / step) * step
    return np.stack([np.round(y[..., k], decimals[k]) for k in range(step.size)], axis=-1) + 0.0


def _dose_shift(adherence: np.ndarray, numbers: Mapping[str, float]) -> np.ndarray:
    """The dose term of the follow-up, (participants, outcomes): b_k (adherence_i − ā) in trained arms, else 0.

    ``ā = a / (a + b)`` is the expected adherence of the attendance model, so each arm's mean change
    stays ``delta_gk`` in expectation (completers attend with probability drawn from Beta(a, b))."""
    a, b = numbers["training.attendance_a"], numbers["training.attendance_b"]
    slope = np.array([numbers.get(f"dose.{o.key}.adherence", 0.0) for o in cal.OUTCOMES])
    centred = np.where(np.isfinite(adherence), adherence - a / (a + b), 0.0)
    return centred[:, None] * slope[None, :]


def _draw_outcomes(
    rng: np.random.Generator,
    arm_index: np.ndarray,
    age: np.ndarray,
    par: Mapping[str, np.ndarray],
    numbers: Mapping[str, float],
    dose: np.ndarray | None = None,
) -> np.ndarray:
    """Baseline and follow-up values, shape (participants, 2, outcomes), batched over everything."""
    n, k = arm_index.size, par["mean"].size
    chol = np.linalg.cholesky(par["corr"])
    zb = rng.standard_normal((n, k)) @ chol.T
    ze = rng.standard_normal((n, k)) @ chol.T
    zf = par["rho"] * zb + np.sqrt(1.0 - par["rho"] ** 2) * ze
    centre = par["mean"] + np.outer(age - numbers["design.age_centre"], par["slope"])
    follow = centre + par["change"][arm_index] + par["resid_sd"] * zf + (0.0 if dose is None else dose)
    raw = np.stack([centre + par["resid_sd"] * zb, follow], axis=1)
    values = _quantise(raw, par["lower"], par["upper"], par["step"])
    keys = [o.key for o in cal.OUTCOMES]
    r2, r5, r7 = (keys.index(name) for name in ("r2", "r5", "r7"))
    cap = np.minimum(values[..., r2], values[..., r5]) - numbers["r7.margin"]
    values[..., r7] = np.round(np.minimum(values[..., r7], cap), 3)
    return values


def _measurements_layer(
    rng: np.random.Generator,
    participants: pd.DataFrame,
    *,
    arms: tuple[str, ...],
    numbers: Mapping[str, float],
    adherence: np.ndarray | None = None,
) -> pd.DataFrame:
    """Long measurements: every participant at week0, completers also at week16 (with the dose term when
    each participant's ``adherence`` is given: NaN in an arm without training)."""
    par = _outcome_parameters(arms, numbers)
    arm_index = pd.Index(arms).get_indexer(participants["arm"])
    dose = None if adherence is None else _dose_shift(np.asarray(adherence, dtype=float), numbers)
    values = _draw_outcomes(rng, arm_index, participants["age"].to_numpy(float), par, numbers, dose)
    n, n_visits, k = values.shape
    keys = np.array([o.key for o in cal.OUTCOMES], dtype=object)
    long = pd.DataFrame(
        {
            "participant_id": np.repeat(participants["participant_id"].to_numpy(), n_visits * k),
            "visit": np.tile(np.repeat(np.array(VISITS, dtype=object), k), n),
            "outcome": np.tile(keys, n * n_visits),
            "value": values.reshape(-1),
        }
    )
    withdrawn = np.repeat((participants["status"] == "withdrawn").to_numpy(), n_visits * k)
    keep = ~(withdrawn & (long["visit"].to_numpy() != BASELINE_VISIT))
    return long.loc[keep].reset_index(drop=True)


def _truth(arms: tuple[str, ...], numbers: Mapping[str, float]) -> pd.DataFrame:
    rows = [
        (
            o.key,
            arm,
            numbers[f"{o.key}.baseline_mean"],
            numbers[f"{o.key}.baseline_sd"],
            numbers[f"{o.key}.rho"],
            numbers[f"{o.key}.change.{arm}"],
        )
        for o in cal.OUTCOMES
        for arm in arms
    ]
    return pd.DataFrame(rows, columns=list(TRUTH_COLUMNS))


# --- rendering ----------------------------------------------------------------------------------------


def _check_options(*, seed: object, n: object, n_arms: int) -> None:
    problems = []
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        problems.append(
            Problem(
                "the seed must be a non-negative integer",
                fix="pass e.g. seed=20230623",
                column="seed",
                value=seed,
            )
        )
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 4 * n_arms:
        problems.append(
            Problem(
                f"n must be an integer of at least {4 * n_arms} for {n_arms} arms",
                fix=f"pass n={4 * n_arms} or more (the published study randomised 61)",
                column="n",
                value=n,
            )
        )
    if problems:
        raise InputError(problems)
