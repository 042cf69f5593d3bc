"""Gene sets: the ECM / matrisome collection shipped with skintrial, and GMT files of your own.

The shipped collection (``ecm_gene_sets()``, file ``skintrial/omics/data/matrisome_ecm.gmt``) follows
the matrisome categories of Naba et al. 2012 (*Mol Cell Proteomics* 11:M111.014647): the core
matrisome (collagens, ECM glycoproteins, proteoglycans) and the matrisome-associated categories (ECM
regulators, ECM-affiliated proteins, secreted factors), their unions, a basement-membrane set and the
fibroblast ECM panel of Nishikori et al. 2023. skintrial built the lists from the gene families named
in those papers and in HGNC's gene-family resource; it is not a copy of MatrisomeDB or MSigDB and its
sizes differ from theirs. The file's header cites the source of every set.

Older array annotations use previous gene symbols (``CTGF`` for ``CCN2``, ``CYR61`` for ``CCN1``):
:func:`match_gene_sets` maps them through ``hgnc_previous_symbols.csv`` unless ``aliases=False``.

GMT format: one set per line, ``name <TAB> description <TAB> gene <TAB> gene ...``; lines starting
with ``#`` are comments (skintrial's extension; other tools may not accept them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem

__all__ = [
    "GeneSetCollection",
    "ecm_gene_sets",
    "read_gmt",
    "as_gene_sets",
    "match_gene_sets",
    "previous_symbols",
]

_GMT_FIX = "write one set per line: name<TAB>description<TAB>gene<TAB>gene..."


@dataclass(frozen=True)
class GeneSetCollection:
    """Named gene sets with their descriptions and where they came from."""

    sets: Mapping[str, tuple[str, ...]]
    descriptions: Mapping[str, str] = field(default_factory=dict)
    source: str = ""

    def __len__(self) -> int:
        return len(self.sets)

    def __iter__(self):
        return iter(self.sets)

    def __getitem__(self, name: str) -> tuple[str, ...]:
        return self.sets[name]

    def to_frame(self) -> pd.DataFrame:
        """Long table: ``set, description, gene`` (one row per membership)."""
        rows = [(s, self.descriptions.get(s, ""), g) for s, genes in self.sets.items() for g in genes]
        return pd.DataFrame(rows, columns=["set", "description", "gene"])


def _parse_gmt_lines(lines: list[str], file: str) -> GeneSetCollection:
    sets: dict[str, tuple[str, ...]] = {}
    desc: dict[str, str] = {}
    first_line: dict[str, int] = {}
    problems: list[Problem] = []
    for i, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) < 3:
            hint = " (the fields are separated by spaces, not tabs)" if len(line.split()) >= 3 else ""
            problems.append(
                Problem(
                    f"line {i} has {len(fields)} tab-separated field(s); a set needs a name, a description "
                    f"and at least one gene{hint}",
                    fix=_GMT_FIX,
                    file=file,
                    row=i,
                    value=line[:60],
                )
            )
            continue
        name = fields[0].strip()
        genes = tuple(dict.fromkeys(g.strip() for g in fields[2:] if g.strip()))
        if not name or not genes:
            problems.append(
                Problem(
                    f"line {i} has an empty set name or no genes",
                    fix=_GMT_FIX,
                    file=file,
                    row=i,
                    value=line[:60],
                )
            )
            continue
        if name in sets:
            problems.append(
                Problem(
                    f"line {i}: the set name {name!r} was already used on line {first_line[name]}",
                    fix="give every set its own name, or merge the two lines",
                    file=file,
                    row=i,
                    value=name,
                )
            )
            continue
        sets[name], desc[name], first_line[name] = genes, fields[1].strip(), i
    InputError.collect(problems)
    if not sets:
        raise InputError(Problem("the file holds no gene sets", fix=_GMT_FIX, file=file))
    return GeneSetCollection(sets=sets, descriptions=desc, source=file)


def read_gmt(path: str | Path) -> GeneSetCollection:
    """Read a GMT file of gene sets.

    Errors name the file, the line and the fix (all problems of the file at once). Duplicate genes
    within a set are kept once; gene symbols are taken as written (case matters).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "my.gmt"
    >>> _ = p.write_text("ECM_CORE\\tmy core set\\tCOL1A1\\tCOL3A1\\tDCN\\n")
    >>> read_gmt(p)["ECM_CORE"]
    ('COL1A1', 'COL3A1', 'DCN')
    """
    p = Path(path)
    if not p.exists():
        raise InputError(Problem("file not found", fix="check the path of the GMT file", file=str(p)))
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            Problem(f"cannot read the file: {exc}", fix="save it as UTF-8 text", file=str(p))
        ) from None
    return _parse_gmt_lines(text.splitlines(), str(p))


def ecm_gene_sets() -> GeneSetCollection:
    """The ECM / matrisome collection shipped with skintrial (see the module notes and the file header).

    Examples
    --------
    >>> sets = ecm_gene_sets()
    >>> len(sets["MATRISOME_COLLAGENS"]), len(sets["MATRISOME_PROTEOGLYCANS"])
    (44, 35)
    >>> "BGN" in sets["MATRISOME_PROTEOGLYCANS"]
    True
    """
    ref = resources.files("skintrial.omics") / "data" / "matrisome_ecm.gmt"
    coll = _parse_gmt_lines(ref.read_text(encoding="utf-8").splitlines(), "matrisome_ecm.gmt")
    return GeneSetCollection(
        sets=coll.sets, descriptions=coll.descriptions, source="skintrial:matrisome_ecm.gmt"
    )


def previous_symbols() -> dict[str, str]:
    """Previous HGNC symbols (and a few common aliases) of the shipped genes → current symbol."""
    ref = resources.files("skintrial.omics") / "data" / "hgnc_previous_symbols.csv"
    lines = [ln for ln in ref.read_text(encoding="utf-8").splitlines() if ln and not ln.startswith("#")]
    return {a: b for a, b, *_ in (ln.split(",") for ln in lines[1:])}


def as_gene_sets(
    gene_sets: GeneSetCollection | Mapping[str, Sequence[str]] | str | Path,
) -> GeneSetCollection:
    """Accept a collection, a ``{name: genes}`` mapping, a GMT path, or ``"ecm"`` for the shipped sets."""
    if isinstance(gene_sets, GeneSetCollection):
        return gene_sets
    if isinstance(gene_sets, str) and gene_sets.lower() in ("ecm", "matrisome"):
        return ecm_gene_sets()
    if isinstance(gene_sets, str | Path):
        return read_gmt(gene_sets)
    if isinstance(gene_sets, Mapping):
        return GeneSetCollection(
            sets={str(k): tuple(map(str, v)) for k, v in gene_sets.items()}, source="user"
        )
    raise InputError(
        Problem(
            f"cannot use gene sets of type {type(gene_sets).__name__}",
            fix='pass a GMT path, a {name: genes} dict, or "ecm" for the shipped collection',
        )
    )


def _expand_duplicates(ids: list[str], flat: list[str], set_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniq, inverse, counts = np.unique(np.asarray(ids, dtype=object), return_inverse=True, return_counts=True)
    rows_by_gene = np.argsort(inverse.ravel(), kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    code_of = {g: i for i, g in enumerate(uniq.tolist())}
    code = np.fromiter((code_of.get(g, -1) for g in flat), dtype=np.intp, count=len(flat))
    hit = code >= 0
    code, set_of = code[hit], set_of[hit]
    reps = counts[code]
    offs = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
    return rows_by_gene[np.repeat(starts[code], reps) + offs], np.repeat(set_of, reps)


def match_gene_sets(
    gene_sets: GeneSetCollection, genes: Sequence[str], *, aliases: bool = True
) -> dict[str, np.ndarray]:
    """Positions of each set's genes among ``genes`` (limma's ``ids2indices``).

    A data gene written with a previous symbol (``CTGF``) is matched to the set's current symbol
    (``CCN2``) when ``aliases`` is true and the current symbol is not itself among ``genes``. Every
    position of a duplicated data gene is returned. Sets with no match map to an empty array.

    Examples
    --------
    >>> sets = GeneSetCollection({"S": ("CCN2", "DCN", "XYZ")})
    >>> match_gene_sets(sets, ["DCN", "CTGF", "ACTB"])["S"].tolist()
    [0, 1]
    """
    ids = [str(g) for g in genes]
    if aliases:
        prev = previous_symbols()
        present = set(ids)
        ids = [prev[g] if g in prev and prev[g] not in present else g for g in ids]
    names = list(gene_sets.sets)
    members = [gene_sets.sets[k] for k in names]
    sizes = np.array([len(m) for m in members], dtype=np.intp)
    flat = [g for m in members for g in m]
    set_of = np.repeat(np.arange(len(names)), sizes)
    index_of = {g: i for i, g in enumerate(ids)}
    if len(index_of) == len(ids):  # unique data genes: one dictionary lookup per membership
        rows = np.fromiter((index_of.get(g, -1) for g in flat), dtype=np.intp, count=len(flat))
        hit = rows >= 0
        rows, set_of = rows[hit], set_of[hit]
    else:  # duplicated data genes: every row of a duplicated gene counts (limma's ids2indices)
        rows, set_of = _expand_duplicates(ids, flat, set_of)
    n_ids = max(len(ids), 1)
    key = np.unique(set_of.astype(np.int64) * n_ids + rows)  # sorted by set, then row; no repeats
    set_of, rows = key // n_ids, (key % n_ids).astype(np.intp)
    bounds = np.searchsorted(set_of, np.arange(len(names) + 1))
    return {k: rows[bounds[i] : bounds[i + 1]] for i, k in enumerate(names)}
