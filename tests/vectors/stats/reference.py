#!/usr/bin/python3
"""Reference values for tests/unit/test_stats_*.c computed with SciPy and
mpmath (independent of the C code: SciPy's betainc is Boost's ibeta, which
uses Temme's uniform asymptotics for large shape parameters).
Run: /usr/bin/python3 tests/vectors/stats/reference.py > tests/vectors/stats/reference-py.txt
"""
import math
import mpmath as mp
import scipy
from scipy import integrate, special, stats

mp.mp.dps = 40


def out(name, *vals):
    print(f"{name:<48} " + " ".join(repr(float(v)) if not isinstance(v, str) else v for v in vals))


print(f"# scipy {scipy.__version__}, mpmath {mp.__version__}")

# --- conversion lift (delta method), 120/1000 control vs 150/1000 ---
n0, x0, n1, x1 = 1000, 120, 1000, 150
p0, p1 = mp.mpf(x0) / n0, mp.mpf(x1) / n1
lift = p1 / p0 - 1
se = mp.sqrt(p1 * (1 - p1) / (n1 * p0**2) + p1**2 * p0 * (1 - p0) / (n0 * p0**4))
z = mp.sqrt(2) * mp.erfinv(mp.mpf("0.95"))
out("lift 120/1000 -> 150/1000", lift)
out("lift se", se)
out("lift ci", lift - z * se, lift + z * se)
out("lift p", mp.erfc(abs(lift / se) / mp.sqrt(2)))
v = p0 * (1 - p0) / n0 + p1 * (1 - p1) / n1
out("wald diff ci", (p1 - p0) - z * mp.sqrt(v), (p1 - p0) + z * mp.sqrt(v))

# --- extreme z test: 1e8 per arm, 0.34 vs 0.3424 ---
n = 10**8
a, b = mp.mpf(34000000), mp.mpf(34240000)
pa, pb = a / n, b / n
pbar = (a + b) / (2 * n)
zz = (pb - pa) / mp.sqrt(pbar * (1 - pbar) * 2 / n)
out("huge z (1e8/arm, 34000000 vs 34240000)", zz)
out("huge log10 p", mp.log10(mp.erfc(zz / mp.sqrt(2))))

# --- AOV delta method: control x=100 S=5000 Q=300000, treatment x=90 S=5400 Q=380000 ---
def aov(x, s, q):
    x, s, q = mp.mpf(x), mp.mpf(s), mp.mpf(q)
    return s / x, mp.sqrt((q / x - (s / x) ** 2) / x)
a0, s0 = aov(100, 5000, 300000)
a1, s1 = aov(90, 5400, 380000)
se = mp.sqrt(s0**2 + s1**2)
out("aov control value se", a0, s0)
out("aov treatment value se", a1, s1)
out("aov diff ci", (a1 - a0) - z * se, (a1 - a0) + z * se)
out("aov diff p", mp.erfc(abs((a1 - a0) / se) / mp.sqrt(2)))

# --- mSPRT ---
def msprt(n0, x0, n1, x1, tau2, alpha=mp.mpf("0.05")):
    n0, x0, n1, x1, tau2 = map(mp.mpf, (n0, x0, n1, x1, tau2))
    p0, p1 = x0 / n0, x1 / n1
    V = p0 * (1 - p0) / n0 + p1 * (1 - p1) / n1
    d = p1 - p0
    lam = mp.sqrt(V / (V + tau2)) * mp.exp(tau2 * d**2 / (2 * V * (V + tau2)))
    h = mp.sqrt(V * (V + tau2) / tau2 * (2 * mp.log(1 / alpha) + mp.log((V + tau2) / V)))
    return lam, min(mp.mpf(1), 1 / lam), d - h, d + h

lam, p, lo, hi = msprt(10000, 1000, 10000, 1100, "1e-4")
out("msprt 10000/1000 vs 10000/1100 tau2=1e-4 lnLambda", mp.log(lam))
out("msprt p", p)
out("msprt ci", lo, hi)
looks = [(2000, 200, 2000, 260), (4000, 400, 4000, 470), (6000, 600, 6000, 660)]
ps = [msprt(*l, "1e-4")[1] for l in looks]
cis = [msprt(*l, "1e-4")[2:] for l in looks]
out("msprt 3 looks running-min p", min(ps))
out("msprt 3 looks intersected ci", max(c[0] for c in cis), min(c[1] for c in cis))
lam, p, lo, hi = msprt(10**8, 34000000, 10**8, 34240000, "1e-4")
out("msprt huge log10 p", -mp.log10(lam))

