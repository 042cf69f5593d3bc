# R mmrm on simulated null trials with MAR dropout (type I error of cLDA / MMRM, issue 14).
#
# The trials come from type1_trials.py (2 arms x 40, baseline + 3 visits, unstructured covariance,
# monotone dropout missing at random, no arm effect); this script fits the first N of them as the cLDA
# model (visit means + arm x post-baseline visit, us(visit | participant)) by REML with the same
# nlminb + Newton optimiser as make_mmrm.R, and writes the arm contrast at the last visit under
# Kenward-Roger, Kenward-Roger-Linear and Satterthwaite to type1_r.csv.
#
#   .venv/bin/python tests/reference/mmrm/type1_trials.py /tmp/type1.csv 400
#   R_LIBS=/tmp/Rlib Rscript tests/reference/mmrm/make_type1.R /tmp/type1.csv

suppressPackageStartupMessages(library(mmrm))
args <- commandArgs(FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
input <- commandArgs(TRUE)[1]

newton_opt <- function(par, fn, gr, hessian, control = list()) {
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
  list(par = x, objective = f, convergence = 0, message = "Newton")
}
attr(newton_opt, "use_hessian") <- TRUE

d_all <- read.csv(input, stringsAsFactors = FALSE)
visits <- c("v0", "v1", "v2", "v3")
rows <- list()
for (trial in sort(unique(d_all$outcome))) {
  d <- d_all[d_all$outcome == trial, ]
  d$visitf <- factor(d$visit, levels = visits); d$participant_id <- factor(d$participant_id)
  for (k in 2:4) d[[paste0("d_", k)]] <- as.numeric(d$arm == "B" & d$visitf == visits[k])
  f <- value ~ 0 + visitf + d_2 + d_3 + d_4 + us(visitf | participant_id)
  for (v in list(c("kenward_roger", "Kenward-Roger", "Kenward-Roger"),
                 c("kenward_roger_linear", "Kenward-Roger", "Kenward-Roger-Linear"),
                 c("satterthwaite", "Satterthwaite", "Asymptotic"))) {
    fit <- mmrm(f, data = d, control = mmrm_control(method = v[2], vcov = v[3], optimizer_fun = newton_opt))
    L <- setNames(numeric(length(coef(fit))), names(coef(fit))); L["d_4"] <- 1
    r <- df_1d(fit, L)
    rows[[length(rows) + 1]] <- data.frame(trial = trial, df_method = v[1], estimate = r$est, se = r$se,
                                           df = r$df, p = r$p_val)
  }
}
out <- do.call(rbind, rows)
out[] <- lapply(out, function(c) if (is.numeric(c)) signif(c, 15) else c)
write.csv(out, file.path(here, "type1_r.csv"), row.names = FALSE)
writeLines(c(R.version.string, paste("mmrm", as.character(packageVersion("mmrm")), "(source: github openpharma/mmrm, tag v0.3.18)"),
             paste("TMB", as.character(packageVersion("TMB"))), paste("trials", length(unique(out$trial)))),
           file.path(here, "type1_versions.txt"))
