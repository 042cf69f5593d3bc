"""Reading an expression matrix and its sample table, and lining them up.

Accepted inputs
---------------
* an ``anndata.AnnData`` (samples × genes, the scverse convention): ``obs`` is the sample table unless
  one is given, ``var_names`` are the genes;
* a path to a ``.h5ad`` file (read with anndata);
* a path to a CSV / TSV matrix (optionally ``.gz``; ``.xlsx`` too): first column the gene, then one
  column per sample;
* a pandas DataFrame genes × samples (index = genes).

The sample table is a CSV path or a DataFrame with a ``sample`` column naming the matrix columns. Every
listed sample must be in the matrix and every matrix column must be listed (an unlisted column is
more often a mistake than an intended subset); the rows need not be in the same order.
"""

from __future__ import annotations

import csv
import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from skintrial.errors import InputError, Problem

__all__ = ["ExpressionData", "check_counts", "load_expression"]


@dataclass(frozen=True)
class ExpressionData:
    """An expression matrix aligned with its sample table.

    ``values`` is genes × samples (log scale, NaN = missing), ``samples`` has one row per column of
    ``values`` in the same order; ``quoted`` names the sample-table columns whose values were quoted
    in the CSV file (they are read as text, see :mod:`skintrial.omics._design`).
    """

    values: np.ndarray
    genes: tuple[str, ...]
    samples: pd.DataFrame
    quoted: frozenset[str]
    expr_file: str | None
    sample_file: str | None


def _read_table(path: Path) -> pd.DataFrame:
    suffixes = [x.lower() for x in path.suffixes]
    sep = "\t" if {".tsv", ".txt", ".tab"} & set(suffixes) else ","
    try:
        if suffixes and suffixes[-1] in (".xlsx", ".xlsm", ".xls"):
            return pd.read_excel(path)
        return pd.read_csv(path, sep=sep)
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(
            Problem(
                f"cannot read the file: {exc}", fix="give a readable CSV, TSV or Excel file", file=str(path)
            )
        ) from None


