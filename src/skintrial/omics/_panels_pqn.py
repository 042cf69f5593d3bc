"""Probabilistic quotient normalisation (PQN; Dieterle et al. 2006, Anal Chem 78:4281).

Metabolite intensities of one sample share a dilution: a more concentrated serum (or a larger
injection) scales every metabolite by the same factor. PQN estimates that factor robustly:

1. optionally, integral (total-area) normalisation of each sample (Dieterle's step 1);
2. a reference profile: the median (or mean) of each feature over the reference samples (all samples,
   or the QC samples);
3. the quotients feature / reference for every feature of a sample;
4. the sample's dilution factor = the median of its quotients; the sample is divided by it.

Only detected, positive values enter the reference and the quotients (a below-LOD entry tells
nothing about dilution); the whole sample — values and limits — is then divided by its factor.
Checked against a literal computation (numpy, one sample at a time) in ``tests/omics/test_panels.py``;
qmtools ``normalizePQN(type = "median")`` and notame ``pqn_normalization(ref = "all")`` follow the
same steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PqnFit", "pqn_factors"]


@dataclass(frozen=True)
class PqnFit:
    """Dilution factors (S,) of the samples, the reference profile (F,), quotients used per sample (S,)."""

    factors: np.ndarray
    reference: np.ndarray
    n_quotients: np.ndarray


def pqn_factors(
    x: np.ndarray,
    *,
    reference: str = "median",
    reference_samples: np.ndarray | None = None,
    total_area: bool = False,
) -> PqnFit:
    """PQN dilution factors of the samples (rows) of ``x`` (samples × features, linear scale, NaN = absent).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, 2.0, 4.0], [2.0, 4.0, 8.0], [1.0, 2.0, 4.0]])
    >>> pqn_factors(x).factors.tolist()
    [1.0, 2.0, 1.0]
    """
    x = np.asarray(x, dtype=float)
    ok = np.isfinite(x) & (x > 0)
    xs = np.where(ok, x, np.nan)
    area = np.ones(x.shape[0])
    if total_area:
        tot = np.nansum(xs, axis=1)
        area = np.where(tot > 0, tot / np.median(tot[tot > 0]), 1.0)
        xs = xs / area[:, None]
    ref_rows = xs if reference_samples is None else xs[np.asarray(reference_samples, dtype=bool)]
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN features give NaN, as intended
            ref = np.nanmedian(ref_rows, axis=0) if reference == "median" else np.nanmean(ref_rows, axis=0)
            q = xs / np.where(ref > 0, ref, np.nan)[None, :]
            med = np.nanmedian(q, axis=1)
    n_q = np.isfinite(q).sum(axis=1)
    med = np.where(n_q > 0, med, 1.0)
    return PqnFit(factors=area * med, reference=ref, n_quotients=n_q)
