"""Suction onsets and releases found in the deformation itself (no pressure channel, no declared times).

Two passes, both batched over curves:

1. **Where.** ``R[i] = d[i + h] - d[i]`` with ``h = max(1, round(0.02 s / dt))``: the rise over 20 ms.
   For a curve that is flat before an onset at sample ``c`` and rises concavely after it, ``R`` peaks at
   ``c`` exactly (before ``c`` the window holds less of the rise, after ``c`` it misses the steep start),
   and likewise ``-R`` peaks at a release. Events are the runs where ``R`` exceeds half the curve's
   largest rise (and 6 noise SDs of ``R``), runs closer than 0.1 s merged; each event's argmax is its
   rough position. Releases alike with ``-R``.
2. **Exactly where.** Around each rough position a continuous two-segment model is fitted by least
   squares over a fixed window (0.05 s before, 0.02 s after, plus the search range): a straight line
   before the change point ``c`` and a line plus a quadratic after it (``[1, j - c, (j - c)_+,
   (j - c)_+^2]`` in samples), for every candidate ``c`` within 0.012 s of the rough position; the
   candidate with the smallest residual sum of squares is the onset (the last sample before the rise)
   or the release (the last sample before the drop). The fits share one hat matrix per candidate and
   sampling interval, so they are matrix products over all events.

The events must alternate onset, release, onset, ...: of two or more onsets (releases) in a row, the
first is kept when its rise is at least half the strongest one's (a probe slip under suction is then
not taken for an onset; ``probe_slip`` flags it), otherwise the strongest (a noise excursion before
it is not). With no onset at all the curve is *ambiguous*: it gets no cycle and the flag
``phases_ambiguous``. A record that starts under suction (a release first) loses
that partial cycle, and one that ends under suction its last: both ``incomplete``.
"""

from __future__ import annotations

import numpy as np

from skintrial.instruments._cutometer_stack import CurveStack

__all__ = ["infer_phases", "RISE_S", "PRE_S", "POST_S", "SEARCH_S", "EVENT_FRACTION"]

RISE_S = 0.02  # the span of the rise statistic R
PRE_S = 0.05  # fit window before the rough position
POST_S = 0.02  # fit window after it
SEARCH_S = 0.012  # candidates within this of the rough position
EVENT_FRACTION = 0.3  # an event exceeds this fraction of the curve's largest rise (drop)
_MERGE_S = 0.1  # runs closer than this are one event
_NOISE_Z = 6.0  # ... and exceeds this many noise SDs of R


def _runs(above: np.ndarray, gap: np.ndarray):
    """(row, start, stop) of the True runs of each row, runs closer than ``gap[row]`` samples merged.

    One scan for the (few) True positions; runs are where they stop being consecutive."""
    m = above.shape[1]
    pos = np.flatnonzero(above)
    if not pos.size:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty, empty
    row, col = np.divmod(pos, m)
    brk = np.flatnonzero((row[1:] != row[:-1]) | (col[1:] - col[:-1] > gap[row[1:]] + 1)) + 1
    first = np.r_[0, brk]
    last = np.r_[brk - 1, pos.size - 1]
    return row[first], col[first], col[last] + 1


def _argmax_in_runs(x: np.ndarray, row: np.ndarray, a: np.ndarray, b: np.ndarray, sign: float):
    """Per run, the column of the largest ``sign * x[row, a:b]`` (first on ties) and that value."""
    if not row.size:
        return np.zeros(0, dtype=np.intp), np.zeros(0)
    length = b - a
    starts = np.r_[0, np.cumsum(length)[:-1]]
    owner = np.repeat(np.arange(row.size), length)
    col = np.arange(owner.size) - np.repeat(starts, length) + a[owner]
    v = x[row[owner], col] * sign
    best = np.maximum.reduceat(v, starts)
    hit = np.flatnonzero(v == best[owner])
    first = hit[np.searchsorted(owner[hit], np.arange(row.size))]  # the first maximum of each run
    return col[first], best


def _refine(y: np.ndarray, n: np.ndarray, dt: np.ndarray, row: np.ndarray, i0: np.ndarray) -> np.ndarray:
    """Least-squares change point near ``i0`` (module docstring, pass 2); grouped by sampling interval."""
    out = i0.copy()
    keys = np.round(dt[row], 12)
    for key in np.unique(keys).tolist():  # Python floats: round() on them is cheap
        sel = np.flatnonzero(keys == key)
        w, v = max(3, round(PRE_S / key)), max(2, round(POST_S / key))
        k = max(1, round(SEARCH_S / key))
        offs = np.arange(-w - k, v + k + 1)
        r, c0 = row[sel], i0[sel]
        idx = np.clip(c0[:, None] + offs[None, :], 0, (n[r] - 1)[:, None])
        ys = y[r[:, None], idx]
        ys = ys - ys.mean(axis=1, keepdims=True)
        best = np.full(sel.size, np.inf)
        arg = np.zeros(sel.size, dtype=np.intp)
        for j in range(-k, k + 1):
            u = (offs - j).astype(float)
            up = np.maximum(u, 0.0)
            x = np.column_stack([np.ones_like(u), u, up, up * up])
            q, _ = np.linalg.qr(x)
            rss = np.einsum("ij,ij->i", ys, ys) - np.sum((ys @ q) ** 2, axis=1)
            better = rss < best - 1e-15
            best[better], arg[better] = rss[better], j
        out[sel] = np.clip(c0 + arg, 0, n[r] - 1)
    return out


