"""qPCR input robustness: unreadable files, ambiguous headers, unfittable efficiencies, bad Ct cells in
dilution series, stability exclusions and small groups. Each test names the problem it pins down."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from skintrial.errors import InputError
from skintrial.omics.qpcr import (
    CURVE_COLUMNS,
    EXCLUSION_COLUMNS,
    STABILITY_COLUMNS,
    efficiency_table,
    groups_from_participants,
    normfinder,
    paired_relative_expression,
    read_ct,
    read_qpcr_table,
    reference_gene_stability,
    relative_expression,
    standard_curve,
)

# --- unreadable files -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expect", "row"),
    [
        (b"", "the file is empty", None),
        (b"\xff\xfe\x00\x01garbage\x00", "not UTF-8 text", None),
        (
            b'sample,group,gene,ct\ns1,a,G,20\ns1,a,T,"25\ns2,b,G,20\n',
            "EOF inside string starting at row 3",
            3,
        ),
        (b"sample,group,gene,ct\ns1,a,G,20\ns1,a,T,25,7\n", "Expected 4 fields in line 3", 3),
    ],
)
@pytest.mark.parametrize("reader", [read_ct, read_qpcr_table])
def test_unreadable_files_are_input_errors_naming_the_file(tmp_path, content, expect, row, reader):
    p = tmp_path / "ct.csv"
    p.write_bytes(content)
    with pytest.raises(InputError, match=expect) as err:
        reader(p)
    (problem,) = err.value.problems
    assert problem.file == str(p) and problem.row == row and "save" in problem.fix


def test_one_reader_for_study_and_omics_tables(tmp_path):
    """read_qpcr_table goes through the study reader: a Latin-1 byte is named by its spreadsheet row
    (not a byte position), the same problem as the bundle's tables get; a UTF-16 export is said as
    such; empty cells are None and there is no row-number column."""
    from skintrial.study import read_table

    p = tmp_path / "ct.csv"
    p.write_bytes(b"sample,group,gene,ct\ns1,a,G,20\n" + "s2,Zoë,G,21\n".encode("latin-1"))
    with pytest.raises(InputError) as omics:
        read_qpcr_table(p)
    with pytest.raises(InputError) as study:
        read_table(p)
    assert omics.value.problems[0].message == study.value.problems[0].message
    assert omics.value.problems[0].row == study.value.problems[0].row == 3
    assert "position" not in str(omics.value)
    p.write_bytes("sample\tgroup\tgene\tct\n".encode("utf-16"))
    with pytest.raises(InputError, match="UTF-16"):
        read_qpcr_table(p)
    t = tmp_path / "ct.txt"
    t.write_text("Sample\tGroup\tTarget Name\tCq\ns1\ta\tG\t\n")
    d = read_qpcr_table(t)
    assert d.columns.tolist() == ["sample", "group", "gene", "ct"] and d["ct"].tolist() == [None]


# --- two columns meaning one name ---------------------------------------------------------------------


def test_two_columns_meaning_the_same_name_are_refused_naming_both(tmp_path):
    p = tmp_path / "ct.csv"
    p.write_text("Sample,Sample Name,Group,Target Name,Cq,CT\ns1,s1,a,G,20,20\ns2,s2,b,G,20,20\n")
    with pytest.raises(InputError) as err:
        read_ct(p)
    cols = {q.column for q in err.value.problems}
    assert cols == {"Sample, Sample Name", "Cq, CT"}
    assert all(q.file == str(p) and q.row == 1 and "delete the other" in q.fix for q in err.value.problems)


# --- standard curves: perfect fits, too few levels, linear range, status -------------------------------


def _series(gene="G", amounts=(1, 0.1, 0.01, 0.001), slope=-3.32, noise=None, ct=None):
    x = np.log10(np.asarray(amounts, dtype=float))
    y = 20 + slope * x + (0 if noise is None else np.asarray(noise)) if ct is None else np.asarray(ct)
    return pd.DataFrame({"gene": gene, "amount": amounts, "ct": y})


def test_a_perfect_standard_curve_keeps_its_slope():
    curve = standard_curve(_series(amounts=(1, 0.1, 0.01))).table.iloc[0]
    assert_allclose([curve.slope, curve.intercept, curve.r_squared], [-3.32, 20.0, 1.0], rtol=1e-12)
    assert_allclose(curve.amplification_factor, 10 ** (1 / 3.32), rtol=1e-12)
    assert curve.slope_se < 1e-12 and curve.status == "perfect_fit"


@pytest.mark.parametrize("amounts", [(1, 1), (1, 0.1), (1, 1, 0.1, 0.1)])
def test_fewer_than_three_dilution_levels_are_refused(amounts):
    d = _series(gene="COL1A1", amounts=amounts, noise=np.linspace(-0.02, 0.02, len(amounts)))
    d.attrs["file"] = "dil.csv"
    with pytest.raises(InputError, match="gene 'COL1A1'.*at least 3") as err:
        standard_curve(d)
    assert err.value.problems[0].file == "dil.csv"


def test_reversed_or_empty_linear_range_is_an_error_not_nan_rows():
    d = _series(amounts=np.repeat([1, 0.5, 0.2, 0.1, 0.05], 2), noise=np.tile([0.03, -0.03], 5))
    with pytest.raises(InputError, match="reversed"):
        standard_curve(d, linear_range=(1, 0.1))
    with pytest.raises(InputError, match="2 dilution level.*inside the linear range.*of 5"):
        standard_curve(d, linear_range=(0.5, 1))
    with pytest.raises(InputError, match="0 dilution level"):
        standard_curve(d, linear_range=(10, 100))


def test_curve_status_flags_flat_and_poorly_linear_curves():
    flat = _series(gene="F", slope=-0.05, noise=[0.01, -0.01, 0.02, 0.0])
    noisy = _series(gene="N", noise=[1.5, -1.5, 1.5, -1.5])
    good = _series(gene="G", noise=[0.02, -0.02, 0.01, 0.0])
    curve = standard_curve(pd.concat([flat, noisy, good])).table.set_index("gene")
    assert curve["status"].to_dict() == {"F": "efficiency_out_of_range", "N": "low_r_squared", "G": "ok"}
    assert tuple(curve.reset_index().columns) == CURVE_COLUMNS


# --- dilution-series Ct cells follow clean_ct's rules -----------------------------------------------------


def test_dilution_series_text_ct_is_an_error_with_row_and_column():
    d = pd.DataFrame({"gene": "G", "amount": [1, 0.1, 0.01, 0.001], "ct": ["20", "23.3", "abc", "30"]})
    d.attrs["file"] = "dil.csv"
    with pytest.raises(InputError, match="Ct is not a number") as err:
        standard_curve(d)
    (p,) = err.value.problems
    assert (p.file, p.row, p.column, p.value) == ("dil.csv", 4, "ct", "abc")


def test_dilution_series_undetermined_and_late_wells_are_listed_exclusions():
    d = pd.DataFrame(
        {
            "gene": "G",
            "amount": [1, 0.1, 0.01, 0.01, 0.001, 0.001],
            "ct": ["20", "23.3", "Undetermined", "26.7", "36.5", "30.0"],
        }
    )
    res = standard_curve(d)
    curve, excl = res.table, res.exclusions
    assert excl[["row", "value", "reason", "action"]].values.tolist() == [
        [4, "Undetermined", "undetermined", "excluded"],
        [6, "36.5", "above_cutoff", "excluded"],
    ]
    assert set(excl["stage"]) == {"standard_curve"} and tuple(excl.columns) == EXCLUSION_COLUMNS
    used = standard_curve(d.drop(index=[2, 4]).reset_index(drop=True)).table
    assert_allclose(curve.loc[0, "slope"], used.loc[0, "slope"], rtol=1e-12)
    assert curve.loc[0, "n"] == 4
    assert standard_curve(d, cutoff=None).table.loc[0, "n"] == 5  # the late well kept without a cutoff


def test_curve_tables_concatenate_and_compare_like_any_table():
    """The exclusions travel beside the table, not in its attrs: a DataFrame in attrs made pd.concat and ==
    raise (pandas compares attrs when it propagates them); an efficiency Series is plain too."""
    d = pd.DataFrame(
        {
            "gene": "G",
            "amount": [1, 0.1, 0.01, 0.01, 0.001, 0.001],
            "ct": ["20", "23.3", "Undetermined", "26.7", "36.5", "30.0"],
        }
    )
    c1, c2 = standard_curve(d), standard_curve(d)
    assert len(c1.exclusions) == 2
    both = pd.concat([c1.table, c2.table], ignore_index=True)
    assert len(both) == 2 and (c1.table == c2.table).all().all()
    assert not any(isinstance(v, pd.DataFrame | pd.Series) for v in c1.table.attrs.values())
    e1 = efficiency_table(d)
    assert len(pd.concat([e1, efficiency_table(d)])) == 2 and not e1.attrs


# --- Pfaffl: efficiencies must be finite and in (1, 2.5] -----------------------------------------------


def _two_gene_ct():
    return pd.DataFrame(
        {
            "sample": [f"s{i}" for i in range(4)] * 2,
            "group": ["c", "c", "t", "t"] * 2,
            "gene": ["R"] * 4 + ["T"] * 4,
            "ct": [20, 20.1, 20.5, 20.4, 25, 25.2, 23, 23.2],
        }
    )


@pytest.mark.parametrize(
    ("target", "expect"),
    [
        (_series(gene="T", amounts=(1, 1)), "gene 'T': 1 dilution level"),
        (_series(gene="T", amounts=(1, 0.1)), "gene 'T': 2 dilution level"),
        (
            _series(gene="T", slope=0.5, noise=[0.01, -0.01, 0.02, 0.0]),
            "gene 'T' no usable amplification factor",
        ),
    ],
)
def test_pfaffl_refuses_a_dilution_series_that_gives_no_efficiency(target, expect):
    eff = pd.concat([_series(gene="R", noise=[0.02, -0.02, 0.01, 0.0]), target], ignore_index=True)
    eff.attrs["file"] = "eff.csv"
    with pytest.raises(InputError, match=expect) as err:
        relative_expression(
            _two_gene_ct(), reference_genes="R", control_group="c", method="pfaffl", efficiencies=eff
        )
    assert err.value.problems[0].file == "eff.csv"


@pytest.mark.parametrize("bad", [np.nan, 0.9, 3.0])
def test_pfaffl_refuses_a_series_of_efficiencies_out_of_range(bad):
    with pytest.raises(InputError, match=r"gene 'T'.*\(1, 2.5\]"):
        relative_expression(
            _two_gene_ct(),
            reference_genes="R",
            control_group="c",
            method="pfaffl",
            efficiencies=pd.Series({"R": 2.0, "T": bad}),
        )


def test_pfaffl_without_efficiencies_names_the_argument():
    with pytest.raises(InputError, match="efficiencies="):
        relative_expression(_two_gene_ct(), reference_genes="R", control_group="c", method="pfaffl")


def test_pfaffl_lists_the_dilution_series_exclusions():
    eff = pd.concat(
        [
            _series(gene="R", noise=[0.02, -0.02, 0.01, 0.0]),
            _series(gene="T", noise=[0.01, 0.0, -0.01, 0.02]),
        ],
        ignore_index=True,
    )
    eff["ct"] = eff["ct"].astype(object)
    eff.loc[len(eff)] = ["T", 0.0001, "Undetermined"]
    res = relative_expression(
        _two_gene_ct(), reference_genes="R", control_group="c", method="pfaffl", efficiencies=eff
    )
    row = res.exclusions.loc[res.exclusions["stage"] == "standard_curve"]
    assert row[["gene", "row", "reason"]].values.tolist() == [["T", 10, "undetermined"]]
    assert np.isfinite(res.table["fold_change"]).all()


# --- reference-gene stability: exclusions listed, small groups refused, NaN never ranked ----------------


def _candidates_table(n=12, seed=2):
    rng = np.random.default_rng(seed)
    sd = {"GAPDH": 0.15, "ACTB": 0.3, "B2M": 0.5, "HPRT1": 0.8}
    rows = [
        (f"s{i}", "ab"[i % 2], g, f"{20 + 0.2 * i + s * rng.normal():.4f}")
        for i in range(n)
        for g, s in sd.items()
    ]
    return pd.DataFrame(rows, columns=["sample", "group", "gene", "ct"])


def test_stability_lists_undetermined_wells_and_incomplete_samples():
    d = _candidates_table()
    d.loc[0, "ct"] = "Undetermined"  # s0 GAPDH
    d.loc[(d["sample"] == "s1") & (d["gene"] == "B2M"), "ct"] = "38.5"  # above the cutoff
    res = reference_gene_stability(d)
    assert res.n_samples == 10 and res.genorm.n_samples == 10
    excl = res.exclusions
    assert excl[["stage", "sample", "gene", "reason"]].values.tolist() == [
        ["ct", "s0", "GAPDH", "undetermined"],
        ["ct", "s1", "B2M", "above_cutoff"],
        ["stability", "s0", "GAPDH", "no_ct_for_candidate"],
        ["stability", "s1", "B2M", "no_ct_for_candidate"],
    ]
    assert tuple(res.table.columns) == STABILITY_COLUMNS
    kept = d.loc[~d["sample"].isin(["s0", "s1"])].astype({"ct": float})
    assert_allclose(
        res.table.set_index("gene").loc[list("GAPDH ACTB B2M HPRT1".split()), "normfinder_stability"],
        normfinder(kept).set_index("gene").loc[list("GAPDH ACTB B2M HPRT1".split()), "stability"],
        rtol=1e-12,
    )
    assert reference_gene_stability(d, cutoff=40).n_samples == 11  # the late well counts with a 40 cutoff


def test_normfinder_refuses_a_group_with_one_sample_naming_it():
    d = _candidates_table(n=5).astype({"ct": float})
    d.loc[d["sample"] == "s4", "group"] = "c"
    d.attrs["file"] = "ct.csv"
    with pytest.raises(InputError, match=r"group 'c' has 1 \(s4\)") as err:
        normfinder(d)
    assert err.value.problems[0].file == "ct.csv"


def test_normfinder_needs_three_candidate_genes():
    d = _candidates_table(n=6).astype({"ct": float})
    with pytest.raises(InputError, match="at least 3 candidate genes"):
        normfinder(d, genes=["GAPDH", "ACTB"])


# --- design errors name the file, the row and the right thing --------------------------------------------

PAIRED = Path(__file__).resolve().parents[1] / "reference" / "qpcr" / "paired_design.csv"


def test_missing_control_group_names_the_file():
    d = read_ct(PAIRED)
    with pytest.raises(InputError, match="control group 'CON' not in the data") as err:
        relative_expression(d, reference_genes="GAPDH", control_group="CON")
    assert err.value.problems[0].file == str(PAIRED)


def test_paired_errors_name_file_visit_and_reference_arm():
    d = read_ct(PAIRED)
    with pytest.raises(InputError, match="pre visit 'week0' not in the data") as err:
        paired_relative_expression(d, reference_genes="GAPDH", pre="week0", post="post")
    assert err.value.problems[0].file == str(PAIRED)
    with pytest.raises(InputError, match="^[^:]*: reference arm 'CON' not in the data") as err:
        paired_relative_expression(d, reference_genes="GAPDH", pre="pre", post="post", reference_arm="CON")
    assert err.value.problems[0].file == str(PAIRED) and "control group" not in str(err.value)


def test_participant_in_two_groups_names_file_row_and_samples(tmp_path):
    raw = pd.read_csv(PAIRED)
    flip = raw["sample"] == "P1_post"
    raw.loc[flip, "group"] = "RT"
    p = tmp_path / "ct.csv"
    raw.to_csv(p, index=False)
    with pytest.raises(InputError, match=r"participant 'P1' is in two groups: AT \(sample P1_pre") as err:
        paired_relative_expression(read_ct(p), reference_genes="GAPDH", pre="pre", post="post")
    prob = err.value.problems[0]
    assert (
        prob.file == str(p) and prob.row == int(np.flatnonzero(flip.to_numpy())[0]) + 2 and prob.value == "RT"
    )


def test_duplicate_visit_sample_names_file_and_row(tmp_path):
    raw = pd.read_csv(PAIRED)
    extra = raw.loc[raw["sample"] == "P1_pre"].assign(sample="P1_pre_b")
    p = tmp_path / "ct.csv"
    pd.concat([raw, extra], ignore_index=True).to_csv(p, index=False)
    with pytest.raises(
        InputError, match=r"participant 'P1' has 2 samples at visit 'pre' \(P1_pre, P1_pre_b\)"
    ) as err:
        paired_relative_expression(read_ct(p), reference_genes="GAPDH", pre="pre", post="post")
    assert err.value.problems[0].file == str(p) and err.value.problems[0].row == 2


@pytest.mark.parametrize("bad", [-1.0, 0.0, np.nan])
def test_replicate_sd_limit_must_be_positive(bad):
    with pytest.raises(InputError, match="replicate SD limit must be a positive number"):
        relative_expression(_two_gene_ct(), reference_genes="R", control_group="c", max_replicate_sd=bad)
    assert (
        len(
            relative_expression(
                _two_gene_ct(), reference_genes="R", control_group="c", max_replicate_sd=None
            ).table
        )
        == 2
    )


# --- arms from a participants table ----------------------------------------------------------------------


def _paired_without_groups():
    d = read_ct(PAIRED)
    arms = d.drop_duplicates("participant")[["participant", "group"]].rename(
        columns={"participant": "participant_id", "group": "arm"}
    )
    arms.attrs["file"] = "participants.csv"
    return d, arms


def test_groups_from_participants_reproduces_the_table_with_groups():
    d, arms = _paired_without_groups()
    filled = groups_from_participants(d.drop(columns="group"), arms)
    a = paired_relative_expression(d, reference_genes="GAPDH", pre="pre", post="post").table
    b = paired_relative_expression(filled, reference_genes="GAPDH", pre="pre", post="post").table
    pd.testing.assert_frame_equal(a, b)


def test_groups_from_participants_names_unknown_participants_and_disagreements():
    d, arms = _paired_without_groups()
    with pytest.raises(InputError, match="participant not in the participants table") as err:
        groups_from_participants(d, arms.iloc[1:])
    p = err.value.problems[0]
    assert p.file == str(PAIRED) and p.value == arms["participant_id"].iloc[0] and p.row == 2
    flipped = arms.assign(arm=arms["arm"].map({"AT": "RT", "RT": "AT"}))
    with pytest.raises(InputError, match="differs from participant") as err:
        groups_from_participants(d, flipped)
    assert err.value.problems[0].column == "group"
    twice = pd.concat([arms, arms.iloc[[0]].assign(arm="XX")], ignore_index=True)
    twice.attrs["file"] = "participants.csv"
    with pytest.raises(InputError, match="has two arms") as err:
        groups_from_participants(d, twice)
    assert err.value.problems[0].file == "participants.csv"
