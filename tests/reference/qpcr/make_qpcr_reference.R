# Reference values for skintrial's qPCR module, computed with base R only (stats::t.test, stats::lm).
# Run from anywhere:  Rscript tests/reference/qpcr/make_qpcr_reference.R
# Reads the R `pcr` package's example data from ../shared/data/pcr_ct (beside the repository; never
# copied into it) and writes, next to this script:
#   pcr_reference.csv    dataset, quantity, value   (what the pcr package computes, recomputed here)
#   paired_design.csv    a small synthetic pre/post fibroblast-serum data set (made here, seed 20260725)
#   paired_reference.csv arm/contrast, gene, quantity, value  for that data set
#   versions.txt         R.version.string
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
data_dir <- normalizePath(file.path(here, "..", "..", "..", "..", "shared", "data", "pcr_ct"))
out <- list()
add <- function(dataset, quantity, value) {
  out[[length(out) + 1]] <<- data.frame(dataset = dataset, quantity = quantity, value = value)
}
tissue <- factor(rep(c("brain", "kidney"), each = 6), levels = c("brain", "kidney"))

# ct1: separate tubes (pcr_ddct mode = "separate_tube"): mean target - mean reference per group,
# error sqrt(sd_t^2 + sd_r^2); Student version of the test = lm on the stacked Cts with role x group.
ct1 <- read.csv(file.path(data_dir, "pcr_ct1.csv"))
for (g in levels(tissue)) {
  t <- ct1$c_myc[tissue == g]; r <- ct1$GAPDH[tissue == g]
  add("ct1", paste0("delta_ct_", g), mean(t) - mean(r))
  add("ct1", paste0("error_", g), sqrt(sd(t)^2 + sd(r)^2))
}
ddct1 <- (mean(ct1$c_myc[7:12]) - mean(ct1$GAPDH[7:12])) - (mean(ct1$c_myc[1:6]) - mean(ct1$GAPDH[1:6]))
add("ct1", "delta_delta_ct", ddct1)
add("ct1", "fold_change", 2^-ddct1)
e1 <- sqrt(sd(ct1$c_myc[7:12])^2 + sd(ct1$GAPDH[7:12])^2)
add("ct1", "fc_sd_low", 2^-(ddct1 + e1)); add("ct1", "fc_sd_high", 2^-(ddct1 - e1))
stacked <- data.frame(ct = c(ct1$c_myc, ct1$GAPDH), role = factor(rep(c("target", "ref"), each = 12),
                      levels = c("ref", "target")), group = rep(tissue, 2))
fit1 <- lm(ct ~ role * group, data = stacked)
add("ct1", "student_estimate", coef(fit1)[["roletarget:groupkidney"]])
add("ct1", "student_se", summary(fit1)$coefficients["roletarget:groupkidney", "Std. Error"])
add("ct1", "student_ci_low", confint(fit1)["roletarget:groupkidney", 1])
add("ct1", "student_ci_high", confint(fit1)["roletarget:groupkidney", 2])
add("ct1", "student_p", summary(fit1)$coefficients["roletarget:groupkidney", "Pr(>|t|)"])

# ct2 and ct4: same tube (per-sample delta Ct), t.test Welch (pcr_ttest) and Student (var.equal, = pcr_lm).
two_group <- function(name, dct, group) {
  lv <- levels(group)
  for (g in lv) {
    add(name, paste0("delta_ct_", g), mean(dct[group == g]))
    add(name, paste0("sd_", g), sd(dct[group == g]))
  }
  dd <- mean(dct[group == lv[2]]) - mean(dct[group == lv[1]])
  add(name, "delta_delta_ct", dd)
  add(name, "fold_change", 2^-dd)
  s <- sd(dct[group == lv[2]])
  add(name, "fc_sd_low", 2^-(dd + s)); add(name, "fc_sd_high", 2^-(dd - s))
  g2 <- factor(group, levels = rev(lv))  # t.test reports mean(first level) - mean(second level)
  for (eq in c(FALSE, TRUE)) {
    tt <- t.test(dct ~ g2, var.equal = eq)
    lab <- if (eq) "student" else "welch"
    add(name, paste0(lab, "_estimate"), unname(tt$estimate[1] - tt$estimate[2]))
    add(name, paste0(lab, "_ci_low"), tt$conf.int[1]); add(name, paste0(lab, "_ci_high"), tt$conf.int[2])
    add(name, paste0(lab, "_t"), unname(tt$statistic)); add(name, paste0(lab, "_df"), unname(tt$parameter))
    add(name, paste0(lab, "_p"), tt$p.value)
  }
}
ct2 <- read.csv(file.path(data_dir, "pcr_ct2.csv"))
two_group("ct2", ct2$c_myc - ct2$GAPDH, tissue)
ct4 <- read.csv(file.path(data_dir, "pcr_ct4.csv"))
two_group("ct4", ct4$target - ct4$ref, factor(rep(c("control", "treatment"), each = 12),
                                                levels = c("control", "treatment")))

