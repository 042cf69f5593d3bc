"""The trial pipeline: a validated study → every pre-specified analysis → result tables + provenance.

Data flow (DESIGN.md): study → instruments/training → stats/omics → report. This module runs the
first three and writes ``results/*.csv`` and ``provenance.json``; the CLI hands its
:class:`TrialResults` to :mod:`skintrial.report` for the HTML.

Which analysis is which
-----------------------
* ``ancova`` — always run: the primary analysis of the last visit on baseline + arm (+ the plan's
  covariates), complete cases per outcome, contrasts vs the reference arm (or all pairs),
  multiplicity per family (primary outcomes, secondary outcomes) by the plan's method.
* ``clda`` and ``mixed_anova`` — run when listed in ``[analysis] methods``; cLDA keeps participants
  with missing follow-up; the mixed ANOVA is the replication analysis of published papers.
* ``cross_sectional`` — when listed: the groups of ``[analysis.cross_sectional] group`` (default: the
  arms) compared at one visit (default: baseline) on every outcome, adjusted for covariates
  (``results/cross_sectional.csv``: the ancova.csv columns, then ``visit, group_column``).
* descriptive statistics by arm and visit, and within-arm change — description only.
"""

from __future__ import annotations

import json
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import pandas as pd

from skintrial._io import (
    atomic_output_dir,
    changes_since_marked,
    mark_written,
    replace_problems,
    sha256_file,
    write_csv,
)
from skintrial.errors import Problem
from skintrial.stats._schema import CROSS_SECTIONAL_COLUMNS
from skintrial.study import Study
from skintrial.study._schema import CrossSectionalSpec
from skintrial.study._summaries import analysis_exclusions, baseline_characteristics, participant_flow

__all__ = [
    "TrialResults",
    "analyse",
    "write_results",
    "OUTPUTS",
    "is_run_output",
    "input_paths",
    "recorded_inputs",
    "DEMO_STUDY",
    "demo_problems",
    "write_demo_study",
]

OUTPUTS = ("results", "overlays", "report.html", "provenance.json")
"""What a run writes into its output folder; a new run replaces all of them, but only where the folder
already holds an earlier run's outputs (:func:`is_run_output`)."""

_PACKAGES = (
    "skintrial",
    "numpy",
    "scipy",
    "pandas",
    "statsmodels",
    "pydantic",
    "matplotlib",
    "jinja2",
    "scikit-image",
    "pydicom",
    "pillow",
    "openpyxl",
    "pyarrow",
    "anndata",
)


@dataclass(frozen=True)
class TrialResults:
    """Everything a report needs: the study, named result tables, provenance, and files to write.

    ``assets`` maps a path relative to the output folder (``overlays/P001_week0.png``) to its bytes.
    """

    study: Study
    tables: dict[str, pd.DataFrame]
    provenance: dict = field(default_factory=dict)
    assets: dict[str, bytes] = field(default_factory=dict)
    report_data: dict[str, object] = field(default_factory=dict)
    """Material only the report shows (example raw curves); not written as results."""

    @property
    def followup_visit(self) -> str:
        return self.study.spec.study.visits[-1]


def _families(study: Study) -> dict[str, list[str]]:
    present = set(study.outcomes)
    return {
        "primary": [o for o in study.spec.analysis.primary if o in present],
        "secondary": [o for o in study.spec.secondary if o in present],
    }


def _declared_order(table: pd.DataFrame, study: Study) -> pd.DataFrame:
    """Rows in the order outcomes are declared in study.toml (stable within an outcome)."""
    rank = {o: i for i, o in enumerate(study.spec.outcomes)}
    return table.sort_values("outcome", key=lambda s: s.map(rank), kind="mergesort").reset_index(drop=True)


def _adjust(table: pd.DataFrame, study: Study) -> pd.DataFrame:
    from skintrial.stats import adjust_families

    a = study.spec.analysis
    return adjust_families(table, families=_families(study), method=a.multiplicity, gatekeeping=a.gatekeeping)


