# Reference fixtures for skintrial.stats.responders, base R only (glm + a standardisation written out).
#
#   Rscript tests/reference/responders/make_responders.R        (from the repository root)
#
# Reads tests/reference/stats/input_*.csv; responder = change >= threshold (or percent change >= t).
# Model glm(resp ~ arm + pre [+ covariates], binomial). Standardised risk of arm a: mean over the
# analysed participants of plogis(x_i(a)' b) with the arm set to a; delta-method gradient
# colMeans(p(1-p) x_i(a)); covariance vcov(glm). RD = r_a - r_ref; log RR = log r_a - log r_ref.
# Unadjusted: observed proportions, Wald SEs. Writes responders.csv and versions.txt here.

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out_dir <- if (length(script)) dirname(normalizePath(script)) else "tests/reference/responders"
inp_dir <- file.path(dirname(out_dir), "stats")
writeLines(R.version.string, file.path(out_dir, "versions.txt"))

cases <- list(
  list(case = "anorexia", input = "anorexia", pre = "pre", post = "post", arms = c("Cont", "CBT", "FT"),
       outcome = "weight", change = 2, percent = NA, cov = character()),
  list(case = "anorexia_percent", input = "anorexia", pre = "pre", post = "post", arms = c("Cont", "CBT", "FT"),
       outcome = "weight", change = NA, percent = 5, cov = character()),
  list(case = "synthetic", input = "synthetic", pre = "pre", post = "post", arms = c("A", "B", "C"),
       outcome = "y1", change = 2, percent = NA, cov = c("age", "sex"))
)
rows <- list()
for (cs in cases) {
  d <- read.csv(file.path(inp_dir, paste0("input_", cs$input, ".csv")), stringsAsFactors = FALSE)
  d <- d[d$outcome == cs$outcome, ]
  pre <- d[d$visit == cs$pre, c("participant_id", "arm", cs$cov, "value")]
  post <- d[d$visit == cs$post, c("participant_id", "value")]
  w <- merge(pre, post, by = "participant_id", suffixes = c("_pre", "_post"))
  w <- w[complete.cases(w), ]
  w$resp <- if (is.na(cs$percent)) as.numeric(w$value_post - w$value_pre >= cs$change) else
    as.numeric(100 * (w$value_post - w$value_pre) / w$value_pre >= cs$percent)
  w$arm <- factor(w$arm, levels = cs$arms)
  f <- as.formula(paste("resp ~ arm + value_pre", paste(c("", cs$cov), collapse = " + ")))
  fit <- glm(f, family = binomial, data = w, control = glm.control(epsilon = 1e-12, maxit = 100))
  b <- coef(fit); V <- vcov(fit); X <- model.matrix(fit)
  risk <- numeric(length(cs$arms)); grad <- matrix(0, length(cs$arms), length(b))
  for (a in seq_along(cs$arms)) {
    Xa <- X
    Xa[, paste0("arm", cs$arms[-1])] <- 0
    if (a > 1) Xa[, paste0("arm", cs$arms[a])] <- 1
    p <- as.vector(plogis(Xa %*% b))
    risk[a] <- mean(p)
    grad[a, ] <- colMeans(p * (1 - p) * Xa)
  }
  n_arm <- as.vector(table(w$arm)[cs$arms]); obs <- as.vector(tapply(w$resp, w$arm, mean)[cs$arms])
  for (a in 2:length(cs$arms)) {
    lab <- paste(cs$arms[a], "-", cs$arms[1])
    g <- grad[a, ] - grad[1, ]; se_rd <- sqrt(drop(t(g) %*% V %*% g))
    g2 <- grad[a, ] / risk[a] - grad[1, ] / risk[1]; se_rr <- sqrt(drop(t(g2) %*% V %*% g2))
    cf <- summary(fit)$coefficients[paste0("arm", cs$arms[a]), ]
    p1 <- obs[a]; p0 <- obs[1]; n1 <- n_arm[a]; n0 <- n_arm[1]
    rows[[length(rows) + 1]] <- data.frame(
      case = cs$case, outcome = cs$outcome, contrast = lab,
      measure = c("risk_difference", "risk_ratio", "odds_ratio", "risk_difference", "risk_ratio"),
      adjusted = c(TRUE, TRUE, TRUE, FALSE, FALSE),
      est_scale = c(risk[a] - risk[1], log(risk[a] / risk[1]), cf[["Estimate"]], p1 - p0, log(p1 / p0)),
      se = c(se_rd, se_rr, cf[["Std. Error"]], sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0),
             sqrt((1 - p1) / (n1 * p1) + (1 - p0) / (n0 * p0))),
      risk_arm = c(risk[a], risk[a], risk[a], p1, p1), risk_reference = c(risk[1], risk[1], risk[1], p0, p0),
      n = n1 + n0, stringsAsFactors = FALSE)
  }
}
write.csv(do.call(rbind, rows), file.path(out_dir, "responders.csv"), row.names = FALSE)
