# Reference fits for skintrial.stats.clda: constrained longitudinal data analysis (cLDA) by nlme::gls.
#
# Model: every visit, baseline included, is a response; visit means; arm x post-baseline-visit
# effects (no arm effect at baseline: the arms share the baseline mean); optional covariates as main
# effects; unstructured covariance across visits = corSymm (correlations) + varIdent (variances); REML.
#
#   gls(value ~ 0 + visit + <arm x post-visit indicators> + covariates,
#       correlation = corSymm(form = ~ visit_index | participant_id),
#       weights = varIdent(form = ~ 1 | visit), method = "REML", na.action = na.omit)
#
# Convergence is tightened (tolerance, msTol = 1e-12) so that the fixtures hold the REML maximum to
# more digits than the tests compare. Contrasts are L beta with se sqrt(L V L'), V = vcov(fit),
# df = N - p as in summary.gls, two-sided t p-values and t intervals; df_satterthwaite from numDeriv
# derivatives of nlme's REML criterion and of vcov(beta) (see satt_parts).
#
# Inputs (committed next to this script): anorexia_long.csv is written here from MASS::anorexia;
# btheb_long.csv, synthetic_long.csv and synthetic2_long.csv by make_inputs.py.
# Outputs: clda_contrasts.csv, clda_covariance.csv, clda_fit.csv, versions.txt.
#
# Run from anywhere:  Rscript tests/reference/clda/make_clda.R

suppressPackageStartupMessages(library(nlme))
args <- commandArgs(FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))

# --- real data 1: MASS::anorexia (3 arms, complete pre/post weights) -------------------------------
data(anorexia, package = "MASS")
an <- data.frame(participant_id = sprintf("a%02d", seq_len(nrow(anorexia))), arm = as.character(anorexia$Treat),
                 Pre = anorexia$Prewt, Post = anorexia$Postwt)
an_long <- rbind(data.frame(an[, 1:2], visit = "Pre", outcome = "weight", value = an$Pre),
                 data.frame(an[, 1:2], visit = "Post", outcome = "weight", value = an$Post))
an_long <- an_long[order(an_long$participant_id, an_long$visit != "Pre"), ]
write.csv(an_long, file.path(here, "anorexia_long.csv"), row.names = FALSE)

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

satt_parts <- function(fit, d) {
  # Everything in nlme's "natural" covariance parameters (as for fit$apVar): correlations as
  # log((1+r)/(1-r)), the varIdent ratios, and log sigma.
  pars <- attr(fit$apVar, "Pars")
  obj <- fit$modelStruct
  cSt <- obj$corStruct; class(cSt) <- c("corNatural", "corStruct"); obj$corStruct <- cSt
  conLin <- fit; class(conLin) <- class(obj)
  conLin$Xy <- cbind(model.matrix(formula(fit), data = d), d$value); conLin$fixedSigma <- FALSE
  conLin[["logLik"]] <- 0
  vc <- function(x) {  # vcov(beta) with sigma held fixed at exp(x[last])
    o <- obj; coef(o) <- x[-length(x)]
    c(exp(2 * x[length(x)]) * crossprod(nlme::glsEstimate(o, conLin)$varBeta))
  }
  stopifnot(max(abs(matrix(vc(pars), ncol = length(coef(fit))) - vcov(fit))) < 1e-8 * max(abs(vcov(fit))))
  J <- numDeriv::jacobian(vc, pars)
  # REML criterion (nlme's own, as glsApVar uses it) differentiated by numDeriv (Richardson), which is
  # far more accurate than apVar's fdHess (they differ by up to ~15% on these fixtures)
  N <- fit$dims$N - fit$dims$REML * fit$dims$p
  H <- numDeriv::hessian(function(x) nlme:::glsApVar.fullGlsLogLik(x, obj, conLin, fit$dims, N), pars)
  list(A = solve(-H), G = lapply(seq_len(ncol(J)), function(k) matrix(J[, k], length(coef(fit)))))
}

fit_one <- function(d, visits, arms, covariates) {
  d$visitf <- factor(d$visit, levels = visits)
  d$vi <- as.integer(d$visitf)
  d <- d[order(d$participant_id, d$vi), ]
  terms <- character(0)
  for (a in arms[-1]) for (v in visits[-1]) {
    nm <- make.names(paste0("d_", a, "_", v))
    d[[nm]] <- as.numeric(d$arm == a & d$visit == v)
    terms <- c(terms, nm)
  }
  for (cv in covariates) if (is.character(d[[cv]])) d[[cv]] <- factor(d[[cv]])
  f <- as.formula(paste("value ~ 0 + visitf +", paste(c(terms, covariates), collapse = " + ")))
  # do.call puts the formula itself into fit$call, which emmeans' gls_grad evaluates
  fit <- do.call(gls, list(model = f, data = d, correlation = corSymm(form = ~ vi | participant_id),
             weights = varIdent(form = ~ 1 | visitf), method = "REML", na.action = na.omit,
             control = glsControl(maxIter = 500, msMaxIter = 5000, tolerance = 1e-12, msTol = 1e-14, opt = "optim")))
  # Satterthwaite df = 2 (k'Vk)^2 / (g' A g): A = inverse Hessian of the REML criterion, g = the
  # derivatives of k'Vk, both by nlme's covariance parameters (see satt_parts). Not emmeans: its
  # analytic gls route differentiates in corSymm's unconstrained parameters, which do not match
  # apVar's natural ones, so for corSymm fits emmeans itself falls back to an approximation.
  sp <- satt_parts(fit, d)
  list(fit = fit, data = d, terms = terms, G = sp$G, A = sp$A)
}

