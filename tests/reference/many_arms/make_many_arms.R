# Reference fixtures for skintrial.stats.many_arms (Dunnett and Tukey for ANCOVA contrasts).
#
#   Rscript tests/reference/many_arms/make_many_arms.R        (from the repository root)
#
# Reads the long inputs of tests/reference/stats (input_*.csv, written by make_stats.R) and writes here:
#   versions.txt         R.version.string and packageVersion() of every package used
#   many_arms.csv        per case x outcome x family x contrast: estimate, SE, df, t, the single-step
#                        adjusted p (multcomp::glht, summary(test = adjusted("single-step"))) and the
#                        simultaneous interval (confint.glht) with its critical value; and emmeans'
#                        p-values: adjust = "mvt" (the same exact single-step procedure, emmeans'
#                        own integration: p_adj_emmeans_mvt) and its named family adjustments
#                        (p_adj_emmeans_named: "dunnettx" for trt.vs.ctrl, "tukey" for pairwise —
#                        Tukey-Kramer's studentized range, an approximation with covariates or
#                        unequal arms; recorded to show the difference, not matched)
#
# The model is lm(post ~ pre + arm [+ covariates]), arm treatment-coded with the reference arm first.
# "dunnett" = mcp(arm = "Dunnett") (each arm minus the reference), "tukey" = mcp(arm = "Tukey") (every
# pair, later minus earlier in arm order). The multivariate-t integrals use mvtnorm's Genz-Bretz
# algorithm with abseps = 1e-6 (the default is 1e-3), so the reference is itself accurate to about 1e-6.

suppressPackageStartupMessages({
  library(multcomp)
  library(mvtnorm)
  library(emmeans)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out_dir <- if (length(script)) dirname(normalizePath(script)) else "tests/reference/many_arms"
inp_dir <- file.path(dirname(out_dir), "stats")
path <- function(f) file.path(out_dir, f)

pkgs <- c("stats", "multcomp", "mvtnorm", "emmeans")
writeLines(c(R.version.string, paste0(pkgs, " ", sapply(pkgs, function(p) as.character(packageVersion(p))))),
           path("versions.txt"))

cases <- list(
  list(case = "anorexia", input = "anorexia", pre = "pre", post = "post", arms = c("Cont", "CBT", "FT"), cov = character()),
  list(case = "baumann", input = "baumann", pre = "pre", post = "post", arms = c("Basal", "DRTA", "Strat"), cov = character()),
  list(case = "chickweight", input = "chickweight", pre = "day00", post = "day21",
       arms = c("diet1", "diet2", "diet3", "diet4"), cov = character()),
  list(case = "synthetic_covariates", input = "synthetic", pre = "pre", post = "post", arms = c("A", "B", "C"),
       cov = c("age", "sex"))
)

alg <- GenzBretz(maxpts = 5e6, abseps = 1e-6, releps = 0)
rows <- list()
for (cs in cases) {
  d <- read.csv(file.path(inp_dir, paste0("input_", cs$input, ".csv")), stringsAsFactors = FALSE)
  for (o in unique(d$outcome)) {
    dd <- d[d$outcome == o, ]
    pre <- dd[dd$visit == cs$pre, ]
    post <- dd[dd$visit == cs$post, ]
    w <- merge(pre[, c("participant_id", "arm", cs$cov, "value")], post[, c("participant_id", "value")],
               by = "participant_id", suffixes = c("_pre", "_post"))
    w <- w[is.finite(w$value_pre) & is.finite(w$value_post), ]
    if (length(unique(w$arm)) < length(cs$arms) || sd(w$value_post) == 0) next
    w$arm <- factor(w$arm, levels = cs$arms)
    f <- as.formula(paste("value_post ~ value_pre + arm", paste(c("", cs$cov), collapse = " + ")))
    fit <- lm(f, data = w)
    if (anyNA(coef(fit)) || df.residual(fit) < 1) next
    for (fam in c("Dunnett", "Tukey")) {
      set.seed(20261207)
      g <- glht(fit, linfct = do.call(mcp, setNames(list(fam), "arm")))
      s <- summary(g, test = adjusted("single-step", algorithm = alg))
      set.seed(20261207)
      ci <- confint(g, level = 0.95, calpha = adjusted_calpha(algorithm = alg))
      labs <- rownames(ci$confint)
      emm <- emmeans(fit, "arm")
      method <- if (fam == "Dunnett") "trt.vs.ctrl" else "revpairwise"
      set.seed(20261207)
      mvt <- as.data.frame(contrast(emm, method, adjust = "mvt"))
      named <- as.data.frame(contrast(emm, method, adjust = if (fam == "Dunnett") "dunnettx" else "tukey"))
      key <- gsub(" ", "", labs)
      p_mvt <- mvt$p.value[match(key, gsub(" ", "", mvt$contrast))]
      p_named <- named$p.value[match(key, gsub(" ", "", named$contrast))]
      rows[[length(rows) + 1]] <- data.frame(
        case = cs$case, outcome = o, family = tolower(fam), contrast = labs,
        estimate = as.numeric(s$test$coefficients), se = as.numeric(s$test$sigma), df = g$df,
        t = as.numeric(s$test$tstat), p_adj = as.numeric(s$test$pvalues),
        ci_low = ci$confint[, "lwr"], ci_high = ci$confint[, "upr"], critical = attr(ci$confint, "calpha"),
        p_adj_emmeans_mvt = p_mvt, p_adj_emmeans_named = p_named,
        stringsAsFactors = FALSE)
    }
  }
}
out <- do.call(rbind, rows)
write.csv(out, path("many_arms.csv"), row.names = FALSE)
