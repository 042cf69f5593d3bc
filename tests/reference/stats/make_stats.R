# Reference fixtures for skintrial.stats, written by R itself.
#
#   Rscript tests/reference/stats/make_stats.R        (from the repository root)
#
# Writes into tests/reference/stats/:
#   versions.txt                R.version.string and packageVersion() of every package used
#   input_*.csv                 the long input tables (participant_id, arm, visit, outcome, value, covariates)
#                               exactly as R analysed them; the Python tests read the same files
#   ancova_cases.csv            one row per ANCOVA case: input, visits, reference arm, arm order, covariates
#   ancova_fit.csv              per case x outcome: expected status, n, residual df, sigma, baseline slope
#   ancova_contrasts.csv        lm + emmeans::contrast (adjust = "none"): estimate, SE, df, t, p, CI
#   ancova_emmeans.csv          emmeans::emmeans(fit, "arm"): emmean, SE, df, CI
#   ancova_anova.csv            car::Anova type II (treatment coding) and type III (contr.sum) for the arm term
#   cross_sectional_*.csv       the same for one-visit group comparisons with covariates
#   mixed_anova_cases.csv       one row per mixed-ANOVA case
#   mixed_anova.csv             afex::aov_ez (type 3, ges) with GG / HF epsilon and corrected p
#   (p_adjust.csv is written by make_p_adjust.R beside this script: base R only)
#
# Coding. skintrial fits treatment-coded arm dummies (reference arm first). Arm contrasts, adjusted
# means and the Type II test do not depend on the coding. car::Anova Type III tests each term with the
# others in the model as coded, so it needs sum-to-zero contrasts (options(contrasts = c("contr.sum",
# "contr.poly"))) to test the hypothesis "all arms equal at the covariate means". skintrial's Type III
# arm test is the Wald test of the treatment-coded arm dummies; without an interaction it is the same
# hypothesis under any coding. With the baseline x arm interaction, skintrial centres baseline at its
# mean over the rows used, so the arm dummies are the differences at the mean baseline; R is given the
# same centred baseline (bc below) and contr.sum, which then tests the same hypothesis.

