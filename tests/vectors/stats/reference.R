# Reference values for tests/unit/test_stats_*.c, computed with base R.
# Run: Rscript tests/vectors/stats/reference.R > tests/vectors/stats/reference-R.txt
options(digits = 17)
out <- function(name, v) cat(sprintf("%-40s %s\n", name, paste(format(v, digits = 17), collapse = " ")))
cat("# R", R.version$major, ".", R.version$minor, "\n", sep = "")

# conversion: 120/1000 vs 150/1000
pt <- prop.test(c(150, 120), c(1000, 1000), correct = FALSE)
out("prop.test(150/1000 vs 120/1000) p", pt$p.value)
out("prop.test statistic (z^2)", unname(pt$statistic))
w0 <- prop.test(120, 1000, correct = FALSE)$conf.int
w1 <- prop.test(150, 1000, correct = FALSE)$conf.int
out("wilson 120/1000", w0)
out("wilson 150/1000", w1)
out("wilson 0/50", prop.test(0, 50, correct = FALSE)$conf.int)
out("wilson 50/50", prop.test(50, 50, correct = FALSE)$conf.int)

# chi-square independence across 3 arms
tab <- rbind(c(120, 150, 135), c(880, 850, 1365))
ct <- chisq.test(tab, correct = FALSE)
out("chisq.test 3 arms statistic", unname(ct$statistic))
out("chisq.test 3 arms p", ct$p.value)

# SRM 600/400 at 50/50 and 3 arms at 2:1:1
s <- chisq.test(c(600, 400), p = c(0.5, 0.5))
out("srm 600/400 statistic", unname(s$statistic))
out("srm 600/400 p", s$p.value)
s3 <- chisq.test(c(5100, 2400, 2500), p = c(2, 1, 1) / 4)
out("srm 5100/2400/2500 at 2:1:1 statistic", unname(s3$statistic))
out("srm 5100/2400/2500 at 2:1:1 p", s3$p.value)
out("srm extreme log10 p (df=2, x=3000)", pchisq(3000, 2, lower.tail = FALSE, log.p = TRUE) / log(10))

# Welch from raw-equivalent sufficient statistics (gbstats example)
nA <- 3407; SA <- 1396.87; QA <- 52377.9767
nB <- 3461; SB <- 2422.7; QB <- 134698.29
vA <- (QA - SA^2 / nA) / (nA - 1); vB <- (QB - SB^2 / nB) / (nB - 1)
se <- sqrt(vA / nA + vB / nB)
df <- se^4 / ((vA / nA)^2 / (nA - 1) + (vB / nB)^2 / (nB - 1))
d <- SB / nB - SA / nA
out("welch gbstats t", d / se)
out("welch gbstats df", df)
out("welch gbstats p", 2 * pt(-abs(d / se), df))
out("welch gbstats ci", d + c(-1, 1) * qt(0.975, df) * se)
mA <- SA / nA; mB <- SB / nB
sl <- sqrt(vB / (nB * mA^2) + mB^2 * vA / (nA * mA^4))
out("welch gbstats lift", mB / mA - 1)
out("welch gbstats lift ci (t, Welch df)", (mB / mA - 1) + c(-1, 1) * qt(0.975, df) * sl)
out("welch gbstats lift p (t, Welch df)", 2 * pt(-abs((mB / mA - 1) / sl), df))

# Welch check with t.test on raw data whose sufficient statistics we embed
set.seed(1)
xa <- c(rep(0, 40), c(10, 20, 25, 30, 12.5, 40, 8, 16, 22, 18))
xb <- c(rep(0, 35), c(15, 25, 30, 22, 19, 41, 9, 14, 33, 27, 18, 21, 26, 12, 30))
tt <- t.test(xb, xa, var.equal = FALSE)
out("t.test raw n_a S_a Q_a", c(length(xa), sum(xa), sum(xa^2)))
out("t.test raw n_b S_b Q_b", c(length(xb), sum(xb), sum(xb^2)))
out("t.test raw t", unname(tt$statistic))
out("t.test raw df", unname(tt$parameter))
out("t.test raw p", tt$p.value)
out("t.test raw ci", tt$conf.int)

# extreme t tail (log space)
out("log10 2*pt(-40, 1e6)", (log(2) + pt(-40, 1e6, log.p = TRUE)) / log(10))
out("log10 2*pt(-8, 5)", (log(2) + pt(-8, 5, log.p = TRUE)) / log(10))
out("log10 2*pnorm(-40)", (log(2) + pnorm(-40, log.p = TRUE)) / log(10))

# power.prop.test (pooled, strict = FALSE)
pp <- power.prop.test(p1 = 0.10, p2 = 0.11, sig.level = 0.05, power = 0.8)
out("power.prop.test 0.10 -> 0.11 n", pp$n)
pp2 <- power.prop.test(p1 = 0.34, p2 = 0.343, sig.level = 0.05, power = 0.85)
out("power.prop.test 0.34 -> 0.343 power 0.85 n", pp2$n)
# a decrease: 0.34 -> 0.337 (absolute MDE -0.003)
pp4 <- power.prop.test(p1 = 0.34, p2 = 0.337, sig.level = 0.05, power = 0.85)
out("power.prop.test 0.34 -> 0.337 power 0.85 n", pp4$n)
pp3 <- power.prop.test(p1 = 0.05, p2 = 0.06, sig.level = 0.01, power = 0.9)
out("power.prop.test 0.05 -> 0.06 a=.01 pw=.9 n", pp3$n)
# unpooled closed form for the same inputs as anchors.md
za <- qnorm(0.975); zb <- qnorm(0.85)
out("unpooled 0.34 -> 0.343 power 0.85 n", (za + zb)^2 * (0.34 * 0.66 + 0.343 * 0.657) / 0.003^2)

# p.adjust
p <- c(0.01, 0.04, 0.03, 0.005, 0.2, 0.04)
out("p.adjust holm", p.adjust(p, "holm"))
out("p.adjust BH", p.adjust(p, "BH"))

# Bayesian chance to beat control by integrate() with dbeta/pbeta
ctb <- function(n0, x0, n1, x1) {
  a0 <- 1 + x0; b0 <- 1 + n0 - x0; a1 <- 1 + x1; b1 <- 1 + n1 - x1
  f <- function(t) dbeta(t, a0, b0) * pbeta(t, a1, b1, lower.tail = FALSE)
  integrate(f, 0, 1, rel.tol = 1e-12, subdivisions = 1000L)$value
}
loss <- function(n0, x0, n1, x1) {
  a0 <- 1 + x0; b0 <- 1 + n0 - x0; a1 <- 1 + x1; b1 <- 1 + n1 - x1
  f <- function(t) pbeta(t, a1, b1) * pbeta(t, a0, b0, lower.tail = FALSE)
  integrate(f, 0, 1, rel.tol = 1e-12, subdivisions = 1000L)$value
}
out("bayes 1000/100 vs 1000/120 ctb", ctb(1000, 100, 1000, 120))
out("bayes 1000/100 vs 1000/120 loss_ship", loss(1000, 100, 1000, 120))
out("bayes 50/5 vs 40/2 ctb", ctb(50, 5, 40, 2))
out("bayes 50/5 vs 40/2 loss_ship", loss(50, 5, 40, 2))
