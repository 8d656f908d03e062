# Third set of metafor reference values: the modified Knapp-Hartung method (test="adhoc") beyond the
# intercept-only model: meta-regression (coefficients, SEs, t tests, the F test of moderators) and
# leave-one-out re-analyses fitted with test="adhoc", each beside test="knha" so that a test can
# tell the two apart. Data sets where the Knapp-Hartung scaling factor is below 1 are included.
# Usage: Rscript metafor_reference_v3.R OUT.json
suppressMessages({library(metafor); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
out <- args[1]
ctl <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)
cases <- list()
add_metareg <- function(name, yi, vi, x, method) {
  for (tst in c("knha", "adhoc")) {
    res <- rma(yi, vi, mods = ~ x, method = method, test = tst, control = ctl)
    e <- list(coefficients = as.numeric(res$b), se = res$se, stat = res$zval, p = res$pval,
              ci_low = res$ci.lb, ci_high = res$ci.ub, tau2 = res$tau2, qm = res$QM, qm_p = res$QMp,
              qm_df = res$QMdf[1], qe = res$QE, k = res$k)
    cases[[length(cases) + 1]] <<- list(name = name, kind = "metareg_test", method = method, test = tst,
                                        yi = yi, vi = vi, x = x, expected = e)
  }
}
add_loo <- function(name, yi, vi, method) {
  for (tst in c("knha", "adhoc")) {
    l <- leave1out(rma(yi, vi, method = method, test = tst, control = ctl))
    cases[[length(cases) + 1]] <<- list(name = name, kind = "leave1out_test", method = method, test = tst,
        yi = yi, vi = vi, expected = list(estimate = as.numeric(l$estimate), se = as.numeric(l$se),
                                          ci_low = as.numeric(l$ci.lb), ci_high = as.numeric(l$ci.ub),
                                          tau2 = as.numeric(l$tau2)))
  }
}
d <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
add_metareg("bcg_ablat", as.numeric(d$yi), as.numeric(d$vi), as.numeric(d$ablat), "REML")
add_metareg("bcg_ablat", as.numeric(d$yi), as.numeric(d$vi), as.numeric(d$ablat), "DL")
# a nearly homogeneous set with a moderator: the Knapp-Hartung factor is below 1
hy <- c(-0.20, -0.30, -0.25, -0.22, -0.28, -0.24); hv <- c(0.04, 0.05, 0.03, 0.06, 0.05, 0.04)
hx <- c(1, 2, 3, 4, 5, 6)
add_metareg("homog_x", hy, hv, hx, "REML")
add_metareg("homog_x", hy, hv, hx, "DL")
add_loo("homog6", hy, hv, "REML")
add_loo("bcg", as.numeric(d$yi), as.numeric(d$vi), "DL")
writeLines(toJSON(list(generator = paste("metafor", packageVersion("metafor")), cases = cases),
                  auto_unbox = TRUE, digits = NA, pretty = TRUE), out)
