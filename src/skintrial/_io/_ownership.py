"""Who owns what in an output folder: marks of written folders, earlier runs' outputs, the demo's study.

A run replaces only what skintrial wrote: the :data:`OUTPUTS` of an earlier run (its
``provenance.json`` says skintrial wrote it, :func:`is_run_output`), and the demo's ``study/`` while it
holds exactly what an earlier demo wrote (:func:`mark_written`, :func:`changes_since_marked`). The
inputs an earlier run recorded (:func:`recorded_inputs`) are never replaced.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from skintrial._io._files import sha256_file, write_text
from skintrial._io._guard import replace_problems
from skintrial._io._lock import OutputLock
from skintrial._io._publish import atomic_output_dir
from skintrial.errors import Problem

__all__ = [
    "MARK_FILE",
    "mark_written",
    "changes_since_marked",
    "OUTPUTS",
    "is_run_output",
    "recorded_inputs",
    "DEMO_STUDY",
    "demo_problems",
    "write_demo_study",
]

MARK_FILE = ".skintrial-written.json"
"""The file in which :func:`mark_written` records who wrote a folder and the hash of each of its files."""

OUTPUTS = ("results", "overlays", "figures", "report.html", "report.docx", "report.pdf", "provenance.json")
"""What a run writes into its output folder; a new run replaces all of them, but only where the folder
already holds an earlier run's outputs (:func:`is_run_output`)."""


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
    write_text(json.dumps(mark, indent=1, sort_keys=True) + "\n", folder / MARK_FILE)
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


def is_run_output(out: Path) -> bool:
    """Whether ``out`` holds the outputs of an earlier run: its ``provenance.json`` was written by skintrial.

    Only then may a new run replace the :data:`OUTPUTS` entries found there; a ``results/`` folder or a
    ``report.html`` without it may be the user's own (or their study bundle) and is never deleted.
    """
    prov = _provenance_of(out)
    if prov is None:
        return False
    return prov.get("written_by") == "skintrial" or {"skintrial_version", "analysis_plan", "inputs"} <= set(
        prov
    )


def _provenance_of(out: Path) -> dict | None:
    try:
        prov = json.loads((Path(out) / "provenance.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return prov if isinstance(prov, dict) else None


def recorded_inputs(out: Path) -> list[Path]:
    """The study folder and the input files that the run recorded in ``out/provenance.json`` read
    (``study_dir`` and ``inputs``); none when there is no such record (or it predates ``study_dir``)."""
    prov = _provenance_of(out)
    if prov is None or not is_run_output(out) or not isinstance(prov.get("study_dir"), str):
        return []
    root = Path(prov["study_dir"])
    inputs = prov.get("inputs")
    return [root, *(root / name for name in (inputs if isinstance(inputs, dict) else {}))]


DEMO_STUDY = "study"
"""The folder of ``demo``'s output folder that holds its synthetic study bundle."""

_DEMO = "skintrial demo"


def _demo_study_changes(out: Path) -> str | None:
    """Why ``out/study`` is not the demo's to replace (``None`` when it is absent, or holds exactly the
    files an earlier demo wrote)."""
    folder = Path(out) / DEMO_STUDY
    if not (folder.exists() or folder.is_symlink()):
        return None
    why = changes_since_marked(folder, by=_DEMO)
    if why is not None and any(p.resolve() == folder.resolve() for p in recorded_inputs(out)[:1]):
        why += "; it is the study that the run recorded in provenance.json analysed"
    return why


def demo_problems(out: Path) -> list[Problem]:
    """What ``skintrial demo --out OUT`` must not replace: an ``OUT/study`` that is not exactly the one
    an earlier demo wrote (it is the user's, or the user changed it), outputs that no skintrial run
    wrote, and any input file that the run recorded in ``OUT/provenance.json`` read."""
    why = _demo_study_changes(out)
    study = replace_problems(out, (DEMO_STUDY,), owned=lambda _: why is None, unowned=why or "")
    outputs = replace_problems(out, OUTPUTS, protect=recorded_inputs(out), owned=is_run_output)
    return [*study, *outputs]


def write_demo_study(write: Callable[[Path], object], out: Path, *, lock: OutputLock | None = None) -> Path:
    """``write(folder)`` the demo's study bundle and put it in place as ``out/study``, marked as the
    demo's (:func:`mark_written`) so that a later demo may replace it, and no other ``out/study`` ever
    is; written whole or not at all (under ``lock`` when the caller holds ``out``'s lock)."""

    def owned(o: Path) -> bool:
        return _demo_study_changes(o) is None

    with atomic_output_dir(
        out,
        managed=(DEMO_STUDY,),
        owned=owned,
        unowned=f"{DEMO_STUDY}/ changed while the demo ran",
        lock=lock,
    ) as stage:
        write(stage / DEMO_STUDY)
        mark_written(stage / DEMO_STUDY, by=_DEMO)
    return Path(out) / DEMO_STUDY
