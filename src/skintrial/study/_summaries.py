"""Study-level summary tables: participant flow (CONSORT), baseline characteristics, exclusions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from skintrial.stage import EXCLUSION_COLUMNS
from skintrial.study._bundle import Study

__all__ = ["participant_flow", "baseline_characteristics", "analysis_exclusions", "EXCLUSION_COLUMNS"]


def participant_flow(study: Study) -> pd.DataFrame:
    """CONSORT counts per arm: randomised, withdrawn (each reason and last visit a row), completed.

    Columns ``arm, stage, reason, withdrawal_visit, n``; ``stage`` is ``randomised`` (``enrolled`` in a
    study whose design is not randomised), ``withdrawn`` or ``completed``.

    Examples
    --------
    >>> from skintrial.plan import synthetic_study
    >>> import tempfile
    >>> from skintrial.study import load_study
    >>> s = load_study(synthetic_study(seed=3, n=20).write(tempfile.mkdtemp()))
    >>> int(participant_flow(s).query("stage == 'randomised'")["n"].sum())
    20
    """
    p = study.participants
    first = "randomised" if study.spec.study.randomised else "enrolled"
    rows = []
    for arm in study.arms:
        sub = p[p["arm"] == arm]
        rows.append((arm, first, "", "", len(sub)))
        wd = sub[sub["status"] == "withdrawn"]
        reasons = wd["withdrawal_reason"].fillna("not given")
        visits = wd["withdrawal_visit"].fillna("")
        for (reason, visit), n in (
            pd.Series(1, index=pd.MultiIndex.from_arrays([reasons, visits]))
            .groupby(level=[0, 1])
            .sum()
            .items()
        ):
            rows.append((arm, "withdrawn", str(reason), str(visit), int(n)))
        rows.append((arm, "completed", "", "", int((sub["status"] == "completed").sum())))
    return pd.DataFrame(rows, columns=["arm", "stage", "reason", "withdrawal_visit", "n"])


def baseline_characteristics(study: Study) -> pd.DataFrame:
    """Baseline table by arm: age, sex, strata and every outcome's baseline value.

    Columns ``variable, level, arm, n, mean, sd, count, percent``: numeric variables fill
    ``mean``/``sd``; categorical ones fill ``count``/``percent`` per ``level``. No p-values: in a
    randomised trial baseline differences are chance by construction (CONSORT item 15).
    """
    p = study.participants
    rows = []
    cat_cols = [
        c
        for c in p.columns
        if c not in ("participant_id", "arm", "status", "withdrawal_visit", "withdrawal_reason")
    ]
    for arm in study.arms:
        sub = p[p["arm"] == arm]
        for c in cat_cols:
            if pd.api.types.is_numeric_dtype(p[c]):
                x = sub[c].dropna()
                rows.append((c, "", arm, len(x), x.mean(), x.std(ddof=1), np.nan, np.nan))
            else:
                n = sub[c].notna().sum()
                for level in sorted(p[c].dropna().astype(str).unique()):
                    k = int((sub[c].astype(str) == level).sum())
                    rows.append((c, level, arm, int(n), np.nan, np.nan, k, 100.0 * k / n if n else np.nan))
    base = study.long()
    base = base[base["visit"] == study.spec.study.baseline_visit]
    for o in study.outcomes:
        for arm in study.arms:
            x = base.loc[(base["outcome"] == o) & (base["arm"] == arm), "value"]
            rows.append(
                (o, "", arm, len(x), x.mean(), x.std(ddof=1) if len(x) > 1 else np.nan, np.nan, np.nan)
            )
    return pd.DataFrame(rows, columns=["variable", "level", "arm", "n", "mean", "sd", "count", "percent"])


def analysis_exclusions(
    study: Study,
    *,
    outcomes: Sequence[str],
    visits: Sequence[str],
    analysis: str,
    require: str = "all",
    measured_only: bool = False,
) -> pd.DataFrame:
    """Every participant left out of an analysis of each outcome, and why.

    ``require="all"``: the analysis needs a value at every one of ``visits`` (complete cases: ANCOVA
    needs baseline and follow-up, the mixed ANOVA every visit). ``require="any"``: it needs at least one
    (cLDA). ``measured_only``: of ``visits``, only those at which the outcome was measured (anyone has
    a value) count — the analyses that fit each outcome on its measured visits (cLDA, mixed ANOVA).
    Columns :data:`EXCLUSION_COLUMNS`.
    """
    m = study.measurements
    have = m.groupby(["outcome", "visit"])["participant_id"].apply(set).to_dict()
    p = study.participants
    rows = []
    for o in outcomes:
        has = [(v, have.get((o, v), set())) for v in visits]
        if measured_only:
            has = [(v, h) for v, h in has if h]
        for pid, arm, status, reason in zip(
            p["participant_id"], p["arm"], p["status"], p["withdrawal_reason"], strict=True
        ):
            missing = [v for v, h in has if pid not in h]
            if not missing or (require == "any" and len(missing) < len(has)):
                continue
            why = (
                "no value at any visit"
                if len(missing) == len(has) and require == "any"
                else f"no {' and no '.join(missing)} value"
            )
            if status == "withdrawn":
                why += f" (withdrawn: {reason or 'reason not given'})"
            rows.append((analysis, o, pid, arm, "", why))
    return pd.DataFrame(rows, columns=list(EXCLUSION_COLUMNS))
