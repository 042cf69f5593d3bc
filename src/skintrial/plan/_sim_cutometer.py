"""Synthetic Cutometer curves with known Ue, Uv, Ur, Ua, noise, drift and artefacts (batched over curves).

The model, per suction/relaxation cycle (``s``: time since onset, ``u``: time since release; ``T_on``,
``T_off``: the phase durations; ``b``: the cycle's baseline)::

    suction     d(s) = b + A (1 - exp(-s / tau_e)) + B (1 - exp(-s / tau_c))
    relaxation  d(u) = b + Uf - C (1 - exp(-u / tau_e)) - D (1 - exp(-u / tau_r))

a fast elastic element (``tau_e``, 25 ms by default) in series with a slow viscoelastic one (creep
``tau_c``, recovery ``tau_r``, 0.5 s), i.e. two Kelvin-Voigt elements per phase. A, B solve the 2x2
linear system ``d(t_r) - b = Ue``, ``d(T_on) - b = Uf = Ue + Uv``; C, D solve ``Uf - (d(t_r) - b) = Ur``,
``Uf - (d(T_off) - b) = Ua``; so the noise-free curve has *exactly* the requested points at the read time
``t_r`` (0.1 s) and the truth is known. The area parameters (F0-F4, Q0-Q3) of the truth are the model's
integrals in closed form (``integral of 1 - exp(-s / tau)`` over ``[0, x]`` is ``x - tau (1 - exp(-x / tau))``). The phases are parameterised separately because a linear
(Boltzmann) model would tie the recovery to the creep, and Ue, Uv, Ur, Ua are to be set independently.
Cycle ``k`` starts where cycle ``k - 1`` ended (``b_k = b_{k-1} + Uf - Ua``) and its four points are
scaled by ``(1 + fatigue) ** (k - 1)``.

Artefacts (per curve): ``"no_plateau"`` (creep linear in time, never levelling off), ``"drift"`` (a
linear drift of 0.1 mm/s added to ``drift_mm_s``), ``"slip"`` (a 0.05 mm step 60 % into the first
suction), ``"clipped"`` (the signal saturates at 85 % of Uf), ``"negative"`` (the last relaxation goes
0.05 mm below the resting position).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem
from skintrial.instruments import PARAMETERS

__all__ = ["simulate_cutometer", "simulate_cutometer_from_parameters", "ARTEFACTS"]

#: Artefacts the simulator can add, and what each does.
ARTEFACTS = MappingProxyType(
    {
        "no_plateau": "creep linear in time (never levels off)",
        "drift": "+0.1 mm/s linear drift",
        "slip": "+0.05 mm step 60 % into the first suction",
        "clipped": "saturation at 0.85 Uf",
        "negative": "the last relaxation ends 0.05 mm below the resting position",
    }
)
_SIZE = MappingProxyType({"drift": 0.1, "slip": 0.05, "clipped": 0.85, "negative": 0.05})


def _solve(a1, b1, a2, b2, v1, v2):
    det = a1 * b2 - a2 * b1
    return (v1 * b2 - v2 * b1) / det, (a1 * v2 - a2 * v1) / det


def _arr(value, n, name, problems, *, low=None, strict=True):
    v = np.broadcast_to(np.asarray(value, dtype=float), (n,)).astype(float)
    bad = ~np.isfinite(v)
    if low is not None:
        bad |= (v <= low) if strict else (v < low)
    if bad.any():
        problems.append(
            Problem(
                f"{name} must be a finite number {'>' if strict else '>='} {low}",
                value=float(v[bad][0]),
                rows_affected=int(bad.sum()),
                column=name,
            )
        )
    return v


def _artefacts(artefact, n, problems) -> np.ndarray:
    if artefact is None or isinstance(artefact, str):
        art = np.full(n, artefact or "", dtype=object)
    else:
        art = np.asarray([a or "" for a in artefact], dtype=object)
        if art.size != n:
            problems.append(Problem(f"artefact has {art.size} entries for {n} curves", value=art.size))
            return np.full(n, "", dtype=object)
    unknown = sorted(set(art) - set(ARTEFACTS) - {""})
    if unknown:
        problems.append(
            Problem(
                f"unknown artefact {unknown[0]!r}", value=unknown[0], fix=f"use one of {', '.join(ARTEFACTS)}"
            )
        )
    return art


def simulate_cutometer(
    n: int = 1,
    *,
    ue=0.18,
    uv=0.09,
    ur=0.12,
    ua=0.20,
    on_s: float = 2.0,
    off_s: float = 2.0,
    n_cycles: int = 1,
    sampling_hz: float = 100.0,
    noise_mm: float = 0.002,
    drift_mm_s: float = 0.0,
    tau_elastic_s=0.025,
    tau_creep_s=0.5,
    tau_recovery_s=0.5,
    fatigue: float = 0.0,
    pressure_mbar: float | None = 450.0,
    artefact: str | Sequence[str | None] | None = None,
    read_time_s: float = 0.1,
    seed: int | np.random.Generator | None = None,
    file: str = "simulated",
    id_prefix: str = "sim",
    measurement_ids: Sequence[str] | None = None,
    rest_s: float = 0.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate ``n`` Cutometer recordings with known points, in the long format of ``read_cutometer``.

    Parameters
    ----------
    n : int
        Number of curves.
    ue, uv, ur, ua : float or array of length n
        Points of cycle 1 (mm) at ``read_time_s``: need ``ue > 0``, ``uv >= 0``, ``0 < ur <= ua <= ue + uv``.
    on_s, off_s : float
        Suction and relaxation durations (s); ``n_cycles`` cycles, sampled at ``sampling_hz`` from t = 0
        to the end of the last relaxation (4 s at 100 Hz: 401 samples).
    noise_mm, drift_mm_s : float
        Gaussian measurement noise (SD, mm) and linear drift (mm/s).
    tau_elastic_s, tau_creep_s, tau_recovery_s : float or array
        Time constants of the model (module docstring).
    fatigue : float
        Cycle k's points are ``(1 + fatigue) ** (k - 1)`` times cycle 1's.
    pressure_mbar : float or None
        Suction level written to ``pressure_mbar`` (``None``: no pressure channel, NaN).
    rest_s : float
        A rest before the first suction (s): the record starts ``rest_s`` before the first onset, at
        the resting position (plus noise and drift) and with pressure 0 (analyse it with
        ``onset_s=rest_s`` when the phases come from declared times).
    artefact : str, or one entry per curve (None or "" for a clean curve)
        One of ``no_plateau, drift, slip, clipped, negative``.
    seed : int or numpy Generator
    measurement_ids : sequence of str, optional
        Identifiers (default ``f"{id_prefix}{i:06d}"``).

    Returns
    -------
    curves : pandas.DataFrame
        ``file, measurement_id, time_s, deformation_mm, pressure_mbar`` (ids categorical).
    truth : pandas.DataFrame
        One row per curve: ``measurement_id, artefact, n_cycles``, the cycle-1 points and R0-R9 as
        defined in ``skintrial.instruments.PARAMETERS`` (R3/R4/R9 over all cycles), and the time constants.

    Examples
    --------
    >>> curves, truth = simulate_cutometer(3, ue=[0.15, 0.18, 0.2], seed=0)
    >>> curves.shape, truth[["ue", "uf", "r7"]].round(3).to_numpy()[0].tolist()
    ((1203, 5), [0.15, 0.24, 0.5])
    """
    problems: list[Problem] = []
    if int(n) < 1 or int(n_cycles) < 1:
        raise InputError(Problem("n and n_cycles must be at least 1", value=(n, n_cycles)))
    n, n_cycles = int(n), int(n_cycles)
    p = {k: _arr(v, n, k, problems, low=0.0) for k, v in (("ue", ue), ("ur", ur), ("ua", ua))}
    p["uv"] = _arr(uv, n, "uv", problems, low=0.0, strict=False)
    taus = [
        _arr(v, n, k, problems, low=0.0)
        for k, v in (
            ("tau_elastic_s", tau_elastic_s),
            ("tau_creep_s", tau_creep_s),
            ("tau_recovery_s", tau_recovery_s),
        )
    ]
    for name, v in (("on_s", on_s), ("off_s", off_s), ("sampling_hz", sampling_hz)):
        if not (np.isfinite(v) and v > 0):
            problems.append(Problem(f"{name} must be positive", value=v))
    if not (np.isfinite(rest_s) and rest_s >= 0):
        problems.append(Problem("rest_s must be a number >= 0", value=rest_s))
    if not on_s > read_time_s or not off_s >= read_time_s:
        problems.append(Problem("on_s and off_s must exceed the read time", value=(on_s, off_s)))
    art = _artefacts(artefact, n, problems)
    InputError.collect(problems)
    uf = p["ue"] + p["uv"]
    bad = (p["ur"] > p["ua"] + 1e-12) | (p["ua"] > uf + 1e-12)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            Problem(
                "need ur <= ua <= ue + uv (recovery cannot exceed the deformation)",
                row=i + 2,
                value=(p["ur"][i], p["ua"][i], uf[i]),
                rows_affected=int(bad.sum()),
                fix="check the targets: R7 <= R2 <= 1",
            )
        )
    rng = np.random.default_rng(seed)
    t = np.arange(int(round((rest_s + n_cycles * (on_s + off_s)) * sampling_hz)) + 1) / sampling_hz
    y, pressure, truth = _curves(t - rest_s, p, taus, art, n_cycles, on_s, off_s, read_time_s, fatigue)
    rate = drift_mm_s + np.where(art == "drift", _SIZE["drift"], 0.0)
    if np.any(rate):
        y += rate[:, None] * t[None, :]
    slip = art == "slip"
    if slip.any():
        y[np.ix_(slip, t - rest_s > 0.6 * on_s + 1e-9)] += _SIZE["slip"]
    if noise_mm > 0:
        y += rng.normal(0.0, noise_mm, y.shape)
    clip = art == "clipped"
    if clip.any():
        y[clip] = np.minimum(y[clip], _SIZE["clipped"] * uf[clip][:, None])
    ids = list(measurement_ids) if measurement_ids is not None else [f"{id_prefix}{i:06d}" for i in range(n)]
    curves = pd.DataFrame(
        {
            "file": pd.Categorical.from_codes(np.zeros(y.size, dtype=np.int8), [file]),
            "measurement_id": pd.Categorical.from_codes(np.repeat(np.arange(n, dtype=np.int32), t.size), ids),
            "time_s": np.tile(t, n),
            "deformation_mm": y.ravel(),
            "pressure_mbar": np.tile(pressure if pressure_mbar is not None else np.full(t.size, np.nan), n)
            * (pressure_mbar if pressure_mbar is not None else 1.0),
        }
    )
    truth.insert(0, "measurement_id", ids)
    truth.insert(1, "artefact", art)
    truth.insert(2, "n_cycles", n_cycles)
    truth["tau_elastic_s"], truth["tau_creep_s"], truth["tau_recovery_s"] = taus
    return curves, truth


