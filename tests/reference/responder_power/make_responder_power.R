# Reference for skintrial.plan.responder_power: R stats::power.prop.test (base R), two-sided, strict = FALSE.
#   Rscript tests/reference/responder_power/make_responder_power.R      (from the repository root)
args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out_dir <- if (length(script)) dirname(normalizePath(script)) else "tests/reference/responder_power"
writeLines(R.version.string, file.path(out_dir, "versions.txt"))
grid <- expand.grid(p0 = c(0.2, 0.35, 0.5), p1 = c(0.45, 0.6, 0.82), n = c(15, 30, 61), alpha = c(0.05, 0.01))
grid$power <- mapply(function(p0, p1, n, a) power.prop.test(n = n, p1 = p0, p2 = p1, sig.level = a)$power,
                     grid$p0, grid$p1, grid$n, grid$alpha)
grid$n_for_80 <- mapply(function(p0, p1, a) power.prop.test(p1 = p0, p2 = p1, sig.level = a, power = 0.8,
                                                            tol = 1e-12)$n, grid$p0, grid$p1, grid$alpha)
write.csv(grid, file.path(out_dir, "power_prop.csv"), row.names = FALSE)