def _provenance(study: Study, tables: dict[str, pd.DataFrame]) -> dict:
    versions = {}
    for pkg in _PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {
        "skintrial_version": versions["skintrial"],
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": versions,
        "study": study.spec.study.name,
        "seed": study.spec.study.seed,
        "analysis_plan": study.spec.analysis.model_dump(),
        "study_dir": str(study.root.resolve()),
        "inputs": {str(p.relative_to(study.root)): sha256_file(p) for p in _input_files(study)},
        "tables": {k: len(v) for k, v in tables.items()},
        "written_by": "skintrial",
        "outputs": list(OUTPUTS),
    }


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
    inputs = prov.get("inputs") if isinstance(prov.get("inputs"), dict) else {}
    return [root, *(root / name for name in inputs)]


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


def write_demo_study(write: Callable[[Path], object], out: Path) -> Path:
    """``write(folder)`` the demo's study bundle and put it in place as ``out/study``, marked as the
    demo's (:func:`skintrial._io.mark_written`) so that a later demo may replace it, and no other
    ``out/study`` ever is; written whole or not at all."""

    def owned(o: Path) -> bool:
        return _demo_study_changes(o) is None

    with atomic_output_dir(
        out, managed=(DEMO_STUDY,), owned=owned, unowned=f"{DEMO_STUDY}/ changed while the demo ran"
    ) as stage:
        write(stage / DEMO_STUDY)
        mark_written(stage / DEMO_STUDY, by=_DEMO)
    return Path(out) / DEMO_STUDY


Progress = Callable[[str, int], Callable[[int], None]]
"""``progress(description, total)`` returns a function to call with the number of items just done."""


def _raw_layer(study: Study, progress: Progress | None):
    """Raw instrument files → measurements (replacing table values of the same outcomes)."""
    from skintrial.instruments import measure_raw, read_cutometer
    from skintrial.instruments._study_layer import cutometer_options

    n_files = 0 if study.manifest is None else len(study.manifest)
    raw = measure_raw(
        study, progress=progress("measuring raw instrument files", n_files) if progress else None
    )
    if not raw.outcomes:
        return study, {}, [], {}, {}
    tables = {"instrument_files": raw.files, "instrument_agreement": raw.agreement}
    clean = raw.files[(raw.files["instrument"] == "cutometer") & (raw.files["qc"].fillna("") == "")]["file"]
    man = study.manifest
    cut = man[(man["instrument"] == "cutometer") & man["file"].isin(clean)]["path"].head(3)
    mapping = cutometer_options(study.spec.raw).get("mapping")  # the bundle's vendor columns, as measured
    examples = (
        {"cutometer_curves": pd.concat([read_cutometer(p, mapping=mapping) for p in cut], ignore_index=True)}
        if len(cut)
        else {}
    )
    return study.with_measurements(raw.measurements), tables, [raw.exclusions], raw.overlays, examples


def _training_layer(study: Study, long: pd.DataFrame, ancova_args: dict):
    """Training log → summary, dose–response and the per-protocol sensitivity ANCOVA."""
    from skintrial.stats import ancova
    from skintrial.training._study import analyse_training

    tr = analyse_training(study)
    if tr is None:
        return {}, [], {}
    tables = {"training_summary": tr.summary, "dose_response": tr.dose_response}
    excl = []
    if tr.per_protocol is not None:
        pp = tr.per_protocol
        tables["per_protocol"] = pp
        keep = set(pp.loc[pp["per_protocol"].astype(bool), "participant_id"])
        out = pp[~pp["participant_id"].isin(keep)]
        excl.append(
            pd.DataFrame(
                {
                    "analysis": "ancova_per_protocol",
                    "outcome": "",
                    "participant_id": out["participant_id"],
                    "arm": out["arm"],
                    "visit": "",
                    "reason": out["reason"],
                }
            )
        )
        res = ancova(long[long["participant_id"].isin(keep)], **ancova_args)
        tables["ancova_per_protocol"] = _adjust(res.contrasts, study)
    return tables, excl, {"dose_data": tr.dose_data, "training_summary": tr.summary}


