"""Layer boundaries in B-mode skin scans: entry echo, dermis/subcutis border, SLEB.

Everything works on a stack of scans of one shape and spacing, ``(n, rows, cols)``, so a batch of
scans (or the frames of a cine loop) is processed by the same array operations; the only Python loop
is the dynamic programme's sweep over column bins, and it runs once for the whole stack.

The method, step by step (all widths in mm are turned into rows/columns with the pixel spacing):

1. **Lateral binning.** Columns are averaged in bins ``lateral_bin_mm`` wide (0.1 mm), which averages
   out speckle without blurring depth. Each bin is one depth profile ``I(r)``.
2. **Step features** from running means (cumulative sums): the surface feature is
   ``mean I[r, r+w₁) − mean I[r−w₂, r)`` (dark gel above, bright entry echo below; the surface is searched
   below ``surface_min_mm``), the border feature ``mean I[r−wₐ, r) − mean I[r, r+w_b)`` with wₐ = 0.3 mm
   and w_b = 0.15 mm (a thick echogenic dermis above, dark fat below; the long upper window keeps thin
   bright septa in the fat from outscoring the dermis), each in grey levels. A step feature peaks where a boundary lies.
3. **Smooth boundary by dynamic programming** over the column bins: the path ``r(j)`` that maximises
   ``Σ F(r(j), j)/scale − λ Σ |r(j) − r(j−1)|·dy`` with ``|r(j) − r(j−1)| ≤ k`` rows (a maximum slope),
   solved exactly by a Viterbi sweep vectorised over the stack and all rows. ``scale`` is the median
   over bins of the largest feature value in the search band, so λ (per mm of jump) depends neither on
   contrast nor on pixel size. The path is refined to sub-row precision by a parabola through the
   feature at ``r − 1, r, r + 1``.
4. **Entry echo thickness.** Below the surface, the strongest falling step within
   ``max_entry_echo_mm`` marks the lower edge of the entry echo in each bin; the median over bins is the
   entry-echo thickness, and the dermis starts that far below the surface everywhere.
5. **Border** search band: from ``min_dermis_mm`` to ``max_dermis_mm`` below the top of the dermis.
6. **SLEB.** The fraction of low-echogenic pixels (0–30) is averaged over the whole frame at each
   depth below the top of the dermis (each bin aligned on its own top). Going down, the SLEB ends at
   the row that maximises ``Σ (fraction − sleb_lep_min)`` over the rows above it (``sleb_lep_min`` =
   0.5): the band in which most pixels are low-echogenic, ended at a change point so one bright
   speckle cannot cut it short. Zero when the first rows already fall short, or when that sum is not
   above 3 noise SDs of the profile times √rows (the noise SD from its row-to-row differences).
   "Low-echogenic" is read on the scan's own grey range (:func:`_low_cutoff`), so a low-contrast
   scan, whose band no longer reaches 0–30, keeps its SLEB.
7. **Confidence.** For each boundary, the median over bins of the step along the path is divided by
   the standard deviation of the same feature sampled 2–5 window widths above and below the path; the
   boundary is "found" when this ratio reaches ``min_step_z`` and the median step reaches
   ``min_step_grey`` grey levels.

Checked against simulated phantoms with known boundaries (tests/instruments/test_ultrasound.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Layers", "DetectionSettings", "detect_layers"]

LOW_MAX = 30
_BIG = np.float32(1e6)


@dataclass(frozen=True)
class DetectionSettings:
    """Tuning of the boundary detection; every length is in mm (see the module docstring)."""

    lateral_bin_mm: float = 0.1
    surface_window_mm: tuple[float, float] = (0.05, 0.1)  # (below w₁, above w₂)
    surface_min_mm: float = 0.1  # the surface is searched below this depth (raise it past a probe membrane)
    echo_window_mm: float = 0.03
    max_entry_echo_mm: float = 0.3
    border_window_mm: tuple[float, float] = (0.3, 0.15)  # (above, below)
    min_dermis_mm: float = 0.3
    max_dermis_mm: float = 4.0
    max_slope: float = 0.5  # mm of depth per mm across
    smoothness: float = 8.0  # λ per mm of depth jump between bins, in units of the feature scale
    sleb_lep_min: float = 0.5
    min_step_z: float = 1.6
    confidence_group_mm: float = 0.1  # lateral groups for the confidence ratio (0.1 mm: per bin)
    min_step_grey: float = 8.0
    nominal_spacing_mm: tuple[float, float] = (0.0125, 0.0125)  # used for widths when spacing is missing


@dataclass(frozen=True)
class Layers:
    """Boundaries per scan and column, in row units (pixel ``r`` spans rows ``[r, r+1)``).

    Arrays are ``(n, cols)``; ``surface_found``/``border_found`` are ``(n,)`` booleans and
    ``*_step``/``*_z`` the median step (grey levels) and its ratio to the feature's spread.
    """

    surface: np.ndarray
    top: np.ndarray
    sleb_bottom: np.ndarray
    border: np.ndarray
    surface_found: np.ndarray
    border_found: np.ndarray
    surface_step: np.ndarray
    border_step: np.ndarray
    surface_z: np.ndarray
    border_z: np.ndarray


def _rows(mm: float, d: float, minimum: int = 1) -> int:
    return max(minimum, int(round(mm / d)))


def _bin_edges(cols: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    edges = np.arange(0, cols, width)
    counts = np.diff(np.append(edges, cols))
    return edges, counts


def _binned_profiles(stack: np.ndarray, edges: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Column-bin means as depth profiles, shape ``(n, bins, rows)``.

    Full bins are summed as ``width`` strided slices into uint16 (fast, exact for 8-bit data); a
    narrower last bin is summed on its own.
    """
    width, full = int(counts[0]), int(np.sum(counts == counts[0]))
    if width > 257:  # uint16 sums would overflow: fall back to the general reduction
        sums = np.add.reduceat(stack, edges, axis=2, dtype=np.float32)
    else:
        blocks = stack[..., : full * width].reshape(stack.shape[:2] + (full, width))
        sums = blocks[..., 0].astype(np.uint16)
        for i in range(1, width):
            sums += blocks[..., i]
        if full < edges.size:
            rest = stack[..., full * width :].sum(axis=2, dtype=np.uint16)[..., None]
            sums = np.concatenate([sums, rest], axis=2)
    means = sums.astype(np.float32)
    means /= counts.astype(np.float32)
    return np.ascontiguousarray(np.swapaxes(means, 1, 2))


