# Reference for skintrial.plan.clda_power (constrained = FALSE): R longpower::power.mmrm
# (Lu, Luo & Chen 2008, formula 3). Group a = treated, group b = controls, lambda = n_a / n_b.
#   R_LIBS=/tmp/Rlib Rscript tests/reference/clda_power/make_clda_power.R      (from the repository root)
# longpower is not a Debian package: its CRAN source (github cran/longpower 1.0.27) was installed with
#   R CMD INSTALL -l /tmp/Rlib longpower
suppressPackageStartupMessages(library(longpower))
args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out_dir <- if (length(script)) dirname(normalizePath(script)) else "tests/reference/clda_power"
writeLines(c(R.version.string, paste("longpower", packageVersion("longpower"))),
           file.path(out_dir, "versions.txt"))

corr <- function(J, rho, structure) {
  if (structure == "ar1") rho^abs(outer(1:J, 1:J, "-")) else { R <- matrix(rho, J, J); diag(R) <- 1; R }
}
cases <- list(
  list(structure = "cs", rho = 0.25, ra = c(1, .9, .8, .7), rb = NULL, rho_b = NULL, lambda = 1),
  list(structure = "ar1", rho = 0.6, ra = c(1, .9, .8, .7), rb = NULL, rho_b = NULL, lambda = 1),
  list(structure = "ar1", rho = 0.6, ra = c(1, .76, .63, .52), rb = c(1, .87, .81, .78), rho_b = NULL,
       lambda = 2),
  list(structure = "cs", rho = 0.5, ra = c(1, .85, .75), rb = c(1, .95, .9), rho_b = 0.3, lambda = 0.5),
  list(structure = "ar1", rho = 0.8, ra = c(1, .95, .9, .85, .8, .75), rb = NULL, rho_b = NULL,
       lambda = 1.5),
  list(structure = "cs", rho = 0.7, ra = c(1, 1), rb = NULL, rho_b = NULL, lambda = 1),
  list(structure = "ar1", rho = 0.3, ra = c(0.95, .9, .6), rb = c(1, .7, .65), rho_b = 0.5, lambda = 1)
)
rows <- list()
skipped <- 0
for (i in seq_along(cases)) {
  k <- cases[[i]]
  J <- length(k$ra)
  Ra <- corr(J, k$rho, k$structure)
  Rb <- if (is.null(k$rho_b)) Ra else corr(J, k$rho_b, k$structure)
  rb <- if (is.null(k$rb)) k$ra else k$rb
  for (sd in c(1, 2.5)) for (es in c(0.4, 0.7)) for (alpha in c(0.05, 0.01))
    for (alt in c("two.sided", "one.sided")) for (nb in c(30, 60)) {
      delta <- es * sd
      # power.mmrm solves N(power) = N by uniroot on [0.001, 1 - 1e-10]; N(power) is not monotone
      # below power alpha/2, so a low-power setting can fail there: such rows are left out (counted)
      pw <- tryCatch(power.mmrm(N = nb * (1 + k$lambda), Ra = Ra, ra = k$ra, sigmaa = sd, Rb = Rb,
                                rb = rb, lambda = k$lambda, delta = delta, sig.level = alpha,
                                alternative = alt)$power, error = function(e) NA)
      if (is.na(pw)) { skipped <- skipped + 1; next }
      ss <- power.mmrm(Ra = Ra, ra = k$ra, sigmaa = sd, Rb = Rb, rb = rb, lambda = k$lambda,
                       delta = delta, sig.level = alpha, power = 0.8, alternative = alt)
      rows[[length(rows) + 1]] <- data.frame(
        case = i, structure = k$structure, rho = k$rho,
        rho_control = if (is.null(k$rho_b)) k$rho else k$rho_b,
        retention = paste(k$ra, collapse = ";"), retention_control = paste(rb, collapse = ";"),
        ratio = k$lambda, sd = sd, delta = delta, alpha = alpha, sides = ifelse(alt == "two.sided", 2, 1),
        n_control = nb, power = pw, n_control_for_80 = ss$n2, n_treated_for_80 = ss$n1)
    }
}
cat("settings left out (uniroot failed):", skipped, "\n")
write.csv(do.call(rbind, rows), file.path(out_dir, "power_mmrm.csv"), row.names = FALSE)