def _curves(t, p, taus, art, n_cycles, on, off, read, fatigue):
    # a time constant shared by all curves is kept as one value: the basis functions are then 1 x samples
    tau_e, tau_c, tau_r = (x[:1, None] if np.all(x == x[0]) else x[:, None] for x in taus)
    linear = (art == "no_plateau")[:, None]
    any_linear = bool(linear.any())
    n = p["ue"].size
    y = np.zeros((n, t.size))
    pressure = np.zeros(t.size)
    base = np.zeros(n)
    period = on + off

    def elastic(x):
        return 1.0 - np.exp(-x / tau_e)

    def creep(x):
        c = 1.0 - np.exp(-x / tau_c)
        return np.where(linear, x / on, c) if any_linear else c

    def area(x, tau):  # integral of 1 - exp(-s / tau) over [0, x]
        return x - tau[:, 0] * (1.0 - np.exp(-x / tau[:, 0]))

    te, tc, tr_ = (np.broadcast_to(x, (n, 1)) for x in (tau_e, tau_c, tau_r))
    creep_area = np.where(linear[:, 0], on / 2.0, area(on, tc)) if any_linear else area(on, tc)
    peak = trough = None
    f2 = f4 = np.zeros(n)
    for k in range(n_cycles):
        sc = (1.0 + fatigue) ** k
        ue, uv, ur, ua = (sc * p[key] for key in ("ue", "uv", "ur", "ua"))
        uf = ue + uv
        ua_drawn = ua
        if k == n_cycles - 1:
            ua_drawn = np.where(art == "negative", base + uf + _SIZE["negative"], ua)
        s = t - k * period
        suck = (s >= -1e-9) & (s <= on + 1e-9)
        last = k == n_cycles - 1
        relax = (s > on + 1e-9) & ((s <= period + 1e-9) | last)
        pressure[(s > 1e-9) & (s <= on + 1e-9)] = 1.0
        r, T = np.array([[read]]), np.array([[on]])
        a, b = _solve(
            *(
                np.broadcast_to(f(x)[:, 0], (n,))
                for f, x in ((elastic, r), (creep, r), (elastic, T), (creep, T))
            ),
            ue,
            uf,
        )
        ss = s[suck][None, :]
        y[:, suck] = base[:, None] + a[:, None] * elastic(ss) + b[:, None] * creep(ss)
        rec = 1.0 - np.exp(-np.array([[read, off]]) / tau_r)
        el = 1.0 - np.exp(-np.array([[read, off]]) / tau_e)
        c, d = _solve(
            *(np.broadcast_to(x, (n,)) for x in (el[:, 0], rec[:, 0], el[:, 1], rec[:, 1])), ur, ua_drawn
        )
        u = (s[relax] - on)[None, :]
        y[:, relax] = (
            (base + uf)[:, None]
            - c[:, None] * (1 - np.exp(-u / tau_e))
            - d[:, None] * (1 - np.exp(-u / tau_r))
        )
        if k == 0:
            first = {"ue": ue, "uv": uv, "uf": uf, "ur": ur, "ua": ua}
            rec = c * area(off, te) + d * area(off, tr_)  # integral of the recovery d(t_off) - d
            first.update(
                f0=a * area(on, te) + b * creep_area,
                f1=uf * off - rec,
                q0=uf * off,
                q1=rec / (uf * off),
                q2=(c * area(read, te) + d * area(read, tr_) + ur * (off - read)) / (uf * off),
            )
        peak, trough = base + uf, base + uf - ua
        f2, f4 = f2 + trough * period, f4 + peak * period
        base = trough
    first.update(peak_last=peak, trough_last=trough, uf_first=first["uf"], f2=f2, f4=f4)
    truth = pd.DataFrame({name: d.compute(first) for name, d in PARAMETERS.items()})
    return y, pressure, truth


