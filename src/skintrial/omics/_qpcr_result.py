"""What a qPCR analysis returns, and the comparisons' rows of its table.

:class:`QpcrResult` and the columns of its table (:data:`RESULT_COLUMNS`); the groups compared, control
first (:func:`ordered_levels`), their n, mean and SD of ΔCt (:func:`group_moments`), and the table's rows
assembled from batched comparisons of G groups × K genes (:func:`result_table`), the fold change and its
intervals being 2^(−x) of the ΔΔCt and its bounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem

from ._qpcr_stats import Comparison

__all__ = [
    "QpcrResult",
    "RESULT_COLUMNS",
    "TESTS",
    "check_options",
    "ordered_levels",
    "group_moments",
    "result_table",
    "stack_comparisons",
    "control_row",
]

RESULT_COLUMNS = (
    "gene",
    "group",
    "contrast",
    "n",
    "n_control",
    "delta_ct",
    "delta_ct_sd",
    "delta_delta_ct",
    "se",
    "df",
    "t",
    "p",
    "ci_level",
    "ci_low",
    "ci_high",
    "fold_change",
    "fc_low",
    "fc_high",
    "fc_sd_low",
    "fc_sd_high",
    "method",
    "test",
)
TESTS = {"welch": "welch_t", "student": "student_t"}
"""The ``test`` argument → the name in the table's ``test`` column."""


@dataclass(frozen=True)
class QpcrResult:
    """Everything a qPCR analysis produced.

    Attributes
    ----------
    table : DataFrame
        One row per gene × comparison, columns :data:`RESULT_COLUMNS`.
    delta_ct : DataFrame
        Per-sample ΔCt (``sample, group, participant, visit, gene, delta_ct``); empty when
        ``pairing="none"``.
    replicates : DataFrame
        One Ct per sample × gene with ``n_replicates, replicate_sd, sd_flag``.
    exclusions : DataFrame
        Every well or value that did not enter as measured: ``stage, sample, gene, replicate, row,
        value, reason, action``.
    """

    table: pd.DataFrame
    delta_ct: pd.DataFrame
    replicates: pd.DataFrame
    exclusions: pd.DataFrame


def check_options(test: str, ci_level: float) -> None:
    """Check the options both designs share: the t test and the confidence level."""
    if test not in TESTS:
        raise InputError(f"test must be 'welch' or 'student', not {test!r}")
    if not 0.0 < ci_level < 1.0:
        raise InputError(f"ci_level must be between 0 and 1, not {ci_level!r}", fix="e.g. 0.95")


def ordered_levels(
    meta: pd.DataFrame,
    control: str,
    col: str = "group",
    *,
    what: str = "control group",
    file: str | None = None,
) -> list[str]:
    """``control`` first, then the other levels of ``col`` in order of appearance; ``what`` names it in errors."""
    control = str(control)  # labels are read as text: a group written 1 is "1"
    levels = list(dict.fromkeys(meta[col]))
    if control not in levels:
        raise InputError(
            Problem(
                f"{what} '{control}' not in the data ({', '.join(levels)})",
                file=file,
                fix=f"spell it as in the '{col}' column",
                column=col,
            )
        )
    if len(levels) < 2:
        raise InputError(
            Problem(
                f"only one {col} ('{control}'): nothing to compare",
                file=file,
                fix=f"the table needs samples from at least two values of '{col}'",
                column=col,
            )
        )
    return [control] + [lev for lev in levels if lev != control]


def group_moments(values: np.ndarray, labels: np.ndarray, levels: list[str]):
    """n, mean and SD (NaN left out) of each column of ``values`` in each of ``levels``: (G, K) arrays."""
    ns, means, sds = [], [], []
    for lev in levels:
        v = values[labels == lev]
        ok = np.isfinite(v)
        n = ok.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.where(ok, v, 0.0).sum(axis=0) / n
            var = (np.where(ok, v - m, 0.0) ** 2).sum(axis=0) / (n - 1)
        ns.append(n)
        means.append(np.where(n > 0, m, np.nan))
        sds.append(np.sqrt(np.where(n > 1, var, np.nan)))
    return np.array(ns), np.array(means), np.array(sds)


def result_table(
    *, genes, groups, contrasts, n, n_control, delta_ct, delta_ct_sd, comp: Comparison, ci_level, method, test
) -> pd.DataFrame:
    """Assemble result rows from (G, K) arrays; ``genes`` has length K, ``groups``/``contrasts`` G."""
    G, K = comp.estimate.shape
    num = lambda a: np.broadcast_to(np.asarray(a, dtype=float), (G, K)).ravel()  # noqa: E731
    est, sd = num(comp.estimate), num(delta_ct_sd)
    low, high = num(comp.low), num(comp.high)
    out = pd.DataFrame(
        {
            "gene": np.broadcast_to(np.asarray(genes, dtype=object)[None, :], (G, K)).ravel(),
            "group": np.broadcast_to(np.asarray(groups, dtype=object)[:, None], (G, K)).ravel(),
            "contrast": np.broadcast_to(np.asarray(contrasts, dtype=object)[:, None], (G, K)).ravel(),
            "n": num(n).astype(int),
            "n_control": num(n_control).astype(int),
            "delta_ct": num(delta_ct),
            "delta_ct_sd": sd,
            "delta_delta_ct": est,
            "se": num(comp.se),
            "df": num(comp.df),
            "t": num(comp.t),
            "p": num(comp.p),
            "ci_level": float(ci_level),
            "ci_low": low,
            "ci_high": high,
            "fold_change": 2.0**-est,
            "fc_low": 2.0**-high,
            "fc_high": 2.0**-low,
            "fc_sd_low": 2.0 ** -(est + sd),
            "fc_sd_high": 2.0 ** -(est - sd),
            "method": method,
            "test": np.broadcast_to(np.asarray(test, dtype=object)[:, None], (G, K)).ravel(),
        }
    )
    return out[list(RESULT_COLUMNS)]


def stack_comparisons(*comps: Comparison) -> Comparison:
    """The comparisons' rows one under the other."""
    return Comparison(
        *(np.concatenate([getattr(c, f) for c in comps]) for f in Comparison.__dataclass_fields__)
    )


def control_row(K: int) -> Comparison:
    """The control group against itself: ΔΔCt = 0 by definition, no test."""
    nan = np.full((1, K), np.nan)
    return Comparison(np.zeros((1, K)), nan, nan, nan, nan, np.zeros((1, K)), np.zeros((1, K)))
