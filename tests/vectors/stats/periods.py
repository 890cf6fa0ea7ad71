#!/usr/bin/env python3
"""Reference for stats/stats_periods.h, computed from simulated visitors.

Simulates one region of a bandit experiment with three arms over four
periods in which the weights move towards arm 2 while every arm's rate and
revenue drift down over time (the situation where the pooled, naive figure
is biased: docs/stats.md, "Bandit periods"). Each visitor is a (period,
arm, converted, revenue) row; the figures are computed from those rows
with the standard library only (statistics.fmean / variance, math.lgamma),
not from the sums the C code takes, and written with the per-period sums to
periods.txt, which tests/unit/test_stats_periods.c compares to 1e-9.

Run: python3 tests/vectors/stats/periods.py > tests/vectors/stats/periods.txt
"""
import math
import random
import statistics

SEED = 20261202
K = 3
CONTROL = 0
ALPHA = 0.05
SRM_C = 1000.0
# weights in force per period, and the visitors that arrived in each
WEIGHTS = [[1 / 3, 1 / 3, 1 / 3], [0.3, 0.25, 0.45], [0.2, 0.15, 0.65], [0.2, 0.1, 0.7]]
ARRIVALS = [3000, 2500, 2000, 3500]
# rates drift down over time; arm 2 is no better than control, arm 1 worse
RATE = [[0.12, 0.11, 0.12], [0.09, 0.08, 0.09], [0.06, 0.05, 0.06], [0.04, 0.035, 0.04]]
ORDER_MEAN = [40.0, 35.0, 30.0, 25.0]


def simulate():
    rng = random.Random(SEED)
    rows = []
    for p, (w, n) in enumerate(zip(WEIGHTS, ARRIVALS)):
        for _ in range(n):
            arm = rng.choices(range(K), weights=w)[0]
            conv = rng.random() < RATE[p][arm]
            # revenue: an order value, rounded to cents (what shops send)
            rev = round(rng.expovariate(1 / ORDER_MEAN[p]), 2) if conv else 0.0
            rows.append((p, arm, 1 if conv else 0, rev))
    return rows


def figures(rows, column):
    """Per arm: weighted (mean, se), naive (mean, se); per treatment: diff, ci, p."""
    rate = column == 2
    periods = sorted({r[0] for r in rows})
    cell = {(p, i): [r[column] for r in rows if r[0] == p and r[1] == i] for p in periods for i in range(K)}
    usable = [p for p in periods if all(len(cell[p, i]) >= 2 for i in range(K))]
    total = sum(len(cell[p, i]) for p in usable for i in range(K))
    z = statistics.NormalDist().inv_cdf(1 - ALPHA / 2)
    out = []
    for i in range(K):
        m = v = 0.0
        for p in usable:
            x = cell[p, i]
            w = sum(len(cell[p, j]) for j in range(K)) / total
            mean = statistics.fmean(x)
            s2 = mean * (1 - mean) if rate else statistics.variance(x)
            m += w * mean
            v += w * w * s2 / len(x)
        pooled = [r[column] for r in rows if r[1] == i]
        nm = statistics.fmean(pooled)
        ns2 = nm * (1 - nm) if rate else statistics.variance(pooled)
        out.append({"m": m, "v": v, "naive": nm, "naive_se": math.sqrt(ns2 / len(pooled))})
    res = []
    for i in range(K):
        o = out[i]
        line = [o["m"], math.sqrt(o["v"]), o["naive"], o["naive_se"]]
        if i != CONTROL:
            d = o["m"] - out[CONTROL]["m"]
            se = math.sqrt(o["v"] + out[CONTROL]["v"])
            p = math.erfc(abs(d / se) / math.sqrt(2))
            line += [d, d - z * se, d + z * se, p]
        res.append(line)
    return res


def srm(rows):
    periods = sorted({r[0] for r in rows})
    n = {(p, i): sum(1 for r in rows if r[0] == p and r[1] == i) for p in periods for i in range(K)}
    expected = [sum(sum(n[p, j] for j in range(K)) * WEIGHTS[p][i] for p in periods) for i in range(K)]
    obs = [sum(n[p, i] for p in periods) for i in range(K)]
    chi2 = sum((o - e) ** 2 / e for o, e in zip(obs, expected))
    p_chi2 = math.exp(-chi2 / 2)  # chi-square with 2 degrees of freedom
    lbf = best = 0.0
    for p in periods:
        theta = WEIGHTS[p]
        N = sum(n[p, i] for i in range(K))
        lb = math.lgamma(SRM_C) - math.lgamma(SRM_C + N)
        for i in range(K):
            lb += math.lgamma(SRM_C * theta[i] + n[p, i]) - math.lgamma(SRM_C * theta[i]) - n[p, i] * math.log(theta[i])
        lbf += lb
        best = max(best, lbf)
    return expected, chi2, p_chi2, min(1.0, math.exp(-best))


def main():
    rows = simulate()
    periods = sorted({r[0] for r in rows})
    print("# stats_periods reference (tests/vectors/stats/periods.py); k=%d control=%d alpha=%g" % (K, CONTROL, ALPHA))
    print("# cell PERIOD ARM n conversions revenue_sum revenue_sumsq weight_in_force")
    for p in periods:
        for i in range(K):
            x = [r for r in rows if r[0] == p and r[1] == i]
            print("cell %d %d %d %d %.17g %.17g %.17g" % (p, i, len(x), sum(r[2] for r in x),
                                                         math.fsum(r[3] for r in x), math.fsum(r[3] ** 2 for r in x),
                                                         WEIGHTS[p][i]))
    for name, col in (("rate", 2), ("mean", 3)):
        print("# %s ARM weighted se naive naive_se [diff lo hi p]" % name)
        for i, line in enumerate(figures(rows, col)):
            print("%s %d %s" % (name, i, " ".join("%.17g" % x for x in line)))
    expected, chi2, p_chi2, p_av = srm(rows)
    print("# srm expected... chi2 p p_always_valid")
    print("srm %s %.17g %.17g %.17g" % (" ".join("%.17g" % e for e in expected), chi2, p_chi2, p_av))


if __name__ == "__main__":
    main()
