"""Suction onsets and releases found in the deformation itself (no pressure channel, no declared times).

Two passes, both batched over curves:

1. **Where.** ``R[i] = d[i + h] - d[i]`` with ``h = max(1, round(0.02 s / dt))``: the rise over 20 ms.
   For a curve that is flat before an onset at sample ``c`` and rises concavely after it, ``R`` peaks at
   ``c`` exactly (before ``c`` the window holds less of the rise, after ``c`` it misses the steep start),
   and likewise ``-R`` peaks at a release. Events are the runs where ``R`` exceeds ``EVENT_FRACTION``
   of the curve's largest rise (and 6 noise SDs of ``R``), runs closer than 0.1 s merged; each
   event's argmax is its rough position. Releases alike with ``-R``. ``R`` and the noise level are
   computed in float32 (they only place events; the fits below use the float64 curve).
2. **Exactly where.** Around each rough position a continuous two-segment model is fitted by least
   squares over a fixed window (0.05 s before, 0.02 s after, plus the search range): a straight line
   before the change point ``c`` and a line plus a quadratic after it (``[1, j - c, (j - c)_+,
   (j - c)_+^2]`` in samples), for every candidate ``c`` within 0.012 s of the rough position; the
   candidate with the smallest residual sum of squares is the onset (the last sample before the rise)
   or the release (the last sample before the drop). Over 20 ms a fast exponential rise (``tau_e``
   15 ms at 1 kHz) is no quadratic and that fit can land one sample early, so where 0.01 s holds at
   least 4 samples the three candidates around it are fitted again over 0.01 s after, and the point
   moves only when that fits better by more than ``_DECISIVE`` noise variances (noise-free curves:
   exact at every rate; noisy ones: the longer, steadier fit decides). All candidates' fits are one
   matrix product per sampling interval (the stacked orthonormal bases ``Q_j``, made once per window).

The events must alternate onset, release, onset, ...: of two or more onsets (releases) in a row, the
first is kept when its rise is at least half the strongest one's (a probe slip under suction is then
not taken for an onset; ``probe_slip`` flags it), otherwise the strongest (a noise excursion before
it is not). The curve is *ambiguous* (no cycle, the flag ``phases_ambiguous``) with no onset at all,
or when a rise (drop) left out is at least half the one kept and no step (:func:`_step_like`). A record that starts under suction (a release first) loses
that partial cycle, and one that ends under suction its last: both ``incomplete``.
"""

from __future__ import annotations

import functools

import numpy as np

from skintrial.instruments._cutometer_stack import CurveStack

__all__ = ["infer_phases", "RISE_S", "PRE_S", "POST_S", "POST_FINE_S", "SEARCH_S", "EVENT_FRACTION"]

RISE_S = 0.02  # the span of the rise statistic R
PRE_S = 0.05  # fit window before the rough position
POST_S = 0.02  # fit window after it ...
POST_FINE_S = 0.01  # ... checked over this where it holds 4 samples or more (_refine)
_DECISIVE = 16.0  # the check moves a change point when it fits better by this many noise variances
SEARCH_S = 0.012  # candidates within this of the rough position
EVENT_FRACTION = 0.3  # an event exceeds this fraction of the curve's largest rise (drop)
_MERGE_S = 0.1  # runs closer than this are one event
_NOISE_Z = 6.0  # ... and exceeds this many noise SDs of R
_TRIPLES = 32  # the noise SD from the median |second difference| of this many spread triples per curve


def _events(pos: np.ndarray, v: np.ndarray, on: np.ndarray, m: int, gap: np.ndarray):
    """Events from the candidate samples: flat positions ``pos`` (rows of ``m`` samples) with their
    size ``v`` (|R|) and kind ``on``, onsets first then releases, each sorted. A run is a stretch of
    one kind in one row, candidates closer than ``gap[row]`` samples merged; its position is the
    first of its largest ``v`` (the largest of the run's whole span: the samples between candidates
    lie below the level). Returns ``(row, column, size, is_on)`` per run."""
    if not pos.size:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty, v[:0], on[:0]
    row, col = np.divmod(pos, m)
    new = np.empty(pos.size, dtype=bool)
    new[0] = True
    new[1:] = (row[1:] != row[:-1]) | (on[1:] != on[:-1]) | (col[1:] - col[:-1] > gap[row[1:]] + 1)
    first = np.flatnonzero(new)
    best = np.maximum.reduceat(v, first)
    owner = np.cumsum(new) - 1
    hit = np.flatnonzero(v == best[owner])
    at = hit[np.searchsorted(owner[hit], np.arange(first.size))]  # the first maximum of each run
    return row[first], col[at], best, on[first]