# ct3: standard curves, lm(Ct ~ log10(amount)) per gene.
ct3 <- read.csv(file.path(data_dir, "pcr_ct3.csv"))
amount <- rep(c(1, .5, .2, .1, .05, .02, .01), each = 3)
for (g in c("c_myc", "GAPDH")) {
  f <- lm(ct3[[g]] ~ log10(amount))
  add(paste0("ct3_", g), "slope", coef(f)[[2]]); add(paste0("ct3_", g), "intercept", coef(f)[[1]])
  add(paste0("ct3_", g), "r_squared", summary(f)$r.squared)
  add(paste0("ct3_", g), "slope_se", summary(f)$coefficients[2, 2])
  add(paste0("ct3_", g), "amplification_factor", 10^(-1 / coef(f)[[2]]))
  add(paste0("ct3_", g), "efficiency_low", 10^(-1 / confint(f)[2, 1]) - 1)
  add(paste0("ct3_", g), "efficiency_high", 10^(-1 / confint(f)[2, 2]) - 1)
}
write.csv(do.call(rbind, out), file.path(here, "pcr_reference.csv"), row.names = FALSE)

# Synthetic paired design: 2 arms x 7 participants, visits pre/post, reference GAPDH, targets COL1A1, BGN.
set.seed(20260725)
arms <- rep(c("AT", "RT"), each = 7)
rows <- list()
for (i in seq_along(arms)) {
  base <- rnorm(1, 0, 0.4)
  for (v in c("pre", "post")) {
    shift <- if (v == "post") c(COL1A1 = 0.3, BGN = if (arms[i] == "RT") 0.8 else 0.1) else c(COL1A1 = 0, BGN = 0)
    ref <- 18 + base + rnorm(1, 0, 0.2)
    rows[[length(rows) + 1]] <- data.frame(
      sample = paste0("P", i, "_", v), group = arms[i], participant = paste0("P", i), visit = v,
      gene = c("GAPDH", "COL1A1", "BGN"),
      ct = round(c(ref, 16 + base + rnorm(1, 0, 0.3) - shift[["COL1A1"]],
                   22 + base + rnorm(1, 0, 0.3) - shift[["BGN"]]), 4))
  }
}
pd <- do.call(rbind, rows)
write.csv(pd, file.path(here, "paired_design.csv"), row.names = FALSE)
ref <- list()
addp <- function(contrast, gene, quantity, value) {
  ref[[length(ref) + 1]] <<- data.frame(contrast = contrast, gene = gene, quantity = quantity, value = value)
}
for (g in c("COL1A1", "BGN")) {
  w <- reshape(pd[pd$gene %in% c(g, "GAPDH"), c("participant", "group", "visit", "gene", "ct")],
               idvar = c("participant", "group", "visit"), timevar = "gene", direction = "wide")
  w$dct <- w[[paste0("ct.", g)]] - w$ct.GAPDH
  pre <- w[w$visit == "pre", ]; post <- w[w$visit == "post", ]
  post <- post[match(pre$participant, post$participant), ]
  change <- post$dct - pre$dct
  for (a in c("AT", "RT")) {
    tt <- t.test(post$dct[pre$group == a], pre$dct[pre$group == a], paired = TRUE)
    addp(a, g, "estimate", unname(tt$estimate)); addp(a, g, "ci_low", tt$conf.int[1])
    addp(a, g, "ci_high", tt$conf.int[2]); addp(a, g, "p", tt$p.value); addp(a, g, "df", unname(tt$parameter))
  }
  grp <- factor(pre$group, levels = c("RT", "AT"))
  for (eq in c(FALSE, TRUE)) {
    tt <- t.test(change ~ grp, var.equal = eq)
    lab <- if (eq) "RT - AT student" else "RT - AT welch"
    addp(lab, g, "estimate", unname(tt$estimate[1] - tt$estimate[2]))
    addp(lab, g, "ci_low", tt$conf.int[1]); addp(lab, g, "ci_high", tt$conf.int[2])
    addp(lab, g, "p", tt$p.value); addp(lab, g, "df", unname(tt$parameter))
  }
}
write.csv(do.call(rbind, ref), file.path(here, "paired_reference.csv"), row.names = FALSE)
writeLines(c(R.version.string, "packages: base, stats (no add-on packages)"), file.path(here, "versions.txt"))
