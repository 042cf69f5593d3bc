"""One atomic file writer: every output file skintrial writes goes through :func:`write_files`.

A file is written to a temporary file in its own folder (so on its own filesystem), flushed to disk
(``fsync``) and renamed over the target (``os.replace``, atomic on POSIX): a reader, or a run killed at
any moment, sees the previous file or the new one, never a half-written one. Several files given
together are all written to temporaries first and renamed only when every one is complete, so an error
in any of them (a full disk, a refused path) leaves every target as it was.

Before anything is written, no output may be one of the command's inputs (:func:`input_problems`):
the same path after resolving links, or the same file on disk (``os.stat`` device and inode, so a hard
link counts too). A full disk is bad input too (exit 2), said as "no space left on device writing X".
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import socket
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from skintrial.errors import InputError, Problem

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "write_files",
    "write_csv",
    "write_text",
    "write_bytes",
    "csv_bytes",
    "neutralise_formulas",
    "input_hits",
    "input_problems",
    "refuse_inputs",
    "same_file",
    "no_space",
    "is_no_space",
    "no_space_problem",
    "fsync_dir",
    "remove_stale_temps",
    "sha256_file",
]

_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
_TEMP = re.compile(r"^\.(?P<name>.+)\.skintrial-(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-[0-9a-z_]+\.part$")

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _resolved(path: Path) -> Path:
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):  # a link loop: compare as written
        return Path(os.path.abspath(path))


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:  # not there (yet), or not readable: no identity to compare
        return None
    return (st.st_dev, st.st_ino)


def same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file: the same path once links are resolved, or the same device
    and inode (a hard link, a bind mount)."""
    if _resolved(a) == _resolved(b):
        return True
    ia = _identity(a)
    return ia is not None and ia == _identity(b)


def input_hits(outputs: Iterable[Path], inputs: Iterable[Path]) -> list[tuple[Path, Path]]:
    """``(output, input)`` for each output that is one of the inputs (:func:`same_file`), in the order
    of ``outputs``; each path is resolved and stat-ed once, so thousands of files cost little."""
    by_path: dict[Path, Path] = {}
    by_id: dict[tuple[int, int], Path] = {}
    for p in inputs:
        by_path.setdefault(_resolved(p), Path(p))
        ident = _identity(p)
        if ident is not None:
            by_id.setdefault(ident, Path(p))
    hits = []
    for out in outputs:
        hit = by_path.get(_resolved(out))
        if hit is None and by_id:
            ident = _identity(out)
            hit = by_id.get(ident) if ident is not None else None
        if hit is not None:
            hits.append((Path(out), hit))
    return hits


def input_problems(outputs: Mapping[Path, str] | Iterable[Path], inputs: Iterable[Path]) -> list[Problem]:
    """One problem per output that is one of the ``inputs`` (:func:`input_hits`); writing it would
    destroy the input. ``outputs`` may map each path to the option that named it (``--out``)."""
    named = {
        Path(k): v
        for k, v in (
            outputs.items() if isinstance(outputs, Mapping) else dict.fromkeys(outputs, "--out").items()
        )
    }
    problems = []
    for out, hit in input_hits(named, inputs):
        option = named[out]
        other = out.with_name(f"{out.stem}-out{out.suffix}")
        what = (
            f"is the input {hit}"
            if _resolved(out) == _resolved(hit)
            else f"is the same file on disk as the input {hit} (a link to it)"
        )
        problems.append(
            Problem(
                f"the output {out} {what}; writing it would replace the input",
                file=str(out),
                column=option,
                fix=f"choose another {option}, a path that is none of the command's input files "
                f"(e.g. {option} {other})",
            )
        )
    return problems


def refuse_inputs(outputs: Mapping[Path, str] | Iterable[Path], inputs: Iterable[Path]) -> None:
    """Raise :class:`InputError` (exit 2) when any output is an input (:func:`input_problems`)."""
    InputError.collect(input_problems(outputs, inputs))


def no_space_problem(path: Path | str | None, exc: OSError | None = None) -> Problem:
    """A full disk (or quota) while writing ``path``, said as bad input with the fix."""
    what = (
        "disk quota exceeded" if exc is not None and exc.errno == errno.EDQUOT else "no space left on device"
    )
    return Problem(
        f"{what} writing {path}; nothing was replaced (earlier outputs are as they were)",
        fix="free space or choose another --out",
    )


