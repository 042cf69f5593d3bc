# Reference fits for skintrial.stats.clda's MMRM options by R mmrm (openpharma), and nlme::gls.
#
# The cLDA model (docs/clda.md): every visit, baseline included, is a response; visit means; arm x
# post-baseline-visit effects (the arms share the baseline mean); covariates as main effects (optionally
# also x post-baseline visit); a covariance across visits of the given structure; REML. The mean model
# is written out as numeric columns exactly as skintrial builds it (visit indicators, arm x visit
# indicators, covariates centred over the participants), so that coefficient vectors and contrast
# vectors L are the same on both sides:
#
#   mmrm(value ~ 0 + v_1 + ... + d_<arm>_<visit> + ... + c_<covariate> ... + <cov>(visitf | participant_id),
#        control = mmrm_control(method = ..., vcov = ..., optimizer_fun = newton_opt))
#
# for every covariance structure (us, cs, csh, ar1, ar1h, toep, toeph) and every df / vcov method:
# Satterthwaite, Residual, Between-Within (vcov Asymptotic), Kenward-Roger (vcov Kenward-Roger),
# Kenward-Roger-Linear (method Kenward-Roger, vcov Kenward-Roger-Linear), Empirical (CR0 sandwich,
# with its Satterthwaite df). mmrm's default optimiser stops short of the REML maximum (|gradient| up
# to 0.02 on fev), and nlminb fails with "singular convergence" when its rel.tol is tightened; so the
# optimiser here is nlminb followed by Newton steps on TMB's exact gradient and Hessian until
# max |gradient| < 1e-11 (recorded per fit in mmrm_fit.csv).
#
# Also nlme::gls for the structures nlme can fit: cs = corCompSymm, csh = corCompSymm + varIdent,
# ar1 = corAR1, ar1h = corAR1 + varIdent (estimates, model SEs, REML logLik).
#
# Inputs: fev_long.csv (written here from mmrm::fev_data, FEV1_BL as the baseline visit "BL"),
# ../clda/btheb_long.csv (HSAUR::BtheB). Outputs: mmrm_contrasts.csv, mmrm_means.csv, mmrm_fit.csv,
# mmrm_covariance.csv, gls_fit.csv, gls_contrasts.csv, versions.txt.
#
# mmrm is not a Debian package: build it from its source (git tag v0.3.18) against r-cran-tmb, e.g.
#   R CMD INSTALL -l /tmp/Rlib mmrm     and run   R_LIBS=/tmp/Rlib Rscript tests/reference/mmrm/make_mmrm.R

suppressPackageStartupMessages({library(mmrm); library(nlme)})
args <- commandArgs(FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))

# --- inputs ----------------------------------------------------------------------------------------
data(fev_data, package = "mmrm")
fev <- fev_data
fev$participant_id <- as.character(fev$USUBJID)
base <- unique(fev[, c("participant_id", "ARMCD", "RACE", "SEX", "FEV1_BL")])
fev_long <- rbind(
  data.frame(participant_id = base$participant_id, arm = as.character(base$ARMCD),
             race = as.character(base$RACE), sex = as.character(base$SEX), visit = "BL",
             outcome = "fev1", value = base$FEV1_BL),
  data.frame(participant_id = fev$participant_id, arm = as.character(fev$ARMCD),
             race = as.character(fev$RACE), sex = as.character(fev$SEX), visit = as.character(fev$AVISIT),
             outcome = "fev1", value = fev$FEV1))
fev_long <- fev_long[!is.na(fev_long$value), ]
fev_long <- fev_long[order(as.integer(sub("PT", "", fev_long$participant_id)), fev_long$visit), ]
write.csv(fev_long, file.path(here, "fev_long.csv"), row.names = FALSE)

datasets <- list(
  list(name = "fev", file = file.path(here, "fev_long.csv"), visits = c("BL", "VIS1", "VIS2", "VIS3", "VIS4"),
       reference = "PBO", covariates = c("race", "sex"), visit_covariates = character(0)),
  list(name = "btheb", file = file.path(here, "..", "clda", "btheb_long.csv"),
       visits = c("pre", "2m", "4m", "6m", "8m"), reference = "TAU", covariates = c("drug", "length"),
       visit_covariates = character(0)),
  list(name = "fev_visit_covariate", file = file.path(here, "fev_long.csv"),
       visits = c("BL", "VIS1", "VIS2", "VIS3", "VIS4"), reference = "PBO", covariates = c("race", "sex"),
       visit_covariates = "sex")
)
structures <- c("us", "cs", "csh", "ar1", "ar1h", "toep", "toeph")
variants <- list(  # name, method, vcov
  list("asymptotic", "Satterthwaite", "Asymptotic"),
  list("kenward_roger", "Kenward-Roger", "Kenward-Roger"),
  list("kenward_roger_linear", "Kenward-Roger", "Kenward-Roger-Linear"),
  list("empirical", "Satterthwaite", "Empirical"))

