"""A bundle's raw instrument files → measurements, before any statistics.

Which outcomes come from raw files: every declared outcome whose ``instrument`` is ``cutometer`` or
``ultrasound`` and that has files of that instrument in the manifest (at the outcome's ``site``
when both name one). Its value is the instrument output named by the outcome's ``parameter``
(default: the outcome's own name). Several files for the same participant, visit and outcome are
replicates, combined by the outcome's ``replicate_rule``.

Files that are missing, fail to read, give no measurement or carry a QC flag are not used: each is
listed in the exclusions with its error or flags, and the batch goes on. A usable file whose output
for an outcome is empty (NaN) is listed too and gives no value: a NaN never replaces a table value. For each participant, visit and outcome
the value computed from usable raw files replaces a value of ``measurements.csv``; where there is
no usable file, the table's value (if any) is kept. ``instrument_agreement`` compares the two where
both exist and counts where every value came from.
"""

from __future__ import annotations

import html
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, cast

import numpy as np
import pandas as pd

from skintrial.cluster import Runner, as_runner
from skintrial.errors import InputError, Problem
from skintrial.instruments._batch import error_cell
from skintrial.instruments._curve_sheet import flagged_curves_page
from skintrial.instruments._cutometer_defs import INFORMATIONAL_FLAGS, PARAMETERS
from skintrial.qc import FLAGGED_CURVES_PAGE, flagged
from skintrial.stage import EXCLUSION_COLUMNS, StageResult
from skintrial.study import RawSpec, Study, manifest_spacing

__all__ = ["RawMeasurements", "raw_outcomes", "measure_raw", "cutometer_options", "raw_stage"]

_CUTOMETER_OUTPUTS = tuple(PARAMETERS)  # Ue-Ua, R0-R9 and the area parameters F0-F4, Q0-Q3
_ULTRASOUND_OUTPUTS = (
    "dermal_thickness_mm",
    "dermal_thickness_iqr_mm",
    "entry_echo_mm",
    "lep_fraction",
    "mep_fraction",
    "hep_fraction",
    "lep_upper",
    "lep_lower",
    "lep_ratio",
    "sleb_thickness_mm",
)
OUTPUTS = {"cutometer": _CUTOMETER_OUTPUTS, "ultrasound": _ULTRASOUND_OUTPUTS}


@dataclass(frozen=True)
class RawMeasurements:
    """What the raw files gave: replicate-level values, one row per file, exclusions, overlays."""

    measurements: pd.DataFrame  # participant_id, visit, outcome, value, file
    files: pd.DataFrame  # manifest columns + instrument outputs + qc
    exclusions: pd.DataFrame  # EXCLUSION_COLUMNS, one row per file × outcome it would have given
    agreement: pd.DataFrame  # outcome, n_raw, n_table_only, n, mean_difference, max_abs_difference
    outcomes: list[str]
    overlays: dict[str, bytes] = field(default_factory=dict)


def raw_outcomes(study: Study) -> dict[str, tuple[str, str]]:
    """Outcome → (instrument, parameter) for every outcome computed from the bundle's raw files."""
    if study.manifest is None:
        return {}
    have = set(study.manifest["instrument"])
    out, problems = {}, []
    for name, spec in study.spec.outcomes.items():
        if spec.instrument not in OUTPUTS or spec.instrument not in have:
            continue
        param = spec.parameter or name
        sites = set(study.manifest.loc[study.manifest["instrument"] == spec.instrument, "site"].dropna())
        if spec.site is None and len(sites) > 1:
            problems.append(
                Problem(
                    f"outcome '{name}' declares no site, but the manifest has {spec.instrument} files from several "
                    f"sites {sorted(sites)}",
                    file=str(study.root / "study.toml"),
                    column=f"outcomes.{name}.site",
                    fix="declare the outcome's site (one outcome per site), so sites are not averaged as replicates",
                )
            )
            continue
        if param not in OUTPUTS[spec.instrument]:
            problems.append(
                Problem(
                    f"outcome '{name}' takes parameter '{param}', which the {spec.instrument} does not produce",
                    file=str(study.root / "study.toml"),
                    column=f"outcomes.{name}.parameter",
                    fix=f"set parameter to one of {list(OUTPUTS[spec.instrument])}",
                )
            )
            continue
        out[name] = (spec.instrument, param)
    InputError.collect(problems)
    return out


