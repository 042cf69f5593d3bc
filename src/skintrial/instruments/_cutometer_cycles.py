"""Suction/relaxation cycles of stacked curves, found without a per-curve loop.

With a pressure channel, a sample is *on* when ``|p| >= 0.5 * max|p|`` of its curve. A cycle's onset
``t_on`` is the last *off* sample before the suction, its release ``t_off`` the last *on* sample, its end
``t_end`` the next cycle's onset (or the last sample). Without pressure, or with a pressure channel that
shows no suction (0 throughout), the declared suction (``on_s``) and relaxation (``off_s``) durations
repeat from the declared onset, ``onset_s`` after the first sample:
``t_on = t0 + onset_s + k (on_s + off_s)``. With neither, the onsets and releases are found in the
deformation itself (``_cutometer_phases``) and the row is marked ``inferred``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skintrial.instruments._cutometer_phases import infer_phases
from skintrial.instruments._cutometer_stack import CurveStack

__all__ = ["Cycles", "find_cycles"]

_EPS = 1e-6


@dataclass(frozen=True)
class Cycles:
    """Cycles of a :class:`CurveStack`, sorted by row then cycle number (all arrays of one length)."""

    row: np.ndarray
    k: np.ndarray  # 1-based cycle number
    t_on: np.ndarray
    t_off: np.ndarray
    t_end: np.ndarray
    incomplete: np.ndarray  # (G,) a trailing cycle was dropped
    error: np.ndarray  # (G,) object, "" or why phases cannot be found
    inferred: np.ndarray  # (G,) bool: phases found in the deformation (no pressure, no declared times)
    ambiguous: np.ndarray  # (G,) bool: ... and no clear onset/release sequence was found


def find_cycles(
    s: CurveStack, *, on_s: float | None, off_s: float | None, read_time_s: float, onset_s: float = 0.0
) -> Cycles:
    """All complete cycles of every usable row of ``s``."""
    g = len(s.n)
    error = s.error.copy()
    incomplete = np.zeros(g, dtype=bool)
    ok = error == ""
    if s.p_max is None:  # no pressure_mbar column at all
        silent = np.zeros(g, dtype=bool)
    else:
        with np.errstate(invalid="ignore"):
            silent = ok & s.has_p & ~(s.p_max > 0)  # a pressure channel at 0 throughout: no suction in it
    use_p = ok & s.has_p & ~silent
    use_d = ok & (~s.has_p | silent)
    inferred = np.zeros(g, dtype=bool)
    ambiguous = np.zeros(g, dtype=bool)
    parts = []
    if use_p.any():
        parts.append(_from_pressure(s, np.flatnonzero(use_p), read_time_s, incomplete))
    if on_s is not None and use_d.any():
        parts.append(_declared(s, np.flatnonzero(use_d), on_s, off_s, read_time_s, onset_s))
    elif use_d.any():
        inferred = use_d
        parts.append(_inferred(s, np.flatnonzero(use_d), read_time_s, incomplete, ambiguous))
    if not parts:
        empty = np.zeros(0)
        return Cycles(
            empty.astype(np.intp),
            empty.astype(np.intp),
            empty,
            empty,
            empty,
            incomplete,
            error,
            inferred,
            ambiguous,
        )
    row, k, t_on, t_off, t_end = (np.concatenate(a) for a in zip(*parts, strict=True))
    order = np.lexsort((k, row))
    return Cycles(
        row[order], k[order], t_on[order], t_off[order], t_end[order], incomplete, error, inferred, ambiguous
    )


def _from_pressure(s: CurveStack, rows: np.ndarray, read: float, incomplete: np.ndarray):
    # rows has only rows with pressure values (has_p), so the stack has its pressure arrays
    assert s.p is not None and s.p_max is not None and s.p_neg is not None
    every = rows.size == len(s.n)
    p = s.p if every else s.p[rows]  # all rows: no copy
    with np.errstate(invalid="ignore"):
        neg = s.p_neg[rows]
        level = np.where(s.p_max[rows] > 0, 0.5 * s.p_max[rows], np.inf)
        on = np.where(neg[:, None], -p, p) >= level[:, None] if neg.any() else p >= level[:, None]
    width = on.shape[1]
    flat = on.ravel()
    change = np.flatnonzero(flat[1:] != flat[:-1])  # one contiguous pass; drop changes across row ends
    r, c = change // width, change % width
    inside = c < width - 1
    r, c = r[inside], c[inside]
    rise = on[r, c + 1]
    first = np.flatnonzero(on[:, 0])
    o_row = np.r_[r[rise], first]
    o_idx = np.r_[c[rise], np.zeros(first.size, dtype=c.dtype)]
    srt = np.lexsort((o_idx, o_row))
    o_row, o_idx = o_row[srt], o_idx[srt]
    f_row, f_idx = r[~rise], c[~rise]
    n_on = np.bincount(o_row, minlength=len(rows))
    n_off = np.bincount(f_row, minlength=len(rows))
    rank = np.arange(o_row.size) - np.repeat(np.cumsum(n_on) - n_on, n_on)
    has_next = rank + 1 < n_on[o_row]
    nxt = np.r_[o_idx[1:], 0]
    end_idx = np.where(has_next, nxt, s.n[rows][o_row] - 1)
    done = rank < n_off[o_row]
    o_row, o_idx, end_idx = o_row[done], o_idx[done], end_idx[done]
    dt, t0 = s.dt[rows][o_row], s.t0[rows][o_row]
    t_on, t_off, t_end = t0 + o_idx * dt, t0 + f_idx * dt, t0 + end_idx * dt
    good = (t_off - t_on >= read + dt - _EPS) & (t_end - t_off >= read - _EPS)
    cut = np.bincount(o_row[~good], minlength=len(rows)) > 0
    incomplete[rows[(n_off < n_on) | cut]] = True
    o_row, t_on, t_off, t_end = o_row[good], t_on[good], t_off[good], t_end[good]
    cnt = np.bincount(o_row, minlength=len(rows))
    k = np.arange(o_row.size) - np.repeat(np.cumsum(cnt) - cnt, cnt) + 1
    return rows[o_row], k, t_on, t_off, t_end


def _complete(row, t_on, t_off, t_end, dt, read, g, incomplete, rows):
    """Keep the complete cycles (suction > read time + one sample, relaxation >= read time); number them."""
    good = (t_off - t_on >= read + dt - _EPS) & (t_end - t_off >= read - _EPS)
    incomplete[rows[np.bincount(row[~good], minlength=g) > 0]] = True
    row, t_on, t_off, t_end = row[good], t_on[good], t_off[good], t_end[good]
    cnt = np.bincount(row, minlength=g)
    k = np.arange(row.size) - np.repeat(np.cumsum(cnt) - cnt, cnt) + 1
    return rows[row], k, t_on, t_off, t_end


def _inferred(s: CurveStack, rows: np.ndarray, read: float, incomplete: np.ndarray, ambiguous: np.ndarray):
    grow, i_on, i_off, i_end, inc, amb = infer_phases(s, rows)
    incomplete |= inc
    ambiguous |= amb
    local = np.searchsorted(rows, grow)
    dt, t0 = s.dt[grow], s.t0[grow]
    return _complete(
        local, t0 + i_on * dt, t0 + i_off * dt, t0 + i_end * dt, dt, read, len(rows), incomplete, rows
    )


def _declared(s: CurveStack, rows: np.ndarray, on: float, off: float | None, read: float, onset: float):
    dt, t0 = s.dt[rows], s.t0[rows]
    span = (s.n[rows] - 1) * dt
    period = on + off if off is not None else np.inf
    room = span - onset - on - read + _EPS
    count = np.where(room >= 0, np.floor(np.maximum(room, 0) / period) + 1, 0).astype(np.intp)
    row = np.repeat(np.arange(len(rows)), count)
    k = np.arange(row.size) - np.repeat(np.cumsum(count) - count, count)
    t_on = t0[row] + onset + k * (period if np.isfinite(period) else 0.0)
    t_off = t_on + on
    t_end = np.minimum(t_on + period, (t0 + span)[row])
    return rows[row], k + 1, t_on, t_off, t_end
