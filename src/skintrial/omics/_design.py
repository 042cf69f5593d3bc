"""Additive design formulas and level contrasts for expression models.

A deliberately small grammar, enough for the designs of expression studies (a group, a batch, the
participant of a paired pre/post study, a numeric covariate) without pulling in patsy or formulaic:

    formula   :=  "~" term ("+" term)*
    term      :=  name | "C(" name ")" | "num(" name ")" | "1" | "0" | "-1"
               |  factor ":" factor | factor "*" factor        (a*b = a + b + a:b)
    contrast  :=  levels [ "|" factor ( "=" level | ":" levels ) ]   |   numeric-term
    levels    :=  factor ":" [w "*"] level (("+" | "-") [w "*"] level)*

An interaction ``a:b`` of two factors gets the products of their treatment-coded columns, as R's
``model.matrix`` does, and needs both main effects in the formula (write ``a*b``). In a design with an
interaction the effect of one factor depends on the other, so its contrasts say where: ``"visit: post
- pre | arm = AT"`` is the change within the AT arm, ``"visit: post - pre | arm: RT - AT"`` the
difference between the arms' changes. Such a contrast is built from the design rows of the cells it
compares (the other terms cancel because the weights of the first factor sum to zero), and checked
for estimability like any other: in the paired two-arm study ``~ participant + arm * visit`` the arm
main effect is not estimable (it lives in the participants) and is dropped, while both within-arm
changes and their difference are.

Factors use treatment coding: the first level (in sorted order, or the category order of a pandas
Categorical) is the reference and gets no column; with ``0`` / ``-1`` the first factor gets one column
per level (cell means). A column is a factor when it holds text, when it is categorical or boolean,
when its values were quoted in the CSV file (R's ``write.csv`` quotes text, so a quoted slide barcode
is an identifier) or when it is wrapped in ``C()``; it is a numeric covariate when it holds numbers
with a fractional part or is wrapped in ``num()``. A column of whole numbers that is neither quoted
nor wrapped is ambiguous (a slide number, a participant id, or an age?) and is refused with the fix,
rather than silently guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg

from skintrial.errors import InputError, Problem

__all__ = ["DesignMatrix", "Term", "build_design", "contrast_vector"]

_NAME = r"[A-Za-z_.][A-Za-z0-9_.]*"
_TERM = re.compile(rf"^(?:(?P<fn>C|num)\(\s*(?P<inner>{_NAME})\s*\)|(?P<name>{_NAME}))$")
_FORMULA_FIX = (
    'write an additive formula such as "~ condition + slide" or "~ visit + participant": column names '
    "joined by +, C(name) to force a factor, num(name) for a numeric covariate, 0 for no intercept"
)


@dataclass(frozen=True)
class Term:
    """One term of the design: a factor (with its levels) or a numeric covariate."""

    name: str
    kind: str  # "factor" or "numeric"
    levels: tuple[str, ...]
    columns: tuple[int, ...]  # positions in the design matrix
    coded_levels: tuple[str, ...]  # levels that own a column (all but the reference, or all)


@dataclass(frozen=True)
class DesignMatrix:
    """A numeric design matrix with the names of its columns and terms.

    ``X`` and ``params`` hold the estimable columns only. A column that the earlier ones already
    explain (the arm main effect once every participant has its own level, in a paired two-arm
    study) is dropped, as limma's ``lmFit`` drops non-estimable coefficients; ``full_params`` and
    ``kept`` remember the full coding, ``null_space`` the directions the data cannot identify, so
    that a contrast can be checked for estimability.
    """

    formula: str
    X: np.ndarray
    params: tuple[str, ...]
    terms: dict[str, Term]
    intercept: bool
    full_params: tuple[str, ...] = ()
    kept: np.ndarray | None = None
    null_space: np.ndarray | None = None

    @property
    def dropped(self) -> tuple[str, ...]:
        """Coefficients of the full coding that were not estimable and were dropped."""
        if self.kept is None:
            return ()
        return tuple(p for p, k in zip(self.full_params, self.kept, strict=True) if not k)


def _parse_formula(formula: str) -> tuple[bool, list[tuple[str, str | None]]]:
    text = formula.strip()
    if not text.startswith("~"):
        raise InputError(Problem(f"the design formula {formula!r} does not start with '~'", fix=_FORMULA_FIX))
    body = text[1:].strip()
    if re.search(r"[\^/|]", body):
        raise InputError(
            Problem(
                f"the design formula {formula!r} has an operator skintrial does not support",
                fix=_FORMULA_FIX + "; a*b for two factors and their interaction",
            )
        )
    intercept = True
    terms: list[tuple[str, str | None]] = []
    parts = re.split(r"\s*(?<![(])([+-])\s*", body)
    sign = "+"
    for tok in parts:
        if tok in ("+", "-"):
            sign = tok
            continue
        tok = tok.strip()
        if tok == "":
            continue
        if tok in ("0", "1"):
            intercept = (tok == "1") == (sign == "+")
            continue
        if ":" in tok or "*" in tok:
            if sign == "-":
                raise InputError(Problem(f"cannot read the term {tok!r} in {formula!r}", fix=_FORMULA_FIX))
            _add_interaction(tok, formula, terms)
            continue
        m = _TERM.match(tok)
        if m is None or sign == "-":
            raise InputError(Problem(f"cannot read the term {tok!r} in {formula!r}", fix=_FORMULA_FIX))
        name = m.group("inner") or m.group("name")
        forced = {"C": "factor", "num": "numeric"}.get(m.group("fn") or "")
        if name in {t for t, _ in terms}:
            raise InputError(Problem(f"the term {name!r} appears twice in {formula!r}", fix=_FORMULA_FIX))
        terms.append((name, forced))
    if not terms and not intercept:
        raise InputError(Problem(f"the design formula {formula!r} has no terms", fix=_FORMULA_FIX))
    names = [t for t, _ in terms]
    for name, kind in terms:  # an interaction after its main effects (R orders them so too)
        if kind == "interaction":
            a, b = name.split(":")
            if a not in names or b not in names:
                raise InputError(
                    Problem(
                        f"the interaction {name!r} in {formula!r} needs both main effects",
                        fix=f"write {a} * {b} (the two factors and their interaction)",
                    )
                )
    terms.sort(key=lambda t: t[1] == "interaction")
    return intercept, terms


def _add_interaction(tok: str, formula: str, terms: list[tuple[str, str | None]]) -> None:
    """``a:b`` adds the interaction; ``a*b`` adds a, b (unless present) and a:b."""
    star = "*" in tok
    parts = [x.strip() for x in re.split(r"[*:]", tok)]
    if len(parts) != 2 or ("*" in tok and ":" in tok) or not all(re.fullmatch(_NAME, x) for x in parts):
        raise InputError(
            Problem(
                f"cannot read the interaction {tok!r} in {formula!r}",
                fix="an interaction of two factor columns: a*b (or a:b with a + b in the formula)",
            )
        )
    present = {t for t, _ in terms}
    if star:
        for x in parts:
            if x not in present:
                terms.append((x, None))
    name = ":".join(parts)
    if name in present:
        raise InputError(Problem(f"the term {name!r} appears twice in {formula!r}", fix=_FORMULA_FIX))
    terms.append((name, "interaction"))


def _level_order(values: pd.Series) -> list[str]:
    if isinstance(values.dtype, pd.CategoricalDtype):
        used = set(values.astype(str))
        return [str(c) for c in values.cat.categories if str(c) in used]
    uniq = pd.unique(values.astype(str))
    num = pd.to_numeric(pd.Series(uniq), errors="coerce")
    if num.notna().all():
        return [str(u) for u in np.asarray(uniq)[np.argsort(num.to_numpy(), kind="stable")]]
    return sorted(str(u) for u in uniq)


def _column_kind(col: pd.Series, name: str, forced: str | None, quoted: set[str], file: str | None) -> str:
    if forced is not None:
        return forced
    if isinstance(col.dtype, pd.CategoricalDtype) or col.dtype == bool or name in quoted:
        return "factor"
    num = pd.to_numeric(col, errors="coerce")
    if num.isna().any():
        return "factor"
    if not np.allclose(num, np.round(num)):
        return "numeric"
    raise InputError(
        Problem(
            f"column {name!r} holds whole numbers: it could be a factor (a slide, batch or participant "
            "id) or a numeric covariate (an age)",
            fix=f"write C({name}) in the formula for a factor or num({name}) for a numeric covariate",
            file=file,
            column=name,
        )
    )


def _missing_problem(col: pd.Series, name: str, file: str | None) -> Problem:
    rows = np.flatnonzero(col.isna().to_numpy())
    return Problem(
        f"the design column {name!r} is empty",
        fix="fill in the value or remove the sample from the sample table",
        file=file,
        row=int(rows[0]) + 2,
        column=name,
        rows_affected=len(rows),
    )


def build_design(
    samples: pd.DataFrame, formula: str, *, quoted: set[str] | None = None, file: str | None = None
) -> DesignMatrix:
    """Build the design matrix of ``formula`` from a sample table (one row per sample).

    Examples
    --------
    >>> s = pd.DataFrame({"condition": ["young", "old", "young", "old"], "slide": ["a", "a", "b", "b"]})
    >>> d = build_design(s, "~ condition + slide")
    >>> d.params
    ('intercept', 'condition[young]', 'slide[b]')
    >>> d.X.tolist()
    [[1.0, 1.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 1.0], [1.0, 0.0, 1.0]]
    """
    intercept, parsed = _parse_formula(formula)
    quoted = quoted or set()
    problems = []
    missing = [n for n, k in parsed if k != "interaction" and n not in samples.columns]
    if missing:
        raise InputError(
            Problem(
                f"the design names {', '.join(map(repr, missing))}, not a column of the sample table",
                fix=f"use the sample table's columns: {', '.join(map(str, samples.columns))}",
                file=file,
            )
        )
    problems = [
        _missing_problem(samples[n], n, file)
        for n, k in parsed
        if k != "interaction" and samples[n].isna().any()
    ]
    InputError.collect(problems)
    cols: list[np.ndarray] = [np.ones(len(samples))] if intercept else []
    params: list[str] = ["intercept"] if intercept else []
    terms: dict[str, Term] = {}
    full_coding = not intercept
    for name, forced in parsed:
        if forced == "interaction":
            terms[name] = _interaction(name, terms, samples, cols, params)
            continue
        col = samples[name]
        kind = _column_kind(col, name, forced, quoted, file)
        if kind == "numeric":
            num = pd.to_numeric(col, errors="coerce")
            if num.isna().any():
                bad = int(np.flatnonzero(num.isna().to_numpy())[0])
                raise InputError(
                    Problem(
                        f"num({name}) needs numbers",
                        fix="correct the value or write C(...) for a factor",
                        file=file,
                        row=bad + 2,
                        column=name,
                        value=col.iloc[bad],
                    )
                )
            terms[name] = Term(name, "numeric", (), (len(cols),), ())
            cols.append(num.to_numpy(float))
            params.append(name)
            continue
        levels = _level_order(col)
        if len(levels) < 2:
            raise InputError(
                Problem(
                    f"the factor {name!r} has a single level ({levels[0]!r}) and cannot be estimated",
                    fix=f"remove {name} from the design",
                    file=file,
                    column=name,
                )
            )
        coded = levels if full_coding else levels[1:]
        full_coding = False
        text = col.astype(str).to_numpy()
        start = len(cols)
        for lev in coded:
            cols.append((text == lev).astype(float))
            params.append(f"{name}[{lev}]")
        terms[name] = Term(name, "factor", tuple(levels), tuple(range(start, len(cols))), tuple(coded))
    X = np.column_stack(cols) if cols else np.empty((len(samples), 0))
    kept, null = _estimable_columns(X, file)
    return DesignMatrix(
        formula=formula,
        X=X[:, kept],
        params=tuple(p for p, k in zip(params, kept, strict=True) if k),
        terms=terms,
        intercept=intercept,
        full_params=tuple(params),
        kept=kept,
        null_space=null,
    )


def _interaction(
    name: str, terms: dict[str, Term], samples: pd.DataFrame, cols: list[np.ndarray], params: list[str]
) -> Term:
    """Append the products of the two factors' coded columns (R's ``a:b``) and describe the term."""
    a, b = (terms[x] for x in name.split(":"))
    for t in (a, b):
        if t.kind != "factor":
            raise InputError(
                Problem(
                    f"the interaction {name!r} involves the numeric term {t.name!r}",
                    fix="interactions are between factors; write C(...) if the column is a factor",
                )
            )
    start = len(cols)
    coded = []
    ta, tb = samples[a.name].astype(str).to_numpy(), samples[b.name].astype(str).to_numpy()
    for lb in b.coded_levels:  # R's column order: the first factor varies fastest
        for la in a.coded_levels:
            cols.append(((ta == la) & (tb == lb)).astype(float))
            params.append(f"{a.name}[{la}]:{b.name}[{lb}]")
            coded.append(f"{la}:{lb}")
    return Term(name, "interaction", (), tuple(range(start, len(cols))), tuple(coded))


def _estimable_columns(X: np.ndarray, file: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Columns not explained by the earlier ones (QR without pivoting), and the null space of X."""
    n, p = X.shape
    norms = np.maximum(np.linalg.norm(X, axis=0), 1e-300)
    Xs = X / norms
    R = np.linalg.qr(Xs, mode="r")
    kept = np.abs(np.diag(R)) >= 1e-10
    rank = int(kept.sum())
    if n <= rank:
        raise InputError(
            Problem(
                f"{n} samples for {rank} coefficients leave no residual degrees of freedom",
                fix="use a smaller design (fewer terms or levels) or more samples",
                file=file,
            )
        )
    null = linalg.null_space(Xs) / norms[:, None] if rank < p else np.zeros((p, 0))
    if null.size:
        null /= np.linalg.norm(null, axis=0)
    return kept, null


