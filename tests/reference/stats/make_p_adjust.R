# Reference fixture for skintrial.stats.p_adjust, written by R itself (base R only: stats::p.adjust).
#
#   Rscript tests/reference/stats/make_p_adjust.R        (from anywhere)
#
# Writes into tests/reference/stats/:
#   p_adjust.csv             vector, index, p, method, p_adj: stats::p.adjust(p, method) for every
#                            method of p.adjust.methods (holm, hochberg, hommel, bonferroni, BH, BY,
#                            fdr, none) on fixed vectors with ties, NA, 0 and 1, tiny values, and
#                            vectors long enough for Hommel's algorithm to matter. NA is written as an
#                            empty field.
#   p_adjust_versions.txt    R.version.string and the version of package stats
#
# R's p.adjust drops NA before it counts: its default n = length(p) is evaluated after the NAs are
# removed, so m is the number of non-missing p-values (checked below and by the "ties_na" and
# "leading_na" vectors). skintrial's fixed_sequence and serial gatekeeper are not in R; they are tested
# by their definitions in tests/stats/test_multiplicity.py.

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out_dir <- if (length(script)) dirname(normalizePath(script)) else "tests/reference/stats"
path <- function(f) file.path(out_dir, f)

writeLines(c(R.version.string, paste0("stats ", as.character(packageVersion("stats")))),
           path("p_adjust_versions.txt"))

stopifnot(isTRUE(all.equal(p.adjust(c(0.01, NA, 0.03), "bonferroni"), c(0.02, NA, 0.06))))

vectors <- list(
  pingouin = c(0.52, 0.12, 0.0001, 0.03, 0.14),
  ties_na = c(0.01, NA, 0.04, 0.03, 0.04, 0.2, NA, 0.9, 0.0004, 0.04),
  all_na = c(NA_real_, NA_real_),
  single = 0.03,
  single_na = c(NA, 0.03, NA),
  pair = c(0.04, 0.03),
  all_tied = c(0.02, 0.02, 0.02, 0.02),
  leading_na = c(NA, 0.001, 0.2, NA, 0.04, 0.04),
  bounds = c(0, 1, 0.5, 0, 1e-10, NA, 1),
  tiny = c(1e-300, 1e-15, 3e-8, 0.5),
  three = c(0.011, 0.049, 0.031),
  hommel12 = local({ set.seed(2); p <- round(rbeta(12, 0.4, 3), 3); p[c(3, 9)] <- p[5]; p[7] <- NA; p }),
  many_na = local({ set.seed(3); p <- round(runif(30)^2, 5); p[sample(30, 10)] <- NA; p }),
  uniform50 = local({ set.seed(1); round(c(runif(40), rbeta(10, 0.2, 5)), 6) }))
pa <- do.call(rbind, lapply(names(vectors), function(v) do.call(rbind, lapply(p.adjust.methods, function(m)
  data.frame(vector = v, index = seq_along(vectors[[v]]), p = vectors[[v]], method = m,
             p_adj = p.adjust(vectors[[v]], m))))))
write.csv(pa, path("p_adjust.csv"), row.names = FALSE, na = "")