suppressPackageStartupMessages({
  library(emmeans)
  library(car)
  library(afex)
  library(MASS)
  library(carData)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out_dir <- if (length(script)) dirname(normalizePath(script)) else "tests/reference/stats"
path <- function(f) file.path(out_dir, f)
wcsv <- function(x, f) write.csv(x, path(f), row.names = FALSE, na = "")
emm_options(lmer.df = "satterthwaite")

pkgs <- c("stats", "emmeans", "car", "afex", "MASS", "carData", "datasets")
writeLines(c(R.version.string, paste0(pkgs, " ", sapply(pkgs, function(p) as.character(packageVersion(p))))),
           path("versions.txt"))

# ---------------------------------------------------------------------------------------------- inputs
long_from_wide <- function(id, arm, visits, outcome, cov = NULL) {
  # visits: named list visit -> numeric vector
  do.call(rbind, lapply(names(visits), function(v) {
    d <- data.frame(participant_id = id, arm = arm, visit = v, outcome = outcome, value = visits[[v]],
                    stringsAsFactors = FALSE)
    if (!is.null(cov)) d <- cbind(d, cov)
    d
  }))
}

# MASS::anorexia: weight (lb) before and after treatment, CBT / family therapy / control (Hand et al. 1994)
an <- MASS::anorexia
input_anorexia <- long_from_wide(sprintf("a%02d", seq_len(nrow(an))), as.character(an$Treat),
                                 list(pre = an$Prewt, post = an$Postwt), "weight")
# carData::Baumann: reading comprehension, three teaching methods, two pretests and their post-tests
ba <- carData::Baumann
input_baumann <- rbind(
  long_from_wide(sprintf("b%02d", seq_len(nrow(ba))), as.character(ba$group),
                 list(pre = ba$pretest.1, post = ba$post.test.1), "test1"),
  long_from_wide(sprintf("b%02d", seq_len(nrow(ba))), as.character(ba$group),
                 list(pre = ba$pretest.2, post = ba$post.test.2), "test2"))
# datasets::ChickWeight: body weight (g) of chicks on four diets at day 0 ... 21; five chicks lack day 21
cw <- datasets::ChickWeight
input_chickweight <- data.frame(participant_id = sprintf("c%02d", as.integer(as.character(cw$Chick))),
                                arm = paste0("diet", cw$Diet), visit = sprintf("day%02d", cw$Time),
                                outcome = "weight", value = cw$weight, stringsAsFactors = FALSE)
# afex::obk.long: O'Brien & Kaiser (1985), 16 subjects, 3 treatments, pre/post/follow-up (mean over hours)
ob <- aggregate(value ~ id + treatment + gender + phase, data = afex::obk.long, FUN = mean)
input_obk <- data.frame(participant_id = sprintf("o%02d", as.integer(as.character(ob$id))),
                        arm = as.character(ob$treatment), visit = as.character(ob$phase),
                        outcome = "score", value = ob$value, gender = as.character(ob$gender),
                        stringsAsFactors = FALSE)

# Synthetic edge cases (fixed seed): three unbalanced arms, missing follow-up, a numeric and a
# categorical covariate, an outcome whose arm C has no completers, a constant outcome, and an outcome
# with fewer observations than parameters.
set.seed(20240611)
n_arm <- c(A = 8, B = 14, C = 20)
arm <- rep(names(n_arm), n_arm)
n <- length(arm)
id <- sprintf("s%02d", seq_len(n))
age <- round(runif(n, 40, 65), 1)
sex <- sample(c("F", "M"), n, replace = TRUE, prob = c(0.7, 0.3))
shift <- c(A = 0, B = 1.5, C = 3)[arm]
syn <- list()
for (k in 1:3) {
  base <- rnorm(n, 20 + 5 * k, 3)
  post <- 5 + 0.7 * base + shift * k / 2 + 0.05 * age + 0.8 * (sex == "M") + rnorm(n, 0, 2)
  post[sample(n, 6)] <- NA
  syn[[paste0("y", k)]] <- list(pre = base, post = post)
}
base <- rnorm(n, 10, 1)
syn$y_nocompleters <- list(pre = base, post = ifelse(arm == "C", NA, base + rnorm(n)))
syn$y_constant <- list(pre = rnorm(n, 5, 1), post = rep(7.25, n))
post <- rep(NA_real_, n); post[c(1, 9, 23, 24)] <- c(3.1, 4.2, 5.0, 5.9)
syn$y_sparse <- list(pre = rnorm(n, 4, 1), post = post)
input_synthetic <- do.call(rbind, lapply(names(syn), function(o)
  long_from_wide(id, arm, syn[[o]], o, data.frame(age = age, sex = sex, stringsAsFactors = FALSE))))
input_synthetic <- input_synthetic[!is.na(input_synthetic$value), ]

inputs <- list(anorexia = input_anorexia, baumann = input_baumann, chickweight = input_chickweight,
               obk = input_obk, synthetic = input_synthetic)
for (nm in names(inputs)) wcsv(inputs[[nm]], paste0("input_", nm, ".csv"))

# ---------------------------------------------------------------------------------------------- ANCOVA
cases <- data.frame(
  case = c("anorexia", "anorexia_interaction", "baumann", "baumann_pairwise", "chickweight",
           "synthetic_covariates", "synthetic_interaction", "synthetic_pairwise_sex", "obk_gender"),
  input = c("anorexia", "anorexia", "baumann", "baumann", "chickweight", "synthetic", "synthetic",
            "synthetic", "obk"),
  baseline_visit = c("pre", "pre", "pre", "pre", "day00", "pre", "pre", "pre", "pre"),
  followup_visit = c("post", "post", "post", "post", "day21", "post", "post", "post", "fup"),
  reference_arm = c("Cont", "Cont", "Basal", "", "diet1", "A", "A", "", "control"),
  arms = c("Cont;CBT;FT", "Cont;CBT;FT", "Basal;DRTA;Strat", "Basal;DRTA;Strat",
           "diet1;diet2;diet3;diet4", "A;B;C", "A;B;C", "A;B;C", "control;A;B"),
  covariates = c("", "", "", "", "", "age;sex", "", "sex", "gender"),
  interaction = c(FALSE, TRUE, FALSE, FALSE, FALSE, FALSE, TRUE, FALSE, FALSE),
  stringsAsFactors = FALSE)
wcsv(cases, "ancova_cases.csv")

split_semi <- function(s) if (nzchar(s)) strsplit(s, ";", fixed = TRUE)[[1]] else character(0)

wide_for <- function(long, outcome, baseline, followup, arms, covs) {
  d <- long[long$outcome == outcome, ]
  subj <- unique(long[, c("participant_id", "arm", covs), drop = FALSE])
  b <- d[d$visit == baseline, c("participant_id", "value")]; names(b)[2] <- "base"
  f <- d[d$visit == followup, c("participant_id", "value")]; names(f)[2] <- "post"
  w <- merge(merge(subj, b, all.x = TRUE), f, all.x = TRUE)
  w <- w[complete.cases(w[, c("base", "post", covs)]), ]
  w$arm <- factor(w$arm, levels = arms)
  for (c in covs) if (is.character(w[[c]])) w[[c]] <- factor(w[[c]])
  w
}

# skintrial's status of an outcome, as its first contrast row reports it. An arm without completers is
# left out of the outcome's model, as R's lm drops the unused level (drop.unused.levels), so the fit
# of the other arms is compared here: their contrasts and adjusted means. skintrial marks the empty
# arm's own contrasts and adjusted mean, and the arm test (which needs every arm), status
# "arm_without_complete_cases" with NaN estimates; no arm test is written for such an outcome. When
# the empty arm is the reference arm skintrial keeps every column (the outcome is not estimable).
status_of <- function(fit, w, interaction) {
  empty <- table(w$arm) == 0  # w$arm keeps every declared level
  if (nrow(w) <= length(coef(fit)) + empty[[1]] * (1 + interaction)) return("too_few_observations")
  if (empty[[1]]) return("arm_without_complete_cases")
  if (any(is.na(coef(fit)))) return("rank_deficient")
  if (sum(residuals(fit)^2) <= 1e-24 * sum(w$post^2)) return("no_residual_variance")
  "ok"
}

fit_case <- function(cs, long, outcome, ci = 0.95) {
  arms <- split_semi(cs$arms); covs <- split_semi(cs$covariates)
  w <- wide_for(long, outcome, cs$baseline_visit, cs$followup_visit, arms, covs)
  w$bc <- w$base - mean(w$base)
  rhs <- if (cs$interaction) "arm * bc" else "bc + arm"
  f <- as.formula(paste("post ~", paste(c(rhs, covs), collapse = " + ")))
  options(contrasts = c("contr.treatment", "contr.poly"))
  fit <- lm(f, data = w)
  st <- status_of(fit, w, cs$interaction)
  res <- list(fit = data.frame(case = cs$case, outcome = outcome, status = st, n = nrow(w),
                               df_resid = fit$df.residual, sigma = if (st == "ok") sigma(fit) else NA,
                               baseline_slope = if (st == "ok") unname(coef(fit)["bc"]) else NA))
  if (st != "ok") return(res)
  emm <- emmeans(fit, "arm")
  es <- summary(emm, level = ci)
  res$emmeans <- data.frame(case = cs$case, outcome = outcome, arm = as.character(es$arm), emmean = es$emmean,
                            se = es$SE, df = es$df, ci_low = es$lower.CL, ci_high = es$upper.CL)
  con <- if (nzchar(cs$reference_arm)) contrast(emm, "trt.vs.ctrl", ref = 1, adjust = "none")
         else contrast(emm, "revpairwise", adjust = "none")
  cs_ <- summary(con, infer = c(TRUE, TRUE), level = ci, adjust = "none")
  res$contrasts <- data.frame(case = cs$case, outcome = outcome, contrast = as.character(cs_$contrast),
                              estimate = cs_$estimate, se = cs_$SE, df = cs_$df, t = cs_$t.ratio,
                              p = cs_$p.value, ci_low = cs_$lower.CL, ci_high = cs_$upper.CL)
  if (any(table(w$arm) == 0)) return(res)  # the arm test needs every arm (see status_of)
  a2 <- car::Anova(fit, type = 2)
  options(contrasts = c("contr.sum", "contr.poly"))
  a3 <- car::Anova(lm(f, data = w), type = 3)
  options(contrasts = c("contr.treatment", "contr.poly"))
  res$anova <- do.call(rbind, lapply(list(II = a2, III = a3), function(a) {
    data.frame(term = "arm", num_df = a["arm", "Df"], den_df = a["Residuals", "Df"], ss = a["arm", "Sum Sq"],
               ss_resid = a["Residuals", "Sum Sq"], f = a["arm", "F value"], p = a["arm", "Pr(>F)"])
  }))
  res$anova <- cbind(case = cs$case, outcome = outcome, type = c("II", "III"), res$anova)
  res
}

collect <- function(cases, inputs, fitter) {
  out <- list()
  for (i in seq_len(nrow(cases))) {
    cs <- cases[i, ]
    long <- inputs[[cs$input]]
    for (o in sort(unique(long$outcome))) {
      r <- fitter(cs, long, o)
      for (nm in names(r)) out[[nm]] <- rbind(out[[nm]], r[[nm]])
    }
  }
  out
}

anc <- collect(cases, inputs, fit_case)
wcsv(anc$fit, "ancova_fit.csv")
wcsv(anc$contrasts, "ancova_contrasts.csv")
wcsv(anc$emmeans, "ancova_emmeans.csv")
wcsv(anc$anova, "ancova_anova.csv")

# ------------------------------------------------------------------------------------- cross-sectional
# One visit, groups compared adjusted for covariates (the active vs sedentary design): lm + emmeans.
xs_cases <- data.frame(
  case = c("anorexia_post", "chickweight_day10", "synthetic_age_sex", "baumann_pairwise"),
  input = c("anorexia", "chickweight", "synthetic", "baumann"),
  visit = c("post", "day10", "pre", "post"),
  reference_group = c("Cont", "diet1", "A", ""),
  groups = c("Cont;CBT;FT", "diet1;diet2;diet3;diet4", "A;B;C", "Basal;DRTA;Strat"),
  covariates = c("", "", "age;sex", ""),
  stringsAsFactors = FALSE)
wcsv(xs_cases, "cross_sectional_cases.csv")

fit_xs <- function(cs, long, outcome, ci = 0.95) {
  groups <- split_semi(cs$groups); covs <- split_semi(cs$covariates)
  d <- long[long$outcome == outcome & long$visit == cs$visit, c("participant_id", "arm", "value", covs)]
  d <- d[complete.cases(d), ]
  d$arm <- factor(d$arm, levels = groups)
  for (c in covs) if (is.character(d[[c]])) d[[c]] <- factor(d[[c]])
  f <- as.formula(paste("value ~", paste(c("arm", covs), collapse = " + ")))
  fit <- lm(f, data = d)
  if (nrow(d) <= length(coef(fit)) || any(is.na(coef(fit))) || sigma(fit) < 1e-10) return(list())
  emm <- emmeans(fit, "arm")
  con <- if (nzchar(cs$reference_group)) contrast(emm, "trt.vs.ctrl", ref = 1, adjust = "none")
         else contrast(emm, "revpairwise", adjust = "none")
  s <- summary(con, infer = c(TRUE, TRUE), level = ci, adjust = "none")
  es <- summary(emm, level = ci)
  a2 <- car::Anova(fit, type = 2)
  list(contrasts = data.frame(case = cs$case, outcome = outcome, contrast = as.character(s$contrast),
                              estimate = s$estimate, se = s$SE, df = s$df, t = s$t.ratio, p = s$p.value,
                              ci_low = s$lower.CL, ci_high = s$upper.CL, n = nrow(d)),
       emmeans = data.frame(case = cs$case, outcome = outcome, arm = as.character(es$arm), emmean = es$emmean,
                            se = es$SE, df = es$df, ci_low = es$lower.CL, ci_high = es$upper.CL),
       anova = data.frame(case = cs$case, outcome = outcome, num_df = a2["arm", "Df"],
                          den_df = a2["Residuals", "Df"], f = a2["arm", "F value"], p = a2["arm", "Pr(>F)"]))
}
xs <- collect(xs_cases, inputs, fit_xs)
wcsv(xs$contrasts, "cross_sectional_contrasts.csv")
wcsv(xs$emmeans, "cross_sectional_emmeans.csv")
wcsv(xs$anova, "cross_sectional_anova.csv")

# ----------------------------------------------------------------------------------------- mixed ANOVA
ma_cases <- data.frame(
  case = c("anorexia", "obk", "chickweight_3", "chickweight_all", "synthetic"),
  input = c("anorexia", "obk", "chickweight", "chickweight", "synthetic"),
  visits = c("pre;post", "pre;post;fup", "day00;day10;day21",
             paste(sprintf("day%02d", c(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 21)), collapse = ";"), "pre;post"),
  stringsAsFactors = FALSE)
wcsv(ma_cases, "mixed_anova_cases.csv")

fit_ma <- function(cs, long, outcome) {
  visits <- split_semi(cs$visits)
  d <- long[long$outcome == outcome & long$visit %in% visits, c("participant_id", "arm", "visit", "value")]
  full <- names(which(table(d$participant_id) == length(visits)))
  d <- d[d$participant_id %in% full, ]
  if (length(unique(d$arm)) < 2 || nrow(d) == 0) return(list())
  d$visit <- factor(d$visit, levels = visits)
  a <- suppressMessages(aov_ez("participant_id", "value", d, between = "arm", within = "visit", type = 3))
  tab <- anova(a, es = "ges", correction = "none")
  out <- data.frame(case = cs$case, outcome = outcome, term = c("arm", "visit", "arm:visit"),
                    num_df = tab[, "num Df"], den_df = tab[, "den Df"], mse = tab[, "MSE"], f = tab[, "F"],
                    p = tab[, "Pr(>F)"], ges = tab[, "ges"], n = length(full),
                    gg_eps = NA_real_, p_gg = NA_real_, hf_eps = NA_real_, p_hf = NA_real_)
  if (length(visits) > 2) {
    adj <- summary(a)$pval.adjustments
    out[2:3, c("gg_eps", "p_gg", "hf_eps", "p_hf")] <- adj[c("visit", "arm:visit"), 1:4]
  }
  list(mixed_anova = out)
}
ma <- collect(ma_cases, inputs, fit_ma)
wcsv(ma$mixed_anova, "mixed_anova.csv")