def _first_of_runs(r, idx, is_on, strength):
    """Of consecutive events of one kind (two rises without a drop between them: the onset, then a
    probe slip or a twitch under suction; or a noise excursion, then the onset), keep the first when it
    is at least half the strongest of them, otherwise the strongest."""
    if not r.size:
        return r, idx, is_on
    new = np.r_[True, (r[1:] != r[:-1]) | (is_on[1:] != is_on[:-1])]
    starts = np.flatnonzero(new)
    block = np.cumsum(new) - 1
    order = np.lexsort((-strength, block))
    strongest = order[np.r_[True, block[order][1:] != block[order][:-1]]]
    pick = np.where(strength[starts] >= 0.5 * strength[strongest], starts, strongest)
    return r[pick], idx[pick], is_on[pick]


def infer_phases(s: CurveStack, rows: np.ndarray):
    """Onsets and releases of the curves ``rows`` of ``s``, from the deformation alone.

    Returns ``(row, onset_index, release_index, end_index, incomplete, ambiguous)``: one entry per
    cycle (onset and release sample indices, the end = next onset or last sample) and per-row flags
    (``incomplete``: a partial cycle at the start or end was left out; ``ambiguous``: no alternating
    onset/release sequence was found).
    """
    g = len(s.n)
    incomplete = np.zeros(g, dtype=bool)
    ambiguous = np.zeros(g, dtype=bool)
    empty = np.zeros(0, dtype=np.intp)
    if not rows.size:
        return empty, empty, empty, empty, incomplete, ambiguous
    every = rows.size == g and bool(np.all(rows == np.arange(g)))
    y = s.y if every else s.y[rows]  # all rows: no copy
    n, dt = s.n[rows], s.dt[rows]
    m = y.shape[1]
    h = np.maximum(1, np.round(RISE_S / dt)).astype(np.intp)
    last = n - 1
    rise = np.empty_like(y)
    steps = np.unique(h)
    if steps.size == 1 and steps[0] < m:  # one sampling rate: slices, no index arrays
        np.subtract(y[:, steps[0] :], y[:, : -steps[0]], out=rise[:, : -steps[0]])
    else:
        rise[:] = 0.0
        for step in steps[steps < m]:
            sel = h == step
            rise[np.ix_(sel, np.arange(m - step))] = y[sel, step:] - y[sel, :-step]
    stop = last - h  # windows reaching into the padded tail count as no change
    if np.all(stop == stop[0]):
        rise[:, max(int(stop[0]), 0) :] = 0.0
    else:
        rise[np.arange(m)[None, :] >= stop[:, None]] = 0.0
    # noise SD from the median |second difference| of up to 64 evenly spread triples per curve
    j = np.unique(np.linspace(0, max(m - 3, 0), 64).astype(np.intp)) if m > 2 else np.zeros(0, np.intp)
    d2 = np.abs(y[:, j] - 2.0 * y[:, j + 1] + y[:, j + 2]) if j.size else np.zeros((len(rows), 1))
    noise = np.sort(d2, axis=1)[:, d2.shape[1] // 2] / (0.6745 * np.sqrt(6.0))  # the (upper) median
    gap = np.maximum(2, np.round(_MERGE_S / dt)).astype(np.intp)
    events = []
    for sign in (1.0, -1.0):
        top = rise.max(axis=1) if sign > 0 else -rise.min(axis=1)
        level = np.maximum(EVENT_FRACTION * top, _NOISE_Z * np.sqrt(2.0) * noise)
        level[~(top > 0)] = np.inf
        r, a, b = _runs(rise > level[:, None] if sign > 0 else rise < -level[:, None], gap)
        i0, strength = _argmax_in_runs(rise, r, a, b, sign)
        events.append((r, _refine(y, n, dt, r, i0), np.full(r.size, sign > 0), strength))
    r, idx, is_on, strength = (np.r_[events[0][f], events[1][f]] for f in range(4))
    order = np.lexsort((idx, r))
    r, idx, is_on, strength = r[order], idx[order], is_on[order], strength[order]
    r, idx, is_on = _first_of_runs(r, idx, is_on, strength)
    # a leading release (the record starts under suction) is dropped: that cycle is incomplete
    first = np.r_[True, r[1:] != r[:-1]] if r.size else np.zeros(0, dtype=bool)
    lead = first & ~is_on
    incomplete[rows[r[lead]]] = True
    r, idx, is_on = r[~lead], idx[~lead], is_on[~lead]
    first = np.r_[True, r[1:] != r[:-1]] if r.size else np.zeros(0, dtype=bool)
    rank = np.arange(r.size) - np.repeat(np.flatnonzero(first), np.diff(np.r_[np.flatnonzero(first), r.size]))
    bad_rows = np.zeros(len(rows), dtype=bool)
    bad_rows[r[is_on != (rank % 2 == 0)]] = True  # not onset, release, onset, ...
    bad_rows[np.bincount(r, weights=is_on, minlength=len(rows)) == 0] = True
    ambiguous[rows[bad_rows]] = True
    keep = ~bad_rows[r]
    r, idx, is_on, rank = r[keep], idx[keep], is_on[keep], rank[keep]
    on_pos = np.flatnonzero(is_on)
    has_off = (on_pos + 1 < r.size) & (np.r_[r, -1][on_pos + 1] == r[on_pos])
    incomplete[rows[r[on_pos[~has_off]]]] = True  # the record ends under suction
    on_pos = on_pos[has_off]
    c_row, c_on, c_off = r[on_pos], idx[on_pos], idx[on_pos + 1]
    nxt = on_pos + 2
    has_next = (nxt < r.size) & (np.r_[r, -1][np.minimum(nxt, r.size)] == c_row)
    c_end = np.where(has_next, np.r_[idx, 0][np.minimum(nxt, r.size)], last[c_row])
    return rows[c_row], c_on, c_off, c_end, incomplete, ambiguous
