"""Points on the curve and quality checks, vectorised over all cycles and curves of a stack.

Values between samples are read by linear interpolation on the curve's uniform grid. The definitions
(formulas and thresholds) are those of :mod:`skintrial.instruments._cutometer_defs`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from skintrial.instruments._cutometer_cycles import Cycles
from skintrial.instruments._cutometer_stack import CurveStack

__all__ = ["cycle_points", "row_checks"]

_EPS = 1e-6
_MAD_D2 = 0.6744897501960817 * np.sqrt(6.0)  # median |2nd difference| of N(0, s^2) noise = s * this


def _at(s: CurveStack, rows: np.ndarray, t: np.ndarray) -> np.ndarray:
    """d(t) by linear interpolation (exact at the samples)."""
    pos = (t - s.t0[rows]) / s.dt[rows]
    i = np.clip(np.floor(pos + _EPS).astype(np.intp), 0, s.n[rows] - 2)
    f = np.clip(pos - i, 0.0, 1.0)
    return s.y[rows, i] * (1.0 - f) + s.y[rows, i + 1] * f


def _index(s: CurveStack, rows: np.ndarray, t: np.ndarray, *, up: bool) -> np.ndarray:
    pos = (t - s.t0[rows]) / s.dt[rows]
    i = np.ceil(pos - _EPS) if up else np.floor(pos + _EPS)
    return np.clip(i.astype(np.intp), 0, s.n[rows] - 1)


def _window(s: CurveStack, rows: np.ndarray, i0: np.ndarray, i1: np.ndarray):
    """Samples i0..i1 of each row as a (cycles, L) array with its mask and sample indices."""
    width = int(np.max(i1 - i0, initial=0)) + 1
    cols = i0[:, None] + np.arange(width)[None, :]
    mask = cols <= i1[:, None]
    cols = np.minimum(cols, i1[:, None])
    return s.y[rows[:, None], cols], mask, cols


def _slope(s: CurveStack, rows, vals, mask, cols):
    """Least-squares slope (mm/s) of each masked window, and sum of squares of its times."""
    t = cols * s.dt[rows][:, None]
    w = mask.astype(float)
    cnt = w.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        tm = (t * w).sum(axis=1) / cnt
        ym = (vals * w).sum(axis=1) / cnt
        tc = (t - tm[:, None]) * w
        sxx = (tc * tc).sum(axis=1)
        slope = (tc * (vals - ym[:, None])).sum(axis=1) / sxx
    return slope, sxx


def _abs_d2(vals, mask):
    d2 = np.abs(vals[:, 2:] - 2.0 * vals[:, 1:-1] + vals[:, :-2])
    return np.where(mask[:, 2:], d2, np.nan)


def _knee(s: CurveStack, rows, t_a, t_b, start, gain, sign):
    """Point of the phase [t_a, t_b] farthest from the chord of ``sign * (d - start)``."""
    i0, i1 = _index(s, rows, t_a, up=True), _index(s, rows, t_b, up=False)
    vals, mask, cols = _window(s, rows, i0, i1)
    t = s.t0[rows][:, None] + cols * s.dt[rows][:, None]
    moved = sign * (vals - start[:, None])
    with np.errstate(divide="ignore", invalid="ignore"):
        dist = moved - (t - t_a[:, None]) * (gain / (t_b - t_a))[:, None]
    j = np.argmax(np.where(mask, dist, -np.inf), axis=1)
    pick = np.arange(len(rows))
    return moved[pick, j], t[pick, j] - t_a


def cycle_points(s: CurveStack, c: Cycles, *, read_time_s: float, method: str,
                 thresholds: Mapping[str, float]) -> dict[str, np.ndarray]:
    """Per-cycle points (ue, uv, uf, ur, ua), absolute peak/trough, noise and cycle-level flags."""
    r = c.row
    b = _at(s, r, c.t_on)
    top = _at(s, r, c.t_off)
    bottom = _at(s, r, c.t_end)
    uf, ua = top - b, top - bottom
    if method == "inflection":
        ue, tr_on = _knee(s, r, c.t_on, c.t_off, b, uf, 1.0)
        ur, tr_off = _knee(s, r, c.t_off, c.t_end, top, ua, -1.0)
    else:
        tr_on = tr_off = np.full(r.size, read_time_s)
        ue = _at(s, r, c.t_on + read_time_s) - b
        ur = top - _at(s, r, c.t_off + read_time_s)
    first = np.r_[True, r[1:] != r[:-1]] if r.size else np.zeros(0, dtype=bool)
    b1 = np.repeat(b[first], np.diff(np.r_[np.flatnonzero(first), r.size]))
    out = {"baseline": b, "ue": ue, "uv": uf - ue, "uf": uf, "ur": ur, "ua": ua,
           "peak": top - b1, "trough": bottom - b1, "t_read_on": tr_on, "t_read_off": tr_off}
    out.update(_cycle_checks(s, c, uf, read_time_s, thresholds))
    return out


def _cycle_checks(s, c, uf, read_time_s, th):
    r = c.row
    suction, relax = c.t_off - c.t_on, c.t_end - c.t_off
    a0 = _index(s, r, c.t_off - th["plateau_window"] * suction, up=True)
    a1 = _index(s, r, c.t_off, up=False)
    e0 = _index(s, r, c.t_end - th["drift_window"] * relax, up=True)
    e1 = _index(s, r, c.t_end, up=False)
    v_a, m_a, k_a = _window(s, r, a0, a1)
    v_e, m_e, k_e = _window(s, r, e0, e1)
    d2 = np.concatenate([_abs_d2(v_a, m_a), _abs_d2(v_e, m_e)], axis=1)
    with np.errstate(all="ignore"):
        noise = (np.median(d2, axis=1) if not np.isnan(d2).any() else np.nanmedian(d2, axis=1)) / _MAD_D2
        rise, sxx_a = _slope(s, r, v_a, m_a, k_a)
        tail, sxx_e = _slope(s, r, v_e, m_e, k_e)
        no_plateau = rise > np.maximum(th["plateau_slope"] * uf, 4.0 * noise / np.sqrt(sxx_a))
        drift = np.abs(tail) > np.maximum(th["drift_slope"] * np.abs(uf), 4.0 * noise / np.sqrt(sxx_e))
    dt = s.dt[r]
    few = ((np.floor(suction / dt + _EPS) + 1 < th["min_phase_samples"])
           | (np.floor(relax / dt + _EPS) + 1 < th["min_phase_samples"]) | (dt > read_time_s / 2 + _EPS))
    return {"noise": noise, "no_plateau": no_plateau, "drift": drift, "too_few_samples": few}


def row_checks(s: CurveStack, c: Cycles, pts: Mapping[str, np.ndarray],
               thresholds: Mapping[str, float]) -> dict[str, np.ndarray]:
    """Curve-level flags: negative deformation, clipping, probe slip (rows without cycles: False)."""
    th = thresholds
    g = len(s.n)
    has = np.bincount(c.row, minlength=g) > 0
    first = np.r_[True, c.row[1:] != c.row[:-1]] if c.row.size else np.zeros(0, dtype=bool)
    b1, uf1 = np.full(g, np.nan), np.full(g, np.nan)
    b1[c.row[first]], uf1[c.row[first]] = pts["baseline"][first], pts["uf"][first]
    noise = np.bincount(c.row, weights=pts["noise"], minlength=g) / np.maximum(
        np.bincount(c.row, minlength=g), 1)
    out = {name: np.zeros(g, dtype=bool) for name in ("negative_deformation", "clipped", "probe_slip")}
    if not has.any():
        return out
    y = s.y
    with np.errstate(invalid="ignore"):
        tol = np.maximum(th["negative_noise"] * noise, th["negative_fraction"] * np.abs(uf1))
        cand = np.flatnonzero(has & (y.min(axis=1) < b1 - tol))
    if cand.size:
        sub = y[cand]
        cs = np.cumsum(np.pad(sub, ((0, 0), (1, 0))), axis=1)
        mean5 = (cs[:, 5:] - cs[:, :-5]) / 5.0
        valid = np.arange(mean5.shape[1])[None, :] < (s.n[cand] - 4)[:, None]
        smooth = np.where(valid, mean5, np.inf).min(axis=1, initial=np.inf)
        out["negative_deformation"][cand] = smooth < (b1 - tol)[cand]
    out["clipped"] = _clipped(s, has, th)
    out["probe_slip"] = _slip(s, c, has, noise, uf1, th)
    return out


def _clipped(s: CurveStack, has: np.ndarray, th) -> np.ndarray:
    y = s.y
    top = y.max(axis=1)
    at_top = y >= (top - 1e-9 * np.maximum(1.0, np.abs(top)))[:, None]
    need = np.maximum(th["clip_min_samples"], np.ceil(th["clip_min_s"] / s.dt - _EPS))
    out = np.zeros(len(s.n), dtype=bool)
    cand = np.flatnonzero(has & (at_top.sum(axis=1) >= need))
    if cand.size:
        hit = at_top[cand] & (np.arange(y.shape[1])[None, :] < s.n[cand][:, None])
        run = np.cumsum(hit, axis=1)
        reset = np.maximum.accumulate(np.where(hit, 0, run), axis=1)
        out[cand] = (run - reset).max(axis=1) >= need[cand]
    return out


def _slip(s: CurveStack, c: Cycles, has, noise, uf1, th) -> np.ndarray:
    step = np.abs(np.diff(s.y, axis=1))
    r = c.row
    guard = np.maximum(np.ceil(th["slip_guard_s"] / s.dt[r] - _EPS), 3).astype(np.intp)
    width = int(guard.max(initial=0)) + 1
    m = step.shape[1]
    for t in (c.t_on, c.t_off):
        i0 = _index(s, r, t, up=False)
        cols = i0[:, None] + np.arange(width)[None, :]
        cols = np.where(cols <= (i0 + guard)[:, None], np.minimum(cols, m - 1), i0[:, None])
        step[r[:, None], np.minimum(cols, m - 1)] = 0.0
    with np.errstate(invalid="ignore"):
        limit = np.maximum(th["slip_noise"] * np.sqrt(2.0) * noise, th["slip_fraction"] * np.abs(uf1))
        return has & (step.max(axis=1, initial=0.0) > limit)
