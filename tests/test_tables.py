"""The result-table registry: one list of names that the pipeline, write_results, the report and the docs share."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pandas as pd
import pytest

from skintrial.pipeline import TrialResults, write_results
from skintrial.stage import EXCLUSION_COLUMNS, StageResult
from skintrial.tables import TABLES, UnknownTableError, check_stage, table_spec

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "skintrial"
_ACCESSORS = {"table", "get", "has"}


def _names_read_by_the_report() -> list[tuple[str, int, str]]:
    """Every literal table name passed to ``res.table/get/has`` anywhere in the report package."""
    found = []
    for path in sorted((SRC / "report").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _ACCESSORS
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in {"res", "results"}
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.append((path.name, node.lineno, node.args[0].value))
    return found


def test_the_report_reads_only_registered_tables():
    names = _names_read_by_the_report()
    assert len(names) > 30  # the scan sees the report's reads (34 when the registry was introduced)
    unknown = [f"{f}:{line} {n!r}" for f, line, n in names if n not in TABLES]
    assert not unknown, f"the report reads unregistered tables: {unknown}"


def test_the_report_reads_tables_only_through_the_registry_accessors():
    for path in sorted((SRC / "report").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert "res.tables[" not in text and "res.tables.get(" not in text, path.name
        assert "report_data" not in text, path.name


def test_the_report_imports_no_stage():
    """The pipeline's stage packages; ``plan`` is not a stage (the plan page renders its results). The
    one exception: the pure functions of the one inference module (``skintrial.stats``' t/F/z
    quantiles and intervals), so that a figure's interval is computed the way every other is."""
    from skintrial.stats import _inference

    stages = ("instruments", "training", "omics", "stats")
    for path in sorted((SRC / "report").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                parts = node.module.split(".")
                if node.module == "skintrial.stats" and all(a.name in _inference.__all__ for a in node.names):
                    continue
                assert not (len(parts) > 1 and parts[1] in stages), f"{path.name} imports {node.module}"


def test_docs_list_every_registered_table_with_its_columns():
    doc = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)` \| (\w+) \| (yes|report only) \| (.+?) \| .+ \|$", doc, re.M)
    documented = {name: (stage, written, cols) for name, stage, written, cols in rows}
    assert list(documented) == list(TABLES)
    for name, spec in TABLES.items():
        stage, written, cols = documented[name]
        assert stage == spec.stage and (written == "yes") == spec.written, name
        want = "*(input)*" if spec.columns is None else "`" + ", ".join(spec.columns) + "`"
        assert cols == want, name


def test_an_unregistered_name_raises_everywhere():
    res = TrialResults(study=None, stages=())  # type: ignore[arg-type]
    for call in (res.table, res.get, res.has, table_spec):
        with pytest.raises(UnknownTableError, match="ancvoa"):
            call("ancvoa")
    with pytest.raises(KeyError, match="produced no 'clda'"):
        res.table("clda")
    assert res.get("clda") is None and not res.has("clda")


def test_check_stage_refuses_wrong_columns_wrong_stage_and_unknown_names():
    good = pd.DataFrame(columns=list(TABLES["flow"].columns or ()))
    check_stage(StageResult(stage="description", tables={"flow": good}))
    with pytest.raises(ValueError, match="registered"):
        check_stage(StageResult(stage="description", tables={"flow": good.rename(columns={"n": "count"})}))
    with pytest.raises(ValueError, match="belongs to stage 'description'"):
        check_stage(StageResult(stage="ancova", tables={"flow": good}))
    with pytest.raises(UnknownTableError):
        check_stage(StageResult(stage="ancova", tables={"anova": good}))


def test_stage_results_are_frozen_and_exclusions_have_the_common_columns():
    res = StageResult(stage="x", tables={"flow": pd.DataFrame()})
    with pytest.raises(TypeError):
        res.tables["other"] = pd.DataFrame()  # type: ignore[index]
    with pytest.raises(ValueError, match="exclusions"):
        StageResult(stage="x", exclusions=(pd.DataFrame(columns=["participant_id"]),))
    StageResult(stage="x", exclusions=(pd.DataFrame(columns=list(EXCLUSION_COLUMNS)),))


def test_a_run_writes_exactly_its_registered_written_tables(demo_results, tmp_path):
    written = write_results(demo_results, tmp_path)
    csvs = {p.stem for p in written if p.suffix == ".csv"}
    assert csvs == {n for n in demo_results.tables if TABLES[n].written}
    assert {"ancova", "exclusions", "flow"} <= csvs
    assert not csvs & {n for n, t in TABLES.items() if not t.written}
    for stage in demo_results.stages:
        for name in stage.tables:
            assert TABLES[name].stage == stage.stage


def test_settings_of_an_unknown_stage_raise_and_of_a_stage_that_did_not_run_are_empty(demo_results):
    from skintrial.pipeline import stage_names

    assert {"instruments", "ancova", "training", "omics", "pipeline"} <= set(stage_names())
    assert demo_results.settings("ancova")["baseline_visit"] == "week0"
    with pytest.raises(KeyError, match="omisc"):
        demo_results.settings("omisc")
    ran = {s.stage for s in demo_results.stages}
    idle = next(n for n in stage_names() if n not in ran)
    assert dict(demo_results.settings(idle)) == {}


def test_the_report_reads_settings_only_of_real_stages():
    from skintrial.pipeline import stage_names

    named = set()
    for path in sorted((SRC / "report").glob("*.py")):
        named |= set(re.findall(r'settings\("(\w+)"\)', path.read_text(encoding="utf-8")))
    assert named and named <= set(stage_names()), named - set(stage_names())
