"""Publishing a run into its output folder: a journalled swap that a kill at any moment cannot mix.

An output folder ``OUT`` is the user's: it may hold their own files beside skintrial's outputs
(``report.html``, ``results/``, ``provenance.json``), which must stay real files and folders at those
paths. So a run cannot publish by one rename; it replaces several entries, and does it with a journal
kept in ``OUT/.skintrial/`` (:data:`WORK`, on OUT's own filesystem, never in ``/tmp``):

``stage-<id>/``
    The new outputs, written whole (and flushed to disk) before anything in ``OUT`` is touched.
``old-<id>/``
    Where each previous output is moved aside during the swap.
``journal.json``
    Written (atomically) before the first move: each entry's name, where its new version is staged
    and where its old one goes; rewritten with ``"committed": true`` once every new entry is in
    place. That rewrite is the commit point.

The swap moves, per entry, ``OUT/NAME`` to ``old-<id>/NAME`` and then ``stage-<id>/NAME`` to
``OUT/NAME``: renames on one filesystem, each atomic. Nothing previous is deleted before the commit.
:func:`recover` runs at the start of the next command that writes ``OUT`` (under its lock): an
uncommitted journal is rolled back (every new entry back to the stage, every old one back in place:
the previous run, complete), a committed one is finished (the old entries deleted: the new run,
complete), and staging folders of killed runs are removed. Each step of both is idempotent, so a kill
during recovery is recovered the same way. Whatever instant a run is killed at, ``OUT`` therefore
holds the previous complete run or the new complete run once the next command has started; in
between, entries may be mid-swap (a reader looking then can see some of each).

Across filesystems: ``OUT/.skintrial`` is created inside ``OUT``, so its renames never cross devices;
should one still raise ``EXDEV`` (``.skintrial`` a mount point), the moves done are rolled back and
the new entries are copied next to their targets (``OUT/.NAME.skintrial-new-<id>``, same folder, same
filesystem) and the swap runs again from there, the old ones moved aside beside them
(``OUT/.NAME.skintrial-old-<id>``).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from skintrial._io._files import fsync_dir, write_text
from skintrial.errors import InputError, Problem

__all__ = ["WORK", "JOURNAL", "STAGE_PREFIX", "publish", "recover", "fsync_tree", "remove_entry"]

WORK = ".skintrial"
"""The folder inside an output folder that holds the lock, the journal and the staging of a run."""
JOURNAL = "journal.json"
STAGE_PREFIX = "stage-"
ASIDE_PREFIX = "old-"
_BESIDE_NEW = re.compile(r"^\..+\.skintrial-new-[0-9a-z_]+$")
_JOURNAL_TEMP = re.compile(r"^\." + re.escape(JOURNAL) + r"\.skintrial-.*\.part$")


@dataclass(frozen=True)
class _Entry:
    name: str  # the entry of OUT
    new: str | None  # where its new version is staged, relative to OUT (None: removed, not replaced)
    old: str  # where its previous version is moved aside, relative to OUT


@dataclass(frozen=True)
class _Swap:
    stage: str  # the staging folder, relative to OUT (removed at the end)
    aside: str | None  # the folder the old entries go to (None when they go beside their targets)
    entries: tuple[_Entry, ...]
    committed: bool = False

    def as_json(self) -> str:
        return json.dumps(
            {
                "version": 1,
                "committed": self.committed,
                "stage": self.stage,
                "aside": self.aside,
                "entries": [e.__dict__ for e in self.entries],
            },
            indent=1,
        )


def _rel(path: Path, out: Path) -> str:
    return path.relative_to(out).as_posix()


def _lexists(path: Path) -> bool:
    return os.path.lexists(path)


def remove_entry(path: Path) -> None:
    """Delete a file, a link (never its target) or a folder tree; nothing when it is not there."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def fsync_tree(folder: Path) -> None:
    """Flush every file and folder under ``folder`` to disk (links are not followed)."""
    for root, _dirs, files in os.walk(folder):
        for name in files:
            p = os.path.join(root, name)
            if os.path.islink(p):
                continue
            fd = os.open(p, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(root))


def _move(src: Path, dst: Path) -> None:
    os.replace(src, dst)


def _journal_path(out: Path) -> Path:
    return out / WORK / JOURNAL


def _write_journal(out: Path, swap: _Swap) -> None:
    write_text(swap.as_json() + "\n", _journal_path(out))


def _bad_journal(out: Path, why: str) -> InputError:
    return InputError(
        Problem(
            f"{_journal_path(out)} cannot be used to finish an interrupted run ({why})",
            file=str(_journal_path(out)),
            fix=f"check {out / WORK} by hand: its stage-*/ and old-*/ folders hold the new and the previous "
            "outputs of that run; put back what you want to keep, then delete the journal",
        )
    )


def _inside(rel: object) -> bool:
    if not isinstance(rel, str) or not rel:
        return False
    p = PurePosixPath(rel)
    return not p.is_absolute() and ".." not in p.parts and "\\" not in rel and "\0" not in rel


def _read_journal(out: Path) -> _Swap | None:
    path = _journal_path(out)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise _bad_journal(out, f"unreadable: {exc}") from None
    try:
        entries = tuple(_Entry(str(e["name"]), e["new"], str(e["old"])) for e in raw["entries"])
        swap = _Swap(raw["stage"], raw["aside"], entries, bool(raw["committed"]))
    except (KeyError, TypeError, AttributeError):
        raise _bad_journal(out, "not a journal skintrial wrote") from None
    paths = [swap.stage, *(e.old for e in entries), *(e.new for e in entries if e.new is not None)]
    names_ok = all(_inside(e.name) and "/" not in e.name for e in entries)
    if not (names_ok and all(_inside(p) for p in paths) and (swap.aside is None or _inside(swap.aside))):
        raise _bad_journal(out, "it names paths outside the output folder")
    return swap


