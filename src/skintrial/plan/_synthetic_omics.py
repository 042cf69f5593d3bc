"""The molecular layer of a synthetic study: ``serum.csv`` and ``qpcr.csv`` with their ground truth.

Three seeded generators (see :mod:`skintrial.plan.synthetic`): ``serum.catalogue`` draws the analytes'
levels, limits and true changes (cheap, made at once: it is the truth); ``serum`` the participants'
values; ``qpcr`` the fibroblast Cts. The files are made together on first access.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from skintrial.plan import _sim_qpcr, _sim_serum

__all__ = ["omics_layer", "omics_toml", "MECHANISM_OUTCOMES"]

MECHANISM_OUTCOMES = ("r2", "r5", "r7", "dermal_thickness", "lep_upper")


def _numbers(numbers: Mapping[str, float]) -> dict[str, float]:
    rows = (*_sim_serum.CALIBRATION, *_sim_qpcr.CALIBRATION)
    return {**numbers, **{r.name: float(r.value) for r in rows}}


def _serum_drop(values: np.ndarray, cat: pd.DataFrame, participants: pd.DataFrame) -> np.ndarray:
    """Each participant's fall of log2 CCL28 + CXCL4 over the study, standardised within arm (0 if no follow-up)."""
    k = cat.index[cat["analyte"].isin(["CCL28", "CXCL4"])].to_numpy()
    log2 = np.log2(values[:, :, k])
    fall = -(log2[:, 1, :] - log2[:, 0, :]).sum(axis=1)
    arm = participants["arm"].to_numpy()
    done = (participants["status"] != "withdrawn").to_numpy()
    z = np.zeros(len(participants))
    for a in np.unique(arm):
        sel = (arm == a) & done
        if sel.sum() > 1:
            z[sel] = (fall[sel] - fall[sel].mean()) / fall[sel].std(ddof=1)
    return z


def _truth(cat: pd.DataFrame, arms: tuple[str, ...], numbers: Mapping[str, float]) -> dict[str, pd.DataFrame]:
    genes = _sim_qpcr.TARGETS + _sim_qpcr.REFERENCES
    qpcr = pd.DataFrame(
        [
            (g, a, _sim_qpcr._delta(g, a, numbers) if g in _sim_qpcr.TARGETS else 0.0)
            for g in genes
            for a in arms
        ],
        columns=["gene", "arm", "log2_fold_change"],
    )
    links = pd.DataFrame(
        [(f, o, r) for f, (o, r) in _sim_serum.LINKS.items()], columns=["factor", "skin_outcome", "rho"]
    )
    links = pd.concat(
        [
            links,
            pd.DataFrame(
                {
                    "factor": ["CCL28 + CXCL4 (fall) -> BGN (qPCR)"],
                    "skin_outcome": [""],
                    "rho": [numbers["qpcr.link.BGN"]],
                }
            ),
        ],
        ignore_index=True,
    )
    return {"serum": cat.drop(columns=["lod_quantile"]).reset_index(drop=True), "qpcr": qpcr, "links": links}


def omics_layer(
    rng_for: Callable[[str], np.random.Generator],
    participants: pd.DataFrame,
    measurements: pd.DataFrame,
    *,
    arms: tuple[str, ...],
    visits: tuple[str, ...],
    numbers: Mapping[str, float],
):
    """``((names, make_files), truth)``: the file names, a function making them, and the ground truth."""
    nums = _numbers(numbers)
    cat = _sim_serum.catalogue(rng_for("serum.catalogue"), arms, nums)
    pair = (visits[0], visits[-1])

    def make() -> dict[str, bytes]:
        values, has_follow = _sim_serum.serum_values(
            rng_for("serum"), cat, participants, measurements, visits=pair, numbers=nums
        )
        drop = _serum_drop(values, cat, participants)
        table = _sim_qpcr.qpcr_table(rng_for("qpcr"), participants, drop, visits=pair, numbers=nums)
        return {
            _sim_serum.SERUM_FILE: _sim_serum.serum_csv(values, has_follow, cat, participants, visits=pair),
            _sim_qpcr.QPCR_FILE: _sim_qpcr.qpcr_csv(table),
        }

    return ((_sim_serum.SERUM_FILE, _sim_qpcr.QPCR_FILE), make), _truth(cat, arms, nums)


def omics_toml() -> list[tuple[str, dict[str, object]]]:
    """The ``[serum]`` and ``[qpcr]`` tables of the synthetic ``study.toml``."""
    return [
        (
            "serum",
            {
                "file": _sim_serum.SERUM_FILE,
                "log": "log2",
                "below_lod": "lod_sqrt2",
                "max_below_lod": 0.5,
                "pqn": ["metabolites"],
                "mechanism_outcomes": list(MECHANISM_OUTCOMES),
            },
        ),
        (
            "qpcr",
            {"file": _sim_qpcr.QPCR_FILE, "reference_genes": list(_sim_qpcr.REFERENCES), "method": "ddct"},
        ),
    ]
