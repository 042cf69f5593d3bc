"""Stratified permuted-block randomisation: block structure, ratios, strata, reproducibility, balance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from skintrial.errors import InputError
from skintrial.plan.randomize import (
    BALANCE_COLUMNS,
    RANDOMIZATION_COLUMNS,
    balance_report,
    randomization_list,
)

ARMS = ["CON", "AT", "RT"]


def _participants(n=90, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "participant_id": [f"P{i:03d}" for i in range(n)],
            "age_group": rng.choice(["41-49", "50-59"], n),
            "sex": rng.choice(["F", "M"], n, p=[0.8, 0.2]),
        }
    )


def test_every_block_is_a_permutation_with_the_ratios():
    lst = randomization_list(
        arms=ARMS,
        seed=3,
        ratios={"CON": 1, "AT": 2, "RT": 2},
        block_sizes=[5, 10],
        strata_levels={"site": ["a", "b"]},
        n_per_stratum=40,
    )
    assert list(lst.columns) == list(RANDOMIZATION_COLUMNS)
    for _, blk in lst.groupby(["stratum", "block"]):
        size = blk["block_size"].iloc[0]
        assert len(blk) == size and blk["position_in_block"].tolist() == list(range(1, size + 1))
        counts = blk["arm"].value_counts()
        assert counts["CON"] * 2 == counts["AT"] == counts["RT"] == 2 * size // 5
    assert set(lst["block_size"]) == {5, 10}  # both sizes are used
    assert (lst["seed"] == 3).all()


def test_participants_mode_allocates_everyone_in_order_within_stratum():
    p = _participants()
    lst = randomization_list(p, arms=ARMS, seed=11, strata=["age_group", "sex"], block_sizes=[3, 6])
    assert sorted(lst["participant_id"]) == sorted(p["participant_id"])
    for stratum, grp in lst.groupby("stratum"):
        mask = (p["age_group"] + p["sex"]) == "".join(x.split("=")[1] for x in stratum.split("|"))
        assert grp["participant_id"].tolist() == p.loc[mask, "participant_id"].tolist()
        assert grp["sequence"].tolist() == list(range(1, len(grp) + 1))
        # within a stratum, arm counts never differ by more than the largest block allows
        c = grp["arm"].value_counts().reindex(ARMS, fill_value=0)
        assert c.max() - c.min() <= 2


def test_reproducible_and_strata_independent():
    a = randomization_list(arms=ARMS, seed=5, strata_levels={"g": ["x", "y"]}, n_per_stratum=12)
    b = randomization_list(arms=ARMS, seed=5, strata_levels={"g": ["x", "y"]}, n_per_stratum=12)
    pd.testing.assert_frame_equal(a, b)
    c = randomization_list(arms=ARMS, seed=5, strata_levels={"g": ["x", "y", "z"]}, n_per_stratum=12)
    pd.testing.assert_frame_equal(
        a[a.stratum == "g=x"].reset_index(drop=True), c[c.stratum == "g=x"].reset_index(drop=True)
    )
    d = randomization_list(arms=ARMS, seed=6, strata_levels={"g": ["x", "y"]}, n_per_stratum=12)
    assert not a["arm"].equals(d["arm"])


def test_allocation_is_random_across_seeds():
    # first position of the list: each arm about a third of the time over 300 seeds
    first = [randomization_list(arms=ARMS, seed=s, n_per_stratum=3)["arm"].iloc[0] for s in range(300)]
    freq = pd.Series(first).value_counts(normalize=True)
    assert np.all(np.abs(freq.reindex(ARMS).to_numpy() - 1 / 3) < 4 * np.sqrt(2 / 9 / 300))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 60), seed=st.integers(0, 2**31 - 1))
def test_balance_at_the_end_of_every_block(n, seed):
    lst = randomization_list(arms=["A", "B"], seed=seed, block_sizes=[2, 4, 6], n_per_stratum=n)
    assert len(lst) >= n and len(lst) - n < 6
    ends = lst.groupby("block")["arm"].agg(lambda s: (s == "A").sum() - (s == "B").sum())
    assert (ends == 0).all()


def test_balance_report():
    p = _participants()
    lst = randomization_list(p, arms=ARMS, seed=1, strata=["age_group"], block_sizes=[3])
    rep = balance_report(lst, p, factors=["age_group", "sex"])
    assert list(rep.columns) == list(BALANCE_COLUMNS)
    overall = rep[rep.factor == "overall"]
    assert overall["n"].sum() == 90
    strat = rep[rep.factor == "stratum"]
    # blocks of 3: each arm's count within a stratum of N is within 2/3 of N/3
    assert (strat["difference"].abs() <= (2 / 3) / strat.groupby("level")["n"].transform("sum") + 1e-12).all()
    assert set(rep["factor"]) == {"overall", "stratum", "age_group", "sex"}


def test_input_errors():
    with pytest.raises(InputError, match="multiples"):
        randomization_list(arms=ARMS, seed=1, block_sizes=[4], n_per_stratum=10)
    with pytest.raises(InputError, match="ratios"):
        randomization_list(arms=ARMS, seed=1, ratios=[1, 0, 2], n_per_stratum=10)
    with pytest.raises(InputError, match="n_per_stratum"):
        randomization_list(arms=ARMS, seed=1)
    p = _participants(5)
    p.loc[2, "sex"] = ""
    with pytest.raises(InputError) as exc:
        randomization_list(p, arms=ARMS, seed=1, strata=["sex", "site"])
    assert "site" in str(exc.value)
    p2 = _participants(5)
    p2.loc[3, "sex"] = None
    with pytest.raises(InputError) as exc:
        randomization_list(p2, arms=ARMS, seed=1, strata=["sex"])
    assert exc.value.problems[0].row == 5 and exc.value.problems[0].column == "sex"


def test_negative_seed_and_missing_id_column_are_input_errors():
    with pytest.raises(InputError, match="seed"):
        randomization_list(arms=["A", "B"], seed=-1, n_per_stratum=4)
    p = pd.DataFrame({"id": ["a", "b"], "sex": ["F", "M"]})
    with pytest.raises(InputError, match="enrolled.xlsx") as e:
        randomization_list(p, arms=["A", "B"], seed=1, strata=["sex", "site"], file="enrolled.xlsx")
    text = str(e.value)
    assert "participant_id" in text and "'site'" in text and "participants.csv" not in text


def test_messages_show_plain_values():
    with pytest.raises(InputError) as e:
        randomization_list(arms=["A", "B"], seed=1, ratios=np.array([2, 0]), n_per_stratum=4)
    assert "np." not in str(e.value) and "[2, 0]" in str(e.value)
    with pytest.raises(InputError) as e:
        randomization_list(arms=["A", "B"], seed=1, block_sizes=np.array([3]), n_per_stratum=4)
    assert "np." not in str(e.value) and "[3]" in str(e.value)


def test_stratum_generator_is_the_documented_sha256_seed():
    """docs/planning.md: spawn_key = first 4 bytes (little-endian) of SHA-256 of the stratum name."""
    import hashlib
    from pathlib import Path

    lst = randomization_list(
        arms=["A", "B"], seed=9, block_sizes=[2], strata_levels={"sex": ["F"]}, n_per_stratum=2
    )
    h = int.from_bytes(hashlib.sha256(b"sex=F").digest()[:4], "little")
    rng = np.random.default_rng(np.random.SeedSequence(9, spawn_key=(h,)))
    rng.integers(1)  # the block size draw
    assert lst["arm"].tolist() == np.array(["A", "B"], dtype=object)[rng.permutation(2)].tolist()
    doc = (Path(__file__).resolve().parents[2] / "docs" / "planning.md").read_text(encoding="utf-8")
    assert "hash(stratum)" not in doc and "SHA-256" in doc


def test_n_per_stratum_help_says_the_last_block_is_kept_whole():
    import typer

    from skintrial.cli import app

    cmd = typer.main.get_command(app).commands["randomize"]
    text = next(p.help for p in cmd.params if p.name == "n_per_stratum")
    assert "at least" in text and "whole blocks" in text


def test_balance_report_targets_follow_the_ratios_and_refuse_unknown_arms():
    lst = randomization_list(
        arms=["CON", "AT", "RT"], seed=9, ratios=[1, 2, 2], block_sizes=[5], n_per_stratum=20
    )
    rep = balance_report(lst, ratios={"CON": 1, "AT": 2, "RT": 2}).query("factor == 'overall'")
    assert rep["arm"].tolist() == ["CON", "AT", "RT"]
    assert_allclose(rep["target_proportion"], [0.2, 0.4, 0.4], rtol=1e-12)
    assert_allclose(rep["difference"], 0.0, atol=1e-12)
    with pytest.raises(InputError, match="not among"):
        balance_report(lst, arms=["CON", "AT"])
    with pytest.raises(InputError, match="positive integers"):
        balance_report(lst, arms=["CON", "AT", "RT"], ratios={"CON": 1, "AT": 2})
