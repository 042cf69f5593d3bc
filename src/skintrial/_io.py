"""Writing outputs so that nothing is ever half-written, and hashing inputs for provenance."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pandas as pd

from skintrial.errors import InputError, Problem

__all__ = ["atomic_output_dir", "check_output_dir", "check_replaceable", "sha256_file", "write_csv"]


def check_output_dir(out: Path) -> None:
    """Refuse an output path that is an existing file (before any work is done)."""
    if Path(out).exists() and not Path(out).is_dir():
        raise InputError(Problem("the output path is an existing file, not a folder", file=str(out),
                                 fix="give a folder path for --out"))


def _at_or_under(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_replaceable(out: Path, names: Iterable[str], *, protect: Iterable[Path] = (),
                      owned: Callable[[Path], bool] | None = None) -> None:
    """Refuse, before anything is removed, to replace ``out/NAME`` for any of ``names`` when that would
    destroy something that is not an earlier output.

    * A path of ``protect`` (the input folder and files) that is, or lies inside, ``out/NAME`` is never
      replaced: an :class:`InputError` names it and asks for another ``--out``.
    * When ``owned`` is given, existing entries ``out/NAME`` are replaced only if ``owned(out)`` says
      the folder holds outputs of an earlier run (e.g. its ``provenance.json`` was written by
      skintrial); otherwise they may be the user's own files, and the error names them.
    """
    out = Path(out)
    names = list(dict.fromkeys(names))
    targets = [out.resolve() / n for n in names]
    problems: list[Problem] = []
    hits = []
    for p in protect:
        pr = Path(p).resolve()
        hit = next((t for t in targets if _at_or_under(pr, t) or _at_or_under(pr, t.resolve())), None)
        if hit is not None:
            hits.append((p, pr, hit))
    if hits:  # the first is the study folder when that is hit; its files then follow
        p, pr, hit = hits[0]
        more = f" (and {len(hits) - 1} more of the study's files)" if len(hits) > 1 else ""
        beside = f" (e.g. --out {pr.parent / (pr.name + '-out')})" if pr.is_dir() else ""
        problems.append(Problem(
            f"the {'input folder' if pr.is_dir() else 'input file'} {p} is, or lies inside, {hit}{more}, which the "
            "run replaces with its own output (it would be deleted)", file=str(p), column="--out",
            fix=f"choose another --out, a folder that does not contain the study's files{beside}, "
                f"or move the study out of {out}"))
    if owned is not None and not problems:
        existing = [n for n, t in zip(names, targets, strict=True) if t.exists() or t.is_symlink()]
        if existing and not owned(out):
            problems.append(Problem(
                f"the output folder already holds {existing}, which skintrial did not write (there is no "
                "provenance.json of an earlier skintrial run beside them); a run would replace them",
                file=str(out), column="--out",
                fix="choose another --out (a new or empty folder), or move those entries away first"))
    InputError.collect(problems)


@contextlib.contextmanager
def atomic_output_dir(out: Path, *, managed: tuple[str, ...] = (), protect: Iterable[Path] = (),
                      owned: Callable[[Path], bool] | None = None) -> Iterator[Path]:
    """Yield a private staging folder; on success its top-level entries replace those in ``out``.

    If the block raises, the staging folder is deleted and ``out`` is left exactly as it was (it is
    not even created). Each top-level entry of the stage replaces the entry of that name in ``out``
    whole (a ``results/`` folder from an earlier run is swapped out, not merged); entries named in
    ``managed`` that this run did not produce are removed, so no result of an earlier run survives
    beside the new ones. Anything else in ``out`` (e.g. the demo's ``study/``) is left alone.

    Before anything in ``out`` is touched, :func:`check_replaceable` runs with ``protect`` and
    ``owned``: an input that would be replaced, or existing entries that are not earlier outputs,
    raise :class:`InputError` and leave ``out`` as it was. A symbolic link in ``out`` is replaced
    as a link (its target is never deleted).
    """
    out = Path(out)
    protect = list(protect)
    check_output_dir(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        yield stage
        produced = {e.name for e in stage.iterdir()}
        names = sorted(produced | set(managed))
        check_replaceable(out, names, protect=protect, owned=owned)
        out.mkdir(parents=True, exist_ok=True)
        for name in names:
            target = out / name
            if target.is_symlink() or (target.exists() and not target.is_dir()):
                target.unlink()
            elif target.is_dir():
                shutil.rmtree(target)
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
