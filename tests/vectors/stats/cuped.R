# Reference values for tests/unit/test_stats_cuped.c, computed with base R.
# Run: Rscript tests/vectors/stats/cuped.R > tests/vectors/stats/cuped-R.txt
#
# 1. Raw per-visitor data for two arms (fixed seed), the sufficient
#    statistics Upshot keeps, and lm(y ~ arm + x): the CUPED estimate with
#    theta pooled within the two arms is the coefficient on arm.
# 2. The relative lift's delta-method standard error from a numerical
#    gradient (central differences), independent of the closed form in
#    stats_cuped.c.
# 3. GrowthBook's published gbstats case, recomputed with gbstats's
#    definitions (total-covariance theta, simplified relative variance,
#    Welch df), and with the full delta method for the same estimator.
options(digits = 17)
out <- function(name, v) cat(sprintf("%-44s %s\n", name, paste(format(v, digits = 17), collapse = " ")))
cat("# R", R.version$major, ".", R.version$minor, "\n", sep = "")

set.seed(20131)
sim_arm <- function(n, effect) {
  has_cart <- runif(n) < 0.6
  x <- ifelse(has_cart, round(exp(rnorm(n, 3.5, 0.6)), 2), 0)  # cart value, 0 without
  p <- 0.05 + 0.25 * (x > 0)                                   # carts convert more
  buy <- runif(n) < p
  y <- ifelse(buy, round(10 + 0.4 * x + rexp(n, 1 / 15) + effect, 2), 0)
  data.frame(x = x, y = y)
}
d0 <- sim_arm(4000, 0); d0$arm <- 0
d1 <- sim_arm(4000, 2.5); d1$arm <- 1
d <- rbind(d0, d1)
suff <- function(a) c(nrow(a), sum(a$y), sum(a$y^2), sum(a$x), sum(a$x^2), sum(a$x * a$y))
out("sim control n Sy Syy Sx Sxx Sxy", suff(d0))
out("sim treatment n Sy Syy Sx Sxx Sxy", suff(d1))
out("sim converters control treatment", c(sum(d0$y > 0), sum(d1$y > 0)))

fit <- lm(y ~ arm + x, data = d)
cf <- summary(fit)$coefficients
out("lm(y ~ arm + x) arm estimate", cf["arm", "Estimate"])
out("lm(y ~ arm + x) arm std error", cf["arm", "Std. Error"])
out("lm(y ~ arm + x) arm p", cf["arm", "Pr(>|t|)"])
out("lm(y ~ arm + x) slope on x (theta)", cf["x", "Estimate"])
out("lm(y ~ arm + x) residual df", fit$df.residual)
d$xc <- d$x - mean(d$x)
fitc <- lm(y ~ arm + xc, data = d)
out("lm(y ~ arm + xc) intercept (adjusted mean 0)", coef(fitc)[["(Intercept)"]])
out("lm(y ~ arm + xc) intercept + arm (mean 1)", coef(fitc)[["(Intercept)"]] + coef(fitc)[["arm"]])

# per-arm (Welch-style) variance of the adjusted difference
th <- cf["x", "Estimate"]
va <- function(a) var(a$y - th * a$x)
A <- va(d0) / nrow(d0); B <- va(d1) / nrow(d1)
se <- sqrt(A + B)
df <- (A + B)^2 / (A^2 / (nrow(d0) - 1) + B^2 / (nrow(d1) - 1))
est <- cf["arm", "Estimate"]
out("cuped welch se", se)
out("cuped welch df", df)
out("cuped welch p", 2 * pt(-abs(est / se), df))
out("cuped welch ci", est + c(-1, 1) * qt(0.975, df) * se)
tt <- t.test(d1$y, d0$y, var.equal = FALSE)
out("unadjusted t.test se", unname(tt$stderr))
out("variance reduction 1 - se^2/se_unadj^2", 1 - se^2 / tt$stderr^2)

# relative lift m1/m0 - 1 with centred adjusted means, numerical gradient
xbar <- mean(d$x); w0 <- nrow(d0) / nrow(d); w1 <- nrow(d1) / nrow(d)
f <- function(g) {  # g = (ybar0, xbar0, ybar1, xbar1), theta fixed
  xb <- w0 * g[2] + w1 * g[4]
  (g[3] - th * (g[4] - xb)) / (g[1] - th * (g[2] - xb)) - 1
}
g0 <- c(mean(d0$y), mean(d0$x), mean(d1$y), mean(d1$x))
h <- 1e-5
grad <- sapply(1:4, function(i) { e <- rep(0, 4); e[i] <- h; (f(g0 + e) - f(g0 - e)) / (2 * h) })
S0 <- cov(cbind(d0$y, d0$x)) / nrow(d0); S1 <- cov(cbind(d1$y, d1$x)) / nrow(d1)
V <- t(grad[1:2]) %*% S0 %*% grad[1:2] + t(grad[3:4]) %*% S1 %*% grad[3:4]
lift <- f(g0); sl <- sqrt(V[1, 1])
out("lift m1/m0 - 1", lift)
out("lift se (numerical gradient)", sl)
out("lift p (t, welch df)", 2 * pt(-abs(lift / sl), df))

