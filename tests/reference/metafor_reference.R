# Regenerates metafor_reference.json: the reference values the statistics tests compare against.
# Written for R 4.2.2 with metafor 3.8.1 and metadat 1.2-0 (datasets dat.bcg, dat.normand1999) and
# jsonlite; README.md in this folder describes each kind of case and the R call behind it.
# Usage: Rscript tests/reference/metafor_reference.R OUT.json
suppressMessages({library(metafor); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 1) stop("usage: Rscript metafor_reference.R OUT.json")
out <- args[1]

# Iterative estimators (REML, PM) converged tightly for the pool cases; trimfill, subgroup and
# metareg cases use metafor's default control (REML stops when tau^2 changes by <= 1e-5).
ctl <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)
cases <- list()
add <- function(case) cases[[length(cases) + 1]] <<- case

# The fields of a pooled rma() result (`ee`: an equal-effects fit, which has no separate
# prediction interval). pi_t_* is the Cochrane Handbook interval on the reported SE (the
# Knapp-Hartung SE with test = "knha") with t(k - 2); i2_q is the Q-based I^2.
pooled <- function(res, ee) {
  b <- as.numeric(res$b)
  q_df <- res$k - res$p
  e <- list(estimate = b, se = res$se, ci_low = res$ci.lb, ci_high = res$ci.ub, stat = res$zval,
            p = res$pval, tau2 = res$tau2, i2 = res$I2, h2 = res$H2, q = res$QE, q_df = q_df,
            q_p = res$QEp, k = res$k)
  if (!ee) {
    pr <- predict(res)
    e$pi_low <- pr$pi.lb
    e$pi_high <- pr$pi.ub
  }
  if (res$k >= 3) {
    half <- qt(0.975, res$k - 2) * sqrt(res$se^2 + res$tau2)
    e$pi_t_low <- b - half
    e$pi_t_high <- b + half
  }
  e$i2_q <- 100 * max(0, (res$QE - q_df) / res$QE)
  e
}

rma_method <- function(m) if (m == "FE") "EE" else m

add_pools <- function(name, yi, vi) {
  for (m in c("FE", "DL", "REML", "PM")) {
    for (hksj in if (m == "FE") FALSE else c(FALSE, TRUE)) {
      res <- rma(yi, vi, method = rma_method(m), test = if (hksj) "knha" else "z", control = ctl)
      add(list(name = name, kind = "pool", method = m, hksj = hksj, yi = yi, vi = vi,
               expected = pooled(res, m == "FE")))
    }
  }
}

add_egger <- function(name, yi, vi) {
  eg <- regtest(rma(yi, vi, method = "DL"), model = "lm", predictor = "sei")
  add(list(name = name, kind = "egger", yi = yi, vi = vi,
           expected = list(bias = as.numeric(coef(eg$fit)[2]), limit_estimate = as.numeric(eg$est),
                           stat = eg$zval, p = eg$pval, df = eg$dfs)))
}

add_trimfill <- function(name, yi, vi) {
  for (m in c("DL", "REML")) {
    tf <- trimfill(rma(yi, vi, method = m))
    add(list(name = name, kind = "trimfill", method = m, yi = yi, vi = vi,
             expected = list(k0 = tf$k0, side = tf$side, estimate = as.numeric(tf$b),
                             ci_low = tf$ci.lb, ci_high = tf$ci.ub, tau2 = tf$tau2)))
  }
}

add_leave1out <- function(name, yi, vi) {
  l1o <- leave1out(rma(yi, vi, method = "DL"))
  add(list(name = name, kind = "leave1out", method = "DL", yi = yi, vi = vi,
           expected = list(estimate = l1o$estimate, ci_low = l1o$ci.lb, ci_high = l1o$ci.ub,
                           tau2 = l1o$tau2, i2 = l1o$I2)))
}

add_all <- function(name, es) {
  yi <- as.numeric(es$yi)
  vi <- as.numeric(es$vi)
  add_pools(name, yi, vi)
  add_egger(name, yi, vi)
  add_trimfill(name, yi, vi)
  add_leave1out(name, yi, vi)
}

# dat.bcg: log risk ratios of 13 BCG vaccine trials
bcg <- dat.bcg
arms <- list(ai = bcg$tpos, n1i = bcg$tpos + bcg$tneg, ci = bcg$cpos, n2i = bcg$cpos + bcg$cneg)
rr <- escalc(measure = "RR", ai = arms$ai, n1i = arms$n1i, ci = arms$ci, n2i = arms$n2i)
add(list(name = "bcg", kind = "effect_size", measure = "RR", input = arms,
         expected = list(yi = as.numeric(rr$yi), vi = as.numeric(rr$vi))))
add_all("bcg", rr)
for (measure in c("RR", "OR")) {
  mh <- rma.mh(ai = arms$ai, n1i = arms$n1i, ci = arms$ci, n2i = arms$n2i, measure = measure)
  add(list(name = "bcg", kind = "mantel_haenszel", measure = measure,
           input = list(e1 = arms$ai, n1 = arms$n1i, e2 = arms$ci, n2 = arms$n2i),
           expected = list(log_estimate = as.numeric(mh$b), se = mh$se, ci_low = mh$ci.lb,
                           ci_high = mh$ci.ub, q = mh$QE, q_p = mh$QEp, i2 = mh$I2, k = mh$k)))
}
yi <- as.numeric(rr$yi)
vi <- as.numeric(rr$vi)
group <- as.character(bcg$alloc)
subgroups <- list()
for (g in sort(unique(group))) {
  subgroups[[g]] <- pooled(rma(yi[group == g], vi[group == g], method = "REML"), FALSE)
}
add(list(name = "bcg_alloc", kind = "subgroup", method = "REML", yi = yi, vi = vi, group = group,
         expected = list(subgroups = subgroups)))
x <- as.numeric(bcg$ablat)
mr <- rma(yi, vi, mods = ~ x, method = "REML")
add(list(name = "bcg_ablat", kind = "metareg", method = "REML", yi = yi, vi = vi, x = x,
         expected = list(intercept = as.numeric(mr$b[1]), slope = as.numeric(mr$b[2]), se = mr$se,
                         p = mr$pval, tau2 = mr$tau2, r2 = mr$R2, qm = mr$QM, qm_p = mr$QMp)))

# dat.normand1999: 9 trials of specialist stroke care, length of stay (days), as MD and SMD
nd <- dat.normand1999
cols <- list(m1i = nd$m1i, sd1i = nd$sd1i, n1i = nd$n1i, m2i = nd$m2i, sd2i = nd$sd2i, n2i = nd$n2i)
for (measure in c("MD", "SMD")) {
  es <- escalc(measure = measure, m1i = cols$m1i, sd1i = cols$sd1i, n1i = cols$n1i, m2i = cols$m2i,
               sd2i = cols$sd2i, n2i = cols$n2i)
  name <- paste0("normand_", tolower(measure))
  add(list(name = name, kind = "effect_size", measure = measure, input = cols,
           expected = list(yi = as.numeric(es$yi), vi = as.numeric(es$vi))))
  add_all(name, es)
}

writeLines(toJSON(list(generator = paste("metafor", packageVersion("metafor")), cases = cases),
                  auto_unbox = TRUE, digits = NA, pretty = TRUE), out)
