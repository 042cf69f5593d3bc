"""demo, run and validate through typer's runner: outputs, exit codes, nothing half-written."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from skintrial.cli import app

runner = CliRunner()


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_demo_writes_bundle_results_and_report(tmp_path):
    out = tmp_path / "demo"
    r = runner.invoke(app, ["demo", "--out", str(out), "--n", "24", "--seed", "5"])
    assert r.exit_code == 0, r.output
    assert (out / "study" / "study.toml").is_file()
    assert (out / "report.html").stat().st_size > 10_000
    assert (out / "provenance.json").is_file()
    anc = pd.read_csv(out / "results" / "ancova.csv")
    assert len(anc) == 9 and anc["p"].between(0, 1).all()
    assert not list(tmp_path.glob(".*partial*")), "staging folder removed"


def test_demo_is_deterministic_apart_from_timestamps(tmp_path):
    for name in ("a", "b"):
        assert runner.invoke(app, ["demo", "--out", str(tmp_path / name), "--n", "16"]).exit_code == 0
    a, b = _tree_digest(tmp_path / "a"), _tree_digest(tmp_path / "b")
    stamped = {"provenance.json", "report.html", "report.docx"}  # the run's time is in their methods
    assert {k: v for k, v in a.items() if k not in stamped} == {
        k: v for k, v in b.items() if k not in stamped
    }


def test_run_and_validate_on_a_valid_bundle(small_bundle, tmp_path):
    assert runner.invoke(app, ["validate", str(small_bundle)]).exit_code == 0
    r = runner.invoke(app, ["run", str(small_bundle), "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "out" / "results" / "ancova.csv").is_file()


def test_run_writes_the_cross_sectional_table_when_planned(small_bundle, tmp_path):
    toml = small_bundle / "study.toml"
    toml.write_text(
        toml.read_text().replace(
            'methods = ["ancova", "clda", "mixed_anova"]', 'methods = ["ancova", "cross_sectional"]'
        )
    )
    r = runner.invoke(app, ["run", str(small_bundle), "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    cs = pd.read_csv(tmp_path / "out" / "results" / "cross_sectional.csv")
    assert list(cs.columns[:3]) == ["outcome", "contrast", "estimate"] and (cs["visit"] == "week0").all()


def test_invalid_bundle_exits_2_names_the_place_and_writes_nothing(small_bundle, tmp_path):
    m = pd.read_csv(small_bundle / "measurements.csv", dtype=str)
    m.loc[3, "outcome"] = "tewl"
    m.to_csv(small_bundle / "measurements.csv", index=False)
    for args in (["validate", str(small_bundle)], ["run", str(small_bundle), "--out", str(tmp_path / "out")]):
        r = runner.invoke(app, args)
        assert r.exit_code == 2
        assert "measurements.csv, row 5, column 'outcome'" in r.output
        assert "[outcomes.tewl]" in r.output
    assert not (tmp_path / "out").exists()


def test_missing_bundle_exits_2(tmp_path):
    r = runner.invoke(app, ["run", str(tmp_path / "nope"), "--out", str(tmp_path / "out")])
    assert r.exit_code == 2 and "study folder not found" in r.output


def test_validate_reads_the_layer_files_that_run_reads(small_bundle, tmp_path):
    log = small_bundle / "training.csv"
    lines = log.read_text().splitlines()
    lines[1] = lines[1].replace("P0", "X9", 1)  # a session of an unknown participant
    log.write_text("\n".join(lines) + "\n")
    before = sorted(p.name for p in small_bundle.iterdir())
    r = runner.invoke(app, ["validate", str(small_bundle)])
    assert r.exit_code == 2
    assert "training.csv, row 2, column 'participant_id'" in r.output
    assert sorted(p.name for p in small_bundle.iterdir()) == before


def test_a_second_run_replaces_every_output_of_the_first(small_bundle, tmp_path):
    out = tmp_path / "out"
    assert runner.invoke(app, ["run", str(small_bundle), "--out", str(out)]).exit_code == 0
    assert (out / "results" / "clda.csv").is_file()
    (out / "notes.txt").write_text("mine")
    toml = small_bundle / "study.toml"
    toml.write_text(
        toml.read_text().replace('methods = ["ancova", "clda", "mixed_anova"]', 'methods = ["ancova"]')
    )
    assert runner.invoke(app, ["run", str(small_bundle), "--out", str(out)]).exit_code == 0
    assert not (out / "results" / "clda.csv").exists() and not (out / "results" / "mixed_anova.csv").exists()
    assert (out / "notes.txt").read_text() == "mine"  # not skintrial's: left alone


def test_an_output_path_that_is_a_file_exits_2_before_any_work(small_bundle, tmp_path):
    target = tmp_path / "afile"
    target.write_text("x")
    r = runner.invoke(app, ["run", str(small_bundle), "--out", str(target)])
    assert r.exit_code == 2 and "not a folder" in r.output


def test_run_never_deletes_the_study_it_reads(small_bundle, tmp_path, monkeypatch):
    """`cp -r study wd/results; cd wd; skintrial run results --out .` must not replace the bundle."""
    wd = tmp_path / "wd"
    wd.mkdir()
    small_bundle.rename(wd / "results")
    before = _tree_digest(wd)
    monkeypatch.chdir(wd)
    r = runner.invoke(app, ["run", "results", "--out", "."])
    assert r.exit_code == 2, r.output
    assert "is, or lies inside" in r.output and "choose another --out" in r.output
    assert _tree_digest(wd) == before
    assert not list(tmp_path.rglob(".*partial*"))


def test_run_into_the_study_folder_keeps_the_bundle(small_bundle):
    before = _tree_digest(small_bundle)
    for _ in range(2):  # the second run replaces the first run's outputs, never the bundle
        assert runner.invoke(app, ["run", str(small_bundle), "--out", str(small_bundle)]).exit_code == 0
    after = _tree_digest(small_bundle)
    assert {k: v for k, v in after.items() if k in before} == before


@pytest.mark.parametrize("entry", ["results/mine.csv", "report.html", "overlays/scan.png"])
def test_run_refuses_to_replace_outputs_it_did_not_write(small_bundle, tmp_path, entry):
    out = tmp_path / "out"
    (out / entry).parent.mkdir(parents=True, exist_ok=True)
    (out / entry).write_text("the user's own")
    r = runner.invoke(app, ["run", str(small_bundle), "--out", str(out)])
    assert r.exit_code == 2
    assert "skintrial did not write" in r.output and repr(entry.split("/")[0]) in r.output
    assert "choose another --out" in r.output
    assert (out / entry).read_text() == "the user's own"
    assert sorted(p.name for p in out.iterdir()) == [entry.split("/")[0]]


def test_a_link_in_the_output_folder_is_never_followed(small_bundle, tmp_path):
    out = tmp_path / "out"
    assert runner.invoke(app, ["run", str(small_bundle), "--out", str(out)]).exit_code == 0
    shutil.rmtree(out / "results")
    (out / "results").symlink_to(small_bundle)  # replacing it by rmtree would delete the study
    before = _tree_digest(small_bundle)
    r = runner.invoke(app, ["run", str(small_bundle), "--out", str(out)])
    assert r.exit_code == 2 and "is, or lies inside" in r.output
    assert _tree_digest(small_bundle) == before


def test_demo_refuses_a_folder_whose_study_is_not_its_own(tmp_path):
    mine = tmp_path / "work" / "study"
    mine.mkdir(parents=True)
    (mine / "study.toml").write_text("# my real study\n")
    r = runner.invoke(app, ["demo", "--out", str(tmp_path / "work"), "--n", "16"])
    assert r.exit_code == 2 and "'study'" in r.output
    assert (mine / "study.toml").read_text() == "# my real study\n"


def test_demo_names_its_own_options_in_errors(tmp_path):
    r = runner.invoke(app, ["demo", "--out", str(tmp_path / "d"), "--n", "3", "--seed", "-1"])
    assert r.exit_code == 2
    assert "option '--n': --n must be an integer of at least 8" in r.output and "pass --n 8" in r.output
    assert "option '--seed'" in r.output and "column 'n'" not in r.output
    assert not (tmp_path / "d").exists()


def test_demo_never_replaces_a_study_an_earlier_run_read(small_bundle, tmp_path, monkeypatch):
    """The reviewer's sequence: a bundle in ./study, edited, `run study --out .`, then `demo --out .`."""
    wd = tmp_path / "wd"
    wd.mkdir()
    small_bundle.rename(wd / "study")
    toml = wd / "study" / "study.toml"
    toml.write_text(toml.read_text() + "# my edits\n")
    monkeypatch.chdir(wd)
    assert runner.invoke(app, ["run", "study", "--out", "."]).exit_code == 0
    before = _tree_digest(wd / "study")
    r = runner.invoke(app, ["demo", "--out", ".", "--n", "16"])
    assert r.exit_code == 2, r.output
    text = " ".join(r.output.split())
    assert "study" in text and "choose another --out" in text
    assert _tree_digest(wd / "study") == before
    assert not list(tmp_path.rglob(".*partial*"))


def test_demo_replaces_its_own_study_but_not_once_it_was_edited(tmp_path):
    out = tmp_path / "d"
    for _ in range(2):  # its own study, also after a run read it, is demo's to replace
        assert runner.invoke(app, ["demo", "--out", str(out), "--n", "16"]).exit_code == 0
        assert runner.invoke(app, ["run", str(out / "study"), "--out", str(out)]).exit_code == 0
    toml = out / "study" / "study.toml"
    toml.write_text(toml.read_text().replace("alpha = 0.05", "alpha = 0.01"))
    (out / "study" / "notes.txt").write_text("mine")
    before = _tree_digest(out / "study")
    r = runner.invoke(app, ["demo", "--out", str(out), "--n", "16"])
    assert r.exit_code == 2, r.output
    text = " ".join(r.output.split())
    assert (
        "'study'" in text and "study.toml" in text and "notes.txt" in text and "choose another --out" in text
    )
    assert _tree_digest(out / "study") == before
