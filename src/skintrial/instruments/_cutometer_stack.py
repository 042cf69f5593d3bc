"""Long curve table -> one 2-D array (curves x samples) on a uniform grid per curve, without a per-curve loop.

Each measurement becomes one row of ``y`` (and of ``p``, the absolute suction), sampled at ``t0 + dt * j``
for ``j < n``; shorter rows are padded with their last value (so maxima, minima and differences of the
padded tail change nothing). Rows sorted by measurement and of equal length are reshaped, not copied.
A measurement whose samples are not evenly spaced (more than 2 % jitter) is linearly resampled onto its
mean spacing; that is the only per-curve loop, and only over such curves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["CurveStack", "stack_curves"]

_JITTER = 0.02


@dataclass(frozen=True)
class CurveStack:
    """Curves on per-row uniform grids (see the module docstring)."""

    keys: pd.DataFrame          # file, measurement_id; one row per curve
    y: np.ndarray               # (G, M) deformation, mm
    p: np.ndarray | None        # (G, M) |pressure|, mbar, NaN -> 0; None when no pressure channel at all
    has_p: np.ndarray           # (G,) bool: the row has pressure values
    n: np.ndarray               # (G,) valid samples
    t0: np.ndarray              # (G,) first time, s
    dt: np.ndarray              # (G,) sampling interval, s
    error: np.ndarray           # (G,) object: "" or the reason the curve cannot be used

    def rows(self, a: int, b: int) -> CurveStack:
        """Rows ``a:b`` (a view)."""
        p = None if self.p is None else self.p[a:b]
        return CurveStack(self.keys.iloc[a:b], self.y[a:b], p, self.has_p[a:b], self.n[a:b],
                          self.t0[a:b], self.dt[a:b], self.error[a:b])


def _codes(col: pd.Series) -> tuple[np.ndarray, pd.Index]:
    codes, uniques = pd.factorize(col, sort=False)
    return codes.astype(np.int64), pd.Index(uniques)


def stack_curves(curves: pd.DataFrame) -> CurveStack:
    """Stack the long table ``curves`` (file, measurement_id, time_s, deformation_mm, pressure_mbar)."""
    n_all = len(curves)
    file = curves["file"] if "file" in curves else pd.Series([""] * n_all, index=curves.index)
    mid = curves["measurement_id"] if "measurement_id" in curves else pd.Series(["1"] * n_all,
                                                                                 index=curves.index)
    fc, fu = _codes(file)
    mc, mu = _codes(mid)
    key = fc * (int(mc.max(initial=0)) + 1) + mc
    t = curves["time_s"].to_numpy(dtype=float)
    y = curves["deformation_mm"].to_numpy(dtype=float)
    p = curves["pressure_mbar"].to_numpy(dtype=float) if "pressure_mbar" in curves else None
    order = None
    brk = np.flatnonzero(key[1:] != key[:-1]) + 1
    if len(np.unique(key[np.r_[0, brk]])) < brk.size + 1 or not _increasing(t, brk):
        order = np.lexsort((t, key))
        key, t, y = key[order], t[order], y[order]
        p = None if p is None else p[order]
        brk = np.flatnonzero(key[1:] != key[:-1]) + 1
    starts = np.r_[0, brk].astype(np.intp)
    n = np.diff(np.r_[starts, n_all]).astype(np.intp)
    rk = key[starts]
    keys = pd.DataFrame({"file": np.asarray(fu[rk // (int(mc.max(initial=0)) + 1)], dtype=object),
                         "measurement_id": np.asarray(mu[rk % (int(mc.max(initial=0)) + 1)], dtype=object)})
    keys["file"] = keys["file"].astype(str)
    keys["measurement_id"] = keys["measurement_id"].astype(str)
    g, m = len(starts), int(n.max(initial=0))
    equal = bool(np.all(n == m))
    y2 = _to_2d(y, starts, n, m, equal)
    t2 = _to_2d(t, starts, n, m, equal)
    p2 = None if p is None else _to_2d(p, starts, n, m, equal)
    error = np.full(g, "", dtype=object)
    error[n < 2] = "fewer than 2 samples"
    bad_val = ~np.isfinite(y2).all(axis=1) | ~np.isfinite(t2).all(axis=1)
    error[bad_val] = "missing (NaN) time_s or deformation_mm values"
    t0 = t2[:, 0].copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        dt = (t2[np.arange(g), n - 1] - t0) / (n - 1)
        step = np.diff(t2, axis=1)
        valid = np.arange(m - 1)[None, :] < (n - 1)[:, None]
        dup = np.any(valid & ~(step > 0), axis=1) & (error == "")
        error[dup] = "time_s repeats within the measurement"
        jitter = np.any(valid & (np.abs(step - dt[:, None]) > _JITTER * dt[:, None]), axis=1)
    jitter &= error == ""
    if jitter.any():
        y2, p2 = y2.copy(), None if p2 is None else p2.copy()
        for i in np.flatnonzero(jitter):  # only curves with uneven sampling
            k = n[i]
            grid = t0[i] + dt[i] * np.arange(k)
            y2[i, :k] = np.interp(grid, t2[i, :k], y2[i, :k])
            if p2 is not None:
                p2[i, :k] = np.interp(grid, t2[i, :k], p2[i, :k])
    has_p = np.zeros(g, dtype=bool)
    if p2 is not None:
        has_p = np.isfinite(p2).any(axis=1)
        p2 = np.abs(np.nan_to_num(p2, nan=0.0)) if has_p.any() else None
    return CurveStack(keys, y2, p2, has_p, n, t0, dt, error)


def _increasing(t: np.ndarray, brk: np.ndarray) -> bool:
    if t.size < 2:
        return True
    up = np.diff(t) > 0
    up[brk - 1] = True
    return bool(up.all())


def _to_2d(v: np.ndarray, starts: np.ndarray, n: np.ndarray, m: int, equal: bool) -> np.ndarray:
    if equal:
        return v.reshape(len(starts), m)
    g = len(starts)
    row = np.repeat(np.arange(g), n)
    pos = np.arange(v.size) - np.repeat(starts, n)
    out = np.empty((g, m))
    out[row, pos] = v
    pad = np.arange(m)[None, :] >= n[:, None]
    last = v[np.maximum(starts + n - 1, 0)]
    return np.where(pad, last[:, None], out)
