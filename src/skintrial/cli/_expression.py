"""CLI command ``skintrial expression``: moderated differential expression, optionally CAMERA gene sets.

Thin: parse options, call :mod:`skintrial.omics.expression` / :mod:`skintrial.omics.enrichment`, and
write the CSV files only after everything was computed, both or neither, never over an input
(:func:`skintrial._io.write_files`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from skintrial.cli._app import CLUSTER, app, err_console, guarded, on_cluster


@app.command("expression", rich_help_panel="Molecular")
@guarded
def expression(
    expr: Annotated[
        Path,
        typer.Argument(
            help="Log-scale expression: CSV/TSV matrix (first column gene, one column per sample; .gz ok) "
            "or an AnnData .h5ad file."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Differential-expression CSV (one row per gene).")],
    design: Annotated[
        str,
        typer.Option(
            help='Design formula, e.g. "~ condition + slide", "~ visit + participant" (paired) or '
            '"~ participant + arm * visit" (two arms, pre/post). C(x) forces a factor, num(x) a numeric '
            "covariate."
        ),
    ],
    contrast: Annotated[
        list[str],
        typer.Option(
            help='Contrast "term: level_a - level_b" (repeat for several), e.g. "condition: old - young".'
        ),
    ],
    samples: Annotated[
        Path | None,
        typer.Option(help="Sample table CSV with a 'sample' column (optional for .h5ad: obs is used)."),
    ] = None,
    sample_column: Annotated[
        str, typer.Option(help="Column of the sample table naming the samples.")
    ] = "sample",
    ci_level: Annotated[float, typer.Option(help="Confidence level of the log-fold-change interval.")] = 0.95,
    genesets: Annotated[
        str | None,
        typer.Option(
            help='Also run CAMERA: a GMT file, or "ecm" for the shipped matrisome sets. Written next to --out '
            "as <out>.camera.csv (first contrast)."
        ),
    ] = None,
    inter_gene_cor: Annotated[
        str,
        typer.Option(help='CAMERA inter-gene correlation: a number (limma default 0.01) or "estimate".'),
    ] = "0.01",
    use_ranks: Annotated[bool, typer.Option(help="CAMERA rank-based (Wilcoxon) version.")] = False,
    trend: Annotated[
        bool,
        typer.Option(
            help="limma-trend: prior variance follows average expression (eBayes(trend=TRUE)); "
            "also CAMERA's trend.var."
        ),
    ] = False,
    robust: Annotated[
        bool,
        typer.Option(
            help="limma robust=TRUE: hyperparameters robust to hypervariable genes (DE only: "
            "limma's camera has no robust option)."
        ),
    ] = False,
    ora: Annotated[
        float | None,
        typer.Option(
            help="Also over-representation (hypergeometric) of the --genesets among the genes with BH q below "
            "this threshold in the first contrast (e.g. 0.05), against all fitted genes; written as "
            "<out>.ora.csv.",
        ),
    ] = None,
    block: Annotated[
        str | None,
        typer.Option(
            help="Sample-table column of correlated samples (the participant): limma's duplicateCorrelation "
            'and a GLS fit with the consensus correlation, e.g. --design "~ arm * visit" --block participant.',
        ),
    ] = None,
    counts: Annotated[
        bool,
        typer.Option(
            "--counts",
            help="The matrix holds RNA-seq counts: TMM normalisation (edgeR calcNormFactors), voom "
            "precision weights and the weighted fit (limma voom + lmFit + eBayes); log_fc in log2 CPM.",
        ),
    ] = False,
    cluster: Annotated[str | None, CLUSTER] = None,
) -> None:
    """Moderated differential expression (limma's method): log_fc, t, p, BH p_adj, B, CI per gene.

    With --cluster the genes are fitted and moderated in chunks on a Dask cluster (the empirical-Bayes
    hyperparameters from the chunks' sufficient statistics); the table equals the in-process one to
    1e-12 relative. CAMERA and ORA run in this process.
    """
    import numpy as np

    from skintrial._io import refuse_inputs, write_files
    from skintrial.errors import InputError
    from skintrial.omics.enrichment import camera_from_fit, over_representation
    from skintrial.omics.expression import differential_expression_from_fit, fit_expression

    cor: float | None
    if inter_gene_cor.strip().lower() in ("estimate", "estimated", "na"):
        cor = None
    else:
        try:
            cor = float(inter_gene_cor)
        except ValueError:
            raise InputError(
                f"--inter-gene-cor must be a number or 'estimate', not {inter_gene_cor!r}", fix="e.g. 0.01"
            ) from None
    if samples is None and expr.suffix.lower() != ".h5ad":
        raise InputError(
            "--samples is required for an expression matrix (only an .h5ad file carries its own sample table)",
            fix="give --samples samples.csv: one row per matrix column, a 'sample' column and the design's columns",
            file=str(expr),
        )
    if ora is not None and (genesets is None or not 0 < ora < 1):
        raise InputError(
            "--ora needs --genesets and a q threshold between 0 and 1",
            fix="e.g. --genesets ecm --ora 0.05",
        )
    cam_path = out.with_name(out.name.removesuffix(".csv") + ".camera.csv")
    ora_path = out.with_name(out.name.removesuffix(".csv") + ".ora.csv")
    outputs = {
        out: "--out",
        **({cam_path: "--out"} if genesets is not None else {}),
        **({ora_path: "--out"} if ora is not None else {}),
    }
    inputs = [expr, *([samples] if samples is not None else [])]
    if genesets is not None and Path(genesets).is_file():
        inputs.append(Path(genesets))
    refuse_inputs(outputs, inputs)  # before any work: an output never replaces an input
    with on_cluster(cluster) as runner:
        ef = fit_expression(
            str(expr),
            str(samples) if samples else None,
            design=design,
            sample_column=sample_column,
            counts=counts,
            block=block,
            client=runner,
        )
        de = differential_expression_from_fit(
            ef, contrast, ci_level=ci_level, trend=trend, robust=robust, client=runner
        )
    cam = None
    if genesets is not None:
        cam = camera_from_fit(
            ef, contrast[0], genesets, inter_gene_cor=cor, use_ranks=use_ranks, trend_var=trend
        )
    ora_table = None
    if ora is not None and genesets is not None:
        first = de[(de["contrast"] == de["contrast"].iat[0]) & (de["status"] == "ok")]
        ora_table = over_representation(
            first.loc[first["p_adj"] < ora, "gene"].tolist(),
            gene_sets=genesets,
            background=first["gene"].tolist(),
            background_label=f"the {len(first)} fitted genes",
        )
    files = {out: de, **({cam_path: cam} if cam is not None else {})}
    if ora_table is not None:
        files[ora_path] = ora_table
    write_files(files, inputs=inputs)
    msg = (
        f"expression: {len(ef.data.genes)} genes x {len(ef.data.samples)} samples"
        + (" (counts: TMM + voom weights)" if counts else "")
        + (f" (within-{block} correlation {ef.correlation:.3f})" if ef.correlation is not None else "")
        + ", "
        f"prior df {np.median(de.attrs['df_prior']):.3g}{' (median, robust)' if robust else ''}, prior variance "
        + ("by trend" if trend else f"{de.attrs['var_prior']:.3g}")
        + "; "
        f"{int((de['p_adj'] < 0.05).sum())} gene-contrast rows with p_adj < 0.05 -> {out}"
    )
    if cam is not None:
        msg += f"; camera: {len(cam)} sets -> {cam_path}"
    if ora_table is not None:
        msg += f"; ora: {len(ora_table)} sets -> {ora_path}"
    err_console.print(msg)