def _omics_layer(study: Study) -> dict[str, pd.DataFrame]:
    """Serum panel, fibroblast qPCR and the mechanism view, when the bundle has them."""
    from skintrial.omics._study_layer import analyse_omics

    return analyse_omics(study)


def _group_text(value: object) -> object:
    """A group as text: ``1`` for a number column's 1.0, so contrasts read ``2 - 1``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if value is None or isinstance(value, str) else str(value)


def _cross_sectional(study: Study) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``cross_sectional`` method: groups compared at one visit, adjusted for covariates."""
    from skintrial.stats import cross_sectional

    s, plan = study.spec.study, study.spec.analysis
    cs = plan.cross_sectional or CrossSectionalSpec()
    visit = cs.visit or s.baseline_visit
    covariates = list(plan.covariates if cs.covariates is None else cs.covariates)
    by_arm = cs.group == "arm"
    people = study.participants[list(dict.fromkeys(["participant_id", cs.group, *covariates]))].copy()
    people[cs.group] = people[cs.group].map(_group_text)
    m = study.measurements
    data = m[m["visit"] == visit].merge(people, on="participant_id", how="inner")
    res = cross_sectional(
        data,
        group=cs.group,
        covariates=covariates,
        outcomes=study.outcomes,
        at_visit=visit,
        groups=s.arms if by_arm else sorted(people[cs.group].dropna().unique()),
        reference_group=cs.reference_group
        if cs.reference_group is not None
        else (s.reference_arm if by_arm else None),
        ci_level=plan.ci_level,
    )
    table = _adjust(res.contrasts, study).assign(visit=visit, group_column=cs.group)
    excl = analysis_exclusions(study, outcomes=study.outcomes, visits=[visit], analysis="cross_sectional")
    return table[list(CROSS_SECTIONAL_COLUMNS)], excl


def _qpcr_exclusions(wells: pd.DataFrame, study: Study) -> pd.DataFrame:
    """qPCR wells or samples left out, in the common exclusion table (details in qpcr_exclusions.csv)."""
    arm = study.participants.set_index("participant_id")["arm"]
    return pd.DataFrame(
        {
            "analysis": "qpcr",
            "outcome": wells["gene"],
            "participant_id": wells["participant_id"],
            "arm": wells["participant_id"].map(arm),
            "visit": wells["visit"],
            "reason": wells["stage"].astype(str)
            + ": "
            + wells["reason"].astype(str)
            + " ("
            + wells["action"].astype(str)
            + ")",
        }
    )


def input_paths(study: Study) -> list[Path]:
    """The study folder and every file the analysis reads: what an output folder must never replace."""
    return [study.root, *_input_files(study)]


def _input_files(study: Study) -> list[Path]:
    """Every file of the bundle that fed the analysis: tables, training and molecular files, and each
    raw instrument file the manifest lists."""
    extra = []
    for spec, default in (
        (getattr(study.spec, "serum", None), "serum.csv"),
        (study.spec.training, "training.csv"),
        (getattr(study.spec, "qpcr", None), "qpcr.csv"),
    ):
        name = getattr(spec, "file", None) or default
        if (study.root / name).is_file():
            extra.append(study.root / name)
    if study.manifest is not None:
        extra += [
            Path(p) for p in study.manifest["path"] if Path(p).is_file()
        ]  # missing: in instrument_files
    return [*study.files, *extra]


