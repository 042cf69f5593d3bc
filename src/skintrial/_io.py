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

__all__ = ["atomic_output_dir", "sha256_file", "write_csv"]


@contextlib.contextmanager
def atomic_output_dir(out: Path) -> Iterator[Path]:
    """Yield a private staging folder; on success its contents are moved into ``out``.

    If the block raises, the staging folder is deleted and ``out`` is left exactly as it was (it is
    not even created). Files already in ``out`` with the same names are replaced; others are kept.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        yield stage
        out.mkdir(parents=True, exist_ok=True)
        for entry in sorted(stage.rglob("*")):
            target = out / entry.relative_to(stage)
            if entry.is_dir():
                target.mkdir(parents=True, exist_ok=True)
            else:
                os.replace(entry, target)
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
