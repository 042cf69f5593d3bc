# Reference adjusted means of skintrial.stats.clda (the ``estimates`` table: one row per outcome x arm x
# visit) from the same nlme::gls fits as make_clda.R: this script repeats its model (formula,
# corSymm + varIdent, REML, the same tight control) without the Satterthwaite parts, which need
# numDeriv; the df here are the residual df N - p of summary.gls.
#
# The mean of arm a at visit t is L beta with L = [visit t] + [arm a effect at t, when t is after
# baseline and a is not the first arm] + covariates at the reference grid: numeric covariates at their
# mean over the participants with at least one value of the outcome, factor covariates averaged over
# their levels with equal weights (each non-reference dummy at 1/levels), as emmeans does for a
# factor. se = sqrt(L V L'), two-sided 95% t interval.
#
# Inputs: the *_long.csv fixtures next to this script (make_clda.R, make_inputs.py).
# Output: clda_means.csv.  Run from anywhere:  Rscript tests/reference/clda/make_clda_means.R

suppressPackageStartupMessages(library(nlme))
args <- commandArgs(FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))

datasets <- list(
  list(name = "anorexia", file = "anorexia_long.csv", visits = c("Pre", "Post"),
       reference = "Cont", covariates = character(0)),
  list(name = "btheb", file = "btheb_long.csv", visits = c("pre", "2m", "4m", "6m", "8m"),
       reference = "TAU", covariates = c("drug", "length")),
  list(name = "synthetic", file = "synthetic_long.csv", visits = c("w0", "w4", "w8", "w16"),
       reference = "CON", covariates = c("age", "sex")),
  list(name = "synthetic2", file = "synthetic2_long.csv", visits = c("pre", "post"),
       reference = "A", covariates = "age")
)

mean_rows <- function(ds, outcome, d, arms) {
  d <- d[!is.na(d$value), ]
  d$visitf <- factor(d$visit, levels = ds$visits)
  d$vi <- as.integer(d$visitf)
  d <- d[order(d$participant_id, d$vi), ]
  terms <- character(0)
  for (a in arms[-1]) for (v in ds$visits[-1]) {
    nm <- make.names(paste0("d_", a, "_", v))
    d[[nm]] <- as.numeric(d$arm == a & d$visit == v)
    terms <- c(terms, nm)
  }
  # factor levels in sorted (radix) order, the first the reference, as skintrial codes them
  for (cv in ds$covariates) if (is.character(d[[cv]])) d[[cv]] <- factor(d[[cv]], levels = sort(unique(d[[cv]]), method = "radix"))
  f <- as.formula(paste("value ~ 0 + visitf +", paste(c(terms, ds$covariates), collapse = " + ")))
  fit <- gls(f, data = d, correlation = corSymm(form = ~ vi | participant_id),
             weights = varIdent(form = ~ 1 | visitf), method = "REML",
             control = glsControl(maxIter = 500, msMaxIter = 5000, tolerance = 1e-12, msTol = 1e-14, opt = "optim"))
  b <- coef(fit); V <- vcov(fit); df <- fit$dims$N - fit$dims$p
  people <- d[!duplicated(d$participant_id), ]
  grid <- setNames(numeric(length(b)), names(b))
  for (cv in ds$covariates) {
    if (is.factor(d[[cv]])) {
      lv <- levels(d[[cv]])
      for (l in lv[-1]) grid[paste0(cv, l)] <- 1 / length(lv)
    } else grid[cv] <- mean(people[[cv]])
  }
  out <- list()
  for (v in ds$visits) for (a in arms) {
    L <- grid
    L[paste0("visitf", v)] <- 1
    if (v != ds$visits[1] && a != arms[1]) L[make.names(paste0("d_", a, "_", v))] <- 1
    est <- sum(L * b); se <- sqrt(drop(t(L) %*% V %*% L)); q <- qt(0.975, df)
    out[[length(out) + 1]] <- data.frame(dataset = ds$name, outcome = outcome, arm = a, visit = v,
      emmean = est, se = se, df = df, ci_low = est - q * se, ci_high = est + q * se)
  }
  do.call(rbind, out)
}

rows <- list()
for (ds in datasets) {
  d_all <- read.csv(file.path(here, ds$file), stringsAsFactors = FALSE, check.names = FALSE)
  d_all$participant_id <- as.character(d_all$participant_id)
  arms_sorted <- sort(unique(d_all$arm), method = "radix")
  arms_ref <- c(ds$reference, setdiff(arms_sorted, ds$reference))
  for (outcome in unique(d_all$outcome))
    rows[[length(rows) + 1]] <- mean_rows(ds, outcome, d_all[d_all$outcome == outcome, ], arms_ref)
}
fmt <- function(x) { x[] <- lapply(x, function(c) if (is.numeric(c)) signif(c, 15) else c); x }
write.csv(fmt(do.call(rbind, rows)), file.path(here, "clda_means.csv"), row.names = FALSE)