def cutometer_options(raw: RawSpec | None) -> dict[str, Any]:
    """The ``[raw]`` table's Cutometer options as keyword arguments of ``cutometer_files`` (the same
    options as ``skintrial cutometer``): ``mapping`` from ``[raw.cutometer_columns]``, and ``on_s``,
    ``off_s``, ``onset_s``, ``read_time_s``, ``method``, ``drop_first_cycle``."""
    from skintrial.instruments._cutometer_read import column_mapping

    if raw is None:
        return {}
    opts: dict[str, Any] = {
        "on_s": raw.cutometer_on_s,
        "off_s": raw.cutometer_off_s,
        "onset_s": raw.cutometer_onset_s,
        "read_time_s": raw.cutometer_read_time_s,
        "method": raw.cutometer_method,
        "drop_first_cycle": raw.cutometer_drop_first_cycle,
    }
    if raw.cutometer_columns:
        opts["mapping"] = column_mapping({str(k): v for k, v in raw.cutometer_columns.items()})
    return {k: v for k, v in opts.items() if v is not None}


def _missing_rows(paths: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {"file": paths, "qc": "error: file not found (paths are relative to the manifest's folder)"}
    )


def _run_instrument(
    instrument: str,
    rows: pd.DataFrame,
    study: Study,
    overlay_dir: Path,
    progress: Callable[[int], None] | None,
    runner: Runner,
) -> pd.DataFrame:
    paths = rows["path"].tolist()
    present = [p for p in paths if Path(p).is_file()]
    missing = _missing_rows([p for p in paths if not Path(p).is_file()])
    if progress and len(missing):
        progress(len(missing))
    found = (
        _measure(instrument, present, study, overlay_dir, progress, rows, client=runner)
        if present
        else pd.DataFrame()
    )
    out = pd.concat([found, missing], ignore_index=True) if len(missing) else found
    if "n_cycles" in out.columns:  # missing files have no cycles: keep the count an integer column
        out["n_cycles"] = out["n_cycles"].astype("Int64")
    return out


def _measure(
    instrument: str,
    paths: list[str],
    study: Study,
    overlay_dir: Path,
    progress: Callable[[int], None] | None,
    rows: pd.DataFrame,
    *,
    client: Runner | None = None,
) -> pd.DataFrame:
    raw = study.spec.raw
    if instrument == "cutometer":
        from skintrial.instruments.cutometer import cutometer_files

        # a long file may hold several measurements: each becomes a replicate row
        return cutometer_files(paths, progress=progress, client=client, **cutometer_options(raw))
    from skintrial.instruments.ultrasound import ultrasound_files

    # a file's own spacing in the manifest overrides the study-wide [raw] pixel_spacing_mm
    spacing = manifest_spacing(rows, raw.pixel_spacing_mm if raw is not None else None)
    return ultrasound_files(
        paths, pixel_spacing_mm=spacing, overlay_dir=overlay_dir, progress=progress, client=client
    )


def _agreement(study: Study, derived: pd.DataFrame, outcomes: list[str]) -> pd.DataFrame:
    """Per outcome: values from raw files, values kept from the table (no usable file), and the
    differences raw − table where both exist."""
    keys = ["participant_id", "visit", "outcome"]
    table = study.measurements[study.measurements["outcome"].isin(outcomes)]
    mean_raw = derived.groupby(keys, as_index=False)["value"].mean()
    both = mean_raw.merge(table[[*keys, "value"]], on=keys, how="outer", suffixes=("_raw", "_table"))
    rows = []
    for o in outcomes:
        b = both[both["outcome"] == o]
        d = (b["value_raw"] - b["value_table"]).dropna()
        rows.append(
            (
                o,
                int(b["value_raw"].notna().sum()),
                int((b["value_raw"].isna() & b["value_table"].notna()).sum()),
                len(d),
                float(d.mean()) if len(d) else np.nan,
                float(d.abs().max()) if len(d) else np.nan,
            )
        )
    return pd.DataFrame(
        rows, columns=["outcome", "n_raw", "n_table_only", "n", "mean_difference", "max_abs_difference"]
    )


