"""ANCOVA contrasts and within-arm changes over the outcome axis in chunks, for a cluster (issue 16): the
serum panel's analytes.

:func:`skintrial.omics.panels.panel_analysis` with a cluster ``client`` runs its per-analyte models as
tasks over chunks of :data:`ANALYTES_PER_TASK` analytes (cut by the data, never by the number of
workers). Each analyte's ANCOVA and within-arm change use that analyte's values only: nothing is
shared across analytes but the design (participants, arms, covariates). What needs every analyte
stays here, in this process:

* **before the chunks**: the preparation (:func:`~skintrial.omics.panels.prepare_panel`): PQN's
  reference profile and dilution factors (a median over all analytes of a sample), the below-LOD
  substitution or censored-normal fit and the log transform, batched numpy over the whole grid; then
  the test rule (``max_below_lod``) and the layout of the tested analytes as participants × analytes
  × visits (:func:`~skintrial.stats._data.trial_arrays`, as :func:`~skintrial.stats.ancova` lays them
  out itself);
* **in the tasks** (:func:`panel_stats_task`): the batched ANCOVA contrasts of the chunk's analytes
  (the engine's fit, :func:`skintrial.stats.ancova`'s own steps) and their within-arm changes (as
  :func:`skintrial.stats.within_arm_change`);
* **after the chunks**: the tables concatenated in chunk order, then Benjamini–Hochberg within each
  panel (× contrast, × arm), the ratios and the names, as in this process.

What travels, and why: the laid-out arrays, once per worker (``shared``): the values, participants ×
analytes × visits (8 bytes each: 1.3 MB for 1,480 analytes × 56 participants × 2 visits), the arm of
each participant and the participant-level covariates (one row per participant). A task's item is
its index range ``(start, stop)``; it returns its analytes' two result tables (columnar: one frame
per chunk, not per row). No long table is pickled.

The tables equal this process's, with one stated exception (``tests/cluster/test_panels_cluster.py``):
the ANCOVA's floating-point columns (``estimate``, ``se``, ``ci_low``, ``ci_high``, ``t``, ``p``,
``p_adj``, ``effect_size``, ``ratio``, ``ratio_low``, ``ratio_high``) can differ in the last bits, to
1e-12 relative (1.2e-14 seen on the synthetic 1,480-analyte panel in chunks of 500). The engine's
sums over participants are matrix products (BLAS) and vectorised loops over the batch of analytes,
and how they are cut into blocks, and so the order of the additions for one analyte, depends on the
batch's width and where the analyte falls in it; a chunk of one analyte also takes the engine's
one-outcome factorisation. Everything else — the ANCOVA's text and count columns
and ``df``, the within-arm changes, the LOD, PQN and values tables — is equal bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from skintrial.cluster import Runner, chunk_bounds
from skintrial.stats._data import TrialArrays, followup_visit_of, trial_arrays
from skintrial.stats._schema import CHANGE_COLUMNS
from skintrial.stats.ancova import _contrast_table, _design, _fit
from skintrial.stats.describe import _change

__all__ = ["ANALYTES_PER_TASK", "ancova_and_change_in_chunks", "panel_stats_task"]

ANALYTES_PER_TASK = 5000
"""Analytes per task, chosen from the measured costs (benchmarks/bench_cluster_panels.py, 2-core
machine): one analyte's ANCOVA and change take about 9 µs at 56 participants and 2 visits (a task of
500: 4.4 ms), and a task costs 2-3.5 ms of scheduling beyond its work (5-14 ms on a loaded machine),
so 5,000 analytes (about 45 ms; more with more participants) keep the overhead near 5 %, as the
expression layer's 2,000 genes do. A 1,480-analyte panel is then one task; 10^5 analytes, 20."""


def panel_stats_task(
    bounds: tuple[int, int],
    *,
    ta: TrialArrays,
    change_arms: tuple[str, ...],
    change_arm_index: np.ndarray,
    baseline_visit: str,
    followup_visit: str,
    reference_arm: str | None,
    ci_level: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A cluster task: the ANCOVA contrasts (``CONTRAST_COLUMNS``, ``p_adj`` empty) and the within-arm
    changes (``CHANGE_COLUMNS``) of analytes ``bounds[0]:bounds[1]`` of ``ta``.

    ``change_arms`` / ``change_arm_index``: the arm order of the changes (the declared order, without
    the reference moved first, as :func:`skintrial.stats.within_arm_change` lays it out)."""
    a, b = bounds
    sub = replace(ta, outcomes=ta.outcomes[a:b], values=np.ascontiguousarray(ta.values[:, a:b, :]))
    X, names, _, y, Z, znames, W = _design(sub, baseline_visit, followup_visit, False)
    fit, empty = _fit(X, y, Z, W, sub, [*names, *znames], False)
    contrasts = _contrast_table(fit, sub, baseline_visit, W, empty, reference_arm, ci_level)
    by_arm = replace(sub, arms=change_arms, arm_index=change_arm_index)
    change = _change(by_arm, baseline_visit, followup_visit, ci_level).assign(followup_visit=followup_visit)
    return contrasts, change[list(CHANGE_COLUMNS)]


def ancova_and_change_in_chunks(
    long: pd.DataFrame,
    *,
    baseline_visit: str,
    followup_visit: str | None,
    arms: Sequence[str] | None,
    reference_arm: str | None,
    covariates: Sequence[str],
    ci_level: float,
    runner: Runner,
    chunk: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``ancova(long, ...).contrasts`` and ``within_arm_change(long, ...)`` with the outcomes of
    ``long`` (one row per participant × visit × outcome, with ``arm`` and the covariates) in chunks on
    ``runner``."""
    ta = trial_arrays(long, arms=arms, reference_arm=reference_arm, covariates=covariates)
    followup = followup_visit_of(ta.visits, baseline_visit, followup_visit)
    change_arms = tuple(arms) if arms is not None else tuple(sorted(ta.arms))
    at = pd.Index(change_arms).get_indexer(np.asarray(ta.arms, dtype=object)) if ta.arms else np.zeros(0)
    change_arm_index = np.where(ta.arm_index >= 0, at[np.maximum(ta.arm_index, 0)], -1).astype(np.intp)
    shared = dict(
        ta=ta,
        change_arms=change_arms,
        change_arm_index=change_arm_index,
        baseline_visit=str(baseline_visit),
        followup_visit=followup,
        reference_arm=reference_arm,
        ci_level=ci_level,
    )
    bounds = chunk_bounds(len(ta.outcomes), chunk or ANALYTES_PER_TASK)
    parts = runner.map(panel_stats_task, bounds, shared=shared, name="serum-panel")
    contrasts = pd.concat([p[0] for p in parts], ignore_index=True)
    change = pd.concat([p[1] for p in parts], ignore_index=True)
    return contrasts, change
