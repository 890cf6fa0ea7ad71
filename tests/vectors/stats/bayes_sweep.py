#!/usr/bin/python3
"""Reference values for the Bayesian sweep in tests/unit/test_stats_bayes.c.

Random comparisons of two conversion arms, 10 to 1e8 visitors per arm and
rates from 0.1% to 60%, Beta(1,1) priors (posterior Beta(1+x, 1+n-x)).
For each one this script computes, at 30 significant digits with mpmath:

  P(p1 > p0)        = integral f1(t) F0(t) dt
  P(p1 < p0)        = integral f1(t) S0(t) dt
  E[(p0 - p1)+]     = integral F1(t) S0(t) dt      (loss of shipping 1)
  E[(p1 - p0)+]     = integral F0(t) S1(t) dt      (loss of keeping 0)

each integral on its own (nothing derived from another). Densities f come
from mpmath's loggamma at 30 digits, so nothing cancels even at 1e8
visitors. The tails F and S are integrals of that density too: panel masses by
the panel's Gauss-Legendre rule, and inside a panel the same rule mapped
onto [panel start, t]; F is summed from the left and S from the right
(S(t) = mass right of the panel + (panel mass - part left of t)), so both
keep their relative accuracy at 30 digits.
The outer integrals use a G-node Gauss-Legendre rule on panels at most
PANEL_SD posterior standard deviations wide, covering each arm's mean +-
45 sd (clipped to [0, 1]).

Checks stored with the output, none used to compute anything:
  "mass_max_abs_dev"      largest |integral of f - 1| (the analytic norm)
  "identities_max_abs_dev" largest |P(beat) + P(lose) - 1| and
                          |loss_keep - loss_ship - (E[p1] - E[p0])|
  "refinement_max_abs_dev" a few cases redone with 1.5x the nodes and
                          panels half as wide: the largest change

(Why not a library tail: SciPy 1.10's betainc is Cephes' incbet, which is
off by up to 0.1 at 1e8 visitors, and mpmath's betainc sums a 2F1 series
that does not converge for such shapes.)

Run (about 15 minutes on one core with python3-gmpy2 installed):
  /usr/bin/python3 tests/vectors/stats/bayes_sweep.py > tests/vectors/stats/bayes_sweep.json
"""
import json
import math
import random
import sys

import mpmath as mp

mp.mp.dps = 30

SEED = 20240611
COUNT = 150
G = 16
PANEL_SD = 1.5


def gauss_legendre(g):
    """Nodes and weights on [-1, 1] (Newton on the Legendre polynomial)."""
    nodes = []
    for i in range(1, g + 1):
        x = mp.cos(mp.pi * (i - mp.mpf(1) / 4) / (g + mp.mpf(1) / 2))
        for _ in range(100):
            p0, p1 = mp.mpf(1), x
            for k in range(2, g + 1):
                p0, p1 = p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k
            dp = g * (x * p1 - p0) / (x * x - 1)
            dx = p1 / dp
            x -= dx
            if abs(dx) < mp.mpf(10) ** (-mp.mp.dps + 2):
                break
        nodes.append((x, 2 / ((1 - x * x) * dp * dp)))
    return nodes


class Arm:
    def __init__(self, n, x):
        self.a, self.b = mp.mpf(1 + x), mp.mpf(1 + n - x)
        a, b = self.a, self.b
        self.lnorm = mp.loggamma(a + b) - mp.loggamma(a) - mp.loggamma(b)
        self.mean = a / (a + b)
        self.sd = mp.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
        self.lo = max(mp.mpf(0), self.mean - 45 * self.sd)
        self.hi = min(mp.mpf(1), self.mean + 45 * self.sd)

    def f(self, t):
        if not 0 < t < 1:
            return mp.mpf(0)
        return mp.exp((self.a - 1) * mp.log(t) + (self.b - 1) * mp.log1p(-t) + self.lnorm)


def breakpoints(arms, panel_sd):
    pts = set()
    for arm in arms:
        k = int(mp.ceil((arm.hi - arm.lo) / (panel_sd * arm.sd)))
        for j in range(k + 1):
            pts.add(arm.lo + (arm.hi - arm.lo) * j / k)
    return sorted(pts)


def rule(c, d, gl):
    h = (d - c) / 2
    return [(c + h * (1 + x), h * w) for x, w in gl]


