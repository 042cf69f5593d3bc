"""R's ``lowess`` (Cleveland's ``clowess``, R's src/library/stats/src/lowess.c), step for step.

voom fits its mean–variance trend with R's ``lowess``. statsmodels' LOWESS is the same algorithm
but differs in three details that R keeps from Cleveland's Fortran: a neighbour within 0.1 % of the
window's radius gets weight 1 and one beyond 99.9 % weight 0; the same cut-offs for the robustness
weights (fractions of 6 × the median absolute residual); and the window is widened to take in ties
at its right edge. With many tied abundances (real count tables: genes with the same few reads)
these move voom's weights by about 5e-8 relative, and the moderated t of genes near zero by about
1e-6; this port agrees with R to rounding.
"""

from __future__ import annotations

import numpy as np


def _lowest(
    x: np.ndarray, y: np.ndarray, xs: float, nleft: int, nright: int, rw: np.ndarray | None
) -> float | None:
    """The locally weighted linear fit at ``xs`` from the window ``nleft..nright`` (0-based,
    inclusive) and the ties beyond its right edge; ``None`` when every weight is zero."""
    n = len(x)
    rng = x[n - 1] - x[0]
    h = max(xs - x[nleft], x[nright] - xs)
    h9, h1 = 0.999 * h, 0.001 * h
    r = np.abs(x[nleft:] - xs)
    # the window runs on past nright while points stay within h9 (ties); it stops at the first
    # point right of xs that is farther than h9
    stop = np.flatnonzero((r > h9) & (x[nleft:] > xs))
    nrt = nleft + (int(stop[0]) if len(stop) else n - nleft)  # one past the last point
    r = r[: nrt - nleft]
    w = np.where(r <= h1, 1.0, (1.0 - (r / h) ** 3) ** 3)
    w[r > h9] = 0.0
    if rw is not None:
        w = w * rw[nleft:nrt]
    a = w.sum()
    if a <= 0.0:
        return None
    w = w / a
    xw = x[nleft:nrt]
    if h > 0.0:
        centre = float(np.dot(w, xw))
        c = float(np.dot(w, (xw - centre) ** 2))
        if np.sqrt(c) > 0.001 * rng:  # points spread out enough to fit a slope
            w = w * ((xs - centre) / c * (xw - centre) + 1.0)
    return float(np.dot(w, y[nleft:nrt]))


def r_lowess(
    x: np.ndarray, y: np.ndarray, *, f: float = 2 / 3, iter: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """R's ``lowess(x, y, f, iter)`` with its default ``delta = 0.01 * diff(range(x))``.

    Returns the sorted ``x`` (stable order, as R's ``order``) and the fitted values.

    Examples
    --------
    >>> x = np.arange(10.0)
    >>> sx, fit = r_lowess(x, 2 * x + 1)
    >>> bool(np.allclose(fit, 2 * x + 1))
    True
    """
    order = np.argsort(np.asarray(x, dtype=float), kind="stable")
    x = np.asarray(x, dtype=float)[order]
    y = np.asarray(y, dtype=float)[order]
    n = len(x)
    if n < 2:
        return x, y.copy()
    delta = 0.01 * (x[n - 1] - x[0])
    ns = max(2, min(n, int(f * n + 1e-7)))
    ys = np.empty(n)
    rw: np.ndarray | None = None
    for step in range(iter + 1):
        nleft, nright, last, i = 0, ns - 1, -1, 0
        while True:
            while nright < n - 1 and x[i] - x[nleft] > x[nright + 1] - x[i]:
                nleft += 1  # the radius shrinks by moving the window right
                nright += 1
            fit = _lowest(x, y, x[i], nleft, nright, rw)
            ys[i] = y[i] if fit is None else fit
            if last < i - 1:  # skipped points: linear interpolation
                alpha = (x[last + 1 : i] - x[last]) / (x[i] - x[last])
                ys[last + 1 : i] = alpha * ys[i] + (1.0 - alpha) * ys[last]
            last = i
            tie_end = int(np.searchsorted(x, x[last], side="right"))  # ties take the same value
            ys[last + 1 : tie_end] = ys[last]
            last = tie_end - 1
            beyond = int(np.searchsorted(x, x[i] + delta, side="right"))  # first point past the cut
            i = max(last + 1, beyond - 1)
            if last >= n - 1:
                break
        res = y - ys
        if step == iter:
            break
        sc = np.abs(res).mean()
        r = np.abs(res)
        m1 = n // 2
        part = np.partition(r, [n - m1 - 1, m1])
        cmad = 3.0 * (part[m1] + part[n - m1 - 1]) if n % 2 == 0 else 6.0 * part[m1]  # 6 x median
        if cmad < 1e-7 * sc:
            break
        rw = np.where(r <= 0.001 * cmad, 1.0, np.where(r <= 0.999 * cmad, (1.0 - (r / cmad) ** 2) ** 2, 0.0))
    return x, ys
