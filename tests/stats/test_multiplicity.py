"""Multiplicity adjustments against R ``p.adjust`` (fixtures in tests/reference/stats/p_adjust.csv).

Tolerance: 1e-12 relative (the arithmetic is a handful of multiplications and running extrema).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from skintrial.errors import InputError
from skintrial.stats import adjust_families, p_adjust

REF = pd.read_csv(Path(__file__).resolve().parents[1] / "reference" / "stats" / "p_adjust.csv")
GROUPS = sorted({(v, m) for v, m in zip(REF.vector, REF.method, strict=True)})


@pytest.mark.parametrize(("vector", "method"), GROUPS)
def test_p_adjust_matches_r(vector, method):
    r = REF[(REF.vector == vector) & (REF.method == method)].sort_values("index")
    ours = p_adjust(r.p.to_numpy(), method)
    assert_allclose(ours, r.p_adj.to_numpy(float), rtol=1e-12, equal_nan=True)


def test_every_r_method_is_covered():
    assert set(REF.method) == {"holm", "hochberg", "hommel", "bonferroni", "BH", "BY", "fdr", "none"}


def test_fixed_sequence_is_the_running_maximum():
    assert_allclose(p_adjust([0.01, 0.03, 0.02, 0.2, 0.01], "fixed_sequence"), [0.01, 0.03, 0.03, 0.2, 0.2])


def test_unknown_method_names_the_choices():
    with pytest.raises(InputError, match="holm"):
        p_adjust([0.1], "tukey")


def test_families_and_gatekeeping():
    res = pd.DataFrame({"outcome": ["a", "a", "b", "c", "d"], "p": [0.01, 0.02, 0.03, 0.001, 0.5]})
    fam = {"primary": ["a", "b"], "secondary": ["c"]}
    out = adjust_families(res, families=fam, method="holm")
    assert out.family.tolist() == ["primary", "primary", "primary", "secondary", "other"]
    assert_allclose(out.p_adj, [0.03, 0.04, 0.04, 0.001, 0.5])
    gated = adjust_families(res, families=fam, method="holm", gatekeeping=True)
    assert_allclose(gated.p_adj, [0.03, 0.04, 0.04, 0.04, 0.5])
    seq = adjust_families(res, families={"primary": ["b", "a"]}, method="fixed_sequence")
    assert_allclose(seq.p_adj[:3], [0.03, 0.03, 0.03])
    assert np.all(gated.p_adj >= out.p_adj)