# --- design: the columns skintrial builds -----------------------------------------------------------
design <- function(d, visits, arms, covariates, visit_covariates) {
  d$visitf <- factor(d$visit, levels = visits)
  d$vi <- as.integer(d$visitf)
  d <- d[order(d$participant_id, d$vi), ]
  people <- unique(d[, c("participant_id", covariates), drop = FALSE])
  cols <- character(0); grid <- list()
  for (k in seq_along(visits)) { nm <- paste0("v_", k); d[[nm]] <- as.numeric(d$vi == k); cols <- c(cols, nm) }
  arm_cols <- character(0)
  for (a in arms[-1]) for (k in seq_along(visits)[-1]) {
    nm <- make.names(paste0("d_", a, "_", visits[k])); d[[nm]] <- as.numeric(d$arm == a & d$vi == k)
    arm_cols <- c(arm_cols, nm)
  }
  cov_cols <- character(0); cov_grid <- numeric(0)
  for (cv in covariates) {
    x <- people[[cv]]
    if (is.numeric(x)) {
      nm <- make.names(paste0("c_", cv)); d[[nm]] <- d[[cv]] - mean(x)
      cov_cols <- c(cov_cols, nm); cov_grid <- c(cov_grid, setNames(mean(x) - mean(x), nm))
    } else {
      lv <- sort(unique(x), method = "radix")
      for (l in lv[-1]) {
        nm <- make.names(paste0("c_", cv, "_", l)); m <- mean(x == l)
        d[[nm]] <- as.numeric(d[[cv]] == l) - m
        cov_cols <- c(cov_cols, nm); cov_grid <- c(cov_grid, setNames(1 / length(lv) - m, nm))
      }
    }
  }
  vc_cols <- character(0)
  for (cv in visit_covariates) for (nm in cov_cols[startsWith(cov_cols, make.names(paste0("c_", cv)))])
    for (k in seq_along(visits)[-1]) {
      nm2 <- paste0(nm, "_x_", k); d[[nm2]] <- d[[nm]] * (d$vi == k); vc_cols <- c(vc_cols, nm2)
    }
  list(data = d, cols = c(cols, arm_cols, cov_cols, vc_cols), arm_cols = arm_cols, cov_grid = cov_grid,
       vc_cols = vc_cols)
}

newton_opt <- function(par, fn, gr, hessian, control = list()) {
  # nlminb with TMB's exact gradient and Hessian, then Newton steps (step halving) until the largest
  # |gradient| is below 1e-11: nlminb alone stops short, or reports "singular convergence" when its
  # rel.tol is set tight enough.
  o <- stats::nlminb(par, fn, gr, hessian)
  x <- o$par; f <- fn(x)
  for (it in 1:100) {
    g <- as.numeric(gr(x)); if (max(abs(g)) < 1e-11) break
    step <- solve(hessian(x), g); s <- 1; ok <- FALSE
    for (h in 1:40) {
      xn <- x - s * step; fn_new <- fn(xn)
      if (is.finite(fn_new) && fn_new <= f + 1e-13 * abs(f)) { ok <- TRUE; break }
      s <- s / 2
    }
    if (!ok) break
    x <- xn; f <- fn_new
  }
  list(par = x, objective = f, convergence = 0, message = sprintf("Newton, max |gradient| %.2g", max(abs(gr(x)))))
}
attr(newton_opt, "use_hessian") <- TRUE
tight <- function(method, vcov) mmrm_control(method = method, vcov = vcov, optimizer_fun = newton_opt)

contrast_vectors <- function(des, visits, arms) {
  # TRT - REF at each post-baseline visit, and every arm's mean at every visit (covariates at the grid)
  out <- list()
  for (k in seq_along(visits)[-1]) for (a in arms[-1]) {
    L <- setNames(numeric(length(des$cols)), des$cols)
    L[make.names(paste0("d_", a, "_", visits[k]))] <- 1
    out[[length(out) + 1]] <- list(kind = "contrast", label = paste(a, "-", arms[1]), visit = visits[k], L = L)
  }
  for (k in seq_along(visits)) for (a in arms) {
    L <- setNames(numeric(length(des$cols)), des$cols)
    L[paste0("v_", k)] <- 1
    if (a != arms[1] && k > 1) L[make.names(paste0("d_", a, "_", visits[k]))] <- 1
    L[names(des$cov_grid)] <- des$cov_grid
    for (nm in des$vc_cols) {
      src <- sub("_x_[0-9]+$", "", nm); kk <- as.integer(sub(".*_x_", "", nm))
      if (kk == k) L[nm] <- des$cov_grid[[src]]
    }
    out[[length(out) + 1]] <- list(kind = "mean", label = a, visit = visits[k], L = L)
  }
  out
}

