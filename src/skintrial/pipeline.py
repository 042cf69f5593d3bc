"""The trial pipeline: a validated study → a loop over stages → result tables + provenance.

Data flow (DESIGN.md): study → instruments/training → stats/omics → report. Each stage
(:data:`STAGES`) takes the study and returns one :class:`~skintrial.stage.StageResult` (its tables under
names registered in :mod:`skintrial.tables`, its exclusions, assets and settings); this module runs
them in order, checks each against the registry, and writes ``results/*.csv`` and ``provenance.json``.
The CLI hands its :class:`TrialResults` to :mod:`skintrial.report` for the HTML.

The stages
----------
* ``instruments`` — raw instrument files measured; their values replace the table values of the same
  outcomes before any analysis (:func:`skintrial.instruments.raw_stage`).
* ``description`` — participant flow, baseline table, descriptives, within-arm change.
* ``ancova`` — a randomised trial (``[study] design``): the primary analysis of the last visit on
  baseline + arm (+ the plan's covariates), complete cases per outcome, multiplicity per family.
* ``clda``, ``mixed_anova``, ``cross_sectional``, ``paired_change`` — when listed in ``[analysis]
  methods`` (which the design allows: docs/bundle.md, "Study designs").
* ``training`` — the training log, dose–response and the per-protocol sensitivity ANCOVA.
* ``omics`` — serum panel, mechanism view, fibroblast qPCR, expression.

On a cluster (``analyse(study, client=...)``, ``skintrial run --cluster``) the stages that hold a batch —
the raw instrument files, the omics outcome axis — run their tasks on it; the result is the one this
process gives (docs/scale.md).
"""

from __future__ import annotations

import json
import platform
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from skintrial._io import OUTPUTS, sha256_file, write_files
from skintrial.cluster import Runner, as_runner
from skintrial.stage import EXCLUSION_COLUMNS, StageResult
from skintrial.study import Study
from skintrial.tables import TABLES, check_stage, table_spec

__all__ = [
    "Stage",
    "TrialResults",
    "analyse",
    "write_results",
    "input_paths",
]

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


Progress = Callable[[str, int], Callable[[int], None]]
"""``progress(description, total)`` returns a function to call with the number of items just done."""


@dataclass(frozen=True)
class Stage:
    """One step of the pipeline: ``run(study, progress, runner)`` gives its result when ``when(study)``;
    a stage with a batch runs its tasks through ``runner`` (:mod:`skintrial.cluster`)."""

    name: str
    run: Callable[[Study, Progress | None, Runner], StageResult]
    when: Callable[[Study], bool] = lambda study: True


@dataclass(frozen=True)
class TrialResults:
    """Everything a report needs: the study as analysed, each stage's result, and the provenance.

    Tables are read by their registered name (:meth:`table`); a name that is not registered in
    :mod:`skintrial.tables` raises, so a misspelt name fails instead of silently dropping a section.
    """

    study: Study
    stages: tuple[StageResult, ...] = ()
    provenance: Mapping[str, object] = field(default_factory=dict)

    def table(self, name: str) -> pd.DataFrame:
        """The table ``name``: registered, and produced by a stage of this run (``KeyError`` if not)."""
        found = self.get(name)
        if found is None:
            raise KeyError(f"this run produced no {name!r} table (its stage did not run or had no data)")
        return found

    def get(self, name: str, default: pd.DataFrame | None = None) -> pd.DataFrame | None:
        """The table ``name`` (registered), or ``default`` when no stage of this run produced it."""
        table_spec(name)
        for stage in self.stages:
            if name in stage.tables:
                return stage.tables[name]
        return default

    def has(self, name: str) -> bool:
        """Whether this run produced the registered table ``name``."""
        return self.get(name) is not None

    @property
    def tables(self) -> Mapping[str, pd.DataFrame]:
        """Every table of the run by name, in the registry's order (written and report-only)."""
        found = {n: t for stage in self.stages for n, t in stage.tables.items()}
        return MappingProxyType({n: found[n] for n in TABLES if n in found})

    def settings(self, stage: str) -> Mapping[str, object]:
        """The settings stage ``stage`` ran with (empty when it did not run); ``KeyError`` for a name
        that is no stage of the pipeline, so a misspelt stage fails instead of reading as empty."""
        if stage not in stage_names():
            raise KeyError(f"{stage!r} is not a stage of the pipeline; stages: {', '.join(stage_names())}")
        return next((s.settings for s in self.stages if s.stage == stage), MappingProxyType({}))

    @property
    def assets(self) -> Mapping[str, bytes]:
        """Files for the output folder (overlays), by path relative to it."""
        return MappingProxyType({k: v for stage in self.stages for k, v in stage.assets.items()})

    @property
    def followup_visit(self) -> str:
        return self.study.spec.study.visits[-1]


