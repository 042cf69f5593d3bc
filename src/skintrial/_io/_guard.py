"""What an output folder may replace: never an input, and only entries an earlier run wrote.

Checked before anything is removed (:func:`check_replaceable`), by the command before its work starts
and again by :func:`skintrial._io.atomic_output_dir` just before it publishes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from skintrial.errors import InputError, Problem

__all__ = ["NO_PROVENANCE", "check_output_dir", "check_replaceable", "replace_problems"]

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