def measure_raw(
    study: Study, *, progress: Callable[[int], None] | None = None, client: Any = None
) -> RawMeasurements:
    """Measure every raw file of a bundle and turn the results into measurements.

    Parameters
    ----------
    study : Study
        A loaded bundle with a ``[raw]`` manifest.
    progress : callable, optional
        Called with the number of files just finished (for a progress bar).
    client : distributed.Client or skintrial.cluster runner, optional
        Measure the files on a cluster (``cutometer_files`` / ``ultrasound_files`` with ``client``);
        None: in this process. The results are identical. The workers read the files at their paths
        and write the ultrasound overlays to a temporary folder of this machine
        (``tempfile.gettempdir()``): on a cluster of several machines both must be on shared storage
        (set ``TMPDIR``).
    """
    mapping = raw_outcomes(study)
    man = study.manifest
    if not mapping or man is None:  # nothing to measure
        empty = pd.DataFrame(columns=["participant_id", "visit", "outcome", "value", "file"])
        return RawMeasurements(empty, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), [])
    runner = as_runner(client)
    arms = study.participants.set_index("participant_id")["arm"]
    frames, values, excl, overlays = [], [], [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for instrument in sorted({i for i, _ in mapping.values()}):
            rows = man[man["instrument"] == instrument].reset_index(drop=True)
            res = _run_instrument(instrument, rows, study, Path(tmp), progress, runner)
            res = rows[["participant_id", "visit", "site", "instrument", "file", "path"]].merge(
                res.rename(columns={"file": "path"}), on="path", how="left", validate="one_to_many"
            )
            res = res.drop(columns=["path"])
            # a listed file the instrument gave no row for is an error, never a clean file with NaN values
            res["qc"] = res["qc"].where(
                res["qc"].notna(), error_cell("no measurement came back for this file")
            )
            frames.append(res)
            outs = [o for o, (i, _) in mapping.items() if i == instrument]
            bad = qc_flagged(res["qc"])
            for r in res[bad].itertuples():
                excl += [
                    (
                        "instruments",
                        o,
                        r.participant_id,
                        arms.get(r.participant_id),
                        r.visit,
                        f"{instrument} file {r.file}: {r.qc}",
                    )
                    for o in outs
                ]
            for o in outs:
                site = study.spec.outcomes[o].site
                param = mapping[o][1]
                value = (
                    pd.to_numeric(res[param], errors="coerce")
                    if param in res
                    else pd.Series(np.nan, res.index)
                )
                use = ~bad & (res["site"].isna() | (site is None) | (res["site"] == site))
                empty = (
                    use & value.isna()
                )  # never a NaN over a table value: listed, and the table's value stays
                excl += [
                    (
                        "instruments",
                        o,
                        r.participant_id,
                        arms.get(r.participant_id),
                        r.visit,
                        f"{instrument} file {r.file}: no {param} value",
                    )
                    for r in res[empty].itertuples()
                ]
                use &= ~empty
                values.append(
                    pd.DataFrame(
                        {
                            "participant_id": res.loc[use, "participant_id"],
                            "visit": res.loc[use, "visit"],
                            "outcome": o,
                            "value": value[use].astype(float),
                            "file": res.loc[use, "file"],
                        }
                    )
                )
        for png in sorted(Path(tmp).glob("*.png")):
            overlays[f"overlays/{png.name}"] = png.read_bytes()
    derived = pd.concat(values, ignore_index=True)
    outcomes = list(mapping)
    return RawMeasurements(
        measurements=derived,
        files=pd.concat(frames, ignore_index=True),
        exclusions=pd.DataFrame(excl, columns=list(EXCLUSION_COLUMNS)),
        agreement=_agreement(study, derived, outcomes),
        outcomes=outcomes,
        overlays=overlays,
    )


def qc_flagged(qc: pd.Series) -> pd.Series:
    """True where ``qc`` holds an error or a flag that makes the file unusable.

    Informational flags (:data:`INFORMATIONAL_FLAGS`, e.g. ``phases_inferred``) do not: such a curve is
    measured and used, its flag kept in ``instrument_files``.
    """
    return flagged(qc, INFORMATIONAL_FLAGS)


def _contact_sheet(
    files: pd.DataFrame, overlays: Mapping[str, bytes], *, n_flagged_curves: int = 0
) -> dict[str, bytes]:
    """``overlays/index.html``: every overlay on one page, flagged scans first, each captioned with
    its file and flags, so that a person can review a whole batch by eye; with ``n_flagged_curves``,
    a link to ``flagged_curves.html``, where that many flagged Cutometer files are drawn."""
    us = files[files["instrument"] == "ultrasound"]
    qc = dict(zip((PurePath(str(f)).stem for f in us["file"]), us["qc"].fillna(""), strict=True))
    name = dict(zip((PurePath(str(f)).stem for f in us["file"]), us["file"].astype(str), strict=True))
    bad = set(PurePath(str(f)).stem for f in us["file"][qc_flagged(us["qc"])])
    pngs = sorted(p for p in overlays if p.endswith(".png"))
    pngs.sort(key=lambda p: PurePath(p).stem not in bad)  # stable: flagged first, each group by name
    figures = "\n".join(
        '<figure class="{cls}"><a href="{src}"><img src="{src}" alt="{alt}" loading="lazy"></a>'
        "<figcaption>{cap}</figcaption></figure>".format(
            cls="flagged" if PurePath(p).stem in bad else "clean",
            src=html.escape(PurePath(p).name, quote=True),
            alt=html.escape(f"overlay of {name.get(PurePath(p).stem, PurePath(p).stem)}", quote=True),
            cap=html.escape(name.get(PurePath(p).stem, PurePath(p).name))
            + (f" — <b>{html.escape(qc[PurePath(p).stem])}</b>" if qc.get(PurePath(p).stem) else ""),
        )
        for p in pngs
    )
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Ultrasound overlays</title>'
        "<style>body{font:13px sans-serif;margin:1em}div{display:flex;flex-wrap:wrap;gap:12px}"
        "figure{margin:0;width:320px}img{width:100%;height:auto}figure.flagged{outline:3px solid #d1495b}"
        "</style></head><body>"
        f"<h1>Ultrasound overlays ({len(pngs)}; {sum(PurePath(p).stem in bad for p in pngs)} flagged, shown "
        "first)</h1><p>Lines: yellow skin surface, cyan top of the dermis, magenta lower edge of the SLEB, "
        "green upper/lower dermis split, red dermis/subcutis border (docs/ultrasound.md).</p>"
        + (
            f'<p>Flagged Cutometer curves ({n_flagged_curves} files): <a href="flagged_curves.html">'
            "flagged_curves.html</a>.</p>"
            if n_flagged_curves
            else ""
        )
        + f"<div>\n{figures}\n</div></body></html>\n"
    )
    return {"overlays/index.html": page.encode("utf-8")}


