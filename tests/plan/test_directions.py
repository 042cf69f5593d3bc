"""The randomised demo reproduces the published directions of the 2023 trial (issue 11): at its default
seed, and in at least 90% of seeds, by its calibration (docs/calibration.md, "Published directions")."""

from __future__ import annotations

import numpy as np

from skintrial.plan import PUBLISHED_DIRECTIONS, published_directions, synthetic_study


def test_default_seed_reproduces_every_published_direction():
    s = synthetic_study(omics=False, training=False)
    d = published_directions(s.measurements, s.participants)
    assert len(d) == len(PUBLISHED_DIRECTIONS)
    assert d["holds"].all(), d[~d["holds"]].to_dict("records")
    at_r2 = (d.outcome == "r2") & (d.arm == "AT")  # the gain issue 11 found missing at the default seed
    assert d.loc[at_r2, "ci_low"].item() > 0


def test_at_least_90_percent_of_seeds_reproduce_them():
    holds = []
    for seed in range(100):
        s = synthetic_study(seed=seed, omics=False, training=False)
        holds.append(published_directions(s.measurements, s.participants)["holds"].all())
    fraction = float(np.mean(holds))
    assert fraction >= 0.90, fraction


def test_a_claim_that_fails_is_said():
    s = synthetic_study(omics=False, training=False)
    m = s.measurements.copy()
    rt = set(s.participants.loc[s.participants.arm == "RT", "participant_id"])
    flat = (m.outcome == "dermal_thickness") & (m.visit == "week16") & m.participant_id.isin(rt)
    base = m[(m.outcome == "dermal_thickness") & (m.visit == "week0")].set_index("participant_id")["value"]
    m.loc[flat, "value"] = m.loc[flat, "participant_id"].map(base).to_numpy()  # RT's dermis unchanged
    d = published_directions(m, s.participants).set_index(["outcome", "arm"])
    assert not d.loc[("dermal_thickness", "RT"), "holds"] and d.loc[("r2", "RT"), "holds"]