_SUMMAND = re.compile(r"^(?:(?P<w>\d+(?:\.\d*)?|\.\d+)\s*\*?\s*)?(?P<level>.+?)$")


def _split_levels(expr: str, levels: tuple[str, ...]) -> list[tuple[float, str]] | None:
    """Split ``a - b + 0.5*c`` into (weight, level) pairs; None if a level is unknown."""
    for pattern in (r"\s+([+-])\s+", r"\s*([+-])\s*"):
        parts = re.split(pattern, " " + expr.strip() if expr.strip()[:1] in "+-" else expr.strip())
        out: list[tuple[float, str]] = []
        sign = 1.0
        for tok in parts:
            if tok in ("+", "-"):
                sign = 1.0 if tok == "+" else -1.0
                continue
            if not tok.strip():
                continue
            tok = tok.strip()
            if tok in levels:  # a level name that looks like a number stays a level
                out.append((sign, tok))
            else:
                m = _SUMMAND.match(tok)
                if m is None or m.group("level").strip() not in levels:
                    out = []  # not a sum of known levels with this split: try the next one
                    break
                out.append((sign * float(m.group("w") or 1.0), m.group("level").strip()))
            sign = 1.0
        if out:
            return out
    return None


def contrast_vector(design: DesignMatrix, spec: str) -> tuple[str, np.ndarray]:
    """Turn ``"condition: old - young"`` (or a numeric term ``"age"``) into a row over the params.

    Returns the normalised label and the contrast vector.

    Examples
    --------
    >>> s = pd.DataFrame({"condition": ["young", "old", "young", "old"], "slide": ["a", "a", "b", "b"]})
    >>> label, L = contrast_vector(build_design(s, "~ condition + slide"), "condition: old - young")
    >>> label, L.tolist()
    ('condition: old - young', [0.0, -1.0, 0.0])
    """
    fix = 'write "term: level_a - level_b" (e.g. "condition: old - young") or the name of a numeric term'
    if "|" in spec:
        return _conditional_contrast(design, spec)
    term_name, _, expr = spec.partition(":")
    term_name = term_name.strip()
    term = design.terms.get(term_name)
    if term is None:
        raise InputError(
            Problem(
                f"the contrast {spec!r} names {term_name!r}, which is not a term of {design.formula!r}",
                fix=fix + f"; the terms are {', '.join(design.terms) or '(none)'}",
            )
        )
    L = np.zeros(len(design.full_params or design.params))
    if term.kind == "numeric":
        if expr.strip():
            raise InputError(
                Problem(f"{term_name!r} is numeric: its contrast is its slope", fix=f'write "{term_name}"')
            )
        L[term.columns[0]] = 1.0
        _check_estimable(design, spec, L)
        return term_name, _restrict(design, L)
    pairs = _split_levels(expr, term.levels) if expr.strip() else None
    if not pairs:
        raise InputError(
            Problem(
                f"cannot read the contrast {spec!r}",
                fix=fix + f"; the levels of {term_name} are {', '.join(term.levels)}",
            )
        )
    pairs_ab = [t.split(":") for t in design.terms if design.terms[t].kind == "interaction"]
    partners = [x for ab in pairs_ab if term_name in ab for x in ab if x != term_name]
    if partners:
        other = design.terms[partners[0]]
        raise InputError(
            Problem(
                f"in {design.formula!r} the effect of {term_name} depends on {other.name}: the contrast "
                f"{spec!r} must say where",
                fix=f'e.g. "{spec} | {other.name} = {other.levels[0]}" (within one level) or '
                f'"{spec} | {other.name}: {other.levels[-1]} - {other.levels[0]}" (difference between levels)',
            )
        )
    for w, lev in pairs:
        if lev in term.coded_levels:
            L[term.columns[term.coded_levels.index(lev)]] += w
    has_reference = len(term.coded_levels) < len(term.levels)
    if has_reference and abs(sum(w for w, _ in pairs)) > 1e-12:
        raise InputError(
            Problem(
                f"the weights of the contrast {spec!r} do not sum to zero",
                fix='compare levels, e.g. "arm: RT - CON" or "arm: 0.5*AT + 0.5*RT - CON"',
            )
        )
    label = _label(term_name, pairs)
    _check_estimable(design, spec, L)
    return label, _restrict(design, L)


