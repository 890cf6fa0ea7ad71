# Reference values for tests/unit/test_stats_factorial.c: R's glm and lm on
# EXPANDED per-visitor data (one row per visitor), against which the C code
# fits the same models from cell sums only.
#
# Run (R 4.2 with the sandwich package; on Debian `apt-get install
# r-cran-sandwich`; R is needed only to regenerate this file, not to build
# or test Upshot):
#   Rscript tests/vectors/stats/factorial.R > tests/vectors/stats/factorial-R.txt
#
# Each scenario simulates visitors (fixed seed): a level of each factor, a
# region (the stratum), converted 0/1 and revenue (0 unless converted).
# It writes the cell sufficient statistics Upshot keeps (n, conversions,
# sum and sum of squares of revenue per level combination and stratum),
# then for
#   logit  glm(converted ~ (f1 + f2 + ...)^2 + s, family = binomial)
#   ols    lm(revenue ~ (f1 + f2 + ...)^2 + s) with
#          sandwich::vcovHC(type = "HC3") as the covariance
# (main effects only, f1 + f2 + ..., when the scenario has no interactions;
# "+ s" only with more than one stratum) every coefficient with its standard
# error, z = estimate / se, the two-sided p-value and interval at 95%. The
# p-values of BOTH models use the normal reference (2 pnorm(-|z|)), also for
# lm, because that is what the C code reports (Wald z tests; the t
# reference with tens of thousands of residual df differs in the 5th digit
# at most). Also: the joint Wald test of each pair's interactions
# (chi-square, (La-1)(Lb-1) df, from the sub-covariance), and the linear
# predictor of every combination (with its delta-method standard error)
# and its contrast against the control combination.
#
# Line format (read by the C test; fields separated by single spaces):
#   scenario NAME
#   design K L1 .. LK S INTERACTIONS ALPHA
#   cell l1 .. lK stratum n conversions sum sumsq
#   fit MODEL n N deviance DEV iterations IT
#   term KIND fa la fb lb estimate se z p log10p lo hi
#   joint a b chi2 df p log10p
#   predict l1 .. lK stratum estimate se
#   contrast l1 .. lK stratum estimate se
#   end
# Factors and levels are 0-based; level 0 is the control level; -1 marks an
# unused index. Numbers are printed with %.17g.
suppressPackageStartupMessages(library(sandwich))
g <- function(v) sprintf("%.17g", v)
line <- function(...) cat(paste(unlist(list(...)), collapse = " "), "\n", sep = "")
cat("# R ", R.version$major, ".", R.version$minor, ", sandwich ",
    as.character(packageVersion("sandwich")), "\n", sep = "")

# Simulates visitors. levels: levels per factor; probs: a list of level
# probabilities per factor (unequal cell sizes); strata: region sizes
# (relative); eta(d): the log-odds of converting; amount(d): revenue of a
# converter.
simulate <- function(n, levels, probs, strata, eta, amount) {
  K <- length(levels)
  d <- data.frame(row.names = seq_len(n))
  for (k in seq_len(K))
    d[[paste0("f", k)]] <- sample(0:(levels[k] - 1), n, replace = TRUE, prob = probs[[k]])
  d$s <- sample(0:(length(strata) - 1), n, replace = TRUE, prob = strata)
  d$converted <- as.integer(runif(n) < plogis(eta(d)))
  d$revenue <- ifelse(d$converted == 1, amount(d), 0)
  d
}

