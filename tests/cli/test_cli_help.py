"""Help and tables at an 80-column terminal and in a pipe (issue 13): nothing cut, no typer placeholders."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.main import get_command
from typer.testing import CliRunner

from skintrial.cli import app

runner = CliRunner()


def _commands(command, path=()):
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(get_command(app)))


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) or "skintrial" for p, _ in COMMANDS])
def test_help_at_80_columns_names_every_option_whole(path, command):
    r = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "<list[" not in r.output
    names = [o for p in command.params for o in (*p.opts, *p.secondary_opts) if o.startswith("-")]
    words = set(r.output.replace("│", " ").replace(",", " ").split())
    assert [n for n in names if n not in words] == []
    # paragraphs are reflowed to the width, not broken where the source's lines end
    assert not any(line.rstrip().endswith("(semicolon-separated") for line in lines)


def test_list_parameters_show_the_type_of_one_value():
    r = runner.invoke(app, ["cutometer", "--help"], env={"COLUMNS": "80"})
    assert "<path>..." in r.output  # FILES...
    column = next(line for line in r.output.splitlines() if "--column" in line)
    assert "<str>" in column


def test_help_in_a_pipe_is_100_columns_wide():
    r = runner.invoke(app, ["plan", "--help"], env={"COLUMNS": None, "TERMINAL_WIDTH": None})
    assert r.exit_code == 0
    assert max(len(line) for line in r.output.splitlines()) == 100


def test_plan_table_whole_at_80_columns_and_whole_participants(small_bundle, tmp_path):
    out = tmp_path / "plan"
    r = runner.invoke(
        app, ["plan", str(small_bundle), "--primary", "r2", "--out", str(out)], env={"COLUMNS": "80"}
    )
    assert r.exit_code == 0, r.output
    table = r.output[: r.output.index("Pilot change")]
    assert "…" not in table and max(len(line) for line in table.splitlines()) <= 80
    for word in ("scenario", "contrast", "effect", "basis", "sd", "rho", "enrolled", "power"):
        assert word in table.split()
    plan = pd.read_csv(out / "plan.csv")
    counts = ["n_enrolled_arm", "n_enrolled_control", "n_enrolled_total"]
    assert all(pd.api.types.is_integer_dtype(plan[c]) for c in counts), plan[counts].dtypes
    for n in plan["n_enrolled_arm"]:
        assert f" {n} " in table  # shown as 96, not 96.0