def analyse(study: Study, *, progress: Progress | None = None) -> TrialResults:
    """Run the pre-specified analyses of a validated study.

    Examples
    --------
    >>> import tempfile
    >>> from skintrial.plan import synthetic_study
    >>> from skintrial.study import load_study
    >>> res = analyse(load_study(synthetic_study(seed=2, n=24).write(tempfile.mkdtemp())))
    >>> sorted(res.tables["ancova"]["contrast"].unique())
    ['RT - AT']
    """
    from skintrial import stats

    study, raw_tables, excl, assets, report_data = _raw_layer(study, progress)
    s = study.spec.study
    plan = study.spec.analysis
    long = study.long()
    followup = s.visits[-1]
    common = dict(arms=s.arms, reference_arm=s.reference_arm)
    ancova_args = dict(
        baseline_visit=s.baseline_visit,
        followup_visit=followup,
        covariates=plan.covariates,
        interaction=plan.interaction,
        ci_level=plan.ci_level,
        **common,
    )
    anc = stats.ancova(long, **ancova_args)
    tables = {
        "flow": participant_flow(study),
        "baseline": baseline_characteristics(study),
        "descriptives": stats.describe(long, arms=s.arms, visits=s.visits),
        "change": stats.within_arm_change(
            long,
            baseline_visit=s.baseline_visit,
            followup_visit=followup,
            ci_level=plan.ci_level,
            arms=s.arms,
        ),
        "ancova": _adjust(anc.contrasts, study),
        "emmeans": anc.emmeans,
        "arm_tests": anc.arm_test,
    }
    tables.update(raw_tables)
    training_tables, training_excl, training_data = _training_layer(study, long, ancova_args)
    tables.update(training_tables)
    omics = _omics_layer(study)
    tables.update(omics)
    if "qpcr_exclusions" in omics:
        excl.append(_qpcr_exclusions(omics["qpcr_exclusions"], study))
    excl += training_excl
    report_data.update(training_data)
    excl.append(
        analysis_exclusions(
            study, outcomes=study.outcomes, visits=[s.baseline_visit, followup], analysis="ancova"
        )
    )
    if "clda" in plan.methods:
        excl.append(
            analysis_exclusions(
                study,
                outcomes=study.outcomes,
                visits=s.visits,
                analysis="clda",
                require="any",
                measured_only=True,
            )
        )
    if "mixed_anova" in plan.methods:
        excl.append(
            analysis_exclusions(
                study, outcomes=study.outcomes, visits=s.visits, analysis="mixed_anova", measured_only=True
            )
        )
    if "clda" in plan.methods:
        from skintrial.stats.clda import clda

        cl = clda(
            long,
            baseline_visit=s.baseline_visit,
            visits=s.visits,
            covariates=plan.covariates,
            ci_level=plan.ci_level,
            **common,
        )
        tables["clda"] = _adjust(cl[cl["visit"] == followup] if "visit" in cl else cl, study)
    if "mixed_anova" in plan.methods:
        tables["mixed_anova"] = stats.mixed_anova(long, visits=s.visits, arms=s.arms)
    if "cross_sectional" in plan.methods:
        tables["cross_sectional"], cs_excl = _cross_sectional(study)
        excl.append(cs_excl)
    tables["exclusions"] = pd.concat(excl, ignore_index=True)
    tables = {k: _declared_order(v, study) if "outcome" in v.columns else v for k, v in tables.items()}
    return TrialResults(
        study=study,
        tables=tables,
        provenance=_provenance(study, tables),
        assets=assets,
        report_data=report_data,
    )


def write_results(results: TrialResults, out: Path) -> list[Path]:
    """Write ``results/<table>.csv`` and ``provenance.json`` under ``out``."""
    written = [write_csv(t, out / "results" / f"{name}.csv") for name, t in results.tables.items()]
    for rel, data in results.assets.items():
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(target)
    prov = out / "provenance.json"
    prov.write_text(json.dumps(results.provenance, indent=2, default=str) + "\n", encoding="utf-8")
    return [*written, prov]
