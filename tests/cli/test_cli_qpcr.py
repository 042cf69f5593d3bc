"""`skintrial qpcr`, `qpcr-curve`, `qpcr-stability` through typer's CliRunner on the shared app."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from typer.testing import CliRunner

from skintrial.cli import app
from skintrial.omics.qpcr import RESULT_COLUMNS

HERE = Path(__file__).resolve()
DATA = HERE.parents[2] / ".." / "shared" / "data" / "pcr_ct"
REF = HERE.parents[1] / "reference" / "qpcr"
runner = CliRunner()


def _ct2_long(tmp_path: Path) -> Path:
    wide = pd.read_csv(DATA / "pcr_ct2.csv")
    wide["group"] = ["brain"] * 6 + ["kidney"] * 6
    wide["sample"] = [f"s{i}" for i in range(12)]
    long = wide.melt(id_vars=["sample", "group"], var_name="gene", value_name="ct")
    long["ct"] = long["ct"].astype(object)
    long.loc[len(long)] = ["s0", "brain", "c_myc", "Undetermined"]  # a failed extra well, listed
    path = tmp_path / "ct.csv"
    long.to_csv(path, index=False)
    return path


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data/pcr_ct not present")
def test_qpcr_command_reproduces_pcr_ct2(tmp_path):
    out = tmp_path / "res" / "qpcr.csv"
    r = runner.invoke(
        app,
        [
            "qpcr",
            str(_ct2_long(tmp_path)),
            "--reference-gene",
            "GAPDH",
            "--control-group",
            "brain",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    table = pd.read_csv(out)
    assert tuple(table.columns) == RESULT_COLUMNS
    kidney = table.loc[table.group == "kidney"].iloc[0]
    assert_allclose([kidney.delta_delta_ct, kidney.fold_change], [-2.53, 5.775717], atol=5e-6)
    excl = pd.read_csv(tmp_path / "res" / "qpcr.exclusions.csv")
    assert excl[["row", "reason"]].values.tolist() == [[26, "undetermined"]]
    assert "1 undetermined (excluded)" in r.output


def test_qpcr_command_paired_design(tmp_path):
    out = tmp_path / "paired.csv"
    r = runner.invoke(
        app,
        [
            "qpcr",
            str(REF / "paired_design.csv"),
            "-r",
            "GAPDH",
            "--pre",
            "pre",
            "--post",
            "post",
            "--reference-arm",
            "AT",
            "--test",
            "student",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    t = pd.read_csv(out)
    assert set(t.test) == {"paired_t", "student_t"} and len(t) == 6
    ref = pd.read_csv(REF / "paired_reference.csv").set_index(["contrast", "gene", "quantity"])["value"]
    row = t.loc[(t.gene == "BGN") & (t.test == "student_t")].iloc[0]
    assert_allclose(row.p, ref[("RT - AT student", "BGN", "p")], rtol=1e-9)
    r = runner.invoke(
        app,
        [
            "qpcr",
            str(REF / "paired_design.csv"),
            "-r",
            "GAPDH",
            "--pre",
            "pre",
            "--post",
            "post",
            "--between",
            "ancova",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    assert set(pd.read_csv(out).test) == {"paired_t", "ancova"}


def test_qpcr_command_pfaffl_with_efficiency_file(tmp_path):
    ct = pd.DataFrame(
        {
            "sample": [f"s{i}" for i in range(4)] * 2,
            "group": ["c", "c", "t", "t"] * 2,
            "gene": ["R"] * 4 + ["T"] * 4,
            "ct": [20, 20, 20.5, 20.5, 25, 25.2, 23, 23.2],
        }
    )
    ct.to_csv(tmp_path / "ct.csv", index=False)
    pd.DataFrame({"gene": ["R", "T"], "efficiency": [90, 80]}).to_csv(tmp_path / "eff.csv", index=False)
    r = runner.invoke(
        app,
        [
            "qpcr",
            str(tmp_path / "ct.csv"),
            "-r",
            "R",
            "--control-group",
            "c",
            "--method",
            "pfaffl",
            "--efficiency-file",
            str(tmp_path / "eff.csv"),
            "-o",
            str(tmp_path / "o.csv"),
        ],
    )
    assert r.exit_code == 0, r.output
    fc = pd.read_csv(tmp_path / "o.csv").set_index("group").loc["t", "fold_change"]
    assert_allclose(fc, 1.8**2 / 1.9**-0.5, rtol=1e-12)


def test_qpcr_bad_input_exits_2_and_writes_nothing(tmp_path):
    bad = tmp_path / "ct.csv"
    bad.write_text("sample,group,gene,ct\na,c,R,20\na,c,T,twenty\nb,t,R,20\nb,t,T,24\n")
    out = tmp_path / "o.csv"
    r = runner.invoke(app, ["qpcr", str(bad), "-r", "R", "--control-group", "c", "-o", str(out)])
    assert r.exit_code == 2
    assert "row 3" in r.output and "column 'ct'" in r.output and "twenty" in r.output
    assert not out.exists()
    r = runner.invoke(app, ["qpcr", str(bad), "-r", "R", "-o", str(out)])
    assert r.exit_code == 2 and "--control-group is required" in r.output


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data/pcr_ct not present")
def test_qpcr_curve_command(tmp_path):
    wide = pd.read_csv(DATA / "pcr_ct3.csv")
    wide["amount"] = np.repeat([1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01], 3)
    wide.melt(id_vars="amount", var_name="gene", value_name="ct").to_csv(tmp_path / "dil.csv", index=False)
    r = runner.invoke(app, ["qpcr-curve", str(tmp_path / "dil.csv"), "-o", str(tmp_path / "curve.csv")])
    assert r.exit_code == 0, r.output
    c = pd.read_csv(tmp_path / "curve.csv").set_index("gene")
    assert_allclose(c.loc[["c_myc", "GAPDH"], "amplification_factor"], [1.973, 1.963], atol=5e-4)
    r = runner.invoke(
        app,
        [
            "qpcr-curve",
            str(tmp_path / "dil.csv"),
            "-o",
            str(tmp_path / "c2.csv"),
            "--linear-range",
            "one:two",
        ],
    )
    assert r.exit_code == 2 and "LOW:HIGH" in r.output


def test_qpcr_stability_command(tmp_path):
    rng = np.random.default_rng(5)
    rows = [
        (f"s{i}", "ab"[i % 2], g, 20 + s * rng.normal())
        for i in range(10)
        for g, s in [("A", 0.1), ("B", 0.2), ("C", 0.8)]
    ]
    pd.DataFrame(rows, columns=["sample", "group", "gene", "ct"]).to_csv(tmp_path / "ct.csv", index=False)
    r = runner.invoke(app, ["qpcr-stability", str(tmp_path / "ct.csv"), "-o", str(tmp_path / "stab.csv")])
    assert r.exit_code == 0, r.output
    s = pd.read_csv(tmp_path / "stab.csv")
    assert {"gene", "genorm_rank", "genorm_m", "normfinder_stability", "normfinder_rank"} <= set(s.columns)
    assert s.sort_values("genorm_rank")["gene"].iloc[-1] == "C"
    assert (tmp_path / "stab.pairwise_variation.csv").is_file()


def _late_well_table(tmp_path: Path) -> Path:
    ct = pd.DataFrame(
        {
            "sample": ["a", "a", "b", "b", "c", "c", "d", "d"],
            "group": ["c", "c", "t", "t"] * 2,
            "gene": ["R", "T"] * 4,
            "ct": [20, 25, 20, 24, 20.2, 38.5, 20.1, 24.2],
        }
    )
    path = tmp_path / "ct.csv"
    ct.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("value", ["-5", "5", "75", "nan", "-0.5"])
def test_qpcr_cutoff_out_of_range_exits_2_naming_the_option(tmp_path, value):
    out = tmp_path / "o.csv"
    r = runner.invoke(
        app,
        [
            "qpcr",
            str(_late_well_table(tmp_path)),
            "-r",
            "R",
            "--control-group",
            "c",
            "--cutoff",
            value,
            "-o",
            str(out),
        ],
    )
    assert r.exit_code == 2, (r.output, r.exception)
    text = " ".join(r.output.split())
    assert "between 10 and 60" in text and "--cutoff 35" in text and "--cutoff 0" in text
    assert not out.exists()


def test_qpcr_cutoff_zero_keeps_late_wells_and_35_drops_the_late_one(tmp_path):
    path = _late_well_table(tmp_path)
    for value, n_late in [("0", 0), ("35", 1), ("40", 0)]:
        out = tmp_path / f"o{value}.csv"
        r = runner.invoke(
            app, ["qpcr", str(path), "-r", "R", "--control-group", "c", "--cutoff", value, "-o", str(out)]
        )
        assert r.exit_code == 0, r.output
        excl = pd.read_csv(tmp_path / f"o{value}.exclusions.csv")
        assert (excl["reason"] == "above_cutoff").sum() == n_late, value


@pytest.mark.parametrize(
    "content", [b"", b"\xff\xfe\x00\x01garbage\x00", b'gene,amount,ct\nG,1,20\nG,0.1,"23\n']
)
def test_unreadable_dilution_or_efficiency_file_exits_2_naming_it(tmp_path, content):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    out = tmp_path / "o.csv"
    r = runner.invoke(app, ["qpcr-curve", str(bad), "-o", str(out)])
    assert r.exit_code == 2, (r.output, r.exception)
    assert "bad.csv" in r.output and "Fix:" in r.output and not out.exists()
    ct = _late_well_table(tmp_path)
    r = runner.invoke(
        app,
        [
            "qpcr",
            str(ct),
            "-r",
            "R",
            "--control-group",
            "c",
            "--method",
            "pfaffl",
            "--efficiency-file",
            str(bad),
            "-o",
            str(out),
        ],
    )
    assert r.exit_code == 2, (r.output, r.exception)
    assert "bad.csv" in r.output and "efficiency table" in r.output and not out.exists()


def test_qpcr_curve_refuses_reversed_range_and_lists_unused_wells(tmp_path):
    dil = tmp_path / "dil.csv"
    dil.write_text("gene,amount,ct\nG,1,20\nG,0.1,23.3\nG,0.01,Undetermined\nG,0.01,26.7\nG,0.001,30.1\n")
    out = tmp_path / "curve.csv"
    r = runner.invoke(app, ["qpcr-curve", str(dil), "-o", str(out), "--linear-range", "1:0.1"])
    assert r.exit_code == 2, (r.output, r.exception)
    assert "reversed" in r.output and not out.exists()
    r = runner.invoke(app, ["qpcr-curve", str(dil), "-o", str(out), "--linear-range", "0.1:1"])
    assert (
        r.exit_code == 2
        and "at least 3" in r.output
        and "widen the linear range" in " ".join(r.output.split())
    )
    r = runner.invoke(app, ["qpcr-curve", str(dil), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert pd.read_csv(out)["status"].tolist() == ["ok"]
    excl = pd.read_csv(tmp_path / "curve.exclusions.csv")
    assert excl[["row", "reason"]].values.tolist() == [[4, "undetermined"]]
    assert "1 undetermined (excluded)" in r.output


def test_qpcr_pfaffl_without_efficiency_file_names_the_option(tmp_path):
    out = tmp_path / "o.csv"
    r = runner.invoke(
        app,
        [
            "qpcr",
            str(_late_well_table(tmp_path)),
            "-r",
            "R",
            "--control-group",
            "c",
            "--method",
            "pfaffl",
            "-o",
            str(out),
        ],
    )
    assert r.exit_code == 2 and "--efficiency-file" in r.output and not out.exists()


def test_qpcr_stability_lists_what_it_left_out_and_refuses_tiny_groups(tmp_path):
    rng = np.random.default_rng(7)
    rows = [
        (f"s{i}", "ab"[i % 2], g, f"{20 + s * rng.normal():.3f}")
        for i in range(8)
        for g, s in [("A", 0.1), ("B", 0.2), ("C", 0.8)]
    ]
    rows[0] = ("s0", "a", "A", "Undetermined")
    pd.DataFrame(rows, columns=["sample", "group", "gene", "ct"]).to_csv(tmp_path / "ct.csv", index=False)
    out = tmp_path / "stab.csv"
    r = runner.invoke(app, ["qpcr-stability", str(tmp_path / "ct.csv"), "-o", str(out), "--cutoff", "40"])
    assert r.exit_code == 0, r.output
    excl = pd.read_csv(tmp_path / "stab.exclusions.csv")
    assert excl[["sample", "reason"]].values.tolist() == [
        ["s0", "undetermined"],
        ["s0", "no_ct_for_candidate"],
    ]
    assert "7 of 8 samples" in r.output
    small = pd.DataFrame(
        rows[3:], columns=["sample", "group", "gene", "ct"]
    )  # s0 gone: group 'a' keeps s2, s4, s6
    small.loc[small["sample"].isin(["s4", "s6"]), "group"] = "b"
    small.to_csv(tmp_path / "small.csv", index=False)
    r = runner.invoke(app, ["qpcr-stability", str(tmp_path / "small.csv"), "-o", str(tmp_path / "s2.csv")])
    assert r.exit_code == 2, (r.output, r.exception)
    assert "group 'a' has 1 (s2)" in r.output and not (tmp_path / "s2.csv").exists()
    r = runner.invoke(app, ["qpcr-stability", str(tmp_path / "ct.csv"), "-o", str(out), "--cutoff", "5"])
    assert r.exit_code == 2 and "--cutoff" in r.output


@pytest.mark.parametrize("value", ["-1", "0"])
def test_qpcr_refuses_a_non_positive_replicate_sd_limit(tmp_path, value):
    out = tmp_path / "o.csv"
    r = runner.invoke(
        app,
        [
            "qpcr",
            str(_late_well_table(tmp_path)),
            "-r",
            "R",
            "--control-group",
            "c",
            "--max-replicate-sd",
            value,
            "-o",
            str(out),
        ],
    )
    assert r.exit_code == 2 and "--max-replicate-sd" in r.output and not out.exists()


def test_qpcr_takes_arms_from_a_participants_file(tmp_path):
    design = pd.read_csv(REF / "paired_design.csv")
    design.drop(columns="group").rename(columns={"participant": "participant_id"}).to_csv(
        tmp_path / "ct.csv", index=False
    )
    arms = design.drop_duplicates("participant")[["participant", "group"]]
    arms.set_axis(["participant_id", "arm"], axis=1).to_csv(tmp_path / "participants.csv", index=False)
    args = ["-r", "GAPDH", "--pre", "pre", "--post", "post", "--reference-arm", "AT"]
    r = runner.invoke(app, ["qpcr", str(REF / "paired_design.csv"), *args, "-o", str(tmp_path / "a.csv")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app,
        [
            "qpcr",
            str(tmp_path / "ct.csv"),
            *args,
            "--participants",
            str(tmp_path / "participants.csv"),
            "-o",
            str(tmp_path / "b.csv"),
        ],
    )
    assert r.exit_code == 0, r.output
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv"))
    arms.iloc[1:].set_axis(["participant_id", "arm"], axis=1).to_csv(
        tmp_path / "participants.csv", index=False
    )
    r = runner.invoke(
        app,
        [
            "qpcr",
            str(tmp_path / "ct.csv"),
            *args,
            "--participants",
            str(tmp_path / "participants.csv"),
            "-o",
            str(tmp_path / "c.csv"),
        ],
    )
    assert (
        r.exit_code == 2 and "not in the participants table" in r.output and not (tmp_path / "c.csv").exists()
    )
