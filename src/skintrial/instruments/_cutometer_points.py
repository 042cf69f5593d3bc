"""Points on the curve and quality checks, vectorised over all cycles and curves of a stack.

Values between samples are read by linear interpolation on the curve's uniform grid. The definitions
(formulas and thresholds) are those of :mod:`skintrial.instruments._cutometer_defs`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from skintrial.instruments._cutometer_cycles import Cycles
from skintrial.instruments._cutometer_stack import CurveStack

__all__ = ["cycle_points", "row_checks", "largest_step"]

_EPS = 1e-6
_BLOCK = 8192
_GROUPS = 4  # groups of cycles sharing their end-of-phase windows (_cycle_checks)
# Noise SD from second differences: E[(d[i-1] - 2 d[i] + d[i+1])^2] = 6 s^2 for white noise of SD s.
# Both end-of-phase windows are averaged; when one is more than twice the other (a step, i.e. a probe
# slip, inside it), the smaller is taken.
_MEAN_D2 = np.sqrt(6.0)


def _at(s: CurveStack, rows: np.ndarray, t: np.ndarray) -> np.ndarray:
    """d(t) by linear interpolation (exact at the samples)."""
    pos = (t - s.t0[rows]) / s.dt[rows]
    i = np.clip(np.floor(pos + _EPS).astype(np.intp), 0, s.n[rows] - 2)
    f = np.clip(pos - i, 0.0, 1.0)
    return s.y[rows, i] * (1.0 - f) + s.y[rows, i + 1] * f


def _position(s: CurveStack, rows: np.ndarray, t: np.ndarray):
    """Sample index ``i`` left of ``t``, the fraction ``f`` to the next sample, and the partial
    trapezoid area from sample ``i`` to ``t`` (in sample units: times ``dt`` gives mm s)."""
    pos = (t - s.t0[rows]) / s.dt[rows]
    i = np.clip(np.floor(pos + _EPS).astype(np.intp), 0, s.n[rows] - 2)
    f = np.clip(pos - i, 0.0, 1.0)
    yi = s.y[rows, i]
    return i, 0.5 * f * (2.0 * yi + (s.y[rows, i + 1] - yi) * f)


def _areas(s: CurveStack, c: Cycles, b, top, uf, ur, tr_off) -> dict[str, np.ndarray]:
    """F0, F1, Q0-Q2 per cycle: integrals of the linear interpolant (the trapezoid rule, exact at
    phase times between samples). The sums of samples between the phase boundaries of every cycle
    come from one ``np.add.reduceat`` pass over the chunk (no cumulative array is written)."""
    r = c.row
    if not r.size:
        return {k: np.zeros(0) for k in ("f0", "f1", "q0", "q1", "q2")}
    (i_on, p_on), (i_off, p_off), (i_rd, p_rd), (i_end, p_end) = (
        _position(s, r, t) for t in (c.t_on, c.t_off, c.t_off + tr_off, c.t_end)
    )
    width = s.y.shape[1]
    bounds = (r[:, None] * width + np.column_stack([i_on, i_off, i_rd, i_end])).ravel()
    sums = np.add.reduceat(s.y.reshape(-1), bounds)
    sums[:-1][bounds[:-1] >= bounds[1:]] = 0.0  # an empty segment: reduceat gives the element instead
    sums = sums.reshape(-1, 4)  # [on, off), [off, read), [read, end), ignored

    def y(i):
        return s.y[r, i]

    dt = s.dt[r]
    # integral from t1 to t2 = dt (sum of samples i1..i2-1 + (y[i2] - y[i1]) / 2 + partial(t2) - partial(t1))
    a_suction = dt * (sums[:, 0] + 0.5 * (y(i_off) - y(i_on)) + p_off - p_on)
    a_read = dt * (sums[:, 1] + 0.5 * (y(i_rd) - y(i_off)) + p_rd - p_off)
    a_relax = dt * (sums[:, 1] + sums[:, 2] + 0.5 * (y(i_end) - y(i_off)) + p_end - p_off)
    suction, relax = c.t_off - c.t_on, c.t_end - c.t_off
    q0 = uf * relax
    with np.errstate(divide="ignore", invalid="ignore"):
        q1 = (top * relax - a_relax) / q0
        q2 = (top * tr_off - a_read + ur * (relax - tr_off)) / q0
    return {"f0": a_suction - b * suction, "f1": a_relax - b * relax, "q0": q0, "q1": q1, "q2": q2}


def _index(s: CurveStack, rows: np.ndarray, t: np.ndarray, *, up: bool) -> np.ndarray:
    pos = (t - s.t0[rows]) / s.dt[rows]
    i = np.ceil(pos - _EPS) if up else np.floor(pos + _EPS)
    return np.clip(i.astype(np.intp), 0, s.n[rows] - 1)


def _window(s: CurveStack, rows: np.ndarray, i0: np.ndarray, i1: np.ndarray):
    """Samples i0..i1 of each row as a (cycles, L) array with its mask (None: all valid) and indices."""
    width = int(np.max(i1 - i0, initial=0)) + 1
    if i0.size and np.all(i0 == i0[0]) and np.all(i1 == i1[0]):  # one window for all: a slice
        cols = np.broadcast_to(np.arange(i0[0], i1[0] + 1), (i0.size, width))
        mask = None
        if rows[-1] - rows[0] + 1 == rows.size and np.all(np.diff(rows) == 1):  # consecutive rows: a view
            return s.y[rows[0] : rows[-1] + 1, i0[0] : i1[0] + 1], mask, cols
        return s.y[rows, i0[0] : i1[0] + 1], mask, cols
    cols = i0[:, None] + np.arange(width)[None, :]
    mask = cols <= i1[:, None]
    cols = np.minimum(cols, i1[:, None])
    return s.y[rows[:, None], cols], mask, cols


def _slope(s: CurveStack, rows, vals, mask, cols):
    """Least-squares slope (mm/s) of each masked window, and sum of squares of its times."""
    if mask is None and rows.size and np.all(s.dt[rows] == s.dt[rows[0]]):  # same window: one product
        t = cols[0] * s.dt[rows[0]]
        tc = t - t.mean()
        sxx = float(tc @ tc)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.einsum("ij,j->i", vals, tc) / sxx, np.full(rows.size, sxx)  # no BLAS threads
    t = cols * s.dt[rows][:, None]
    w = np.ones(vals.shape) if mask is None else mask.astype(float)
    cnt = w.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        tm = (t * w).sum(axis=1) / cnt
        ym = (vals * w).sum(axis=1) / cnt
        tc = (t - tm[:, None]) * w
        sxx = (tc * tc).sum(axis=1)
        slope = (tc * (vals - ym[:, None])).sum(axis=1) / sxx
    return slope, sxx


def _rms_d2(vals, mask):
    """Root mean square of the second differences of each window (masked: valid triples only)."""
    d2 = np.add(vals[:, 2:], vals[:, :-2])
    d2 -= vals[:, 1:-1]
    d2 -= vals[:, 1:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        if mask is None:
            return (
                np.sqrt(np.einsum("ij,ij->i", d2, d2) / d2.shape[1])
                if d2.shape[1]
                else np.full(len(d2), np.nan)
            )
        d2 = np.where(mask[:, 2:], d2, 0.0)
        return np.sqrt(np.einsum("ij,ij->i", d2, d2) / mask[:, 2:].sum(axis=1))


def _smooth(vals: np.ndarray, half: int = 2) -> np.ndarray:
    """Centred moving average over 2 * half + 1 samples (edges: the window is shortened)."""
    if vals.shape[1] <= 2 * half:
        return vals
    cs = np.cumsum(np.pad(vals, ((0, 0), (1, 0))), axis=1)
    j = np.arange(vals.shape[1])
    lo, hi = np.maximum(j - half, 0), np.minimum(j + half + 1, vals.shape[1])
    return (cs[:, hi] - cs[:, lo]) / (hi - lo)


def _knee(s: CurveStack, rows, t_a, t_b, start, gain, sign):
    """Point of the phase [t_a, t_b] farthest from the chord of ``sign * (d - start)``.

    The curve is first smoothed by a 5-sample moving average (the distance has a broad maximum, so
    noise would otherwise move the knee); the value returned is the smoothed one.
    """
    i0, i1 = _index(s, rows, t_a, up=True), _index(s, rows, t_b, up=False)
    vals, mask, cols = _window(s, rows, i0, i1)
    t = s.t0[rows][:, None] + cols * s.dt[rows][:, None]
    moved = sign * (_smooth(vals) - start[:, None])
    with np.errstate(divide="ignore", invalid="ignore"):
        dist = moved - (t - t_a[:, None]) * (gain / (t_b - t_a))[:, None]
    j = np.argmax(dist if mask is None else np.where(mask, dist, -np.inf), axis=1)
    pick = np.arange(len(rows))
    return moved[pick, j], t[pick, j] - t_a


def cycle_points(
    s: CurveStack, c: Cycles, *, read_time_s: float, method: str, thresholds: Mapping[str, float]
) -> dict[str, np.ndarray]:
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
    out = {
        "baseline": b,
        "ue": ue,
        "uv": uf - ue,
        "uf": uf,
        "ur": ur,
        "ua": ua,
        "peak": top - b1,
        "trough": bottom - b1,
        "t_read_on": tr_on,
        "t_read_off": tr_off,
        **_areas(s, c, b, top, uf, ur, tr_off),
    }
    parts = [
        _cycle_checks(
            s,
            c.row[a : a + _BLOCK],
            c.t_on[a : a + _BLOCK],
            c.t_off[a : a + _BLOCK],
            c.t_end[a : a + _BLOCK],
            uf[a : a + _BLOCK],
            read_time_s,
            thresholds,
        )
        for a in range(0, max(r.size, 1), _BLOCK)
    ]  # blocks of cycles: window temporaries stay in cache
    out.update({key: np.concatenate([p[key] for p in parts]) for key in parts[0]})
    return out


def _cycle_checks(s, r, t_on, t_off, t_end, uf, read_time_s, th):
    suction, relax = t_off - t_on, t_end - t_off
    a0 = _index(s, r, t_off - th["plateau_window"] * suction, up=True)
    a1 = _index(s, r, t_off, up=False)
    e0 = _index(s, r, t_end - th["drift_window"] * relax, up=True)
    e1 = _index(s, r, t_end, up=False)
    dt = s.dt[r]
    out = {
        "too_few_samples": (np.floor(suction / dt + _EPS) + 1 < th["min_phase_samples"])
        | (np.floor(relax / dt + _EPS) + 1 < th["min_phase_samples"])
        | (dt > read_time_s / 2 + _EPS)
    }
    # cycles sharing their windows (one protocol, phases found alike) are read as slices, a group at a
    # time (the most common windows first, up to _GROUPS groups of at least 1/16 of the cycles); only
    # the rest as gathered, masked windows
    groups, rest = [], np.arange(r.size)
    while rest.size and len(groups) < _GROUPS:
        common = _modal(a0[rest]) & _modal(a1[rest]) & _modal(e0[rest]) & _modal(e1[rest])
        if common.all() or common.sum() < r.size / 16:
            break
        groups.append(rest[common])
        rest = rest[~common]
    if not groups:
        out.update(_window_checks(s, r, a0, a1, e0, e1, uf, th))
        return out
    groups.append(rest)
    res = [_window_checks(s, r[i], a0[i], a1[i], e0[i], e1[i], uf[i], th) for i in groups]
    for key, v in res[0].items():
        out[key] = np.empty(r.size, dtype=v.dtype)
        for i, part in zip(groups, res, strict=True):
            out[key][i] = part[key]
    return out


def _modal(i: np.ndarray) -> np.ndarray:
    """Where ``i`` (sample indices) takes its most frequent value."""
    if not i.size:
        return np.zeros(0, dtype=bool)
    lo = i.min()
    return i == lo + np.argmax(np.bincount(i - lo))


def _window_checks(s, r, a0, a1, e0, e1, uf, th):
    """Noise, plateau and drift slopes and the clipping counts over the end-of-phase windows."""
    v_a, m_a, k_a = _window(s, r, a0, a1)
    v_e, m_e, k_e = _window(s, r, e0, e1)
    with np.errstate(all="ignore"):
        na, ne = _rms_d2(v_a, m_a), _rms_d2(v_e, m_e)
        lo, hi = np.fmin(na, ne), np.fmax(na, ne)
        noise = np.where(hi <= 2.0 * lo, 0.5 * (na + ne), lo) / _MEAN_D2
        rise, sxx_a = _slope(s, r, v_a, m_a, k_a)
        tail, sxx_e = _slope(s, r, v_e, m_e, k_e)
        no_plateau = rise > np.maximum(th["plateau_slope"] * uf, 4.0 * noise / np.sqrt(sxx_a))
        drift = np.abs(tail) > np.maximum(th["drift_slope"] * np.abs(uf), 4.0 * noise / np.sqrt(sxx_e))
    top = np.maximum(v_a.max(axis=1), v_e.max(axis=1))  # clamped window columns repeat valid samples
    top = (top - 1e-9 * np.maximum(1.0, np.abs(top)))[:, None]
    hits = np.maximum(_count(v_a >= top, m_a), _count(v_e >= top, m_e))
    return {
        "noise": noise,
        "no_plateau": no_plateau,
        "drift": drift,
        "top_hits": hits,
        "top_room": np.maximum(_count(None, m_a, v_a), _count(None, m_e, v_e)),
    }


def _count(hit, mask, vals=None):
    """Per-row count of ``hit & mask`` (``hit=None``: of the mask; ``mask=None``: all valid)."""
    if hit is None:
        return np.full(len(vals), vals.shape[1]) if mask is None else mask.sum(axis=1)
    return hit.sum(axis=1) if mask is None else (hit & mask).sum(axis=1)


def row_checks(
    s: CurveStack,
    c: Cycles,
    pts: Mapping[str, np.ndarray],
    step_max: np.ndarray,
    thresholds: Mapping[str, float],
) -> dict[str, np.ndarray]:
    """Curve-level flags: negative deformation, clipping, probe slip (rows without cycles: False).

    ``step_max`` is :func:`largest_step` of every row.
    """
    th = thresholds
    g = len(s.n)
    has = np.bincount(c.row, minlength=g) > 0
    first = np.r_[True, c.row[1:] != c.row[:-1]] if c.row.size else np.zeros(0, dtype=bool)
    b1, uf1 = np.full(g, np.nan), np.full(g, np.nan)
    b1[c.row[first]], uf1[c.row[first]] = pts["baseline"][first], pts["uf"][first]
    noise = np.bincount(c.row, weights=pts["noise"], minlength=g) / np.maximum(
        np.bincount(c.row, minlength=g), 1
    )
    out = {name: np.zeros(g, dtype=bool) for name in ("negative_deformation", "clipped", "probe_slip")}
    if not has.any():
        return out
    y = s.y
    with np.errstate(invalid="ignore"):
        tol = np.maximum(th["negative_noise"] * noise, th["negative_fraction"] * np.abs(uf1))
        cand = np.flatnonzero(has & (s.y_min < b1 - tol))
    if cand.size:
        sub = y[cand]
        cs = np.cumsum(np.pad(sub, ((0, 0), (1, 0))), axis=1)
        mean5 = (cs[:, 5:] - cs[:, :-5]) / 5.0
        valid = np.arange(mean5.shape[1])[None, :] < (s.n[cand] - 4)[:, None]
        smooth = np.where(valid, mean5, np.inf).min(axis=1, initial=np.inf)
        out["negative_deformation"][cand] = smooth < (b1 - tol)[cand]
    out["clipped"] = _clipped(s, c, pts, has, th)
    with np.errstate(invalid="ignore"):
        limit = np.maximum(th["slip_noise"] * np.sqrt(2.0) * noise, th["slip_fraction"] * np.abs(uf1))
        out["probe_slip"] = has & (step_max > limit)
    return out


def _clipped(s: CurveStack, c: Cycles, pts, has: np.ndarray, th) -> np.ndarray:
    """Longest run at the maximum; candidates are curves whose end-of-phase windows repeat their own
    maximum (a clipped run holds the curve's highest part, so it reaches the end of suction or of
    relaxation)."""
    y = s.y
    need = np.maximum(th["clip_min_samples"], np.ceil(th["clip_min_s"] / s.dt - _EPS))
    out = np.zeros(len(s.n), dtype=bool)
    hits = np.zeros(len(s.n))
    if c.row.size:
        starts = np.flatnonzero(np.r_[True, c.row[1:] != c.row[:-1]])
        enough = pts["top_hits"] >= np.minimum(need[c.row], pts["top_room"])
        hits[c.row[starts]] = np.maximum.reduceat(enough.astype(np.int8), starts)
    cand = np.flatnonzero(has & (hits > 0))
    if cand.size:
        sub = y[cand]
        m = sub.shape[1]
        full = bool(np.all(s.n[cand] == m))
        valid = None if full else np.arange(m)[None, :] < s.n[cand][:, None]
        top = sub.max(axis=1) if valid is None else np.where(valid, sub, -np.inf).max(axis=1)
        hit = np.zeros((cand.size, m + 2), dtype=np.int8)
        at_top = sub >= (top - 1e-9 * np.maximum(1.0, np.abs(top)))[:, None]
        hit[:, 1:-1] = at_top if valid is None else at_top & valid
        edge = np.diff(hit.ravel())  # +1 where a run starts, -1 after it ends; runs pair up in order
        start, end = np.flatnonzero(edge == 1), np.flatnonzero(edge == -1)
        row = start // (m + 2)
        first = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
        longest = np.zeros(cand.size)
        longest[row[first]] = np.maximum.reduceat(end - start, first)
        out[cand] = longest >= need[cand]
    return out


def largest_step(s: CurveStack, c: Cycles, th) -> np.ndarray:
    """Largest |d[i+1] - d[i]| of each row outside the guard after every onset and release.

    A full pass over the samples: call it per chunk of rows.
    """
    y = np.ascontiguousarray(s.y)
    flat = y.ravel()
    step = np.empty_like(y, dtype=float)  # (np.empty(y.shape) types as 0-d in numpy's stubs)
    np.subtract(flat[1:], flat[:-1], out=step.ravel()[:-1])  # one contiguous pass (faster than axis=1)
    step[:, -1] = 0.0  # (the differences across row ends)
    r = c.row
    if r.size:
        guard = np.maximum(np.ceil(th["slip_guard_s"] / s.dt[r] - _EPS), 3).astype(np.intp)
        width = int(guard.max(initial=0)) + 1
        m = step.shape[1] - 1
        for t in (c.t_on, c.t_off):
            i0 = _index(s, r, t, up=False)
            for u in np.unique(i0) if i0.size <= 64 * len(s.n) else ():
                at = i0 == u
                if at.sum() == len(s.n) and np.all(guard[at] == guard[0]):  # every row: a slice
                    step[:, u : u + guard[0] + 1] = 0.0
                    i0 = np.where(at, -1, i0)
            rest = i0 >= 0
            if rest.any():
                ii, gg, rr = i0[rest], guard[rest], r[rest]
                cols = ii[:, None] + np.arange(width)[None, :]
                cols = np.where(cols <= (ii + gg)[:, None], np.minimum(cols, m - 1), ii[:, None])
                step[rr[:, None], np.minimum(cols, m - 1)] = 0.0
        cut = np.flatnonzero(c.incomplete[r] & np.r_[r[1:] != r[:-1], True])  # last kept cycle of a cut row
        for row, end in zip(r[cut], _index(s, r[cut], c.t_end[cut], up=False), strict=True):
            step[row, end:] = 0.0  # the dropped trailing cycle is not checked (rare: a loop is fine)
    with np.errstate(invalid="ignore"):
        return np.maximum(step.max(axis=1, initial=0.0), -step.min(axis=1, initial=0.0))
