"""Where a bundle may read: inside its own folder, or in a shared raw-data folder it declares.

A bundle travels between labs, CROs and machines; what it names must never make skintrial read a
file elsewhere on the machine that runs it (a manifest row ``../../home/me/notes.csv``, an absolute
path, a link that leads out of the folder, ``[serum] file = "/etc/passwd"``). Every path a bundle
names is therefore resolved (links followed, ``..`` taken away) and must lie inside the bundle
folder; raw instrument files may also lie inside ``[raw] data_root``, an explicit opt-in for a lab's
shared raw-data drive (docs/bundle.md).

A path that passes is given back *normalised*: ``root / path inside the bundle`` for a file of the
bundle (so ``path.relative_to(root)`` always holds, whatever the manifest wrote: ``./x``, ``x//y``,
``cutometer/../cutometer/x.csv`` or an absolute path into the bundle), the resolved absolute path
for a file under the data root. Two rows that name one file in two spellings are one file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from skintrial.errors import MAX_SHOWN, Problem, more_like_this
from skintrial.study._readers import ROW_COLUMN, SUPPORTED_SUFFIXES

__all__ = [
    "Confinement",
    "FILE_KEYS",
    "confinement",
    "manifest_paths",
    "toml_path_problems",
    "outside_problem",
]

FILE_KEYS: tuple[tuple[str, str], ...] = (
    ("raw", "manifest"),
    ("training", "file"),
    ("serum", "file"),
    ("qpcr", "file"),
    ("expression", "file"),
    ("expression", "samples"),
    ("expression", "genesets"),
)
"""The keys of ``study.toml`` that name a file of the bundle (``[table] key``)."""

_COPY_IN = "copy the file into the bundle folder and name it by its path relative to study.toml"
_DATA_ROOT_FIX = (
    "copy the file into the bundle and give its path relative to the manifest's folder; or, when the "
    'raw files live on a shared drive, declare that folder in study.toml as [raw] data_root = "/path/to/share" '
    "and allow it where you run skintrial with SKINTRIAL_DATA_ROOTS=/path/to/share (docs/bundle.md)"
)


def _resolved(path: Path) -> Path | None:
    """``path`` with links followed and ``..`` taken away; None when it cannot be resolved (a link
    loop, a name the system refuses)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):  # RuntimeError: link loop; ValueError: NUL in the name
        return None


@dataclass(frozen=True)
class Confinement:
    """The folders a bundle may read: its own (``root`` as given, ``real_root`` resolved) and, for raw
    instrument files only, the resolved ``data_root`` when ``[raw] data_root`` declares one."""

    root: Path
    real_root: Path
    data_root: Path | None = None

    def place(self, path: Path, *, raw: bool = False) -> Path | None:
        """The normalised ``path`` when it may be read (a raw instrument file when ``raw``), else None."""
        real = _resolved(path)
        if real is None:
            return None
        if real.is_relative_to(self.real_root):
            return self.root / real.relative_to(self.real_root)
        if raw and self.data_root is not None and real.is_relative_to(self.data_root):
            return real
        return None

    def where(self, path: Path) -> str:
        """Where ``path`` leads, for a message."""
        real = _resolved(path)
        return "a path that cannot be resolved" if real is None else str(real)


def _data_root_value(raw: Mapping) -> object:
    table = raw.get("raw")
    return table.get("data_root") if isinstance(table, Mapping) else None


def confinement(root: Path, raw: Mapping, toml_file: str) -> tuple[Confinement, list[Problem]]:
    """The folders the bundle at ``root`` may read, from the raw ``study.toml`` document ``raw``, and
    the problems of its ``[raw] data_root`` (not a folder)."""
    real_root = _resolved(root) or root.absolute()
    value = _data_root_value(raw)
    if not isinstance(value, str):  # absent, or a wrong type: said by the schema
        return Confinement(root, real_root), []
    data_root = _resolved(root / value)  # a relative data_root is relative to the bundle folder
    if data_root is None or not data_root.is_dir():
        return Confinement(root, real_root), [
            Problem(
                "the shared raw-data folder of [raw] data_root is not a folder"
                + ("" if data_root is None else f" ({data_root})"),
                file=toml_file,
                column="raw.data_root",
                value=value,
                fix="give the folder that holds the raw instrument files (an absolute path, or one "
                "relative to study.toml), or remove data_root and keep the raw files in the bundle",
            )
        ]
    if not any(data_root.is_relative_to(t) for t in trusted_data_roots()):
        return Confinement(root, real_root), [
            Problem(
                f"[raw] data_root names a folder outside the bundle ({data_root}) that the person running "
                f"skintrial has not allowed: a bundle cannot open a folder of this machine by itself",
                file=toml_file,
                column="raw.data_root",
                value=value,
                fix=f"if you trust this bundle to read that folder, allow it before the command: "
                f"{DATA_ROOTS_ENV}={data_root} (several folders separated by '{os.pathsep}'); otherwise "
                "copy the raw files into the bundle and remove data_root",
            )
        ]
    return Confinement(root, real_root, data_root), []


DATA_ROOTS_ENV = "SKINTRIAL_DATA_ROOTS"
"""The environment variable that lists the shared raw-data folders the person running skintrial allows
a bundle's ``[raw] data_root`` to name (``os.pathsep``-separated). A bundle alone can never widen what
it may read: its ``data_root`` is refused unless it lies inside one of these folders."""