def _declared_order(table: pd.DataFrame, study: Study) -> pd.DataFrame:
    """Rows in the order outcomes are declared in study.toml (stable within an outcome)."""
    rank = {o: i for i, o in enumerate(study.spec.outcomes)}
    return table.sort_values("outcome", key=lambda s: s.map(rank), kind="mergesort").reset_index(drop=True)


def _provenance(study: Study, stages: Sequence[StageResult]) -> dict:
    versions: dict[str, str | None] = {}
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
        # a raw file under [raw] data_root lies outside the bundle: recorded by its absolute path
        "inputs": {
            str(p.relative_to(study.root) if p.is_relative_to(study.root) else p): sha256_file(p)
            for p in _input_files(study)
        },
        "tables": {k: len(v) for s in stages for k, v in s.tables.items() if TABLES[k].written},
        "stages": {s.stage: dict(s.settings) for s in stages},
        "written_by": "skintrial",
        "outputs": list(OUTPUTS),
    }


def _instruments(study: Study, progress: Progress | None, runner: Runner) -> StageResult:
    from skintrial.instruments import raw_stage

    n_files = 0 if study.manifest is None else len(study.manifest)
    return raw_stage(
        study,
        progress=progress("measuring raw instrument files", n_files) if progress else None,
        client=runner,
    )


def _omics(study: Study, progress: Progress | None, runner: Runner) -> StageResult:
    from skintrial.omics import omics_stage

    return omics_stage(study, client=runner)


def _plain(run: Callable[[Study], StageResult]) -> Callable[[Study, Progress | None, Runner], StageResult]:
    def stage(study: Study, progress: Progress | None, runner: Runner) -> StageResult:
        return run(study)

    return stage


def _listed(method: str) -> Callable[[Study], bool]:
    def when(study: Study) -> bool:
        return method in study.spec.analysis.methods

    return when


def _randomised(study: Study) -> bool:
    return study.spec.study.randomised


def _sensitivity(study: Study) -> bool:
    return _randomised(study) and bool(study.spec.analysis.sensitivity)


def _responders(study: Study) -> bool:
    from skintrial import stats

    return _randomised(study) and stats.has_responders(study)


def _stages() -> tuple[Stage, ...]:
    from skintrial import stats, training

    return (
        Stage("instruments", _instruments),
        Stage("description", _plain(stats.description_stage)),
        Stage("ancova", _plain(stats.ancova_stage), when=_randomised),
        Stage("clda", _plain(stats.clda_stage), when=_listed("clda")),
        Stage("mixed_anova", _plain(stats.mixed_anova_stage), when=_listed("mixed_anova")),
        Stage("cross_sectional", _plain(stats.cross_sectional_stage), when=_listed("cross_sectional")),
        Stage("paired_change", _plain(stats.paired_change_stage), when=_listed("paired_change")),
        Stage("sensitivity", _plain(stats.sensitivity_stage), when=_sensitivity),
        Stage("responders", _plain(stats.responders_stage), when=_responders),
        Stage("training", _plain(training.training_stage)),
        Stage("omics", _omics),
    )


