# Reference fixtures for skintrial's RNA-seq count path, made by R edgeR and limma.
#
# Run from anywhere:   Rscript tests/reference/voom/make_voom.R
# Simulates a negative-binomial count table (seeded; gene-specific dispersions and library sizes
# that differ three-fold, a few all-zero and low-count genes, a 2 x 2 design condition + batch with
# known differentially expressed genes) and writes it with edgeR calcNormFactors (TMM), limma voom
# and lmFit + eBayes + topTable results, next to this script, with versions.txt. The tables are
# written with 17 (plain CSV) or 12 (gzipped CSV) significant digits: ample for a 1e-6 check.
suppressPackageStartupMessages({library(limma); library(edgeR)})

args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
out <- function(name) file.path(here, name)
fmt <- function(df) { for (j in seq_along(df)) if (is.double(df[[j]])) df[[j]] <- sprintf("%.17g", df[[j]]); df }
fmt12 <- function(df) { for (j in seq_along(df)) if (is.double(df[[j]])) df[[j]] <- sprintf("%.12g", df[[j]]); df }
wgz <- function(df, name) { con <- gzfile(out(name), "w"); write.csv(fmt12(df), con, row.names = FALSE, quote = FALSE); close(con) }

set.seed(18)
G <- 1500; n <- 12
samples <- data.frame(sample = sprintf("S%02d", 1:n),
                      condition = rep(c("a", "b"), each = 6),
                      batch = rep(c("x", "y"), times = 6))
base <- exp(rnorm(G, 3.5, 2.2))                 # mean counts from < 1 to several thousand
disp <- 0.02 + 0.4 / sqrt(base)                  # more dispersion at low counts (voom's trend)
lfc <- c(rep(1.5, 60), rep(-1.2, 60), rep(0, G - 120))
lib <- round(runif(n, 0.4, 4) * 1e6 / sum(base) * G)  # a three-fold range of library sizes
counts <- matrix(0L, G, n)
for (j in 1:n) {
  mu <- base * lib[j] / mean(lib) * 2^(lfc * (samples$condition[j] == "b")) *
        ifelse(samples$batch[j] == "y", 1.3, 1)
  counts[, j] <- rnbinom(G, size = 1 / disp, mu = mu)
}
counts[1:3, ] <- 0L                                # all-zero genes (TMM drops them; voom's trend too)
counts[4, 1:11] <- 0L                              # one count in one sample
rownames(counts) <- sprintf("g%04d", 1:G); colnames(counts) <- samples$sample
write.csv(data.frame(gene = rownames(counts), counts, check.names = FALSE), out("counts.csv"),
          row.names = FALSE, quote = FALSE)
write.csv(samples, out("samples.csv"), row.names = FALSE)

# ---- TMM (edgeR calcNormFactors), and the upper-quartile reference column it picks ---------------
nf <- calcNormFactors(counts, method = "TMM")
nf_noweight <- calcNormFactors(counts, method = "TMM", doWeighting = FALSE)
write.csv(fmt(data.frame(sample = colnames(counts), lib_size = colSums(counts), norm_factor = nf,
                         norm_factor_unweighted = nf_noweight)), out("tmm.csv"), row.names = FALSE)

# ---- voom + lmFit + eBayes, coefficient conditionb ---------------------------------------------------
design <- model.matrix(~ factor(condition) + factor(batch), data = samples)
dge <- DGEList(counts)
dge <- calcNormFactors(dge)
v <- voom(dge, design)
wgz(data.frame(gene = rownames(v$E), v$E, check.names = FALSE), "voom_E.csv.gz")
wgz(data.frame(gene = rownames(v$E), v$weights, check.names = FALSE), "voom_weights.csv.gz")
fit <- eBayes(lmFit(v, design))
tt <- topTable(fit, coef = 2, number = Inf, sort.by = "none", confint = 0.95)
wgz(data.frame(gene = rownames(tt), logFC = tt$logFC, CI.L = tt$CI.L, CI.R = tt$CI.R,
               AveExpr = tt$AveExpr, t = tt$t, P.Value = tt$P.Value, adj.P.Val = tt$adj.P.Val,
               B = tt$B, sigma = fit$sigma, df.total = fit$df.total), "voom_toptable.csv.gz")
write.csv(fmt(data.frame(df_prior = fit$df.prior, s2_prior = fit$s2.prior, var_prior = fit$var.prior[2])),
          out("voom_hyper.csv"), row.names = FALSE)

