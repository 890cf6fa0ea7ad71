#!/usr/bin/python3
"""Cross-check of factorial-R.txt with a second implementation: statsmodels
(0.13.5 on Debian 12, python3-statsmodels) fitting one scenario's
per-visitor rows, GLM Binomial for conversion and OLS with cov_type="HC3"
for revenue. Not part of CI; run by hand:

    /usr/bin/python3 tests/vectors/stats/factorial_statsmodels.py [SCENARIO]

(default 2x2x2x2-regions). It prints the largest relative difference from
R's numbers in factorial-R.txt (estimate, standard error, p-value).

Expect the logistic standard errors to differ from R's by ~1e-4 relative:
statsmodels iterates to the maximum and takes the information there;
R's glm (and stats_factorial.c, which follows it) stops once the deviance
moves by less than 1e-8 relative and takes X'WX with the weights of the
step before. The coefficients agree to ~1e-8 absolute, and OLS + HC3 to
~1e-9 relative.

The conversion rows are exact: a cell of n visitors and x conversions is
x rows of 1 and n - x rows of 0. The per-visitor revenue is not in the
file, only each cell's sum S and sum of squares Q, so each cell's converters
are given amounts with the same S and Q (all equal but one); least squares
and HC3 depend on a cell's rows only through n, S and Q, which R's fit of
the real simulated rows in factorial.R confirms.
"""
import math
import os
import sys

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf

HERE = os.path.dirname(os.path.abspath(__file__))


def read(name):
    sc = None
    with open(os.path.join(HERE, "factorial-R.txt")) as f:
        for line in f:
            t = line.split()
            if not t or t[0].startswith("#"):
                continue
            if t[0] == "scenario":
                if sc is not None and sc["name"] == name:
                    return sc
                sc = {"name": t[1], "cells": [], "fits": {}}
                fit = None
            elif t[0] == "design":
                sc["k"] = int(t[1])
                sc["nstrata"] = int(t[2 + sc["k"]])
                sc["interactions"] = t[3 + sc["k"]] == "1"
            elif t[0] == "cell":
                sc["cells"].append([int(v) for v in t[1:2 + sc["k"]]] + [float(v) for v in t[2 + sc["k"]:]])
            elif t[0] == "fit":
                fit = sc["fits"][t[1]] = {}
            elif t[0] == "term":
                key = (t[1],) + tuple(int(v) for v in t[2:6])
                fit[key] = tuple(float(v) for v in t[6:9]) + (float(t[9]), float(t[10]))
    if sc is not None and sc["name"] == name:
        return sc
    raise SystemExit(f"no scenario {name}")


def amounts(x, s, q):
    """x values with sum s and sum of squares q: x - 1 equal to a, one b."""
    if x == 1:
        return [s]
    m = x - 1
    # m a^2 + (s - m a)^2 = q  ->  (m + m^2) a^2 - 2 m s a + s^2 - q = 0
    A, B, C = m + m * m, -2 * m * s, s * s - q
    a = (-B - math.sqrt(max(B * B - 4 * A * C, 0.0))) / (2 * A)
    return [a] * m + [s - m * a]


def expand(sc):
    rows = []
    k = sc["k"]
    for c in sc["cells"]:
        lv, stratum = c[:k], c[k]
        n, x, s, q = int(c[k + 1]), int(c[k + 2]), c[k + 3], c[k + 4]
        rev = amounts(x, s, q) if x > 0 else []
        for i in range(n):
            conv = 1 if i < x else 0
            rows.append(lv + [stratum, conv, rev[i] if conv else 0.0])
    cols = [f"f{j + 1}" for j in range(k)] + ["s", "converted", "revenue"]
    return pd.DataFrame(rows, columns=cols)


def key_of(name):
    """statsmodels column name -> (kind, fa, la, fb, lb) as in the R file."""
    if name == "Intercept":
        return ("intercept", -1, -1, -1, -1)
    parts = name.split(":")
    idx = []
    for p in parts:
        var = p[2:p.index(")")]
        lev = int(p[p.index("[T.") + 3:-1])
        if var == "s":
            return ("stratum", -1, lev, -1, -1)
        idx += [int(var[1:]) - 1, lev]
    if len(parts) == 1:
        return ("main", idx[0], idx[1], -1, -1)
    return ("interaction", idx[0], idx[1], idx[2], idx[3])


def compare(label, res, ref):
    """Largest relative difference from R of estimates, standard errors and
    p-values, and the largest absolute difference of z."""
    worst = [0.0, 0.0, 0.0, 0.0]
    for name in res.params.index:
        est, se, z, p, log10p = ref[key_of(name)]
        worst[0] = max(worst[0], abs(res.params[name] - est) / abs(est))
        worst[1] = max(worst[1], abs(res.bse[name] - se) / se)
        worst[2] = max(worst[2], abs(res.pvalues[name] - p) / p if p > 0 else 0.0)
        worst[3] = max(worst[3], abs(res.params[name] / res.bse[name] - z))
    print(f"{label}: {len(res.params)} terms; largest relative difference from R: "
          f"estimate {worst[0]:.2g}, se {worst[1]:.2g}, p {worst[2]:.2g}; |z - z_R| {worst[3]:.2g}")


def main():
    name = sys.argv[1] if len(sys.argv) > 1 else "2x2x2x2-regions"
    sc = read(name)
    d = expand(sc)
    fs = [f"C(f{j + 1})" for j in range(sc["k"])]
    rhs = "(" + " + ".join(fs) + ")" + ("**2" if sc["interactions"] else "")
    if sc["nstrata"] > 1:
        rhs += " + C(s)"
    print(f"statsmodels {sm.__version__}, scenario {name}, {len(d)} visitors")
    logit = smf.glm("converted ~ " + rhs, data=d, family=sm.families.Binomial()).fit()
    compare("GLM Binomial", logit, sc["fits"]["logit"])
    ols = smf.ols("revenue ~ " + rhs, data=d).fit(cov_type="HC3", use_t=False)
    compare("OLS HC3", ols, sc["fits"]["ols"])


if __name__ == "__main__":
    np.seterr(all="raise")
    main()