emit <- function(name, d, levels, nstrata, interactions, alpha = 0.05) {
  K <- length(levels)
  fn <- paste0("f", seq_len(K))
  line("scenario", name)
  line("design", K, levels, nstrata, as.integer(interactions), g(alpha))
  key <- do.call(paste, c(d[c(fn, "s")], sep = " "))
  for (k in sort(unique(key))) {
    r <- d[key == k, ]
    line("cell", k, g(nrow(r)), g(sum(r$converted)), g(sum(r$revenue)), g(sum(r$revenue^2)))
  }
  # factors with labelled levels so that R's column names can be parsed
  x <- d
  for (k in seq_len(K)) x[[fn[k]]] <- factor(paste0("L", d[[fn[k]]]), levels = paste0("L", 0:(levels[k] - 1)))
  x$s <- factor(paste0("R", d$s), levels = paste0("R", 0:(nstrata - 1)))
  rhs <- paste0("(", paste(fn, collapse = " + "), ")", if (interactions) "^2" else "")
  if (nstrata > 1) rhs <- paste(rhs, "+ s")
  zc <- qnorm(1 - alpha / 2)
  # all combinations, in stratum 0 and (with strata) the last stratum
  grid <- expand.grid(lapply(rev(levels), function(L) 0:(L - 1)))[, K:1, drop = FALSE]
  names(grid) <- fn
  combos <- do.call(rbind, lapply(unique(c(0, nstrata - 1)), function(s) cbind(grid, s = s)))
  newx <- combos
  for (k in seq_len(K)) newx[[fn[k]]] <- factor(paste0("L", combos[[fn[k]]]), levels = levels(x[[fn[k]]]))
  newx$s <- factor(paste0("R", combos$s), levels = levels(x$s))
  for (model in c("logit", "ols")) {
    if (model == "logit") {
      fit <- glm(as.formula(paste("converted ~", rhs)), family = binomial, data = x)
      V <- vcov(fit); dev <- deviance(fit); it <- fit$iter
    } else {
      fit <- lm(as.formula(paste("revenue ~", rhs)), data = x)
      V <- vcovHC(fit, type = "HC3"); dev <- deviance(fit); it <- 1
    }
    b <- coef(fit); se <- sqrt(diag(V)); z <- b / se
    line("fit", model, "n", nrow(d), "deviance", g(dev), "iterations", it)
    for (nm in names(b)) {
      idx <- c(-1, -1, -1, -1)
      if (nm == "(Intercept)") kind <- "intercept"
      else if (grepl("^s", nm)) { kind <- "stratum"; idx[2] <- as.integer(sub("^sR", "", nm)) }
      else {
        parts <- strsplit(nm, ":")[[1]]
        kind <- if (length(parts) == 1) "main" else "interaction"
        for (j in seq_along(parts)) {
          m <- regmatches(parts[j], regexec("^f([0-9]+)L([0-9]+)$", parts[j]))[[1]]
          idx[2 * j - 1] <- as.integer(m[2]) - 1
          idx[2 * j] <- as.integer(m[3])
        }
      }
      lp <- log(2) + pnorm(-abs(z[[nm]]), log.p = TRUE)
      line("term", kind, idx, g(b[[nm]]), g(se[[nm]]), g(z[[nm]]), g(exp(lp)), g(lp / log(10)),
          g(b[[nm]] - zc * se[[nm]]), g(b[[nm]] + zc * se[[nm]]))
    }
    if (interactions) for (a in 1:(K - 1)) for (c in (a + 1):K) {
      sel <- grep(paste0("^f", a, "L[0-9]+:f", c, "L[0-9]+$"), names(b))
      chi2 <- drop(t(b[sel]) %*% solve(V[sel, sel], b[sel]))
      df <- length(sel)
      lp <- pchisq(chi2, df, lower.tail = FALSE, log.p = TRUE)
      line("joint", a - 1, c - 1, g(chi2), df, g(exp(lp)), g(lp / log(10)))
    }
    X0 <- model.matrix(delete.response(terms(fit)), newx)
    est <- drop(X0 %*% b); pse <- sqrt(rowSums((X0 %*% V) * X0))
    for (i in seq_len(nrow(combos)))
      line("predict", unlist(combos[i, ]), g(est[i]), g(pse[i]))
    for (i in seq_len(nrow(combos))) {
      base <- which(rowSums(combos[, fn, drop = FALSE]) == 0 & combos$s == combos$s[i])
      dx <- X0[i, ] - X0[base, ]
      line("contrast", unlist(combos[i, ]), g(sum(dx * b)), g(sqrt(drop(t(dx) %*% V %*% dx))))
    }
  }
  cat("end\n")
}

lognormal <- function(n, meanlog, sdlog) round(exp(rnorm(n, meanlog, sdlog)), 2)

# 1. 2x2x2, equal allocation, a placement x wording interaction.
set.seed(20240901)
d <- simulate(24000, c(2, 2, 2), list(c(.5, .5), c(.5, .5), c(.5, .5)), 1,
  function(d) -2.2 + 0.15 * d$f1 + 0.10 * d$f2 + 0.05 * d$f3 + 0.25 * d$f1 * d$f2 - 0.10 * d$f2 * d$f3,
  function(d) lognormal(nrow(d), 3.5 + 0.1 * d$f1, 0.5))
emit("2x2x2", d, c(2, 2, 2), 1, TRUE)

# 2. 3x2 with unequal allocation (cells from about 1,000 to 5,000).
set.seed(20240902)
d <- simulate(15000, c(3, 2), list(c(.5, .3, .2), c(.7, .3)), 1,
  function(d) -1.9 + c(0, 0.2, -0.1)[d$f1 + 1] + 0.1 * d$f2 + c(0, 0.15, 0.3)[d$f1 + 1] * d$f2,
  function(d) lognormal(nrow(d), 3.2 + 0.05 * d$f1, 0.7))
emit("3x2-unequal", d, c(3, 2), 1, TRUE)

# 3. The offer strategy: 2x2x2x2, five regions of different size and base
#    rate as strata (the pooled "overall" fit).
set.seed(20240903)
d <- simulate(40000, c(2, 2, 2, 2), rep(list(c(.5, .5)), 4), c(.3, .25, .2, .15, .1),
  function(d) -2.0 + c(0, -0.3, 0.2, 0.1, -0.5)[d$s + 1] + 0.12 * d$f1 + 0.08 * d$f2 -
    0.05 * d$f3 + 0.10 * d$f4 + 0.20 * d$f2 * d$f4 - 0.15 * d$f1 * d$f3,
  function(d) lognormal(nrow(d), 3.4 + 0.1 * d$f3 + 0.05 * d$s, 0.6))
emit("2x2x2x2-regions", d, c(2, 2, 2, 2), 5, TRUE)

# 4. Revenue: few visitors, cells from a handful to ~100 (so the HC3
#    leverage correction matters), skewed revenue whose spread grows with
#    the tiers level (heteroscedastic), two strata.
set.seed(20240904)
d <- simulate(420, c(2, 3), list(c(.8, .2), c(.6, .3, .1)), c(.7, .3),
  function(d) -0.4 + 0.3 * d$f1 + 0.2 * d$f2,
  function(d) lognormal(nrow(d), 3 + 0.3 * d$f2, 0.4 + 0.5 * d$f2 + 0.3 * d$f1))
emit("revenue-skewed", d, c(2, 3), 2, TRUE)

# 5. Main effects only (interactions off), 2x2x3.
set.seed(20240905)
d <- simulate(9000, c(2, 2, 3), list(c(.5, .5), c(.5, .5), c(.4, .3, .3)), 1,
  function(d) -1.5 + 0.2 * d$f1 - 0.1 * d$f2 + c(0, 0.1, 0.25)[d$f3 + 1],
  function(d) lognormal(nrow(d), 3.5, 0.8))
emit("2x2x3-main", d, c(2, 2, 3), 1, FALSE)