def tails(arm, brk, gl):
    """F and S of arm at every outer node, panel by panel. Outside the
    arm's own mean +- 45 sd its density is taken as 0 (the mass left out
    is below 1e-19 for every shape here)."""
    inside = [c < arm.hi and d > arm.lo for c, d in zip(brk, brk[1:])]
    masses = [sum(w * arm.f(u) for u, w in rule(c, d, gl)) if ok else mp.mpf(0)
              for (c, d), ok in zip(zip(brk, brk[1:]), inside)]
    left = [mp.mpf(0)]
    for m in masses:
        left.append(left[-1] + m)
    right = [mp.mpf(0)]
    for m in reversed(masses):
        right.append(right[-1] + m)
    right.reverse()
    F, S = [], []
    for p, (c, d) in enumerate(zip(brk, brk[1:])):
        for t, _ in rule(c, d, gl):
            part = sum(w * arm.f(u) for u, w in rule(c, t, gl)) if inside[p] else mp.mpf(0)
            F.append(left[p] + part)
            S.append(right[p + 1] + (masses[p] - part))
    return F, S, left[-1]


def compare(n0, x0, n1, x1, g=G, panel_sd=PANEL_SD):
    gl = gauss_legendre(g)
    arm0, arm1 = Arm(n0, x0), Arm(n1, x1)
    brk = breakpoints((arm0, arm1), panel_sd)
    F0, S0, m0 = tails(arm0, brk, gl)
    F1, S1, m1 = tails(arm1, brk, gl)
    beat = lose = ship = keep = mp.mpf(0)
    i = 0
    for c, d in zip(brk, brk[1:]):
        for t, w in rule(c, d, gl):
            f1 = arm1.f(t)
            beat += w * f1 * F0[i]
            lose += w * f1 * S0[i]
            ship += w * F1[i] * S0[i]
            keep += w * F0[i] * S1[i]
            i += 1
    ident = max(abs(beat + lose - 1), abs(keep - ship - (arm1.mean - arm0.mean)))
    row = {"n0": n0, "x0": x0, "n1": n1, "x1": x1,
           "chance_to_beat": float(beat), "chance_to_lose": float(lose),
           "loss_ship": float(ship), "loss_keep": float(keep)}
    return row, float(ident), float(max(abs(m0 - 1), abs(m1 - 1)))


def cases():
    rng = random.Random(SEED)
    out = [
        # the control shape Beta(14025, 44508), undefined before the fix
        (58531, 14024, 58600, 14100),
        (58531, 14024, 58531, 14024),
        (10, 0, 10, 1), (10, 6, 10, 2), (100000000, 100000, 100000000, 100300),
        (100000000, 60000000, 100000000, 59990000), (30000, 900, 30000, 990),
        (60000, 20000, 60000, 20200), (90000, 3000, 90000, 3100),
        # far apart: tiny losses
        (1000, 500, 1000, 700), (100000, 100, 100000, 60000),
    ]
    while len(out) < COUNT:
        n0 = int(round(10 ** rng.uniform(1, 8)))
        n1 = min(10 ** 8, max(10, int(round(n0 * 10 ** rng.uniform(-0.3, 0.3)))))
        r0 = 10 ** rng.uniform(math.log10(0.001), math.log10(0.6))
        if rng.random() < 0.8:  # close arms: the interesting probabilities
            sd = math.sqrt(r0 * (1 - r0) * (1 / n0 + 1 / n1))
            r1 = min(0.6, max(0.001, r0 + rng.uniform(-4, 4) * sd))
        else:                   # unrelated rates: far apart, tiny losses
            r1 = 10 ** rng.uniform(math.log10(0.001), math.log10(0.6))
        x0 = min(n0, int(round(n0 * r0)))
        x1 = min(n1, int(round(n1 * r1)))
        out.append((n0, x0, n1, x1))
    return out


def main():
    all_cases = cases()
    if len(sys.argv) > 1:  # quick look: the first N cases
        all_cases = all_cases[:int(sys.argv[1])]
    rows, ident, mass = [], 0.0, 0.0
    for i, c in enumerate(all_cases):
        row, d, m = compare(*c)
        rows.append(row)
        ident, mass = max(ident, d), max(mass, m)
        print(f"{i + 1}/{len(all_cases)} {c}", file=sys.stderr, flush=True)
    refine = 0.0
    for c, row in list(zip(all_cases, rows))[:6]:
        fine, _, _ = compare(*c, g=G * 3 // 2, panel_sd=PANEL_SD / 2)
        refine = max(refine, max(abs(fine[k] - row[k]) for k in
                                 ("chance_to_beat", "chance_to_lose", "loss_ship", "loss_keep")))
    json.dump({
        "generator": "tests/vectors/stats/bayes_sweep.py",
        "tools": f"python {sys.version.split()[0]}, mpmath {mp.__version__} at {mp.mp.dps} digits",
        "seed": SEED,
        "mass_max_abs_dev": mass,
        "identities_max_abs_dev": ident,
        "refinement_max_abs_dev": refine,
        "cases": rows,
    }, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