def simulate_cutometer_from_parameters(params: pd.DataFrame, *, seed=None, **options):
    """Simulate one curve per row of ``params``, given points or target R-parameters.

    ``params`` holds either ``ue, uv, ur, ua`` (mm) or the ratios ``r2, r5, r7`` with the size ``r0``
    (= Uf, mm; default 0.27 mm if absent). By the definitions (instruments.md 1.4): Uf = R0, Ua = R2 Uf,
    Ur = R7 Uf, Ue = Ur / R5, Uv = Uf - Ue; this needs R7 <= R5 (Ue <= Uf) and R7 <= R2 (Ur <= Ua).
    A ``measurement_id`` column, if present, names the curves; every other column (participant_id,
    visit, ...) is carried into ``truth``. ``options`` go to :func:`simulate_cutometer`.

    Examples
    --------
    >>> targets = pd.DataFrame({"participant_id": ["p1", "p2"], "r0": [0.25, 0.3],
    ...                         "r2": [0.75, 0.7], "r5": [0.7, 0.65], "r7": [0.45, 0.4]})
    >>> curves, truth = simulate_cutometer_from_parameters(targets, seed=1, noise_mm=0.0)
    >>> truth[["participant_id", "r2", "r5", "r7"]].round(3).to_numpy().tolist()
    [['p1', 0.75, 0.7, 0.45], ['p2', 0.7, 0.65, 0.4]]
    """
    df = params.reset_index(drop=True)
    if {"ue", "uv", "ur", "ua"} <= set(df.columns):
        pts = {k: df[k].to_numpy(dtype=float) for k in ("ue", "uv", "ur", "ua")}
    elif {"r2", "r5", "r7"} <= set(df.columns):
        uf = df["r0"].to_numpy(dtype=float) if "r0" in df else np.full(len(df), 0.27)
        ur = df["r7"].to_numpy(dtype=float) * uf
        ue = ur / df["r5"].to_numpy(dtype=float)
        pts = {"ue": ue, "uv": uf - ue, "ur": ur, "ua": df["r2"].to_numpy(dtype=float) * uf}
        bad = np.flatnonzero(~(ue <= uf) | ~(ur <= pts["ua"]))
        if bad.size:
            raise InputError(
                Problem(
                    "targets need R7 <= R5 and R7 <= R2",
                    row=int(bad[0]) + 2,
                    rows_affected=bad.size,
                    fix="check r2, r5, r7 of these rows",
                )
            )
    else:
        raise InputError(
            Problem(
                "params need columns ue, uv, ur, ua or r2, r5, r7 (and r0)",
                fix=f"columns given: {', '.join(map(str, df.columns))}",
            )
        )
    ids = df["measurement_id"].astype(str).tolist() if "measurement_id" in df else None
    curves, truth = simulate_cutometer(len(df), seed=seed, measurement_ids=ids, **pts, **options)
    extra = [c for c in df.columns if c not in truth.columns]
    return curves, pd.concat([df[extra], truth], axis=1)
