"""Reproducible stratified permuted-block randomisation lists, and their balance report.

Method
------
Within each stratum (a combination of levels of the stratification factors), allocation proceeds in
blocks. Each block's size is drawn at random from ``block_sizes`` (each a multiple of the sum of the
allocation ratios), and the block holds every arm ``ratio × size / sum(ratios)`` times in a random
order (a random permutation). Random block sizes keep the next allocation unpredictable to a
recruiter who knows the block length. Blocks are generated until the stratum's participants (or
``n_per_stratum`` slots) are covered; a list made ahead of recruitment keeps its last block whole.

Reproducibility: each stratum draws from its own generator, ``SeedSequence(seed, spawn_key=(h,))``
with ``h`` the first 4 bytes (little-endian) of the SHA-256 digest of the stratum's name, so the same seed gives the same list on any machine, and
adding a stratum does not change the others. The seed is written on every row.

References: Schulz & Grimes 2002 (Lancet 359:515, generation of allocation sequences); Kernan et al.
1999 (J Clin Epidemiol 52:19, stratified randomisation); ICH E9 §2.3.3.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem
from skintrial.plan._values import plain

__all__ = ["RANDOMIZATION_COLUMNS", "BALANCE_COLUMNS", "randomization_list", "balance_report"]

RANDOMIZATION_COLUMNS: tuple[str, ...] = (
    "stratum",
    "sequence",
    "block",
    "block_size",
    "position_in_block",
    "arm",
    "participant_id",
    "seed",
)
BALANCE_COLUMNS: tuple[str, ...] = (
    "factor",
    "level",
    "arm",
    "n",
    "proportion",
    "target_proportion",
    "difference",
)


def _stratum_rng(seed: int, stratum: str) -> np.random.Generator:
    h = int.from_bytes(hashlib.sha256(stratum.encode()).digest()[:4], "little")
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(h,)))


def _ratios(arms: Sequence[str], ratios) -> np.ndarray:
    if ratios is None:
        return np.ones(len(arms), dtype=int)
    if isinstance(ratios, Mapping):
        ratios = [ratios.get(a, 0) for a in arms]
    r = np.asarray(ratios)
    if r.shape != (len(arms),) or np.any(r < 1) or np.any(r != np.round(r)):
        raise InputError(
            Problem(
                "allocation ratios must be positive integers, one per arm",
                column="ratios",
                value=plain(np.atleast_1d(r).tolist()),
                fix=f"e.g. {[1] * len(arms)} for {list(arms)}",
            )
        )
    return r.astype(int)


def _check_blocks(block_sizes: Sequence[int], total: int) -> list[int]:
    sizes = [int(b) for b in block_sizes]
    bad = [b for b in sizes if b < total or b % total]
    if not sizes or bad:
        raise InputError(
            Problem(
                f"block sizes must be multiples of the sum of the ratios ({total})",
                column="block_sizes",
                value=plain(list(block_sizes)),
                fix=f"e.g. {[total, 2 * total]}",
            )
        )
    return sizes


def _blocks(rng: np.random.Generator, n: int, arms, ratios, sizes) -> pd.DataFrame:
    """Permuted blocks covering at least n slots."""
    rows, done, b = [], 0, 0
    total = int(ratios.sum())
    while done < n:
        size = sizes[int(rng.integers(len(sizes)))]
        content = np.repeat(np.asarray(arms, dtype=object), ratios * (size // total))
        content = content[rng.permutation(size)]
        b += 1
        rows += [(b, size, j + 1, a) for j, a in enumerate(content)]
        done += size
    out = pd.DataFrame(rows, columns=["block", "block_size", "position_in_block", "arm"])
    out["sequence"] = np.arange(1, len(out) + 1)
    return out


def _stratum_names(frame: pd.DataFrame, strata: Sequence[str]) -> pd.Series:
    if not strata:
        return pd.Series("all", index=frame.index)
    return frame[list(strata)].astype(str).apply(lambda r: "|".join(f"{c}={r[c]}" for c in strata), axis=1)


def _check_participants(participants: pd.DataFrame, strata: Sequence[str], subject: str, file: str) -> None:
    probs = []
    if subject not in participants.columns:
        probs.append(
            Problem(
                f"no {subject} column",
                file=file,
                row=1,
                column=subject,
                fix=f"the header needs a {subject} column (one row per participant); found "
                f"{[str(c) for c in participants.columns]}",
            )
        )
    absent = [c for c in strata if c not in participants.columns]
    if absent:
        probs.append(
            Problem(
                f"stratification column(s) {absent} not found",
                file=file,
                row=1,
                fix=f"name stratification factors that are columns of {file}: "
                f"{[str(c) for c in participants.columns if c != subject]}",
            )
        )
    if not probs:
        for c in [subject, *strata]:
            empty = participants[c].isna() | (participants[c].astype(str).str.strip() == "")
            if empty.any():
                first = int(np.flatnonzero(empty.to_numpy())[0])
                probs.append(
                    Problem(
                        "empty value",
                        file=file,
                        row=first + 2,
                        column=c,
                        rows_affected=int(empty.sum()),
                        fix=f"give every participant a {c}",
                    )
                )
        dup = participants[subject].duplicated()
        if dup.any():
            probs.append(
                Problem(
                    "participant listed twice",
                    file=file,
                    column=subject,
                    row=int(np.flatnonzero(dup.to_numpy())[0]) + 2,
                    value=str(participants[subject][dup].iloc[0]),
                    fix="keep one row per participant",
                )
            )
    InputError.collect(probs)


def randomization_list(
    participants: pd.DataFrame | None = None,
    *,
    arms: Sequence[str],
    seed: int,
    ratios: Sequence[int] | Mapping[str, int] | None = None,
    block_sizes: Sequence[int] | None = None,
    strata: Sequence[str] = (),
    strata_levels: Mapping[str, Sequence[str]] | None = None,
    n_per_stratum: int | None = None,
    subject: str = "participant_id",
    file: str = "participants.csv",
) -> pd.DataFrame:
    """A stratified permuted-block allocation list.

    Two ways to call it:

    * with ``participants`` (one row per participant, in enrolment order) and ``strata`` naming
      columns of it: every participant is allocated, in order within their stratum;
    * without participants, with ``strata_levels`` (factor → levels) and ``n_per_stratum``: an
      allocation list prepared ahead of recruitment for every combination of levels.

    Parameters
    ----------
    arms : sequence of str
    seed : int
        Recorded in the ``seed`` column; the same seed gives the same list.
    ratios : sequence or mapping of int, optional
        Allocation ratio per arm (1:1:… by default).
    block_sizes : sequence of int, optional
        Candidate block sizes, each a multiple of ``sum(ratios)``; default one and two times it.
    strata : sequence of str
        Stratification factors (columns of ``participants``).
    strata_levels : mapping, optional
        Declared factors and their levels (without participants).
    n_per_stratum : int, optional
        Least number of slots per stratum (without participants): whole blocks are drawn until the
        stratum has at least this many, so it may get up to (largest block size − 1) more.
    file : str
        Name of the participants file, for error messages.

    Returns
    -------
    DataFrame
        Columns :data:`RANDOMIZATION_COLUMNS`; ``stratum`` reads ``factor=level|factor=level`` (``all``
        without stratification), ``participant_id`` is empty for unused slots.

    Examples
    --------
    >>> lst = randomization_list(arms=["CON", "AT", "RT"], seed=42, block_sizes=[3, 6],
    ...                          strata_levels={"age_group": ["41-49", "50-59"]}, n_per_stratum=6)
    >>> lst.groupby("stratum")["arm"].value_counts().unstack().to_dict("index")
    {'age_group=41-49': {'AT': 3, 'CON': 3, 'RT': 3}, 'age_group=50-59': {'AT': 2, 'CON': 2, 'RT': 2}}
    """
    arms = [str(a) for a in arms]
    if len(arms) < 2 or len(set(arms)) != len(arms):
        raise InputError(Problem("give at least two distinct arms", column="arms", value=arms))
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError(
            Problem(
                "the seed must be a whole number, 0 or more",
                column="seed",
                value=plain(seed),
                fix="e.g. --seed 20240101",
            )
        )
    r = _ratios(arms, ratios)
    sizes = _check_blocks(
        block_sizes if block_sizes is not None else [int(r.sum()), 2 * int(r.sum())], int(r.sum())
    )
    if participants is not None:
        _check_participants(participants, strata, subject, file)
        names = _stratum_names(participants, strata)
        groups = {s: participants.loc[names == s, subject].astype(str).tolist() for s in pd.unique(names)}
    else:
        levels = dict(strata_levels or {})
        if n_per_stratum is None or int(n_per_stratum) < 1:
            raise InputError(
                Problem(
                    "without participants, give n_per_stratum (slots per stratum)",
                    column="n_per_stratum",
                    fix="e.g. n_per_stratum=30",
                )
            )
        combos = list(itertools.product(*levels.values())) if levels else [()]
        keys = ["|".join(f"{f}={v}" for f, v in zip(levels, c, strict=True)) or "all" for c in combos]
        groups = {k: [None] * int(n_per_stratum) for k in keys}
    parts = []
    for stratum, ids in groups.items():
        blk = _blocks(_stratum_rng(seed, stratum), len(ids), arms, r, sizes)
        if participants is not None:
            blk = blk.iloc[: len(ids)].copy()
        blk["participant_id"] = ids + [None] * (len(blk) - len(ids))
        blk["stratum"] = stratum
        parts.append(blk)
    out = pd.concat(parts, ignore_index=True)
    out["seed"] = int(seed)
    return out[list(RANDOMIZATION_COLUMNS)]


def balance_report(
    allocation: pd.DataFrame,
    participants: pd.DataFrame | None = None,
    *,
    factors: Sequence[str] = (),
    ratios: Mapping[str, int] | Sequence[int] | None = None,
    arms: Sequence[str] | None = None,
    subject: str = "participant_id",
) -> pd.DataFrame:
    """Arm counts and proportions overall, per stratum, and per level of each factor.

    ``difference`` is the observed minus the target proportion (from the allocation ratios) of
    that arm within the level: near zero everywhere is what stratified blocks deliver.

    Parameters
    ----------
    allocation : DataFrame
        :func:`randomization_list`; unused slots (no participant) are ignored when participants
        are given.
    participants : DataFrame, optional
        For per-factor balance on columns of participants.csv (``factors``), stratified or not.
    factors : sequence of str
    ratios : mapping or sequence of int, optional
        The allocation ratios the list was made with (as in :func:`randomization_list`): they set
        ``target_proportion``. Equal by default.
    arms : sequence of str, optional
        The arms in their declared order (the order of the rows); by default the order of the
        mapping ``ratios``, else of first appearance in the list.

    Examples
    --------
    >>> lst = randomization_list(arms=["A", "B"], seed=1, block_sizes=[2, 4], n_per_stratum=10)
    >>> balance_report(lst).query("factor == 'overall'")[["arm", "n", "difference"]].to_dict("list")
    {'arm': ['A', 'B'], 'n': [5, 5], 'difference': [0.0, 0.0]}
    >>> lst = randomization_list(arms=["C", "T"], seed=1, ratios=[1, 2], n_per_stratum=12)
    >>> balance_report(lst, arms=["C", "T"], ratios=[1, 2]).query("factor == 'overall'")[
    ...     ["arm", "n", "target_proportion"]].round(3).to_dict("list")
    {'arm': ['C', 'T'], 'n': [4, 8], 'target_proportion': [0.333, 0.667]}
    """
    a = allocation.copy()
    found = list(dict.fromkeys(a["arm"].astype(str)))
    if arms is None:
        arms = [str(x) for x in ratios] if isinstance(ratios, Mapping) else found
    arms = [str(x) for x in arms]
    unknown = [x for x in found if x not in arms]
    if unknown:
        raise InputError(
            Problem(
                f"the list holds arm(s) {unknown} that are not among {arms}",
                column="arm",
                value=unknown,
                fix="give every arm of the list",
            )
        )
    if participants is not None:
        cols = [f for f in factors if f in participants.columns and f not in a.columns]
        p = participants[[subject, *cols]].rename(columns={subject: "participant_id"})
        a = a[a["participant_id"].notna()].merge(
            p.assign(participant_id=p["participant_id"].astype(str)), on="participant_id", how="left"
        )
    w = _ratios(arms, ratios).astype(float)
    target = dict(zip(arms, w / w.sum(), strict=True))
    views = [("overall", pd.Series("all", index=a.index)), ("stratum", a["stratum"])]
    views += [(f, a[f].astype(str)) for f in factors if f in a.columns]
    rows = []
    for factor, level in views:
        counts = pd.crosstab(level, a["arm"]).reindex(columns=arms, fill_value=0)
        for lv, row in counts.iterrows():
            tot = row.sum()
            for arm in arms:
                prop = row[arm] / tot if tot else np.nan
                rows.append((factor, str(lv), arm, int(row[arm]), prop, target[arm], prop - target[arm]))
    return pd.DataFrame(rows, columns=list(BALANCE_COLUMNS))
