# Reference fixtures for the analyses of the non-randomised designs (issue 11), written by R itself.
#
#   Rscript tests/reference/designs/make_designs.R        (from the repository root)
#
# Writes into tests/reference/designs/:
#   versions.txt             R.version.string and packageVersion() of every package used
#   two_way_input_*.csv      one-visit inputs (participant_id, visit, outcome, value, the two factors, covariates)
#   two_way_cases.csv        one row per case: input, group column and order, by column and order, covariates
#   two_way_anova.csv        car::Anova type II (treatment coding) and type III (contr.sum) of group, by, group:by
#   two_way_cells.csv        emmeans(fit, ~ group | by): the cell means with CIs
#   two_way_simple.csv       contrast(emmeans(fit, ~ group | by), trt.vs.ctrl or revpairwise, adjust = "none")
#   paired_input_*.csv       long single-arm inputs (participant_id, visit, outcome, value)
#   paired_cases.csv         one row per case: input, baseline visit, follow-up visits
#   paired.csv               per case x outcome x follow-up: n, mean and SD of the change, t.test(paired = TRUE)
#                            (estimate, CI, t, df, p), wilcox.test(paired = TRUE) (V, p; R's defaults: exact
#                            below 50 pairs without ties or zeros, else normal with continuity correction)
#   clda_one_arm.csv         cLDA with one arm (ChickWeight diet 1, every chick kept): nlme::gls of the visit
#                            means, unstructured covariance (corSymm + varIdent), REML, as tests/reference/clda;
#                            the change VISIT - day00 with its SE, residual df N - p, t, p and 95% interval
#
# Datasets (all public, shipped with R or carData):
#   carData::Moore      conformity by partner's status x authoritarianism category (Moore & Krupat 1971),
#                       unbalanced 2 x 3; fscore as a numeric covariate
#   datasets::ToothGrowth  tooth length by supplement x dose, balanced 2 x 3
#   datasets::warpbreaks   breaks by tension (3 levels) x wool (2), balanced
#   MASS::anorexia      the family-therapy arm alone (17 girls, weight before and after): a single-arm pre/post study
#   datasets::sleep     extra sleep of 10 patients under drug 1 and drug 2 (zeros and ties in the differences)
#   datasets::ChickWeight  diet 1 (20 chicks) at days 0, 10, 21; chicks lost before day 21 (missing follow-up)