def is_no_space(exc: BaseException) -> bool:
    """Whether ``exc`` is a full disk or an exceeded quota."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


@contextlib.contextmanager
def no_space(path: Path | str) -> Iterator[None]:
    """Turn a full disk inside the block into :class:`InputError` (:func:`no_space_problem`) naming
    ``path`` (or the file the error names, when it names one)."""
    try:
        yield
    except OSError as exc:
        if not is_no_space(exc):
            raise
        raise InputError(no_space_problem(exc.filename or path, exc)) from None


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (a rename into it) to disk; a filesystem that cannot is let be."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every text cell that a spreadsheet would run as a formula made plain text.

    A cell (or column name) that is text and begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return gets a single quote ``'`` in front (OWASP's advice against CSV injection: Excel, LibreOffice
    and Google Sheets show ``'=1+1`` as the text ``=1+1`` instead of evaluating it). Numbers are never
    touched: numeric columns stay numeric (``-1.5`` is written ``-1.5``), and a text cell that is
    exactly a number (``-1.5``, ``+2e-3``) is left as it is, since a spreadsheet reads it as that number
    and runs nothing. Reading such a file back gives the quoted text (``'=1+1``).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"gene": ["=HYPERLINK(1)", "-x", "COL1A1", "-2"], "log_fc": [-1.5, 2.0, 0.1, 3.0]})
    >>> neutralise_formulas(df)["gene"].tolist()
    ["'=HYPERLINK(1)", "'-x", 'COL1A1', '-2']
    >>> neutralise_formulas(df)["log_fc"].tolist()
    [-1.5, 2.0, 0.1, 3.0]
    """
    import pandas as pd

    out = frame
    for i in range(frame.shape[1]):
        s = frame.iloc[:, i]
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object)
        elif not (pd.api.types.is_object_dtype(s.dtype) or pd.api.types.is_string_dtype(s.dtype)):
            continue
        text = s.where(s.map(lambda v: isinstance(v, str))).astype(object)  # numbers, NaN: as they are
        risky = text.str.startswith(_FORMULA_START).eq(True) & ~text.str.fullmatch(_NUMBER).eq(True)
        if risky.any():
            if out is frame:
                out = frame.copy()
            col_values = s.copy()
            col_values[risky] = "'" + text[risky]
            out.isetitem(i, col_values)
    names = [
        "'" + c if isinstance(c, str) and c.startswith(_FORMULA_START) and not _NUMBER.fullmatch(c) else c
        for c in out.columns
    ]
    return out.set_axis(names, axis=1) if names != list(out.columns) else out


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """A result table as CSV bytes: UTF-8, ``\\n`` line ends, no index, floats to 15 significant digits
    (every digit a double holds reliably, so no binary noise such as ``0.10410000000000003``; read back
    they differ from the computed value by at most 5e-15 relative), formulas neutralised
    (:func:`neutralise_formulas`)."""
    import csv

    safe = neutralise_formulas(frame)
    # csv quotes a cell holding the line terminator "\n" but not a bare "\r", which readers take for a
    # line end: a table with such a cell quotes every text cell instead
    texts = [c for c in range(safe.shape[1]) if safe.iloc[:, c].dtype == object]
    cr = any(safe.iloc[:, c].map(lambda v: isinstance(v, str) and "\r" in v).any() for c in texts)
    quoting = csv.QUOTE_NONNUMERIC if cr else csv.QUOTE_MINIMAL
    return _fifteen_digits(safe).to_csv(index=False, lineterminator="\n", quoting=quoting).encode("utf-8")


def _fifteen_digits(frame: pd.DataFrame) -> pd.DataFrame:
    """Float columns rounded to 15 significant digits, still floats (so written as numbers, unquoted)."""
    floats = [i for i in range(frame.shape[1]) if frame.dtypes.iloc[i].kind == "f"]
    if not floats:
        return frame
    out = frame.copy()
    for i in floats:
        values = out.iloc[:, i].to_numpy(dtype=float)
        out.isetitem(i, [float(f"{v:.15g}") for v in values.tolist()])
    return out


def _as_bytes(content: object) -> bytes:
    if isinstance(content, bytes):
        return content
    if isinstance(content, str):
        return content.encode("utf-8")
    return csv_bytes(content)  # type: ignore[arg-type]


