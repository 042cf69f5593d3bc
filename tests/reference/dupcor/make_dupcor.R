# Reference fixtures for skintrial's duplicateCorrelation (participants as a random block), by R limma.
#
# Run from anywhere:   Rscript tests/reference/dupcor/make_dupcor.R
# Reads the two-arm pre/post data of tests/reference/limma (200 genes, 12 participants x 2 visits),
# fits ~ arm * visit with the participant as a block: duplicateCorrelation, then lmFit(block =,
# correlation =) + contrasts.fit + eBayes. Writes CSV fixtures and versions.txt next to this script.
suppressPackageStartupMessages(library(limma))

args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
out <- function(name) file.path(here, name)
fmt <- function(df) { for (j in seq_along(df)) if (is.double(df[[j]])) df[[j]] <- sprintf("%.17g", df[[j]]); df }

expr <- read.csv(file.path(here, "..", "limma", "twoarm_expr.csv"), check.names = FALSE)
s <- read.csv(file.path(here, "..", "limma", "twoarm_samples.csv"))
y <- as.matrix(expr[, s$sample]); rownames(y) <- expr$gene
parts <- do.call(rbind, strsplit(s$arm_visit, "_"))
arm <- factor(parts[, 1], levels = c("AT", "RT")); visit <- factor(parts[, 2], levels = c("pre", "post"))
design <- model.matrix(~ arm * visit)
dc <- duplicateCorrelation(y, design, block = s$participant)
fit <- lmFit(y, design, block = s$participant, correlation = dc$consensus.correlation)
# columns: (Intercept), armRT, visitpost, armRT:visitpost
L <- cbind(at = c(0, 0, 1, 0), rt = c(0, 0, 1, 1), diff = c(0, 0, 0, 1), base = c(0, 1, 0, 0))
f2 <- eBayes(contrasts.fit(fit, L))
write.csv(fmt(data.frame(gene = rownames(y), atanh_cor = dc$atanh.correlations,
                         t_at = f2$t[, "at"], t_rt = f2$t[, "rt"], t_diff = f2$t[, "diff"],
                         t_base = f2$t[, "base"], p_diff = f2$p.value[, "diff"],
                         logfc_base = f2$coefficients[, "base"])), out("dupcor_twoarm.csv"), row.names = FALSE)
write.csv(fmt(data.frame(consensus = dc$consensus.correlation, df_prior = f2$df.prior,
                         s2_prior = f2$s2.prior)), out("dupcor_hyper.csv"), row.names = FALSE)
# unbalanced: three participants lose their post sample (blocks of one and two samples)
keep <- !(s$participant %in% c("S02", "S07", "S11") & visit == "post")
dc_u <- duplicateCorrelation(y[, keep], design[keep, ], block = s$participant[keep])
fit_u <- eBayes(lmFit(y[, keep], design[keep, ], block = s$participant[keep],
                      correlation = dc_u$consensus.correlation))
write.csv(fmt(data.frame(gene = rownames(y), atanh_cor = dc_u$atanh.correlations,
                         t_diff = fit_u$t[, "armRT:visitpost"], consensus = dc_u$consensus.correlation)),
          out("dupcor_unbalanced.csv"), row.names = FALSE)
writeLines(c(R.version.string, paste("limma", packageVersion("limma")),
             paste("statmod", packageVersion("statmod"))), out("versions.txt"))