N_EXAMPLE_CURVES = 3
"""How many clean Cutometer curves the report draws as examples."""

N_FLAGGED_CURVES = 24
"""At most this many flagged (readable) Cutometer files are drawn in the report, in manifest order;
every one of them is drawn in ``overlays/flagged_curves.html`` (:func:`flagged_curves_page`)."""


def raw_stage(
    study: Study, *, progress: Callable[[int], None] | None = None, client: Any = None
) -> StageResult:
    """The raw-instrument stage: every file of the manifest measured (:func:`measure_raw`).

    Its ``measurements`` replace the table values of the same outcomes before any analysis; its tables
    are ``instrument_files`` and ``instrument_agreement`` (written) and ``cutometer_curves`` (a few clean
    curves and up to :data:`N_FLAGGED_CURVES` flagged ones for the report, read with the bundle's own
    column mapping, ``file`` as in the manifest); its assets are the ultrasound overlays with their
    contact sheet ``overlays/index.html``, and ``overlays/flagged_curves.html`` drawing every flagged
    (readable) Cutometer file; its settings the Cutometer options it measured with. Empty when no outcome comes from raw
    files. ``client`` (a ``distributed.Client``, a :mod:`skintrial.cluster` runner, or None for this
    process) measures the files on a cluster, as :func:`measure_raw` says; the stage is identical.
    """
    from skintrial.instruments._cutometer_read import read_cutometer

    raw = measure_raw(study, progress=progress, client=client)
    if not raw.outcomes:
        return StageResult(stage="instruments")
    options = cutometer_options(study.spec.raw)
    files = raw.files
    cut = files[files["instrument"] == "cutometer"]
    qc = cut["qc"].fillna("")
    review = cut["file"][qc_flagged(qc) & ~qc.str.startswith("error")]  # readable, flagged: drawn for review
    clean = cut["file"][~cut["file"].isin(cut["file"][qc_flagged(qc)])]  # no flagged measurement at all
    man = study.manifest
    assert man is not None  # measure_raw gave outcomes, so the bundle has a manifest
    cut_man = man[man["instrument"] == "cutometer"].drop_duplicates("file")
    examples = cut_man[cut_man["file"].isin(clean)].head(N_EXAMPLE_CURVES)
    flagged = cut_man[cut_man["file"].isin(review)]
    mapping = cast("Mapping[str, object] | None", options.get("mapping"))

    def read(rows: pd.DataFrame) -> list[pd.DataFrame]:
        # named by the manifest's file, as in instrument_files, so the report can tell flagged from clean
        return [
            read_cutometer(p, mapping=mapping).assign(file=f)
            for p, f in zip(rows["path"], rows["file"], strict=True)
        ]

    drawn = read(flagged)  # every flagged file, for the review page; the report gets the first few
    tables = {"instrument_files": files, "instrument_agreement": raw.agreement}
    picked = read(examples) + drawn[:N_FLAGGED_CURVES]
    if picked:
        tables["cutometer_curves"] = pd.concat(picked, ignore_index=True)
    sheet = _contact_sheet(files, raw.overlays, n_flagged_curves=len(drawn)) if raw.overlays else {}
    assets = {**raw.overlays, **sheet}
    if drawn:
        page = flagged_curves_page(pd.concat(drawn, ignore_index=True), cut, INFORMATIONAL_FLAGS)
        assets[FLAGGED_CURVES_PAGE] = page
    return StageResult(
        stage="instruments",
        tables=tables,
        exclusions=(raw.exclusions,),
        assets=assets,
        settings={
            "outcomes": list(raw.outcomes),
            "cutometer": options,
            "informational_flags": list(INFORMATIONAL_FLAGS),  # the report's "flagged" excludes them
        },
        measurements=raw.measurements,
    )
