"""Long curve table -> one 2-D array (curves x samples) on a uniform grid per curve, without a per-curve loop.

Each measurement becomes one row of ``y`` (and of ``p``, the absolute suction), sampled at ``t0 + dt * j``
for ``j < n``; shorter rows are padded with their last value (so maxima, minima and differences of the
padded tail change nothing). Rows sorted by measurement and of equal length are reshaped, not copied.
A measurement whose samples are not evenly spaced (more than 2 % jitter) is resampled onto its mean
spacing by sample-and-hold (each grid point takes the latest sample at or before it, so the samples at
the phase boundaries keep their values instead of being averaged across the release); that is the only
per-curve loop, and only over such curves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["CurveStack", "CurveLayout", "stack_curves", "merge_chunks", "UNORDERED"]

_JITTER = 0.02
#: Error of a row whose times do not increase (after sorting: repeated or missing times).
UNORDERED = "time_s repeats, is missing or does not increase within the measurement"
#: Error of a row with an infinite or missing time.
NONFINITE = "time_s holds a value that is not a finite number (inf or NaN)"


@dataclass(frozen=True)
class CurveStack:
    """Curves on per-row uniform grids (see the module docstring)."""

    keys: pd.DataFrame | None  # file, measurement_id; one row per curve (None in a chunk)
    y: np.ndarray  # (G, M) deformation, mm
    p: np.ndarray | None  # (G, M) pressure, mbar, either sign (NaN kept); None when no column
    p_max: np.ndarray | None  # (G,) max |pressure| (NaN when the row has none)
    p_neg: np.ndarray | None  # (G,) the suction is recorded as negative pressure
    has_p: np.ndarray  # (G,) bool: the row has pressure values
    n: np.ndarray  # (G,) valid samples
    t0: np.ndarray  # (G,) first time, s
    dt: np.ndarray  # (G,) sampling interval, s
    error: np.ndarray  # (G,) object: "" or the reason the curve cannot be used
    y_min: np.ndarray  # (G,) smallest deformation


def _codes(col: pd.Series) -> tuple[np.ndarray, pd.Index]:
    if isinstance(col.dtype, pd.CategoricalDtype):
        return col.cat.codes.to_numpy(), pd.Index(col.cat.categories)
    codes, uniques = pd.factorize(col, sort=False)
    return codes, pd.Index(uniques)


@dataclass(frozen=True)
class CurveLayout:
    """The long table laid out as 2-D (curves x samples) arrays: views when possible, unchecked."""

    keys: pd.DataFrame
    y: np.ndarray
    t: np.ndarray
    p: np.ndarray | None
    n: np.ndarray

    def __len__(self) -> int:
        return len(self.n)

    def chunk(self, a: int, b: int) -> CurveStack:
        """Rows ``a:b`` checked and put on uniform grids (bounded temporaries: call it per chunk)."""
        y, t, n = self.y[a:b], self.t[a:b], self.n[a:b]
        p = None if self.p is None else self.p[a:b]
        g, m = y.shape
        rows = np.arange(g)
        error = np.full(g, "", dtype=object)
        error[n < 2] = "fewer than 2 samples"
        with np.errstate(all="ignore"):
            y_min = y.min(axis=1)  # NaN propagates: also the missing-value check
            error[~np.isfinite(y_min)] = "missing (NaN) deformation_mm values"
            t0 = t[:, 0].copy()
            t_last = t[rows, n - 1]
            dt = (t_last - t0) / (n - 1)
            if g and m > 1 and bool((n == m).all()) and bool((t == t[0]).all()):
                step = np.diff(t[0])  # one time vector for all rows, none padded: check it once
                lo, hi = np.full(g, step.min()), np.full(g, step.max())
            else:
                step = np.diff(t, axis=1)
                pad = np.arange(m - 1)[None, :] >= (n - 1)[:, None]
                if pad.any():
                    step[pad] = np.broadcast_to(dt[:, None], step.shape)[pad]
                lo, hi = step.min(axis=1, initial=np.inf), step.max(axis=1, initial=-np.inf)
        # sorted times put inf and NaN at an end of the row (unsorted ones also fail the order check)
        error[(error == "") & ~(np.isfinite(t0) & np.isfinite(t_last))] = NONFINITE
        ok = error == ""
        error[ok & ~(lo > 0)] = UNORDERED
        with np.errstate(invalid="ignore"):
            jitter = (error == "") & ((hi - dt > _JITTER * dt) | (dt - lo > _JITTER * dt))
        if jitter.any():
            y, p = y.copy(), None if p is None else p.copy()
            for i in np.flatnonzero(jitter):  # only curves with uneven sampling: sample-and-hold
                k = n[i]
                grid = t0[i] + dt[i] * np.arange(k)
                take = np.searchsorted(t[i, :k], grid + 1e-9 * dt[i], side="right") - 1
                y[i, :k] = y[i, take]
                if p is not None:
                    p[i, :k] = p[i, take]
        has_p = np.zeros(g, dtype=bool)
        p_abs = p_max = p_neg = None
        if p is not None:
            with np.errstate(all="ignore"):
                # suction recorded as negative pressure when its most negative value outweighs the
                # largest positive one; then max |p| is the most negative value's magnitude (two
                # contiguous passes: a strided subsample reduces several times slower per value)
                p_lo, p_hi = np.fmin.reduce(p, axis=1), np.fmax.reduce(p, axis=1)
                p_neg = p_lo < -p_hi
                p_max = np.where(p_neg, -p_lo, p_hi)
            has_p = np.isfinite(p_max)
            p_abs = p
        if jitter.any():
            y_min = y.min(axis=1)
        return CurveStack(None, y, p_abs, p_max, p_neg, has_p, n, t0, dt, error, y_min)


def stack_curves(curves: pd.DataFrame, *, sort: bool = False) -> CurveLayout:
    """Lay out the long table ``curves`` (file, measurement_id, time_s, deformation_mm, pressure_mbar).

    Rows are sorted by measurement and time when a measurement's rows are not contiguous or ``sort``
    is true (callers re-stack with ``sort=True`` when a chunk finds times out of order).
    """
    n_all = len(curves)
    file = curves["file"] if "file" in curves else pd.Series([""] * n_all, index=curves.index)
    mid = (
        curves["measurement_id"]
        if "measurement_id" in curves
        else pd.Series(["1"] * n_all, index=curves.index)
    )
    fc, fu = _codes(file)
    mc, mu = _codes(mid)
    width = int(mc.max(initial=0)) + 1
    key = mc if len(fu) <= 1 else fc.astype(np.int64) * width + mc
    t = curves["time_s"].to_numpy(dtype=float)
    y = curves["deformation_mm"].to_numpy(dtype=float)
    p = curves["pressure_mbar"].to_numpy(dtype=float) if "pressure_mbar" in curves else None
    if n_all == 0:
        empty = np.zeros((0, 0))
        return CurveLayout(
            pd.DataFrame({"file": pd.Series(dtype=object), "measurement_id": pd.Series(dtype=object)}),
            empty,
            empty,
            None if p is None else empty,
            np.zeros(0, dtype=np.intp),
        )
    brk = np.flatnonzero(key[1:] != key[:-1]) + 1
    if sort or not _distinct(key[np.r_[0, brk]]):
        order = np.lexsort((t, key))
        key, t, y = key[order], t[order], y[order]
        p = None if p is None else p[order]
        brk = np.flatnonzero(key[1:] != key[:-1]) + 1
    starts = np.r_[0, brk].astype(np.intp)
    n = np.diff(np.r_[starts, n_all]).astype(np.intp)
    rk = np.asarray(key[starts], dtype=np.int64)
    f_idx = rk // width if len(fu) > 1 else np.zeros(len(rk), dtype=np.int64)
    keys = pd.DataFrame(
        {
            "file": np.asarray(fu, dtype=object)[f_idx] if len(fu) else "",
            "measurement_id": np.asarray(mu, dtype=object)[rk % width],
        }
    )
    for col in ("file", "measurement_id"):
        if pd.api.types.infer_dtype(keys[col], skipna=False) != "string":
            keys[col] = keys[col].astype(str)
    m = int(n.max(initial=0))
    equal = bool(np.all(n == m))
    return CurveLayout(
        keys,
        _to_2d(y, starts, n, m, equal),
        _to_2d(t, starts, n, m, equal),
        None if p is None else _to_2d(p, starts, n, m, equal),
        n,
    )


def merge_chunks(layout: CurveLayout, parts: list[tuple[int, CurveStack]]) -> CurveStack:
    """One :class:`CurveStack` over all rows from the checked chunks (``y`` stays the layout's view
    unless a chunk resampled uneven curves)."""
    if not parts:
        z = np.zeros(0)
        return CurveStack(
            layout.keys,
            layout.y,
            None,
            None,
            None,
            z.astype(bool),
            z.astype(np.intp),
            z,
            z,
            z.astype(object),
            z,
        )
    y = layout.y
    if any(s.y is not layout.y[a : a + len(s.n)] and not np.shares_memory(s.y, layout.y) for a, s in parts):
        y = layout.y.copy()
        for a, s in parts:
            y[a : a + len(s.n)] = s.y
    cat = np.concatenate

    def col(name):
        vals = [getattr(s, name) for _, s in parts]
        return None if any(v is None for v in vals) else cat(vals)

    return CurveStack(
        layout.keys,
        y,
        None,
        col("p_max"),
        col("p_neg"),
        col("has_p"),
        col("n"),
        col("t0"),
        col("dt"),
        col("error"),
        col("y_min"),
    )


def _distinct(keys: np.ndarray) -> bool:
    """No key repeats (each measurement's rows are contiguous)."""
    if keys.size and int(keys.max()) < 16 * keys.size:
        return bool(np.bincount(keys).max() <= 1)
    return len(np.unique(keys)) == keys.size


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
