"""The regression corpus of bad bundles (``tests/study/corpus/*.toml``, issue 10): one case per file.

Each case edits a copy of a small synthetic bundle with raw files and runs ``skintrial validate`` and
``skintrial run`` through typer's runner. A bad bundle must end with exit code 2, a message naming
the file (and row, column or key) and saying what is wrong, no traceback, nothing written into
``--out``, and no line of a file outside the bundle in any output. How to add a case:
``tests/study/corpus/README.md``.
"""

from __future__ import annotations

import json
import os
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from skintrial.cli import app

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(CORPUS.glob("*.toml"))
SECRET = "SECRET-LINE-never-shown"

runner = CliRunner()


@pytest.fixture(scope="module")
def base_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 participants, Cutometer curves and DICOM scans listed in raw/manifest.csv, a training log."""
    from skintrial.plan import synthetic_study

    return synthetic_study(seed=3, n=8, raw=True, omics=False).write(
        tmp_path_factory.mktemp("base") / "study"
    )


def _fill(text: str, where: dict[str, Path]) -> str:
    for key, path in where.items():
        text = text.replace("{" + key + "}", str(path))
    return text


def _float_tiff(path: Path, nan_rows: list[int]) -> None:
    from PIL import Image

    from skintrial.plan import simulate_ultrasound

    pixels, _ = simulate_ultrasound(
        dermal_thickness_mm=1.5, lep_upper=0.3, lep_lower=0.1, rows=256, cols=128, seed=0
    )
    image = pixels.astype(np.float32)
    image[nan_rows[0] : nan_rows[1]] = np.nan
    Image.fromarray(image, mode="F").save(path)


def _csv_to_xlsx(path: Path, formulas: dict[str, str]) -> None:
    import openpyxl

    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(table.columns))
    for row in table.itertuples(index=False):
        sheet.append([float(v) if c == "value" else v for c, v in zip(table.columns, row, strict=True)])
    for cell, formula in formulas.items():
        sheet[cell] = formula  # openpyxl stores the formula only: no saved value, as a script writes it
    book.save(path.with_suffix(".xlsx"))
    path.unlink()


def _apply(step: dict, bundle: Path, where: dict[str, Path]) -> None:
    op = step["op"]
    path = bundle / _fill(step["file"], where)
    if op in ("replace", "replace_all"):
        old, new = _fill(step["old"], where), _fill(step["new"], where)
        text = path.read_text(encoding="utf-8")
        assert old in text, f"the case edits {path.name} but {old!r} is not in it (the base bundle changed?)"
        path.write_text(text.replace(old, new, 1 if op == "replace" else -1), encoding="utf-8")
    elif op == "append":
        path.write_text(path.read_text(encoding="utf-8") + _fill(step["text"], where), encoding="utf-8")
    elif op == "write":
        path.write_text(_fill(step["text"], where), encoding="utf-8")
    elif op == "prepend_hex":
        path.write_bytes(bytes.fromhex(step["hex"]) + path.read_bytes())
    elif op == "delete":
        path.unlink()
    elif op == "move":
        shutil.move(str(path), _fill(step["to"], where))
    elif op == "symlink":
        path.unlink(missing_ok=True)
        path.symlink_to(_fill(step["target"], where))
    elif op == "repeat_line":
        with path.open("a", encoding="utf-8") as fh:
            fh.writelines(step["line"].replace("{i}", str(i)) + "\n" for i in range(step["count"]))
    elif op == "csv_to_xlsx":
        _csv_to_xlsx(path, step["formulas"])
    elif op == "float_tiff":
        _float_tiff(path, step["nan_rows"])
    else:
        raise AssertionError(f"unknown edit op {op!r}")


def _commands(case: dict, bundle_arg: str, out: Path, where: dict[str, Path]) -> list[list[str]]:
    out_commands = []
    for command in case.get("commands", ["validate", "run"]):
        if command == "validate":
            out_commands.append(["validate", bundle_arg])
        elif command == "run":
            out_commands.append(["run", bundle_arg, "--out", str(out)])
        else:
            out_commands.append([_fill(a, where) for a in command])
    return out_commands


def _written(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob("*")) if out.exists() else []


@pytest.mark.parametrize("case_file", CASES, ids=[c.stem for c in CASES])
def test_corpus_case(case_file: Path, base_bundle: Path, tmp_path: Path, monkeypatch) -> None:
    case = tomllib.loads(case_file.read_text(encoding="utf-8"))
    bundle = tmp_path / case.get("bundle_name", "study")
    shutil.copytree(base_bundle, bundle, symlinks=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text(
        f"measurement_id,time_s,deformation_mm\n{SECRET},0,0\n{SECRET},0.01,0.1\n", encoding="utf-8"
    )
    out = tmp_path / case.get("out_name", "out")
    where = {"bundle": bundle, "outside": outside, "out": out}
    for step in case.get("edit", []):
        _apply(step, bundle, where)
    for name, value in case.get("env", {}).items():  # what the person running skintrial allows
        monkeypatch.setenv(name, _fill(value, where))
    bundle_arg = str(bundle)
    if case.get("relative"):
        monkeypatch.chdir(tmp_path)
        bundle_arg = bundle.name
    expected_exit = case.get("exit", 2)
    outputs = []
    for argv in _commands(case, bundle_arg, out, where):
        result = runner.invoke(app, argv)
        text = result.output
        outputs.append(text)
        assert not (result.exception and not isinstance(result.exception, SystemExit)), (
            f"{argv[0]} crashed: {result.exception!r}\n{text}"
        )
        assert result.exit_code == expected_exit, f"{argv[0]}: exit {result.exit_code}\n{text[-3000:]}"
        assert "Traceback" not in text
        assert SECRET not in text
        for expected in case.get("expect", []) if expected_exit == 2 else []:  # every refusal says it all
            assert _fill(expected, where) in text, (
                f"{argv[0]}: {expected!r} not in the output:\n{text[-3000:]}"
            )
        for absent in case.get("absent", []):
            assert absent not in text, f"{argv[0]}: {absent!r} in the output:\n{text[-3000:]}"
        if "max_output_bytes" in case:
            assert len(text.encode()) <= case["max_output_bytes"], f"{len(text.encode())} bytes of output"
        if expected_exit == 2:
            assert _written(out) == [], f"{argv[0]} exited 2 but wrote {_written(out)}"
    for expected in case.get("expect", []) if expected_exit == 0 else []:  # said by one of the commands
        assert any(_fill(expected, where) in text for text in outputs), f"{expected!r} not in {outputs}"
    if expected_exit == 0 and (out / "provenance.json").is_file():
        provenance = json.loads((out / "provenance.json").read_text(encoding="utf-8"))
        for name in case.get("provenance_inputs", []):
            assert _fill(name, where) in provenance["inputs"]
        for file in [p for p in out.rglob("*") if p.is_file() and p.suffix in (".csv", ".json", ".html")]:
            assert SECRET not in file.read_text(encoding="utf-8", errors="replace")
        if "flagged_file" in case:
            files = pd.read_csv(out / "results" / "instrument_files.csv", keep_default_na=False)
            qc = files.loc[files["file"] == case["flagged_file"], "qc"]
            assert len(qc) == 1 and qc.iloc[0].startswith("error"), files[["file", "qc"]]


def test_every_case_is_described() -> None:
    """A case says what it guards against (the issue's wording), so a failure is readable."""
    for case_file in CASES:
        case = tomllib.loads(case_file.read_text(encoding="utf-8"))
        assert case.get("description"), case_file.name
        assert case.get("exit", 2) == 0 or case.get("expect"), f"{case_file.name}: exit 2 without expect"
    assert len(CASES) >= 30


def test_bundle_outside_check_is_not_fooled_by_the_working_folder(base_bundle, tmp_path, monkeypatch):
    """A relative bundle path and a manifest path that climbs out and back in name a file inside."""
    bundle = tmp_path / "b"
    shutil.copytree(base_bundle, bundle, symlinks=True)
    manifest = bundle / "raw" / "manifest.csv"
    manifest.write_text(
        manifest.read_text().replace(
            "cutometer/P001_week0_cheek.csv", "../../b/raw/cutometer/P001_week0_cheek.csv"
        )
    )
    monkeypatch.chdir(tmp_path)
    from skintrial.study import load_study

    study = load_study(Path("b"))
    assert study.manifest is not None
    assert Path(study.manifest["path"].iloc[0]) == Path("b/raw/cutometer/P001_week0_cheek.csv")
    assert os.path.samefile(study.manifest["path"].iloc[0], bundle / "raw/cutometer/P001_week0_cheek.csv")