def _quoted_columns(path: Path) -> set[str]:
    """Columns whose every non-empty value is quoted in the file (text, as R's write.csv marks it)."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError):
        return set()
    rows = list(csv.reader(io.StringIO(text), quoting=csv.QUOTE_NONE))
    if not rows:
        return set()
    header = [h.strip('"') for h in rows[0]]
    quoted = set()
    for j, name in enumerate(header):
        cells = [r[j] for r in rows[1:] if j < len(r) and r[j] != ""]
        if cells and all(len(c) >= 2 and c[0] == '"' and c[-1] == '"' for c in cells):
            quoted.add(name)
    return quoted


def _numeric_matrix(df: pd.DataFrame, file: str | None) -> np.ndarray:
    bad = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    problems = []
    for c in bad:
        conv = pd.to_numeric(df[c], errors="coerce")
        wrong = conv.isna() & df[c].notna()
        if wrong.any():
            i = int(np.flatnonzero(wrong.to_numpy())[0])
            problems.append(
                Problem(
                    "expression values must be numbers (log scale); empty cells are read as missing",
                    fix="correct or empty the cell",
                    file=file,
                    row=i + 2,
                    column=str(c),
                    value=df[c].iloc[i],
                    rows_affected=int(wrong.sum()),
                )
            )
        df = df.assign(**{c: conv})
    InputError.collect(problems)
    return df.to_numpy(dtype=float)


def _from_anndata(adata: Any) -> tuple[np.ndarray, tuple[str, ...], pd.DataFrame]:
    X = adata.X
    X = X.toarray() if hasattr(X, "toarray") else np.asarray(X)
    obs = adata.obs.copy()
    obs.insert(0, "sample", list(map(str, adata.obs_names)))
    return np.asarray(X, dtype=float).T, tuple(map(str, adata.var_names)), obs.reset_index(drop=True)


def _read_h5ad(path: Path) -> Any:
    """``anndata.read_h5ad`` with an unreadable file turned into an :class:`InputError` naming it."""
    import anndata

    if not path.is_file():
        raise InputError(Problem("file not found", fix="check the path of the .h5ad file", file=str(path)))
    try:
        with warnings.catch_warnings():  # repeated var names: _check_genes reports them as an error
            warnings.filterwarnings("ignore", message=".*names are not unique", category=UserWarning)
            return anndata.read_h5ad(path)
    except Exception as exc:  # h5py and anndata raise OSError, KeyError, ValueError, … for a bad file
        raise InputError(
            Problem(
                f"cannot read the file as AnnData ({type(exc).__name__}: {exc})",
                fix="give an .h5ad file written by anndata (adata.write_h5ad), or a CSV/TSV matrix",
                file=str(path),
            )
        ) from None


def _check_genes(genes: tuple[str, ...], file: str | None, source: str) -> None:
    """Gene ids must be present and unique: a repeated id would silently count a gene twice.

    ``source`` says where the ids sit: ``"csv"`` (first column; spreadsheet rows, header = row 1),
    ``"frame"`` (DataFrame index, 0-based positions) or ``"anndata"`` (``var_names``, 0-based).
    """
    ids = pd.Series(genes, dtype=object)
    empty = ids.isin(["", "nan", "None"]).to_numpy() | ids.str.strip().eq("").to_numpy()
    dup = ids.duplicated(keep=False).to_numpy() & ~empty
    problems = []
    where = {"csv": "rows", "frame": "index positions", "anndata": "var positions"}[source]
    offset = 2 if source == "csv" else 0
    column = "first column (gene id)" if source == "csv" else None
    if empty.any():
        at = np.flatnonzero(empty)
        problems.append(
            Problem(
                f"gene id is empty at {where} {_positions(at + offset)}",
                fix="give every row a gene (or probe) id",
                file=file,
                row=int(at[0]) + offset if source == "csv" else None,
                column=column,
                rows_affected=len(at),
            )
        )
    if dup.any():
        groups = ids[dup].groupby(ids[dup], sort=False).groups
        listed = [
            f"{g!r} at {where} {_positions(np.asarray(ix) + offset)}" for g, ix in list(groups.items())[:5]
        ]
        more = f"; … {len(groups) - 5} more" if len(groups) > 5 else ""
        problems.append(
            Problem(
                f"{len(groups)} gene id(s) occur more than once: {'; '.join(listed)}{more}",
                fix="keep one row per gene: average or drop repeated probes, or make the ids unique "
                "(e.g. probe ids instead of gene symbols)",
                file=file,
                column=column,
                rows_affected=int(dup.sum()),
            )
        )
    InputError.collect(problems)


def _positions(at: np.ndarray) -> str:
    shown = ", ".join(str(int(i)) for i in at[:6])
    return shown + (f", … ({len(at)} in all)" if len(at) > 6 else "")


def load_expression(expr: Any, samples: Any = None, *, sample_column: str = "sample") -> ExpressionData:
    """Read and align an expression matrix and its sample table (see the module notes).

    Gene ids must be non-empty and unique (an error names the repeated ids and their rows); an
    unreadable ``.h5ad`` or table file is an :class:`InputError` naming the file.
    """
    expr_file = sample_file = None
    obs = None
    if isinstance(expr, str | Path) and str(expr).endswith(".h5ad"):
        expr_file = str(expr)
        values, genes, obs = _from_anndata(_read_h5ad(Path(expr)))
        _check_genes(genes, expr_file, "anndata")
        columns = list(obs["sample"])
    elif isinstance(expr, str | Path):
        path = Path(expr)
        expr_file = str(path)
        if not path.exists():
            raise InputError(
                Problem("file not found", fix="check the path of the expression matrix", file=expr_file)
            )
        df = _read_table(path)
        if df.shape[1] < 2:
            raise InputError(
                Problem(
                    "the matrix needs a gene column and at least one sample column",
                    fix="check the separator",
                    file=expr_file,
                )
            )
        genes = tuple("" if pd.isna(g) else str(g) for g in df.iloc[:, 0])
        _check_genes(genes, expr_file, "csv")
        df = df.iloc[:, 1:]
        columns = [str(c) for c in df.columns]
        values = _numeric_matrix(df, expr_file)
    elif isinstance(expr, pd.DataFrame):
        genes = tuple(map(str, expr.index))
        _check_genes(genes, None, "frame")
        columns = [str(c) for c in expr.columns]
        values = _numeric_matrix(expr, None)
    elif hasattr(expr, "obs") and hasattr(expr, "var_names"):
        values, genes, obs = _from_anndata(expr)
        _check_genes(genes, None, "anndata")
        columns = list(obs["sample"])
    else:
        raise InputError(
            Problem(
                f"cannot read expression data of type {type(expr).__name__}",
                fix="pass an AnnData, a DataFrame (genes × samples) or a CSV path",
            )
        )

    if len(genes) == 0:
        raise InputError(
            Problem(
                "the expression matrix has no genes (a header row, but no gene rows below it)",
                fix="export the matrix again with one row per gene (first column the gene id)",
                file=expr_file,
            )
        )
    quoted: set[str] = set()
    if samples is None:
        if obs is None:
            raise InputError(
                Problem(
                    "a sample table is needed (only an AnnData carries its own, in obs)",
                    fix="pass samples= (a CSV path or a DataFrame with a 'sample' column)",
                    file=expr_file,
                )
            )
        table = obs
        sample_column = "sample"
    elif isinstance(samples, str | Path):
        sample_file = str(samples)
        if not Path(samples).exists():
            raise InputError(
                Problem("file not found", fix="check the path of the sample table", file=sample_file)
            )
        table = _read_table(Path(samples))
        quoted = _quoted_columns(Path(samples))
    else:
        table = pd.DataFrame(samples).reset_index(drop=True)
    return _align(values, genes, columns, table, sample_column, quoted, expr_file, sample_file)


def _align(values, genes, columns, table, sample_column, quoted, expr_file, sample_file) -> ExpressionData:
    if sample_column not in table.columns:
        raise InputError(
            Problem(
                f"the sample table has no {sample_column!r} column",
                fix=f"add a column {sample_column!r} naming the matrix columns",
                file=sample_file,
            )
        )
    names = table[sample_column].astype(str)
    problems = []
    dup = names.duplicated(keep="first")
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        problems.append(
            Problem(
                "a sample is listed twice",
                fix="keep one row per sample",
                file=sample_file,
                row=i + 2,
                column=sample_column,
                value=names.iloc[i],
                rows_affected=int(dup.sum()),
            )
        )
    if len(set(columns)) != len(columns):
        problems.append(
            Problem("the matrix has two columns with the same sample name", fix="rename one", file=expr_file)
        )
    absent = [s for s in names if s not in set(columns)]
    if absent:
        i = int(np.flatnonzero(~names.isin(columns).to_numpy())[0])
        problems.append(
            Problem(
                f"{len(absent)} sample(s) of the sample table are not columns of the expression matrix (first: {absent[0]!r})",
                fix="correct the sample names or remove those rows",
                file=sample_file,
                row=i + 2,
                column=sample_column,
                value=absent[0],
                rows_affected=len(absent),
            )
        )
    unlisted = [c for c in columns if c not in set(names)]
    if unlisted:
        problems.append(
            Problem(
                f"{len(unlisted)} matrix column(s) are not in the sample table: {', '.join(unlisted[:5])}{' …' if len(unlisted) > 5 else ''}",
                fix="add them to the sample table, or drop the columns from the matrix to analyse a subset",
                file=expr_file,
            )
        )
    InputError.collect(problems)
    order = [columns.index(s) for s in names] if list(names) != columns else list(range(len(columns)))
    values = np.ascontiguousarray(values[:, order])
    return ExpressionData(
        values=values,
        genes=tuple(genes),
        samples=table.reset_index(drop=True),
        quoted=frozenset(quoted),
        expr_file=expr_file,
        sample_file=sample_file,
    )


def check_counts(data: ExpressionData, sample_column: str = "sample") -> None:
    """RNA-seq counts must be present, finite and non-negative; each kind of bad cell is one problem
    naming the file, the first row (spreadsheet numbering for a CSV: header = row 1), the sample column
    and how many cells are affected. Non-integer values are accepted (edgeR accepts expected counts
    from salmon or RSEM)."""
    v = data.values
    names = data.samples[sample_column].astype(str).to_numpy()
    csv_rows = data.expr_file is not None and not data.expr_file.endswith(".h5ad")
    problems = []
    for bad, what, fix in (
        (
            np.isnan(v),
            "a count is missing (empty cell)",
            "give every gene a count in every sample (0 if none)",
        ),
        (np.isinf(v), "a count is infinite", "give the raw count"),
        (
            v < 0,
            "counts cannot be negative (a log-scale or normalised matrix given as counts?)",
            "give raw counts, or leave out --counts / counts=True for log-scale expression",
        ),
    ):
        if bad.any():
            g, j = (int(i[0]) for i in np.nonzero(bad))
            problems.append(
                Problem(
                    f"{what}: gene {data.genes[g]!r}, sample {names[j]!r}",
                    fix=fix,
                    file=data.expr_file,
                    row=g + 2 if csv_rows else None,
                    column=names[j],
                    value=None if np.isnan(v[g, j]) else float(v[g, j]),
                    rows_affected=int(bad.any(axis=1).sum()),
                )
            )
    InputError.collect(problems)