def _plan(out: Path, stage: Path, names: list[str], produced: set[str]) -> _Swap:
    """The swap from ``stage`` with the old entries going to ``.skintrial/old-<id>/``."""
    token = stage.name.removeprefix(STAGE_PREFIX)
    aside = out / WORK / f"{ASIDE_PREFIX}{token}"
    aside.mkdir()
    entries = tuple(
        _Entry(n, _rel(stage / n, out) if n in produced else None, _rel(aside / n, out)) for n in names
    )
    return _Swap(_rel(stage, out), _rel(aside, out), entries)


def _copy(src: Path, dst: Path) -> None:
    if src.is_symlink():
        os.symlink(os.readlink(src), dst)
    elif src.is_dir():
        shutil.copytree(src, dst, symlinks=True)
        fsync_tree(dst)
    else:
        shutil.copy2(src, dst)
        _fsync_file(dst)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _plan_beside(out: Path, stage: Path, names: list[str], produced: set[str]) -> _Swap:
    """The swap with each new entry first copied next to its target (the ``EXDEV`` fallback)."""
    token = stage.name.removeprefix(STAGE_PREFIX)
    copies = []
    try:
        for n in names:
            if n in produced:
                dst = out / f".{n}.skintrial-new-{token}"
                copies.append(dst)
                _copy(stage / n, dst)
    except BaseException:
        for c in copies:
            with contextlib.suppress(OSError):
                remove_entry(c)
        raise
    fsync_dir(out)
    entries = tuple(
        _Entry(
            n,
            f".{n}.skintrial-new-{token}" if n in produced else None,
            f".{n}.skintrial-old-{token}",
        )
        for n in names
    )
    return _Swap(_rel(stage, out), None, entries)


def _swap(out: Path, swap: _Swap) -> None:
    """Journal, then per entry: the old one aside, the new one in."""
    _write_journal(out, swap)
    for e in swap.entries:
        target = out / e.name
        if _lexists(target):
            _move(target, out / e.old)
        if e.new is not None:
            _move(out / e.new, target)
    fsync_dir(out)
    if swap.aside is not None:
        fsync_dir(out / swap.aside)


def _roll_back(out: Path, swap: _Swap) -> None:
    """Put every previous entry back and every new one back where it was staged; drop the journal."""
    for e in reversed(swap.entries):
        target, old = out / e.name, out / e.old
        if e.new is not None and not _lexists(out / e.new) and _lexists(target):
            _move(target, out / e.new)  # it had been moved in
        if _lexists(old):
            if _lexists(target):
                raise _bad_journal(out, f"both {target} and its previous version {old} exist")
            _move(old, target)
    fsync_dir(out)
    _journal_path(out).unlink(missing_ok=True)
    fsync_dir(out / WORK)


def _finish(out: Path, swap: _Swap) -> None:
    """After the commit: delete the previous entries and the staging; drop the journal."""
    for e in swap.entries:
        remove_entry(out / e.old)
        if e.new is not None and _lexists(out / e.new):
            remove_entry(out / e.new)
    remove_entry(out / swap.stage)
    if swap.aside is not None:
        remove_entry(out / swap.aside)
    _journal_path(out).unlink(missing_ok=True)
    fsync_dir(out / WORK)


def _swap_or_undo(out: Path, swap: _Swap) -> None:
    try:
        _swap(out, swap)
    except BaseException:
        _roll_back(out, swap)
        raise


def publish(out: Path, stage: Path, names: list[str], produced: set[str]) -> None:
    """Replace ``OUT/NAME`` for each of ``names`` with ``stage/NAME`` (removed where ``NAME`` is not in
    ``produced``), all or nothing, as the module docstring describes. The caller holds OUT's lock."""
    out = Path(out)
    swap = _plan(out, stage, names, produced)
    try:
        try:
            _swap_or_undo(out, swap)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            _rmdir(out, swap)
            swap = _plan_beside(out, stage, names, produced)
            _swap_or_undo(out, swap)
        done = _Swap(swap.stage, swap.aside, swap.entries, committed=True)
        try:
            _write_journal(out, done)  # the commit point
        except BaseException:
            _roll_back(out, swap)
            raise
    except BaseException:
        _rmdir(out, swap)  # rolled back: the folder for the old entries is empty again
        raise
    with contextlib.suppress(OSError):  # committed: what cannot be deleted now, the next start deletes
        _finish(out, done)


def _rmdir(out: Path, swap: _Swap) -> None:
    if swap.aside is not None:
        with contextlib.suppress(OSError):
            (out / swap.aside).rmdir()


def recover(out: Path) -> None:
    """Finish or roll back a publication that a killed run left in ``out``, and remove what killed runs
    staged (``.skintrial/stage-*``, copies beside targets, and ``.OUT.partial-*`` folders that earlier
    versions of skintrial staged next to ``out``). The caller holds ``out``'s lock."""
    out = Path(out)
    work = out / WORK
    swap = _read_journal(out)
    if swap is not None:
        (_finish if swap.committed else _roll_back)(out, swap)
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(work):
            path = Path(entry.path)
            if entry.name.startswith(STAGE_PREFIX) or _JOURNAL_TEMP.match(entry.name):
                remove_entry(path)
            elif entry.name.startswith(ASIDE_PREFIX):
                with contextlib.suppress(OSError):
                    path.rmdir()  # empty once rolled back; never delete a previous output
    for entry in os.scandir(out):
        if _BESIDE_NEW.match(entry.name):
            remove_entry(Path(entry.path))
    real = out.resolve()
    with contextlib.suppress(OSError):
        for entry in os.scandir(real.parent):
            if entry.name.startswith(f".{real.name}.partial-") and entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