def stage_names() -> tuple[str, ...]:
    """Every stage of :func:`analyse`, in order, and ``pipeline`` (which gathers the exclusions)."""
    return (*(s.name for s in _stages()), "pipeline")


def input_paths(study: Study) -> list[Path]:
    """The study folder and every file the analysis reads: what an output folder must never replace."""
    return [study.root, *_input_files(study)]


def _input_files(study: Study) -> list[Path]:
    """Every file of the bundle that fed the analysis: tables, training and molecular files, and each
    raw instrument file the manifest lists."""
    from skintrial.study import find_table

    extra = []
    screening = find_table(study.root, "screening")  # optional CONSORT table (docs/bundle.md)
    if screening is not None:
        extra.append(screening)
    for spec, default in (
        (getattr(study.spec, "serum", None), "serum.csv"),
        (study.spec.training, "training.csv"),
        (getattr(study.spec, "qpcr", None), "qpcr.csv"),
    ):
        name = getattr(spec, "file", None) or default
        if (study.root / name).is_file():
            extra.append(study.root / name)
    expression = getattr(study.spec, "expression", None)
    if expression is not None:  # the matrix, its sample table, a GMT file of the bundle
        for name in (expression.file, expression.samples, expression.genesets):
            if name and (study.root / name).is_file():
                extra.append(study.root / name)
    if study.manifest is not None:
        extra += [
            Path(p) for p in study.manifest["path"] if Path(p).is_file()
        ]  # missing: in instrument_files
    return [*study.files, *extra]


def analyse(study: Study, *, progress: Progress | None = None, client: object = None) -> TrialResults:
    """Run the pre-specified analyses of a validated study: every stage of the pipeline in order.

    ``client`` (a ``distributed.Client`` or a :mod:`skintrial.cluster` runner) runs the batches of the
    stages that have them on a Dask cluster; the tables are the ones this process gives without it.

    Each stage's tables are checked against the registry (:func:`skintrial.tables.check_stage`) and
    put in the order outcomes are declared in study.toml; the exclusions of all stages make the
    ``exclusions`` table.

    Examples
    --------
    >>> import tempfile
    >>> from skintrial.plan import synthetic_study
    >>> from skintrial.study import load_study
    >>> res = analyse(load_study(synthetic_study(seed=2, n=24).write(tempfile.mkdtemp())))
    >>> sorted(res.table("ancova")["contrast"].unique())
    ['RT - AT']
    >>> [s.stage for s in res.stages][:3]
    ['instruments', 'description', 'ancova']
    """
    runner = as_runner(client)
    done: list[StageResult] = []
    for stage in _stages():
        if not stage.when(study):
            continue
        result = check_stage(stage.run(study, progress, runner))
        if result.measurements is not None:
            study = study.with_measurements(result.measurements)
        tables = {
            k: _declared_order(v, study) if "outcome" in v.columns else v for k, v in result.tables.items()
        }
        done.append(replace(result, tables=tables))
    frames = [e for s in done for e in s.exclusions]
    exclusions = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(EXCLUSION_COLUMNS))
    )
    done.append(
        check_stage(StageResult(stage="pipeline", tables={"exclusions": _declared_order(exclusions, study)}))
    )
    return TrialResults(study=study, stages=tuple(done), provenance=_provenance(study, done))


def write_results(results: TrialResults, out: Path) -> list[Path]:
    """Write ``results/<table>.csv`` for every written table of the registry, the stages' assets, and
    ``provenance.json`` under ``out`` (all or none of them, :func:`skintrial._io.write_files`)."""
    files: dict[Path, bytes | str | pd.DataFrame] = {
        out / "results" / f"{name}.csv": t for name, t in results.tables.items() if TABLES[name].written
    }
    files.update({out / rel: data for rel, data in results.assets.items()})
    files[out / "provenance.json"] = json.dumps(results.provenance, indent=2, default=str) + "\n"
    return write_files(files)
