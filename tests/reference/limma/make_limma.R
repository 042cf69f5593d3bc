# Reference fixtures for skintrial's moderated statistics and gene-set tests, made by R limma.
#
# Run from anywhere:   Rscript tests/reference/limma/make_limma.R
# Reads the Kuehne 2017 skin-aging microarray from ../shared/data (beside the repository; never copied
# into it) and the ECM gene sets shipped in src/skintrial/omics/data/. Writes CSV fixtures and
# versions.txt next to this script.
suppressPackageStartupMessages(library(limma))

args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
repo <- normalizePath(file.path(here, "..", "..", ".."))
data_dir <- file.path(repo, "..", "shared", "data", "kuehne2017_skin_aging")
out <- function(name) file.path(here, name)
w <- function(df, name) write.csv(df, out(name), row.names = FALSE)
fmt <- function(df) { for (j in seq_along(df)) if (is.double(df[[j]])) df[[j]] <- sprintf("%.17g", df[[j]]); df }

# ---- 1. lmFit + eBayes on ~ condition + slide, old vs young ----------------------------------------
expr <- read.csv(gzfile(file.path(data_dir, "expression_log2.csv.gz")), check.names = FALSE)
samples <- read.csv(file.path(data_dir, "samples.csv"), colClasses = c(slide = "character"))
y <- as.matrix(expr[, samples$sample])
rownames(y) <- expr$probe
condition <- factor(samples$condition, levels = c("young", "old"))
slide <- factor(samples$slide)
design <- model.matrix(~ condition + slide)
fit <- eBayes(lmFit(y, design))
tt <- topTable(fit, coef = "conditionold", number = Inf, sort.by = "none", confint = 0.95)
tab <- data.frame(gene = rownames(tt), logFC = tt$logFC, CI.L = tt$CI.L, CI.R = tt$CI.R,
                  AveExpr = tt$AveExpr, t = tt$t, P.Value = tt$P.Value, adj.P.Val = tt$adj.P.Val,
                  B = tt$B, s2.post = fit$s2.post)
fmt12 <- function(df) { for (j in seq_along(df)) if (is.double(df[[j]])) df[[j]] <- sprintf("%.12g", df[[j]]); df }
con <- gzfile(out("kuehne_toptable.csv.gz"), "w")  # 12 significant digits: ample for a 1e-6 check
write.csv(fmt12(tab), con, row.names = FALSE, quote = FALSE)
close(con)
w(fmt(data.frame(n_genes = nrow(y), df_residual = fit$df.residual[1], df_prior = fit$df.prior,
                 s2_prior = fit$s2.prior, var_prior = fit$var.prior[2], df_total = fit$df.total[1])),
  "kuehne_hyper.csv")
# Moderated F of the slide (batch) effect: 6 coefficients at once.
ffit <- eBayes(contrasts.fit(lmFit(y, design), coefficients = 3:8))
con <- gzfile(out("kuehne_slide_f.csv.gz"), "w")
write.csv(sprintf("%.12g", ffit$F), con, row.names = FALSE, quote = FALSE)
close(con)
w(fmt(data.frame(df1 = 6, df2 = ffit$df.prior + 40, p_first = ffit$F.p.value[1], p_min = min(ffit$F.p.value))),
  "kuehne_slide_f_summary.csv")
# robust=TRUE (Phipson et al. 2016): per-gene prior df.
rfit <- eBayes(lmFit(y, design), robust = TRUE)
con <- gzfile(out("kuehne_robust.csv.gz"), "w")
write.csv(data.frame(t = sprintf("%.12g", rfit$t[, "conditionold"]),
                     P.Value = sprintf("%.12g", rfit$p.value[, "conditionold"]),
                     B = sprintf("%.12g", rfit$lods[, "conditionold"]),
                     df.prior = sprintf("%.12g", rfit$df.prior)), con, row.names = FALSE, quote = FALSE)
close(con)
w(fmt(data.frame(s2_prior = rfit$s2.prior, var_prior = rfit$var.prior[2])), "kuehne_robust_hyper.csv")
# limma-trend: the prior variance follows a spline in the average log expression.
tfit <- eBayes(lmFit(y, design), trend = TRUE)
con <- gzfile(out("kuehne_trend.csv.gz"), "w")
write.csv(fmt12(data.frame(t = tfit$t[, "conditionold"], P.Value = tfit$p.value[, "conditionold"],
                           s2.prior = tfit$s2.prior)), con, row.names = FALSE, quote = FALSE)
close(con)
w(fmt(data.frame(df_prior = tfit$df.prior, var_prior = tfit$var.prior[2])), "kuehne_trend_hyper.csv")
# R's own time for the fit, for the benchmark's record (the benchmark re-times it in the same run).
tm <- system.time(for (i in 1:5) eBayes(lmFit(y, design)))[["elapsed"]] / 5