suppressPackageStartupMessages({
  library(emmeans)
  library(car)
  library(MASS)
  library(carData)
  library(nlme)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out_dir <- if (length(script)) dirname(normalizePath(script)) else "tests/reference/designs"
path <- function(f) file.path(out_dir, f)
wcsv <- function(x, f) write.csv(x, path(f), row.names = FALSE, na = "")

pkgs <- c("stats", "emmeans", "car", "MASS", "carData", "datasets", "nlme")
writeLines(c(R.version.string, paste0(pkgs, " ", sapply(pkgs, function(p) as.character(packageVersion(p))))),
           path("versions.txt"))
split_semi <- function(s) if (nzchar(s)) strsplit(s, ";", fixed = TRUE)[[1]] else character(0)

# ------------------------------------------------------------------------------------- two-way ANOVA
mo <- carData::Moore
moore <- data.frame(participant_id = sprintf("m%02d", seq_len(nrow(mo))), visit = "v1",
                    outcome = "conformity", value = mo$conformity,
                    status = as.character(mo$partner.status), fcat = as.character(mo$fcategory),
                    fscore = mo$fscore, stringsAsFactors = FALSE)
tg <- datasets::ToothGrowth
tooth <- data.frame(participant_id = sprintf("t%02d", seq_len(nrow(tg))), visit = "v1", outcome = "len",
                    value = tg$len, supp = as.character(tg$supp), dose = paste0("d", tg$dose),
                    stringsAsFactors = FALSE)
wb <- datasets::warpbreaks
warp <- data.frame(participant_id = sprintf("w%02d", seq_len(nrow(wb))), visit = "v1", outcome = "breaks",
                   value = wb$breaks, tension = as.character(wb$tension), wool = as.character(wb$wool),
                   stringsAsFactors = FALSE)
tw_inputs <- list(moore = moore, tooth = tooth, warp = warp)
for (nm in names(tw_inputs)) wcsv(tw_inputs[[nm]], paste0("two_way_input_", nm, ".csv"))

tw_cases <- data.frame(
  case = c("moore", "moore_fscore", "tooth_pairwise", "warp"),
  input = c("moore", "moore", "tooth", "warp"),
  group = c("status", "status", "supp", "tension"),
  groups = c("low;high", "low;high", "VC;OJ", "L;M;H"),
  reference_group = c("low", "low", "", "L"),
  by = c("fcat", "fcat", "dose", "wool"),
  by_levels = c("low;medium;high", "low;medium;high", "d0.5;d1;d2", "A;B"),
  covariates = c("", "fscore", "", ""),
  stringsAsFactors = FALSE)
wcsv(tw_cases, "two_way_cases.csv")

tw <- list()
for (i in seq_len(nrow(tw_cases))) {
  cs <- tw_cases[i, ]
  d <- tw_inputs[[cs$input]]
  covs <- split_semi(cs$covariates)
  d$g <- factor(d[[cs$group]], levels = split_semi(cs$groups))
  d$b <- factor(d[[cs$by]], levels = split_semi(cs$by_levels))
  f <- as.formula(paste("value ~", paste(c("g * b", covs), collapse = " + ")))
  options(contrasts = c("contr.treatment", "contr.poly"))
  fit <- lm(f, data = d)
  a2 <- car::Anova(fit, type = 2)
  options(contrasts = c("contr.sum", "contr.poly"))
  a3 <- car::Anova(lm(f, data = d), type = 3)
  options(contrasts = c("contr.treatment", "contr.poly"))
  terms <- c(g = cs$group, b = cs$by, "g:b" = paste0(cs$group, ":", cs$by))
  for (ty in c("II", "III")) {
    a <- if (ty == "II") a2 else a3
    tw$anova <- rbind(tw$anova, data.frame(
      case = cs$case, outcome = d$outcome[1], term = unname(terms), type = ty,
      num_df = a[names(terms), "Df"], den_df = a["Residuals", "Df"], ss = a[names(terms), "Sum Sq"],
      ss_resid = a["Residuals", "Sum Sq"], f = a[names(terms), "F value"], p = a[names(terms), "Pr(>F)"],
      n = nrow(d)))
  }
  emm <- emmeans(fit, ~ g | b)
  es <- summary(emm)
  tw$cells <- rbind(tw$cells, data.frame(case = cs$case, outcome = d$outcome[1], group = as.character(es$g),
                                         level = as.character(es$b), emmean = es$emmean, se = es$SE,
                                         df = es$df, ci_low = es$lower.CL, ci_high = es$upper.CL))
  con <- if (nzchar(cs$reference_group)) contrast(emm, "trt.vs.ctrl", ref = 1, adjust = "none")
         else contrast(emm, "revpairwise", adjust = "none")
  s <- summary(con, infer = c(TRUE, TRUE), adjust = "none")
  tw$simple <- rbind(tw$simple, data.frame(case = cs$case, outcome = d$outcome[1],
                                           level = as.character(s$b),
                                           contrast = gsub("^g", "", gsub(" - g", " - ", as.character(s$contrast))),
                                           estimate = s$estimate, se = s$SE, df = s$df, t = s$t.ratio,
                                           p = s$p.value, ci_low = s$lower.CL, ci_high = s$upper.CL))
}
wcsv(tw$anova, "two_way_anova.csv")
wcsv(tw$cells, "two_way_cells.csv")
wcsv(tw$simple, "two_way_simple.csv")

# -------------------------------------------------------------------------------- single-arm change
an <- MASS::anorexia
ft <- an[an$Treat == "FT", ]
anorexia_ft <- rbind(
  data.frame(participant_id = sprintf("a%02d", seq_len(nrow(ft))), visit = "pre", outcome = "weight",
             value = ft$Prewt),
  data.frame(participant_id = sprintf("a%02d", seq_len(nrow(ft))), visit = "post", outcome = "weight",
             value = ft$Postwt))
sl <- datasets::sleep
sleep_long <- data.frame(participant_id = sprintf("s%02d", as.integer(as.character(sl$ID))),
                         visit = paste0("drug", sl$group), outcome = "extra", value = sl$extra)
cw <- datasets::ChickWeight
cw <- cw[cw$Diet == 1 & cw$Time %in% c(0, 10, 21), ]
chick <- data.frame(participant_id = sprintf("c%02d", as.integer(as.character(cw$Chick))),
                    visit = sprintf("day%02d", cw$Time), outcome = "weight", value = cw$weight)
pc_inputs <- list(anorexia_ft = anorexia_ft, sleep = sleep_long, chick_diet1 = chick)
for (nm in names(pc_inputs)) wcsv(pc_inputs[[nm]], paste0("paired_input_", nm, ".csv"))
pc_cases <- data.frame(case = c("anorexia_ft", "sleep", "chick_diet1"),
                       input = c("anorexia_ft", "sleep", "chick_diet1"),
                       baseline_visit = c("pre", "drug1", "day00"),
                       followups = c("post", "drug2", "day10;day21"), stringsAsFactors = FALSE)
wcsv(pc_cases, "paired_cases.csv")

pc <- NULL
for (i in seq_len(nrow(pc_cases))) {
  cs <- pc_cases[i, ]
  d <- pc_inputs[[cs$input]]
  for (o in sort(unique(d$outcome))) {
    b <- d[d$outcome == o & d$visit == cs$baseline_visit, c("participant_id", "value")]
    for (v in split_semi(cs$followups)) {
      f <- d[d$outcome == o & d$visit == v, c("participant_id", "value")]
      w <- merge(b, f, by = "participant_id", suffixes = c("_base", "_post"))
      tt <- t.test(w$value_post, w$value_base, paired = TRUE)
      wt <- suppressWarnings(wilcox.test(w$value_post, w$value_base, paired = TRUE))
      ch <- w$value_post - w$value_base
      pc <- rbind(pc, data.frame(case = cs$case, outcome = o, visit = v, n = nrow(w), mean_change = mean(ch),
                                 sd_change = sd(ch), se = sd(ch) / sqrt(nrow(w)), estimate = unname(tt$estimate),
                                 ci_low = tt$conf.int[1], ci_high = tt$conf.int[2], t = unname(tt$statistic),
                                 df = unname(tt$parameter), p = tt$p.value, wilcoxon_v = unname(wt$statistic),
                                 wilcoxon_p = wt$p.value, d_z = mean(ch) / sd(ch),
                                 percent_change = 100 * mean(ch) / mean(w$value_base)))
    }
  }
}
wcsv(pc, "paired.csv")

# ------------------------------------------------------------------------------------ cLDA, one arm
d <- chick
d$visitf <- factor(d$visit, levels = c("day00", "day10", "day21"))
d$vi <- as.integer(d$visitf)
d <- d[order(d$participant_id, d$vi), ]
fit <- gls(value ~ 0 + visitf, data = d, correlation = corSymm(form = ~ vi | participant_id),
           weights = varIdent(form = ~ 1 | visitf), method = "REML",
           control = glsControl(maxIter = 500, msMaxIter = 5000, tolerance = 1e-12, msTol = 1e-14, opt = "optim"))
b <- coef(fit); V <- vcov(fit); df <- fit$dims$N - fit$dims$p
one <- NULL
for (v in c("day10", "day21")) {
  L <- setNames(numeric(length(b)), names(b))
  L[paste0("visitf", v)] <- 1
  L["visitfday00"] <- -1
  est <- sum(L * b); se <- sqrt(c(t(L) %*% V %*% L)); tt <- est / se
  one <- rbind(one, data.frame(outcome = "weight", contrast = paste(v, "- day00"), visit = v, estimate = est,
                               se = se, df = df, t = tt, p = 2 * pt(-abs(tt), df),
                               ci_low = est - qt(0.975, df) * se, ci_high = est + qt(0.975, df) * se))
}
wcsv(one, "clda_one_arm.csv")
