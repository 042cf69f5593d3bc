"""The serum panel's analytes in chunks on a LocalCluster of 2 workers (issue 16): the tables of
``panel_analysis(..., client=)`` equal the in-process ones.

PQN, the LOD handling and Benjamini–Hochberg run centrally; the per-analyte ANCOVA and within-arm
change in the tasks (skintrial.stats._ancova_chunks). The ANCOVA's floating-point columns may differ in
the last bits (the module says why) and are compared to 1e-12 relative; everything else exactly.
Chunks are made small here (several per test).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import skintrial.stats._ancova_chunks as panel_chunks
from skintrial.omics.panels import panel_analysis, read_panel

RTOL = 1e-12
LAST_BITS = (
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "t",
    "p",
    "p_adj",
    "effect_size",
    "ratio",
    "ratio_low",
    "ratio_high",
)


def assert_same_ancova(ours: pd.DataFrame, ref: pd.DataFrame) -> None:
    """Every column but :data:`LAST_BITS` exactly; those to 1e-12 relative (interval bounds relative
    to the widest interval: a bound near zero is a difference of two close numbers)."""
    rest = [c for c in ref.columns if c not in LAST_BITS]
    pd.testing.assert_frame_equal(ours[rest], ref[rest], check_exact=True)
    for col in LAST_BITS:
        atol = RTOL * float(np.nanmax(ref["ci_high"] - ref["ci_low"])) if col.startswith("ci_") else 0.0
        assert_allclose(ours[col].to_numpy(), ref[col].to_numpy(), rtol=RTOL, atol=atol, err_msg=col)


@pytest.fixture(scope="module")
def serum(tmp_path_factory) -> pd.DataFrame:
    """The synthetic study's serum file (three panels, cytokines below their LOD, a dilution on the
    metabolites), every fifth analyte: about 300 analytes × 24 participants, with the arms and
    two covariates (age, sex) joined."""
    from skintrial.plan import synthetic_study

    root = synthetic_study(seed=3, n=24, training=False).write(tmp_path_factory.mktemp("bundle"))
    panel = read_panel(root / "serum.csv")
    names = panel["analyte"].drop_duplicates().iloc[::5]
    people = pd.read_csv(root / "participants.csv").astype({"participant_id": str})
    data = panel[panel["analyte"].isin(names)].merge(
        people[["participant_id", "arm", "age", "sex"]], on="participant_id"
    )
    assert data["panel"].nunique() == 3 and data["below_lod"].any()
    return data


@pytest.mark.parametrize(
    "options",
    [
        dict(),
        dict(pqn=["metabolites"], covariates=["age", "sex"]),
        dict(below_lod="censored_normal", max_below_lod=0.9, arms=["RT", "AT"]),
    ],
    ids=["default", "pqn_covariate", "censored_all_pairs"],
)
def test_panel_on_two_workers_equals_in_process(dask_client, monkeypatch, serum, options):
    monkeypatch.setattr(panel_chunks, "ANALYTES_PER_TASK", 70)  # 5 chunks, out of order on 2 workers
    kw = dict(baseline_visit="week0", reference_arm=None if "arms" in options else "AT", **options)
    ref = panel_analysis(serum, **kw)
    ours = panel_analysis(serum, client=dask_client, **kw)
    assert ref.lod["tested"].sum() > 4 * 70 and len(ref.ancova) == ref.lod["tested"].sum()
    assert_same_ancova(ours.ancova, ref.ancova)
    for name in ("change", "lod", "values", "pqn"):
        pd.testing.assert_frame_equal(getattr(ours, name), getattr(ref, name), check_exact=True, obj=name)
    assert (ref.ancova["p_adj"] >= ref.ancova["p"]).all()  # BH over the whole panel, not per chunk


def test_the_chunks_are_cut_by_the_data(monkeypatch, serum):
    """The tasks' items are the analytes' index ranges at the module's chunk size, whatever the runner."""
    from skintrial.cluster import DaskRunner

    seen: list[tuple[int, int]] = []

    class Recording(DaskRunner):  # runs the tasks here, in order, and keeps their items
        def __init__(self) -> None:
            pass

        def map(self, fn, items, *, shared=None, progress=None, size=None, name=None):
            items = list(items)
            seen.extend(items)
            return [fn(item, **(shared or {})) for item in items]

    monkeypatch.setattr(panel_chunks, "ANALYTES_PER_TASK", 100)
    ref = panel_analysis(serum, baseline_visit="week0", reference_arm="AT")
    ours = panel_analysis(serum, baseline_visit="week0", reference_arm="AT", client=Recording())
    tested = int(ref.lod["tested"].sum())
    assert seen == [(a, min(a + 100, tested)) for a in range(0, tested, 100)]
    assert_same_ancova(ours.ancova, ref.ancova)
    pd.testing.assert_frame_equal(ours.change, ref.change, check_exact=True)