# ---- 2. A small paired pre/post design with missing values (unequal residual df) -------------------
set.seed(20171)
G <- 300; subj <- 8
participant <- factor(rep(sprintf("P%02d", 1:subj), each = 2))
visit <- factor(rep(c("pre", "post"), subj), levels = c("pre", "post"))
base <- matrix(rnorm(G * subj, 8, 1), G, subj)[, rep(1:subj, each = 2)]
shift <- outer(c(rnorm(30, 1, 0.3), rep(0, G - 30)), as.numeric(visit == "post"))
sd_g <- sqrt(0.05 * 4 / rchisq(G, 4))
py <- base + shift + matrix(rnorm(G * 2 * subj), G, 2 * subj) * sd_g
rownames(py) <- sprintf("g%03d", 1:G)
colnames(py) <- paste(participant, visit, sep = "_")
py[cbind(sample(G, 25), sample(2 * subj, 25, replace = TRUE))] <- NA
pdesign <- model.matrix(~ visit + participant)
pfit <- eBayes(lmFit(py, pdesign))
ptt <- topTable(pfit, coef = "visitpost", number = Inf, sort.by = "none")
write.csv(data.frame(gene = rownames(py), py, check.names = FALSE), out("paired_expr.csv"),
          row.names = FALSE, na = "")
w(data.frame(sample = colnames(py), participant = participant, visit = visit), "paired_samples.csv")
w(fmt(data.frame(gene = rownames(ptt), logFC = ptt$logFC, AveExpr = ptt$AveExpr, t = ptt$t,
                 P.Value = ptt$P.Value, adj.P.Val = ptt$adj.P.Val, B = ptt$B,
                 df.residual = pfit$df.residual, df.total = pfit$df.total, s2.post = pfit$s2.post)),
  "paired_toptable.csv")
w(fmt(data.frame(df_prior = pfit$df.prior, s2_prior = pfit$s2.prior, var_prior = pfit$var.prior[2])),
  "paired_hyper.csv")
prfit <- eBayes(lmFit(py, pdesign), robust = TRUE)
w(fmt(data.frame(t = prfit$t[, "visitpost"], P.Value = prfit$p.value[, "visitpost"],
                 df.prior = prfit$df.prior, s2.prior = prfit$s2.prior)), "paired_robust.csv")

# ---- 2b. Two arms, pre/post within participants: participant + arm_visit is not of full rank (the arm
#          main effect is in the participants); the estimable columns are kept, as lmFit does, and
#          contrasts are differences of design rows (within-arm change, and RT change - AT change).
set.seed(2023)
G2 <- 200; per_arm <- 6
arm <- rep(c("AT", "RT"), each = 2 * per_arm)
pid <- rep(sprintf("S%02d", 1:(2 * per_arm)), each = 2)
vis <- rep(c("pre", "post"), 2 * per_arm)
arm_visit <- paste(arm, vis, sep = "_")
subj <- matrix(rnorm(G2 * 2 * per_arm, 7, 1), G2)[, rep(1:(2 * per_arm), each = 2)]
eff <- outer(c(rnorm(20, 0.8, 0.2), rep(0, G2 - 20)), as.numeric(arm_visit == "RT_post"))
y2 <- subj + eff + matrix(rnorm(G2 * 4 * per_arm, 0, 0.3), G2)
rownames(y2) <- sprintf("h%03d", 1:G2); colnames(y2) <- sprintf("x%02d", 1:(4 * per_arm))
X <- model.matrix(~ factor(pid) + factor(arm_visit))
q <- qr(X); X2 <- X[, sort(q$pivot[seq_len(q$rank)])]
row <- function(a, v) X2[which(arm == a & vis == v)[1], ]
Lr <- cbind(rt = row("RT", "post") - row("RT", "pre"), at = row("AT", "post") - row("AT", "pre"))
Lr <- cbind(Lr, rt_vs_at = Lr[, "rt"] - Lr[, "at"])
fit2 <- eBayes(contrasts.fit(lmFit(y2, X2), Lr))
write.csv(data.frame(gene = rownames(y2), y2, check.names = FALSE), out("twoarm_expr.csv"), row.names = FALSE)
w(data.frame(sample = colnames(y2), participant = pid, arm_visit = arm_visit), "twoarm_samples.csv")
w(fmt(data.frame(gene = rownames(y2), t_rt = fit2$t[, "rt"], t_at = fit2$t[, "at"],
                 t_rt_vs_at = fit2$t[, "rt_vs_at"], p_rt_vs_at = fit2$p.value[, "rt_vs_at"],
                 df_prior = fit2$df.prior, s2_prior = fit2$s2.prior)), "twoarm_results.csv")

# ---- 3. squeezeVar edge cases: df.prior = Inf (no extra variation), and a trend-free small vector ---
sv_inf <- squeezeVar(rep(c(0.99, 1.01), 50) * 0.5, df = 10)
sv_small <- squeezeVar(c(0.2, 0.5, 1.1, 0.7, 3.4, 0.05), df = c(3, 3, 4, 4, 5, 6))
w(fmt(data.frame(case = c("inf", "small"), df_prior = c(sv_inf$df.prior, sv_small$df.prior),
                 var_prior = c(sv_inf$var.prior, sv_small$var.prior))), "squeezevar_cases.csv")
