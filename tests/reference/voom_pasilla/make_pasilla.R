# Reference fixtures for skintrial's RNA-seq count path on a REAL public count table: pasilla.
#
# Data: Brooks AN et al. (2011) Conservation of an RNA regulatory map between Drosophila and mammals.
# Genome Res 21:193-202 (GEO GSE18508): RNAi knockdown of pasilla in S2-DRSC cells, 3 treated and 4
# untreated libraries, single-read and paired-end; gene-level read counts (14,599 genes x 7 samples)
# as shipped by the Bioconductor package `pasilla` (extdata/pasilla_gene_counts.tsv) and, byte for
# byte, inside the PyPI package `inmoose` (inmoose/data/pasilla/), which is how the Python test reads
# them (the project's `test` extra installs inmoose). The counts are not copied into this repository.
#
# Run:   Rscript tests/reference/voom_pasilla/make_pasilla.R [DIR]
# DIR is the folder holding pasilla_gene_counts.tsv and pasilla_sample_annotation.csv; without it,
# the folder inside the inmoose installed in .venv is used, found with
#   .venv/bin/python -c "import importlib.util as u; print(u.find_spec('inmoose').submodule_search_locations[0])"
#
# Design: the pasilla vignette's ~ type + condition (library type as a blocking factor), contrast
# treated - untreated. No gene filter (all-zero and low-count genes are kept: TMM and voom handle
# them). Writes edgeR calcNormFactors (TMM), limma voom weights and lmFit + eBayes + topTable, with
# versions.txt. Tables: 17 (plain CSV) or 12 (gzipped CSV) significant digits, ample for 1e-6.
suppressPackageStartupMessages({library(limma); library(edgeR)})

args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
out <- function(name) file.path(here, name)
fmt <- function(df) { for (j in seq_along(df)) if (is.double(df[[j]])) df[[j]] <- sprintf("%.17g", df[[j]]); df }
fmt12 <- function(df) { for (j in seq_along(df)) if (is.double(df[[j]])) df[[j]] <- sprintf("%.12g", df[[j]]); df }
wgz <- function(df, name) { con <- gzfile(out(name), "w"); write.csv(fmt12(df), con, row.names = FALSE, quote = FALSE); close(con) }

dir <- commandArgs(trailingOnly = TRUE)[1]
if (is.na(dir)) {
  py <- file.path(here, "..", "..", "..", ".venv", "bin", "python")
  pkg <- system2(py, c("-c", shQuote("import importlib.util as u; print(u.find_spec('inmoose').submodule_search_locations[0])")),
                 stdout = TRUE)
  dir <- file.path(pkg, "data", "pasilla")
}
cts <- as.matrix(read.csv(file.path(dir, "pasilla_gene_counts.tsv"), sep = "\t", row.names = "gene_id"))
anno <- read.csv(file.path(dir, "pasilla_sample_annotation.csv"))
anno$sample <- sub("fb$", "", anno$file)
anno <- anno[match(colnames(cts), anno$sample), ]
stopifnot(identical(anno$sample, colnames(cts)), dim(cts) == c(14599, 7))
samples <- data.frame(sample = anno$sample,
                      condition = factor(anno$condition, levels = c("untreated", "treated")),
                      type = factor(ifelse(anno$type == "paired-end", "paired", "single"),
                                    levels = c("paired", "single")))
write.csv(samples, out("samples.csv"), row.names = FALSE)

# ---- TMM (edgeR calcNormFactors) -----------------------------------------------------------------
nf <- calcNormFactors(cts, method = "TMM")
nf_noweight <- calcNormFactors(cts, method = "TMM", doWeighting = FALSE)
write.csv(fmt(data.frame(sample = colnames(cts), lib_size = colSums(cts), norm_factor = nf,
                         norm_factor_unweighted = nf_noweight)), out("tmm.csv"), row.names = FALSE)

# ---- voom + lmFit + eBayes + topTable, coefficient conditiontreated --------------------------------
design <- model.matrix(~ type + condition, data = samples)
v <- voom(calcNormFactors(DGEList(cts)), design)
wgz(data.frame(gene = rownames(v$E), v$weights, check.names = FALSE), "voom_weights.csv.gz")
fit <- eBayes(lmFit(v, design))
tt <- topTable(fit, coef = "conditiontreated", number = Inf, sort.by = "none", confint = 0.95)
wgz(data.frame(gene = rownames(tt), logFC = tt$logFC, CI.L = tt$CI.L, CI.R = tt$CI.R,
               AveExpr = tt$AveExpr, t = tt$t, P.Value = tt$P.Value, adj.P.Val = tt$adj.P.Val,
               B = tt$B, sigma = fit$sigma, df.total = fit$df.total,
               coef_type = fit$coefficients[, "typesingle"]), "voom_toptable.csv.gz")
write.csv(fmt(data.frame(df_prior = fit$df.prior, s2_prior = fit$s2.prior,
                         var_prior = fit$var.prior[3])), out("voom_hyper.csv"), row.names = FALSE)

writeLines(c(R.version.string, paste("limma", packageVersion("limma")),
             paste("edgeR", packageVersion("edgeR")),
             paste("counts: inmoose", system2(file.path(here, "..", "..", "..", ".venv", "bin", "python"),
                   c("-c", shQuote("import importlib.metadata as m; print(m.version('inmoose'))")),
                   stdout = TRUE), "data/pasilla/pasilla_gene_counts.tsv, md5",
                   unname(tools::md5sum(file.path(dir, "pasilla_gene_counts.tsv"))))),
           out("versions.txt"))