def _window_mean(csum: np.ndarray, pad: int, offset: int, width: int) -> np.ndarray:
    """Mean of rows ``[r + offset, r + offset + width)`` for every row r, from a cumulative sum padded
    by ``pad`` copies of its ends (see :func:`_cumsum`); the part of a window outside the image is left
    out (an empty window gives 0)."""
    rows = csum.shape[-1] - 1 - 2 * pad
    r = np.arange(rows)
    count = np.clip(r + offset + width, 0, rows) - np.clip(r + offset, 0, rows)
    start = pad + offset
    total = csum[..., start + width : start + width + rows] - csum[..., start : start + rows]
    total *= (1.0 / np.maximum(count, 1)).astype(np.float32)
    return total


def _cumsum(profiles: np.ndarray, pad: int) -> np.ndarray:
    """Cumulative sum along rows with a leading zero, padded by ``pad`` copies of each end."""
    rows = profiles.shape[-1]
    out = np.zeros(profiles.shape[:-1] + (rows + 1 + 2 * pad,), np.float32)
    np.cumsum(profiles, axis=-1, out=out[..., pad + 1 : pad + 1 + rows])
    out[..., pad + 1 + rows :] = out[..., pad + rows, None]
    return out


def _viterbi(score: np.ndarray, allowed: np.ndarray, k: int, lam: float) -> np.ndarray:
    """Row path per scan maximising Σ score − λ Σ|jump| with |jump| ≤ k; ``score`` is (n, bins, rows).

    Forward pass: the accumulated cost of every (bin, row) is a min-plus sweep over the 2k + 1 shifted
    copies of the previous bin's costs (vectorised over scans and rows, and limited to the rows some
    scan may use). Backward pass: from the cheapest end, each step picks the best of the 2k + 1
    predecessors of the row already chosen.
    """
    n, bins, _ = score.shape
    used = np.flatnonzero(allowed.any(axis=(0, 1)))
    if used.size == 0:
        return np.zeros((n, bins), np.intp)
    lo, hi = int(used[0]), int(used[-1]) + 1
    cost = np.where(allowed[..., lo:hi], -score[..., lo:hi], _BIG).astype(np.float32)
    rows = hi - lo
    k = min(k, rows - 1)
    penalty = (lam * np.arange(k + 1)).astype(np.float32)
    acc = np.empty_like(cost)
    acc[:, 0] = cost[:, 0]
    shifted = np.empty((n, rows), np.float32)
    for j in range(1, bins):
        prev, best = acc[:, j - 1], acc[:, j]
        best[...] = prev
        for d in range(1, k + 1):
            np.add(prev[:, d:], penalty[d], out=shifted[:, :-d])  # from row r + d
            np.minimum(best[:, :-d], shifted[:, :-d], out=best[:, :-d])
            np.add(prev[:, :-d], penalty[d], out=shifted[:, d:])  # from row r − d
            np.minimum(best[:, d:], shifted[:, d:], out=best[:, d:])
        best += cost[:, j]
    path = np.empty((n, bins), np.intp)
    path[:, -1] = acc[:, -1].argmin(axis=1)
    idx = np.arange(n)[:, None]
    steps = np.arange(-k, k + 1)
    step_penalty = penalty[np.abs(steps)]
    for j in range(bins - 1, 0, -1):
        cand = path[:, j, None] + steps
        inside = (cand >= 0) & (cand < rows)
        value = np.where(inside, acc[idx, j - 1, np.clip(cand, 0, rows - 1)] + step_penalty, np.inf)
        path[:, j - 1] = cand[np.arange(n), value.argmin(axis=1)]
    return path + lo