def trusted_data_roots() -> list[Path]:
    """The resolved folders of :data:`DATA_ROOTS_ENV`, read at each call (no state at import)."""
    out = []
    for part in os.environ.get(DATA_ROOTS_ENV, "").split(os.pathsep):
        if part.strip():
            real = _resolved(Path(part.strip()).expanduser())
            if real is not None and real != Path(real.anchor):  # "/" would allow every file
                out.append(real)
    return out


def outside_problem(path: Path, where: Confinement, *, what: str = "file") -> Problem:
    """A file the bundle would read that lies (or whose link leads) outside the bundle folder."""
    return Problem(
        f"the {what} lies outside the bundle folder (it leads to {where.where(path)}); a bundle reads only "
        "inside its own folder",
        file=str(path),
        fix="replace the link by a copy of the file" if path.is_symlink() else _COPY_IN,
    )


def toml_path_problems(raw: Mapping, where: Confinement, toml_file: str) -> list[Problem]:
    """Each file key of ``study.toml`` (:data:`FILE_KEYS`) that names a file outside the bundle, and
    each table the bundle would read by its default name (``training.csv``, ``serum.xlsx`` …) that
    is a link leading outside it."""
    problems = []
    for table, key in FILE_KEYS:
        section = raw.get(table)
        value = section.get(key) if isinstance(section, Mapping) else None
        if isinstance(value, str) and where.place(where.root / value) is None:
            problems.append(
                Problem(
                    f"[{table}] {key} names a file outside the bundle folder (it leads to "
                    f"{where.where(where.root / value)}); a bundle reads only inside its own folder",
                    file=toml_file,
                    column=f"{table}.{key}",
                    value=value,
                    fix=_COPY_IN,
                )
            )
    for stem in ("training", "serum", "qpcr"):
        for suffix in SUPPORTED_SUFFIXES:
            path = where.root / f"{stem}{suffix}"
            if path.is_symlink() and where.place(path) is None:
                problems.append(outside_problem(path, where))
    return problems


def normalised_name(where: Confinement, value: str) -> str:
    """A file key's value as the path inside the bundle it names (``./serum.csv`` → ``serum.csv``)."""
    placed = where.place(where.root / value)
    return value if placed is None else placed.relative_to(where.root).as_posix()


def manifest_paths(
    manifest: pd.DataFrame, folder: Path, where: Confinement, file: str
) -> tuple[list[str | None], list[Problem]]:
    """Each manifest row's file (relative to the manifest's ``folder``) as a normalised path, and the
    problems: a file outside the bundle (and outside ``[raw] data_root``), and one file listed twice
    (in whatever spelling: ``./x``, ``x//y``, ``cutometer/../cutometer/x.csv``, an absolute path)."""
    paths: list[str | None] = []
    outside: list[int] = []
    for i, name in enumerate(manifest["file"]):
        if name is None:
            paths.append(None)
            continue
        placed = where.place(folder / name, raw=True)
        paths.append(None if placed is None else str(placed))
        if placed is None:
            outside.append(i)
    outside_fix = Problem(
        "the raw file lies outside the bundle folder", file=file, column="file", fix=_DATA_ROOT_FIX
    )
    problems = _row_problems(
        manifest,
        outside,
        outside_fix,
        lambda i: Problem(
            f"the raw file lies outside the bundle folder (it leads to {where.where(folder / manifest['file'].iloc[i])})"
            + ("" if where.data_root is None else f" and outside [raw] data_root ({where.data_root})"),
            file=file,
            row=int(manifest[ROW_COLUMN].iloc[i]),
            column="file",
            value=manifest["file"].iloc[i],
            fix=_DATA_ROOT_FIX,
        ),
    )
    series = pd.Series(paths, dtype=object)
    dup = (series.notna() & series.duplicated(keep="first")).to_numpy()
    if dup.any():
        first = pd.Series(range(len(series))).groupby(series.to_numpy(), sort=False).transform("first")
        rows = manifest[ROW_COLUMN].to_numpy()
        fix = "list each file once (several measurements of one visit are several files)"
        problems += _row_problems(
            manifest,
            [int(i) for i in dup.nonzero()[0]],
            Problem("the same raw file is listed twice", file=file, column="file", fix=fix),
            lambda i: Problem(
                f"the same raw file is listed twice: it is the file of row {int(rows[int(first.iloc[i])])} "
                f"({manifest['file'].iloc[int(first.iloc[i])]!r})",
                file=file,
                row=int(rows[i]),
                column="file",
                value=manifest["file"].iloc[i],
                fix=fix,
            ),
        )
    return paths, problems


def _row_problems(
    manifest: pd.DataFrame, at: list[int], kind: Problem, make: Callable[[int], Problem]
) -> list[Problem]:
    """``make(i)`` for the first :data:`MAX_SHOWN` positions ``at``, and one record (like ``kind``)
    counting the rest."""
    shown = [make(i) for i in at[:MAX_SHOWN]]
    if len(at) > MAX_SHOWN:
        rows = manifest[ROW_COLUMN].to_numpy()[at[MAX_SHOWN:]]
        shown.append(more_like_this(kind, len(rows), int(rows.min()), int(rows.max())))
    return shown