rows <- list(); fits <- list(); covs <- list(); gls_rows <- list(); gls_fits <- list()
for (ds in datasets) {
  d <- read.csv(ds$file, stringsAsFactors = FALSE, check.names = FALSE)
  d$participant_id <- as.character(d$participant_id)
  arms <- c(ds$reference, setdiff(sort(unique(d$arm), method = "radix"), ds$reference))
  des <- design(d, ds$visits, arms, ds$covariates, ds$visit_covariates)
  dd <- des$data
  dd$participant_id <- factor(dd$participant_id)
  cvs <- contrast_vectors(des, ds$visits, arms)
  for (st in structures) {
    f <- as.formula(paste("value ~ 0 +", paste(des$cols, collapse = " + "), "+", st, "(visitf | participant_id)"))
    for (va in variants) {
      fit <- mmrm(f, data = dd, reml = TRUE, control = tight(va[[2]], va[[3]]))
      stopifnot(identical(names(coef(fit)), des$cols))
      grad <- max(abs(fit$tmb_object$gr(fit$theta_est)))
      dfs <- if (va[[1]] == "asymptotic") c(satterthwaite = "Satterthwaite", residual = "Residual",
                                           between_within = "Between-Within")
             else if (va[[1]] == "empirical") c(satterthwaite = "Satterthwaite", residual = "Residual",
                                               between_within = "Between-Within")
             else c(kenward_roger = "Kenward-Roger")
      for (cv in cvs) for (dm in names(dfs)) {
        fit$method <- dfs[[dm]]
        r <- df_1d(fit, cv$L)
        rows[[length(rows) + 1]] <- data.frame(
          dataset = ds$name, covariance = st, vcov = va[[1]], df_method = dm, kind = cv$kind,
          label = cv$label, visit = cv$visit, estimate = r$est, se = r$se, df = r$df, t = r$t_stat,
          p = r$p_val)
      }
      if (va[[1]] == "asymptotic") {
        fits[[length(fits) + 1]] <- data.frame(
          dataset = ds$name, covariance = st, n_obs = component(fit, "n_obs"),
          n_subjects = component(fit, "n_subjects"), p = length(coef(fit)),
          loglik = as.numeric(logLik(fit)), max_abs_gradient = grad,
          converged = fit$opt_details$convergence == 0)
        S <- VarCorr(fit)
        for (r in seq_along(ds$visits)) for (s in seq_along(ds$visits))
          covs[[length(covs) + 1]] <- data.frame(dataset = ds$name, covariance = st, row = ds$visits[r],
                                                 col = ds$visits[s], value = S[r, s])
      }
    }
    # nlme::gls for the structures it has
    if (st %in% c("cs", "csh", "ar1", "ar1h")) {
      corr <- if (st %in% c("cs", "csh")) corCompSymm(form = ~ vi | participant_id) else corAR1(form = ~ vi | participant_id)
      wts <- if (st %in% c("csh", "ar1h")) varIdent(form = ~ 1 | visitf) else NULL
      fg <- as.formula(paste("value ~ 0 +", paste(des$cols, collapse = " + ")))
      fit_gls <- function(opt) do.call(gls, list(model = fg, data = dd, correlation = corr, weights = wts,
        method = "REML", control = glsControl(maxIter = 500, msMaxIter = 5000, tolerance = 1e-12,
                                              msTol = 1e-14, opt = opt)))
      opt_used <- "optim"
      g <- tryCatch(fit_gls("optim"), error = function(e) {  # optim fails on some corAR1 fits
        opt_used <<- "nlminb"; fit_gls("nlminb") })
      gls_fits[[length(gls_fits) + 1]] <- data.frame(dataset = ds$name, covariance = st,
                                                     loglik = as.numeric(logLik(g)), opt = opt_used)
      for (cv in cvs) if (cv$kind == "contrast") {
        est <- sum(cv$L * coef(g)); se <- sqrt(drop(t(cv$L) %*% vcov(g) %*% cv$L))
        gls_rows[[length(gls_rows) + 1]] <- data.frame(dataset = ds$name, covariance = st,
                                                       label = cv$label, visit = cv$visit, estimate = est, se = se)
      }
    }
  }
}
fmt <- function(x) { x[] <- lapply(x, function(c) if (is.numeric(c)) signif(c, 15) else c); x }
all_rows <- do.call(rbind, rows)
write.csv(fmt(all_rows[all_rows$kind == "contrast", ]), file.path(here, "mmrm_contrasts.csv"), row.names = FALSE)
write.csv(fmt(all_rows[all_rows$kind == "mean", ]), file.path(here, "mmrm_means.csv"), row.names = FALSE)
write.csv(fmt(do.call(rbind, fits)), file.path(here, "mmrm_fit.csv"), row.names = FALSE)
write.csv(fmt(do.call(rbind, covs)), file.path(here, "mmrm_covariance.csv"), row.names = FALSE)
write.csv(fmt(do.call(rbind, gls_fits)), file.path(here, "gls_fit.csv"), row.names = FALSE)
write.csv(fmt(do.call(rbind, gls_rows)), file.path(here, "gls_contrasts.csv"), row.names = FALSE)
writeLines(c(R.version.string,
             paste("mmrm", as.character(packageVersion("mmrm")), "(source: github openpharma/mmrm, tag v0.3.18)"),
             paste("TMB", as.character(packageVersion("TMB"))),
             paste("nlme", as.character(packageVersion("nlme")))),
           file.path(here, "versions.txt"))
