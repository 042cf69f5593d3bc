"""The ``[expression]`` bundle layer: validation, the omics stage's tables, the default paired design."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skintrial.errors import InputError
from skintrial.omics import omics_stage
from skintrial.omics.enrichment import CAMERA_COLUMNS
from skintrial.omics.expression import DE_COLUMNS
from skintrial.omics.genesets import ecm_gene_sets
from skintrial.plan import add_expression_layer, synthetic_study
from skintrial.study import load_study


@pytest.fixture(scope="module")
def bundle() -> tuple[Path, pd.DataFrame]:
    root = Path(synthetic_study(seed=3, n=24).write(tempfile.mkdtemp()))
    return root, add_expression_layer(root)


def test_omics_stage_gives_registered_expression_tables(bundle):
    root, truth = bundle
    res = omics_stage(load_study(root))
    de, sets = res.tables["expression_de"], res.tables["expression_genesets"]
    assert list(de.columns) == list(DE_COLUMNS) and list(sets.columns) == list(CAMERA_COLUMNS)
    expected = [
        "visit: week16 - week0 | arm = AT",
        "visit: week16 - week0 | arm = RT",
        "visit: week16 - week0 | arm: RT - AT",
    ]
    assert list(dict.fromkeys(de["contrast"])) == expected
    settings = res.settings["expression"]
    assert settings["design"] == "~ participant_id + arm * visit" and settings["counts"] is True
    assert settings["not_estimable"] == ["arm[RT]"]
    rt = de[de["contrast"] == expected[1]].set_index("gene")
    hits = rt.index[rt["p_adj"] < 0.05]
    true = set(truth.loc[(truth["arm"] == "RT") & (truth["log2_change"] >= 1), "gene"])
    assert len(true & set(hits)) >= 40 and len(set(hits) - true) <= 0.15 * len(hits)
    assert len(true & set(hits)) >= 40 and len(set(hits) - true) <= 0.15 * len(hits)
    at = de[de["contrast"] == expected[0]]
    assert (at["p_adj"] < 0.05).sum() <= 3
    up = sets[(sets["contrast"] == expected[1]) & (sets["p_adj"] < 0.05)]
    assert len(up) and (up["direction"] == "up").all()


def _broken(edit) -> str:
    root = Path(synthetic_study(seed=3, n=12).write(tempfile.mkdtemp()))
    add_expression_layer(root)
    edit(root)
    with pytest.raises(InputError) as err:
        omics_stage(load_study(root))
    return str(err.value)


def _edit_samples(change):
    def edit(root: Path) -> None:
        s = pd.read_csv(root / "expression_samples.csv")
        change(s)
        s.to_csv(root / "expression_samples.csv", index=False)

    return edit


def _edit_matrix(change):
    def edit(root: Path) -> None:
        m = pd.read_csv(root / "expression.csv", dtype=str)
        change(m)
        m.to_csv(root / "expression.csv", index=False)

    return edit


@pytest.mark.parametrize(
    ("edit", "needles"),
    [
        (
            _edit_samples(
                lambda s: s.__setitem__("participant_id", s["participant_id"].where(s.index != 3, "P999"))
            ),
            ["expression_samples.csv, row 5, column 'participant_id'", "participant not in", "P999"],
        ),
        (
            _edit_samples(lambda s: s.__setitem__("visit", s["visit"].where(s.index != 0, "week99"))),
            ["row 2, column 'visit'", "visit not declared", "week99"],
        ),
        (
            _edit_samples(lambda s: s.__setitem__("visit", s["visit"].where(s.index != 1, "week0"))),
            ["row 3, column 'sample'", "two samples of the same participant_id × visit", "Fix:"],
        ),
        (
            _edit_samples(lambda s: s.__setitem__("sample", s["sample"].where(s.index != 2, s["sample"][0]))),
            ["row 4, column 'sample'", "listed twice"],
        ),
        (
            _edit_matrix(lambda m: m.iat.__setitem__((6, 3), "high")),
            ["expression.csv, row 8", "must be numbers", "high"],
        ),
        (
            _edit_matrix(lambda m: m.iat.__setitem__((9, 2), "-4")),
            ["expression.csv, row 11", "negative", "Fix:"],
        ),
        (
            lambda root: (root / "expression_samples.csv").unlink(),
            ["expression_samples.csv", "sample table declared in study.toml is missing"],
        ),
    ],
)
def test_bundle_problems_name_file_row_column_and_fix(edit, needles):
    text = _broken(edit)
    for needle in needles:
        assert needle in text, text


def test_unknown_expression_key_is_refused():
    root = Path(synthetic_study(seed=3, n=12).write(tempfile.mkdtemp()))
    add_expression_layer(root)
    with open(root / "study.toml", "a") as fh:
        fh.write("countz = true\n")
    with pytest.raises(InputError, match="countz"):
        load_study(root)


def test_user_design_and_gmt_in_the_bundle():
    root = Path(synthetic_study(seed=3, n=12).write(tempfile.mkdtemp()))
    core = sorted(ecm_gene_sets().sets["MATRISOME_CORE"])[:40]
    (root / "mine.gmt").write_text("MY_SET\tmine\t" + "\t".join(core) + "\n")
    add_expression_layer(root)
    toml = (root / "study.toml").read_text().replace('genesets = "ecm"', 'genesets = "mine.gmt"')
    toml += 'design = "~ participant_id + visit"\ncontrasts = ["visit: week16 - week0"]\n'
    (root / "study.toml").write_text(toml)
    res = omics_stage(load_study(root))
    assert set(res.tables["expression_de"]["contrast"]) == {"visit: week16 - week0"}
    assert res.settings["expression"]["genesets"] == "mine.gmt"


def _as_h5ad(root: Path, *, bad_participant: bool = False) -> None:
    import anndata

    counts = pd.read_csv(root / "expression.csv").set_index("gene")
    obs = pd.read_csv(root / "expression_samples.csv").set_index("sample")
    if bad_participant:
        obs.iloc[2, obs.columns.get_loc("participant_id")] = "P999"
    adata = anndata.AnnData(X=counts.T.to_numpy(dtype=float), obs=obs.loc[counts.columns])
    adata.var_names = list(counts.index)
    adata.write_h5ad(root / "expression.h5ad")
    toml = (root / "study.toml").read_text()
    toml = toml.replace('file = "expression.csv"', 'file = "expression.h5ad"')
    (root / "study.toml").write_text(toml.replace('samples = "expression_samples.csv"\n', ""))
    (root / "expression_samples.csv").unlink()


def test_h5ad_layer_uses_and_checks_obs():
    root = Path(synthetic_study(seed=3, n=12).write(tempfile.mkdtemp()))
    add_expression_layer(root)
    _as_h5ad(root)
    res = omics_stage(load_study(root))
    assert res.settings["expression"]["n_samples"] == 2 * 12
    bad = Path(synthetic_study(seed=3, n=12).write(tempfile.mkdtemp()))
    add_expression_layer(bad)
    _as_h5ad(bad, bad_participant=True)
    with pytest.raises(InputError, match="participant not in") as err:
        omics_stage(load_study(bad))
    assert "expression.h5ad" in str(err.value) and "P999" in str(err.value)


def test_validate_command_reads_the_expression_layer():
    from typer.testing import CliRunner

    from skintrial.cli import app

    root = Path(synthetic_study(seed=3, n=12).write(tempfile.mkdtemp()))
    add_expression_layer(root)
    s = pd.read_csv(root / "expression_samples.csv")
    s.loc[4, "visit"] = "week99"
    s.to_csv(root / "expression_samples.csv", index=False)
    r = CliRunner().invoke(app, ["validate", str(root)])
    assert r.exit_code == 2, r.output
    assert "expression_samples.csv, row 6, column 'visit'" in r.output and "week99" in r.output


def test_several_treatments_need_a_design():
    root = Path(synthetic_study(seed=3, n=12).write(tempfile.mkdtemp()))
    add_expression_layer(root)
    s = pd.read_csv(root / "expression_samples.csv")
    s["treatment"] = ["serum", "vehicle"] * (len(s) // 2)
    s.to_csv(root / "expression_samples.csv", index=False)
    with pytest.raises(InputError, match="would mix them") as err:
        omics_stage(load_study(root))
    assert "expression.design" in str(err.value) and "Fix:" in str(err.value)


def test_random_participant_option():
    root = Path(synthetic_study(seed=3, n=12).write(tempfile.mkdtemp()))
    add_expression_layer(root)
    with open(root / "study.toml", "a") as fh:
        fh.write("random_participant = true\n")
    toml = (root / "study.toml").read_text().replace("counts = true", "counts = false")
    (root / "study.toml").write_text(toml)
    m = pd.read_csv(root / "expression.csv").set_index("gene")
    np.log2(m + 1).to_csv(root / "expression.csv")  # log scale: a random block needs it
    res = omics_stage(load_study(root))
    settings = res.settings["expression"]
    assert settings["design"] == "~ arm * visit" and 0 < settings["correlation"] < 1
    assert "expression_genesets" not in res.tables
    assert "visit: week16 - week0 | arm: RT - AT" in set(res.tables["expression_de"]["contrast"])