# --- Bayesian: SciPy quad over Boost's betainc, and at 1e8 per arm ---
def bayes(n0, x0, n1, x1):
    a0, b0, a1, b1 = 1 + x0, 1 + n0 - x0, 1 + x1, 1 + n1 - x1
    m0, s0 = a0 / (a0 + b0), math.sqrt(a0 * b0 / ((a0 + b0) ** 2 * (a0 + b0 + 1)))
    m1, s1 = a1 / (a1 + b1), math.sqrt(a1 * b1 / ((a1 + b1) ** 2 * (a1 + b1 + 1)))
    lo = max(0.0, min(m0 - 12 * s0, m1 - 12 * s1))
    hi = min(1.0, max(m0 + 12 * s0, m1 + 12 * s1))
    cand = [m0, m1, m0 - 3 * s0, m0 + 3 * s0, m1 - 3 * s1, m1 + 3 * s1]
    pts = sorted(set(x for x in cand if lo < x < hi))
    # upper tail as I_{1-t}(b, a): SciPy 1.10 has no betaincc
    f = lambda t: stats.beta.pdf(t, a0, b0) * special.betainc(b1, a1, 1.0 - t)
    g = lambda t: special.betainc(a1, b1, t) * special.betainc(b0, a0, 1.0 - t)
    kw = dict(epsabs=1e-15, epsrel=1e-12, limit=500, points=pts)
    ctb = integrate.quad(f, lo, hi, **kw)[0]
    ship = integrate.quad(g, lo, hi, **kw)[0]
    keep = ship + (m1 - m0)
    return ctb, ship, keep

for case in [(1000, 100, 1000, 120), (20000, 2000, 20000, 2100), (50, 5, 40, 2),
             (10**8, 34000000, 10**8, 34010000), (10**7, 700000, 10**7, 701000)]:
    ctb, ship, keep = bayes(*case)
    out("bayes %d/%d vs %d/%d ctb ship keep" % case, ctb, ship, keep)

# At 1e8 per arm SciPy's beta.pdf loses ~8 digits to the ln B(a,b)
# cancellation (its quad above warns about roundoff), so the huge cases are
# recomputed with mpmath at 40 digits: densities from loggamma, inner tail
# by a second quadrature (slow but free of cancellation).
def bayes_mp(n0, x0, n1, x1):
    a0, b0, a1, b1 = [mp.mpf(v) for v in (1 + x0, 1 + n0 - x0, 1 + x1, 1 + n1 - x1)]
    def mk(a, b):
        lnorm = mp.loggamma(a + b) - mp.loggamma(a) - mp.loggamma(b)
        return lambda t: mp.exp((a - 1) * mp.log(t) + (b - 1) * mp.log1p(-t) + lnorm)
    f0, f1 = mk(a0, b0), mk(a1, b1)
    def grid(a, b):
        m = a / (a + b)
        s = mp.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
        return m, s
    m0, s0 = grid(a0, b0)
    m1, s1 = grid(a1, b1)
    top = m1 + 40 * s1  # 40 sd: posteriors at x = 0 are exponential-like
    S1 = lambda t: mp.quad(f1, [t, m1, top]) if t < m1 else mp.quad(f1, [t, top])
    F1 = lambda t: 1 - S1(t)
    e0 = sorted(set([mp.mpf(0)] * (m0 - 12 * s0 <= 0) +
                    [m0 + k * s0 for k in range(-12, 41, 2) if m0 + k * s0 > 0]))
    ctb = mp.quad(lambda t: f0(t) * S1(t), e0)
    return ctb

mp.mp.dps = 30
out("bayes mp 1e8: 34000000 vs 34010000 ctb", bayes_mp(10**8, 34000000, 10**8, 34010000))
out("bayes mp 1e8: 0 vs 3 ctb", bayes_mp(10**8, 0, 10**8, 3))
