"""Writing outputs so that nothing is ever half-written, and hashing inputs for provenance."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pandas as pd

from skintrial.errors import InputError, Problem

__all__ = [
    "atomic_output_dir",
    "check_output_dir",
    "check_replaceable",
    "replace_problems",
    "mark_written",
    "changes_since_marked",
    "sha256_file",
    "write_csv",
]

MARK_FILE = ".skintrial-written.json"
"""The file in which :func:`mark_written` records who wrote a folder and the hash of each of its files."""

NO_PROVENANCE = "there is no provenance.json of an earlier skintrial run beside them"


def check_output_dir(out: Path) -> None:
    """Refuse an output path that is an existing file (before any work is done)."""
    if Path(out).exists() and not Path(out).is_dir():
        raise InputError(
            Problem(
                "the output path is an existing file, not a folder",
                file=str(out),
                fix="give a folder path for --out",
            )
        )


def _at_or_under(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_replaceable(
    out: Path,
    names: Iterable[str],
    *,
    protect: Iterable[Path] = (),
    owned: Callable[[Path], bool] | None = None,
    unowned: str = NO_PROVENANCE,
) -> None:
    """Refuse, before anything is removed, to replace ``out/NAME`` for any of ``names`` when that would
    destroy something that is not an earlier output: :func:`replace_problems`, raised as one
    :class:`InputError`."""
    InputError.collect(replace_problems(out, names, protect=protect, owned=owned, unowned=unowned))


def replace_problems(
    out: Path,
    names: Iterable[str],
    *,
    protect: Iterable[Path] = (),
    owned: Callable[[Path], bool] | None = None,
    unowned: str = NO_PROVENANCE,
) -> list[Problem]:
    """What replacing ``out/NAME`` for each of ``names`` would destroy that is not an earlier output.

    * A path of ``protect`` (the input folder and files) that is, or lies inside, ``out/NAME`` is never
      replaced: a problem names it and asks for another ``--out``.
    * When ``owned`` is given, existing entries ``out/NAME`` are replaced only if ``owned(out)`` says
      the folder holds outputs of an earlier run (e.g. its ``provenance.json`` was written by
      skintrial); otherwise they may be the user's own files, and the problem names them, saying why
      they are not taken for outputs (``unowned``).
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
        problems.append(
            Problem(
                f"the {'input folder' if pr.is_dir() else 'input file'} {p} is, or lies inside, {hit}{more}, which the "
                "run replaces with its own output (it would be deleted)",
                file=str(p),
                column="--out",
                fix=f"choose another --out, a folder that does not contain the study's files{beside}, "
                f"or move the study out of {out}",
            )
        )
    if owned is not None and not problems:
        existing = [n for n, t in zip(names, targets, strict=True) if t.exists() or t.is_symlink()]
        if existing and not owned(out):
            problems.append(
                Problem(
                    f"the output folder already holds {existing}, which skintrial did not write ({unowned}); "
                    "this command would replace them",
                    file=str(out),
                    column="--out",
                    fix="choose another --out (a new or empty folder), or move those entries away first",
                )
            )
    return problems


def _file_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` by its relative POSIX path (a link counts by its target
    text, never followed), the mark itself left out."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if rel == MARK_FILE:
            continue
        if p.is_symlink():
            out[rel] = "link:" + os.readlink(p)
        elif p.is_file():
            out[rel] = sha256_file(p)
    return out


def mark_written(folder: Path, *, by: str) -> Path:
    """Record in ``folder``/:data:`MARK_FILE` that ``by`` wrote the folder, with the hash of each file.

    :func:`changes_since_marked` later tells whether the folder still holds exactly that (so that
    replacing it destroys nothing of anyone else's). The mark is deterministic: the same files give
    the same mark.
    """
    folder = Path(folder)
    mark = {"written_by": by, "files": _file_hashes(folder)}
    (folder / MARK_FILE).write_text(json.dumps(mark, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return folder


def changes_since_marked(folder: Path, *, by: str) -> str | None:
    """``None`` when ``folder`` holds only what ``by`` wrote into it (:func:`mark_written`), unchanged;
    otherwise why it does not, in words (no mark, a changed or added file). Files that were removed
    since do not count: replacing the folder loses nothing of them.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.txt").write_text("x")
    >>> changes_since_marked(d, by="me")
    'it carries no mark of me'
    >>> _ = mark_written(d, by="me")
    >>> changes_since_marked(d, by="me") is None
    True
    >>> _ = (d / "a.txt").write_text("y")
    >>> changes_since_marked(d, by="me")
    'changed since me wrote it: a.txt'
    """
    folder = Path(folder)
    if folder.is_symlink() or not folder.is_dir():
        return f"it is {'a link' if folder.is_symlink() else 'not a folder'}, not a folder that {by} wrote"
    try:
        mark = json.loads((folder / MARK_FILE).read_text(encoding="utf-8"))
        recorded = dict(mark["files"]) if mark.get("written_by") == by else None
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError, AttributeError):
        recorded = None
    if recorded is None:
        return f"it carries no mark of {by}"
    now = _file_hashes(folder)
    changed = [f for f, h in now.items() if recorded.get(f) != h]
    if not changed:
        return None
    shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
    return f"changed since {by} wrote it: {shown}"


@contextlib.contextmanager
def atomic_output_dir(
    out: Path,
    *,
    managed: tuple[str, ...] = (),
    protect: Iterable[Path] = (),
    owned: Callable[[Path], bool] | None = None,
    unowned: str = NO_PROVENANCE,
) -> Iterator[Path]:
    """Yield a private staging folder; on success its top-level entries replace those in ``out``.

    If the block raises, the staging folder is deleted and ``out`` is left exactly as it was (it is
    not even created). Each top-level entry of the stage replaces the entry of that name in ``out``
    whole (a ``results/`` folder from an earlier run is swapped out, not merged); entries named in
    ``managed`` that this run did not produce are removed, so no result of an earlier run survives
    beside the new ones. Anything else in ``out`` (e.g. the demo's ``study/``) is left alone.

    Before anything in ``out`` is touched, :func:`check_replaceable` runs with ``protect``, ``owned``
    and ``unowned``: an input that would be replaced, or existing entries that are not earlier outputs,
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
        check_replaceable(out, names, protect=protect, owned=owned, unowned=unowned)
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
