"""Writing outputs so that nothing is ever half-written, and hashing inputs for provenance."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from skintrial.errors import InputError, Problem

__all__ = ["atomic_output_dir", "check_output_dir", "sha256_file", "write_csv"]


def check_output_dir(out: Path) -> None:
    """Refuse an output path that is an existing file (before any work is done)."""
    if Path(out).exists() and not Path(out).is_dir():
        raise InputError(Problem("the output path is an existing file, not a folder", file=str(out),
                                 fix="give a folder path for --out"))


@contextlib.contextmanager
def atomic_output_dir(out: Path, *, managed: tuple[str, ...] = ()) -> Iterator[Path]:
    """Yield a private staging folder; on success its top-level entries replace those in ``out``.

    If the block raises, the staging folder is deleted and ``out`` is left exactly as it was (it is
    not even created). Each top-level entry of the stage replaces the entry of that name in ``out``
    whole (a ``results/`` folder from an earlier run is swapped out, not merged); entries named in
    ``managed`` that this run did not produce are removed, so no result of an earlier run survives
    beside the new ones. Anything else in ``out`` (e.g. the demo's ``study/``) is left alone.
    """
    out = Path(out)
    check_output_dir(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        yield stage
        out.mkdir(parents=True, exist_ok=True)
        produced = {e.name for e in stage.iterdir()}
        for name in sorted(produced | set(managed)):
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            if name in produced:
                os.replace(stage / name, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write a result table: UTF-8, ``\\n`` line ends, no index, full float precision."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, lineterminator="\n")
    return path