# GrowthBook gbstats published case (test_analyze_metric_df_ra):
# expected -0.281707154, p 0.003732549
a <- list(n = 3001, y = 300, yy = 600, x = 210, xx = 415, xy = -20)
b <- list(n = 3000, y = 222, yy = 555, x = 120, xx = 405, xy = -10)
vr <- function(n, s, q) (q - s * s / n) / (n - 1)
cv <- function(n, s1, s2, p) (p - s1 * s2 / n) / (n - 1)
N <- a$n + b$n
thg <- cv(N, a$y + b$y, a$x + b$x, a$xy + b$xy) / vr(N, a$x + b$x, a$xx + b$xx)
adj <- function(s, t) vr(s$n, s$y, s$yy) + t^2 * vr(s$n, s$x, s$xx) - 2 * t * cv(s$n, s$y, s$x, s$xy)
mua <- a$y / a$n; mub <- b$y / b$n
dg <- (mub - thg * b$x / b$n) - (mua - thg * a$x / a$n)
Ag <- adj(a, thg) / a$n; Bg <- adj(b, thg) / b$n
dfg <- (Ag + Bg)^2 / (Ag^2 / (a$n - 1) + Bg^2 / (b$n - 1))
vt <- adj(b, thg) / (b$n * mua^2)
vc <- (vr(a$n, a$y, a$yy) * mub^2 / mua^2 - 2 * thg * cv(a$n, a$y, a$x, a$xy) * mub / mua +
       thg^2 * vr(a$n, a$x, a$xx)) / (a$n * mua^2)
sg <- sqrt(vt + vc)
out("gbstats theta (total covariance)", thg)
out("gbstats abs diff", dg)
out("gbstats abs se", sqrt(Ag + Bg))
out("gbstats welch df", dfg)
out("gbstats abs p", 2 * pt(-abs(dg / sqrt(Ag + Bg)), dfg))
out("gbstats lift d/ybar0", dg / mua)
out("gbstats lift se (simplified)", sg)
out("gbstats lift p (simplified)", 2 * pt(-abs(dg / mua / sg), dfg))
# same estimator, full delta method: d lift/d ybar0 = -(ybar1 - theta (xbar1 - xbar0))/ybar0^2
gy0 <- -(mub - thg * (b$x / b$n - a$x / a$n)) / mua^2; gx0 <- thg / mua
Vf <- adj(b, thg) / b$n / mua^2 + (gy0^2 * vr(a$n, a$y, a$yy) + gx0^2 * vr(a$n, a$x, a$xx) +
      2 * gy0 * gx0 * cv(a$n, a$y, a$x, a$xy)) / a$n
out("gbstats estimator, full delta se", sqrt(Vf))
out("gbstats estimator, full delta p", 2 * pt(-abs(dg / mua / sqrt(Vf)), dfg))
out("gbstats variance reduction", 1 - (Ag + Bg) / (vr(a$n, a$y, a$yy) / a$n + vr(b$n, b$y, b$yy) / b$n))
# the same sums in Upshot's default mode: within-arm theta, centred means,
# lift m1/m0 - 1, full delta method (closed form as in stats_cuped.c)
ss <- function(s) c(s$yy - s$y^2 / s$n, s$xx - s$x^2 / s$n, s$xy - s$x * s$y / s$n)
sa <- ss(a); sb <- ss(b)
thw <- (sa[3] + sb[3]) / (sa[2] + sb[2])
xb <- (a$x + b$x) / N
m0 <- mua - thw * (a$x / a$n - xb); m1 <- mub - thw * (b$x / b$n - xb)
Aw <- adj(a, thw) / a$n; Bw <- adj(b, thw) / b$n
dfw <- (Aw + Bw)^2 / (Aw^2 / (a$n - 1) + Bw^2 / (b$n - 1))
c0 <- thw * (a$n / N * m0 + b$n / N * m1) / m0^2
Vw <- ((m1 / m0^2)^2 * sa[1] + c0^2 * sa[2] - 2 * (m1 / m0^2) * c0 * sa[3]) / (a$n - 1) / a$n +
      ((1 / m0)^2 * sb[1] + c0^2 * sb[2] - 2 * (1 / m0) * c0 * sb[3]) / (b$n - 1) / b$n
out("within theta", thw)
out("within abs diff", m1 - m0)
out("within abs se", sqrt(Aw + Bw))
out("within abs p", 2 * pt(-abs((m1 - m0) / sqrt(Aw + Bw)), dfw))
out("within lift m1/m0 - 1", m1 / m0 - 1)
out("within lift se", sqrt(Vw))
out("within lift p", 2 * pt(-abs((m1 / m0 - 1) / sqrt(Vw)), dfw))