def remove_stale_temps(folder: Path, names: Iterable[str] | None = None) -> None:
    """Remove the temporaries that killed writers on this host left in ``folder`` (their process is
    gone): of the targets ``names``, or of any target when ``names`` is None. One scan of the folder."""
    if os.name == "nt":  # no signal-0 probe there (os.kill would end the process): leave them
        return
    wanted = None if names is None else set(names)
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            m = _TEMP.match(entry.name)
            if m is None or (wanted is not None and m["name"] not in wanted):
                continue
            if m["host"] != _HOST or int(m["pid"]) == os.getpid():
                continue
            try:
                os.kill(int(m["pid"]), 0)
                continue  # that writer is still running
            except ProcessLookupError:
                pass
            except OSError:  # not ours to signal: alive
                continue
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


def _write_temp(path: Path, data: bytes) -> Path:
    """``data`` in a fresh temporary beside ``path``, flushed to disk; its path."""
    fd, name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.skintrial-{_HOST}-{os.getpid()}-", suffix=".part"
    )
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
    return Path(name)


def write_files(
    files: Mapping[Path, bytes | str | pd.DataFrame],
    *,
    inputs: Iterable[Path] = (),
    tidy: bool = True,
) -> list[Path]:
    """Write each ``path: content`` atomically; all or, on any error, none of them.

    Every file goes to a temporary beside its target first (bytes as given, text as UTF-8, a
    DataFrame as a result CSV, :func:`csv_bytes`); only when all are complete and on disk is each
    renamed over its target. A target that is one of ``inputs`` (or twice in ``files``) is refused
    before anything is written; a full disk raises :class:`InputError` naming the file, with every
    target left as it was. Temporaries that a killed run left beside a target are removed (one scan
    of each folder; ``tidy=False`` skips it, for a caller writing thousands of files into one folder
    that calls :func:`remove_stale_temps` once itself).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> [p.name for p in write_files({d / "a.txt": "x", d / "b.bin": b"y"})]
    ['a.txt', 'b.bin']
    >>> write_files({d / "a.txt": "z"}, inputs=[d / "a.txt"])
    Traceback (most recent call last):
    ...
    skintrial.errors.InputError: ...a.txt, option '--out': the output ... is the input ...
    """
    targets = [Path(p) for p in files]
    seen: dict[Path, Path] = {}
    dup = sorted({str(p) for p in targets if seen.setdefault(_resolved(p), p) is not p})
    if dup:
        raise InputError(
            Problem(
                f"one file is named as two outputs: {', '.join(dup)}", fix="give each output its own path"
            )
        )
    refuse_inputs(targets, inputs)
    temps: dict[Path, Path] = {}
    current = None
    try:
        for folder in dict.fromkeys(p.parent for p in targets):
            current = folder
            folder.mkdir(parents=True, exist_ok=True)
            if tidy:
                remove_stale_temps(folder, [p.name for p in targets if p.parent == folder])
        for path, content in zip(targets, files.values(), strict=True):
            current = path
            temps[path] = _write_temp(path, _as_bytes(content))
        for path, temp in temps.items():
            current = path
            os.replace(temp, path)
        for folder in dict.fromkeys(p.parent for p in targets):
            fsync_dir(folder)
    except OSError as exc:
        if is_no_space(exc):
            raise InputError(no_space_problem(current, exc)) from None
        raise
    finally:
        for temp in temps.values():
            with contextlib.suppress(OSError):
                os.unlink(temp)  # renamed already: nothing there
    return targets


def write_csv(frame: pd.DataFrame, path: Path, *, inputs: Iterable[Path] = ()) -> Path:
    """Write a result table atomically (:func:`write_files`, :func:`csv_bytes`): UTF-8, ``\\n`` line
    ends, no index, full float precision, text cells that a spreadsheet would run as formulas quoted."""
    write_files({Path(path): frame}, inputs=inputs)
    return Path(path)


def write_text(text: str, path: Path, *, inputs: Iterable[Path] = ()) -> Path:
    """Write UTF-8 text atomically (:func:`write_files`)."""
    write_files({Path(path): text}, inputs=inputs)
    return Path(path)


def write_bytes(data: bytes, path: Path, *, inputs: Iterable[Path] = (), tidy: bool = True) -> Path:
    """Write bytes atomically (:func:`write_files`)."""
    write_files({Path(path): data}, inputs=inputs, tidy=tidy)
    return Path(path)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