def _refine(feature: np.ndarray, path: np.ndarray) -> np.ndarray:
    """Sub-row peak position by a parabola through the feature at path − 1, path, path + 1."""
    rows = feature.shape[-1]
    centre = np.clip(path, 1, rows - 2)
    f = [np.take_along_axis(feature, (centre + d)[..., None], axis=-1)[..., 0] for d in (-1, 0, 1)]
    curvature = f[0] - 2 * f[1] + f[2]
    with np.errstate(divide="ignore", invalid="ignore"):
        offset = np.where(curvature < 0, 0.5 * (f[0] - f[2]) / curvature, 0.0)
    return centre + np.clip(offset, -0.5, 0.5)


def _group_mean(values: np.ndarray, group: int) -> np.ndarray:
    """Means over consecutive groups of ``group`` bins (axis 1); a short last group is dropped."""
    n, bins = values.shape[:2]
    g = max(1, min(group, bins))
    usable = (bins // g) * g
    return values[:, :usable].reshape((n, usable // g, g) + values.shape[2:]).mean(axis=2)


def _confidence(
    feature: np.ndarray, allowed: np.ndarray, path: np.ndarray, away: int, group: int, s: DetectionSettings
):
    """Median step along the path, and a signal-to-noise ratio: the median over lateral groups of
    ``group`` bins of the mean step along the path, divided by the standard deviation of the same
    group means of the feature 2–5 window widths above and below the path (noise averages out over a
    group, a real boundary does not)."""
    rows = feature.shape[-1]
    along = np.take_along_axis(feature, path[..., None], axis=-1)[..., 0]
    step = np.median(along, axis=1)
    offsets = away * np.array([-5, -4, -3, -2, 2, 3, 4, 5])
    idx = path[..., None] + offsets
    ok = (idx >= 0) & (idx < rows)
    idx = np.clip(idx, 0, rows - 1)
    ok &= np.take_along_axis(allowed, idx, axis=-1)
    off = _group_mean(np.where(ok, np.take_along_axis(feature, idx, axis=-1), np.nan), group)
    ok = np.isfinite(off)
    f = np.where(ok, off, 0.0)
    m = ok.sum(axis=(1, 2))
    mean = f.sum(axis=(1, 2)) / np.maximum(m, 1)
    var = (f * f).sum(axis=(1, 2)) / np.maximum(m, 1) - mean**2
    signal = np.median(_group_mean(along, group), axis=1)
    z = np.where(m > 1, signal / np.sqrt(np.maximum(var, 1e-12)), 0.0)
    return step, z, (z >= s.min_step_z) & (step >= s.min_step_grey)


def _normalised(feature: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """The feature divided by its typical peak: the median over bins of the largest value in the band."""
    peak = np.where(allowed, feature, -np.inf).max(axis=-1)
    scale = np.median(np.where(np.isfinite(peak), peak, 0.0), axis=1)
    return feature / np.maximum(scale, 1e-6)[:, None, None].astype(np.float32)


def _to_columns(per_bin: np.ndarray, edges: np.ndarray, counts: np.ndarray, cols: int) -> np.ndarray:
    """Linear interpolation of per-bin values (at bin centres) to every column."""
    centres = edges + (counts - 1) / 2.0
    x = np.arange(cols, dtype=np.float64)
    if centres.size == 1:
        return np.repeat(per_bin, cols, axis=1)
    right = np.clip(np.searchsorted(centres, x, side="right"), 1, centres.size - 1)
    left = right - 1
    w = np.clip((x - centres[left]) / (centres[right] - centres[left]), 0.0, 1.0)
    return per_bin[:, left] * (1 - w) + per_bin[:, right] * w


def _low_cutoff(stack: np.ndarray) -> np.ndarray:
    """Per scan, the grey level that stands for the LEP cutoff (0–30) in the scan's own grey scale.

    A low-contrast scan (grey levels squeezed towards mid-grey, black lifted) keeps its SLEB as visible
    as before, but its band no longer reaches 0–30: at contrast 0.7 the gel reads about 38 and no
    pixel at all is at or below 30. The 1st–99th percentile range (on every 4th row and column, like
    the ``low_contrast`` check) is stretched onto 0–255, ``p1 + 30 (p99 − p1) / 255``; the cutoff is
    never below 30, so scans whose black is at 0 (every default phantom, gain 0.8–1.2) keep 0–30.
    """
    sub = stack[:, ::4, ::4].reshape(stack.shape[0], -1)
    p1, p99 = np.percentile(sub, [1, 99], axis=1)
    return np.maximum(LOW_MAX, np.floor(p1 + LOW_MAX * (p99 - p1) / 255.0))


def _sleb_rows(
    stack: np.ndarray, edges, counts, top_bins: np.ndarray, border_bins: np.ndarray, s: DetectionSettings
) -> np.ndarray:
    """Per-bin SLEB thickness in rows (see step 6 of the module docstring).

    The low-echogenic fraction is averaged over every bin of the frame at the same depth below the top
    of the dermis, and the change point is found once on that profile. (Found per bin and then
    taken as the median, the maximum of a cumulative sum over a noisy profile is biased upwards: a
    0.15 mm band read 0.16-0.23 mm, and scans without a band showed one of up to 0.09 mm.)
    """
    low = _binned_profiles(stack <= _low_cutoff(stack)[:, None, None], edges, counts)  # LEP fraction
    rows = stack.shape[1]
    first = np.ceil(top_bins - 0.5).astype(np.intp)  # first row whose centre is in the dermis
    depth = max(1, int(np.nanmax(border_bins - top_bins, initial=1.0) / 2) + 1)
    idx = first[..., None] + np.arange(depth)
    inside = idx < np.minimum(np.floor(border_bins - 0.5)[..., None], rows)
    vals = np.take_along_axis(low, np.clip(idx, 0, rows - 1), axis=-1)
    weight = inside * counts[None, :, None]  # bins weighted by their columns
    total = weight.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        profile = (vals * weight).sum(axis=1) / total  # (n, depth)
    excess = np.where(total > 0, profile - s.sleb_lep_min, -1.0)
    gain = np.concatenate([np.zeros(excess.shape[:-1] + (1,)), np.cumsum(excess, axis=-1)], axis=-1)
    run = gain.argmax(axis=-1)  # rows in the band that maximise Σ (fraction − threshold)
    # a band must stand out of the profile's own row-to-row noise: Σ excess > 3 SD sqrt(rows)
    step = np.abs(np.diff(np.where(total > 0, profile, np.nan), axis=-1))
    with np.errstate(invalid="ignore"):
        sd = np.nan_to_num(np.nanmedian(step, axis=-1) / (0.6745 * np.sqrt(2.0))) if depth > 1 else 0.0
    best = np.take_along_axis(gain, run[:, None], axis=-1)[:, 0]
    run = np.where(best > 3.0 * sd * np.sqrt(run), run, 0)[:, None]
    return np.where(run > 0, np.maximum(first + run - top_bins, 0.0), 0.0)


def detect_layers(
    stack: np.ndarray, *, spacing_mm: tuple[float, float] | None, settings: DetectionSettings | None = None
) -> Layers:
    """Find surface, top of dermis, SLEB and dermis/subcutis border in a ``(n, rows, cols)`` stack."""
    s = settings or DetectionSettings()
    dy, dx = spacing_mm or s.nominal_spacing_mm
    n, rows, cols = stack.shape
    edges, counts = _bin_edges(cols, _rows(s.lateral_bin_mm, dx))
    prof = _binned_profiles(stack, edges, counts)
    r = np.arange(rows)
    k = max(1, int(np.ceil(s.max_slope * s.lateral_bin_mm / dy)))
    group = max(1, int(round(s.confidence_group_mm / s.lateral_bin_mm)))

    w1, w2 = _rows(s.surface_window_mm[0], dy, 2), _rows(s.surface_window_mm[1], dy, 2)
    wa, wb = (_rows(w, dy, 2) for w in s.border_window_mm)
    pad = max(w1, w2, wa, wb) + 1
    csum = _cumsum(prof, pad)
    surface_f = _window_mean(csum, pad, 0, w1) - _window_mean(csum, pad, -w2, w2)
    room = rows - _rows(s.min_dermis_mm + s.max_entry_echo_mm, dy)
    first = max(w2, _rows(s.surface_min_mm, dy, 0))
    allowed = np.broadcast_to((r >= first) & (r < max(room, first + 1)), surface_f.shape)
    path = _viterbi(_normalised(surface_f, allowed), allowed, k, s.smoothness * dy)
    surface_step, surface_z, surface_found = _confidence(surface_f, allowed, path, 2 * w2, group, s)
    surface = _refine(surface_f, path)

    we = _rows(s.echo_window_mm, dy, 2)
    echo_f = _window_mean(csum, pad, -we, we) - _window_mean(csum, pad, 0, we)
    below = r - surface[..., None]
    band = (below >= 2) & (below <= _rows(s.max_entry_echo_mm, dy))
    echo_bottom = _refine(echo_f, np.where(band, echo_f, -np.inf).argmax(axis=-1))
    echo = np.median(echo_bottom - surface, axis=1, keepdims=True)
    top = surface + echo

    border_f = _window_mean(csum, pad, -wa, wa) - _window_mean(csum, pad, 0, wb)
    depth = r - top[..., None]
    allowed = (
        (depth >= _rows(s.min_dermis_mm, dy))
        & (depth <= _rows(s.max_dermis_mm, dy))
        & (r <= rows - max(wb // 2, 1))
    )
    path = _viterbi(_normalised(border_f, allowed), allowed, k, s.smoothness * dy)
    border_step, border_z, border_found = _confidence(border_f, allowed, path, 2 * wb, group, s)
    border = _refine(border_f, path)

    sleb = top + _sleb_rows(stack, edges, counts, top, border, s)
    surface, top, sleb, border = (_to_columns(a, edges, counts, cols) for a in (surface, top, sleb, border))
    return Layers(
        surface=surface,
        top=top,
        sleb_bottom=sleb,
        border=border,
        surface_found=surface_found,
        border_found=border_found & surface_found,
        surface_step=surface_step,
        border_step=border_step,
        surface_z=surface_z,
        border_z=border_z,
    )
