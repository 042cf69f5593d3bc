"""Writing an import: the bundle's files into a folder, all or none, and a draft mapping.

An import marks what it wrote (``.skintrial-import.json``: each file's SHA-256) so that importing again
replaces its own files and never a file a person wrote or changed since (:func:`write_redcap_bundle`).
A draft mapping is never written over a mapping already there (:func:`write_redcap_draft`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from skintrial.errors import InputError, Problem
from skintrial.study._redcap_import import RedcapImport

__all__ = ["MAPPING_FILE", "write_redcap_bundle", "write_redcap_draft"]

MAPPING_FILE = "redcap_mapping.toml"
"""The mapping's name in the bundle folder: the draft is written there, and a bundle keeps there the
mapping it was built with."""
_MARK = ".skintrial-import.json"
_BY = "skintrial import redcap"
_TABLE_SUFFIXES = (".csv", ".tsv", ".xlsx", ".parquet", ".sav", ".zsav", ".dta")


def _marked(out: Path) -> dict[str, str]:
    """The files an earlier import wrote into ``out`` and their SHA-256 (empty without a mark)."""
    try:
        mark = json.loads((out / _MARK).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(mark, dict) or mark.get("written_by") != _BY or not isinstance(mark.get("files"), dict):
        return {}
    return {str(k): str(v) for k, v in mark["files"].items()}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _replace_problems(out: Path, names: Iterable[str]) -> list[Problem]:
    """Files of ``out`` an import may not replace: those an earlier import did not write, or that were
    changed since; and tables of another format that would make a second table of a name."""
    marked = _marked(out)
    problems = []
    for name in names:
        path = out / name
        if not (path.exists() or path.is_symlink()):
            continue
        if path.is_file() and not path.is_symlink() and marked.get(name) == _sha(path.read_bytes()):
            continue
        problems.append(
            Problem(
                f"{name} is already in the bundle folder and was not written by an earlier import (or was "
                "changed since); it is not replaced",
                file=str(path),
                column="--out",
                fix="choose another --out, or move the file away",
            )
        )
    for stem in ("participants", "measurements"):
        for suffix in _TABLE_SUFFIXES:
            path = out / f"{stem}{suffix}"
            if suffix != ".csv" and path.exists():
                problems.append(
                    Problem(
                        f"the bundle folder already holds {path.name}; with the imported {stem}.csv it would "
                        f"have two {stem} tables",
                        file=str(path),
                        column="--out",
                        fix="choose another --out, or move the file away",
                    )
                )
    return problems


def write_redcap_bundle(
    imported: RedcapImport, out: Path | str, *, mapping: Path | str, inputs: Iterable[Path | str] = ()
) -> list[Path]:
    """Write the bundle into ``out``: ``study.toml``, ``participants.csv``, ``measurements.csv`` and
    the mapping used (``redcap_mapping.toml``, unless ``mapping`` is that file), all or none.

    Files an earlier import wrote are replaced; any other file of those names (a bundle of your own) is
    refused (:class:`InputError`, nothing written). Returns the paths written.
    """
    from skintrial._io import csv_bytes, same_file, write_files

    out = Path(out)
    files: dict[str, bytes] = {
        "study.toml": imported.study_toml.encode("utf-8"),
        "participants.csv": csv_bytes(imported.participants),
        "measurements.csv": csv_bytes(imported.measurements),
    }
    if not same_file(out / MAPPING_FILE, Path(mapping)):
        files[MAPPING_FILE] = imported.mapping_text.encode("utf-8")
    InputError.collect(_replace_problems(out, files))
    mark = {"written_by": _BY, "files": {name: _sha(data) for name, data in files.items()}}
    files[_MARK] = (json.dumps(mark, indent=1, sort_keys=True) + "\n").encode("utf-8")
    inputs = [Path(p) for p in inputs] + [Path(mapping)]
    return write_files({out / name: data for name, data in files.items()}, inputs=inputs)


def write_redcap_draft(draft: str, out: Path | str, *, inputs: Iterable[Path | str] = ()) -> Path:
    """Write a draft mapping to ``out/redcap_mapping.toml``; a mapping already there is never replaced."""
    from skintrial._io import write_text

    path = Path(out) / MAPPING_FILE
    if path.exists() or path.is_symlink():
        raise InputError(
            Problem(
                "a mapping is already there; a draft would replace it",
                file=str(path),
                column="--mapping",
                fix=f"pass it with --mapping {path}, or move it away to have a new draft written",
            )
        )
    return write_text(draft, path, inputs=[Path(p) for p in inputs])
