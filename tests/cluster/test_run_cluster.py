"""``skintrial run`` / ``demo`` on a cluster and ``run A B C --out-root DIR``: the same results files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from skintrial.cli import app

runner = CliRunner()


def _results(out: Path) -> dict[str, object]:
    """Every results file by name: its digest (byte-identical on a cluster), or its table for the
    expression layer's moderated statistics (equal to 1e-12 on a cluster: the hyperparameters are
    combined from per-chunk sums) and the serum ANCOVA (the engine's products over a chunk of analytes
    may move the last bits), docs/scale.md. provenance.json and the report carry times."""
    found: dict[str, object] = {}
    for p in sorted((out / "results").glob("*.csv")):
        close = p.name.startswith("expression_") or p.name == "serum_ancova.csv"
        found[p.name] = _Close(pd.read_csv(p)) if close else _digest(p)
    return found


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class _Close:
    """A table that equals another when the text columns match and the numbers agree to 1e-12."""

    def __init__(self, table: pd.DataFrame):
        self.table = table

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Close):
            return NotImplemented
        try:
            pd.testing.assert_frame_equal(self.table, other.table, check_exact=False, rtol=1e-12, atol=1e-14)
        except AssertionError:
            return False
        return True

    def __repr__(self) -> str:
        return f"<table {self.table.shape}>"


@pytest.fixture(scope="module")
def bundles(tmp_path_factory) -> list[Path]:
    """Two small bundles with raw instrument files and an RNA-seq layer (both batch stages run)."""
    from skintrial.plan import add_expression_layer, synthetic_study

    root = tmp_path_factory.mktemp("bundles")
    made = []
    for name, seed in (("alpha", 3), ("beta", 4)):
        folder = synthetic_study(seed=seed, n=16, raw=True).write(root / name)
        add_expression_layer(folder, seed=seed)
        made.append(folder)
    return made


@pytest.fixture(scope="module")
def in_process(bundles, tmp_path_factory) -> dict[str, dict[str, str]]:
    """Each bundle run alone, in this process."""
    found = {}
    for bundle in bundles:
        out = tmp_path_factory.mktemp("single") / bundle.name
        r = runner.invoke(app, ["run", str(bundle), "--out", str(out)])
        assert r.exit_code == 0, r.output
        found[bundle.name] = _results(out)
    return found


def test_several_bundles_in_one_call(bundles, in_process, tmp_path):
    r = runner.invoke(app, ["run", *map(str, bundles), "--out-root", str(tmp_path)])
    assert r.exit_code == 0, r.output
    for bundle in bundles:
        assert (tmp_path / bundle.name / "report.html").is_file()
        assert _results(tmp_path / bundle.name) == in_process[bundle.name]


def test_a_refused_bundle_is_listed_and_the_others_run(bundles, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "study.toml").write_text("[study]\nname = 1\n")
    r = runner.invoke(app, ["run", str(bundles[0]), str(broken), "--out-root", str(tmp_path / "out")])
    assert r.exit_code == 2
    assert "broken" in r.output and "bundle not run" in r.output
    assert (tmp_path / "out" / bundles[0].name / "report.html").is_file()
    assert not (tmp_path / "out" / "broken").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--out", "x", "--out-root", "y"], "--out and --out-root were both given"),
        ([], "need an output folder each"),
    ],
)
def test_output_options_are_checked_before_any_work(bundles, tmp_path, extra, message):
    r = runner.invoke(app, ["run", *map(str, bundles), *extra])
    assert r.exit_code == 2 and message in r.output


def test_bundles_with_one_name_are_refused(bundles, tmp_path):
    twin = tmp_path / "twin" / bundles[0].name
    twin.parent.mkdir()
    twin.symlink_to(bundles[0], target_is_directory=True)
    r = runner.invoke(app, ["run", str(bundles[0]), str(twin), "--out-root", str(tmp_path / "o")])
    assert r.exit_code == 2 and "same folder name" in r.output


def test_run_on_a_cluster_gives_the_same_results(bundles, in_process, tmp_path):
    out = tmp_path / "cluster"
    r = runner.invoke(app, ["run", str(bundles[0]), "--out", str(out), "--cluster", "local:2"])
    assert r.exit_code == 0, r.output
    assert "cluster: local:2 (2 workers)" in r.output
    assert _results(out) == in_process[bundles[0].name]


def test_several_bundles_on_a_cluster_one_task_each(bundles, in_process, tmp_path, monkeypatch):
    monkeypatch.setenv("SKINTRIAL_CLUSTER", "local:2")  # the environment says what --cluster says
    r = runner.invoke(app, ["run", *map(str, bundles), "--out-root", str(tmp_path)])
    assert r.exit_code == 0, r.output
    for bundle in bundles:
        assert _results(tmp_path / bundle.name) == in_process[bundle.name]


def test_unreachable_scheduler_is_exit_2_with_its_address(bundles, tmp_path):
    r = runner.invoke(
        app, ["run", str(bundles[0]), "--out", str(tmp_path / "o"), "--cluster", "tcp://127.0.0.1:9"]
    )
    assert r.exit_code == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in r.output and "Fix:" in r.output
    assert not (tmp_path / "o" / "report.html").exists()


def test_a_bad_cluster_in_the_environment_is_exit_2(bundles, tmp_path, monkeypatch):
    monkeypatch.setenv("SKINTRIAL_CLUSTER", "lokal")
    r = runner.invoke(app, ["run", str(bundles[0]), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "'lokal'" in r.output


def test_demo_on_a_cluster_gives_the_same_results(tmp_path):
    args = ["demo", "--n", "16", "--seed", "5"]
    here, there = tmp_path / "here", tmp_path / "there"
    assert runner.invoke(app, [*args, "--out", str(here)]).exit_code == 0
    r = runner.invoke(app, [*args, "--out", str(there), "--cluster", "local:2"])
    assert r.exit_code == 0, r.output
    assert _results(here) == _results(there)


def test_plan_on_the_sessions_scheduler_gives_the_same_files(dask_client, tmp_path):
    """``plan --simulate --cluster tcp://…``: the pilot's plan files are those of a run in this process."""
    from skintrial.plan import synthetic_study

    pilot = synthetic_study(seed=2, n=24, omics=False, training=False).write(tmp_path / "pilot")
    args = ["plan", str(pilot), "--primary", "r2", "--effect", "AT=0.03", "--effect", "RT=0.04"]
    args += ["--simulate", "200", "--seed", "4"]
    address = dask_client.scheduler.address
    for name, extra in (("here", []), ("there", ["--cluster", address])):
        r = runner.invoke(app, [*args, "--out", str(tmp_path / name), *extra])
        assert r.exit_code == 0, r.output
    for name in ("plan.csv", "power_curve.csv", "simulated_power.csv"):
        assert (tmp_path / "here" / name).read_bytes() == (tmp_path / "there" / name).read_bytes(), name


@pytest.mark.parametrize("cluster", ["foo", "tcp://127.0.0.1:9"])
def test_demo_refuses_a_bad_cluster_before_writing_anything(tmp_path, cluster):
    out = tmp_path / "demo"
    r = runner.invoke(app, ["demo", "--out", str(out), "--n", "16", "--cluster", cluster])
    assert r.exit_code == 2 and "--cluster" in r.output
    assert not (out / "study").exists() and not (out / "report.html").exists()
