"""One run at a time per output folder: an operating-system lock on ``OUT/.skintrial/lock``.

The lock is ``flock(LOCK_EX | LOCK_NB)`` on an open file: the kernel holds it for the process and
drops it the moment the process ends, however it ends (``kill -9`` included), so a killed run never
leaves a lock that blocks the next one. A second run into the same folder is refused at once (exit 2)
with the pid, host, start time and command of the run that holds it, read from the lock file.

Taking the lock also recovers what a killed run left (:func:`skintrial._io._journal.recover`). When
the run ends, the lock file and ``.skintrial/`` are removed again if nothing else is left there (the
file is unlinked while still locked, and a run that locks it checks afterwards that the path still
names the file it locked, so no two runs ever hold the lock at once), and so is the output folder
itself if the run created it and wrote nothing into it.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from skintrial._io._files import no_space
from skintrial._io._guard import check_output_dir
from skintrial._io._journal import WORK, recover
from skintrial.errors import InputError, Problem

try:  # POSIX; on a platform without flock the lock is not taken (one run at a time is then the user's)
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK", "OutputLock", "output_lock"]

LOCK = "lock"


@dataclass(frozen=True)
class OutputLock:
    """The held lock of an output folder: pass it to :func:`skintrial._io.atomic_output_dir` to publish
    several times (the demo's study, then its run) under one lock."""

    out: Path
    fd: int


def _work(out: Path) -> Path:
    work = out / WORK
    if work.is_symlink() or (work.exists() and not work.is_dir()):
        raise InputError(
            Problem(
                f"{work} is {'a link' if work.is_symlink() else 'a file'}; skintrial keeps the lock and the "
                "staging of a run in that folder",
                file=str(work),
                fix=f"remove or rename {work}, or choose another --out",
            )
        )
    work.mkdir(exist_ok=True)
    return work


def _holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        info = json.loads(os.read(fd, 1 << 16).decode("utf-8"))
        return f"{info['command']} (pid {info['pid']} on {info['host']}, started {info['started_utc']})"
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
        return "a run that has not recorded itself yet"


def _acquire(out: Path, command: str) -> int:
    for _ in range(50):  # another run may remove the lock file (or .skintrial/) as we open it: retry
        work = _work(out)
        path = work / LOCK
        try:
            flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
            fd = os.open(path, flags, 0o644)
        except FileNotFoundError:
            continue
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise InputError(
                        Problem(
                            f"another skintrial run is writing to this folder: {_holder(fd)}",
                            file=str(out),
                            column="--out",
                            fix="wait until it has finished, or choose another --out (the lock belongs to that "
                            "process and is freed the moment it ends, even when it is killed)",
                        )
                    ) from None
            try:
                same = os.path.samestat(os.stat(path, follow_symlinks=False), os.fstat(fd))
            except FileNotFoundError:
                same = False
            if not same:  # the file we locked was removed by the run that just finished
                os.close(fd)
                continue
            info = {
                "command": command,
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
                "argv": sys.argv,
            }
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, json.dumps(info).encode("utf-8"))
            return fd
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise
    raise InputError(Problem("could not take the lock of the output folder", file=str(out), fix="try again"))


def _release(out: Path, fd: int, created: bool) -> None:
    work = out / WORK
    with contextlib.suppress(OSError):
        (work / LOCK).unlink()  # still locked: a run that opened it meanwhile sees it gone and retries
    with contextlib.suppress(OSError):
        work.rmdir()  # only when empty: a journal or staging left by a failure stays for recovery
    os.close(fd)
    if created:
        with contextlib.suppress(OSError):
            out.rmdir()  # only when empty: nothing was written


@contextlib.contextmanager
def output_lock(out: Path, *, command: str = "skintrial") -> Iterator[OutputLock]:
    """Hold the lock of output folder ``out`` (created if needed) for the block, after recovering
    what a killed run left there; :class:`InputError` (exit 2) naming the other run when one holds it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "out"
    >>> with output_lock(out) as lock:
    ...     (out / ".skintrial" / "lock").exists()
    True
    >>> out.exists()  # created for the block, and nothing was written
    False
    """
    out = Path(out)
    check_output_dir(out)
    created = not (out.exists() or out.is_symlink())
    try:
        with no_space(out):
            out.mkdir(parents=True, exist_ok=True)
            fd = _acquire(out, command)
    except PermissionError as exc:
        raise InputError(
            Problem(
                f"the output folder cannot be written to ({exc.strerror})",
                file=str(out),
                column="--out",
                fix="choose an --out folder you may write to",
            )
        ) from None
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                (out / WORK).rmdir()
                out.rmdir()
        raise
    try:
        recover(out)
        yield OutputLock(out, fd)
    finally:
        _release(out, fd, created)