contrast_rows <- function(ds, outcome, res, arms, mode, pairs) {
  b <- coef(res$fit); V <- vcov(res$fit)
  df <- res$fit$dims$N - res$fit$dims$p
  out <- list()
  for (v in ds$visits[-1]) for (pr in pairs) {
    L <- setNames(numeric(length(b)), names(b))
    hi <- pr[1]; lo <- pr[2]
    if (hi != arms[1]) L[make.names(paste0("d_", hi, "_", v))] <- 1
    if (lo != arms[1]) L[make.names(paste0("d_", lo, "_", v))] <- -1
    est <- sum(L * b); se <- sqrt(drop(t(L) %*% V %*% L)); tt <- est / se
    q <- qt(0.975, df)
    g <- sapply(res$G, function(M) drop(t(L) %*% M %*% L))
    df_satt <- 2 * (se^2)^2 / drop(t(g) %*% res$A %*% g)
    out[[length(out) + 1]] <- data.frame(
      dataset = ds$name, outcome = outcome, mode = mode, contrast = paste(hi, "-", lo), visit = v,
      estimate = est, se = se, df = df, t = tt, p = 2 * pt(-abs(tt), df),
      ci_low = est - q * se, ci_high = est + q * se, df_satterthwaite = df_satt)
  }
  do.call(rbind, out)
}

contrasts <- list(); covs <- list(); fits <- list()
for (ds in datasets) {
  d_all <- read.csv(file.path(here, ds$file), stringsAsFactors = FALSE, check.names = FALSE)
  d_all$participant_id <- as.character(d_all$participant_id)
  arms_sorted <- sort(unique(d_all$arm), method = "radix")
  arms_ref <- c(ds$reference, setdiff(arms_sorted, ds$reference))
  for (outcome in unique(d_all$outcome)) {
    d <- d_all[d_all$outcome == outcome, ]
    res <- fit_one(d, ds$visits, arms_ref, ds$covariates)
    ref_pairs <- lapply(arms_ref[-1], function(a) c(a, ds$reference))
    all_pairs <- list()
    for (i in seq_along(arms_sorted)) for (j in seq_along(arms_sorted)) if (j > i)
      all_pairs[[length(all_pairs) + 1]] <- c(arms_sorted[j], arms_sorted[i])
    contrasts[[length(contrasts) + 1]] <- contrast_rows(ds, outcome, res, arms_ref, "reference", ref_pairs)
    contrasts[[length(contrasts) + 1]] <- contrast_rows(ds, outcome, res, arms_ref, "pairs", all_pairs)
    # unstructured covariance of a participant seen at every visit
    full <- names(which(table(res$data$participant_id) == length(ds$visits)))[1]
    S <- as.matrix(getVarCov(res$fit, individual = full))
    for (r in seq_along(ds$visits)) for (s in seq_along(ds$visits))
      covs[[length(covs) + 1]] <- data.frame(dataset = ds$name, outcome = outcome, row = ds$visits[r],
                                             col = ds$visits[s], value = S[r, s])
    fits[[length(fits) + 1]] <- data.frame(dataset = ds$name, outcome = outcome, n_obs = res$fit$dims$N,
                                           p = res$fit$dims$p, loglik = as.numeric(logLik(res$fit)))
  }
}
fmt <- function(x) { x[] <- lapply(x, function(c) if (is.numeric(c)) signif(c, 15) else c); x }
write.csv(fmt(do.call(rbind, contrasts)), file.path(here, "clda_contrasts.csv"), row.names = FALSE)
write.csv(fmt(do.call(rbind, covs)), file.path(here, "clda_covariance.csv"), row.names = FALSE)
write.csv(fmt(do.call(rbind, fits)), file.path(here, "clda_fit.csv"), row.names = FALSE)
writeLines(c(R.version.string, paste("nlme", as.character(packageVersion("nlme"))),
             paste("numDeriv", as.character(packageVersion("numDeriv")))),
           file.path(here, "versions.txt"))
