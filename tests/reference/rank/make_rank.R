# Reference fixtures for skintrial.stats.rank (rank-based sensitivity analyses), base R only.
#
#   Rscript tests/reference/rank/make_rank.R        (from the repository root)
#
# Reads the long inputs of tests/reference/stats (input_*.csv, written by make_stats.R); writes here:
#   versions.txt       R.version.string
#   wilcoxon.csv       per case x outcome x arm: wilcox.test(change[arm], change[reference], conf.int = TRUE)
#                      (W, p, Hodges-Lehmann shift, 95% CI, exact or normal approximation as R chooses)
#   kruskal.csv        per case x outcome: kruskal.test(change ~ arm)
#   rank_ancova.csv    per case x outcome: Quade's (1967) rank ANCOVA, computed as Quade defines it:
#                      residuals of lm(rank(post) ~ rank(pre)) (ranks over the complete cases, ties
#                      averaged), then the one-way ANOVA F of those residuals by arm (anova(lm(e ~ arm)))
#
# change = follow-up - baseline over the participants with both visits. R's quade.test is Quade's test
# for unreplicated complete block designs (1979), a different test that does not apply to a parallel-arm
# trial; it is not used.

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out_dir <- if (length(script)) dirname(normalizePath(script)) else "tests/reference/rank"
inp_dir <- file.path(dirname(out_dir), "stats")
path <- function(f) file.path(out_dir, f)
writeLines(R.version.string, path("versions.txt"))

cases <- list(
  list(case = "anorexia", input = "anorexia", pre = "pre", post = "post", arms = c("Cont", "CBT", "FT")),
  list(case = "baumann", input = "baumann", pre = "pre", post = "post", arms = c("Basal", "DRTA", "Strat")),
  list(case = "chickweight", input = "chickweight", pre = "day00", post = "day21",
       arms = c("diet1", "diet2", "diet3", "diet4")),
  list(case = "synthetic", input = "synthetic", pre = "pre", post = "post", arms = c("A", "B", "C"))
)

wil <- list(); kw <- list(); qa <- list()
for (cs in cases) {
  d <- read.csv(file.path(inp_dir, paste0("input_", cs$input, ".csv")), stringsAsFactors = FALSE)
  for (o in unique(d$outcome)) {
    dd <- d[d$outcome == o, ]
    pre <- dd[dd$visit == cs$pre, c("participant_id", "arm", "value")]
    post <- dd[dd$visit == cs$post, c("participant_id", "value")]
    w <- merge(pre, post, by = "participant_id", suffixes = c("_pre", "_post"))
    w <- w[is.finite(w$value_pre) & is.finite(w$value_post), ]
    w$change <- w$value_post - w$value_pre
    if (length(unique(w$arm)) < length(cs$arms) || sd(w$change) == 0 || sd(w$value_post) == 0) next
    w$arm <- factor(w$arm, levels = cs$arms)
    ref <- w$change[w$arm == cs$arms[1]]
    for (a in cs$arms[-1]) {
      x <- w$change[w$arm == a]
      t <- suppressWarnings(wilcox.test(x, ref, conf.int = TRUE, conf.level = 0.95))
      exact <- length(x) < 50 && length(ref) < 50 && !any(duplicated(c(x, ref)))
      wil[[length(wil) + 1]] <- data.frame(case = cs$case, outcome = o, contrast = paste(a, "-", cs$arms[1]),
        w = unname(t$statistic), p = t$p.value, estimate = unname(t$estimate),
        ci_low = t$conf.int[1], ci_high = t$conf.int[2], exact = exact, n = length(x) + length(ref))
    }
    k <- kruskal.test(change ~ arm, data = w)
    kw[[length(kw) + 1]] <- data.frame(case = cs$case, outcome = o, statistic = unname(k$statistic),
                                       df = unname(k$parameter), p = k$p.value, n = nrow(w))
    e <- resid(lm(rank(value_post) ~ rank(value_pre), data = w))
    an <- anova(lm(e ~ w$arm))
    qa[[length(qa) + 1]] <- data.frame(case = cs$case, outcome = o, f = an[1, "F value"], num_df = an[1, "Df"],
                                       den_df = an[2, "Df"], p = an[1, "Pr(>F)"], n = nrow(w))
  }
}
write.csv(do.call(rbind, wil), path("wilcoxon.csv"), row.names = FALSE)
write.csv(do.call(rbind, kw), path("kruskal.csv"), row.names = FALSE)
write.csv(do.call(rbind, qa), path("rank_ancova.csv"), row.names = FALSE)
