"""Output folders written whole or not at all: :func:`atomic_output_dir`."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from skintrial._io._files import is_no_space, no_space, no_space_problem, same_file
from skintrial._io._guard import NO_PROVENANCE, check_replaceable
from skintrial._io._journal import STAGE_PREFIX, WORK, fsync_tree, publish, remove_entry
from skintrial._io._lock import OutputLock, output_lock
from skintrial.errors import InputError, Problem

__all__ = ["atomic_output_dir"]


def _shown(filename: object, stage: Path, out: Path) -> Path:
    """A staged file named by where it will be: ``OUT/results/x.csv``, not the staging path."""
    if not isinstance(filename, str | os.PathLike):
        return out
    path = Path(os.fspath(filename))
    try:
        return out / path.relative_to(stage)
    except ValueError:
        return path


def _public(problem: Problem, stage: Path, out: Path) -> Problem:
    def say(text: str | None) -> str | None:
        return None if text is None else text.replace(str(stage), str(out))

    return dataclasses.replace(
        problem, message=say(problem.message) or "", file=say(problem.file), fix=say(problem.fix) or ""
    )


@contextlib.contextmanager
def atomic_output_dir(
    out: Path,
    *,
    managed: tuple[str, ...] = (),
    protect: Iterable[Path] = (),
    owned: Callable[[Path], bool] | None = None,
    unowned: str = NO_PROVENANCE,
    lock: OutputLock | None = None,
) -> Iterator[Path]:
    """Yield a private staging folder; on success its top-level entries replace those in ``out``.

    The staging folder is ``out/.skintrial/stage-<id>/``, on ``out``'s own filesystem. When the block
    ends, each top-level entry of the stage replaces the entry of that name in ``out`` whole (a
    ``results/`` folder from an earlier run is swapped out, not merged); entries named in ``managed``
    that this run did not produce are removed, so no result of an earlier run survives beside the new
    ones. Anything else in ``out`` (the user's files, the demo's ``study/``) is left alone.

    All or nothing, whatever happens:

    * If the block raises, the stage is deleted and ``out`` is left as it was (a folder that the call
      created is removed again). A full disk while writing raises :class:`InputError` naming the file.
    * The replacement is a journalled swap (:mod:`skintrial._io._journal`): if the process is killed
      at any instant, ``out`` holds the previous outputs or the new ones, complete, once the next
      command that writes ``out`` has started (it finishes or rolls back the swap first).
    * One run at a time: the call holds ``out``'s lock (:func:`skintrial._io.output_lock`), or
      runs under ``lock`` when the caller already holds it; a second run is refused naming the first.

    Before anything in ``out`` is touched, :func:`check_replaceable` runs with ``protect``, ``owned``
    and ``unowned``: an input that would be replaced, or existing entries that are not earlier outputs,
    raise :class:`InputError` and leave ``out`` as it was. A symbolic link in ``out`` is replaced
    as a link (its target is never deleted).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "out"
    >>> with atomic_output_dir(out) as stage:
    ...     _ = (stage / "report.html").write_text("<p>new</p>")
    >>> sorted(p.name for p in out.iterdir())
    ['report.html']
    """
    out = Path(out)
    protect = list(protect)
    with contextlib.ExitStack() as held:
        if lock is None:
            lock = held.enter_context(output_lock(out))
        elif not same_file(lock.out, out):
            raise ValueError(f"the lock held is {lock.out}'s, not {out}'s")
        with no_space(out):
            stage = Path(tempfile.mkdtemp(prefix=STAGE_PREFIX, dir=out / WORK))
        try:
            try:
                yield stage
                fsync_tree(stage)
            except OSError as exc:
                if not is_no_space(exc):
                    raise
                raise InputError(no_space_problem(_shown(exc.filename, stage, out), exc)) from None
            except InputError as exc:  # a file named by where it will be, not by the staging path
                raise InputError([_public(p, stage, out) for p in exc.problems]) from None
            produced = {e.name for e in os.scandir(stage)}
            names = sorted(produced | set(managed))
            if WORK in names:
                raise ValueError(f"{WORK} is skintrial's own folder in an output folder, not an output")
            check_replaceable(out, names, protect=protect, owned=owned, unowned=unowned)
            with no_space(out):
                publish(out, stage, names, produced)
        finally:
            with contextlib.suppress(OSError):
                remove_entry(stage)
