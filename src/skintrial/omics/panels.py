"""Serum panels (cytokines, hormones, metabolites): LOD handling, PQN, log scale, per-analyte trial analysis.

The steps, each a public function:

1. :func:`read_panel` — a long table ``participant_id, visit, analyte, value [, lod, panel, unit]``
   with below-limit markers (``<LOD``, ``<0.12``), checked with file / row / column errors;
2. :func:`prepare_panel` — per panel, optional PQN (metabolomics; Dieterle 2006), then the values below
   the LOD (``lod_sqrt2`` substitution by default, or the censored-normal model), then the log
   transform (``log2`` by default), with the below-LOD count of every analyte;
3. :func:`panel_analysis` — every analyte through the batched ANCOVA of follow-up on baseline and arm
   (:func:`skintrial.stats.ancova`, one call for the whole panel) and the within-arm change (paired t
   on the log scale, from :func:`skintrial.stats.within_arm_change`), with Benjamini–Hochberg within
   each panel (per contrast, and per arm for the changes). With a cluster ``client`` the analytes'
   models run in chunks of analytes (:mod:`skintrial.stats._ancova_chunks`); the rest stays here.

Why log2: cytokine and metabolite concentrations are right-skewed and act multiplicatively, so a
difference on the log scale is a ratio of geometric means (``ratio = 2^estimate``), the convention of
Olink NPX and of limma-style omics tables. Use ``log="none"`` for data already on a log scale (NPX).

The formulas and sources are in ``docs/panels.md``; the checks (statsmodels OLS per analyte, scipy's
paired t, R ``survival::survreg`` for the censored model, literal PQN) in ``tests/omics/test_panels.py``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from skintrial.cluster import InProcess, as_runner
from skintrial.errors import InputError, Problem
from skintrial.omics._panels_io import as_panel, read_panel
from skintrial.omics._panels_lod import LOD_METHODS, censored_normal, substitute
from skintrial.omics._panels_pqn import pqn_factors
from skintrial.omics._panels_schema import (
    LOD_COLUMNS,
    PANEL_COLUMNS,
    PQN_COLUMNS,
    PREPARED_COLUMNS,
    SERUM_ANCOVA_COLUMNS,
    SERUM_CHANGE_COLUMNS,
)
from skintrial.stats import ancova_and_change_in_chunks, default_visit_order, followup_visit_of

__all__ = [
    "LOG_SCALES",
    "LOD_METHODS",
    "PreparedPanel",
    "PanelResult",
    "read_panel",
    "as_panel",
    "prepare_panel",
    "panel_analysis",
]

LOG_SCALES = {"log2": 2.0, "log10": 10.0, "ln": math.e, "none": float("nan")}


@dataclass(frozen=True)
class PreparedPanel:
    """A panel ready for analysis.

    Attributes
    ----------
    values : DataFrame
        :data:`~skintrial.omics._panels_schema.PREPARED_COLUMNS`: transformed values, censored entries
        replaced as the method says.
    lod : DataFrame
        One row per analyte, :data:`~skintrial.omics._panels_schema.LOD_COLUMNS` (``tested`` and the
        final ``status`` are filled by :func:`panel_analysis`).
    pqn : DataFrame
        Dilution factors per sample and normalised panel, :data:`~skintrial.omics._panels_schema.PQN_COLUMNS`.
    """

    values: pd.DataFrame
    lod: pd.DataFrame
    pqn: pd.DataFrame


@dataclass(frozen=True)
class PanelResult:
    """Everything :func:`panel_analysis` produced: ``ancova``, ``change``, ``lod``, ``values``, ``pqn``."""

    ancova: pd.DataFrame
    change: pd.DataFrame
    lod: pd.DataFrame
    values: pd.DataFrame
    pqn: pd.DataFrame


@dataclass(frozen=True)
class _Grid:
    """A panel laid out as analytes × samples."""

    keys: pd.DataFrame  # panel, analyte, unit (K rows)
    samples: pd.DataFrame  # participant_id, visit (S rows)
    value: np.ndarray  # (K, S)
    lod: np.ndarray
    below: np.ndarray
    present: np.ndarray
    row: np.ndarray
    k_code: np.ndarray  # (rows,) analyte of each input row
    s_code: np.ndarray  # (rows,) sample of each input row


def _pair_codes(a: pd.Series, b: pd.Series) -> tuple[np.ndarray, pd.DataFrame]:
    """Codes of the distinct (a, b) pairs in order of first appearance, and the pairs themselves."""
    ca, ua = pd.factorize(a)
    cb, ub = pd.factorize(b)
    code, first = pd.factorize(ca.astype(np.int64) * max(len(ub), 1) + cb)
    pairs = pd.DataFrame(
        {
            "a": np.asarray(ua, dtype=object)[first // max(len(ub), 1)],
            "b": np.asarray(ub, dtype=object)[first % max(len(ub), 1)],
        }
    )
    return code, pairs


def _grid(panel: pd.DataFrame) -> _Grid:
    k_code, k_pairs = _pair_codes(panel["panel"], panel["analyte"])
    s_code, s_pairs = _pair_codes(panel["participant_id"], panel["visit"])
    K, S = len(k_pairs), len(s_pairs)

    def mat(col: str, fill, dtype) -> np.ndarray:
        out = np.full((K, S), fill, dtype=dtype)
        out[k_code, s_code] = panel[col].to_numpy(dtype=dtype)
        return out

    present = np.zeros((K, S), dtype=bool)
    present[k_code, s_code] = True
    first_row = np.full(K, -1)
    first_row[k_code[::-1]] = np.arange(len(panel))[::-1]
    keys = pd.DataFrame(
        {
            "panel": k_pairs["a"].astype(str),
            "analyte": k_pairs["b"].astype(str),
            "unit": panel["unit"].to_numpy()[first_row],
        }
    )
    samples = pd.DataFrame({"participant_id": s_pairs["a"].astype(str), "visit": s_pairs["b"].astype(str)})
    return _Grid(
        keys=keys,
        samples=samples,
        value=mat("value", np.nan, float),
        lod=mat("lod", np.nan, float),
        below=mat("below_lod", False, bool),
        present=present,
        row=mat("row", 0, np.int64),
        k_code=np.asarray(k_code),
        s_code=np.asarray(s_code),
    )


def _pqn(
    g: _Grid, panels: Sequence[str], reference: str, total_area: bool
) -> tuple[np.ndarray, pd.DataFrame]:
    """Divide the PQN panels' values and limits by each sample's dilution factor."""
    factor = np.ones(g.value.shape)
    rows = []
    for name in panels:
        k = (g.keys["panel"] == name).to_numpy()
        if not k.any():
            raise InputError(
                Problem(
                    f"PQN asked for panel '{name}', which is not in the data "
                    f"(panels: {sorted(set(g.keys['panel']))})",
                    column="panel",
                    fix="name a panel of the file, as written in its 'panel' column",
                )
            )
        s = g.present[k].any(axis=0)
        detected = np.where(g.present[k] & ~g.below[k], g.value[k], np.nan)[:, s].T
        fit = pqn_factors(detected, reference=reference, total_area=total_area)
        factor[np.ix_(k, s)] = fit.factors[None, :]
        rows.append(
            g.samples.loc[s].assign(panel=name, dilution_factor=fit.factors, n_quotients=fit.n_quotients)
        )
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=list(PQN_COLUMNS))
    return factor, table[list(PQN_COLUMNS)]


def _transform(x: np.ndarray, log: str) -> np.ndarray:
    if log == "none":
        return x
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x) / np.log(LOG_SCALES[log])


def _check_positive(g: _Grid, value: np.ndarray, lod: np.ndarray, file: str | None) -> None:
    problems = []
    for what, bad, column in (
        ("value", g.present & ~g.below & (value <= 0), "value"),
        ("limit of detection", g.present & g.below & ~(lod > 0), "lod"),
    ):
        if bad.any():
            k, s = np.argwhere(bad)[0]
            problems.append(
                Problem(
                    f"a {what} of 0 or less cannot be log-transformed",
                    file=file,
                    row=int(g.row[k, s]),
                    column=column,
                    value=float(value[k, s] if column == "value" else lod[k, s]),
                    rows_affected=int(bad.sum()),
                    fix="mark values below the detection limit as '<LOD' with their limit, or use log = 'none' "
                    "for data already on a log scale",
                )
            )
    InputError.collect(problems)


def _cells(g: _Grid, data: pd.DataFrame, arm: str | None) -> np.ndarray:
    """Cell code (arm × visit, or visit) of every sample, for the censored-normal model."""
    labels = g.samples["visit"]
    if arm is not None and arm in data.columns:
        arms = data.drop_duplicates("participant_id").set_index("participant_id")[arm].astype(str)
        labels = labels + "\x1f" + g.samples["participant_id"].map(arms).fillna("")
    return pd.factorize(labels)[0]


def _lod_table(g: _Grid, method: str, status: np.ndarray) -> pd.DataFrame:
    measured = g.present & (np.isfinite(g.value) | g.below)
    n_values = measured.sum(axis=1)
    n_below = (g.present & g.below).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # analytes without limits: NaN, as intended
        lod = np.nanmedian(np.where(g.present, g.lod, np.nan), axis=1)
        frac = np.where(n_values > 0, n_below / np.maximum(n_values, 1), np.nan)
    return pd.DataFrame(
        {
            "analyte": g.keys["analyte"],
            "panel": g.keys["panel"],
            "unit": g.keys["unit"],
            "lod": lod,
            "n_values": n_values,
            "n_below_lod": n_below,
            "fraction_below_lod": frac,
            "n_missing": (g.present & ~measured).sum(axis=1),
            "method": method,
            "tested": False,
            "status": status,
        },
        columns=list(LOD_COLUMNS),
    )


def _handle_lod(g, value, lod, below_lod, log, cells) -> tuple[np.ndarray, np.ndarray]:
    """Transformed values with the censored entries replaced; per-analyte status."""
    has_below = (g.present & g.below).any(axis=1)
    status = np.where(has_below, "ok", "ok").astype(object)
    if below_lod != "censored_normal":
        return _transform(substitute(value, g.below & g.present, lod, below_lod), log), status
    y = np.where(g.below, np.nan, _transform(value, log))
    fallback = _transform(substitute(value, g.below & g.present, lod, "lod_sqrt2"), log)
    fit = censored_normal(y, g.below & g.present, _transform(lod, log), cells, fallback=fallback)
    status[has_below & ~fit.fitted] = "fallback_lod_sqrt2"
    status[fit.fitted & ~fit.converged] = "censored_normal_not_converged"
    return fit.values, status


def prepare_panel(
    data: pd.DataFrame,
    *,
    log: str = "log2",
    below_lod: str = "lod_sqrt2",
    pqn: Sequence[str] = (),
    pqn_reference: str = "median",
    pqn_total_area: bool = False,
    arm: str | None = "arm",
) -> PreparedPanel:
    """PQN (chosen panels), below-LOD handling and the log transform, batched over analytes.

    Parameters
    ----------
    data : DataFrame
        A panel as returned by :func:`read_panel` (or any long table :func:`as_panel` accepts), with
        an ``arm`` column when ``below_lod="censored_normal"`` should fit arm × visit cells.
    log : {"log2", "log10", "ln", "none"}
        The analysis scale. Values and limits must be positive unless ``"none"``.
    below_lod : {"lod_sqrt2", "lod_half", "lod", "censored_normal", "missing"}
        Substitution by LOD/√2 (default), LOD/2 or LOD; the censored-normal conditional mean (see
        :mod:`skintrial.omics._panels_lod`); or leave censored entries missing.
    pqn : sequence of str
        Panels to normalise by PQN (e.g. ``["metabolites"]``); on the linear scale, before the log.
    pqn_reference : {"median", "mean"}
        The reference profile over all samples.
    pqn_total_area : bool
        Total-area normalisation before the quotients (Dieterle's step 1).
    arm : str or None
        Column with each participant's arm (cells of the censored-normal model).

    Returns
    -------
    PreparedPanel

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"participant_id": ["a", "a", "b", "b"], "visit": ["w0", "w1"] * 2,
    ...                   "analyte": "IL6", "value": ["4", "<LOD", "2", "8"], "lod": 1.0})
    >>> prep = prepare_panel(d)
    >>> prep.values["value"].round(3).tolist()
    [2.0, -0.5, 1.0, 3.0]
    >>> prep.lod[["analyte", "n_below_lod", "fraction_below_lod"]].to_dict("records")
    [{'analyte': 'IL6', 'n_below_lod': 1, 'fraction_below_lod': 0.25}]
    """
    problems = []
    if log not in LOG_SCALES:
        problems.append(Problem(f"unknown log scale {log!r}", fix=f"use one of {list(LOG_SCALES)}"))
    if below_lod not in LOD_METHODS:
        problems.append(
            Problem(f"unknown below-LOD method {below_lod!r}", fix=f"use one of {list(LOD_METHODS)}")
        )
    if pqn and log == "none":
        problems.append(
            Problem(
                "PQN needs intensities on the linear scale, but log = 'none' says the values are "
                "already transformed",
                fix="give linear intensities with log = 'log2', or drop PQN",
            )
        )
    InputError.collect(problems)
    file = data.attrs.get("file")
    panel = (
        data if list(data.columns[: len(PANEL_COLUMNS)]) == list(PANEL_COLUMNS) else as_panel(data, file=file)
    )
    g = _grid(panel)
    factor, pqn_table = _pqn(g, list(pqn), pqn_reference, pqn_total_area)
    value, lod = g.value / factor, g.lod / factor
    if log != "none":
        _check_positive(g, value, lod, file)
    values, status = _handle_lod(g, value, lod, below_lod, log, _cells(g, data, arm))
    k, s = g.k_code, g.s_code  # the input's row order
    long = pd.DataFrame(
        {
            "participant_id": g.samples["participant_id"].to_numpy()[s],
            "visit": g.samples["visit"].to_numpy()[s],
            "panel": g.keys["panel"].to_numpy()[k],
            "analyte": g.keys["analyte"].to_numpy()[k],
            "value": values[k, s],
            "below_lod": g.below[k, s],
            "scale": log,
        },
        columns=list(PREPARED_COLUMNS),
    )
    return PreparedPanel(values=long, lod=_lod_table(g, below_lod, status), pqn=pqn_table)


def _bh(table: pd.DataFrame, by: list[str]) -> pd.Series:
    from skintrial.stats import p_adjust

    out = pd.Series(np.nan, index=table.index)
    for _, idx in table.groupby(by, sort=False).groups.items():
        out.loc[idx] = p_adjust(table.loc[idx, "p"].to_numpy(), "bh")
    return out


def _ratio(x: np.ndarray | pd.Series, log: str) -> np.ndarray:
    return (
        np.asarray(LOG_SCALES[log] ** np.asarray(x, dtype=float))
        if log != "none"
        else np.full(len(x), np.nan)
    )


def _per_analyte(long, *, baseline_visit, followup_visit, arms, reference_arm, covariates, ci_level, runner):
    """The ANCOVA contrasts and the within-arm changes of every analyte (``outcome``) of ``long``: here,
    or on a cluster in chunks of analytes (:mod:`skintrial.stats._ancova_chunks`)."""
    from skintrial.stats import ancova, within_arm_change

    common = dict(baseline_visit=baseline_visit, followup_visit=followup_visit, arms=arms, ci_level=ci_level)
    if not isinstance(runner, InProcess):
        return ancova_and_change_in_chunks(
            long, reference_arm=reference_arm, covariates=covariates, runner=runner, **common
        )
    res = ancova(long, reference_arm=reference_arm, covariates=covariates, **common)
    return res.contrasts, within_arm_change(long, **common)


def _ancova_table(t: pd.DataFrame, keys: pd.DataFrame, log: str) -> pd.DataFrame:
    k = t["outcome"].astype(int).to_numpy()
    t = t.assign(
        analyte=keys["analyte"].to_numpy()[k],
        panel=keys["panel"].to_numpy()[k],
        scale=log,
        ratio=_ratio(t["estimate"], log),
        ratio_low=_ratio(t["ci_low"], log),
        ratio_high=_ratio(t["ci_high"], log),
    )
    t["family"] = t["panel"] + ": " + t["contrast"]
    t["p_adj"] = _bh(t, ["panel", "contrast"])
    t["p_adj_method"] = "bh"
    return t[list(SERUM_ANCOVA_COLUMNS)]


def _change_table(c: pd.DataFrame, keys: pd.DataFrame, log: str) -> pd.DataFrame:
    from skintrial.stats import t_pvalue

    k = c["outcome"].astype(int).to_numpy()
    n = c["n"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = c["sd_change"].to_numpy() / np.sqrt(n)
        t = np.where(se > 0, c["mean_change"].to_numpy() / se, np.nan)
    df = np.where(n > 1, n - 1, np.nan)
    c = c.assign(
        analyte=keys["analyte"].to_numpy()[k],
        panel=keys["panel"].to_numpy()[k],
        se=se,
        df=df,
        t=t,
        p=t_pvalue(t, df),
        scale=log,
        ratio=_ratio(c["mean_change"], log),
    )
    c["family"] = c["panel"] + ": " + c["arm"].astype(str) + " change"
    c["p_adj"] = _bh(c, ["panel", "arm"])
    c["p_adj_method"] = "bh"
    return c[list(SERUM_CHANGE_COLUMNS)]


def panel_analysis(
    data: pd.DataFrame,
    *,
    baseline_visit: str,
    followup_visit: str | None = None,
    arms: Sequence[str] | None = None,
    reference_arm: str | None = None,
    covariates: Sequence[str] = (),
    arm: str = "arm",
    log: str = "log2",
    below_lod: str = "lod_sqrt2",
    max_below_lod: float = 0.5,
    pqn: Sequence[str] = (),
    pqn_reference: str = "median",
    pqn_total_area: bool = False,
    ci_level: float = 0.95,
    visits: Sequence[str] | None = None,
    client: Any = None,
) -> PanelResult:
    """Per-analyte trial analysis of a serum panel: ANCOVA on follow-up with baseline, within-arm change, BH.

    Parameters
    ----------
    data : DataFrame
        A long panel (``participant_id, visit, analyte, value`` [``, lod, panel, unit``]) with each
        participant's ``arm`` (and covariates) on every row.
    baseline_visit, followup_visit : str
        The visits compared. Without ``followup_visit``: the last visit of ``visits`` present in the
        data when given, else the only visit besides the baseline; with several and no declared
        order it must be named (:func:`skintrial.stats.followup_visit_of`, as
        :func:`skintrial.stats.ancova`).
    arms, reference_arm, covariates, ci_level
        As in :func:`skintrial.stats.ancova`: contrasts ``ARM - REFERENCE`` (all pairs without one).
    log, below_lod, pqn, pqn_reference, pqn_total_area
        As in :func:`prepare_panel`.
    max_below_lod : float
        Analytes with a larger fraction of values below the LOD are counted in the LOD table but not
        tested (status ``too_many_below_lod``); 1.0 tests every analyte with detected values.
    visits : sequence of str, optional
        The declared visit order (a study's ``[study] visits``); its last visit present in the data is
        the default follow-up.
    client : optional
        A ``distributed.Client``, a :mod:`skintrial.cluster` runner, or None for this process. On a
        cluster the tested analytes' ANCOVA and within-arm change run in chunks of analytes
        (:mod:`skintrial.stats._ancova_chunks`); PQN, the LOD handling and Benjamini–Hochberg, which
        need every analyte, run here. The tables equal this process's (the ANCOVA's floating-point
        columns to 1e-12 relative: :mod:`~skintrial.stats._ancova_chunks` says why).

    Returns
    -------
    PanelResult
        ``ancova`` (:data:`~skintrial.omics._panels_schema.SERUM_ANCOVA_COLUMNS`): one batched ANCOVA
        for every analyte, Benjamini–Hochberg within each panel × contrast; ``change``
        (:data:`~skintrial.omics._panels_schema.SERUM_CHANGE_COLUMNS`): mean change within each arm with
        the paired t test (t = mean / (SD/√n), n − 1 df), BH within each panel × arm — a description,
        not the treatment test; ``lod``; ``values``; ``pqn``.

    Notes
    -----
    The ANCOVA is :func:`skintrial.stats.ancova` itself, called once with the analytes as outcomes;
    checked against statsmodels OLS per analyte in ``tests/omics/test_panels.py``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> rows = []
    >>> for i in range(12):
    ...     arm, base = ("AT", "RT")[i % 2], rng.normal(3, 0.5, 3)
    ...     for visit, shift in (("week0", 0.0), ("week16", 0.8 * (arm == "RT"))):
    ...         for j, name in enumerate(["IL6", "CCL28", "CXCL4"]):
    ...             rows.append((f"P{i}", arm, visit, name, 2 ** (base[j] + shift + rng.normal(0, .2))))
    >>> d = pd.DataFrame(rows, columns=["participant_id", "arm", "visit", "analyte", "value"])
    >>> res = panel_analysis(d, baseline_visit="week0", reference_arm="AT")
    >>> res.ancova[["analyte", "contrast"]].to_dict("list")
    {'analyte': ['IL6', 'CCL28', 'CXCL4'], 'contrast': ['RT - AT', 'RT - AT', 'RT - AT']}
    >>> res.ancova["ratio"].round(2).tolist()  # adjusted geometric-mean ratios RT / AT (true: 2^0.8 = 1.74)
    [1.35, 1.42, 2.01]
    """
    if not 0.0 <= max_below_lod <= 1.0:
        raise InputError(
            Problem(
                "max_below_lod must be a fraction between 0 and 1",
                value=max_below_lod,
                fix="e.g. 0.5: analytes with more than half the values below the LOD are not tested",
            )
        )
    if arm not in data.columns:
        raise InputError(
            Problem(
                f"no '{arm}' column: the panel needs each participant's arm",
                column=arm,
                fix="join the participants' arms onto the panel rows",
            )
        )
    prep = prepare_panel(
        data,
        log=log,
        below_lod=below_lod,
        pqn=pqn,
        pqn_reference=pqn_reference,
        pqn_total_area=pqn_total_area,
        arm=arm,
    )
    lod = prep.lod.copy()
    too_many = lod["fraction_below_lod"].to_numpy() > max_below_lod
    none = lod["n_below_lod"].to_numpy() >= lod["n_values"].to_numpy()
    lod.loc[too_many, "status"] = "too_many_below_lod"
    lod.loc[none, "status"] = "no_detected_values"
    lod["tested"] = ~(too_many | none)
    keys = lod[["panel", "analyte"]].reset_index(drop=True)
    k = _pair_codes(prep.values["panel"], prep.values["analyte"])[0]  # the same first-appearance order as lod
    width = len(str(len(keys)))
    names = np.array([f"{i:0{width}d}" for i in range(len(keys))], dtype=object)
    subj = data.drop_duplicates("participant_id").astype({"participant_id": str})
    long = prep.values.assign(outcome=names[k]).loc[lod["tested"].to_numpy()[k]]
    long = long.merge(subj[["participant_id", arm, *covariates]], on="participant_id", how="left")
    long = long.rename(columns={arm: "arm"}) if arm != "arm" else long
    if followup_visit is None:
        present = default_visit_order(data["visit"], column="visit")
        followup_visit = followup_visit_of(present, baseline_visit, None, column="visit", declared=visits)
    if long.empty:
        anc = pd.DataFrame(columns=list(SERUM_ANCOVA_COLUMNS))
        chg = pd.DataFrame(columns=list(SERUM_CHANGE_COLUMNS))
    else:
        contrasts, change = _per_analyte(
            long,
            baseline_visit=baseline_visit,
            followup_visit=followup_visit,
            arms=arms,
            reference_arm=reference_arm,
            covariates=covariates,
            ci_level=ci_level,
            runner=as_runner(client),
        )
        anc, chg = _ancova_table(contrasts, keys, log), _change_table(change, keys, log)
    return PanelResult(ancova=anc, change=chg, lod=lod, values=prep.values, pqn=prep.pqn)
