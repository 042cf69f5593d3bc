# Reference for skintrial's censored-normal (Tobit) fit of below-LOD panel values.
# Model per analyte: y ~ N(mu_cell, sigma^2), values below the limit left-censored;
# fitted by survival::survreg(Surv(y, detected, type = "left") ~ 0 + cell, dist = "gaussian").
# Run from this folder: Rscript make_panels.R   (writes censored_input.csv, censored_fit.csv, versions.txt)
suppressPackageStartupMessages(library(survival))
set.seed(20230623)
cells <- c("AT.week0", "AT.week16", "RT.week0", "RT.week16")
rows <- list()
for (k in 1:6) {
  mu <- c(3, 3.2, 3, 2.6) + k * 0.1
  sigma <- 0.5 + 0.1 * k
  limit <- 2.4 + 0.15 * k               # censoring from about 10 % to 60 %
  for (j in seq_along(cells)) {
    n <- 14 + j
    y <- rnorm(n, mu[j], sigma)
    rows[[length(rows) + 1]] <- data.frame(analyte = sprintf("A%d", k), cell = cells[j],
                                           y = ifelse(y < limit, NA, round(y, 6)), limit = limit)
  }
}
d <- do.call(rbind, rows)
d$detected <- !is.na(d$y)
write.csv(d[, c("analyte", "cell", "y", "limit")], "censored_input.csv", row.names = FALSE, na = "")
out <- list()
for (a in unique(d$analyte)) {
  s <- d[d$analyte == a, ]
  s$yy <- ifelse(s$detected, s$y, s$limit)
  s$cell <- factor(s$cell, levels = cells)
  fit <- survreg(Surv(yy, detected, type = "left") ~ 0 + cell, data = s, dist = "gaussian",
                 control = survreg.control(rel.tolerance = 1e-13, maxiter = 200))
  out[[a]] <- data.frame(analyte = a, cell = cells, mu = unname(coef(fit)), sigma = fit$scale,
                         loglik = fit$loglik[2], n_censored = sum(!s$detected))
}
write.csv(do.call(rbind, out), "censored_fit.csv", row.names = FALSE)
writeLines(c(R.version.string, paste("survival", as.character(packageVersion("survival")))), "versions.txt")
