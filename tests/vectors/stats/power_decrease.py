#!/usr/bin/python3
"""Sample size for a decrease: baseline 0.34, absolute MDE -0.003 (target
0.337), alpha 0.05 two-sided, power 0.85, next to the published increase
(0.34 -> 0.343, 897,348 visitors in total). The formula is symmetric in the
sign of the effect, not in the baseline: p1 q1 is 0.337 * 0.663 instead of
0.343 * 0.657, so a decrease needs slightly fewer visitors.

Unpooled n = (z_{1-a/2} + z_power)^2 (p0 q0 + p1 q1) / d^2 from SciPy's
normal quantiles; pooled as R's power.prop.test (strict = FALSE) writes it.
statsmodels' NormalIndPower with effect size d / sqrt((p0 q0 + p1 q1)/2)
solves the unpooled form numerically (it also counts the far tail's
power) as a cross-check; it agrees to ~1e-6 relative, its root
finder's tolerance.
Run: /usr/bin/python3 tests/vectors/stats/power_decrease.py > tests/vectors/stats/power_decrease.txt
"""
import math

import scipy
import statsmodels
from scipy.stats import norm
from statsmodels.stats.power import NormalIndPower

print(f"# scipy {scipy.__version__}, statsmodels {statsmodels.__version__}")
za, zb = norm.ppf(0.975), norm.ppf(0.85)
for p0, p1 in ((0.34, 0.343), (0.34, 0.337)):
    q0, q1 = 1 - p0, 1 - p1
    d = abs(p1 - p0)
    v = p0 * q0 + p1 * q1
    unpooled = (za + zb) ** 2 * v / d ** 2
    pbar = (p0 + p1) / 2
    pooled = ((za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(v)) / d) ** 2
    sm = NormalIndPower().solve_power(effect_size=d / math.sqrt(v / 2), alpha=0.05,
                                      power=0.85, ratio=1.0, alternative="two-sided")
    print(f"{p0} -> {p1} unpooled n {unpooled!r} pooled n {pooled!r} statsmodels {sm!r}")
