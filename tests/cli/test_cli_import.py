"""``skintrial import redcap`` through typer's runner: the draft, the bundle, exit codes, nothing
half-written, nothing of anyone else's replaced."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skintrial.cli import app

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "redcap"


@pytest.fixture
def export(tmp_path: Path) -> dict[str, Path]:
    for name in ("records.csv", "dictionary.csv", "mapping.toml"):
        shutil.copy(EXAMPLE / name, tmp_path / name)
    return {n: tmp_path / f"{n}.csv" for n in ("records", "dictionary")} | {
        "mapping": tmp_path / "mapping.toml"
    }


def _args(export, out: Path, mapping: Path | None = None) -> list[str]:
    args = [
        "import",
        "redcap",
        str(export["records"]),
        "--dictionary",
        str(export["dictionary"]),
        "--out",
        str(out),
    ]
    return args + (["--mapping", str(mapping)] if mapping is not None else [])


def test_without_mapping_a_draft_is_written_and_nothing_else(export, tmp_path):
    out = tmp_path / "bundle"
    r = runner.invoke(app, _args(export, out))
    assert r.exit_code == 2, r.output
    assert sorted(p.name for p in out.iterdir()) == ["redcap_mapping.toml"]
    assert "draft mapping was written" in r.output and "--mapping" in r.output
    draft = tomllib.loads((out / "redcap_mapping.toml").read_text())
    assert draft["participants"]["arm"] == "arm"
    again = runner.invoke(app, _args(export, out))  # a mapping is there (perhaps edited): never replaced
    assert again.exit_code == 2 and "already there" in again.output


def test_the_draft_then_the_bundle(export, tmp_path):
    out = tmp_path / "bundle"
    assert runner.invoke(app, _args(export, out)).exit_code == 2
    draft = out / "redcap_mapping.toml"
    r = runner.invoke(app, _args(export, out, draft))
    assert r.exit_code == 0, r.output
    assert {p.name for p in out.iterdir()} >= {
        "study.toml",
        "participants.csv",
        "measurements.csv",
        "redcap_mapping.toml",
    }
    assert "please confirm" in r.output and "participants from field 'arm'" in r.output
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 0


def test_bundle_with_a_mapping_and_a_second_import_replaces_its_own_files(export, tmp_path):
    out = tmp_path / "bundle"
    assert runner.invoke(app, _args(export, out, export["mapping"])).exit_code == 0
    assert (out / "redcap_mapping.toml").read_text() == export["mapping"].read_text()
    export["mapping"].write_text(export["mapping"].read_text().replace('name = "', 'name = "Renamed '))
    r = runner.invoke(app, _args(export, out, export["mapping"]))
    assert r.exit_code == 0, r.output
    assert 'name = "Renamed ' in (out / "study.toml").read_text()


def test_a_bundle_of_someone_else_is_never_replaced(export, tmp_path):
    out = tmp_path / "bundle"
    out.mkdir()
    (out / "study.toml").write_text("# mine\n")
    r = runner.invoke(app, _args(export, out, export["mapping"]))
    assert r.exit_code == 2 and "not written by an earlier import" in r.output
    assert (out / "study.toml").read_text() == "# mine\n"
    assert sorted(p.name for p in out.iterdir()) == ["study.toml"]


def test_an_edited_import_is_not_replaced(export, tmp_path):
    out = tmp_path / "bundle"
    assert runner.invoke(app, _args(export, out, export["mapping"])).exit_code == 0
    (out / "participants.csv").write_text((out / "participants.csv").read_text() + "\n")
    r = runner.invoke(app, _args(export, out, export["mapping"]))
    assert r.exit_code == 2 and "participants.csv" in r.output


def test_bad_input_writes_nothing(export, tmp_path):
    text = export["records"].read_text().splitlines()
    text[1] = text[1].replace("2.06", "two")  # row 2: record 101 at baseline
    export["records"].write_text("\n".join(text) + "\n")
    out = tmp_path / "bundle"
    r = runner.invoke(app, _args(export, out, export["mapping"]))
    assert r.exit_code == 2
    assert (
        "not a number" in r.output
        and "record '" in r.output
        and "row 2" in r.output
        and "dermal_thick" in r.output
    )
    assert not out.exists()