def _rise(y: np.ndarray, n: np.ndarray, h: np.ndarray) -> np.ndarray:
    """``R`` of every row (module docstring) from ``y`` in float32 (it only places events), 0 where
    its window reaches the last sample or beyond.

    One sampling rate: one subtraction over the flattened array (the differences that cross into the
    next row fall in the zeroed tail)."""
    g, m = y.shape
    steps = np.unique(h)
    stop = n - 1 - h  # windows reaching into the padded tail count as no change
    if steps.size == 1 and steps[0] < m:
        step = int(steps[0])
        flat = y.reshape(-1)
        diff = np.empty(flat.size, dtype=np.float32)
        np.subtract(flat[step:], flat[:-step], out=diff[:-step])
        diff[-step:] = 0.0
        rise = diff.reshape(g, m)
    else:
        rise = np.zeros(y.shape, dtype=np.float32)
        for step in steps[steps < m]:
            sel = h == step
            rise[np.ix_(sel, np.arange(m - step))] = y[sel, step:] - y[sel, :-step]
    if np.all(stop == stop[0]):
        rise[:, max(int(stop[0]), 0) :] = 0.0
    else:
        rise[np.arange(m)[None, :] >= stop[:, None]] = 0.0
    return rise


def _noise(y: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Noise SD per row from the median |second difference| of up to ``_TRIPLES`` triples evenly spread
    over the row's own ``n`` samples (never its padding: a curve's level does not depend on the longer
    curves it is batched with). Rows of the full width are strided views of ``y`` (no gather)."""
    g, m = y.shape
    scale = 1.0 / (0.6745 * np.sqrt(6.0))
    if m < 3:
        return np.zeros(g)
    if bool((n == m).all()):
        s = max(1, (m - 3) // (_TRIPLES - 1))
        k = min(_TRIPLES, (m - 3) // s + 1)  # triples start at 0, s, ..., (k - 1) s <= m - 3
        end = (k - 1) * s + 1
        d2 = np.abs(y[:, 0:end:s] - 2.0 * y[:, 1 : end + 1 : s] + y[:, 2 : end + 2 : s])
        return np.partition(d2, k // 2, axis=1)[:, k // 2] * scale  # the (upper) median
    # rows of different lengths: the same triples per row, gathered (unused slots sort last as inf)
    room = np.maximum(n - 3, 0)
    s = np.maximum(1, room // (_TRIPLES - 1))
    k = np.where(n >= 3, np.minimum(_TRIPLES, room // s + 1), 0)
    j = np.arange(_TRIPLES)
    at = np.where(j < k[:, None], j * s[:, None], 0) + (np.arange(g) * m)[:, None]
    flat = y.reshape(-1)
    d2 = np.abs(flat[at] - 2.0 * flat[at + 1] + flat[np.minimum(at + 2, flat.size - 1)])
    d2 = np.sort(np.where(j < k[:, None], d2, np.inf), axis=1)
    return np.where(k > 0, d2[np.arange(g), k // 2] * scale, 0.0)


def _fits(y, n, r, c, before: int, after: int, k: int) -> np.ndarray:
    """How well the two-segment model (module docstring) fits the samples ``c - before - k .. c + after
    + k`` of rows ``r`` with its change point at ``c + j``, ``j = -k..k``: ``|ys Q_j|^2`` (``Q_j`` an
    orthonormal basis of its design), i.e. ``|ys|^2`` minus the residual sum of squares. All candidates
    in one product with the stacked ``Q_j``; samples taken relative to the one at ``c``. Shape
    (2k + 1, events)."""
    size = before + after + 2 * k + 1
    start = c - before - k
    flat = y.reshape(-1)
    if c.size and (start.min() < 0 or np.any(start + size > n[r])):  # a window leaves its curve
        cols = np.minimum(np.maximum(start[:, None] + np.arange(size), 0), (n[r] - 1)[:, None])
        ys = flat[(r * y.shape[1])[:, None] + cols]
    else:  # the windows are rows of a strided view: copied without an index array
        ys = np.lib.stride_tricks.sliding_window_view(flat, size)[r * y.shape[1] + start]
    ys -= ys[:, before + k : before + k + 1]
    proj = _bases(before, after, k) @ ys.T
    np.square(proj, out=proj)
    return proj.reshape(2 * k + 1, 4, -1).sum(axis=1)


@functools.lru_cache(maxsize=64)
def _bases(before: int, after: int, k: int) -> np.ndarray:
    """The stacked ``Q_j^T`` of :func:`_fits` (the designs depend only on the window: made once)."""
    offs = np.arange(-before - k, after + k + 1)
    q = []
    for j in range(-k, k + 1):
        u = (offs - j).astype(float)
        up = np.maximum(u, 0.0)
        q.append(np.linalg.qr(np.column_stack([np.ones_like(u), u, up, up * up]))[0])
    out = np.hstack(q).T
    out.flags.writeable = False
    return out


def _first_best(fit: np.ndarray, tol: float):
    """Per column of ``fit``, the first row that no later row beats by more than ``tol``, and its value."""
    best, arg = fit[0].copy(), np.zeros(fit.shape[1], dtype=np.intp)
    for j in range(1, fit.shape[0]):
        better = fit[j] > best + tol
        best[better], arg[better] = fit[j][better], j
    return arg, best


def _refine(y, n, dt, noise, row, i0) -> np.ndarray:
    """Least-squares change point near ``i0`` (module docstring, pass 2); grouped by sampling interval.

    Where 0.01 s holds at least 4 samples, the 0.02-s fit is checked by one over 0.01 s for the
    candidates one sample either side (over 0.02 s a fast exponential rise is no quadratic, and the
    fit can land one sample early); it moves the change point only when it fits better by more than
    ``_DECISIVE`` noise variances, so on noisy curves the longer, steadier fit decides."""
    out = i0.copy()
    keys = np.round(dt[row], 12)
    one = bool(keys.size) and bool(np.all(keys == keys[0]))
    for key in [float(keys[0])] if one else np.unique(keys).tolist():  # Python floats: cheap round()
        sel = np.flatnonzero(keys == key)
        w, v = max(3, round(PRE_S / key)), max(2, round(POST_S / key))
        k = max(1, round(SEARCH_S / key))
        r, last = row[sel], n[row[sel]] - 1
        arg, _ = _first_best(_fits(y, n, r, i0[sel], w, v, k), 1e-15)
        c = np.minimum(np.maximum(i0[sel] + arg - k, 0), last)
        fine = round(POST_FINE_S / key)
        if 4 <= fine < v:
            fit = _fits(y, n, r, c, w, fine, 1)
            j, best = _first_best(fit, 0.0)
            move = best > fit[1] + _DECISIVE * noise[sel] ** 2
            c = np.minimum(np.maximum(np.where(move, c + j - 1, c), 0), last)
        out[sel] = c
    return out


def _first_of_runs(r, idx, is_on, strength, step_like):
    """Of consecutive events of one kind (two rises without a drop between them: the onset, then a
    probe slip or a twitch under suction; or a noise excursion, then the onset), keep the first when it
    is at least half the strongest of them, otherwise the strongest. Only such blocks are sorted.

    Returns the kept events and the rows whose choice was not clear-cut: a block in which an event
    left out is at least half as strong as the one kept and is no step (``step_like`` of the events'
    positions in the arrays: a probe slip is a step, a second suction is a rise like the first)."""
    none = np.zeros(0, dtype=r.dtype)
    if not r.size:
        return r, idx, is_on, none
    new = np.concatenate(([True], (r[1:] != r[:-1]) | (is_on[1:] != is_on[:-1])))
    starts = np.flatnonzero(new)
    size = np.diff(np.concatenate((starts, [r.size])))
    multi = size > 1
    if not multi.any():
        return r, idx, is_on, none
    el = np.flatnonzero(np.repeat(multi, size))  # the events of blocks with more than one
    block = (np.cumsum(new) - 1)[el]
    srt = np.lexsort((-strength[el], block))
    strongest = el[srt][
        np.concatenate(([True], block[srt][1:] != block[srt][:-1]))
    ]  # one per block, in order
    pick = starts.copy()
    s0 = starts[multi]
    pick[multi] = np.where(strength[s0] >= 0.5 * strength[strongest], s0, strongest)
    kept = pick[block]  # the kept event of each multi-event block's event
    rival = (el != kept) & (strength[el] >= 0.5 * strength[kept])
    if rival.any():
        rival[rival] = ~step_like(el[rival])
    return r[pick], idx[pick], is_on[pick], np.unique(r[el[rival]])


def _step_like(y, n, h, r_all, idx_all, up_all, e) -> np.ndarray:
    """Whether the change of events ``e`` (positions in ``r_all, idx_all, up_all``: row, last sample
    before the change, rise or drop) is a step: one sample carries at least 80 % of the change over
    the next ``h`` samples. A suction onset or release spreads over several samples (its first sample
    carries about 50-65 % of the 20-ms change at 100 Hz); with ``h = 1`` (50 Hz or less) every change
    is one sample, so every change counts as a step."""
    r, idx, up = r_all[e], idx_all[e], up_all[e]
    hr = h[r]
    width = int(hr.max(initial=1))
    cols = np.minimum(idx[:, None] + np.arange(width + 1), (n[r] - 1)[:, None])
    cols = np.minimum(cols, (idx + hr)[:, None])  # each event's own h
    seg = y[r[:, None], cols] * np.where(up, 1.0, -1.0)[:, None]
    total = seg[:, -1] - seg[:, 0]
    jump = np.diff(seg, axis=1).max(axis=1)
    return (hr <= 1) | (jump >= 0.8 * total)


def infer_phases(s: CurveStack, rows: np.ndarray):
    """Onsets and releases of the curves ``rows`` of ``s``, from the deformation alone.

    Returns ``(row, onset_index, release_index, end_index, incomplete, ambiguous)``: one entry per
    cycle (onset and release sample indices, the end = next onset or last sample) and per-row flags
    (``incomplete``: a partial cycle at the start or end was left out; ``ambiguous``: no clear
    onset/release sequence was found: see the module docstring).
    """
    g = len(s.n)
    incomplete = np.zeros(g, dtype=bool)
    ambiguous = np.zeros(g, dtype=bool)
    empty = np.zeros(0, dtype=np.intp)
    if not rows.size:
        return empty, empty, empty, empty, incomplete, ambiguous
    every = rows.size == g and bool(np.all(rows == np.arange(g)))
    y = np.ascontiguousarray(s.y if every else s.y[rows])  # all rows: no copy (a chunk is contiguous)
    n, dt = s.n[rows], s.dt[rows]
    m = y.shape[1]
    h = np.maximum(1, np.round(RISE_S / dt)).astype(np.intp)
    last = n - 1
    y32 = y.astype(np.float32)  # the rise and the noise level only place events: float32 will do
    rise = _rise(y32, n, h)
    noise = _noise(y32, n)
    floor = _NOISE_Z * np.sqrt(2.0) * noise
    gap = np.maximum(2, np.round(_MERGE_S / dt)).astype(np.intp)
    top, drop = rise.max(axis=1), -rise.min(axis=1)
    level = [np.maximum(EVENT_FRACTION * x, floor) for x in (top, drop)]
    for lv, x in zip(level, (top, drop), strict=True):
        lv[~(x > 0)] = np.inf
    # the candidate samples: onsets (R above its level), then releases (-R above its level), each in order
    ups = np.flatnonzero(rise > level[0].astype(rise.dtype)[:, None])
    pos = np.concatenate((ups, np.flatnonzero(rise < (-level[1]).astype(rise.dtype)[:, None])))
    up = np.zeros(pos.size, dtype=bool)
    up[: ups.size] = True
    r, i0, strength, is_on = _events(pos, np.abs(rise.reshape(-1)[pos]), up, m, gap)
    idx = _refine(y, n, dt, noise[r], r, i0)
    order = np.argsort(r * m + idx, kind="stable")  # two sorted sequences: one merge
    r, idx, is_on, strength = r[order], idx[order], is_on[order], strength[order]
    step_like = functools.partial(_step_like, y, n, h, r, idx, is_on)  # of events by position
    r, idx, is_on, unclear = _first_of_runs(r, idx, is_on, strength, step_like)
    # a leading release (the record starts under suction) is dropped: that cycle is incomplete
    first = np.concatenate(([True], r[1:] != r[:-1])) if r.size else np.zeros(0, dtype=bool)
    lead = first & ~is_on
    incomplete[rows[r[lead]]] = True
    r, idx, is_on = r[~lead], idx[~lead], is_on[~lead]
    # each row now alternates onset, release, onset, ... (runs of one kind were collapsed above)
    bad_rows = np.zeros(len(rows), dtype=bool)
    bad_rows[np.bincount(r, weights=is_on, minlength=len(rows)) == 0] = True
    bad_rows[unclear] = True  # two rises (or drops) alike without the other kind between them
    ambiguous[rows[bad_rows]] = True
    keep = ~bad_rows[r]
    r, idx, is_on = r[keep], idx[keep], is_on[keep]
    on_pos = np.flatnonzero(is_on)
    has_off = (on_pos + 1 < r.size) & (np.concatenate((r, [-1]))[on_pos + 1] == r[on_pos])
    incomplete[rows[r[on_pos[~has_off]]]] = True  # the record ends under suction
    on_pos = on_pos[has_off]
    c_row, c_on, c_off = r[on_pos], idx[on_pos], idx[on_pos + 1]
    nxt = on_pos + 2
    has_next = (nxt < r.size) & (np.concatenate((r, [-1]))[np.minimum(nxt, r.size)] == c_row)
    c_end = np.where(has_next, np.concatenate((idx, [0]))[np.minimum(nxt, r.size)], last[c_row])
    return rows[c_row], c_on, c_off, c_end, incomplete, ambiguous
