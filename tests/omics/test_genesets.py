"""The shipped ECM collection and the GMT reader."""

from __future__ import annotations

import pytest

from skintrial.errors import InputError
from skintrial.omics.genesets import (
    GeneSetCollection,
    as_gene_sets,
    ecm_gene_sets,
    match_gene_sets,
    previous_symbols,
    read_gmt,
)

CORE = ("MATRISOME_COLLAGENS", "MATRISOME_ECM_GLYCOPROTEINS", "MATRISOME_PROTEOGLYCANS")
ASSOC = ("MATRISOME_ECM_REGULATORS", "MATRISOME_ECM_AFFILIATED", "MATRISOME_SECRETED_FACTORS")


def test_shipped_collection_has_the_matrisome_categories():
    sets = ecm_gene_sets()
    for name in (*CORE, *ASSOC, "MATRISOME_CORE", "MATRISOME_ASSOCIATED", "MATRISOME"):
        assert name in sets
    assert len(sets["MATRISOME_COLLAGENS"]) == 44  # as the Naba 2012 masterlist
    assert len(sets["MATRISOME_PROTEOGLYCANS"]) == 35
    assert all(g.startswith("COL") for g in sets["MATRISOME_COLLAGENS"])
    for gene in ("COL1A1", "COL3A1", "COL6A1", "DCN", "BGN", "VCAN"):
        assert gene in sets["MATRISOME_CORE"]
    for gene in ("CCL28", "PF4", "IL15"):  # the seed study's circulating factors
        assert gene in sets["MATRISOME_SECRETED_FACTORS"]
    assert sets.descriptions["SKIN_FIBROBLAST_ECM_PANEL"].startswith("ECM genes measured")


def test_categories_are_disjoint_and_unions_are_exact():
    sets = ecm_gene_sets()
    cats = [set(sets[c]) for c in (*CORE, *ASSOC)]
    assert sum(len(c) for c in cats) == len(set().union(*cats))
    assert set(sets["MATRISOME_CORE"]) == set().union(*cats[:3])
    assert set(sets["MATRISOME_ASSOCIATED"]) == set().union(*cats[3:])
    assert set(sets["MATRISOME"]) == set().union(*cats)


def test_every_set_is_cited_in_the_file_header():
    from importlib import resources

    text = (resources.files("skintrial.omics") / "data" / "matrisome_ecm.gmt").read_text()
    header = [ln for ln in text.splitlines() if ln.startswith("#")]
    sets = ecm_gene_sets()
    for name, genes in sets.sets.items():
        assert any(ln.startswith(f"#   {name} ({len(genes)}): ") for ln in header), name
    assert any("doi:10.1074/mcp.M111.014647" in ln for ln in header)


def test_previous_symbols_point_to_shipped_genes():
    everything = set(ecm_gene_sets()["MATRISOME"])
    prev = previous_symbols()
    assert prev["CTGF"] == "CCN2" and prev["CXCL4"] == "PF4"
    assert set(prev.values()) <= everything


def test_read_gmt_round_trip(tmp_path):
    p = tmp_path / "sets.gmt"
    p.write_text("# comment\nA\tfirst\tG1\tG2\tG2\n\nB\thttp://x\tG3\n")
    sets = read_gmt(p)
    assert list(sets) == ["A", "B"]
    assert sets["A"] == ("G1", "G2")
    assert sets.descriptions["B"] == "http://x"
    frame = sets.to_frame()
    assert frame.columns.tolist() == ["set", "description", "gene"] and len(frame) == 3


def test_read_gmt_reports_every_bad_line_with_file_line_and_fix(tmp_path):
    p = tmp_path / "bad.gmt"
    p.write_text("A\tdesc\tG1\nB desc G1 G2\nA\tagain\tG5\nC\tno genes\n")
    with pytest.raises(InputError) as err:
        read_gmt(p)
    text = str(err.value)
    assert "3 problems" in text
    assert "bad.gmt, row 2" in text and "spaces, not tabs" in text
    assert "already used on line 1" in text
    assert "bad.gmt, row 4" in text
    assert text.count("Fix:") == 3


def test_read_gmt_missing_file_and_empty_file(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_gmt(tmp_path / "nope.gmt")
    empty = tmp_path / "empty.gmt"
    empty.write_text("# only a comment\n")
    with pytest.raises(InputError, match="no gene sets"):
        read_gmt(empty)


def test_match_gene_sets_uses_previous_symbols_only_when_needed():
    sets = GeneSetCollection({"S": ("CCN2", "DCN", "NOTTHERE")})
    assert match_gene_sets(sets, ["DCN", "CTGF", "ACTB"])["S"].tolist() == [0, 1]
    assert match_gene_sets(sets, ["DCN", "CTGF"], aliases=False)["S"].tolist() == [0]
    # the current symbol present: the old one is a different row and is not counted twice
    assert match_gene_sets(sets, ["CCN2", "CTGF"])["S"].tolist() == [0]
    # duplicated data genes all count (limma's ids2indices)
    assert match_gene_sets(sets, ["DCN", "DCN"])["S"].tolist() == [0, 1]


def test_as_gene_sets_accepts_the_documented_forms(tmp_path):
    assert len(as_gene_sets("ecm")) == len(ecm_gene_sets())
    assert as_gene_sets({"S": ["A", "B"]})["S"] == ("A", "B")
    p = tmp_path / "x.gmt"
    p.write_text("S\td\tA\n")
    assert as_gene_sets(p)["S"] == ("A",)
    with pytest.raises(InputError, match="GMT path"):
        as_gene_sets(42)