w(fmt(data.frame(var_post = sv_small$var.post)), "squeezevar_small_post.csv")
# a trend with a missing variance (its prior comes from the curve) and a covariate beyond the others
set.seed(7)
cov_t <- c(seq(2, 14, length.out = 39), 16)
var_t <- exp(-0.2 * cov_t + rnorm(40, 0, 0.8)) * rchisq(40, 4) / 4
var_t[c(5, 40)] <- NA
sv_trend <- squeezeVar(var_t, df = 4, covariate = cov_t)
w(fmt(data.frame(covariate = cov_t, var = var_t, var_prior = sv_trend$var.prior,
                 var_post = sv_trend$var.post, df_prior = sv_trend$df.prior)), "squeezevar_trend.csv")

# ---- 4. camera on the shipped ECM sets and a few random sets ---------------------------------------
read_gmt <- function(path) {
  lines <- readLines(path)
  lines <- lines[!grepl("^#", lines) & nzchar(lines)]
  parts <- strsplit(lines, "\t")
  sets <- lapply(parts, function(p) p[-(1:2)])
  names(sets) <- vapply(parts, `[`, "", 1)
  sets
}
gmt <- file.path(repo, "src", "skintrial", "omics", "data", "matrisome_ecm.gmt")
if (file.exists(gmt)) {
  sets <- read_gmt(gmt)
  set.seed(42)
  sizes <- c(5, 20, 50, 200, 1000)
  rsets <- lapply(sizes, function(k) sample(rownames(y), k))
  names(rsets) <- sprintf("RANDOM_%d", sizes)
  writeLines(vapply(names(rsets), function(n) paste(c(n, "random", rsets[[n]]), collapse = "\t"), ""),
             out("random_sets.gmt"))
  allsets <- c(sets, rsets)
  # Previous HGNC symbols in the array annotation (CTGF, CYR61, ...) are matched to the sets' current
  # symbols, as skintrial does by default (aliases=True), unless the current symbol is itself present.
  prev <- read.csv(file.path(repo, "src", "skintrial", "omics", "data", "hgnc_previous_symbols.csv"),
                   comment.char = "#")
  ids <- rownames(y)
  cur <- prev$symbol[match(ids, prev$previous)]
  swap <- !is.na(cur) & !(cur %in% ids)
  ids[swap] <- cur[swap]
  index <- ids2indices(allsets, ids, remove.empty = TRUE)
  runs <- list(fixed = list(inter.gene.cor = 0.01, use.ranks = FALSE),
               estimated = list(inter.gene.cor = NA, use.ranks = FALSE),
               ranks = list(inter.gene.cor = 0.01, use.ranks = TRUE),
               ranks_estimated = list(inter.gene.cor = NA, use.ranks = TRUE),
               trend = list(inter.gene.cor = 0.01, use.ranks = FALSE, trend.var = TRUE),
               ranks_trend = list(inter.gene.cor = 0.01, use.ranks = TRUE, trend.var = TRUE))
  cam <- do.call(rbind, lapply(names(runs), function(r) {
    a <- runs[[r]]
    ct <- camera(y, index, design, contrast = "conditionold", inter.gene.cor = a$inter.gene.cor,
                 use.ranks = a$use.ranks, trend.var = isTRUE(a$trend.var), sort = FALSE)
    data.frame(run = r, set = rownames(ct), n_genes = ct$NGenes,
               correlation = if (is.null(ct$Correlation)) a$inter.gene.cor else ct$Correlation,
               direction = ct$Direction, p = ct$PValue, fdr = ct$FDR)
  }))
  w(fmt(cam), "camera.csv")
  # Over-representation reference: genes with adj.P.Val < 0.05 and logFC > 0 against all arrayed genes.
  sig <- ids[tt$adj.P.Val < 0.05 & tt$logFC > 0]
  ora <- do.call(rbind, lapply(names(allsets), function(s) {
    inset <- intersect(allsets[[s]], ids)
    k <- length(intersect(inset, sig))
    data.frame(set = s, n_set = length(inset), n_selected = length(sig), n_background = nrow(y),
               overlap = k, p = phyper(k - 1, length(inset), nrow(y) - length(inset), length(sig),
                                       lower.tail = FALSE))
  }))
  w(fmt(ora), "ora.csv")
  writeLines(rownames(tt)[tt$adj.P.Val < 0.05 & tt$logFC > 0], out("ora_selected.txt"))
}

writeLines(c(R.version.string,
             paste("limma", as.character(packageVersion("limma"))),
             sprintf("lmFit+eBayes elapsed (mean of 5, s): %.4f", tm)),
           out("versions.txt"))