def _label(term_name: str, pairs: list[tuple[float, str]]) -> str:
    return (
        term_name
        + ": "
        + " ".join(
            (("- " if w < 0 else "+ ") if i else ("-" if w < 0 else ""))
            + (f"{abs(w):g}*" if abs(abs(w) - 1) > 1e-12 else "")
            + lev
            for i, (w, lev) in enumerate(pairs)
        )
    )


def _cell_row(design: DesignMatrix, cell: dict[str, str]) -> np.ndarray:
    """The full-coding design row of a sample with the given factor levels (others at reference)."""
    row = np.zeros(len(design.full_params or design.params))
    if design.intercept:
        row[0] = 1.0
    for t in design.terms.values():
        if t.kind == "factor" and t.name in cell and cell[t.name] in t.coded_levels:
            row[t.columns[t.coded_levels.index(cell[t.name])]] = 1.0
        elif t.kind == "interaction":
            a, b = t.name.split(":")
            key = f"{cell.get(a)}:{cell.get(b)}"
            if a in cell and b in cell and key in t.coded_levels:
                row[t.columns[t.coded_levels.index(key)]] = 1.0
    return row


def _conditional_contrast(design: DesignMatrix, spec: str) -> tuple[str, np.ndarray]:
    """``"visit: post - pre | arm = AT"`` or ``"visit: post - pre | arm: RT - AT"`` from cell rows."""
    fix = (
        'write "visit: post - pre | arm = AT" (the change within one arm) or '
        '"visit: post - pre | arm: RT - AT" (the difference between the arms\' changes)'
    )
    main, _, given = (x.strip() for x in spec.partition("|"))
    term_name, _, expr = main.partition(":")
    term_name = term_name.strip()
    m = re.fullmatch(rf"\s*({_NAME})\s*(=|:)\s*(.+?)\s*", given)
    names = (term_name, m.group(1) if m else "")
    bad = [x for x in names if x not in design.terms or design.terms[x].kind != "factor"]
    if m is None or bad or names[0] == names[1]:
        factors = [t for t in design.terms if design.terms[t].kind == "factor"]
        raise InputError(
            Problem(
                f"cannot read the contrast {spec!r}"
                + (f": {bad[0]!r} is not a factor of the design" if bad and bad[0] else ""),
                fix=fix + f"; the factors are {', '.join(factors) or '(none)'}",
            )
        )
    term, other = design.terms[names[0]], design.terms[names[1]]
    pairs = _split_levels(expr, term.levels) if expr.strip() else None
    if m.group(2) == "=":
        lev = m.group(3).strip()
        others = [(1.0, lev)] if lev in other.levels else None
    else:
        others = _split_levels(m.group(3), other.levels)
    if not pairs or not others:
        raise InputError(
            Problem(
                f"cannot read the contrast {spec!r}",
                fix=fix + f"; the levels of {term.name} are {', '.join(term.levels)}, of {other.name} "
                f"{', '.join(other.levels)}",
            )
        )
    if abs(sum(w for w, _ in pairs)) > 1e-12 or (
        m.group(2) == ":" and abs(sum(w for w, _ in others)) > 1e-12
    ):
        raise InputError(Problem(f"the weights of the contrast {spec!r} do not sum to zero", fix=fix))
    L = sum(
        (w * v * _cell_row(design, {term.name: a, other.name: b}) for w, a in pairs for v, b in others),
        start=np.zeros(len(design.full_params or design.params)),
    )
    given_label = f"{other.name} = {others[0][1]}" if m.group(2) == "=" else _label(other.name, others)
    label = f"{_label(term.name, pairs)} | {given_label}"
    _check_estimable(design, spec, L)
    return label, _restrict(design, L)


def _restrict(design: DesignMatrix, L: np.ndarray) -> np.ndarray:
    return L if design.kept is None else L[design.kept]


def _check_estimable(design: DesignMatrix, spec: str, L: np.ndarray) -> None:
    """An estimable contrast is orthogonal to every direction the data cannot identify."""
    N = design.null_space
    if N is None or N.size == 0 or np.max(np.abs(L @ N)) <= 1e-8 * max(float(np.linalg.norm(L)), 1.0):
        return
    raise InputError(
        Problem(
            f"the contrast {spec!r} cannot be estimated with the design {design.formula!r}: what it "
            f"compares is confounded with other terms (not estimable: {', '.join(design.dropped)})",
            fix="compare levels that the design separates (e.g. within the same participant or batch), "
            "or remove the confounded term from the design",
        )
    )