# ---- camera on the voom fit (precision weights, the default fixed inter-gene correlation 0.01) -----
set.seed(181)
sets <- list(UP_TRUE = sprintf("g%04d", 5:60), DOWN_TRUE = sprintf("g%04d", 61:120),
             RANDOM_50 = sample(rownames(counts)[121:G], 50), RANDOM_10 = sample(rownames(counts)[121:G], 10))
writeLines(vapply(names(sets), function(k) paste(c(k, "test", sets[[k]]), collapse = "\t"), ""),
           out("voom_sets.gmt"))
cam <- camera(v, lapply(sets, function(s) match(s, rownames(v$E))), design, contrast = 2, sort = FALSE)
cam_trend <- camera(v, lapply(sets, function(s) match(s, rownames(v$E))), design, contrast = 2, sort = FALSE,
                    trend.var = TRUE)
write.csv(fmt(data.frame(set = rownames(cam), n_genes = cam$NGenes, direction = tolower(cam$Direction),
                         p = cam$PValue, p_adj = cam$FDR, p_trend = cam_trend$PValue)),
          out("voom_camera.csv"), row.names = FALSE)

# ---- paired arm x visit on counts: ~ participant + arm * visit (arm not estimable, dropped) --------
# 6 AT and 6 RT participants, pre and post; a participant effect per gene; genes 1-40 rise after RT
# only, genes 41-60 after both. The interaction coefficient is the difference between the arms'
# changes, visitpost the change within AT (the reference arm): both single coefficients, so limma's
# standard errors are the exact weighted ones.
set.seed(1818)
G2 <- 800; np2 <- 12
pid <- sprintf("P%02d", 1:np2)
part <- data.frame(participant = pid, arm = rep(c("AT", "RT"), each = np2 / 2))
s2 <- data.frame(sample = sprintf("Q%02d", 1:(2 * np2)), participant = rep(pid, each = 2),
                 visit = rep(c("pre", "post"), np2))
s2$arm <- part$arm[match(s2$participant, part$participant)]
base2 <- exp(rnorm(G2, 4, 1.8)); disp2 <- 0.03 + 0.3 / sqrt(base2)
peff <- matrix(rnorm(G2 * np2, 0, 0.3), G2, np2)
lib2 <- runif(nrow(s2), 0.6, 1.8)
y2 <- matrix(0L, G2, nrow(s2))
for (j in seq_len(nrow(s2))) {
  post <- s2$visit[j] == "post"; rt <- s2$arm[j] == "RT"
  lfc2 <- c(rep(1.2 * (post && rt), 40), rep(0.8 * post, 20), rep(0, G2 - 60))
  mu <- base2 * lib2[j] * exp(peff[, match(s2$participant[j], pid)]) * 2^lfc2
  y2[, j] <- rnbinom(G2, size = 1 / disp2, mu = mu)
}
rownames(y2) <- sprintf("e%03d", 1:G2); colnames(y2) <- s2$sample
write.csv(data.frame(gene = rownames(y2), y2, check.names = FALSE), out("armvisit_counts.csv"),
          row.names = FALSE, quote = FALSE)
write.csv(s2, out("armvisit_samples.csv"), row.names = FALSE)
d2 <- model.matrix(~ participant + arm * visit,
                   data = transform(s2, visit = factor(visit, levels = c("pre", "post"))))
d2 <- d2[, colnames(d2) != "armRT"]  # not estimable (lmFit would drop it too, with a warning)
v2 <- voom(calcNormFactors(DGEList(y2)), d2)
f2 <- eBayes(lmFit(v2, d2))
wgz(data.frame(gene = rownames(y2), t_at = f2$t[, "visitpost"], p_at = f2$p.value[, "visitpost"],
               logfc_diff = f2$coefficients[, "armRT:visitpost"], t_diff = f2$t[, "armRT:visitpost"],
               p_diff = f2$p.value[, "armRT:visitpost"], b_diff = f2$lods[, "armRT:visitpost"]),
    "armvisit_voom.csv.gz")
write.csv(fmt(data.frame(df_prior = f2$df.prior, s2_prior = f2$s2.prior)), out("armvisit_hyper.csv"),
          row.names = FALSE)

writeLines(c(R.version.string, paste("limma", packageVersion("limma")),
             paste("edgeR", packageVersion("edgeR"))), out("versions.txt"))
